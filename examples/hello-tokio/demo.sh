#!/usr/bin/env bash
# The tokio demo: hello-tokio, a tokio server that shares its dependencies with its patches
# (docs/sharing.md), is updated from version 1 to 2 while a client stays connected. Version 2's
# code spawns a task on the program's runtime that sleeps on its timer and logs through its
# tracing subscriber.
#
#     bash examples/hello-tokio/demo.sh
#
# Needs cargo and bash 5. Builds in target/examples/tokio, with pubsub (their flags are not the
# other examples'); the first run compiles the dependencies. Exits 0 when every step did what it
# should, and non-zero as soon as one did not; the server it starts is stopped in every case.
#
# What it does:
#   1. build version 1 in its directory (cargo reads .cargo/config.toml from where it runs)
#      and start it;
#   2. connect a client, which stays connected to the end;
#   3. build version 2 as a patch with version 1's Cargo.lock, and apply it through the admin
#      port;
#   4. the client's next answer comes from version 2, and the server's log shows the line its
#      task wrote.

set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "the demo needs bash 5 or later" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/hello-tokio
export CARGO_TARGET_DIR=$ROOT/target/examples/tokio
PATCHES=$CARGO_TARGET_DIR/hello-tokio-patches
RUN=$CARGO_TARGET_DIR/hello-tokio-run
SERVER_LOG=$RUN/server.log
SERVER_PID=

# shellcheck source=examples/demo-common.sh
source "$ROOT/examples/demo-common.sh"

stop_on_exit
# Writing to a connection the server closed raises SIGPIPE: a failure, not a silent death.
trap 'fail "a connection to the server was closed"' PIPE

# Sends a line on file descriptor $1 and reads the answer into ANSWER, within 10 s.
ask() {
    printf '%s\n' "$2" >&"$1"
    IFS= read -r -t 10 ANSWER <&"$1" || fail "no answer to \`$2\`"
}

rm -rf "$RUN" && mkdir -p "$RUN" "$PATCHES"

section "1. version 1"
[[ -e $EXAMPLE/v1/Cargo.lock ]] || cp "$ROOT/Cargo.lock" "$EXAMPLE/v1/Cargo.lock"
# Every version writes the same unhashed libhello_tokio.rlib and .so: touched, the sources of
# the version built are the ones cargo builds.
touch "$EXAMPLE/v1/src/lib.rs"
(cd "$EXAMPLE/v1" && cargo build) || fail "building version 1 failed"
# The standard library is a shared library (-C prefer-dynamic): `cargo run` would put it on the
# search path; a program started by hand is told where it is.
STD_LIB=$(rustc --print sysroot)/lib/rustlib/$(rustc --print host-tuple)/lib
LD_LIBRARY_PATH=$STD_LIB "$CARGO_TARGET_DIR/debug/hello-tokio" --port 0 --admin-port 0 \
    >"$RUN/ports" 2>"$SERVER_LOG" &
SERVER_PID=$!
for _ in $(seq 100); do [[ $(wc -l <"$RUN/ports") -ge 2 ]] && break; sleep 0.1; done
PORT=$(sed -n '1s/.*://p' "$RUN/ports")
ADMIN_PORT=$(sed -n '2s/.*://p' "$RUN/ports")
[[ -n $PORT && -n $ADMIN_PORT ]] || fail "the server did not say its ports"
say "$(head -n 2 "$RUN/ports")"

section "2. a client connects"
exec {CLIENT}<>"/dev/tcp/127.0.0.1/$PORT"
exec {ADMIN}<>"/dev/tcp/127.0.0.1/$ADMIN_PORT"
ask "$CLIENT" "world"
say "client> world"
say "server> $ANSWER"
[[ $ANSWER == "hello, world" ]] || fail "version 1 answered \`$ANSWER\`"

section "3. version 2, as a patch"
cp "$EXAMPLE/v1/Cargo.lock" "$EXAMPLE/v2/Cargo.lock"
touch "$EXAMPLE/v2/src/lib.rs"
(cd "$EXAMPLE/v2" && cargo build --lib) || fail "building version 2 failed"
PATCH=$PATCHES/hello-tokio-2.so
cp "$CARGO_TARGET_DIR/debug/libhello_tokio.so" "$PATCH.tmp" && mv -f "$PATCH.tmp" "$PATCH"
ask "$ADMIN" "update $PATCH"
say "admin> update $PATCH"
say "server> $ANSWER"
[[ $ANSWER == ok* ]] || fail "the update was refused"

section "4. the same client, on version 2"
ask "$CLIENT" "world"
say "client> world"
say "server> $ANSWER"
[[ $ANSWER == "hello, world, from version 2" ]] || fail "version 2 answered \`$ANSWER\`"
for _ in $(seq 50); do grep -q "greeted by version 2" "$SERVER_LOG" && break; sleep 0.1; done
grep "greeted by version 2" "$SERVER_LOG" ||
    fail "the patch's task did not log through the program's subscriber"
ask "$ADMIN" "versions"
say "server> $ANSWER"

printf '\n%sThe client stayed connected; version 2 spawned, slept and logged in the program.%s\n' \
    "$GREEN" "$OFF"
