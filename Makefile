# The single entry point: make demo, make test, and the rest below.
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/shoal
CAPNP_STD = $(shell $(GO) list -m -f '{{.Dir}}' capnproto.org/go/capnp/v3)/std
# The version `shoal version`, /info and workers' offers report: the commit,
# from git; "dev" outside a git checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/shoalmesh/shoal/pkg/internal/version.Version=$(VERSION)

# Packages that start goroutines run under the race detector.
RACE_PKGS := ./pkg/... ./cmd/...

.PHONY: all build test test-short demo gen check-gen wasm bench lint fmt clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/shoal

# The whole suite, what .ci/run calls: lint, the guests, every package with
# -race where goroutines matter, the end-to-end test with the real binary.
test: lint
	$(GO) test -count=1 ./wasm/...
	SHOAL_SCREENSHOT_DIR=$(CURDIR)/bin/screenshots $(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 10m -tags e2e -v ./e2e/... | grep -v '^=== '; exit $${PIPESTATUS[0]}

# A gateway and two workers on loopback, the ww-scheduler's curl, the result.
demo: build
	./examples/demo.sh

# Regenerate the capnp Go code (Debian's capnproto + capnpc-go from go.mod).
gen:
	cd capnp && capnp compile -I $(CAPNP_STD) -o"$$($(GO) tool -n capnpc-go)" shoal.capnp

# CI: the generated code must match the schema.
check-gen: gen
	git diff --exit-code -- capnp/ || { echo "capnp/ is stale: run make gen and commit"; exit 1; }

# Rebuild the example guests from source (needs clang, lld, wasi-libc, wabt).
wasm:
	$(MAKE) -C wasm

# Figures, printed with their baselines from the same run (never asserted).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pkg/internal/meshtest/ ./pkg/internal/wasmrun/ ./pkg/internal/sched/
	$(GO) test -run '^$$' -bench . -benchtime 1x -tags e2e ./e2e/

# Every native fuzz test for FUZZTIME each, one after the other (-fuzz takes
# one target). The targets are found by grep, so a new FuzzXxx joins by
# itself; all run even when one fails, and the failures are listed at the end.
# Go's fuzzing engine sometimes fails a run at its time limit with "context
# deadline exceeded" and no failing input; that is not a finding and passes.
# FUZZMEM caps each process's address space (KiB): an input that makes the
# code allocate without end then fails as a crasher, with its input saved,
# instead of eating the machine until -fuzztime stops it unreported.
FUZZTIME ?= 10s
FUZZMEM  ?= 8388608

.PHONY: fuzz-short
fuzz-short:
	@targets=$$(grep -rHo --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*' . | \
		sed 's|^\./\(.*\)/[^/]*:func \(.*\)|\1:\2|' | sort -u); \
	failed=; ulimit -v $(FUZZMEM); \
	for t in $$targets; do \
		dir=$${t%%:*}; fn=$${t#*:}; \
		echo "== $$fn (./$$dir, $(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$dir 2>&1); rc=$$?; echo "$$out" | tail -3; \
		if [ $$rc -ne 0 ] && ! echo "$$out" | grep -q 'Failing input written to' && echo "$$out" | grep -q 'context deadline exceeded'; then \
			echo "($$fn: the fuzzing engine timed out stopping, with no failing input: not a finding)"; rc=0; fi; \
		[ $$rc -eq 0 ] || { echo "$$out"; failed="$$failed $$fn"; }; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz-short: failed:$$failed"; exit 1; fi; \
	echo "fuzz-short: all passed:" $$(echo "$$targets" | sed 's|.*:||')

# Mixed load on the real binary (e2e/soak): submits, output floods, big
# stdin, dashboard polling, kill -9 of workers; prints the gateway's RSS and
# database size every 10 s and the lost or duplicated runs at the end.
# Not part of make test. SOAK is how long the load runs.
SOAK ?= 10m

.PHONY: soak
soak: build
	$(GO) run ./e2e/soak -shoal $(BIN) -duration $(SOAK)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; fi

clean:
	rm -rf bin

# The docker image (docker/Dockerfile): the static binary FROM scratch, run
# as uid 65532 with its data in the volume /data. Nothing is pulled: the
# build context is the binary and an empty data directory, staged here.
IMAGE ?= shoal:dev

.PHONY: image e2e
image: build
	rm -rf bin/image && mkdir -p bin/image/data bin/image/join && cp $(BIN) bin/image/shoal
	docker build -q -t $(IMAGE) -f docker/Dockerfile bin/image

# The multi-container test (e2e/docker): docker/compose.yaml's gateway and
# three workers, 100 tasks through a worker killed, a worker cut off the
# network and the gateway restarted; then processes, and jobs through a
# worker killed mid-step. Uses `docker compose` when present,
# else docker-compose (or $SHOAL_COMPOSE). TestDockerCluster there runs
# bin/shoal as a gateway on the host with --backend docker: worker
# containers scale 1 -> 3 -> 1 for a burst, a failed start is retried.
# TestReplicatedGroup: three gateway containers as one replicated group
# (docs/HA.md) and three workers following its leader, under load through
# a kill, a network disconnect of the leader and a restart.
# Then the docker backend's test
# (in its package: e2e/ cannot import an internal one): machine containers
# joining a gateway container.
e2e: image
	SHOAL_IMAGE=$(IMAGE) $(GO) test -count=1 -timeout 10m -tags docker -v ./e2e/docker/ | grep -v '^=== '; exit $${PIPESTATUS[0]}
	SHOAL_IMAGE=$(IMAGE) $(GO) test -count=1 -timeout 5m -tags docker -run Docker -v ./pkg/internal/backend/ | grep -v '^=== '; exit $${PIPESTATUS[0]}
