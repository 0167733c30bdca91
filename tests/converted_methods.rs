//! The README's pattern through two conversions: a global of sessions whose type has updateable
//! methods. A change of `Session` changes its methods' signatures, so they would count as
//! removed items beside new ones; a converting update switches them as the same items instead,
//! and only them: a signature that changed for any other reason stays refused. Code compiled
//! against the old type that still calls them panics instead of misreading a value.

mod support;

use dsu::UpdateError;

fn sorted_paths(items: &[dsu::ItemRef]) -> Vec<&str> {
    let mut paths: Vec<&str> = items.iter().map(|item| item.path.as_str()).collect();
    paths.sort_unstable();
    paths
}

#[test]
fn methods_of_a_converted_type_switch_with_it_through_two_conversions() {
    let v2 = support::build("sessionapp/v2", &[]);
    let v2_config = support::build("sessionapp/v2", &["config-changed"]);
    let v3 = support::build("sessionapp/v3", &[]);

    sessionapp::open("ada");
    assert_eq!(sessionapp::line("ada", "hi").as_deref(), Some("v1 #1: hi"));

    // `Config` changed too, which no conversion explains: `configure` would stay live with
    // the old type, and the update is refused, as before.
    let before = dsu::status();
    let error = dsu::update(&v2_config).expect_err("configure's signature changed");
    assert!(
        matches!(&error, UpdateError::StaleUser { item, .. } if item == "sessionapp::configure"),
        "{error}"
    );
    assert_eq!(dsu::status().versions, before.versions);

    let report = dsu::update(&v2).expect("the methods switch with the sessions");
    assert!(report.removed.is_empty() && report.added.is_empty(), "{report}");
    assert!(report.signature_changed.is_empty(), "{report}");
    assert_eq!(
        sorted_paths(&report.replaced),
        [
            "sessionapp::Session::new",
            "sessionapp::Session::on_line",
            "sessionapp::configure",
            "sessionapp::line",
            "sessionapp::open",
        ],
        "{report}"
    );
    assert_eq!(report.converted.len(), 1, "{report}");
    assert_eq!(report.converted[0].values, 1, "one session: {report}");
    assert_eq!(sessionapp::line("ada", "yo").as_deref(), Some("v2 #2: yo (after )"));
    // This test's code was compiled against v1's `Session`: its call of a method that now
    // takes v2's panics, instead of handing the new code a value of the old layout.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let stale = std::panic::catch_unwind(sessionapp::Session::new).map(|_| ());
    std::panic::set_hook(quiet);
    let message = stale.expect_err("a stale call panics");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("`sessionapp::Session::new` was called with the signature"),
        "{message}"
    );
    sessionapp::open("bob");
    assert_eq!(sessionapp::line("bob", "hey").as_deref(), Some("v2 #1: hey (after )"));

    // The second conversion finds the methods under the keys the first gave them.
    let report = dsu::update(&v3).expect("and again");
    assert!(report.removed.is_empty() && report.added.is_empty(), "{report}");
    assert_eq!(report.converted[0].values, 2, "two sessions: {report}");
    assert_eq!(
        sessionapp::line("ada", "two words").as_deref(),
        Some("v3 #3: two words (after yo, 2 words)")
    );
    let status = dsu::status();
    let on_line: Vec<_> =
        status.items.iter().filter(|i| i.item.path == "sessionapp::Session::on_line").collect();
    assert_eq!(on_line.len(), 1, "one item, not one per version: {status}");
    assert_eq!(on_line[0].version, report.version.id, "{status}");

    // Both conversions roll back, the methods with them.
    let back = dsu::rollback().expect("back to v2");
    assert!(back.removed.is_empty(), "{back}");
    assert_eq!(sessionapp::line("ada", "again").as_deref(), Some("v2 #4: again (after two words)"));
    dsu::rollback().expect("back to v1");
    assert_eq!(sessionapp::line("bob", "bye").as_deref(), Some("v1 #2: bye"));
    let mut session = sessionapp::Session::new();
    assert_eq!(session.on_line("v1 again").as_deref(), Some("v1 #1: v1 again"), "back in v1");
    let status = dsu::status();
    let on_line: Vec<_> =
        status.items.iter().filter(|i| i.item.path == "sessionapp::Session::on_line").collect();
    assert_eq!((on_line.len(), on_line[0].version), (1, 0), "{status}");
}
