#!/usr/bin/env python3
"""filter.py TOOL SRCDIR SUPPRESSIONS < findings: prints the findings
("FILE:LINE:COL: SEVERITY: MESSAGE [ID]") that no line of SUPPRESSIONS
excuses. A suppression names the tool, the file, the check and the exact
code on the reported line (trimmed), so it follows the line when code
moves and stops matching when the line changes. Unused ones are noted on
stderr."""
import re, sys
tool, src, supp_path = sys.argv[1:4]
supp = []
for n, line in enumerate(open(supp_path), 1):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    parts = [p.strip() for p in line.split(' :: ')]
    if len(parts) != 5:
        sys.exit('%s:%d: want TOOL :: FILE :: CHECK :: CODE :: WHY' % (supp_path, n))
    if parts[0] == tool:
        supp.append(parts + [0])
finding = re.compile(r'^(/[^:]+):(\d+):(\d+): (\w+): (.*) \[([^\]]+)\]$')
lines_of = {}
kept = 0
for raw in sys.stdin:
    m = finding.match(raw.rstrip('\n'))
    if not m:
        continue
    path, line, _, sev, msg, check = m.groups()
    rel = path[len(src) + 1:] if path.startswith(src + '/') else path
    if path not in lines_of:
        try:
            lines_of[path] = open(path, errors='replace').read().split('\n')
        except OSError:
            lines_of[path] = []
    ln = int(line)
    code = lines_of[path][ln - 1].strip() if 0 < ln <= len(lines_of[path]) else ''
    hit = None
    for s in supp:
        if s[1] == rel and s[2] in check.split(',') and s[3] == code:
            hit = s
            break
    if hit:
        hit[5] += 1
        continue
    kept += 1
    print('%s:%s: %s: %s [%s]\n    %s' % (rel, line, sev, msg, check, code))
for s in supp:
    if not s[5]:
        print('note: unused suppression: %s :: %s :: %s' % (s[1], s[2], s[3]), file=sys.stderr)
