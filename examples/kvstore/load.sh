#!/usr/bin/env bash
# What dsu costs a server under load, and what its updates cost the clients: runs
# redis-benchmark against kvstore and writes docs/results.md.
#
#     bash examples/kvstore/load.sh [rounds]
#
# A measurement, not a test: it takes a few minutes, and its figures mean something only on a
# machine that is otherwise idle. Needs cargo and bash 5; the Redis clients and valgrind it
# installs first through scripts/setup.sh if they are missing.
#
# Builds, in release mode, in target/kvstore-load:
#   - version 1 with dsu, the program that is updated, and versions 2 to 6 as its patches;
#   - versions 1 and 6 with dsu compiled away (the `disabled` feature): the baselines.
#
# Measures, with the server on one core and redis-benchmark on the other when the machine has
# two or more (taskset), so that the two do not take turns on one core:
#   1. throughput: SET and GET, pipelined (8 connections, 16 requests in flight on each: the
#      server's own work per request, where dsu's cost shows most) and not (50 connections, one
#      request in flight on each: mostly system calls), in rounds that alternate between the
#      builds (rounds, default 15); the median of each build's throughput, the median of
#      the rounds' ratios, and the ratio of the CPU time each server used;
#   2. updates under load: one long SET run against version 1 with dsu, while the updates to
#      versions 2..6 land one after another; each update's pause (the commit) and hold (the
#      longest a request could wait), and the run's worst latency, beside the same run without
#      updates;
#   3. version 6 reached by five updates against version 6 built without dsu, as in 1;
#   4. the instructions the server executes per request, counted by callgrind, which no other
#      work of the machine disturbs: each build of 1 and 3 again, under valgrind.

set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "the load script needs bash 5 or later" >&2; exit 1; }

ROUNDS=${1:-15}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/kvstore
WORK=$ROOT/target/kvstore-load
BIN=$WORK/bin
PATCHES=$WORK/patches
RESULTS=$ROOT/docs/results.md
KEYS=100000             # keys filled before the updates, and the benchmark's key space
PIPELINED=500000        # requests per pipelined run of the throughput rounds
REQUESTS=100000         # requests per unpipelined run
UPDATE_REQUESTS=3000000 # the run the updates land in: long enough to span all five
CALLGRIND_REQUESTS=100000 # requests per test counted under callgrind

PIDS=()
declare -A SERVER_PID
cleanup() {
    local status=$?
    trap - EXIT
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "load: $*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

command -v cargo >/dev/null || fail "cargo is missing"
# redis-cli, redis-benchmark, and valgrind with its callgrind_control.
bash "$ROOT/scripts/setup.sh" >&2
SERVER_CPU=() CLIENT_CPU=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1)
fi
SAVED_SERVER_CPU=("${SERVER_CPU[@]}")

# Builds `examples/kvstore/v$1` in release mode with cargo's extra arguments $2..; prints
# nothing. Every version writes the same unhashed files: touch the sources first.
build() {
    local version=$1
    shift
    cp "$EXAMPLE/v1/Cargo.lock" "$EXAMPLE/v$version/Cargo.lock" 2>/dev/null || true
    touch "$EXAMPLE/v$version/src/lib.rs"
    cargo build --release --quiet --manifest-path "$EXAMPLE/v$version/Cargo.toml" "$@" ||
        fail "building version $version failed"
}

# Starts a server, `start <program> <name>`, fills it, and sets PORT to its port.
start() {
    local program=$1 name=$2 log=$WORK/$2.log port=
    rm -f "$WORK/$name.sock"
    "${SERVER_CPU[@]}" "$program" --port 0 --admin-socket "$WORK/$name.sock" \
        --patch-dir "$PATCHES" >"$log" 2>&1 &
    PIDS+=($!)
    local pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^kvstore .* serving on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || fail "the server $name did not start: $(cat "$log")"
    # The keys redis-benchmark makes of `key:__rand_int__` with -r.
    awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%012d initial-%d\r\n", i, i }' |
        redis-cli -p "$port" --pipe >/dev/null || fail "filling the server $name failed"
    PORT=$port
    SERVER_PID[$port]=$pid
}

# One redis-benchmark run, `bench <port> <tests> <requests> [<connections> <pipeline>]`
# (default: 50 connections, one request in flight on each): prints its CSV lines, without the
# header, as `test rps avg min p50 p95 p99 max`.
bench() {
    "${CLIENT_CPU[@]}" redis-benchmark -p "$1" -t "$2" -n "$3" -r "$KEYS" -c "${4:-50}" \
        -P "${5:-1}" -d 16 --csv 2>/dev/null | tail -n +2 | tr -d '"' | tr ',' ' '
}

# The CPU time a process has used, in clock ticks (user and system).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Alternates throughput runs between two servers: `rounds <label> <port-a> <port-b>`. Each
# round runs every test once on each server, in turn, and the order of the servers changes
# from one round to the next. For each test and server, it writes to $WORK/<label>-<a|b>-<test>
# one line per round: requests per second, and the CPU time the server used for the run.
rounds() {
    local label=$1 round test side port pid before rps rest
    rm -f "$WORK/$label"-*
    for round in $(seq "$ROUNDS"); do
        for test in set get; do
            for side in $( ((round % 2)) && echo a b || echo b a); do
                port=$2
                [[ $side == b ]] && port=$3
                pid=${SERVER_PID[$port]}
                before=$(cpu_ticks "$pid")
                read -r _ rps rest < <(bench "$port" "$test" "$PIPELINED" 8 16)
                echo "$rps $(($(cpu_ticks "$pid") - before))" >>"$WORK/$label-$side-$test-pipelined"
                before=$(cpu_ticks "$pid")
                read -r _ rps rest < <(bench "$port" "$test" "$REQUESTS")
                echo "$rps $(($(cpu_ticks "$pid") - before))" >>"$WORK/$label-$side-$test"
            done
        done
        say "  round $round of $ROUNDS"
    done
}

# A table row comparing two servers: `ratio_row <label> <test>`. The medians of their
# throughput; the median of the ratios of the rounds, each a pair of runs close in time, which
# cancels most of the machine's drift; the range of those ratios; and the ratio of the CPU
# time the servers used for all their runs.
ratio_row() {
    local label=$1 test=$2 name=${2^^}
    name=${name/-PIPELINED/, pipelined}
    local a=$WORK/$label-a-$test b=$WORK/$label-b-$test
    paste "$a" "$b" | awk '{ print $3 / $1 }' >"$WORK/$label-ratios-$test"
    awk -v t="$name" -v a="$(cut -d' ' -f1 "$a" | median)" -v b="$(cut -d' ' -f1 "$b" | median)" \
        -v r="$(median <"$WORK/$label-ratios-$test")" \
        -v lo="$(sort -g "$WORK/$label-ratios-$test" | head -n 1)" \
        -v hi="$(sort -g "$WORK/$label-ratios-$test" | tail -n 1)" \
        -v ca="$(awk '{ s += $2 } END { print s }' "$a")" -v cb="$(awk '{ s += $2 } END { print s }' "$b")" \
        'BEGIN { printf "| %s | %.0f | %.0f | **%.3f** | %.2f to %.2f | %.3f |\n", t, a, b, r, lo, hi, cb / ca }'
}

# The user-space instructions a server executes per request, pipelined, counted by callgrind:
# `count_instructions <name> <program> [updated]`, where `updated` first brings the server to
# version 6 by the five updates. Writes `<test> <instructions per request>` lines to
# $WORK/<name>-instructions.
count_instructions() {
    local name=$1 program=$2 out=$WORK/callgrind.$1 dumps=0 pid test totals version answer
    rm -f "$out"*
    say "  $name, under callgrind"
    SERVER_CPU=(valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no)
    start "$program" "$name"
    SERVER_CPU=("${SAVED_SERVER_CPU[@]}")
    pid=${SERVER_PID[$PORT]}
    if [[ ${3:-} == updated ]]; then
        for version in 2 3 4 5 6; do
            answer=$(redis-cli -s "$WORK/$name.sock" UPDATE "$PATCHES/kvstore-$version.so")
            [[ $answer == '{"ok":true'* ]] || fail "$name: the update to $version was refused: $answer"
        done
    fi
    for test in set get; do
        callgrind_control -z "$pid" >/dev/null 2>&1
        bench "$PORT" "$test" "$CALLGRIND_REQUESTS" 8 16 >/dev/null
        callgrind_control -d "$pid" >/dev/null 2>&1
        dumps=$((dumps + 1))
        for _ in $(seq 100); do [[ -s $out.$dumps ]] && break; sleep 0.1; done
        totals=$(sed -n 's/^totals: //p' "$out.$dumps")
        [[ -n $totals ]] || fail "$name: callgrind wrote no totals"
        echo "$test $((totals / CALLGRIND_REQUESTS))"
    done >"$WORK/$name-instructions"
    kill "$pid"
}

# A table row of instructions per request: `instructions_row <label> <name> [<baseline name>]`.
instructions_row() {
    local set get
    read -r _ set < <(grep '^set ' "$WORK/$2-instructions")
    read -r _ get < <(grep '^get ' "$WORK/$2-instructions")
    if [[ -z ${3:-} ]]; then
        echo "| $1 | $set | | $get | |"
        return
    fi
    local base_set base_get
    read -r _ base_set < <(grep '^set ' "$WORK/$3-instructions")
    read -r _ base_get < <(grep '^get ' "$WORK/$3-instructions")
    awk -v l="$1" -v s="$set" -v g="$get" -v bs="$base_set" -v bg="$base_get" \
        'BEGIN { printf "| %s | %d | **%.3f** | %d | **%.3f** |\n", l, s, s / bs, g, g / bg }'
}

# How many instructions dsu adds to a request of `test` in version 1: `added <test>`.
added() {
    local with without
    read -r _ with < <(grep "^$1 " "$WORK/dsu1-counted-instructions")
    read -r _ without < <(grep "^$1 " "$WORK/plain1-counted-instructions")
    echo $((with - without))
}

# A number of an update's JSON report: `report_field <json> <name>`.
report_field() {
    [[ $1 =~ \"$2\":([0-9.]+) ]] || fail "the report has no $2: $1"
    printf '%s' "${BASH_REMATCH[1]}"
}

# The median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkdir -p "$BIN" "$PATCHES" "$(dirname "$RESULTS")"
# The server loads patches only from a directory no one else may write to.
chmod 700 "$PATCHES"
[[ -e $EXAMPLE/v1/Cargo.lock ]] || cp "$ROOT/Cargo.lock" "$EXAMPLE/v1/Cargo.lock"

say "building (release)..."
export CARGO_TARGET_DIR=$WORK/target-plain
build 1 --features disabled
cp "$CARGO_TARGET_DIR/release/kvstore" "$BIN/kvstore-1-plain"
build 6 --features disabled
cp "$CARGO_TARGET_DIR/release/kvstore" "$BIN/kvstore-6-plain"
export CARGO_TARGET_DIR=$WORK/target-dsu
build 1
cp "$CARGO_TARGET_DIR/release/kvstore" "$BIN/kvstore-1-dsu"
for version in 2 3 4 5 6; do
    build "$version" --lib
    cp "$CARGO_TARGET_DIR/release/libkvstore.so" "$PATCHES/kvstore-$version.so"
done

say "1. throughput, version 1: without dsu (a) and with dsu (b)"
start "$BIN/kvstore-1-plain" plain1
PLAIN1=$PORT
start "$BIN/kvstore-1-dsu" dsu1
DSU1=$PORT
rounds v1 "$PLAIN1" "$DSU1"

say "2. a long SET run without updates, then the same run while five updates land"
start "$BIN/kvstore-1-dsu" updated
UPDATED=$PORT
read -r _ QUIET_RPS _ _ _ _ QUIET_P99 QUIET_MAX < <(bench "$UPDATED" set "$UPDATE_REQUESTS")
bench "$UPDATED" set "$UPDATE_REQUESTS" >"$WORK/during" &
BENCH=$!
PIDS+=("$BENCH")
sleep 1
UPDATE_ROWS=
for version in 2 3 4 5 6; do
    answer=$(redis-cli -s "$WORK/updated.sock" UPDATE "$PATCHES/kvstore-$version.so")
    [[ $answer == '{"ok":true'* ]] || fail "the update to version $version was refused: $answer"
    [[ $answer =~ \"message\":\"now\ running\ ([^\;]*)\; ]] ||
        fail "the report of version $version has no summary: $answer"
    summary=${BASH_REMATCH[1]}
    pause=$(report_field "$answer" pause_us)
    held=$(report_field "$answer" held_us)
    total=$(report_field "$answer" total_us)
    UPDATE_ROWS+=$(awk -v s="$summary" -v p="$pause" -v h="$held" -v t="$total" \
        'BEGIN { printf "| %s | %s | %.2f | %.0f |", s, p, h / 1000, t / 1000 }')$'\n'
    say "  update to version $version: pause $pause µs, held $held µs"
    sleep 1
done
kill -0 "$BENCH" 2>/dev/null || fail "the benchmark ended before the last update: make UPDATE_REQUESTS larger"
wait "$BENCH" || fail "redis-benchmark failed during the updates"
read -r _ DURING_RPS _ _ _ _ DURING_P99 DURING_MAX <"$WORK/during"
KEPT=$(redis-cli -p "$UPDATED" INFO keyspace | sed -n 's/^db0:keys=\([0-9]*\),.*/\1/p')
((KEPT >= KEYS)) || fail "keys were lost: $KEPT of at least $KEYS"

say "3. throughput, version 6: built without dsu (a), and reached by five updates (b)"
start "$BIN/kvstore-6-plain" plain6
PLAIN6=$PORT
rounds v6 "$PLAIN6" "$UPDATED"

say "4. instructions per request"
count_instructions plain1-counted "$BIN/kvstore-1-plain"
count_instructions dsu1-counted "$BIN/kvstore-1-dsu"
count_instructions plain6-counted "$BIN/kvstore-6-plain"
count_instructions updated-counted "$BIN/kvstore-1-dsu" updated

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cat >"$RESULTS" <<EOF
# kvstore under load: what dsu costs, and what its updates cost the clients

Written by \`bash examples/kvstore/load.sh\` on $(date -u +%Y-%m-%d). Every figure below comes
from one run of the script on one machine; compare them with each other, not with figures of
another machine.

- Machine: $(nproc) cores ($CPU), $(uname -sr); $(rustc --version | cut -d' ' -f1-2), release builds.
- Server: kvstore (\`examples/kvstore\`), one thread per client${SERVER_CPU:+, pinned to core 0}.
- Load: $(redis-benchmark --version | cut -d' ' -f1-2)${CLIENT_CPU:+, pinned to core 1}: 16-byte values, random keys out of
  $KEYS, all of them filled first. Pipelined: 8 connections with 16 requests in flight on
  each, which measures the server's own work per request. Otherwise 50 connections with one
  request in flight on each, where system calls take most of the time.
- Baseline: the same source built with dsu's \`disabled\` feature, which compiles every
  attribute away.

## Throughput: with dsu and without

Requests per second, the median of $ROUNDS runs of $PIPELINED requests (pipelined) or
$REQUESTS requests each. The two servers run side by side, and the runs alternate between
them: each round is one run on each, and its ratio compares two runs made seconds apart. The
ratio is the median of the rounds' ratios; the CPU time ratio compares the CPU time each server
used for all its runs, which the machine's other work disturbs less than the throughput.

Version 1, as started:

| test | without dsu | with dsu | ratio | ratios of the rounds | CPU time ratio |
|------|------------:|---------:|------:|:--------------------:|---------------:|
$(ratio_row v1 set-pipelined)
$(ratio_row v1 get-pipelined)
$(ratio_row v1 set)
$(ratio_row v1 get)

Version 6: built without dsu, against version 1 with dsu brought to version 6 by five updates
while it served, whose calls go through the patches' code:

| test | without dsu | with dsu, updated | ratio | ratios of the rounds | CPU time ratio |
|------|------------:|------------------:|------:|:--------------------:|---------------:|
$(ratio_row v6 set-pipelined)
$(ratio_row v6 get-pipelined)
$(ratio_row v6 set)
$(ratio_row v6 get)

## Instructions per request

The instructions the server executes in user space per request, pipelined, counted by
callgrind over $CALLGRIND_REQUESTS requests of each test: a count, not a time, which the
machine's other work does not disturb. It leaves out the kernel's work for the system calls,
which is the same with and without dsu, so the ratio overstates dsu's share of a request.

| server | SET | ratio | GET | ratio |
|--------|----:|------:|----:|------:|
$(instructions_row "version 1 without dsu" plain1-counted)
$(instructions_row "version 1 with dsu" dsu1-counted plain1-counted)
$(instructions_row "version 6 without dsu" plain6-counted)
$(instructions_row "version 6 with dsu, reached by five updates" updated-counted plain6-counted)

## Updates under load

One run of $UPDATE_REQUESTS SETs, not pipelined, against version 1 with dsu, during which the updates to
versions 2 to 6 land, a second apart. The pause is the commit (every function switched); a
request could wait at most the hold, which for versions 4 and 5 includes converting the
$KEYS-entry store (every entry gains an expiry; the store is dealt out to shards). The whole
update includes reading and loading the patch, which requests do not wait for.

| update | pause (µs) | requests held at most (ms) | whole update (ms) |
|--------|-----------:|---------------------------:|------------------:|
${UPDATE_ROWS%$'\n'}

The same run, without updates and with them:

| | requests per second | p99 latency (ms) | worst latency (ms) |
|-|--------------------:|-----------------:|-------------------:|
| no update | $QUIET_RPS | $QUIET_P99 | $QUIET_MAX |
| five updates | $DURING_RPS | $DURING_P99 | $DURING_MAX |

No request failed and no connection closed (redis-benchmark stops at the first error), and
the $KEYS keys filled before the updates were all there after them.

## Reading the figures

- A throughput ratio is with dsu over without, in the same run; 1 means dsu costs nothing
  measurable. The ratios of single rounds show how noisy the machine was: a median closer to
  1 than they spread is within that noise, and on a shared machine that noise is far larger
  than what dsu costs.
- The instruction counts are the figure to trust there. dsu adds $(added set) instructions to
  a SET and $(added get) to a GET in version 1: the transaction around the request, a slot load
  per updateable call, the first-call record of each function and global a request uses, and
  the global's version check. A request also costs the kernel work of its system calls, which
  the count leaves out, so dsu's share of a request's time is smaller than its share of these
  instructions. \`cargo bench\` measures the calls and transactions themselves.
- The pause is what every request could see of an update that converts nothing: the commit
  is a store per function. An update that converts state holds the requests that use it for
  as long as the conversion takes (the hold), and that is the worst latency of the run with
  updates: convert big state at a quiet time.
- Loading a patch (the whole update) takes a core for about a tenth of a second, on the
  server's core here: the throughput of the run with updates includes it.
EOF
say "wrote $RESULTS"
cat "$RESULTS"
