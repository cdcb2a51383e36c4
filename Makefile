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

# Bounded fuzzing of every parser (FUZZTIME per target).
FUZZTIME ?= 20s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
