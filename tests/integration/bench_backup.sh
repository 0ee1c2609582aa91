#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# bench_backup.sh - bench/backup.sh --quick, so the benchmark cannot rot: a
# 128 MiB volume on a running QEMU domain of a private libvirtd, one full
# backup (pull, NBD) beside qemu-img convert, the writer alone sequential
# and pipelined, an incremental after 1% of the blocks changed in the guest
# and six more dailies, each checked (a pull read, full then incremental,
# at least the changed chunks read, one checkpoint and no scratch volume
# left). Its goals are printed, not enforced: figures on a shared machine
# under a full CI run are not a verdict (bench/README.md).
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
export SW_SRCDIR SW_BUILDDIR
exec "$SW_SRCDIR/bench/backup.sh" --quick
