#!/usr/bin/env bash
# `make bench`: install and start the real services (Kafka, Mosquitto,
# Elasticsearch, ONNX Runtime) on loopback, run the benchmark suite
# (bench/cmd/tributary-bench) against bin/tributary, write
# bench/results/<timestamp>.json, bench/results/latest.{json,md} and the
# table in bench/README.md, then stop only the services this run started.
#
# Extra arguments go to tributary-bench, e.g.
#   bash scripts/bench.sh -only mqtt,es -msgs 20000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/with-services.sh

# `make bench` builds bin/tributary first; TRIBUTARY_BIN picks another build.
bin=${TRIBUTARY_BIN:-bin/tributary}
[[ -x $bin ]] || go build -o "$bin" ./cmd/tributary
mkdir -p bench/tmp
go build -o bench/tmp/tributary-bench ./bench/cmd/tributary-bench
bench/tmp/tributary-bench -bin "$bin" -root . -out bench/results \
  -readme bench/README.md -command "make bench" "$@"
