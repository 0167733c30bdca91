//! Converting a value of an older version's type into this version's, when an update changes
//! the type of a global.
//!
//! A transformer reads the old value through a shared reference and builds a new one: the old
//! value stays whole, so a transformer that fails or panics loses nothing, and the update is
//! refused with the program as it was. Containers convert element by element, so a
//! transformer written for one type (`#[dsu::transform] fn entry(old: &v1::Entry) -> Entry`)
//! converts a `Mutex<HashMap<String, v1::Entry>>` too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{self, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

/// Makes a value of `Self` from a value of `Old`, an older version's type.
///
/// Written by `#[dsu::transform]` for a user type, implemented here for std containers (element
/// by element) and for std leaf types (a copy).
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be made from the running version's `{Old}`",
    label = "no transformer from `{Old}`",
    note = "write `#[dsu::transform] fn name(old: &{Old}) -> {Self}`; if both are std types, \
            write one for the struct that holds them instead"
)]
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
                // Relaxed: the gate orders this load after every store made through `with`, a
                // transaction: each one that stored had ended (its `Release`) when the update
                // saw it closed (`Acquire`), and no other reaches the global until the commit.
                // (An atomic shared out of `with`, in an `Arc`, can change meanwhile under any
                // ordering.)
                atomic::$atomic::new(old.load(Ordering::Relaxed))
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

impl<K: Clone + Ord> Transform<BTreeSet<K>> for BTreeSet<K> {
    fn transform(old: &BTreeSet<K>) -> Self {
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

/// A named field of a struct, known across versions by the hash of its name (`NAME`). Written
/// by `#[derive(dsu::Fingerprint)]`, for the transformers a later version derives.
#[doc(hidden)]
pub trait Field<const NAME: u128> {
    /// The field's type.
    type Type;
    /// The field.
    fn field(&self) -> &Self::Type;
}

/// How a derived transformer fills field `NAME` of the new value from `old`: converted from
/// the old value's field of that name if it has one, else `Default::default()`. The choice is
/// made at compile time, by method resolution: `(&FieldOf::<_, NAME>(old)).get()` finds
/// `FromOld::get` when `Old: Field<NAME>`, and `FromDefault::get` otherwise.
#[doc(hidden)]
pub struct FieldOf<'a, Old, const NAME: u128>(pub &'a Old);

/// The old value has the field: convert it (a field whose type changed needs a `Transform`
/// between the two types, or the derived transformer does not compile).
#[doc(hidden)]
pub trait FromOld<Old: Field<NAME>, const NAME: u128> {
    fn get<New: Transform<Old::Type>>(&self) -> New;
}

impl<Old: Field<NAME>, const NAME: u128> FromOld<Old, NAME> for FieldOf<'_, Old, NAME> {
    fn get<New: Transform<Old::Type>>(&self) -> New {
        New::transform(self.0.field())
    }
}

/// The old value has no such field: it is new, and starts at its default (a new field without
/// a `Default` needs a hand-written transformer).
#[doc(hidden)]
pub trait FromDefault {
    fn get<New: Default>(&self) -> New;
}

impl<Old, const NAME: u128> FromDefault for &FieldOf<'_, Old, NAME> {
    fn get<New: Default>(&self) -> New {
        New::default()
    }
}

/// A variant of an enum, known across versions by the hash of its name (`NAME`), made from
/// the old variant's fields (`Fields`, a tuple of references in declaration order). Written by
/// `#[dsu::updateable(was = ..)]` on a new enum, for each of its variants.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a variant of the running version's enum, with fields `{Fields}`, has no variant \
               of the same name in `{Self}` to become",
    label = "no derived transformer: a variant was removed or renamed, or its fields changed",
    note = "keep every variant of the running version under its name, with fields that convert, \
            or write a `#[dsu::transform]` for the enum"
)]
pub trait Variant<const NAME: u128, Fields> {
    /// The new value, from the old variant's fields.
    fn make(fields: Fields) -> Self;
}

/// An old enum's variants, each made into the new enum's variant of the same name. Written by
/// `#[derive(dsu::Fingerprint)]` on an enum: it compiles only where the new enum has every
/// variant of the old one, with fields that convert.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "no transformer is derived from `{Self}`: it is not an enum that derives \
               `dsu::Fingerprint`",
    label = "the running version's type",
    note = "add `#[derive(dsu::Fingerprint)]` to the enum `{Self}`; from any other type, or from \
            a generic enum, write a `#[dsu::transform]` instead"
)]
pub trait VariantsOf<New> {
    /// The new value.
    fn to_new(&self) -> New;
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

    struct OldEntry {
        value: String,
        dropped: u32,
    }

    impl Field<1> for OldEntry {
        type Type = String;
        fn field(&self) -> &String {
            &self.value
        }
    }

    impl Field<2> for OldEntry {
        type Type = u32;
        fn field(&self) -> &u32 {
            &self.dropped
        }
    }

    #[test]
    fn a_derived_transformer_takes_old_fields_and_defaults_new_ones() {
        let old = OldEntry { value: "kept".to_owned(), dropped: 7 };
        // What `#[dsu::updateable(was = OldEntry)]` writes for `{ value: String, hits: u64 }`.
        // The `&` is what makes a missing field fall back to the default.
        #[allow(clippy::needless_borrow)]
        let (value, hits): (String, u64) =
            ((&FieldOf::<_, 1>(&old)).get(), (&FieldOf::<_, 3>(&old)).get());
        assert_eq!((value.as_str(), hits), ("kept", 0));
        assert_eq!(old.dropped, 7, "a field the new version drops is not read");
    }

    #[test]
    fn containers_convert_element_by_element() {
        let old = Mutex::new(HashMap::from([("kitchen".to_owned(), vec![Celsius(100.0)])]));
        let new: Mutex<HashMap<String, Vec<Fahrenheit>>> = Transform::transform(&old);
        let new = new.into_inner().unwrap();
        assert_eq!(new["kitchen"][0].0, 212.0);
        assert_eq!(old.lock().unwrap()["kitchen"][0].0, 100.0, "the old value is whole");
    }

    #[test]
    fn the_items_of_sets_keep_their_type() {
        let old = (BTreeSet::from([3u8, 1]), HashSet::from(["a".to_owned()]));
        let new: (BTreeSet<u8>, HashSet<String>) = Transform::transform(&old);
        assert_eq!(new, old);
    }
}
