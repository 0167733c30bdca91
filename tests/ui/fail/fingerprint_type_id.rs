use std::any::TypeId;

#[dsu::updateable]
pub fn kind() -> TypeId {
    TypeId::of::<u32>()
}

fn main() {
    let _ = kind();
}
