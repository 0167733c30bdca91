#!/usr/bin/env bash
# Installs what the README's commands need beyond a Rust toolchain and a C linker, and says
# what it does:
#   - redis-cli and redis-benchmark (Debian's and Ubuntu's redis-tools), the Redis clients that
#     the demo and tests/kvstore.rs drive the kvstore server with;
#   - valgrind, whose callgrind counts the instructions of the hot paths for
#     tests/instruction_budget.rs.
#
#     bash scripts/setup.sh          # what the tests and the demo need
#     bash scripts/setup.sh demo     # what examples/demo.sh needs
#
# A tool already on the PATH is left as it is, so a second run installs nothing. It installs
# with apt-get, as root or through sudo. Without apt-get, or without root and sudo, it names what
# to install and exits non-zero. scripts/test.sh, examples/demo.sh and examples/kvstore/load.sh
# run it first.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
fail() {
    printf 'setup: %s\n' "$*" >&2
    exit 1
}

case ${1:-tests} in
    tests) tools=(redis-cli redis-benchmark valgrind) ;;
    demo) tools=(redis-cli redis-benchmark) ;;
    *) fail "unknown argument \`$1\`: \`bash scripts/setup.sh\` for the tests and the demo, \`bash scripts/setup.sh demo\` for the demo alone" ;;
esac

# The Debian package that has a tool, and how to name it on a machine without apt.
package() {
    case $1 in
        redis-cli | redis-benchmark) echo redis-tools ;;
        valgrind) echo valgrind ;;
    esac
}
elsewhere() {
    case $1 in
        redis-tools) echo "redis-cli and redis-benchmark (in the redis package of Fedora, Arch and Homebrew)" ;;
        valgrind) echo "valgrind" ;;
    esac
}

missing=()
for tool in "${tools[@]}"; do
    if command -v "$tool" >/dev/null; then
        say "$tool: found, $(command -v "$tool")"
    else
        say "$tool: missing, it comes with Debian's $(package "$tool") package"
        pkg=$(package "$tool")
        [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    say "nothing to install"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    wanted=()
    for pkg in "${missing[@]}"; do wanted+=("$(elsewhere "$pkg")"); done
    fail "apt-get is not on this machine: install these with its package manager, then run this again: $(printf '%s; ' "${wanted[@]}" | sed 's/; $//')"
fi
sudo=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null ||
        fail "installing needs root, and sudo is not here: as root, run \`apt-get update && apt-get install -y ${missing[*]}\`, then this again"
    sudo=(sudo)
fi

say "running: ${sudo[*]}${sudo:+ }apt-get update"
"${sudo[@]}" apt-get update -qq
say "running: ${sudo[*]}${sudo:+ }apt-get install -y ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || fail "$tool is still missing after installing ${missing[*]}"
done
say "installed ${missing[*]}"
