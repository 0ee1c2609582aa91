#!/usr/bin/env bash
# replay.sh - every fuzz target over its committed corpus
# (tests/fuzz/corpus/<target>/): the crashes fuzzing found stay fixed. Runs
# in the plain and the sanitizer builds (where the targets have
# tests/fuzz/main.c as their main); a target without a corpus, or a corpus
# without a target, fails.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
fail=0 n=0
for c in "$SW_SRCDIR"/tests/fuzz/corpus/*/; do
    t=$(basename "$c")
    bin=$SW_BUILDDIR/tests/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "FAIL - corpus $t has no target $bin"
        fail=1
        continue
    fi
    if "$bin" "$c" >"$SW_BUILDDIR/tests/fuzz/$t.replay" 2>&1; then
        echo "ok - $t: $(tail -n 1 "$SW_BUILDDIR/tests/fuzz/$t.replay")"
        n=$((n + 1))
    else
        echo "FAIL - $t"
        tail -n 40 "$SW_BUILDDIR/tests/fuzz/$t.replay"
        fail=1
    fi
done
for src in "$SW_SRCDIR"/tests/fuzz/*.c; do
    t=$(basename "$src" .c)
    [ "$t" = main ] && continue
    [ -d "$SW_SRCDIR/tests/fuzz/corpus/$t" ] || { echo "FAIL - target $t has no corpus"; fail=1; }
done
echo "$n targets replayed, $fail failed"
[ $fail -eq 0 ] && [ $n -gt 0 ]
