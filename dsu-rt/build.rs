//! Records the facts of this build that decide whether a patch may join the running
//! program: a patch whose `dsu-rt` was built with a different compiler, target or ABI-relevant
//! flags is refused (see `manifest.rs`).

use std::env;
use std::process::Command;

fn main() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("-vV")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().replace('\n', "; "))
        .unwrap_or_else(|| "unknown".to_owned());
    let var = |name: &str| env::var(name).unwrap_or_default();
    println!("cargo:rustc-env=DSU_BUILD_RUSTC={version}");
    println!("cargo:rustc-env=DSU_BUILD_TARGET={}", var("TARGET"));
    println!("cargo:rustc-env=DSU_BUILD_TARGET_FEATURES={}", var("CARGO_CFG_TARGET_FEATURE"));
    // The flags arrive separated by 0x1f; spaces read better in an error message.
    println!(
        "cargo:rustc-env=DSU_BUILD_RUSTFLAGS={}",
        var("CARGO_ENCODED_RUSTFLAGS").replace('\x1f', " ")
    );
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
