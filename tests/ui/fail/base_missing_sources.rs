// The directory holds no package: the error says what dsu::base! names.

dsu::base!(v1 = "../base/nowhere");

fn main() {}
