# shellcheck shell=bash
# lib.sh - sourced by tests/static/*.sh.
#
# sw_compdb writes $SW_BUILDDIR/static/compile_commands.json: one entry per
# C file of the tree with exactly the command make compiles it with
# (-Werror dropped, so a tool's own diagnostics stay warnings). The commands
# come from `make -n` in a configured but never built directory, so nothing
# is compiled; the file is made again when a Makefile.inc, Makefile.am,
# configure.ac or the build's Makefile is newer. Concurrent callers (make -j)
# wait on one lock.
#
# sw_static_files prints the files the checks cover (SW_STATIC_DIRS).
# sw_static_need TOOL PACKAGE makes sure TOOL is there, installing PACKAGE
# when it can; exits 77 (skip) saying why when it cannot.
# sw_static_filter TOOL reads findings "FILE:LINE:COL: SEVERITY: MESSAGE [ID]"
# and prints those that tests/static/suppressions does not excuse.
# Canonical: a tree configured as ../configure gives abs_top_srcdir=BUILD/..,
# and findings (which cppcheck and clang name canonically) must match it.
SW_SRCDIR=$(cd "${SW_SRCDIR:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
SW_COMPDB_DIR=$SW_BUILDDIR/static
SW_COMPDB=$SW_COMPDB_DIR/compile_commands.json
# What the checks cover: the product, and the fuzz targets' own code.
SW_STATIC_DIRS="core backup panel cli engines provisioner billing tests/fuzz"

sw_static_need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "$1 is missing: installing $2"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
            >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                    "$2" >/dev/null 2>&1; }
    fi
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "SKIP: $1 is not installed and could not be installed (package $2;" \
        "scripts/lib/setup.sh installs it)"
    exit 77
}

sw_compdb_fresh() {
    [ -s "$SW_COMPDB" ] || return 1
    local f
    for f in "$SW_SRCDIR"/configure.ac "$SW_SRCDIR"/Makefile.am "$SW_SRCDIR"/*/Makefile.inc \
        "$SW_SRCDIR"/tests/*/Makefile.inc "$SW_SRCDIR"/tests/static/compdb.py "$SW_BUILDDIR"/Makefile; do
        [ -e "$f" ] && [ "$f" -nt "$SW_COMPDB" ] && return 1
    done
    return 0
}

sw_compdb() {
    mkdir -p "$SW_COMPDB_DIR"
    (
        flock 9
        sw_compdb_fresh && exit 0
        cfg="$SW_COMPDB_DIR/cfg"
        rm -rf "$cfg" && mkdir -p "$cfg" && cd "$cfg" || exit 1
        "$SW_SRCDIR/configure" -q >configure.out 2>&1 || { cat configure.out; exit 1; }
        make -n all check TESTS= >make-n.out 2>&1 || { tail make-n.out; exit 1; }
        python3 "$SW_SRCDIR/tests/static/compdb.py" "$SW_SRCDIR" "$cfg" "$SW_COMPDB.tmp" make-n.out || exit 1
        mv "$SW_COMPDB.tmp" "$SW_COMPDB"
    ) 9>"$SW_COMPDB_DIR/.lock"
}

sw_static_files() {
    python3 - "$SW_COMPDB" "$SW_SRCDIR" $SW_STATIC_DIRS <<'PY'
import json, sys
db, src, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
for e in json.load(open(db)):
    rel = e['file'][len(src) + 1:] if e['file'].startswith(src + '/') else None
    if rel and any(rel.startswith(d + '/') for d in dirs):
        print(e['file'])
PY
}

sw_static_filter() {
    python3 "$SW_SRCDIR/tests/static/filter.py" "$1" "$SW_SRCDIR" "$SW_SRCDIR/tests/static/suppressions"
}
