//! Free functions of every accepted shape, called through their slots.

#![deny(warnings)]

#[dsu::updateable]
pub fn public(x: u32) -> u32 {
    x + 1
}

#[dsu::updateable]
fn private() -> &'static str {
    "private"
}

#[dsu::updateable]
pub(crate) fn no_return(log: &mut Vec<String>) {
    log.push("called".to_owned());
}

mod outer {
    pub mod inner {
        #[dsu::updateable]
        pub fn nested(name: &str) -> String {
            format!("nested {name}")
        }
    }

    #[dsu::updateable]
    pub(super) fn calls_nested() -> String {
        inner::nested("call")
    }
}

#[dsu::updateable]
pub fn longest<'a>(left: &'a str, right: &'a str) -> &'a str {
    if right.len() > left.len() {
        right
    } else {
        left
    }
}

#[dsu::updateable]
pub fn elided(text: &str) -> &str {
    text.trim()
}

#[dsu::updateable]
pub fn first<'a, 'b>(pair: (&'a str, &'b str)) -> &'a str {
    pair.0
}

#[dsu::updateable]
pub fn sum_pair((a, b): (u32, u32)) -> u32 {
    a + b
}

#[dsu::updateable]
pub fn countdown(mut x: u32) -> u32 {
    let mut steps = 0;
    while x > 0 {
        x -= 1;
        steps += 1;
    }
    steps
}

#[dsu::updateable]
pub fn ignored(_: u32, kept: u32) -> u32 {
    kept
}

#[dsu::updateable]
#[allow(clippy::too_many_arguments)]
pub fn many(a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64) -> i128 {
    i128::from(a)
        + i128::from(b)
        + i128::from(c)
        + i128::from(d)
        + i128::from(e)
        + i128::from(f)
        + i128::from(g)
        + i128::from(h)
}

/// # Safety
///
/// `pointer` points to a readable `u32`.
#[dsu::updateable]
pub unsafe fn read(pointer: *const u32) -> u32 {
    unsafe { *pointer }
}

#[dsu::updateable]
pub fn biggest(items: &mut [u32]) -> &mut u32 {
    let mut best = 0;
    for (i, item) in items.iter().enumerate() {
        if *item > items[best] {
            best = i;
        }
    }
    &mut items[best]
}

#[dsu::updateable]
pub fn results(ok: bool) -> Result<Vec<String>, Option<u8>> {
    if ok {
        Ok(vec!["yes".to_owned()])
    } else {
        Err(Some(7))
    }
}

#[dsu::updateable]
pub fn boxed(value: u32) -> Box<dyn std::fmt::Display> {
    Box::new(value)
}

#[dsu::updateable]
pub fn callback(f: fn(u32) -> u32, x: u32) -> u32 {
    f(x)
}

#[dsu::updateable]
#[inline(never)]
pub fn not_inlined() -> bool {
    true
}

#[dsu::updateable]
pub fn recursive(n: u64) -> u64 {
    if n == 0 {
        1
    } else {
        n * recursive(n - 1)
    }
}

/// dsu's own types cross updates too: an admin endpoint's functions pass them around.
#[dsu::updateable]
fn outcome(result: Result<dsu::UpdateReport, dsu::UpdateError>, status: &dsu::Status) -> String {
    match result {
        Ok(report) => report.to_string(),
        Err(error) => format!("{}: {error} ({} versions)", error.kind(), status.versions.len()),
    }
}

fn main() {
    assert_eq!(public(1), 2);
    assert_eq!(private(), "private");
    let mut log = Vec::new();
    no_return(&mut log);
    assert_eq!(log, ["called"]);
    assert_eq!(outer::inner::nested("x"), "nested x");
    assert_eq!(outer::calls_nested(), "nested call");
    assert_eq!(longest("ab", "abc"), "abc");
    let owned = String::from("  padded ");
    assert_eq!(elided(&owned), "padded");
    assert_eq!(first(("a", "b")), "a");
    assert_eq!(sum_pair((2, 3)), 5);
    assert_eq!(countdown(4), 4);
    assert_eq!(ignored(1, 2), 2);
    assert_eq!(many(1, 2, 3, 4, 5, 6, 7, 8), 36);
    let value = 9;
    // SAFETY: `value` is a live `u32`.
    assert_eq!(unsafe { read(&value) }, 9);
    let mut items = [1, 5, 3];
    *biggest(&mut items) = 0;
    assert_eq!(items, [1, 0, 3]);
    assert_eq!(results(true), Ok(vec!["yes".to_owned()]));
    assert_eq!(results(false), Err(Some(7)));
    assert_eq!(boxed(5).to_string(), "5");
    assert_eq!(callback(|x| x * 3, 2), 6);
    assert!(not_inlined());
    assert_eq!(recursive(5), 120);
    let refused = outcome(Err(dsu::rollback().unwrap_err()), &dsu::status());
    assert!(refused.starts_with("nothing_to_roll_back: "), "{refused}");
}
