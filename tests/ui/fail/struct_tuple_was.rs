mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Point(pub i32, pub i32);
}

#[dsu::updateable(was = v1::Point)]
#[derive(dsu::Fingerprint)]
pub struct Point(pub i64, pub i64);

fn main() {}
