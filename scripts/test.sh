#!/usr/bin/env bash
# `make test`: every tier in its own pytest run (each can run alone), then ruff and mypy.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
summary=()

output=$(mktemp)
trap 'rm -f "$output"' EXIT
for tier in unit service http rules e2e prod; do
  echo "==> tests: $tier"
  $PY -m pytest -m "$tier" tests -q -p no:randomly | tee "$output"
  code=${PIPESTATUS[0]}
  if [ $code -eq 5 ]; then code=0; summary+=("$tier: no tests"); else summary+=("$tier: exit $code"); fi
  # the prod tier says how many deployed functions it started in production shape
  [ "$tier" = prod ] && summary+=("$(grep -m1 '^prod: started' "$output" || echo 'prod: started no functions')")
  [ $code -ne 0 ] && status=1
done

echo "==> docs/openapi.json is current"
$PY -m devtools.openapi check || status=1
echo "==> deploy-check (manifest, secrets, rules, indexes, README deploy section)"
$PY -m devtools.deploy_check > .cache/deploy-check.log 2>&1 || { cat .cache/deploy-check.log; status=1; }
tail -1 .cache/deploy-check.log
echo "==> ruff"
.venv/bin/ruff check functions tests devtools bench || status=1
.venv/bin/ruff format --check functions tests devtools bench -q || status=1
echo "==> mypy"
.venv/bin/mypy || status=1

echo
printf '%s\n' "${summary[@]}"
exit $status
