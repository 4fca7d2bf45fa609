#!/usr/bin/env bash
# `make test`: every tier in its own pytest run (each can run alone), and the rules tier and the static checks
# (openapi, deploy-check, ruff, mypy) beside the e2e tier; each tier's seconds and the total at the end.
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
trap 'rm -f "$output" "$output".* "$static_log"' EXIT
static_pid=

# One tier's pytest run, shown and kept in its own log; its exit code in the log's .code file (5, no tests, counts as 0).
run_tier() {
  local tier=$1 log=$2 workers=() began=$SECONDS
  # the http tier waits on the emulators far more than it computes: two workers, each with its own emulators
  [ "$tier" = http ] && workers=(-n 2)
  $PY -m pytest -m "$tier" tests -q -p no:randomly "${workers[@]}" 2>&1 | tee "$log"
  echo "${PIPESTATUS[0]}" > "$log.code"
  echo $((SECONDS - began)) > "$log.secs"
}

# A finished tier's line in the summary; its exit code decides the run's.
record_tier() {
  local tier=$1 code
  code=$(cat "$output.$tier.code")
  if [ "$code" -eq 5 ]; then code=0; summary+=("$tier: no tests"); else summary+=("$tier: exit $code ($(cat "$output.$tier.secs") s)"); fi
  # the prod tier says how many deployed functions it started in production shape
  [ "$tier" = prod ] && summary+=("$(grep -m1 '^prod: started' "$output.$tier" || echo 'prod: started no functions')")
  [ "$code" -ne 0 ] && status=1
}

# One tier at a time, except beside the e2e tier, which mostly waits on the Emulator Suite's triggers: the rules
# tier (its own emulator) and the static checks run meanwhile, their output shown after it. Side by side the
# unit, rules and service tiers took as long on 2 cores as one after the other (306 s against 312 s).
rules_pid=
for tier in unit service http e2e prod; do
  if [ "$tier" = e2e ]; then
    static_checks > "$static_log" 2>&1 & static_pid=$!
    run_tier rules "$output.rules" > "$output.rules.shown" 2>&1 & rules_pid=$!
  fi
  echo "==> tests: $tier"
  run_tier "$tier" "$output.$tier"
  record_tier "$tier"
  if [ "$tier" = e2e ]; then
    wait "$rules_pid"
    echo "==> tests: rules (beside e2e)"
    cat "$output.rules.shown"
    record_tier rules
  fi
done

if [ -n "$static_pid" ]; then wait "$static_pid"; else static_checks > "$static_log" 2>&1; fi
code=$?
cat "$static_log"
summary+=("static checks (openapi, deploy-check, ruff, mypy): exit $code")
[ $code -ne 0 ] && status=1

echo
printf '%s\n' "${summary[@]}"
echo "total: $SECONDS s"
exit $status
