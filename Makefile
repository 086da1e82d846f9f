# multisect: `make demo` and `make test` are the only two set-up commands a fresh Debian machine
# with Node 20 needs. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_STAMP := node_modules/.installed

.PHONY: help deps system-deps gen build lint typecheck test test-unit test-integration test-e2e bench demo clean

help:
	@echo "make demo   - install what is missing, run a real multi-agent bisection on a local farm"
	@echo "make test   - install what is missing, lint, run every test"
	@echo "make build  - generate proto code and compile to dist/"
	@echo "make lint   - tsc --noEmit, eslint, import-cycle and boundary check"
	@echo "make bench  - run the benchmarks in test/bench/ and print their figures"

# Debian packages: nats-server, git, protoc (+ well-known types). apt-get update first.
system-deps:
	@bash deploy/install-deps.sh

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: system-deps $(NODE_STAMP)

gen: deps
	bash proto/generate.sh

build: gen
	npx tsc -p tsconfig.build.json

typecheck: gen
	npx tsc --noEmit -p .

lint: typecheck
	npx eslint .
	npx tsx test/tools/check-imports.ts

test: lint
	bash test/run.sh

test-unit: gen
	bash test/run.sh unit

test-integration: gen
	bash test/run.sh integration

test-e2e: gen
	bash test/run.sh e2e

bench: gen
	@for b in test/bench/*.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

demo: gen
	npx tsx deploy/demo/demo.ts

clean:
	rm -rf dist shared/gen node_modules/.installed
