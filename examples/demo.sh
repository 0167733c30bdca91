#!/usr/bin/env bash
# The live-update demo: kvstore, a server that speaks the Redis protocol, is updated from
# version 1 through 6 while real Redis clients use it, and loses neither a key nor a connection.
#
#     bash examples/demo.sh
#
# Needs cargo, bash 5, and redis-cli and redis-benchmark (Debian's and Ubuntu's redis-tools
# package), which it installs first through scripts/setup.sh if they are missing. Builds in
# target/examples; the first run compiles the dependencies, later runs only kvstore. Exits 0
# when every step did what it should, and non-zero as soon as one did not (a refused update, a
# lost key, a failed client, a wrong answer); the server and the clients it starts are stopped
# in every case.
#
# What it does (examples/kvstore/README.md tells how to do the same by hand):
#   1. build version 1 and start it; fill it with 10,000 keys;
#   2. start the clients: redis-benchmark on 8 connections, and a connection that names
#      itself and pings every 50 ms; both run to the end of the demo;
#   3. for each of versions 2 to 6: build it as a patch, apply it through the admin socket,
#      show what changed, ask for the new behaviour, and read back every key;
#   4. between versions 3 and 4, try a patch that skips a release: it is refused, and nothing
#      changes;
#   5. show the server's status, and what the clients saw.

set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "the demo needs bash 5 or later" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLE=$ROOT/examples/kvstore
export CARGO_TARGET_DIR=$ROOT/target/examples
PATCHES=$CARGO_TARGET_DIR/kvstore-patches
RUN=$CARGO_TARGET_DIR/kvstore-run
SERVER_LOG=$RUN/server.log
CRATE=kvstore
BENCHMARK_LOG=$RUN/benchmark.log
SOCKET=$RUN/admin.sock
PINGS=$RUN/pings
KEYS=10000

SERVER_PID=
BENCHMARK_PID=
PINGER_PID=

# shellcheck source=examples/demo-common.sh
source "$ROOT/examples/demo-common.sh"

stop_on_exit PINGER_PID BENCHMARK_PID

# The Redis clients, installed if they are missing; setup.sh says what it does, or why it
# cannot.
bash "$ROOT/scripts/setup.sh" demo

# A field of a flat JSON answer: `json_field <json> <name>`.
json_field() {
    local pattern="\"$2\":(\"([^\"\\\\]|\\\\.)*\"|[-0-9.a-z]+)"
    [[ $1 =~ $pattern ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# Sends a command to the admin socket and prints the JSON answer: `admin <ok|error> <command...>`
# fails unless the answer's "ok" is as expected.
admin() {
    local expected=$1 answer
    shift
    say "admin> $*"
    answer=$(redis-cli -s "$SOCKET" "$@") || fail "the admin socket did not answer \`$*\`"
    ADMIN_ANSWER=$answer
    case $expected in
        ok) [[ $(json_field "$answer" ok) == true ]] || fail "\`$*\` was refused: $answer" ;;
        error) [[ $(json_field "$answer" ok) == false ]] || fail "\`$*\` was not refused: $answer" ;;
    esac
}

# Applies a patch and prints what the update did.
update() {
    admin ok UPDATE "$1"
    local a=$ADMIN_ANSWER message
    message=$(json_field "$a" message)
    message=${message#\"now running }
    say "     | ${message%%;*}"
    say "     | pause $(json_field "$a" pause_us) µs (the switch); requests held at most" \
        "$(milliseconds "$(json_field "$a" held_us)") ms; the whole update" \
        "$(milliseconds "$(json_field "$a" total_us)") ms"
    if [[ $a =~ \"added_globals\":\[\{\"path\":\"([^\"]*)\",\"type\":\"([^\"]*)\" ]]; then
        say "     | added global ${BASH_REMATCH[1]}: ${BASH_REMATCH[2]}"
    fi
    if [[ $a =~ \"converted_cells\":\[\{\"type\":\"([^\"]*)\",\"from\":\"([^\"]*)\",\"cells\":([0-9]*) ]]; then
        say "     | converted ${BASH_REMATCH[3]} state cells of ${BASH_REMATCH[1]}, from ${BASH_REMATCH[2]}:" \
            "every open connection's session"
    fi
}

milliseconds() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

# Runs a command with redis-cli and checks its answer: `ask <expected> <command...>`, where
# <expected> is a bash pattern.
ask() {
    local expected=$1 answer
    shift
    answer=$(redis-cli -p "$PORT" "$@" 2>&1) || fail "redis-cli $* failed: $answer"
    printf '  redis> %s\n' "$*"
    sed 's/^/         /' <<<"$answer"
    # shellcheck disable=SC2053 # a pattern on purpose
    [[ $answer == $expected ]] || fail "\`$*\` answered \`$answer\`, expected $expected"
}

# Reads back every key the demo wrote, one GET each with redis-cli, and compares.
check_keys() {
    local expected=$RUN/expected actual=$RUN/actual
    seq 0 $((KEYS - 1)) | sed 's/.*/value-&/' >"$expected"
    seq 0 $((KEYS - 1)) | sed 's/.*/GET fill:&/' | redis-cli -p "$PORT" >"$actual" ||
        fail "redis-cli could not read the keys back"
    cmp -s "$expected" "$actual" ||
        fail "keys were lost or changed: $(diff "$expected" "$actual" | head -n 4 | tr '\n' ' ')"
    say "  all $KEYS keys read back with their values"
}

# The clients must still be running: redis-benchmark exits at the first error or closed
# connection, the pinger at the first ping not answered PONG.
check_clients() {
    kill -0 "$BENCHMARK_PID" 2>/dev/null ||
        fail "redis-benchmark stopped: $(tr '\r' '\n' <"$BENCHMARK_LOG" | tail -n 3)"
    kill -0 "$PINGER_PID" 2>/dev/null || fail "the ping connection failed: $(cat "$PINGS" 2>/dev/null)"
    local rate
    rate=$(tr '\r' '\n' <"$BENCHMARK_LOG" | grep -o '[A-Z]*: rps=[0-9.]*' | tail -n 1)
    say "  redis-benchmark is running (${rate:-starting}), and so is the ping connection"
}

# One connection that names itself, then pings every 50 ms until $PINGS.stop exists, asking
# for its name every 20 pings, then writes how many pings it made and the slowest answer (in
# microseconds) to $PINGS. It speaks RESP's inline form, which every version understands.
pinger() {
    trap - EXIT INT TERM
    trap 'exit 1' PIPE
    local count=0 slowest=0 start took response name
    exec 5<>"/dev/tcp/127.0.0.1/$PORT" || { echo "cannot connect" >"$PINGS"; exit 1; }
    printf 'CLIENT SETNAME pinger\r\n' >&5
    IFS= read -r -t 5 response <&5 || { echo "no answer to CLIENT SETNAME" >"$PINGS"; exit 1; }
    [[ $response == $'+OK\r' ]] || { echo "CLIENT SETNAME answered \`$response\`" >"$PINGS"; exit 1; }
    while [[ ! -e $PINGS.stop ]]; do
        if ((count % 20 == 0)); then
            # Its session, kept through every update.
            printf 'CLIENT GETNAME\r\n' >&5
            IFS= read -r -t 5 response <&5 && IFS= read -r -t 5 name <&5 ||
                { echo "no answer to CLIENT GETNAME" >"$PINGS"; exit 1; }
            [[ $response$name == $'$6\rpinger\r' ]] ||
                { echo "CLIENT GETNAME answered \`$response $name\`" >"$PINGS"; exit 1; }
        fi
        start=${EPOCHREALTIME//[!0-9]/}
        printf 'PING\r\n' >&5
        IFS= read -r -t 5 response <&5 || { echo "no answer to ping $((count + 1))" >"$PINGS"; exit 1; }
        [[ $response == $'+PONG\r' ]] || { echo "ping answered \`$response\`" >"$PINGS"; exit 1; }
        took=$((${EPOCHREALTIME//[!0-9]/} - start))
        ((took > slowest)) && slowest=$took
        count=$((count + 1))
        sleep 0.05
    done
    echo "$count $slowest" >"$PINGS"
}

mkdir -p "$PATCHES" "$RUN"
# The server loads patches only from a directory no one else may write to.
chmod 700 "$PATCHES"
rm -f "$PINGS" "$PINGS.stop" "$SERVER_LOG" "$BENCHMARK_LOG"

section "1. Build version 1 and start it"
build_program
"$CARGO_TARGET_DIR/debug/kvstore" --port 0 --admin-socket "$SOCKET" --patch-dir "$PATCHES" \
    >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/^kvstore .* serving on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SERVER_LOG")
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start"
    sleep 0.1
done
[[ -n $PORT ]] || fail "the server did not say which port it listens on"
say "server (pid $SERVER_PID): clients on 127.0.0.1:$PORT, admin on $SOCKET"
say "patches are accepted only from $PATCHES"

section "2. Fill it, and start the clients"
seq 0 $((KEYS - 1)) | sed 's/.*/SET fill:& value-&/' | redis-cli -p "$PORT" >/dev/null ||
    fail "filling the server failed"
ask "$KEYS" DBSIZE
ask "value-1234" GET fill:1234
ask "ERR unknown command 'INCR'" INCR visits
redis-benchmark -p "$PORT" -t set,get -r 100000 -c 8 -P 4 -n 200000 -l -q >"$BENCHMARK_LOG" 2>&1 &
BENCHMARK_PID=$!
pinger &
PINGER_PID=$!
sleep 1
say "redis-benchmark loops over SET and GET of random keys on 8 connections, 4 requests in"
say "flight on each; another connection pings every 50 ms. Both run until the end."
check_clients

section "3. Version 2: new commands"
say "INCR, DECR, INCRBY, DECRBY, APPEND, STRLEN, MGET, MSET and KEYS. Its INCR has a bug."
PATCH2=$(build_patch 2)
update "$PATCH2"
ask "1" INCR visits
ask "11" INCRBY visits 10
ask "value-7*value-8" MGET fill:7 fill:8
ask "OK" SET greeting hello
ask "1" INCR greeting
say "(the bug: INCR took \"hello\" for 0 and overwrote it)"
check_keys
check_clients

section "4. Version 3: the bug fix"
PATCH3=$(build_patch 3)
update "$PATCH3"
ask "OK" SET greeting hello
ask "ERR value is not an integer or out of range" INCR greeting
ask "hello" GET greeting
ask "12" INCR visits
check_keys
check_clients

section "5. A bad patch: version 5 on version 3"
say "Version 5 converts version 4's store. Skipping version 4 is refused, and nothing changes."
PATCH5=$(build_patch 5)
admin error UPDATE "$PATCH5"
REFUSAL=$(json_field "$ADMIN_ANSWER" error)
say "     | refused, ${REFUSAL//\"/}: $(json_field "$ADMIN_ANSWER" message | cut -c 2-150)..."
ask "ERR value is not an integer or out of range" INCR greeting
check_keys
check_clients

section "6. Version 4: keys expire, and every entry gains an expiry"
say "SET takes EX, PX, NX and XX; EXPIRE, PEXPIRE, TTL, PTTL and PERSIST are new. The update"
say "converts every value of the store into an entry that never expires."
PATCH4=$(build_patch 4)
update "$PATCH4"
ask "-1" TTL fill:1
ask "OK" SET session abc EX 100
ask "@(99|100)" TTL session
ask "OK" SET flash now PX 200
sleep 0.3
ask "" GET flash
check_keys
check_clients

section "7. Version 5: the store is sharded"
say "From one map behind one lock to sixteen: the update deals every entry out to its shard."
update "$PATCH5"
ask "@(9[0-9]|100)" TTL session
ask "13" INCR visits
check_keys
check_clients

section "8. Version 6: INFO, and sessions that count"
say "INFO, with counters in a global this version adds; and each connection's session, a state"
say "cell on its loop's frame, now counts its commands: the update converts every open one."
PATCH6=$(build_patch 6)
update "$PATCH6"
ask "*kvstore_version:kvstore@6.0.0*" INFO server
ask "*connected_clients:[1-9]*" INFO clients
ask "id=* name= tot-cmds=1 cmd=client" CLIENT INFO
check_keys
check_clients

section "9. Status of the server"
admin ok STATUS
say "     | versions: $(grep -o '"label":"[^"]*"' <<<"$ADMIN_ANSWER" | cut -d'"' -f4 | paste -sd' ' | sed 's/ / -> /g')"
touch "$PINGS.stop"
wait "$PINGER_PID" || fail "the ping connection failed: $(cat "$PINGS" 2>/dev/null)"
PINGER_PID=
read -r pings slowest <"$PINGS"
kill -0 "$BENCHMARK_PID" 2>/dev/null || fail "redis-benchmark stopped"
kill "$BENCHMARK_PID"
wait "$BENCHMARK_PID" 2>/dev/null || true
BENCHMARK_PID=
! grep -q panicked "$SERVER_LOG" || fail "the server's log reports a panic"

section "Done"
say "${GREEN}kvstore went from version 1 to 6 under load: redis-benchmark ran throughout without an"
say "error or a dropped connection, the ping connection made $pings pings, all answered (slowest:"
say "$((slowest / 1000)) ms) and kept its session, and all $KEYS keys kept their values through"
say "every update.${OFF}"
