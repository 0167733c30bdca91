#!/usr/bin/env bash
# The live-update demo: a greeter server is updated from version 1 to 2 to 3 while a client
# stays connected to it.
#
#     bash examples/greeter/demo.sh
#
# Needs cargo and bash 5. Builds in target/examples; the first run compiles the
# dependencies, later runs only the greeter. Exits 0 when every step did what it should, and
# non-zero as soon as one did not (a dropped connection, a refused update, a wrong response);
# the server it starts is stopped in every case.
#
# What it does (see examples/README.md to do the same with a server of your own):
#   1. build version 1 and start it;
#   2. connect a client, and a second connection that pings all along the demo;
#   3. build version 2 as a patch: touch its sources (every version writes the same
#      libgreeter.so, and cargo does not rebuild a version it thinks fresh), `cargo build
#      --lib` with the running version's Cargo.lock, copy the library into the patch directory;
#   4. send `update <patch>` to the admin port, see the report, and the client's next
#      responses come from version 2 on the same connection;
#   5. the same for version 3;
#   6. updates that are refused leave the server as it was;
#   7. the server's status.

set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "the demo needs bash 5 or later" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/greeter
export CARGO_TARGET_DIR=$ROOT/target/examples
PATCHES=$CARGO_TARGET_DIR/patches
RUN=$CARGO_TARGET_DIR/demo-run
SERVER_LOG=$RUN/server.log
CRATE=greeter
PINGS=$RUN/pings

SERVER_PID=
PINGER_PID=
CLIENT_REQUESTS=0

# shellcheck source=examples/demo-common.sh
source "$ROOT/examples/demo-common.sh"

stop_on_exit PINGER_PID
# Writing to a connection the server closed raises SIGPIPE: a failure, not a silent death.
trap 'fail "a connection to the server was closed"' PIPE

# Sends one command to the admin port and prints the reply: `admin <command> <ok|error>
# <bash pattern>` fails unless the reply ends with `END ok` or `END error` as expected, and
# its text matches the pattern.
admin() {
    local command=$1 expected=$2 pattern=$3 line outcome= reply=
    exec 4<>"/dev/tcp/127.0.0.1/$ADMIN_PORT" || fail "cannot connect to the admin port"
    printf '%s\n' "$command" >&4
    say "admin> $command"
    while IFS= read -r -t 60 line <&4; do
        case $line in
            "END ok" | "END error") outcome=${line#END }; break ;;
            *) say "     | $line"; reply+=$line$'\n' ;;
        esac
    done
    exec 4<&-
    [[ -n $outcome ]] || fail "the admin port closed without an answer to \`$command\`"
    [[ $outcome == "$expected" ]] || fail "\`$command\` answered $outcome, expected $expected"
    # shellcheck disable=SC2053 # a pattern on purpose
    [[ $reply == $pattern ]] || fail "the answer to \`$command\` does not match $pattern"
}

# Sends a request on the client's connection and checks the response: `ask <request>
# <expected response>`, or `ask <request> --match <bash pattern>`.
ask() {
    local request=$1 response
    printf '%s\n' "$request" >&3
    IFS= read -r -t 10 response <&3 || fail "no response to \`$request\`: the connection dropped"
    CLIENT_REQUESTS=$((CLIENT_REQUESTS + 1))
    printf '  > %s\n  < %s\n' "$request" "$response"
    if [[ $2 == --match ]]; then
        # shellcheck disable=SC2053 # a pattern on purpose
        [[ $response == $3 ]] || fail "\`$request\` answered \`$response\`, expected $3"
    else
        [[ $response == "$2" ]] || fail "\`$request\` answered \`$response\`, expected \`$2\`"
    fi
}

# The second connection: pings every 50 ms until $PINGS.stop exists, then writes how many
# pings it made and the slowest answer (in microseconds) to $PINGS. Exits non-zero if one ping
# is not answered `pong` within 5 s.
pinger() {
    trap - EXIT INT TERM
    trap 'exit 1' PIPE
    local count=0 slowest=0 start took response
    exec 5<>"/dev/tcp/127.0.0.1/$PORT" || { echo "cannot connect" >"$PINGS"; exit 1; }
    while [[ ! -e $PINGS.stop ]]; do
        start=${EPOCHREALTIME//[!0-9]/}
        printf 'ping\n' >&5
        IFS= read -r -t 5 response <&5 || { echo "no answer to ping $((count + 1))" >"$PINGS"; exit 1; }
        [[ $response == pong ]] || { echo "ping answered \`$response\`" >"$PINGS"; exit 1; }
        took=$((${EPOCHREALTIME//[!0-9]/} - start))
        ((took > slowest)) && slowest=$took
        count=$((count + 1))
        sleep 0.05
    done
    echo "$count $slowest" >"$PINGS"
}

check_pinger() {
    kill -0 "$PINGER_PID" 2>/dev/null || fail "the ping connection failed: $(cat "$PINGS" 2>/dev/null)"
}

mkdir -p "$PATCHES" "$RUN"
rm -f "$PINGS" "$PINGS.stop" "$SERVER_LOG"

section "1. Build version 1 and start it"
build_program
"$CARGO_TARGET_DIR/debug/greeter" --port 0 --admin-port 0 --patch-dir "$PATCHES" \
    >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
PORT= ADMIN_PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/^greeter .* serving on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SERVER_LOG")
    ADMIN_PORT=$(sed -n 's/^admin on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$SERVER_LOG")
    [[ -n $PORT && -n $ADMIN_PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start"
    sleep 0.1
done
[[ -n $PORT && -n $ADMIN_PORT ]] || fail "the server did not say which ports it listens on"
say "server (pid $SERVER_PID): clients on 127.0.0.1:$PORT, admin on 127.0.0.1:$ADMIN_PORT"
say "patches are accepted only from $PATCHES"

section "2. Connect a client to version 1"
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to the server"
say "The client opens one connection and keeps it for the whole demo. A second connection"
say "pings every 50 ms from now to the end: not one ping may go unanswered."
pinger &
PINGER_PID=$!
ask "ping" "pong"
ask "hello ada" "Hello, ada!"
ask "reverse héllo" "error: unknown command \`reverse\`"
ask "version" "greeter@1.0.0"

section "3. Build version 2 while version 1 serves"
say "Version 2 greets differently and adds \`reverse\` (with a bug)."
PATCH2=$(build_patch 2)
say "patch: $PATCH2"
check_pinger

section "4. Update to version 2"
admin "update $PATCH2" ok "now running #1 greeter@2.0.0:*"
say "The same connection, now answered by version 2:"
ask "hello ada" "Hello, Ada! Nice to meet you."
ask "reverse héllo" $'oll\xef\xbf\xbd\xef\xbf\xbdh'
ask "version" "greeter@2.0.0"
say "(\`reverse\` mangles é: it reverses bytes, not characters.)"
check_pinger

section "5. Build version 3 and update to it"
say "Version 3 fixes \`reverse\` and adds \`stats\`."
PATCH3=$(build_patch 3)
say "patch: $PATCH3"
admin "update $PATCH3" ok "now running #2 greeter@3.0.0:*"
say "The same connection, now answered by version 3:"
ask "reverse héllo" "olléh"
ask "hello ada" "Hello, Ada! Nice to meet you."
ask "stats" --match "requests served since version 3: [1-9]*([0-9])"
ask "version" "greeter@3.0.0"
say "(\`stats\` counts the pings of the other connection too.)"
check_pinger

section "6. Refused updates change nothing"
say "Version 2 again: dsu refuses a patch that is already in the chain."
admin "update $PATCH2" error "*is already applied*"
say "The build output directly: the server only loads patches from its patch directory."
admin "update $CARGO_TARGET_DIR/debug/libgreeter.so" error "refused: *"
say "Still version 3, on the same connection:"
ask "reverse héllo" "olléh"
ask "version" "greeter@3.0.0"
check_pinger

section "7. Status of the server"
say "Which version's code each updateable function runs now:"
admin "status" ok "versions: #0 greeter@1.0.0 -> #1 greeter@2.0.0 -> #2 greeter@3.0.0*"
say "The server's log: two connections, neither of them closed or reopened."
sed 's/^/     | /' "$SERVER_LOG"
[[ $(grep -c ' connected$' "$SERVER_LOG") == 2 ]] || fail "the server saw other connections than two"
! grep -q ' disconnected$' "$SERVER_LOG" || fail "a connection was closed during the demo"
touch "$PINGS.stop"
wait "$PINGER_PID" || fail "the ping connection failed: $(cat "$PINGS" 2>/dev/null)"
PINGER_PID=
read -r pings slowest <"$PINGS"
exec 3<&-

section "Done"
say "${GREEN}One client connection made $CLIENT_REQUESTS requests across versions 1, 2 and 3;"
say "the ping connection made $pings pings, all answered (slowest: $((slowest / 1000)) ms).${OFF}"
