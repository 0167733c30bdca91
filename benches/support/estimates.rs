//! Reading back what criterion measured in this run, for the benches' summaries of ratios.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where criterion writes, found the way criterion finds it (short of asking `cargo metadata`).
pub(crate) fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("criterion")
    }
}

/// Nanoseconds per iteration of the measurement `group/function/parameter`, if it was made
/// since `since`: criterion's typical estimate (the slope of the linear regression, which
/// leaves out a constant cost per sample, else the mean).
pub(crate) fn per_iteration(
    home: &Path,
    [group, function, parameter]: [&str; 3],
    since: SystemTime,
) -> Option<f64> {
    let file = home.join(group).join(function).join(parameter).join("new").join("estimates.json");
    if fs::metadata(&file).and_then(|m| m.modified()).ok()? < since {
        return None; // filtered out of this run: an older run's figure would not compare
    }
    let json = fs::read_to_string(&file).ok()?;
    let point = |statistic: &str| -> Option<f64> {
        let key = format!("\"{statistic}\":");
        let rest = &json[json.find(&key)? + key.len()..];
        if !rest.starts_with('{') {
            return None; // `"slope":null` in flat sampling mode
        }
        let key = "\"point_estimate\":";
        let rest = &rest[rest.find(key)? + key.len()..];
        rest[..rest.find([',', '}'])?].trim().parse().ok()
    };
    point("slope").or_else(|| point("mean"))
}
