#!/usr/bin/env bash
# slipwayctl balloon-sim: one JSON line per tick in the documented shape, the
# Proxmox example settling at its documented split, guarantees and maxima
# never crossed, and bad scenarios refused with a message.
. "$(dirname "$0")/../lib/harness.sh"
ex=$SW_SRCDIR/templates/balloon
out=$(slipwayctl balloon-sim "$ex/demand-step.json")
sw_t_eq "a line per 10 s tick over 900 s" 90 "$(wc -l <<<"$out")"
sw_t_eq "each line has t, host use, pressure and every guest" "true" \
    "$(jq -s 'all(has("t") and has("host_used_mb") and has("pressure") and (.guests | keys == ["g1","g2","g3"]))' <<<"$out")"
sw_t_eq "no guest below its guarantee or above its max" "true" \
    "$(jq -s 'all(.guests.g1.target_mb >= 2048 and .guests.g1.target_mb <= 16384 and .guests.g2.target_mb >= 4096 and .guests.g3.target_mb == 8192)' <<<"$out")"
sw_t_eq "it starts over-committed and shrinks toward 80% every tick until there" "true" \
    "$(jq -s '(map(.host_used_pct) | index(map(select(. <= 80.01))[0])) as $k | .[0:$k+1] | [range(1; length) as $i | .[$i].host_used_pct < .[$i-1].host_used_pct] | all' <<<"$out")"
sw_t_eq "once at 80% it never goes past it" "true" \
    "$(jq -s '(map(.host_used_pct <= 80.01) | index(true)) as $k | .[$k:] | all(.host_used_pct <= 80.01)' <<<"$out")"
sw_t_check "g1 grows when its demand steps up at 300 s" test \
    "$(jq -s '[.[] | select(.t == 290)][0].guests.g1.target_mb < [.[] | select(.t == 600)][0].guests.g1.target_mb' <<<"$out")" = true
last=$(slipwayctl balloon-sim "$ex/proxmox-example.json" | tail -1)
sw_t_eq "Proxmox example: g1 gets 4.8 GiB above its guarantee (+-5%)" true \
    "$(jq '(.guests.g1.target_mb - 3072) as $a | $a >= 4669 and $a <= 5161' <<<"$last")"
sw_t_eq "and the others 1.6 GiB each (+-5%)" true \
    "$(jq '[.guests.g2, .guests.g3, .guests.g4] | all((.target_mb - 3072) as $a | $a >= 1556 and $a <= 1720)' <<<"$last")"
bad() { # DESC JSON EXPECTED-MESSAGE-PART
    echo "$2" >"$SW_T_DIR/bad.json"
    local msg rc
    msg=$(slipwayctl balloon-sim "$SW_T_DIR/bad.json" 2>&1)
    rc=$?
    sw_t_check "$1 is refused (exit $rc): $(head -1 <<<"$msg")" test $rc -ne 0 -a -n "$(grep -F "$3" <<<"$msg")"
}
bad "an unknown key" '{"host":{"ram_mb":1},"duration_s":10,"guests":[],"colour":1}' 'unknown field "colour"'
bad "a guest with max below min" '{"host":{"ram_mb":1000},"duration_s":10,"guests":[{"name":"a","min_mb":500,"max_mb":100,"demand":[[0,1]]}]}' "min_mb <= max_mb"
bad "demand steps out of order" '{"host":{"ram_mb":1000},"duration_s":10,"guests":[{"name":"a","min_mb":1,"max_mb":100,"demand":[[5,1],[3,2]]}]}' "increasing seconds"
bad "an unknown policy key" '{"host":{"ram_mb":1000},"policy":{"targte_pct":70},"duration_s":10,"guests":[{"name":"a","min_mb":1,"max_mb":100,"demand":[[0,1]]}]}' "policy.targte_pct is not a policy key"
bad "malformed JSON" '{"host": ' "bad.json:"
bad "a scenario that is not an object (found by fuzzing: refused without a message)" '[]' "must be a JSON object"
bad "an other_used step past 1 PiB (found by fuzzing: overflowed the controller)" '{"host":{"ram_mb":161383,"other_used_mb":1023},"duration_s":240,"tick_s":1,"guests":[{"name":"a","min_mb":512,"max_mb":4096,"demand":[[0,100]]}],"other_used":[[0,1024],[90,8000333333333333]]}' "mb at most"
bad "a host larger than 1 PiB" '{"host":{"ram_mb":9000000000000},"duration_s":10,"guests":[{"name":"a","min_mb":1,"max_mb":100,"demand":[[0,1]]}]}' "host.ram_mb 1.."
sw_t_done
