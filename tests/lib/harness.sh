# shellcheck shell=bash
# harness.sh - sourced by integration and e2e tests.
#
# Gives each test its own PostgreSQL cluster, Redis server and daemons in a
# temporary directory, always torn down on exit (set SW_KEEP=1 to keep the
# directory for a post-mortem). Checks count passes and failures; the test
# exits non-zero if any check failed and prints the daemons' log tails.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
# shellcheck source=../../scripts/lib/stack.sh
. "$SW_SRCDIR/scripts/lib/stack.sh"

SW_T_DIR=$(mktemp -d /tmp/swt.XXXXXX)
chmod 755 "$SW_T_DIR"
SW_T_PASS=0
SW_T_FAIL=0
SW_T_PIDS=()
SW_T_NAMES=()

export PATH="$SW_BUILDDIR/cli:$SW_BUILDDIR/panel:$SW_BUILDDIR/provisioner:$SW_BUILDDIR/engines:$SW_BUILDDIR/billing:$PATH"
export SLIPWAY_MIGRATIONS_DIR="$SW_SRCDIR/migrations"
export SLIPWAY_TEMPLATES_DIR="$SW_SRCDIR/templates"
export SLIPWAY_LOG_LEVEL=${SLIPWAY_LOG_LEVEL:-info}
SLIPWAY_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SLIPWAY_SECRET_KEY

sw_t_cleanup() {
    local rc=$?
    local i
    for i in "${!SW_T_PIDS[@]}"; do
        kill "${SW_T_PIDS[$i]}" 2>/dev/null
    done
    for i in "${!SW_T_PIDS[@]}"; do
        wait "${SW_T_PIDS[$i]}" 2>/dev/null
    done
    if [ "$SW_T_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
        for i in "${!SW_T_NAMES[@]}"; do
            echo "---- last lines of ${SW_T_NAMES[$i]}.log ----"
            tail -n 15 "$SW_T_DIR/${SW_T_NAMES[$i]}.log" 2>/dev/null
        done
    fi
    sw_pg_stop "$SW_T_DIR"
    sw_redis_stop "$SW_T_DIR"
    if [ -f "$SW_T_DIR/.sockdir" ]; then rm -rf "$(cat "$SW_T_DIR/.sockdir")"; fi
    if [ "${SW_KEEP:-0}" = 1 ]; then
        echo "kept $SW_T_DIR"
    else
        rm -rf "$SW_T_DIR"
    fi
}
trap sw_t_cleanup EXIT

sw_t_ok() { SW_T_PASS=$((SW_T_PASS + 1)); echo "ok - $*"; }
sw_t_fail() { SW_T_FAIL=$((SW_T_FAIL + 1)); echo "FAIL - $*"; }
# sw_t_check DESC CMD...: passes when CMD succeeds.
sw_t_check() {
    local desc=$1; shift
    if "$@"; then sw_t_ok "$desc"; else sw_t_fail "$desc"; fi
}
# sw_t_eq DESC EXPECTED ACTUAL
sw_t_eq() {
    if [ "$2" = "$3" ]; then sw_t_ok "$1"; else sw_t_fail "$1: expected '$2', got '$3'"; fi
}
# The billing invariants (sw_billing_check(), migrations/0011_billing.sql):
# the ledger balances, each usage sample is aggregated once, invoices and
# payments add up, invoice numbers are gapless. Run by sw_t_done on every
# test that started a database, once it is migrated that far; a violation
# fails the test. Holding them is not one of the test's own checks, so it
# is printed but not counted: a test still needs a pass of its own. A
# database the test has stopped cannot be checked.
sw_t_billing_invariants() {
    [ -n "${SW_PG_URL:-}" ] || return 0
    local has out
    has=$(psql "$SW_PG_URL" -qAt -c "select to_regproc('sw_billing_check') is not null" 2>/dev/null) ||
        { echo "# billing invariants not checked: the database does not answer"; return 0; }
    [ "$has" = t ] || return 0
    if ! out=$(psql "$SW_PG_URL" -qAt -v ON_ERROR_STOP=1 -c "select * from sw_billing_check()" 2>&1); then
        sw_t_fail "the billing invariants could be checked: $out"
    elif [ -n "$out" ]; then
        sw_t_fail "the billing invariants hold after the test: $(head -c 2000 <<<"$out")"
    else
        echo "ok - the billing invariants hold after the test (not counted: not the test's own check)"
    fi
}

# Ends the test: it passes when no check failed and at least one of its own
# checks passed (tests/integration/harness_rules.sh shows both rules).
sw_t_done() {
    sw_t_billing_invariants
    [ "$SW_T_PASS" -gt 0 ] || echo "FAIL - the test passed no check of its own"
    echo "$SW_T_PASS passed, $SW_T_FAIL failed"
    [ "$SW_T_FAIL" -eq 0 ] && [ "$SW_T_PASS" -gt 0 ]
    exit $?
}

# Starts PostgreSQL and Redis and points SLIPWAY_* at them. Redis has no
# anonymous user (scripts/lib/stack.sh); daemons started here use the
# "admin" user unless a test gives them their role's SW_REDIS_URL_<ROLE>.
sw_t_stack() {
    sw_pg_start "$SW_T_DIR" fast || exit 99
    sw_redis_start "$SW_T_DIR" || exit 99
    export SLIPWAY_DATABASE_URL=$SW_PG_URL SLIPWAY_REDIS_URL=$SW_REDIS_URL
}

sw_t_psql() { psql "$SLIPWAY_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 "$@"; }
sw_t_redis() { sw_redis_cli "$@"; }

# sw_t_daemon NAME COMMAND [ARGS...]: starts it in the background, logging
# to $SW_T_DIR/NAME.log; environment assignments may precede via env(1).
# The command is remembered (array SW_T_CMD_<name>) for sw_t_respawn.
sw_t_daemon() {
    local name=$1; shift
    "$@" >>"$SW_T_DIR/$name.log" 2>&1 &
    SW_T_PIDS+=($!)
    SW_T_NAMES+=("$name")
    eval "SW_T_PID_${name//[^A-Za-z0-9_]/_}=$!"
    eval "SW_T_CMD_${name//[^A-Za-z0-9_]/_}=(\"\$@\")"
}

# sw_t_respawn NAME: starts daemon NAME again with the command and
# environment it was first started with (after it died or was killed),
# appending to the same log; SW_T_PID_<name> is the new pid.
sw_t_respawn() {
    local name=$1 var=${1//[^A-Za-z0-9_]/_} cmd old i
    eval "cmd=(\"\${SW_T_CMD_$var[@]}\") old=\${SW_T_PID_$var}"
    # a simple command in the background: $! is the daemon itself
    "${cmd[@]}" >>"$SW_T_DIR/$name.log" 2>&1 &
    for i in "${!SW_T_PIDS[@]}"; do
        [ "${SW_T_PIDS[$i]}" = "$old" ] && SW_T_PIDS[i]=$!
    done
    eval "SW_T_PID_$var=$!"
}

# sw_t_wait DESC SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
sw_t_wait() {
    local desc=$1 secs=$2; shift 2
    local end=$((SECONDS + secs))
    while [ $SECONDS -le $end ]; do
        if "$@" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "timed out after ${secs}s waiting for: $desc"
    return 1
}

# Starts the panel on a free port; sets SW_URL.
sw_t_panel() {
    rm -f "$SW_T_DIR/panel.addr"
    sw_t_daemon panel env SLIPWAY_LISTEN=127.0.0.1:0 SLIPWAY_ADDR_FILE="$SW_T_DIR/panel.addr" \
        slipway-panel
    sw_t_wait "panel address" 20 test -s "$SW_T_DIR/panel.addr" || exit 99
    SW_URL=$(cat "$SW_T_DIR/panel.addr")
    export SW_URL
}

# The whole control plane on a migrated database: PostgreSQL, Redis, the
# panel, the provisioner and billing; sets OP (the operator's token) and
# SW_URL. Nodes and their engines are the test's own.
sw_t_slice() {
    sw_t_stack
    slipwayctl migrate >/dev/null || exit 99
    OP=$(slipwayctl bootstrap) || exit 99
    sw_t_panel
    sw_t_daemon provisioner slipway-provisioner
    sw_t_daemon billing slipway-billing
}

# sw_t_api METHOD PATH TOKEN [BODY]: sets SW_STATUS and SW_BODY.
sw_t_api() {
    local method=$1 path=$2 token=$3 body=${4:-}
    local out=$SW_T_DIR/.resp
    local args=(-s -o "$out" -w '%{http_code}' -X "$method")
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    SW_STATUS=$(curl "${args[@]}" "$SW_URL$path")
    SW_BODY=$(cat "$out")
}
