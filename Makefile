# Justo Lead backend. Every target sets itself up first (scripts/setup.sh is idempotent and quick when done).
SHELL := /bin/bash
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test test-unit test-service test-http test-rules test-e2e test-prod lint typecheck bench load fuzz openapi deploy-check clean

setup:
	@bash scripts/setup.sh

run: setup ## start the whole local stack with the seeded demo
	@$(PY) -m devtools.run

test: setup ## every test tier, ruff and mypy
	@bash scripts/test.sh

test-unit: setup
	@$(PY) -m pytest -m unit tests

test-service: setup
	@$(PY) -m pytest -m service tests

test-http: setup
	@$(PY) -m pytest -m http tests

test-rules: setup
	@$(PY) -m pytest -m rules tests

test-e2e: setup
	@$(PY) -m pytest -m e2e tests

test-prod: setup ## every deployed function started as Cloud Functions starts it, with only its declared secrets
	@$(PY) -m pytest -m prod tests/prod -p no:randomly

lint: setup
	@.venv/bin/ruff check functions tests devtools bench

typecheck: setup
	@.venv/bin/mypy

deploy-check: setup ## offline: the deploy manifest, secrets, settings, rules and indexes; ARGS=write regenerates the README's deploy section
	@$(PY) -m devtools.deploy_check $(ARGS)

openapi: setup ## regenerate docs/openapi.json from the pydantic models and routes
	@$(PY) -m devtools.openapi write

bench: setup ## benchmarks: cold start, latency and Firestore operations, as ratios to baselines
	@$(PY) -m bench.run

load: setup ## a bounded load test against the local stack
	@$(PY) -m bench.load

fuzz: setup ## a long schemathesis run against the local stack
	@$(PY) -m bench.fuzz --long

clean:
	rm -rf .cache .venv functions/venv node_modules
