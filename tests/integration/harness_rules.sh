#!/usr/bin/env bash
# The harness's own rules (tests/lib/harness.sh sw_t_done), shown on small
# tests it writes and runs, each on a migrated database of its own:
#   - a test that checks nothing of its own fails, although the billing
#     invariants hold (they are not counted as a pass);
#   - the same test with one passing check of its own passes;
#   - with that check but a violated invariant, it fails.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

# child MODE: a test that sources the harness, migrates its database, then
# does what MODE says; prints its output, returns its exit status.
child() {
    local f=$SW_T_DIR/child.sh
    cat >"$f" <<EOF
. "$SW_SRCDIR/tests/lib/harness.sh"
sw_t_stack >/dev/null
slipwayctl migrate >/dev/null || exit 99
case $1 in
own) sw_t_ok "a check of its own" ;;
broken)
    sw_t_ok "a check of its own"
    sw_t_psql -c "CREATE OR REPLACE FUNCTION sw_billing_check() RETURNS SETOF text
                  LANGUAGE sql AS \\\$\\\$ SELECT 'broken on purpose'::text \\\$\\\$" ;;
esac
sw_t_done
EOF
    bash "$f" 2>&1
}

out=$(child none); rc=$?
sed 's/^/  none: /' <<<"$out"
sw_t_check "a test with no check of its own fails" test "$rc" -ne 0
sw_t_check "  its invariants were checked and held, and did not count" \
    grep -q "^ok - the billing invariants hold.*not counted" <<<"$out"
sw_t_check "  it says why it failed" grep -q "^FAIL - the test passed no check of its own" <<<"$out"
sw_t_check "  it counted no pass" grep -q "^0 passed, 0 failed$" <<<"$out"

out=$(child own); rc=$?
sed 's/^/  own: /' <<<"$out"
sw_t_eq "the same test with one passing check of its own passes" 0 "$rc"
sw_t_check "  it counted that check only" grep -q "^1 passed, 0 failed$" <<<"$out"

out=$(child broken); rc=$?
sed 's/^/  broken: /' <<<"$out"
sw_t_check "with a violated invariant it fails, despite its own pass" test "$rc" -ne 0
sw_t_check "  the invariant's failure is reported" \
    grep -q "^FAIL - the billing invariants hold after the test: broken on purpose" <<<"$out"
sw_t_done
