//! Fingerprints against the rule they keep: two types of different layout or meaning never
//! share one, and one type spelled two ways has one. First as a table of type pairs in one
//! image; then across images, with real patches whose changes only a fingerprint can see.

mod support;

use dsu::fingerprint_of;
use dsu::UpdateError;

#[allow(dead_code)]
mod types {
    use std::collections::{HashMap, HashSet};
    use std::hash::{BuildHasherDefault, DefaultHasher, RandomState};

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Point {
        pub x: i32,
        pub y: i32,
    }

    /// `Point`'s fields, another name.
    #[derive(dsu::Fingerprint)]
    pub(crate) struct Spot {
        pub x: i32,
        pub y: i32,
    }

    pub(crate) type Place = Point;

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Renamed {
        pub x: i32,
        pub z: i32,
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Swapped {
        pub y: i32,
        pub x: i32,
    }

    pub(crate) mod wide {
        #[derive(dsu::Fingerprint)]
        pub(crate) struct Point {
            pub x: i64,
            pub y: i64,
        }
    }

    pub(crate) mod unsigned {
        #[derive(dsu::Fingerprint)]
        pub(crate) struct Point {
            pub x: u32,
            pub y: u32,
        }
    }

    pub(crate) mod tuple {
        #[derive(dsu::Fingerprint)]
        pub(crate) struct Point(pub i32, pub i32);
    }

    pub(crate) mod c {
        #[derive(dsu::Fingerprint)]
        #[repr(C)]
        pub(crate) struct Point {
            pub x: i32,
            pub y: i32,
        }
    }

    /// `Point` as a patch copies it into a module for a transformer: the same type.
    pub(crate) mod copy {
        #[derive(dsu::Fingerprint)]
        pub(crate) struct Point {
            pub x: i32,
            pub y: i32,
        }
    }

    #[derive(dsu::Fingerprint)]
    #[repr(u8)]
    pub(crate) enum Small {
        A,
        B,
    }

    pub(crate) mod small16 {
        #[derive(dsu::Fingerprint)]
        #[repr(u16)]
        pub(crate) enum Small {
            A,
            B,
        }
    }

    pub(crate) mod small_numbered {
        #[derive(dsu::Fingerprint)]
        #[repr(u8)]
        pub(crate) enum Small {
            A = 1,
            B,
        }
    }

    pub(crate) mod small_swapped {
        #[derive(dsu::Fingerprint)]
        #[repr(u8)]
        pub(crate) enum Small {
            B,
            A,
        }
    }

    pub(crate) mod tag_one {
        pub(crate) const BASE: u8 = 1;

        /// Its discriminant through a `const`.
        #[derive(dsu::Fingerprint)]
        #[repr(u8)]
        pub(crate) enum Tag {
            A = BASE,
            B,
        }
    }

    pub(crate) mod tag_two {
        pub(crate) const BASE: u8 = 2;

        /// The same text, another value.
        #[derive(dsu::Fingerprint)]
        #[repr(u8)]
        pub(crate) enum Tag {
            A = BASE,
            B,
        }
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) enum Event {
        Closed,
        Data(u32),
        Moved { x: i32 },
    }

    pub(crate) mod event_wide {
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Event {
            Closed,
            Data(u64),
            Moved { x: i32 },
        }
    }

    pub(crate) mod event_named {
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Event {
            Closed,
            Data { value: u32 },
            Moved { x: i32 },
        }
    }

    pub(crate) mod event_unit {
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Event {
            Closed,
            Data,
            Moved { x: i32 },
        }
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Pair<A, B> {
        pub first: A,
        pub second: B,
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Buffer<const N: usize> {
        pub bytes: [u8; N],
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Fnv;

    pub(crate) type ZeroHasher = BuildHasherDefault<DefaultHasher>;
    pub(crate) type Random = HashMap<String, u32, RandomState>;
    pub(crate) type Zero = HashMap<String, u32, ZeroHasher>;
    pub(crate) type Own = HashMap<String, u32, BuildHasherDefault<Fnv>>;
    pub(crate) type SetRandom = HashSet<String>;
    pub(crate) type SetZero = HashSet<String, ZeroHasher>;

    /// A frame holds frames.
    #[derive(dsu::Fingerprint)]
    pub(crate) enum Frame {
        Text(String),
        Array(Vec<Frame>),
    }

    pub(crate) mod frame_nested {
        /// The same names, one more level of `Vec` on the way back.
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Frame {
            Text(String),
            Array(Vec<Vec<Frame>>),
        }
    }

    pub(crate) mod frame_bytes {
        /// The same cycle, another leaf.
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Frame {
            Text(Vec<u8>),
            Array(Vec<Frame>),
        }
    }

    pub(crate) mod frame_self {
        /// `Frame`, written with `Self`.
        #[derive(dsu::Fingerprint)]
        pub(crate) enum Frame {
            Text(String),
            Array(Vec<Self>),
        }
    }

    /// Two types that contain each other.
    #[derive(dsu::Fingerprint)]
    pub(crate) struct Tree {
        pub children: Vec<Branch>,
    }

    #[derive(dsu::Fingerprint)]
    pub(crate) struct Branch {
        pub tree: Option<Box<Tree>>,
        pub weight: u32,
    }

    pub(crate) mod tree_wide {
        /// The same two, `Branch` a field wider: `Tree` reaches it only through the cycle.
        #[derive(dsu::Fingerprint)]
        pub(crate) struct Tree {
            pub children: Vec<Branch>,
        }

        #[derive(dsu::Fingerprint)]
        pub(crate) struct Branch {
            pub tree: Option<Box<Tree>>,
            pub weight: u64,
        }
    }

    /// A generic type that contains itself.
    #[derive(dsu::Fingerprint)]
    pub(crate) struct List<T> {
        pub head: T,
        pub tail: Option<Box<List<T>>>,
    }
}

use types::*;

/// Pairs of types an update must tell apart, by what differs between them.
fn must_differ() -> Vec<(&'static str, Option<u128>, Option<u128>)> {
    vec![
        ("layout: width", fingerprint_of!(u32), fingerprint_of!(u64)),
        ("layout: signedness", fingerprint_of!(i32), fingerprint_of!(u32)),
        ("layout: order", fingerprint_of!((u8, u16)), fingerprint_of!((u16, u8))),
        ("layout: array length", fingerprint_of!([u8; 4]), fingerprint_of!([u8; 5])),
        ("layout: slice and array", fingerprint_of!(&[u8]), fingerprint_of!(&[u8; 1])),
        ("layout: reference and pointer", fingerprint_of!(&u8), fingerprint_of!(*const u8)),
        ("layout: shared and unique", fingerprint_of!(&u8), fingerprint_of!(&mut u8)),
        ("layout: wrapper", fingerprint_of!(Box<u8>), fingerprint_of!(std::sync::Arc<u8>)),
        ("layout: struct fields", fingerprint_of!(Point), fingerprint_of!(wide::Point)),
        ("layout: field signedness", fingerprint_of!(Point), fingerprint_of!(unsigned::Point)),
        ("hasher: random and zero-sized", fingerprint_of!(Random), fingerprint_of!(Zero)),
        ("hasher: std and own", fingerprint_of!(Zero), fingerprint_of!(Own)),
        ("hasher: set", fingerprint_of!(SetRandom), fingerprint_of!(SetZero)),
        (
            "alias: to another struct of the same fields",
            fingerprint_of!(Place),
            fingerprint_of!(Spot),
        ),
        ("name: same fields", fingerprint_of!(Point), fingerprint_of!(Spot)),
        ("field: name", fingerprint_of!(Point), fingerprint_of!(Renamed)),
        ("field: order", fingerprint_of!(Point), fingerprint_of!(Swapped)),
        ("field: named and positional", fingerprint_of!(Point), fingerprint_of!(tuple::Point)),
        ("repr: C", fingerprint_of!(Point), fingerprint_of!(c::Point)),
        ("repr: discriminant width", fingerprint_of!(Small), fingerprint_of!(small16::Small)),
        (
            "repr: discriminant value",
            fingerprint_of!(Small),
            fingerprint_of!(small_numbered::Small),
        ),
        (
            "repr: discriminant through a const",
            fingerprint_of!(tag_one::Tag),
            fingerprint_of!(tag_two::Tag),
        ),
        ("enum: variant order", fingerprint_of!(Small), fingerprint_of!(small_swapped::Small)),
        ("enum: variant data", fingerprint_of!(Event), fingerprint_of!(event_wide::Event)),
        ("enum: variant fields named", fingerprint_of!(Event), fingerprint_of!(event_named::Event)),
        ("enum: variant without data", fingerprint_of!(Event), fingerprint_of!(event_unit::Event)),
        ("generics: order", fingerprint_of!(Pair<u8, String>), fingerprint_of!(Pair<String, u8>)),
        ("generics: parameter", fingerprint_of!(Pair<u8, u8>), fingerprint_of!(Pair<u8, u16>)),
        ("generics: const parameter", fingerprint_of!(Buffer<4>), fingerprint_of!(Buffer<8>)),
        ("generics: std parameter", fingerprint_of!(Vec<Point>), fingerprint_of!(Vec<Spot>)),
        ("recursive: a level more", fingerprint_of!(Frame), fingerprint_of!(frame_nested::Frame)),
        ("recursive: another leaf", fingerprint_of!(Frame), fingerprint_of!(frame_bytes::Frame)),
        (
            "recursive: the type and its container",
            fingerprint_of!(Frame),
            fingerprint_of!(Vec<Frame>),
        ),
        (
            "mutually recursive: a change through the cycle",
            fingerprint_of!(Tree),
            fingerprint_of!(tree_wide::Tree),
        ),
        (
            "mutually recursive: the changed type",
            fingerprint_of!(Branch),
            fingerprint_of!(tree_wide::Branch),
        ),
        ("mutually recursive: the two types", fingerprint_of!(Tree), fingerprint_of!(Branch)),
        ("recursive generic: parameter", fingerprint_of!(List<u8>), fingerprint_of!(List<u16>)),
        (
            "foreign: two types",
            fingerprint_of!(libloading::Library),
            fingerprint_of!(libloading::Error),
        ),
        (
            "foreign: user parameter's shape",
            fingerprint_of!(arc_swap::ArcSwap<Point>),
            fingerprint_of!(arc_swap::ArcSwap<wide::Point>),
        ),
        (
            "foreign: user parameter's name",
            fingerprint_of!(arc_swap::ArcSwap<Point>),
            fingerprint_of!(arc_swap::ArcSwap<Spot>),
        ),
        (
            "foreign: another generic",
            fingerprint_of!(arc_swap::ArcSwap<Point>),
            fingerprint_of!(arc_swap::ArcSwapOption<Point>),
        ),
        (
            "foreign: inside std",
            fingerprint_of!(Option<libloading::Library>),
            fingerprint_of!(Vec<libloading::Library>),
        ),
        ("foreign: and std", fingerprint_of!(libloading::Library), fingerprint_of!(String)),
    ]
}

/// Pairs that are one type, spelled two ways.
fn must_match() -> Vec<(&'static str, Option<u128>, Option<u128>)> {
    vec![
        ("a path", fingerprint_of!(Vec<u8>), fingerprint_of!(std::vec::Vec<u8>)),
        ("an alias", fingerprint_of!(Place), fingerprint_of!(Point)),
        ("a lifetime", fingerprint_of!(&'static str), fingerprint_of!(&str)),
        ("a default hasher", fingerprint_of!(HashMapOf), fingerprint_of!(Random)),
        ("a copy in another module", fingerprint_of!(Point), fingerprint_of!(copy::Point)),
        ("`Self` for the type's name", fingerprint_of!(Frame), fingerprint_of!(frame_self::Frame)),
        ("an alias of a generic", fingerprint_of!(Pair<u8, u8>), fingerprint_of!(PairOfBytes)),
        (
            "a foreign type's user parameter copied",
            fingerprint_of!(arc_swap::ArcSwap<Point>),
            fingerprint_of!(arc_swap::ArcSwap<copy::Point>),
        ),
        (
            "a foreign type by another path",
            fingerprint_of!(libloading::Library),
            fingerprint_of!(::libloading::Library),
        ),
    ]
}

type HashMapOf = std::collections::HashMap<String, u32>;
type PairOfBytes = Pair<u8, u8>;

#[test]
fn types_that_differ_never_share_a_fingerprint() {
    for (what, a, b) in must_differ() {
        assert!(a.is_some() && b.is_some(), "{what}: a type has no fingerprint");
        assert_ne!(a, b, "{what}: two types share a fingerprint");
    }
}

#[test]
fn one_type_spelled_two_ways_has_one_fingerprint() {
    for (what, a, b) in must_match() {
        assert!(a.is_some(), "{what}: the type has no fingerprint");
        assert_eq!(a, b, "{what}: one type has two fingerprints");
    }
}

/// What the running program answers, as comparable data: the version chain, every item with
/// its signature and version, and every global.
type Snapshot = (Vec<String>, Vec<(String, String, u64)>, Vec<String>);

fn snapshot() -> Snapshot {
    let status = dsu::status();
    (
        status.versions.iter().map(|v| v.label.clone()).collect(),
        status
            .items
            .iter()
            .map(|i| (i.item.path.clone(), i.item.signature.clone(), i.version))
            .collect(),
        status.globals.iter().map(|g| g.global.to_string()).collect(),
    )
}

fn tagged() -> shapes::Frame {
    use shapes::{Frame, Tag};
    let inner = Frame::Array(vec![Frame::Text("x".to_owned())]);
    Frame::Tagged(Box::new(Tag { name: "t".to_owned(), weight: 1, inner }))
}

/// Asserts that `dsu::update(patch)` is refused as `matches` says and changes nothing.
fn refused(patch: &std::path::Path, matches: impl Fn(&UpdateError) -> bool) -> UpdateError {
    let before = snapshot();
    let error = dsu::update(patch).expect_err("the update must be refused");
    assert!(matches(&error), "refused for another reason: {error}");
    assert_eq!(snapshot(), before, "a refused update changed the program");
    assert_eq!(shapes::version(), 1);
    error
}

/// Real patches whose one change is where only a fingerprint sees it: in a type an alias names,
/// or two types away through a cycle. Each is refused before anything changes, or adds its
/// item beside the running one; the unchanged patch's recursive types match the program's.
#[test]
fn patches_that_change_a_type_out_of_sight() {
    let plain = support::build("shapes/v2", &[]);
    let random_hasher = support::build("shapes/v2", &["random-hasher"]);
    let spelled_out = support::build("shapes/v2", &["spelled-out"]);
    let wider_tag = support::build("shapes/v2", &["wider-tag"]);
    let renamed_point = support::build("shapes/v2", &["renamed-point"]);
    let changed_note = support::build("shapes/v2", &["changed-note"]);
    let note_alias = support::build("shapes/v2", &["note-alias"]);
    let no_derive = support::build("shapes/v2", &["no-derive"]);
    let origin = shapes::Point { x: 3, y: -4 };

    assert_eq!(shapes::see("a"), 1);
    assert_eq!(shapes::depth(&tagged()), 3);
    assert_eq!(shapes::keep("first"), 0);

    // `Note` changed inside `slab::Slab`, a type of another crate: the global's text is the
    // same, and the note's shape counts all the same.
    let error = refused(&changed_note, |e| matches!(e, UpdateError::GlobalTypeChanged { .. }));
    assert!(error.to_string().contains("shapes::NOTES"), "{error}");

    // The slab named through an alias hides `Note` from what the macro reads: refused, naming
    // the type.
    let error = refused(&note_alias, |e| matches!(e, UpdateError::Unfingerprinted { .. }));
    let UpdateError::Unfingerprinted { item, type_name } = &error else { unreachable!() };
    assert_eq!(item, "shapes::NOTES");
    assert_eq!(type_name, "slab::Slab<shapes::Note>");

    // A type of the crate's own without `Fingerprint`, in a signature.
    let error = refused(&no_derive, |e| matches!(e, UpdateError::Unfingerprinted { .. }));
    let UpdateError::Unfingerprinted { item, type_name } = &error else { unreachable!() };
    assert_eq!((item.as_str(), type_name.as_str()), ("shapes::plain", "shapes::Plain"));
    assert!(error.to_string().contains("#[derive(dsu::Fingerprint)]"), "{error}");

    // The map's hasher changed behind the alias: the same text, another type.
    let error = refused(&random_hasher, |e| matches!(e, UpdateError::GlobalTypeChanged { .. }));
    let UpdateError::GlobalTypeChanged { global, running, patch } = &error else { unreachable!() };
    assert_eq!(global, "shapes::SEEN");
    let text = "Mutex<HashMap<String, u64, Hasher>>";
    assert_eq!((running.as_str(), patch.as_str()), (text, text));
    // Said once, and no `was =` the patch's own type.
    let message = error.to_string();
    assert_eq!(message.matches(text).count(), 1, "{message}");
    assert!(!message.contains("was = Mutex"), "{message}");
    assert_eq!(shapes::see("a"), 2, "the program's map is the one it had");

    // The same type, written out: the text is compared too, as a signature's is.
    let error = refused(&spelled_out, |e| matches!(e, UpdateError::GlobalTypeMismatch { .. }));
    assert!(error.to_string().contains("shapes::SEEN"), "{error}");

    // `Tag` is wider, and `depth`'s signature names only `Frame`: the new `depth` is another
    // item, and the program's code keeps calling the one it was compiled against.
    let report = dsu::update(&wider_tag).expect("the patch applies");
    let changed: Vec<&str> = report.signature_changed.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(changed, ["shapes::depth"], "{report}");
    assert_eq!(shapes::depth(&tagged()), 3, "v1's `depth`, for v1's `Frame`");
    assert_eq!(shapes::version(), 2);
    dsu::rollback().expect("back to v1");

    // `Place` names another struct of the same fields.
    let report = dsu::update(&renamed_point).expect("the patch applies");
    let changed: Vec<&str> = report.signature_changed.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(changed, ["shapes::norm"], "{report}");
    assert_eq!(shapes::norm(&origin), 7);
    dsu::rollback().expect("back to v1");

    // The unchanged types: two images work out the same fingerprints of `Frame` and `Tag`, so
    // v2's `depth` replaces v1's, and v2's code reaches the program's map.
    let report = dsu::update(&plain).expect("v2 applies");
    assert!(report.signature_changed.is_empty(), "{report}");
    assert_eq!(shapes::depth(&tagged()), 4, "v2's `depth` runs");
    assert_eq!(shapes::see("a"), 3, "v2 counts in the program's map");
    assert_eq!(shapes::norm(&origin), 7);
    // The types of other crates match across the images too: v2's code keeps notes in the
    // program's slab, and returns them in a `SmallVec`.
    assert_eq!(shapes::keep("second"), 1);
    let notes: Vec<String> = shapes::first_notes().into_iter().map(|note| note.text).collect();
    assert_eq!(notes, ["first (v2)", "second (v2)"]);
}

/// A patch built with another release of a crate one of whose types crosses the update is
/// refused, naming the crate and both releases: the type's name, and so its fingerprint, is the
/// same in both. A program of its own, built with its own lock file, as a user builds one.
#[test]
fn a_type_of_another_release_of_its_crate_is_refused() {
    let program = support::build_program("shapes/v1");
    // v2 as it is, but for the release of `slab` its manifest asks for.
    let older_dir = support::fixture_target().join("older-slab").join("shapes");
    std::fs::create_dir_all(older_dir.join("src")).unwrap();
    let v2 = support::root().join("tests/fixtures/shapes/v2");
    let manifest = std::fs::read_to_string(v2.join("Cargo.toml")).unwrap();
    let dsu = support::root().display().to_string();
    let manifest = manifest
        .replace("slab = \"=0.4.12\"", "slab = \"=0.4.11\"")
        .replace("path = \"../../../..\"", &format!("path = {dsu:?}"));
    assert!(manifest.contains("=0.4.11"), "the fixture's manifest pins `slab`");
    std::fs::write(older_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(v2.join("src/lib.rs"), older_dir.join("src/lib.rs")).unwrap();
    let older = support::build(older_dir.to_str().unwrap(), &[]);
    let plain = support::build("shapes/v2", &[]);
    let out = std::process::Command::new(&program).arg(&older).arg(&plain).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the program failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("refused shared_dependency_changed: "), "{stdout}");
    assert!(lines[0].contains("slab 0.4.11 (the program shares 0.4.12)"), "{stdout}");
    assert_eq!(lines[1], "ok shapes@2.0.0", "the same release applies");
}
