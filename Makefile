# Tributary — see README.md. Every target installs what it needs.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/tributary
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tributary-io/tributary/worker.Commit=$(VERSION)

.PHONY: all build test test-unit services-up services-down services-status fmt lint vet clean deps models test-faults demo docs check-docker bench

all: build

deps:
	$(GO) mod download

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tributary

# Installs and starts Kafka, Mosquitto and Elasticsearch on loopback (cached
# outside the checkout), runs every test against them, and stops what it started.
test: deps
	bash scripts/test.sh

# Only the fault-injection suite: restarts Kafka, Mosquitto and Elasticsearch,
# stops ES for 60 s and SIGKILLs a worker mid-stream, then checks exact counts.
test-faults: deps
	bash scripts/test-faults.sh

# Tests that need no service (integration tests skip).
test-unit:
	$(GO) test -count=1 ./...

# Retrains the shipped anomaly models (seeded; byte-identical output).
models:
	PY=$$(bash models/setup_venv.sh) && $$PY models/train.py && $$PY models/make_testdata.py

# The connected-cars scenario end to end (CARS, RATE, DURATION to size it).
demo: build
	bash scripts/demo.sh

# The benchmark suite: each figure beside its limit, measured in the same run;
# results in bench/results/ and the table in bench/README.md.
bench: build
	bash scripts/bench.sh

# Regenerates the plugin reference from the config definitions.
docs:
	$(GO) run ./cmd/tributary docs > docs/plugins.md

# Syntax check of docker/ (no Docker engine needed).
check-docker:
	bash scripts/check-docker.sh

services-up:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

services-status:
	bash scripts/services.sh status

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
