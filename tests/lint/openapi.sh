#!/usr/bin/env bash
# panel/openapi.json and the route table agree: every method + path of one
# is in the other ({id}-style parameter names do not matter), every
# operation says who may call it (x-roles) as the table does, an operation
# whose route is not public requires bearerAuth and one whose route is
# public is marked so (security: [] or an empty alternative), every
# authenticated POST takes Idempotency-Key, every path parameter is
# declared, every JSON request body is closed (additionalProperties:
# false), every operation has a 2xx answer and its error answers use the
# error shape. The document must parse as JSON and be OpenAPI 3.0.3.
set -u
src=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SW_BUILDDIR:-$src/build}
doc=$src/panel/openapi.json
panel=$build/panel/slipway-panel
command -v jq >/dev/null || { echo "openapi: jq is required"; exit 99; }
[ -x "$panel" ] || { echo "openapi: $panel is not built"; exit 99; }

if ! why=$(jq empty "$doc" 2>&1); then
    echo "openapi: $doc does not parse: $why"
    exit 1
fi
routes=$("$panel" --routes) || { echo "openapi: slipway-panel --routes failed"; exit 1; }

# One line per problem; none means the two agree.
problems=$(jq -rn --argjson routes "$routes" --slurpfile docs "$doc" '
    $docs[0] as $doc
    | def norm: gsub("\\{[^}]*\\}"; "{}");
      def deref: if type == "object" and has("$ref")
                 then .["$ref"] as $r | $doc | getpath($r | ltrimstr("#/") | split("/"))
                 else . end;
      ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as $methods
    | [$routes[] | {key: "\(.method) \(.pattern | norm)", value: .}] | from_entries as $table
    | [$doc.paths | to_entries[] | .key as $p | .value as $item | $item | to_entries[]
       | select(.key as $k | $methods | index($k))
       | {key: "\(.key | ascii_upcase) \($p | norm)",
          value: {path: $p, op: .value, shared: ($item.parameters // [])}}]
      | from_entries as $ops
    | (if $doc.openapi != "3.0.3" then "the document is not OpenAPI 3.0.3" else empty end),
      (if ($doc.components.securitySchemes.bearerAuth // {}) | (.type == "http" and .scheme == "bearer")
       then empty else "components.securitySchemes.bearerAuth must be an http bearer scheme" end),
      ($table | keys[] | select($ops[.] == null) | "in the route table, not in the document: \(.)"),
      ($ops | keys[] | select($table[.] == null) | "in the document, not in the route table: \(.)"),
      ($ops | to_entries[] | select($table[.key] != null) | .key as $k | .value as $v
       | $table[$k] as $r | ($v.op.security // $doc.security // []) as $sec
       | ([$v.shared[], ($v.op.parameters // [])[]] | map(deref)) as $params
       | (if $r.public then
              (if ($sec | length) == 0 or ($sec | any(. == {})) then empty
               else "\($k): the route is public but the operation is not marked public (security: [])" end)
          else
              (if ($sec | length) > 0 and ($sec | all(has("bearerAuth"))) then empty
               else "\($k): the route needs a token but the operation does not require bearerAuth" end)
          end),
         (if (($v.op["x-roles"] // []) | sort) == ($r.roles | sort) then empty
          else "\($k): x-roles \($v.op["x-roles"] // [] | tojson) but the table says \($r.roles | tojson)" end),
         (if ($k | startswith("POST ")) and ($r.public | not)
             and ($params | any(.in == "header" and .name == "Idempotency-Key") | not)
          then "\($k): an authenticated POST must declare the Idempotency-Key header" else empty end),
         ([$v.path | scan("\\{([^}]*)\\}") | .[0]] - [$params[] | select(.in == "path") | .name]
          | .[] | "\($k): path parameter {\(.)} is not declared"),
         ($v.op.requestBody // null | deref | .content["application/json"].schema // null
          | deref | select(. != null and .additionalProperties != false)
          | "\($k): its JSON request body must say additionalProperties: false"),
         (if ($v.op.responses // {} | keys | any(test("^2[0-9][0-9]$"))) then empty
          else "\($k): no 2xx answer" end),
         ($v.op.responses // {} | to_entries[] | select(.key | test("^[45]")) | .key as $c
          | .value | deref | .content["application/json"].schema // null | deref
          | select((.properties.error // null) == null)
          | "\($k): answer \($c) does not use the error shape"),
         (if ($r.public | not) and ($v.op.responses["401"] == null)
          then "\($k): a route that needs a token must list 401" else empty end)
      )
')
rc=$?
if [ $rc -ne 0 ]; then
    echo "openapi: jq failed ($rc)"
    exit 1
fi
n=$(jq length <<<"$routes")
if [ -n "$problems" ]; then
    echo "openapi: panel/openapi.json and the route table disagree:"
    echo "$problems" | sed 's/^/  /'
    echo "openapi: $n routes checked, $(echo "$problems" | wc -l) problem(s)"
    exit 1
fi
echo "openapi: $n routes checked, document and route table agree"
