#!/usr/bin/env bash
# clang_tidy.sh - clang-tidy with the committed .clang-tidy (bug classes
# only: clang static analyzer, bugprone-*, CERT C) over the product's C
# files and the fuzz targets, with the flags make builds them with. Passes
# when no finding is left after tests/static/suppressions. Runs on every
# core (about a minute on 2).
set -u
. "$(dirname "$0")/lib.sh"
sw_static_need clang-tidy clang-tidy
sw_compdb || { echo "could not make compile_commands.json"; exit 99; }
out=$SW_COMPDB_DIR/clang-tidy.out
jobs=$(nproc 2>/dev/null || echo 2)
# One file per run: with several, clang-tidy 14's analyzer carries state
# from one file to the next (va_list "uninitialized" in the second one).
sw_static_files | xargs -P"$jobs" -n 1 clang-tidy -p "$SW_COMPDB_DIR" --quiet \
    --use-color=false >"$out" 2>&1
nfiles=$(sw_static_files | wc -l)
left=$(sort -u "$out" | sw_static_filter clang-tidy)
if [ -n "$left" ]; then
    echo "$left"
    echo "clang-tidy: $(echo "$left" | grep -c '^[^ ]') finding(s) in $nfiles files" \
        "(fix them, or add a reasoned line to tests/static/suppressions)"
    exit 1
fi
if grep -q 'error: ' "$out"; then
    grep 'error: ' "$out" | head -20
    echo "clang-tidy failed"
    exit 1
fi
echo "clang-tidy: $nfiles files clean"
