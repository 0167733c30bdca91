//! The files that an example's releases share by design stay byte for byte the same in every
//! release, so that a fix cannot land in one release only: kvstore's and pubsub's protocol,
//! operator port and `main`, and greeter's and hello-tokio's `main`. A release that needs one of them changed
//! changes it in every release, and the examples' README says so.

use std::fs;
use std::path::Path;

/// `(example, files under src/ that every release shares)`.
const SHARED: [(&str, &[&str]); 4] = [
    ("kvstore", &["resp.rs", "json.rs", "admin.rs", "main.rs"]),
    ("greeter", &["main.rs"]),
    ("hello-tokio", &["main.rs"]),
    ("pubsub", &["resp.rs", "admin.rs", "main.rs"]),
];

#[test]
fn shared_files_are_the_same_in_every_release() {
    let mut differ = Vec::new();
    for (example, files) in SHARED {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
        let releases = releases(&dir);
        assert!(releases.len() >= 2, "examples/{example} has only the releases {releases:?}");
        let first = releases[0];
        for file in files {
            let read = |release: u32| {
                let path = dir.join(format!("v{release}/src/{file}"));
                fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let expected = read(first);
            for &release in &releases[1..] {
                if read(release) != expected {
                    differ.push(format!(
                        "examples/{example}/v{release}/src/{file} differs from v{first}'s"
                    ));
                }
            }
        }
    }
    assert!(
        differ.is_empty(),
        "these files are the same in every release by design, and differ:\n  {}\nmake the \
         change in every release (copy the changed file to each vN/src/), or if a release must \
         differ, take the file out of SHARED in this test and say why in examples/README.md",
        differ.join("\n  ")
    );
}

/// The release numbers of an example, `v1`, `v2`, ..., in order.
fn releases(dir: &Path) -> Vec<u32> {
    let mut releases: Vec<u32> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_prefix('v')?.parse().ok())
        .collect();
    releases.sort_unstable();
    releases
}
