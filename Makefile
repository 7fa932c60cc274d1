# auditstream: `make demo` runs the main job, `make test` passes the tests.
GO        ?= go
BUILD     := build
PLUGIN_SO := $(BUILD)/out_auditstream.so
CLI       := $(BUILD)/auditstream
GOFILES   := $(shell find . -name '*.go' -not -path './.cache/*')

.PHONY: all build plugin harness test test-go test-faults test-chaos test-chaos-short test-e2e bench-e2e bench-ship test-valgrind test-race lint fmt vet bench bench-kafka fuzz demo kafka-up kafka-down kcat clean

all: build plugin

build: $(CLI)

$(CLI): $(GOFILES) go.mod go.sum
	$(GO) build -trimpath -o $@ ./cmd/auditstream

plugin: $(PLUGIN_SO)

# The project's own loader, which drives the plugin as Fluent Bit's Go proxy does.
HARNESS := $(BUILD)/flbharness
harness: $(HARNESS)

$(HARNESS): $(wildcard plugin/harness/*.c plugin/harness/*.h)
	@mkdir -p $(BUILD)
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ plugin/harness/flbharness.c plugin/harness/chunks.c \
		plugin/harness/mpw.c plugin/harness/mpjson.c -ldl -lpthread

# The main job: ship the example log through the plugin and show what arrived.
demo: build plugin harness
	bash scripts/demo.sh

$(PLUGIN_SO): $(GOFILES) go.mod go.sum
	CGO_ENABLED=1 $(GO) build -trimpath -buildmode=c-shared -o $@ ./plugin

# The whole suite, as CI runs it. The Kafka tests need the local broker, so
# it is started first (a no-op when it already runs) and left running.
test: lint kafka-up test-go test-faults

test-go:
	$(GO) test -count=1 -timeout 30m ./...

# Tests that stop, restart or freeze the broker. They run alone, after every
# other test, since the broker comes back empty and with a new SCRAM password.
test-faults:
	AUDITSTREAM_FAULT_TESTS=1 $(GO) test -count=1 -timeout 15m ./sink/faulttest

# The chaos suite (chaos/): ship and the plugin through a broker killed,
# frozen and restarted, a topic deleted, the shipper killed mid-flush and a
# hostile corpus, checked by an auditID ledger. It starts, kills and stops its
# own broker (KAFKA_INSTANCE=chaos, ports 39192-39194), never the shared one.
# test-chaos-short is the form CI runs; with FLUENT_BIT_BIN set, a real
# Fluent Bit is driven too.
test-chaos:
	AUDITSTREAM_CHAOS=full $(GO) test -count=1 -v -timeout 60m -run TestChaos ./chaos/

test-chaos-short:
	AUDITSTREAM_CHAOS=short $(GO) test -count=1 -v -timeout 20m -run TestChaos ./chaos/

# The plugin in a real Fluent Bit (tail, rotation, SIGTERM) into the local
# broker. Not part of `test`: CI has no Fluent Bit. FLUENT_BIT_BIN names the
# fluent-bit binary, e.g. `make test-e2e FLUENT_BIT_BIN=/path/to/fluent-bit`.
test-e2e: kafka-up
	@test -n "$(FLUENT_BIT_BIN)" || { echo "test-e2e: set FLUENT_BIT_BIN to a fluent-bit binary"; exit 1; }
	FLUENT_BIT_BIN="$(FLUENT_BIT_BIN)" $(GO) test -count=1 -v ./plugin/e2e/

# The register ABI check again under valgrind's memcheck, beside the guard
# page test that make test runs. Not part of `test`: valgrind is not among
# the machine's prerequisites.
test-valgrind: harness
	@command -v valgrind >/dev/null || { echo "test-valgrind: valgrind is not installed (apt-get install valgrind)"; exit 1; }
	VALGRIND="$$(command -v valgrind)" $(GO) test -count=1 -v -run TestHarnessRegisterValgrind ./plugin/

test-race:
	$(GO) test -race -count=1 ./filter/... ./sink/... ./internal/...

fmt:
	gofmt -l -w .

vet:
	$(GO) vet ./...

# golangci-lint (configured in .golangci.yml: go vet, staticcheck, errcheck,
# errorlint, gocritic, ...) pinned and built from the Go module proxy, after
# the check that no tracked file reads a path outside the repository.
GOLANGCI_LINT_VERSION ?= v2.15.0
lint:
	bash scripts/lint/self-contained.sh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

# Benchmarks, each side by side with what it is measured against, in one run.
# bench: the policy engine (no broker); BENCH_COUNT runs, summarised by benchstat.
# bench-kafka: the sink beside kcat, and the plugin's flush path beside the
# sink alone, against the local broker.
BENCH_COUNT ?= 6
bench:
	@mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench='Decide|Event' -benchmem -count=$(BENCH_COUNT) ./benchmarks/ | tee $(BUILD)/bench.txt
	GOFLAGS= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl $(BUILD)/bench.txt

bench-kafka: kafka-up
	@mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench='SinkVsKcat' -benchtime=300000x ./benchmarks/
	$(GO) test -run='^$$' -bench='FlushVsSink' -benchtime=300000x -count=10 ./benchmarks/ | tee $(BUILD)/bench-flush.txt
	GOFLAGS= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da $(BUILD)/bench-flush.txt
	$(GO) test -run='^$$' -bench='FlushPath|FlushCPU' -benchtime=200000x -benchmem ./benchmarks/
	$(GO) test -run='^$$' -bench='HarnessFlush' -benchtime=100000x ./plugin/

# Long fuzzing runs, not part of CI.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./filter -run='^$$' -fuzz=FuzzAppendEvent -fuzztime=$(FUZZTIME)
	$(GO) test ./filter -run='^$$' -fuzz=FuzzSkipValue -fuzztime=$(FUZZTIME)
	$(GO) test ./filter -run='^$$' -fuzz=FuzzDecodersAgree -fuzztime=$(FUZZTIME)
	$(GO) test ./filter -run='^$$' -fuzz='^FuzzRedact$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./filter -run='^$$' -fuzz=FuzzRedactAnyLine -fuzztime=$(FUZZTIME)
	$(GO) test ./internal/chunk -run='^$$' -fuzz=FuzzReader -fuzztime=$(FUZZTIME)
	$(GO) test ./sink -run='^$$' -fuzz=FuzzAppendTruncated -fuzztime=$(FUZZTIME)
	$(GO) test ./sink -run='^$$' -fuzz=FuzzAppendShortened -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x
	$(GO) test ./internal/pipeline -run='^$$' -fuzz=FuzzFlush -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x

clean:
	rm -rf $(BUILD)

# Single-node Kafka 4.x on 127.0.0.1 for tests (scripts/kafka/); jars, state and
# logs live in .cache/kafka/, connection facts in .cache/kafka/run/env.
kafka-up:
	bash scripts/kafka/up.sh

kafka-down:
	bash scripts/kafka/down.sh

kcat:
	bash scripts/kafka/kcat.sh

# The plugin inside a real Fluent Bit beside Fluent Bit's own tail -> null,
# tail -> out_kafka and tail -> json parser + Lua policy -> out_kafka on the
# same generated log, in turns, with filesystem and memory buffering (see
# benchmarks/e2e_bench_test.go). Not part of `test`: it takes minutes and
# needs FLUENT_BIT_BIN. AUDITSTREAM_BENCH_E2E_EVENTS, _ROUNDS and _STORAGE
# (memory, filesystem or both) shape it.
bench-e2e: kafka-up
	@test -n "$(FLUENT_BIT_BIN)" || { echo "bench-e2e: set FLUENT_BIT_BIN to a fluent-bit binary"; exit 1; }
	AUDITSTREAM_BENCH_E2E=1 FLUENT_BIT_BIN="$(FLUENT_BIT_BIN)" $(GO) test -count=1 -v -timeout 60m -run '^TestE2EInsideFluentBit$$' ./benchmarks/

# auditstream ship beside kcat -P, whole processes, on the same generated log
# with snappy and with no compression (see benchmarks/ship_kcat_bench_test.go).
# AUDITSTREAM_BENCH_SHIP_EVENTS and _ROUNDS scale it.
bench-ship: kafka-up
	AUDITSTREAM_BENCH_E2E=1 $(GO) test -count=1 -v -timeout 30m -run '^TestShipVsKcat$$' ./benchmarks/
