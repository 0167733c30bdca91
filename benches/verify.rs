//! What verifying a signed patch costs, as a ratio to reading its file: a release patch (the
//! fixture `many`, a thousand updateable functions) read from the page cache, and the same
//! bytes' minisign signature verified as `dsu::update` verifies it (BLAKE2b-512 of the file,
//! then two Ed25519 checks), with the crate and version `dsu-rt` uses.
//!
//! ```text
//! cargo bench --bench verify -- --warm-up-time 1 --measurement-time 5
//! ```

use std::fs;
use std::hint::black_box;

use criterion::Criterion;
use minisign::KeyPair;

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let patch = support::build_release("many");
    let bytes = fs::read(&patch).unwrap();
    let KeyPair { pk, sk } = KeyPair::generate_unencrypted_keypair().unwrap();
    let signed = minisign::sign(Some(&pk), &sk, bytes.as_slice(), None, None).unwrap();
    let signature = minisign_verify::Signature::decode(&signed.into_string()).unwrap();
    let key = minisign_verify::PublicKey::from_base64(&pk.to_base64()).unwrap();

    let mut criterion = Criterion::default().configure_from_args();
    let mut group =
        criterion.benchmark_group(format!("release patch of {} KB", bytes.len() / 1000));
    group.bench_function("read the file", |b| b.iter(|| fs::read(black_box(&patch)).unwrap()));
    group.bench_function("verify its signature", |b| {
        b.iter(|| key.verify(black_box(&bytes), &signature, true).unwrap())
    });
    group.finish();
    criterion.final_summary();
}
