#!/usr/bin/env bash
# Migrations: applied once each, re-running applies nothing, an edited
# applied file is refused with a clear error, a misnamed file too.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack

out=$(slipwayctl migrate 2>&1)
n=$(ls "$SLIPWAY_MIGRATIONS_DIR"/*.sql | wc -l)
sw_t_eq "first run applies every migration" "$n migrations applied" "$(echo "$out" | tail -1)"
sw_t_eq "each is recorded with a checksum" "$n" \
    "$(sw_t_psql -c "select count(*) from schema_migrations where length(checksum) = 64")"

out=$(slipwayctl migrate 2>&1)
sw_t_eq "second run applies nothing" "0 migrations applied" "$out"

copy=$SW_T_DIR/migrations
mkdir "$copy"
cp "$SLIPWAY_MIGRATIONS_DIR"/*.sql "$copy/"
echo "-- an innocent-looking edit" >>"$copy/0001_init.sql"
out=$(SLIPWAY_MIGRATIONS_DIR=$copy slipwayctl migrate 2>&1)
rc=$?
sw_t_check "an edited applied migration is refused (exit $rc)" test "$rc" -ne 0
sw_t_check "the error names the file and says it was edited" \
    grep -q "migration 0001_init.sql was edited after it was applied" <<<"$out"

cp "$SLIPWAY_MIGRATIONS_DIR"/0001_init.sql "$copy/"
echo "CREATE TABLE t_new (x int);" >"$copy/9999_new_table.sql"
out=$(SLIPWAY_MIGRATIONS_DIR=$copy slipwayctl migrate 2>&1)
sw_t_eq "a new migration is applied alone" "applied 9999_new_table.sql" "$(echo "$out" | head -1)"

echo "CREATE TABLE broken (" >"$copy/9998_broken.sql"
rm "$copy/9999_new_table.sql"
out=$(SLIPWAY_MIGRATIONS_DIR=$copy slipwayctl migrate 2>&1)
rc=$?
sw_t_check "a failing migration exits non-zero" test "$rc" -ne 0
sw_t_eq "a failing migration leaves no trace" "0" \
    "$(sw_t_psql -c "select count(*) from schema_migrations where version = 9998")"

echo "select 1;" >"$copy/12_bad-name.sql"
rm "$copy/9998_broken.sql"
out=$(SLIPWAY_MIGRATIONS_DIR=$copy slipwayctl migrate 2>&1)
sw_t_check "a misnamed file is refused by name" grep -q '"12_bad-name.sql" is not named NNNN_name.sql' <<<"$out"
sw_t_done
