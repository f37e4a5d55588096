#!/usr/bin/env bash
# `make test`: install and start the real services the tests need, run the whole
# suite against them, then stop only the services this run started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/with-services.sh
if [[ -f models/setup_venv.sh ]]; then bash models/setup_venv.sh >/dev/null; fi

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [[ -n $unformatted ]]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...
bash scripts/check-docker.sh
go build -o bin/tributary ./cmd/tributary
# The fault suite restarts the shared services, so it runs alone, after the rest.
go test -count=1 -timeout 40m $(go list ./... | grep -v /test/faults)
if [[ ${TRIBUTARY_SKIP_FAULTS:-} != 1 ]]; then
  TRIBUTARY_FAULTS=1 go test -count=1 -timeout 20m -v -run TestFaultInjection ./test/faults |
    grep -E '^(--- |\s+faults_test|PASS|FAIL|ok)'
fi
