#!/usr/bin/env bash
# `make test`: every tier in its own pytest run (each can run alone), and the static checks (openapi,
# deploy-check, ruff, mypy) beside the e2e tier.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
summary=()

output=$(mktemp)
# The static checks need no emulator: they run beside the e2e tier, which mostly waits on the Emulator Suite.
static_checks() {
  local failed=0
  echo "==> docs/openapi.json is current"
  $PY -m devtools.openapi check || failed=1
  echo "==> deploy-check (manifest, secrets, rules, indexes, README deploy section)"
  $PY -m devtools.deploy_check > .cache/deploy-check.log 2>&1 || { cat .cache/deploy-check.log; failed=1; }
  tail -1 .cache/deploy-check.log
  echo "==> ruff"
  .venv/bin/ruff check functions tests devtools bench || failed=1
  .venv/bin/ruff format --check functions tests devtools bench -q || failed=1
  echo "==> mypy"
  .venv/bin/mypy || failed=1
  return $failed
}
static_log=$(mktemp)
trap 'rm -f "$output" "$static_log"' EXIT
static_pid=

for tier in unit service http rules e2e prod; do
  if [ "$tier" = e2e ]; then static_checks > "$static_log" 2>&1 & static_pid=$!; fi
  echo "==> tests: $tier"
  # the http tier waits on the emulators far more than it computes: two workers, each with its own emulators
  workers=(); [ "$tier" = http ] && workers=(-n 2)
  $PY -m pytest -m "$tier" tests -q -p no:randomly "${workers[@]}" | tee "$output"
  code=${PIPESTATUS[0]}
  if [ $code -eq 5 ]; then code=0; summary+=("$tier: no tests"); else summary+=("$tier: exit $code"); fi
  # the prod tier says how many deployed functions it started in production shape
  [ "$tier" = prod ] && summary+=("$(grep -m1 '^prod: started' "$output" || echo 'prod: started no functions')")
  [ $code -ne 0 ] && status=1
done

if [ -n "$static_pid" ]; then wait "$static_pid"; else static_checks > "$static_log" 2>&1; fi
code=$?
cat "$static_log"
summary+=("static checks (openapi, deploy-check, ruff, mypy): exit $code")
[ $code -ne 0 ] && status=1

echo
printf '%s\n' "${summary[@]}"
exit $status
