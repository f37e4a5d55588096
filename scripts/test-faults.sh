#!/usr/bin/env bash
# `make test-faults`: the fault-injection suite alone (see test/faults).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/with-services.sh
TRIBUTARY_FAULTS=1 go test -count=1 -timeout 20m -v -run TestFaultInjection ./test/faults
