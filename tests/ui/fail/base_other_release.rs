// The release declares it is built on 0.9.0, but the sources read are 1.0.0's.

dsu::patch!(sequence = 2, base = "0.9.0");

dsu::base!(v1 = "../base/store");

fn main() {}
