use std::thread::Thread;

#[dsu::updateable]
pub fn wake(thread: &Thread) {
    thread.unpark();
}

fn main() {
    wake(&std::thread::current());
}
