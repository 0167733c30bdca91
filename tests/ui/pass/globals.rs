//! Updateable globals: public and private, with an initialiser that is not `const`, of a user
//! type that derives its fingerprint, inside a function body, through a renamed path, and one
//! whose type changed, with its transformer; all in a crate that forbids `unsafe` (what the
//! macros write is the dsu crate's unsafe, not the user's).

#![deny(warnings)]
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(dsu::Fingerprint)]
pub struct Limits {
    pub per_client: u32,
}

#[dsu::updateable]
pub static HITS: AtomicU64 = AtomicU64::new(0);

#[dsu::updateable]
static SESSIONS: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());

#[dsu::updateable(crate = ::dsu)]
pub static LIMITS: Limits = Limits { per_client: std::env::args().count() as u32 * 8 };

fn counted(name: &str) -> u64 {
    #[dsu::updateable]
    static LOCAL: AtomicU64 = AtomicU64::new(100);
    LOCAL.with(|local| local.fetch_add(1, Ordering::Relaxed));
    HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));
    SESSIONS.with(|sessions| {
        let mut sessions = sessions.lock().unwrap();
        let count = sessions.entry(name.to_owned()).or_default();
        *count += 1;
        *count
    })
}

fn main() {
    assert_eq!(counted("ann"), 1);
    assert_eq!(counted("ann"), 2);
    assert_eq!(counted("bob"), 1);
    assert_eq!(HITS.with(|hits| hits.load(Ordering::Relaxed)), 3);
    assert_eq!(LIMITS.with(|limits| limits.per_client), 8);
    // An access is a transaction: nested in one already open, it is part of it.
    dsu::transaction(|| assert_eq!(HITS.with(|hits| hits.load(Ordering::Relaxed)), 3));
    changed::check();
}

/// A global whose type changed from the version it updates: the old type is named, and a
/// transformer converts each value that changed.
mod changed {
    use std::collections::HashMap;
    use std::sync::Mutex;

    mod v1 {
        #[derive(dsu::Fingerprint)]
        pub struct Entry {
            pub value: String,
        }
    }

    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
        pub hits: u64,
    }

    #[dsu::transform]
    fn entry(old: &v1::Entry) -> Entry {
        Entry { value: old.value.clone(), hits: 0 }
    }

    #[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]
    pub static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());

    mod v2 {
        #[derive(dsu::Fingerprint)]
        pub struct Session {
            pub user: String,
            pub started: u64,
            pub dropped: bool,
        }
    }

    /// Fields reordered, one dropped, one added: the transformer is derived, and the
    /// fingerprint with it.
    #[dsu::updateable(was = v2::Session)]
    pub struct Session {
        pub started: u64,
        pub user: String,
        pub requests: u32,
    }

    mod v3 {
        #[derive(dsu::Fingerprint)]
        pub enum Status {
            Idle,
            Busy(u32),
            Failed { code: u16 },
        }
    }

    /// A variant added: the transformer is derived.
    #[dsu::updateable(was = v3::Status)]
    #[derive(dsu::Fingerprint, Debug, PartialEq)]
    pub enum Status {
        Idle,
        Draining,
        Busy(u32),
        Failed { code: u16 },
    }

    #[dsu::updateable(was = HashMap<u32, v2::Session>)]
    static SESSIONS: HashMap<u32, Session> = HashMap::new();

    pub fn check() {
        let old = v2::Session { user: "ann".to_owned(), started: 9, dropped: true };
        let new: Session = dsu::Transform::transform(&old);
        assert_eq!((new.user.as_str(), new.started, new.requests, old.dropped), ("ann", 9, 0, true));
        SESSIONS.with(|sessions| assert!(sessions.is_empty()));
        let statuses = [v3::Status::Idle, v3::Status::Busy(3), v3::Status::Failed { code: 7 }];
        let converted: Vec<Status> = statuses.iter().map(dsu::Transform::transform).collect();
        assert_eq!(converted, [Status::Idle, Status::Busy(3), Status::Failed { code: 7 }]);
        assert_ne!(Status::Draining, Status::Idle);
        let old = Mutex::new(HashMap::from([("k".to_owned(), v1::Entry { value: "v".into() })]));
        let new: Mutex<HashMap<String, Entry>> = dsu::Transform::transform(&old);
        let new = new.into_inner().unwrap();
        assert_eq!((new["k"].value.as_str(), new["k"].hits), ("v", 0));
        STORE.with(|store| assert!(store.lock().unwrap().is_empty()));
    }
}
