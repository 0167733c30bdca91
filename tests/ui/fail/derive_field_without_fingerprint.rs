pub struct Inner(pub u32);

#[derive(dsu::Fingerprint)]
pub struct Outer {
    pub inner: Inner,
    pub count: u32,
}

fn main() {
    let _ = Outer { inner: Inner(1), count: 2 };
}
