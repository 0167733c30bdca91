#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it: installs the tools that some
# tests drive (scripts/setup.sh says which), then runs `cargo test --workspace`. Arguments go to
# cargo test, after `--workspace`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh tests
cargo test --workspace "$@"
