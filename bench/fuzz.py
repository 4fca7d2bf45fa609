"""`make fuzz`: schemathesis against docs/openapi.json on the local stack, with ID tokens obtained the way
the app gets them (an emailed code from the outbox, verified, exchanged at the Auth emulator).

Checks: no 5xx (`not_a_server_error`) and every documented response matches its schema
(`response_schema_conformance`). The short run is part of the e2e tier (tests/e2e/test_fuzz.py); `--long`
is `make fuzz`.

    python -m bench.fuzz [--long] [--max-examples N] [--max-time S] [--as EMAIL]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import env
from devtools.stack import login

SCHEMA = env.ROOT / "docs" / "openapi.json"
CHECKS = "not_a_server_error,response_schema_conformance"
# Ending the fuzzer's own session would turn the rest of the run into 401s: logout is tested elsewhere (and
# bench/fuzz_hooks.py keeps the fuzzer's writes off its own member record).
EXCLUDED_PATHS = ("/auth/logout",)
REPORTS = env.ROOT / ".cache" / "fuzz"
# Known failures, each with its owner, cause and an expiry date: they do not fail a run until they expire, so
# the e2e tier stays green while they are fixed, and any new failure still fails it. Drop an entry when fixed
# (`--prune` removes the ones a run no longer reproduces).
BASELINE = env.ROOT / "bench" / "fuzz-baseline.json"
# How schemathesis prints a failing case's server error: its status line, then the body in backticks.
SERVER_ERROR = re.compile(r"\[(5\d\d)\] [^\n]*:\s*`([^`]*)`")


@dataclass(frozen=True)
class FuzzResult:
    """What one schemathesis run found."""

    returncode: int
    output: str
    junit: Path

    @property
    def passed(self) -> bool:
        """True when no check failed and nothing crashed."""
        return self.returncode == 0

    @property
    def only_emulator_resets(self) -> bool:
        """True when every failing case is the Functions emulator's own answer to a worker's dropped socket:
        a 500 whose body is its Node socket error (`env.emulator_socket_error`), which our handlers never send."""
        cases = self.output.count("Test Case ID:")
        errors = SERVER_ERROR.findall(self.output)
        return (
            cases > 0
            and len(errors) == cases
            and all(status == "500" and env.emulator_socket_error(body) for status, body in errors)
        )

    def summary(self) -> str:
        """Schemathesis' report from its failures section on (or its closing lines)."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "FAILURES" in line), max(0, len(lines) - 40))
        return "\n".join(lines[start:][:200])


def token_uid(token: str) -> str:
    """The uid an ID token is for (its payload read, not verified: the fuzzer's own token)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims.get("user_id") or claims.get("sub") or "")


def run(
    base: str,
    token: str,
    *,
    max_examples: int,
    max_time: int,
    seed: int | None = None,
    prune: bool = False,
) -> FuzzResult:
    """One schemathesis run over every operation of the schema; failures in the baseline are reported, not
    failed."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    junit = REPORTS / "junit.xml"
    command = [
        str(env.ROOT / ".venv" / "bin" / "schemathesis"),
        "run",
        str(SCHEMA),
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--max-time",
        str(max_time),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--request-timeout",
        "60",
        "--suppress-health-check",
        "too_slow,filter_too_much",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
        "--baseline",
        str(BASELINE),
    ]
    if prune:
        command.append("--baseline-prune")
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    if seed is not None:
        command += ["--seed", str(seed)]
    environment = dict(os.environ) | {
        "PYTHONPATH": str(env.ROOT),
        "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks",
        "JUSTO_FUZZ_UID": token_uid(token),
    }
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=env.ROOT, env=environment, timeout=max_time + 600
    )
    return FuzzResult(completed.returncode, completed.stdout + completed.stderr, junit)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer against a seeded local stack."""
    parser = argparse.ArgumentParser(prog="bench.fuzz")
    parser.add_argument("--long", action="store_true", help="100 examples per operation, up to 20 minutes")
    parser.add_argument("--max-examples", type=int)
    parser.add_argument("--max-time", type=int)
    parser.add_argument("--as", dest="email", default="admin@demo.example.com", help="the member to fuzz as")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--prune", action="store_true", help="drop baseline entries this run did not reproduce")
    args = parser.parse_args(argv)
    max_examples = args.max_examples or (100 if args.long else 10)
    max_time = args.max_time or (1200 if args.long else 180)
    from bench.stackctl import local_stack

    with local_stack() as base:
        token = login(base, args.email)
        print(f"fuzz: {max_examples} examples per operation, at most {max_time} s, as {args.email}", flush=True)
        result = run(base, token, max_examples=max_examples, max_time=max_time, seed=args.seed, prune=args.prune)
    print(result.summary())
    print(f"fuzz: {'PASSED' if result.passed else 'FAILED'} (junit report {result.junit.relative_to(env.ROOT)})")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
