# Saguaro: `make run` starts the service with its embedded default
# configuration; `make test` installs what the tests need and runs them.
GO      ?= go
BIN     := bin/saguaro
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# gosnmp formats debug text for every packet unless built without it.
BUILD_TAGS := gosnmp_nodebug
# Debian packages the tests use: a real SNMP agent and tools, rrdtool as
# the oracle for RRD arithmetic, nginx for a real stub_status page,
# chromium for the browser tests of the web UI.
TEST_PKGS := snmpd snmp rrdtool nginx-light chromium apache2
GOTEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: all build run test test-deps bench lint clean

all: build

build:
	$(GO) build -tags $(BUILD_TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/saguaro

run: build
	@./templates/agent/ensure-snmpd.sh ./data/snmpd
	@echo "Saguaro: web UI on http://127.0.0.1:8080/ (data in ./data; Ctrl-C stops)"
	./$(BIN) serve

test-deps:
	@missing=""; for p in $(TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing test packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: test-deps
	$(GO) vet ./...
	$(GO) test $(GOTEST_FLAGS) ./...

bench:
	$(GO) test -tags $(BUILD_TAGS) -run '^$$' -bench . -benchtime 2s -benchmem ./...
	@for s in bench/*.sh; do [ -x "$$s" ] && { echo "== $$s"; "$$s"; } || true; done

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin
