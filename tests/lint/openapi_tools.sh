#!/usr/bin/env bash
# panel/openapi.json as third parties use it: it passes a real OpenAPI 3
# linter (@redocly/cli lint, Redocly's recommended rules with warnings as
# errors, tests/openapi/redocly.yaml), and the TypeScript client
# openapi-typescript generates from it type-checks under tsc --strict
# together with tests/openapi/client_check.ts, a typed client of the
# reseller verbs that must also be refused what the document forbids.
#
# The tools are pinned by tests/openapi/package.json and package-lock.json
# and installed with npm ci once per lock file into
# $SW_BUILDDIR/tests/npm/openapi-<lock hash> (the npm registry the first
# time; node and npm from the Debian archive when missing).
set -u
src=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SW_BUILDDIR:-$src/build}
doc=$src/panel/openapi.json
# shellcheck source=../../scripts/lib/setup.sh
. "$src/scripts/lib/setup.sh"

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    sw_setup_install "$SW_NODE_PACKAGES" >&2 || { echo "openapi_tools: node and npm cannot be installed"; exit 99; }
fi
lock=$src/tests/openapi/package-lock.json
dir=$build/tests/npm/openapi-$(sha256sum "$lock" | cut -c1-12)
if [ ! -f "$dir/.installed" ]; then
    mkdir -p "$dir" && cp "$src/tests/openapi/package.json" "$lock" "$dir/" || exit 99
    if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >install.log 2>&1); then
        echo "openapi_tools: npm ci failed:"; tail -20 "$dir/install.log"; exit 99
    fi
    touch "$dir/.installed"
fi
bin=$dir/node_modules/.bin
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
fail=0

# The linter: any problem it reports fails (--format stylish lists each).
if out=$("$bin/redocly" lint --config "$src/tests/openapi/redocly.yaml" --format stylish "$doc" 2>&1); then
    echo "openapi_tools: redocly lint $(node -p "require('$dir/node_modules/@redocly/cli/package.json').version"): no problem"
else
    echo "openapi_tools: redocly lint finds problems in panel/openapi.json:"
    grep -v '[║╔╚]' <<<"$out" | sed 's/^/  /'
    fail=1
fi

# The typed client: generated, then checked with the code that uses it.
work=$(mktemp -d "${TMPDIR:-/tmp}/sw-openapi.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
cp "$src/tests/openapi/client_check.ts" "$src/tests/openapi/tsconfig.json" "$work/"
if ! out=$("$bin/openapi-typescript" "$doc" -o "$work/slipway.d.ts" 2>&1); then
    echo "openapi_tools: openapi-typescript cannot generate a client:"
    sed 's/^/  /' <<<"$out"
    exit 1
fi
if out=$(cd "$work" && "$bin/tsc" -p tsconfig.json 2>&1); then
    echo "openapi_tools: the generated client ($(wc -l <"$work/slipway.d.ts") lines) and client_check.ts type-check"
else
    echo "openapi_tools: tsc refuses the generated client or client_check.ts:"
    sed 's/^/  /' <<<"$out"
    fail=1
fi
exit $fail
