#!/usr/bin/env bash
# The authorization matrix: every route of `slipway-panel --routes`, tried
# as nobody, the operator, two resellers, their customers and a customer of
# the operator, against objects of each; fails on any leak and on any route
# without a matrix entry. The matrix and its checks are authz_matrix.py;
# this starts PostgreSQL, Redis and the panel for it.
# SW_MATRIX_ALLOW_PENDING=1 reports matrix entries whose route does not
# exist yet as pending instead of failing.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
SW_OP_TOKEN=$(slipwayctl bootstrap) || exit 99
export SW_OP_TOKEN
# Cheap password hashes: the matrix logs in a handful of accounts.
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_THREADS=8
# The master key wraps two-factor secrets (POST /v1/account/2fa).
SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export SLIPWAY_BACKUP_MASTER_KEY
# Password reset is configured (the matrix asks only for unknown emails:
# nothing is mailed).
export SLIPWAY_SMTP_URL=smtp://127.0.0.1:9 SLIPWAY_SMTP_FROM=panel@example.com \
    SLIPWAY_PUBLIC_URL=https://panel.example.com
sw_t_panel
slipway-panel --routes >"$SW_T_DIR/routes.json" || exit 99
export SW_ROUTES_FILE=$SW_T_DIR/routes.json

sw_t_check "the authorization matrix finds no leak and covers every route" \
    python3 "$SW_SRCDIR/tests/integration/authz_matrix.py"
sw_t_done
