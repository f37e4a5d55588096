#!/usr/bin/env bash
# `make test`: install and start the real services the tests need, run the whole
# suite against them, then stop only the services this run started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
svc=scripts/services.sh

bash "$svc" install
before=$(bash "$svc" status)
started=()
for s in kafka mqtt es; do
  grep -q "^$s: running" <<<"$before" || started+=("$s")
done
cleanup() {
  if ((${#started[@]})); then bash "$svc" down "${started[@]}" || true; fi
}
trap cleanup EXIT
bash "$svc" up
if [[ -f models/setup_venv.sh ]]; then bash models/setup_venv.sh; fi
eval "$(bash "$svc" env)"
export TRIBUTARY_REQUIRE_SERVICES=1

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [[ -n $unformatted ]]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...
go build -o bin/tributary ./cmd/tributary
go test -count=1 -timeout 40m ./...
