// A C-variadic definition reaches the macro, but stable rustc refuses it too (E0658), with or
// without dsu: the second error is the compiler's, not a consequence of the first.
#[dsu::updateable]
pub unsafe extern "C" fn count(count: usize, _args: ...) -> usize {
    count
}

fn main() {}
