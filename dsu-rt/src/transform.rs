//! Converting a value of an older version's type into this version's, when an update changes
//! the type of a global.
//!
//! A transformer reads the old value through a shared reference and builds a new one: the old
//! value stays whole, so a transformer that fails or panics loses nothing, and the update is
//! refused with the program as it was. Containers convert element by element, so a
//! transformer written for one type (`#[dsu::transform] fn entry(old: &v1::Entry) -> Entry`)
//! converts a `Mutex<HashMap<String, v1::Entry>>` too.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{self, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

/// Makes a value of `Self` from a value of `Old`, an older version's type.
///
/// Written by `#[dsu::transform]` for a user type, implemented here for std containers (element
/// by element) and for std leaf types (a copy).
pub trait Transform<Old: ?Sized>: Sized {
    /// The new value of `old`.
    fn transform(old: &Old) -> Self;
}

/// Types that do not change between versions: the new value is a copy of the old.
macro_rules! copied {
    ($($ty:ty),* $(,)?) => {$(
        impl Transform<$ty> for $ty {
            fn transform(old: &$ty) -> Self {
                old.clone()
            }
        }
    )*};
}

copied! {
    (), bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64,
    String, std::time::Duration, std::time::SystemTime, std::path::PathBuf,
    std::net::SocketAddr, std::net::IpAddr,
}

/// Atomics: the value they hold at the moment of the update, which no one changes then (the
/// update holds every transaction that would reach the global).
macro_rules! atomics {
    ($($atomic:ident),* $(,)?) => {$(
        impl Transform<atomic::$atomic> for atomic::$atomic {
            fn transform(old: &atomic::$atomic) -> Self {
                atomic::$atomic::new(old.load(Ordering::SeqCst))
            }
        }
    )*};
}

atomics!(AtomicBool, AtomicU32, AtomicU64, AtomicUsize, AtomicI32, AtomicI64, AtomicIsize);

impl<T: Transform<O>, O> Transform<Option<O>> for Option<T> {
    fn transform(old: &Option<O>) -> Self {
        old.as_ref().map(T::transform)
    }
}

impl<T: Transform<O>, O> Transform<Box<O>> for Box<T> {
    fn transform(old: &Box<O>) -> Self {
        Box::new(T::transform(old))
    }
}

impl<T: Transform<O>, O> Transform<Vec<O>> for Vec<T> {
    fn transform(old: &Vec<O>) -> Self {
        old.iter().map(T::transform).collect()
    }
}

impl<T: Transform<O>, O> Transform<VecDeque<O>> for VecDeque<T> {
    fn transform(old: &VecDeque<O>) -> Self {
        old.iter().map(T::transform).collect()
    }
}

/// Keys keep their type: a map's values change, the keys are copied.
impl<K, V, O, S> Transform<HashMap<K, O, S>> for HashMap<K, V, S>
where
    K: Clone + Eq + Hash,
    V: Transform<O>,
    S: BuildHasher + Clone,
{
    fn transform(old: &HashMap<K, O, S>) -> Self {
        let mut new = HashMap::with_capacity_and_hasher(old.len(), old.hasher().clone());
        new.extend(old.iter().map(|(key, value)| (key.clone(), V::transform(value))));
        new
    }
}

impl<K: Clone + Ord, V: Transform<O>, O> Transform<BTreeMap<K, O>> for BTreeMap<K, V> {
    fn transform(old: &BTreeMap<K, O>) -> Self {
        old.iter().map(|(key, value)| (key.clone(), V::transform(value))).collect()
    }
}

impl<K: Clone + Eq + Hash, S: BuildHasher + Clone> Transform<HashSet<K, S>> for HashSet<K, S> {
    fn transform(old: &HashSet<K, S>) -> Self {
        old.clone()
    }
}

/// The value inside, as it is at the update (a poisoned lock's value too: the update
/// converts state, it does not judge it). A transformer that panics does not poison the old
/// lock: it is released before the panic goes on.
impl<T: Transform<O>, O> Transform<Mutex<O>> for Mutex<T> {
    fn transform(old: &Mutex<O>) -> Self {
        let guard = old.lock().unwrap_or_else(PoisonError::into_inner);
        let made = panic::catch_unwind(AssertUnwindSafe(|| T::transform(&guard)));
        drop(guard);
        match made {
            Ok(value) => Mutex::new(value),
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl<T: Transform<O>, O> Transform<RwLock<O>> for RwLock<T> {
    fn transform(old: &RwLock<O>) -> Self {
        RwLock::new(T::transform(&old.read().unwrap_or_else(PoisonError::into_inner)))
    }
}

impl<A: Transform<OA>, B: Transform<OB>, OA, OB> Transform<(OA, OB)> for (A, B) {
    fn transform(old: &(OA, OB)) -> Self {
        (A::transform(&old.0), B::transform(&old.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Celsius(f64);
    struct Fahrenheit(f64);

    impl Transform<Celsius> for Fahrenheit {
        fn transform(old: &Celsius) -> Self {
            Fahrenheit(old.0 * 9.0 / 5.0 + 32.0)
        }
    }

    struct Refused;

    impl Transform<Celsius> for Refused {
        fn transform(_: &Celsius) -> Self {
            panic!("refused");
        }
    }

    #[test]
    fn a_panicking_transformer_leaves_the_old_lock_unpoisoned() {
        let old = Mutex::new(vec![Celsius(1.0)]);
        let caught = panic::catch_unwind(|| <Mutex<Vec<Refused>>>::transform(&old));
        assert!(caught.is_err());
        assert!(!old.is_poisoned(), "the running value stays usable");
    }

    #[test]
    fn containers_convert_element_by_element() {
        let old = Mutex::new(HashMap::from([("kitchen".to_owned(), vec![Celsius(100.0)])]));
        let new: Mutex<HashMap<String, Vec<Fahrenheit>>> = Transform::transform(&old);
        let new = new.into_inner().unwrap();
        assert_eq!(new["kitchen"][0].0, 212.0);
        assert_eq!(old.lock().unwrap()["kitchen"][0].0, 100.0, "the old value is whole");
    }
}
