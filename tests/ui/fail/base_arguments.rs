// No directory given.

dsu::base!(v1);

fn main() {}
