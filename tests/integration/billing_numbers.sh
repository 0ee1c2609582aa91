#!/usr/bin/env bash
# Invoice numbers under concurrency: 1,000 draft invoices finalized by 16
# concurrent sessions, a quarter of the transactions rolled back on purpose
# (by ROLLBACK, or by an error after the number was taken). The committed
# ones must hold the numbers 1..K exactly once each (unique, no gap); the
# rolled-back ones leave no trace (no number, no ledger transaction, no
# event) and, finalized afterwards, continue the sequence to 1,000.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
N=${SW_NUMBERS_N:-1000}
W=16
psql_() { sw_t_psql -c "$1"; }

# N accounts with one server each and a draft of one line (total > 0, so
# each finalization posts a ledger transaction).
sw_t_psql >/dev/null <<SQL || exit 99
INSERT INTO locations (id, code, name) VALUES (gen_random_uuid(), 'n1', 'n1');
INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb, price_hourly, price_monthly)
VALUES ('00000000-0000-4000-8000-00000000000a', 'p', 'hvm', 1, 512, 10, 2, 1000);
INSERT INTO templates (id, name, kind, os)
VALUES ('00000000-0000-4000-8000-00000000000b', 't', 'hvm', 'debian');
INSERT INTO accounts (id, kind, email, tax_rate_bp)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid, 'customer', 'n' || g || '@x', 1900
FROM generate_series(1, $N) g;
INSERT INTO servers (id, owner_id, plan_id, template_id, hostname)
SELECT ('00000000-0000-4000-a000-' || lpad(to_hex(g), 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid,
       '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', 'h' || g
FROM generate_series(1, $N) g;
SELECT sw_invoice_store_draft(a.id, '2024-01', 'EUR', 1900, 100 + g, round((100 + g) * 0.19)::bigint,
    json_build_array(json_build_object('kind', 'server', 'server_id', s.id, 'owner_id', a.id,
        'plan_id', '00000000-0000-4000-8000-00000000000a', 'started_at', 1704067200,
        'ended_at', 1704070800, 'quantity', 3600, 'unit_price', 2, 'amount', 100 + g))::jsonb)
FROM generate_series(1, $N) g
JOIN accounts a ON a.id = ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid
JOIN servers s ON s.owner_id = a.id;
SQL
sw_t_eq "$N drafts" "$N" "$(psql_ "select count(*) from invoices where state = 'draft'")"

# One script per session: each invoice in its own transaction; every 4th
# rolled back, alternately by ROLLBACK and by an error after the number.
psql_ "select id from invoices order by random()" >"$SW_T_DIR/ids"
awk -v dir="$SW_T_DIR" -v w=$W '{
    f = dir "/fin." (NR % w) ".sql"
    print "BEGIN;" > f
    print "SELECT sw_invoice_finalize('"'"'" $1 "'"'"', 14);" > f
    if (NR % 8 == 0) { print "ROLLBACK;" > f }
    else if (NR % 8 == 4) { print "SELECT 1 / 0;" > f; print "ROLLBACK;" > f }
    else { print "COMMIT;" > f }
}' "$SW_T_DIR/ids"
ls "$SW_T_DIR"/fin.*.sql | xargs -P $W -I{} psql "$SLIPWAY_DATABASE_URL" -qAt -f {} \
    >"$SW_T_DIR/fin.out" 2>&1
ROLLED=$((N / 8 + (N + 4) / 8))
K=$((N - ROLLED))
sw_t_eq "the committed finalizations took numbers ($ROLLED rolled back)" "$K" \
    "$(psql_ "select count(*) from invoices where number is not null")"
sw_t_eq "numbers are 1..$K, each once" "1 $K $K" \
    "$(psql_ "select min(number) || ' ' || max(number) || ' ' || count(distinct number) from invoices")"
sw_t_eq "the counter stands at $K" "$K" "$(psql_ "select last from invoice_counters where issuer = 'operator'")"
sw_t_eq "one ledger transaction per committed finalization" "$K" \
    "$(psql_ "select count(*) from ledger_transactions where kind = 'invoice'")"
sw_t_eq "one invoice.finalized event per committed finalization" "$K" \
    "$(psql_ "select count(*) from events where type = 'invoice.finalized'")"
sw_t_eq "rolled-back invoices are still drafts" "$ROLLED" "$(psql_ "select count(*) from invoices where state = 'draft'")"

# The rest, concurrently again: the sequence goes on without a gap.
psql_ "select 'SELECT sw_invoice_finalize(''' || id || ''', 14);' from invoices where state = 'draft'" |
    split -n r/$W - "$SW_T_DIR/rest."
ls "$SW_T_DIR"/rest.* | xargs -P $W -I{} psql "$SLIPWAY_DATABASE_URL" -qAt -f {} >/dev/null 2>&1
sw_t_eq "every invoice is numbered 1..$N" "1 $N $N $N" \
    "$(psql_ "select min(number) || ' ' || max(number) || ' ' || count(distinct number) || ' ' || count(*) from invoices")"
sw_t_eq "finalizing again changes nothing" "" "$(psql_ "select sw_invoice_finalize(id, 14) from invoices limit 1")"
sw_t_eq "receivable = revenue + tax in the ledger" "t" \
    "$(psql_ "select sum(debit) filter (where code = 'receivable') = sum(credit) filter (where code in ('revenue', 'tax')) from ledger_entries")"
# refused WORDS SQL: the statement fails with an error holding WORDS.
refused() {
    local out
    out=$(psql "$SLIPWAY_DATABASE_URL" -qAt -c "$2" 2>&1) && return 1
    grep -qF -- "$1" <<<"$out"
}
sw_t_check "an edit of the ledger is refused" refused "append-only" \
    "update ledger_entries set debit = debit + 1"
sw_t_check "an unbalanced transaction is refused at commit" refused "does not balance" \
    "select sw_ledger_post('correction', (select id from accounts limit 1), null, null, 'EUR', 'x', '[{\"code\":\"cash\",\"debit\":5},{\"code\":\"revenue\",\"credit\":4}]')"
sw_t_check "a balanced correction is accepted" psql_ \
    "select sw_ledger_post('correction', (select id from accounts limit 1), null, null, 'EUR', 'x', '[{\"code\":\"cash\",\"debit\":5},{\"code\":\"revenue\",\"credit\":5}]')"
sw_t_check "a finalized invoice's lines cannot change" refused "finalized invoice" \
    "delete from invoice_lines"
sw_t_done
