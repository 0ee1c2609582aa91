#!/usr/bin/env bash
# sw-test: full-size (scripts/test runs it at full size in the plain half, smaller under ASan)
# The short soak of `make check` / ./scripts/test: 60 s of load and faults on
# the whole stack (20 engines), then the invariants (tests/soak/README.md).
# Longer: tests/soak/run.sh --duration 1800.
exec bash "$(dirname "$0")/run.sh" --duration "${SW_SOAK_DURATION:-60}" "$@"
