#!/usr/bin/env bash
# Layering is checked, not hoped for: core/ includes no daemon header, and
# no daemon includes another daemon's headers. Daemons talk only through
# PostgreSQL and Redis.
set -u
src=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src" || exit 99
daemons="panel provisioner engines billing cli"
# Libraries like core: daemons may include them; they include only core.
libs="backup"
bad=0
check() { # folder, forbidden folders...
    local dir=$1; shift
    local f
    for f in "$@"; do
        local hits
        hits=$(grep -rnE "#include \"$f/" "$dir" --include='*.c' --include='*.h' 2>/dev/null)
        if [ -n "$hits" ]; then
            echo "layering: $dir/ must not include $f/ headers:"
            echo "$hits"
            bad=1
        fi
    done
}
check core $daemons $libs
for l in $libs; do check "$l" $daemons; done
for d in $daemons; do
    others=()
    for o in $daemons; do [ "$o" = "$d" ] || others+=("$o"); done
    check "$d" "${others[@]}"
done
# libmicrohttpd is the panel adapter's business alone.
mhd=$(grep -rlnE "#include <microhttpd.h>" --include='*.c' --include='*.h' core panel provisioner engines billing cli 2>/dev/null | grep -v '^panel/http.c$')
if [ -n "$mhd" ]; then
    echo "layering: only panel/http.c may include microhttpd.h: $mhd"
    bad=1
fi
# The engine's dispatcher (engines/driver.[ch]) calls down into the kinds'
# tables, the operations and domain definition; they never call back up
# (engines/kind.h is their contract), so the dispatch stays one-way.
# The kinds' files are those holding a driver table.
kinds=$(grep -lE '^static const struct sw_engine_driver [a-z_]+ = \{' engines/*.c)
below="engines/kind.h engines/virt.h engines/virt.c engines/domdef.h engines/domdef.c $kinds"
up=$(grep -nE '#include "engines/driver\.h"|\<sw_engine_(run|define|driver_get)\>' $below 2>/dev/null)
if [ -n "$up" ]; then
    echo "layering: the engine's operations and kinds must not use the dispatcher (engines/driver.h):"
    echo "$up"
    bad=1
fi
# The router uses the error table, metrics and idempotency; none of those
# uses the router (nor metrics or idempotency each other), so the three
# never form an include cycle with it again.
for m in errmap metrics idempotency; do
    for f in "panel/$m.c" "panel/$m.h"; do
        [ -f "$f" ] || continue
        hits=$(grep -nE '#include "panel/(router|handlers|metrics|idempotency)\.h"' "$f" |
            grep -v "\"panel/$m.h\"")
        if [ -n "$hits" ]; then
            echo "layering: $f must not include the router's headers nor metrics/idempotency:"
            echo "$hits"
            bad=1
        fi
    done
done
[ $bad = 0 ] && echo "layering: ok"
exit $bad
