//! A panic in one version's code reaches the caller in another version's code, as it would
//! in a program that was never updated: each image has its own std, whose `catch_unwind`
//! would abort on the other's panic, so calls between images carry panics across.

mod support;

use std::panic;
use std::thread;

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn panics_cross_between_versions() {
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    // In the program alone.
    let payload = panic::catch_unwind(|| app::divide(1, 0)).expect_err("v1 panics");
    assert_eq!(message(&*payload), "v1 cannot divide 1 by zero");

    dsu::update(support::build("app/v2", &[])).expect("v2 applies");

    // The program calls v2's divide, which calls the program's fail, which panics: the panic
    // goes from the program's code through v2's code back to the program's.
    let payload = panic::catch_unwind(|| app::divide(1, 0)).expect_err("v2 panics");
    assert_eq!(message(&*payload), "v2 cannot divide 1 by zero");
    assert_eq!(app::divide(6, 3), 2, "calls go on after a panic");

    // A thread whose code panics in the patch ends like any panicking thread.
    let joined = thread::spawn(|| app::divide(2, 0)).join();
    assert_eq!(message(&*joined.expect_err("the thread panicked")), "v2 cannot divide 2 by zero");

    // Patch code calling patch code: v3's divide, called through v2's image.
    dsu::update(support::build("app/v3", &[])).expect("v3 applies");
    let payload = panic::catch_unwind(|| app::divide(3, 0)).expect_err("v3 panics");
    assert_eq!(message(&*payload), "v3 cannot divide 3 by zero");

    while dsu::rollback().is_ok() {}
    let payload = panic::catch_unwind(|| app::divide(4, 0)).expect_err("v1 panics again");
    assert_eq!(message(&*payload), "v1 cannot divide 4 by zero");
    panic::set_hook(quiet);
}
