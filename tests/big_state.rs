//! A global of a million entries converted by an update to a new entry type, with derived
//! transformers (a field added to the entry, a variant added to an enum in it): every entry is
//! there afterwards, with its new field and its old variant, and reads go on.

mod support;

const ENTRIES: u64 = 1_000_000;

#[test]
fn a_million_entries_change_type_in_one_update() {
    let v2 = support::build("mapapp/v2", &[]);
    mapapp::fill(ENTRIES);
    assert_eq!(mapapp::len(), ENTRIES as usize);
    assert_eq!(mapapp::get("key:123456").as_deref(), Some("value 123456"));
    assert_eq!(mapapp::get("key:123457").as_deref(), Some("value 123457 (6 digits)"));

    let report = dsu::update(&v2).expect("v2 converts the store");
    println!("{report}");
    assert_eq!(mapapp::len(), ENTRIES as usize, "no entry lost");
    assert_eq!(mapapp::get("key:123456").as_deref(), Some("value 123456 (read 1 times)"));
    assert_eq!(mapapp::get("key:123456").as_deref(), Some("value 123456 (read 2 times)"));
    assert_eq!(mapapp::get("key:999999").as_deref(), Some("value 999999 (read 1 times, 6 digits)"));
    assert!(report.pause < report.total, "the conversion is done before the pause");
    // Requests that use the store are held back for the conversion, not only the commit: the
    // conversion of a million entries is most of the update.
    assert!(report.held <= report.total && report.held > report.total / 2, "{report:?}");
}
