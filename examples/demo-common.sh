# What the demos share: their output, their failure, and building the releases of an example.
# Sourced by examples/demo.sh and the demos of greeter, hello-tokio and pubsub once
# they have set ROOT, EXAMPLE (the folder of the releases v1, v2, ...), PATCHES and SERVER_LOG,
# and exported CARGO_TARGET_DIR; build_program and build_patch also read CRATE.

if [[ -t 1 ]]; then BOLD=$'\e[1m' RED=$'\e[31m' GREEN=$'\e[32m' OFF=$'\e[0m'; else BOLD= RED= GREEN= OFF=; fi

section() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '%s\n' "$*"; }

fail() {
    printf '\n%sFAILED: %s%s\n' "$RED" "$*" "$OFF" >&2
    if [[ -s $SERVER_LOG ]]; then
        printf 'last lines of the server log (%s):\n' "$SERVER_LOG" >&2
        tail -n 15 "$SERVER_LOG" | sed 's/^/    /' >&2
    fi
    exit 1
}

# Makes the demo, however it ends, kill the processes whose pids the variables named in "$@"
# hold (quietly), then stop the server ($SERVER_PID) and say so; an interrupt or a termination
# ends it with the usual status.
stop_on_exit() {
    HELPERS=("$@")
    trap cleanup EXIT
    trap 'echo "interrupted" >&2; exit 130' INT
    trap 'echo "terminated" >&2; exit 143' TERM
}

cleanup() {
    local status=$? helper
    trap - EXIT
    for helper in "${HELPERS[@]}"; do
        if [[ -n ${!helper} ]]; then kill "${!helper}" 2>/dev/null || true; fi
    done
    if [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" 2>/dev/null || true
        say "(server $SERVER_PID stopped)"
    fi
    exit "$status"
}

# Builds version 1, the program.
build_program() {
    # The first build of a fresh clone takes the versions of the dependencies dsu is tested
    # with.
    [[ -e $EXAMPLE/v1/Cargo.lock ]] || cp "$ROOT/Cargo.lock" "$EXAMPLE/v1/Cargo.lock"
    # All versions write the same unhashed lib<crate>.rlib and lib<crate>.so, so the patches
    # of the last run may have overwritten version 1's library, and cargo would link the
    # program with them: touch the sources to rebuild version 1's.
    touch "$EXAMPLE/v1/src/lib.rs"
    cargo build --manifest-path "$EXAMPLE/v1/Cargo.toml" || fail "building version 1 failed"
}

# Builds version $1 as a patch and prints the path of its copy in $PATCHES.
build_patch() {
    local version=$1 dir=$EXAMPLE/v$1
    # A patch must be built with the dependencies of the running program: use its lock file.
    cp "$EXAMPLE/v1/Cargo.lock" "$dir/Cargo.lock"
    # Every version writes the same lib<crate>.so: make sure cargo rebuilds this version even
    # if it thinks it built it before.
    touch "$dir/src/lib.rs"
    cargo build --lib --manifest-path "$dir/Cargo.toml" >&2 || fail "building version $version failed"
    local patch=$PATCHES/$CRATE-$version.0.0.so
    # Copy, then rename: a file is never rewritten in place once a process may have read it.
    cp "$CARGO_TARGET_DIR/debug/lib$CRATE.so" "$patch.tmp"
    mv -f "$patch.tmp" "$patch"
    printf '%s\n' "$patch"
}
