# auditstream: `make demo` runs the main job, `make test` passes the tests.
GO        ?= go
BUILD     := build
PLUGIN_SO := $(BUILD)/out_auditstream.so
CLI       := $(BUILD)/auditstream
GOFILES   := $(shell find . -name '*.go' -not -path './.cache/*')

.PHONY: all build plugin test test-go test-race lint fmt vet bench fuzz demo kafka-up kafka-down clean

all: build plugin

build: $(CLI)

$(CLI): $(GOFILES) go.mod go.sum
	$(GO) build -trimpath -o $@ ./cmd/auditstream

plugin: $(PLUGIN_SO)

$(PLUGIN_SO): $(GOFILES) go.mod go.sum
	CGO_ENABLED=1 $(GO) build -trimpath -buildmode=c-shared -o $@ ./plugin

# The whole suite, as CI runs it.
test: lint test-go

test-go:
	$(GO) test -count=1 ./...

test-race:
	$(GO) test -race -count=1 ./filter/... ./sink/...

fmt:
	gofmt -l -w .

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

STATICCHECK_VERSION ?= 2025.1.1

# Benchmarks: `make bench` then compare runs with benchstat.
BENCH_COUNT ?= 6
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCH_COUNT) ./benchmarks/... | tee $(BUILD)/bench.txt

# Long fuzzing runs, not part of CI.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./filter -run='^$$' -fuzz=FuzzAppendEvent -fuzztime=$(FUZZTIME)

clean:
	rm -rf $(BUILD)
