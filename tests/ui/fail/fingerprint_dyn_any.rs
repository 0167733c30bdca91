use std::any::Any;

// `downcast` trusts a `TypeId`, which a type keeps across versions even when it changes.
#[dsu::updateable]
pub fn stored() -> Box<dyn Any + Send> {
    Box::new(1u32)
}

fn main() {
    let _ = stored();
}
