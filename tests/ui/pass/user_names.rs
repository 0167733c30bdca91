//! Names of the user's that the generated code must not shadow: a module called `__dsu`, a
//! module called `dsu`, named in field types, transformer types and `was` types, which the
//! generated code writes into blocks of its own.

mod __dsu {
    #[derive(dsu::Fingerprint, Clone, Debug, PartialEq)]
    pub struct Thing(pub u8);
}

mod dsu {
    pub type Count = u32;
}

#[derive(::dsu::Fingerprint)]
pub struct Holder {
    pub thing: __dsu::Thing,
    pub count: dsu::Count,
}

mod v1 {
    #[derive(::dsu::Fingerprint)]
    pub struct Entry {
        pub thing: super::__dsu::Thing,
    }
}

#[::dsu::updateable(was = v1::Entry)]
pub struct Entry {
    pub thing: __dsu::Thing,
    pub hits: dsu::Count,
}

#[::dsu::transform]
fn thing(old: &__dsu::Thing) -> __dsu::Thing {
    __dsu::Thing(old.0 + 1)
}

#[::dsu::updateable]
pub fn weigh(holder: &Holder) -> dsu::Count {
    holder.count + u32::from(holder.thing.0)
}

fn main() {
    let holder = Holder { thing: __dsu::Thing(2), count: 40 };
    assert_eq!(weigh(&holder), 42);
    let old = v1::Entry { thing: __dsu::Thing(7) };
    // The derived transformer converts the field through `thing`, and the new field defaults.
    let new = <Entry as ::dsu::Transform<v1::Entry>>::transform(&old);
    assert_eq!((new.thing, new.hits), (__dsu::Thing(8), 0));
    assert_eq!(<__dsu::Thing as ::dsu::Transform<__dsu::Thing>>::transform(&__dsu::Thing(1)).0, 2);
}
