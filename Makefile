# trainyard: `make run` starts the app, `make test` runs every test.
export CGO_ENABLED := 0
GO ?= go
BIN := bin/trainyard

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/trainyard.
	$(GO) build -o $(BIN) .

# make run's settings: from the make command line (make run ADDR=127.0.0.1:9000
# DATASETS=~/captchas), else from TRAINYARD_ADDR, TRAINYARD_DATA_DIR and
# TRAINYARD_DATASETS in the environment, else these defaults.
ADDR ?= $(or $(TRAINYARD_ADDR),127.0.0.1:8080)
DATA_DIR ?= $(or $(TRAINYARD_DATA_DIR),./data)
DATASETS ?= $(TRAINYARD_DATASETS)

.PHONY: run
run: build ## Build and start trainyard serve (ADDR=host:port DATA_DIR=dir DATASETS=dir:dir, or TRAINYARD_* variables).
	TRAINYARD_ADDR='$(ADDR)' TRAINYARD_DATA_DIR='$(DATA_DIR)' TRAINYARD_DATASETS='$(DATASETS)' ./$(BIN) serve

.PHONY: generate
generate: ## Regenerate the templ components (commit the *_templ.go files).
	$(GO) tool templ generate

.PHONY: check-generated
check-generated: ## Fail when the committed templ output is stale.
	@$(GO) tool templ generate >/dev/null
	@git diff --exit-code --stat -- '*_templ.go' || (echo "generated templ files are stale: run 'make generate' and commit" && exit 1)

.PHONY: vet
vet: ## go vet every package.
	$(GO) vet ./...

.PHONY: test
test: check-generated vet ## Run every test (browser tests need chromium).
	$(GO) test -count=1 -timeout 30m -tags browser ./...

# FUZZ_TARGETS are the fuzz targets `make fuzz` runs, as package:Target. Their
# seed corpora (testdata/fuzz/Target/ and f.Add) run in every `make test`.
FUZZ_TARGETS := \
	./trainer/captcha:FuzzParseLabels \
	./trainer/captcha:FuzzLoadZip \
	./trainer/captcha:FuzzDecodeImage \
	./trainer/nn:FuzzReadWeights \
	./runs:FuzzParseQuery \
	./experiments:FuzzSpec
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s), one after another.
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
	done

.PHONY: lint
lint: vet ## Static checks.
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$') && exit 1)

.PHONY: bench
bench: ## Go benchmarks of the training ops.
	$(GO) test -run '^$$' -bench . -benchmem ./trainer/...

.PHONY: bench-compare
bench-compare: build bench-deps ## Six seed models: trainyard bench against PyTorch, same machine.
	bench/compare.sh

.PHONY: bench-deps
bench-deps: ## Install Debian's python3-torch and OpenBLAS for the PyTorch baseline when missing.
	@/usr/bin/python3 -c 'import torch' 2>/dev/null && readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas || \
		(apt-get update -qq && apt-get install -y -qq python3-torch libopenblas0-pthread)
