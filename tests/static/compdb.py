#!/usr/bin/env python3
"""compdb.py SRCDIR BUILDDIR OUT MAKE_N_LOG: turns the compile commands of
`make -n` (automake's) into a compile_commands.json, one entry per file."""
import json, os, re, shlex, sys
src, cfg, out, log = sys.argv[1:5]
entries, seen = [], set()
for line in open(log):
    for cmd in line.split(';'):
        if ' -c -o ' not in cmd:
            continue
        # automake: `test -f 'dir/x.c' || echo '<srcdir>/'`dir/x.c
        m = re.search(r"`test -f '([^']+)' \|\| echo '[^']*'`\S+", cmd)
        if not m:
            continue
        path = m.group(1)
        f = src + '/' + path
        # a file the build generates (panel/openapi_doc.c: the OpenAPI
        # document as bytes) is not in the source tree: nothing to check
        if not os.path.exists(f):
            continue
        if f in seen:  # the same file built for several programs: once
            continue
        seen.add(f)
        args, skip = [], False
        for a in shlex.split(cmd[:m.start()] + f + cmd[m.end():]):
            if skip:
                skip = False
            elif a in ('-MT', '-MF'):
                skip = True
            elif a not in ('-MD', '-MP', '-Werror'):
                args.append(a)
        entries.append({'directory': cfg, 'file': f, 'command': shlex.join(args)})
if not entries:
    sys.exit('compdb: no compile commands in make -n output')
with open(out, 'w') as fh:
    json.dump(entries, fh, indent=1)
