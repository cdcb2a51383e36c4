# otsweep — build, test and lint. `make test` installs what the tests need
# (Debian packages, as root) and runs every test against real peers.

GO        ?= go
BIN       ?= bin/otsweep
PKGS      ?= ./...
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Debian packages the tests start as real peers (sshd hosts in network namespaces, snmpd).
TEST_DEBS = openssh-server openssh-client sudo iproute2 procps openssl snmpd snmp
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build demo run test test-short deps lint vet fmt fuzz bench clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/otsweep

# The main job on a built-in default: the demo lab (a simulated plant on
# loopback), swept twice, with the database and HTML report in otsweep-demo/.
demo: build
	./$(BIN) demo --dir otsweep-demo

# Scan this machine with the Linux bundle.
run: build
	./$(BIN) scan --target local:// --role linux-server --db otsweep.db

# Install the real peers the tests talk to (idempotent; needs root on Debian).
deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root to install them)" >&2; exit 1; fi; \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: deps vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Unit tests only: skips the tests that need root and real peers.
test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# Bounded fuzzing of every parser: each Fuzz* function of every package runs
# for FUZZTIME. A package whose tests do not build fails the target (no fuzz
# target is skipped silently). Minimizing a new input is capped at
# FUZZMINTIME, so a crash found near the end of FUZZTIME is still reported
# within the run; crashers land in the package's testdata/fuzz/ and become
# seed corpus that plain `go test` runs from then on.
FUZZTIME ?= 20s
FUZZMINTIME ?= 5s
fuzz:
	@set -e; n=0; for pkg in $$($(GO) list $(PKGS)); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "make fuzz: cannot list the fuzz targets of $$pkg" >&2; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; n=$$((n+1)); \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
	  done; done; echo "make fuzz: $$n fuzz targets ran for $(FUZZTIME) each"

# Benchmarks (issue 7, BENCHMARKS.md): sweeps of simulated SSH, WinRM and SNMP
# endpoints through the real runner against bare protocol loops, a year of daily
# sweeps in the store, and Ansible's raw module on real sshd hosts; prints one
# table (progress goes to stderr). As root it installs Debian's ansible when
# missing; otherwise the Ansible peer is skipped. Takes 25-45 minutes.
# bench-smoke is the CI check that every benchmark still works (< 60 s).
.PHONY: bench-smoke
bench:
	@if ! command -v ansible >/dev/null 2>&1; then \
	  if [ "$$(id -u)" -eq 0 ]; then echo "make bench: installing ansible for the peer benchmark" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ansible >&2; \
	  else echo "make bench: ansible is not installed and this is not root: the Ansible peer is skipped" >&2; fi; \
	fi
	@bin=bin/otsweep-bench.$$$$.test; $(GO) test -c -o $$bin ./bench && \
	cd bench && OTSWEEP_BENCH=full OTSWEEP_BENCH_COMMAND="make bench" ../$$bin -test.run '^TestBench$$' -test.timeout 3h; \
	rc=$$?; rm -f ../$$bin; exit $$rc

# Each run builds its own binary, so that two runs at once do not collide.
bench-smoke:
	@bin=bin/otsweep-bench.$$$$.test; $(GO) test -c -o $$bin ./bench && \
	cd bench && OTSWEEP_BENCH=smoke OTSWEEP_BENCH_COMMAND="make bench-smoke" ../$$bin -test.run '^TestBench$$' -test.timeout 5m; \
	rc=$$?; rm -f ../$$bin; exit $$rc

clean:
	rm -rf bin
