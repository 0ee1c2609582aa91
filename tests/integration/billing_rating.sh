#!/usr/bin/env bash
# Proration, capping, bandwidth and tax of the rater (core/rate.c through
# `slipwayctl invoice run`) against an independent computation in exact
# fractions over random server histories: 0 minor units of difference,
# drafts and finalized invoices alike (billing_rating.py).
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
sw_t_check "invoices equal the independent computation, to the minor unit" \
    python3 "$SW_SRCDIR/tests/integration/billing_rating.py"
sw_t_done
