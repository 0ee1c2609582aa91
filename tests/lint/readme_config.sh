#!/usr/bin/env bash
# README.md's configuration table is `slipwayctl config`, the table in
# core/conf.c: fail when they drift apart.
set -u
src=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SW_BUILDDIR:-$src/build}/cli/slipwayctl
want=$("$bin" config) || exit 99
have=$(sed -n '/^| variable | default | used by | meaning |$/,/^$/p' "$src/README.md" | sed '/^$/d')
if [ "$want" != "$have" ]; then
    echo "README.md's configuration table differs from 'slipwayctl config':"
    diff <(echo "$have") <(echo "$want")
    echo "regenerate it with: slipwayctl config"
    exit 1
fi
echo "readme_config: $(($(echo "$want" | wc -l) - 2)) variables, README matches"
