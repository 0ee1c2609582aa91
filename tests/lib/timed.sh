#!/usr/bin/env bash
# tests/lib/timed.sh - make check's runner of a shell test (SH_LOG_COMPILER):
# runs it with bash and ends its log with "# elapsed: N.N s", its wall
# time, so scripts/test can list the slowest tests of each half.
start=$(date +%s%N)
bash "$@"
rc=$?
end=$(date +%s%N)
ms=$(((end - start) / 1000000))
printf '# elapsed: %d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100))
exit $rc
