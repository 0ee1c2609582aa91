#!/usr/bin/env bash
# cppcheck.sh - cppcheck (bug checks: errors, warnings, portability; no
# style) over the product's C files and the fuzz targets, with the defines
# and include paths make uses. Passes when no finding is left after
# tests/static/suppressions.
set -u
. "$(dirname "$0")/lib.sh"
sw_static_need cppcheck cppcheck
sw_compdb || { echo "could not make compile_commands.json"; exit 99; }
dir=$SW_COMPDB_DIR/cppcheck
mkdir -p "$dir/build"
# Only the covered files, in a project file of their own.
python3 - "$SW_COMPDB" "$dir/compile_commands.json" $(sw_static_files) <<'PY'
import json, sys
keep = set(sys.argv[3:])
json.dump([e for e in json.load(open(sys.argv[1])) if e['file'] in keep], open(sys.argv[2], 'w'))
PY
jobs=$(nproc 2>/dev/null || echo 2)
cppcheck --project="$dir/compile_commands.json" --enable=warning,portability \
    --library=posix --inline-suppr --suppress=missingIncludeSystem --suppress=missingInclude \
    --cppcheck-build-dir="$dir/build" -j"$jobs" -q \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' >"$dir/out" 2>&1
rc=$?
nfiles=$(sw_static_files | wc -l)
left=$(grep -E ': (error|warning|portability): ' "$dir/out" | sort -u | sw_static_filter cppcheck)
if [ -n "$left" ] || [ $rc -ne 0 ]; then
    echo "$left"
    [ $rc -ne 0 ] && tail -n 20 "$dir/out"
    echo "cppcheck: findings in $nfiles files (fix them, or add a reasoned line to" \
        "tests/static/suppressions)"
    exit 1
fi
echo "cppcheck: $nfiles files clean"
