//! Updateable items declared inside a function body.

#![deny(warnings)]

fn main() {
    #[derive(dsu::Fingerprint)]
    struct Local {
        value: u32,
    }

    #[dsu::updateable]
    impl Local {
        fn new(value: u32) -> Self {
            Local { value }
        }

        fn double(&self) -> u32 {
            self.value * 2
        }
    }

    #[dsu::updateable]
    fn local(x: u32) -> u32 {
        Local::new(x).double()
    }

    assert_eq!(local(4), 8);
}
