# jsonflat.awk - flattens one JSON document (a NoCloud seed file written by
# engines/seed.c) into "path<TAB>value" lines: object keys joined with ".",
# array items numbered from 0 ("ethernets.eth0.addresses.0<TAB>10.0.0.5/24").
# Runs under busybox awk in the guest (there is no jq). Only \" \\ and \/
# are decoded; every other escape stays as written, so a value never spans
# two lines and never carries a tab.
BEGIN { RS = "\001" }
{ s = s $0 "\n" }
END {
    n = length(s); pos = 1
    if (substr(s, 1, 1) == "#")       # user-data: "#cloud-config" first line
        pos = index(s, "\n") + 1
    value("")
}
function ws() {
    while (pos <= n && index(" \t\r\n", substr(s, pos, 1)) > 0)
        pos++
}
function emit(path, v) { printf "%s\t%s\n", path, v }
function join(path, k) { return path == "" ? k : path "." k }
function str(    out, c, d) {
    out = ""; pos++
    while (pos <= n) {
        c = substr(s, pos, 1)
        if (c == "\\") {
            d = substr(s, pos + 1, 1)
            out = out ((d == "\"" || d == "\\" || d == "/") ? d : "\\" d)
            pos += 2
        } else if (c == "\"") {
            pos++
            return out
        } else {
            out = out c; pos++
        }
    }
    return out
}
function value(path,    c, start) {
    ws(); c = substr(s, pos, 1)
    if (c == "{")
        object(path)
    else if (c == "[")
        array(path)
    else if (c == "\"")
        emit(path, str())
    else {
        start = pos
        while (pos <= n && index(",]} \t\r\n", substr(s, pos, 1)) == 0)
            pos++
        emit(path, substr(s, start, pos - start))
    }
}
function object(path,    k, c) {
    pos++; ws()
    if (substr(s, pos, 1) == "}") { pos++; return }
    while (pos <= n) {
        ws(); k = str(); ws(); pos++          # the ":"
        value(join(path, k)); ws()
        c = substr(s, pos, 1); pos++
        if (c != ",")
            return
    }
}
function array(path,    i, c) {
    pos++; ws()
    if (substr(s, pos, 1) == "]") { pos++; return }
    for (i = 0; pos <= n; i++) {
        value(join(path, i)); ws()
        c = substr(s, pos, 1); pos++
        if (c != ",")
            return
    }
}
