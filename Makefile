# multisect: `make demo` and `make test` are the only two set-up commands a fresh Debian machine
# with Node 20 needs. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_STAMP := node_modules/.installed

.PHONY: help deps system-deps gen build lint typecheck test test-unit test-integration test-e2e bench demo demo-script clean

help:
	@echo "make demo   - install what is missing, bisect a real Linux kernel crash (qemu) on a 4-agent local farm (DEMO_TREE=module: the fast lab)"
	@echo "make demo-script - the same farm bisecting a generated repository with a shell-script test"
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

# A real Linux kernel crash bisected by a 4-agent local farm; the demo sets up its lab first
# (deploy/lab/setup-linux: build tools, qemu, busybox, Debian's linux-source; idempotent).
# DEMO_TREE=module: the fast lab (an out-of-tree module on Debian's prebuilt kernel).
demo: gen
	npx tsx deploy/demo/lab-demo.ts

demo-script: gen
	npx tsx deploy/demo/demo.ts

clean:
	rm -rf dist shared/gen node_modules/.installed
