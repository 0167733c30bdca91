#!/usr/bin/env bash
# The async demo: pubsub, a publish/subscribe broker on tokio that speaks the Redis protocol, is
# updated from version 1 to 6 while redis-benchmark publishes without pause and a redis-cli
# subscriber stays connected.
#
#     bash examples/pubsub/demo.sh
#
# Needs cargo, bash 5, and redis-cli and redis-benchmark (Debian's and Ubuntu's redis-tools
# package), which it installs first through scripts/setup.sh if they are missing. Builds in
# target/examples/tokio, with hello-tokio (their flags, -C prefer-dynamic, are not the other
# examples'); the first run compiles the dependencies. Exits 0 when every step did what it should, and non-zero as
# soon as one did not; the processes it starts are stopped in every case.
#
# What it does:
#   1. build version 1 in its directory (cargo reads .cargo/config.toml from where it runs)
#      and start it;
#   2. start the clients: redis-benchmark publishing on 20 connections, and redis-cli
#      subscribed to `news`, both until the end;
#   3. for each version from 2 to 6: build it as a patch with version 1's Cargo.lock, publish
#      a line on `news`, apply the patch through the admin port, and ask the broker for what
#      the version changed;
#   4. the subscriber got every line, and redis-benchmark never saw an error.

set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "the demo needs bash 5 or later" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/pubsub
export CARGO_TARGET_DIR=$ROOT/target/examples/tokio
RUN=$CARGO_TARGET_DIR/pubsub-run
PATCHES=$RUN/patches
SERVER_LOG=$RUN/server.log
SERVER_PID=
SUBSCRIBER_PID=
BENCHMARK_PID=

# shellcheck source=examples/demo-common.sh
source "$ROOT/examples/demo-common.sh"

stop_on_exit SUBSCRIBER_PID BENCHMARK_PID

# The Redis clients, installed if they are missing.
bash "$ROOT/scripts/setup.sh" demo

rm -rf "$RUN" && mkdir -p "$PATCHES" && chmod 700 "$PATCHES"

# The broker's answer to a command, on the port $1.
ask() { redis-cli -p "$1" "${@:2}"; }

# The counts a new connection gets for `SUBSCRIBE a`, then `SUBSCRIBE b`.
subscribe_counts() {
    local connection line counts=()
    exec {connection}<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'SUBSCRIBE a\r\nSUBSCRIBE b\r\n' >&"$connection"
    while ((${#counts[@]} < 2)) && IFS= read -r -t 10 line <&"$connection"; do
        [[ $line == :* ]] && counts+=("${line//[:$'\r']/}")
    done
    exec {connection}<&-
    echo "${counts[*]}"
}

section "1. version 1"
[[ -e $EXAMPLE/v1/Cargo.lock ]] || cp "$ROOT/Cargo.lock" "$EXAMPLE/v1/Cargo.lock"
# Every version writes the same unhashed libpubsub.rlib and .so: touched, the sources of the
# version built are the ones cargo builds.
touch "$EXAMPLE"/v1/src/*.rs
(cd "$EXAMPLE/v1" && cargo build) || fail "building version 1 failed"
# The standard library is a shared library (-C prefer-dynamic): a program started by hand is
# told where it is.
STD_LIB=$(rustc --print sysroot)/lib/rustlib/$(rustc --print host-tuple)/lib
LD_LIBRARY_PATH=$STD_LIB "$CARGO_TARGET_DIR/debug/pubsub" --port 0 --admin-port 0 \
    --patch-dir "$PATCHES" >"$RUN/ports" 2>"$SERVER_LOG" &
SERVER_PID=$!
for _ in $(seq 100); do [[ $(wc -l <"$RUN/ports") -ge 2 ]] && break; sleep 0.1; done
PORT=$(sed -n '1s/.*://p' "$RUN/ports")
ADMIN_PORT=$(sed -n '2s/.*://p' "$RUN/ports")
[[ -n $PORT && -n $ADMIN_PORT ]] || fail "the broker did not say its ports"
say "$(head -n 2 "$RUN/ports")"
counts=$(subscribe_counts)
say "SUBSCRIBE a, then SUBSCRIBE b: $counts (version 1's bug: the second count should be 2)"
[[ $counts == "1 1" ]] || fail "version 1 counted $counts"

section "2. the clients"
redis-cli -p "$PORT" SUBSCRIBE news >"$RUN/subscriber.out" &
SUBSCRIBER_PID=$!
redis-benchmark -p "$PORT" -c 20 -n 1000000 -l -q PUBLISH load payload >"$RUN/benchmark.log" 2>&1 &
BENCHMARK_PID=$!
for _ in $(seq 100); do grep -q '^news$' "$RUN/subscriber.out" && break; sleep 0.1; done
grep -q '^news$' "$RUN/subscriber.out" || fail "redis-cli did not subscribe"
say "redis-cli is subscribed to news; redis-benchmark publishes on load from 20 connections"

# The clients must still be running: redis-benchmark exits at its first error.
clients_running() {
    kill -0 "$SUBSCRIBER_PID" 2>/dev/null || fail "the subscriber lost its connection"
    kill -0 "$BENCHMARK_PID" 2>/dev/null ||
        fail "redis-benchmark stopped: $(tr '\r' '\n' <"$RUN/benchmark.log" | tail -n 3)"
    local rate
    rate=$(tr '\r' '\n' <"$RUN/benchmark.log" | grep -o 'rps=[0-9.]*' | tail -n 1)
    say "  redis-benchmark is publishing (${rate:-starting}), the subscriber is connected"
}

section "3. versions 2 to 6, as patches"
for version in 2 3 4 5 6; do
    dir=$EXAMPLE/v$version
    cp "$EXAMPLE/v1/Cargo.lock" "$dir/Cargo.lock"
    touch "$dir"/src/*.rs
    (cd "$dir" && cargo build --lib) || fail "building version $version failed"
    patch=$PATCHES/pubsub-$version.so
    cp "$CARGO_TARGET_DIR/debug/libpubsub.so" "$patch.tmp" && mv -f "$patch.tmp" "$patch"
    ask "$PORT" PUBLISH news "before version $version" >/dev/null

    say "${BOLD}version $version${OFF}"
    report=$(ask "$ADMIN_PORT" UPDATE "pubsub-$version.so")
    [[ $report == "version "* ]] || fail "version $version was refused: $report"
    say "  admin> UPDATE pubsub-$version.so"
    grep -v '^replaced\|^added' <<<"$report" | sed 's/^/  server> /'
    say "  server> ($(grep -c '^replaced' <<<"$report") replaced, $(grep -c '^added' <<<"$report") added)"
    case $version in
        2)
            counts=$(subscribe_counts)
            say "  SUBSCRIBE a, then SUBSCRIBE b: $counts"
            [[ $counts == "1 2" ]] || fail "version 2 counted $counts"
            ;;
        3)
            numsub=$(ask "$PORT" PUBSUB NUMSUB news | tr '\n' ' ')
            say "  PUBSUB NUMSUB news: $numsub"
            [[ $numsub == "news 1 " ]] || fail "version 3 answered $numsub"
            ;;
        4)
            channels=$(ask "$PORT" PUBSUB CHANNELS | tr '\n' ' ')
            say "  PUBSUB CHANNELS, sorted now: $channels"
            [[ $report == *"converted_cells pubsub::broker::Broker 1"* ]] ||
                fail "version 4 did not convert the broker"
            [[ $channels == "\$SYS/broker news " || $channels == "news " ]] ||
                fail "version 4 answered $channels"
            ;;
        5)
            info=$(ask "$PORT" CLIENT INFO)
            say "  CLIENT INFO: $info"
            [[ $report == *"converted_cells pubsub::session::Session "* ]] ||
                fail "version 5 did not convert the sessions"
            [[ $info == *" delivered=0" ]] || fail "version 5 answered $info"
            ;;
        6)
            sys=$(timeout 1 redis-cli -p "$PORT" SUBSCRIBE '$SYS/broker' | grep '^clients=' | tail -n 1 || true)
            say "  \$SYS/broker: $sys"
            [[ $sys == *" published="* ]] || fail "version 6's announcer said $sys"
            ;;
    esac
    clients_running
done

section "4. every line reached the subscriber"
ask "$PORT" PUBLISH news "after version 6" >/dev/null
for _ in $(seq 50); do grep -q '^after version 6$' "$RUN/subscriber.out" && break; sleep 0.1; done
grep '^before version\|^after version' "$RUN/subscriber.out" | sed 's/^/  subscriber> /'
[[ $(grep -c '^before version\|^after version' "$RUN/subscriber.out") == 6 ]] ||
    fail "the subscriber missed a line"
clients_running
ask "$ADMIN_PORT" STATUS | grep '^futures' | sed 's/^/  server> /'

printf '\n%sSix versions, one process: the subscriber stayed connected and got every line, and%s\n' \
    "$GREEN" "$OFF"
printf '%sredis-benchmark published without one error.%s\n' "$GREEN" "$OFF"
