//! Fingerprints against the rule they keep: two types of different layout or meaning never
//! share one, and one type spelled two ways has one. First as a table of type pairs in one
//! image; then across images, with real patches whose changes only a fingerprint can see.

mod support;

use dsu::fingerprint::of;
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
fn must_differ() -> Vec<(&'static str, u128, u128)> {
    vec![
        ("layout: width", of::<u32>(), of::<u64>()),
        ("layout: signedness", of::<i32>(), of::<u32>()),
        ("layout: order", of::<(u8, u16)>(), of::<(u16, u8)>()),
        ("layout: array length", of::<[u8; 4]>(), of::<[u8; 5]>()),
        ("layout: slice and array", of::<&[u8]>(), of::<&[u8; 1]>()),
        ("layout: reference and pointer", of::<&u8>(), of::<*const u8>()),
        ("layout: shared and unique", of::<&u8>(), of::<&mut u8>()),
        ("layout: wrapper", of::<Box<u8>>(), of::<std::sync::Arc<u8>>()),
        ("layout: struct fields", of::<Point>(), of::<wide::Point>()),
        ("layout: field signedness", of::<Point>(), of::<unsigned::Point>()),
        ("hasher: random and zero-sized", of::<Random>(), of::<Zero>()),
        ("hasher: std and own", of::<Zero>(), of::<Own>()),
        ("hasher: set", of::<SetRandom>(), of::<SetZero>()),
        ("alias: to another struct of the same fields", of::<Place>(), of::<Spot>()),
        ("name: same fields", of::<Point>(), of::<Spot>()),
        ("field: name", of::<Point>(), of::<Renamed>()),
        ("field: order", of::<Point>(), of::<Swapped>()),
        ("field: named and positional", of::<Point>(), of::<tuple::Point>()),
        ("repr: C", of::<Point>(), of::<c::Point>()),
        ("repr: discriminant width", of::<Small>(), of::<small16::Small>()),
        ("repr: discriminant value", of::<Small>(), of::<small_numbered::Small>()),
        ("enum: variant order", of::<Small>(), of::<small_swapped::Small>()),
        ("enum: variant data", of::<Event>(), of::<event_wide::Event>()),
        ("enum: variant fields named", of::<Event>(), of::<event_named::Event>()),
        ("enum: variant without data", of::<Event>(), of::<event_unit::Event>()),
        ("generics: order", of::<Pair<u8, String>>(), of::<Pair<String, u8>>()),
        ("generics: parameter", of::<Pair<u8, u8>>(), of::<Pair<u8, u16>>()),
        ("generics: const parameter", of::<Buffer<4>>(), of::<Buffer<8>>()),
        ("generics: std parameter", of::<Vec<Point>>(), of::<Vec<Spot>>()),
        ("recursive: a level more", of::<Frame>(), of::<frame_nested::Frame>()),
        ("recursive: another leaf", of::<Frame>(), of::<frame_bytes::Frame>()),
        ("recursive: the type and its container", of::<Frame>(), of::<Vec<Frame>>()),
        ("mutually recursive: a change through the cycle", of::<Tree>(), of::<tree_wide::Tree>()),
        ("mutually recursive: the changed type", of::<Branch>(), of::<tree_wide::Branch>()),
        ("mutually recursive: the two types", of::<Tree>(), of::<Branch>()),
        ("recursive generic: parameter", of::<List<u8>>(), of::<List<u16>>()),
    ]
}

/// Pairs that are one type, spelled two ways.
fn must_match() -> Vec<(&'static str, u128, u128)> {
    vec![
        ("a path", of::<Vec<u8>>(), of::<std::vec::Vec<u8>>()),
        ("an alias", of::<Place>(), of::<Point>()),
        ("a lifetime", of::<&'static str>(), of::<&str>()),
        ("a default hasher", of::<HashMapOf>(), of::<Random>()),
        ("a copy in another module", of::<Point>(), of::<copy::Point>()),
        ("`Self` for the type's name", of::<Frame>(), of::<frame_self::Frame>()),
        ("an alias of a generic", of::<Pair<u8, u8>>(), of::<PairOfBytes>()),
    ]
}

type HashMapOf = std::collections::HashMap<String, u32>;
type PairOfBytes = Pair<u8, u8>;

#[test]
fn types_that_differ_never_share_a_fingerprint() {
    for (what, a, b) in must_differ() {
        assert_ne!(a, b, "{what}: two types share a fingerprint");
    }
}

#[test]
fn one_type_spelled_two_ways_has_one_fingerprint() {
    for (what, a, b) in must_match() {
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
    let origin = shapes::Point { x: 3, y: -4 };

    assert_eq!(shapes::see("a"), 1);
    assert_eq!(shapes::depth(&tagged()), 3);

    // The map's hasher changed behind the alias: the same text, another type.
    let error = refused(&random_hasher, |e| matches!(e, UpdateError::GlobalTypeChanged { .. }));
    let UpdateError::GlobalTypeChanged { global, running, patch } = &error else { unreachable!() };
    assert_eq!(global, "shapes::SEEN");
    let text = "Mutex<HashMap<String, u64, Hasher>>";
    assert_eq!((running.as_str(), patch.as_str()), (text, text));
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
}
