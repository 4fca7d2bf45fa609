"""Cold start: from process start to the first response, the way the Functions emulator (and Cloud Run)
starts a Python function: `functions-framework` in functions/ with FUNCTION_TARGET naming the function.

    python -m bench.coldstart [--rounds N] [--instructions] [--no-bytecode] [FUNCTION ...]

prints, per HTTPS function beside the floor (bench/floor/main.py): the median wall time and the median CPU
time of the process to its first response, and with --instructions the instructions executed from the
interpreter's start to the first response (valgrind; exact and the same on a busy machine or an idle one,
where wall time on two shared cores is not), each as a ratio to the floor's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import env

FRAMEWORK = env.FUNCTIONS / "venv" / "bin" / "functions-framework"
FLOOR_SOURCE = env.ROOT / "bench" / "floor" / "main.py"
# The floor answering through a pydantic model (--instructions): what validating replies costs on its own.
VALIDATED = "floorvalidated"
SOURCES = {"floor": FLOOR_SOURCE, VALIDATED: FLOOR_SOURCE}

# The import set of the floor, and of "the whole SDK stack" eagerly imported (issue 2's comparison).
FLOOR_IMPORTS = "firebase_functions.https_fn, firebase_admin.auth, firebase_admin.firestore"
WHOLE_STACK_IMPORTS = (
    "firebase_functions.https_fn, firebase_functions.firestore_fn, firebase_functions.tasks_fn, "
    "firebase_functions.scheduler_fn, firebase_admin.auth, firebase_admin.firestore, firebase_admin.messaging, "
    "firebase_admin.functions, google.cloud.firestore, google.cloud.storage, google.cloud.tasks_v2, pydantic, "
    "email_validator, phonenumbers"
)


@dataclass(frozen=True)
class FirstRequest:
    """The request whose answer ends a cold start: method, sub-path, caller uid (None: public), JSON body."""

    method: str
    path: str
    uid: str | None
    body: dict[str, Any] | None = None


# One representative first request per function; functions not listed get an authenticated GET /.
FIRST_REQUESTS: dict[str, FirstRequest] = {
    "floor": FirstRequest("GET", "/", "demo-agent1"),
    VALIDATED: FirstRequest("GET", "/", "demo-agent1"),
    "members": FirstRequest("GET", "/me", "demo-agent1"),
    "org": FirstRequest("GET", "/teams", "demo-admin"),
    "devices": FirstRequest(
        "POST", "/", "demo-agent1", {"deviceId": "bench-device", "fcmToken": "bench-token", "platform": "android"}
    ),
    "auth": FirstRequest("POST", "/otp/request", None, {"email": "nobody-{n}@bench.example.com"}),
    "leads": FirstRequest("GET", "/?limit=20", "demo-agent1"),
    "projects": FirstRequest("GET", "/", "demo-agent1"),
    "tasks": FirstRequest("GET", "/", "demo-agent1"),
    "visits": FirstRequest("GET", "/", "demo-agent1"),
    "comms": FirstRequest("GET", "/templates", "demo-agent1"),
    "audit": FirstRequest("GET", "/", "demo-admin"),
    "reports": FirstRequest("GET", "/funnel", "demo-admin"),
    "privacy": FirstRequest("GET", "/policy", "demo-agent1"),
    "attachments": FirstRequest("GET", "/bench-missing", "demo-agent1"),
    "webhooks": FirstRequest(
        "GET", "/whatsapp?hub.mode=subscribe&hub.verify_token=local-verify-token&hub.challenge=42", None
    ),
}


def _request(port: int, first: FirstRequest, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        if first.uid:
            headers["Authorization"] = f"Bearer {env.token(first.uid)}"
        body = json.dumps(first.body).replace("{n}", uuid.uuid4().hex[:10]) if first.body is not None else None
        connection.request(first.method, first.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return int(response.status)
    finally:
        connection.close()


@dataclass(frozen=True)
class ColdStart:
    """One cold start: wall seconds to the first complete response, the CPU seconds the function's process
    (and the worker it forks) spent from its start to its exit right after that response, and the status."""

    seconds: float
    cpu_seconds: float
    status: int


def compile_sources() -> None:
    """Compile our source to bytecode as Cloud Functions' Python buildpack does at build
    (`python3 -m compileall -f -q .` in the function's source, GoogleCloudPlatform/buildpacks
    cmd/python/functions_framework): deployed functions start from .pyc, so the bench must too. The
    dependencies' .pyc come from pip, here and there. PYTHONDONTWRITEBYTECODE only stops writing them."""
    folders = [path for path in env.FUNCTIONS.iterdir() if path.is_dir() and path.name != "venv"]
    sources = [*folders, *env.FUNCTIONS.glob("*.py"), FLOOR_SOURCE.parent]
    subprocess.run([str(env.FUNCTIONS_PYTHON), "-m", "compileall", "-f", "-q", *map(str, sources)], check=True)


def remove_bytecode() -> None:
    """Drop our source's compiled bytecode (the shape of a run that compiles every module on every start)."""
    import shutil

    for folder in [env.FUNCTIONS, FLOOR_SOURCE.parent]:
        for cache in folder.rglob("__pycache__"):
            if "venv" not in cache.relative_to(env.ROOT).parts:
                shutil.rmtree(cache, ignore_errors=True)


def cold_start(name: str, firestore_host: str, *, timeout: float = 60.0) -> ColdStart:
    """Spawn the function's process and time it to its first complete response (wall and CPU)."""
    from devtools.emulators import free_port

    port = free_port()
    source = FLOOR_SOURCE if name == "floor" else env.FUNCTIONS / "main.py"
    process_env = dict(os.environ) | env.function_env(firestore_host) | {"FUNCTION_TARGET": name}
    first = FIRST_REQUESTS.get(name, FirstRequest("GET", "/", "demo-admin"))
    command = [str(FRAMEWORK), "--target", name, "--source", str(source), "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=source.parent, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wall, status = None, 0
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
            try:
                status = _request(port, first, timeout)
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.003)
                continue
            wall = time.perf_counter() - started
            break
        if wall is None:
            raise TimeoutError(f"{name} gave no response within {timeout:.0f} s")
    finally:
        process.terminate()
        cpu = _reap(process)
    return ColdStart(wall, cpu, status)


def _reap(process: subprocess.Popen[bytes]) -> float:
    """Wait for the process and answer its CPU seconds. On a shared machine the CPU time of a start is far
    steadier than its wall time (others' load adds waiting, not work). Linux counts in a reaped process the
    CPU of the children it reaped itself (gunicorn's worker), and the SIGTERM shutdown adds the same few
    milliseconds to every function and to the floor."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid, code, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = code
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.01)
    process.kill()
    _pid, code, usage = os.wait4(process.pid, 0)
    process.returncode = code
    return usage.ru_utime + usage.ru_stime


def import_seconds(statement: str, *, extra_env: dict[str, str] | None = None, cwd: Path = env.FUNCTIONS) -> float:
    """Seconds one fresh interpreter spends running `statement` (an import), measured inside it."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    environment = dict(os.environ) | env.function_env("127.0.0.1:9") | (extra_env or {})
    out = subprocess.run(
        [str(env.FUNCTIONS_PYTHON), "-c", code], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _self_times(statement: str, extra: dict[str, str]) -> dict[str, int]:
    """Microseconds each module's own body took to import (`python -X importtime`)."""
    environment = dict(os.environ) | env.function_env("127.0.0.1:9") | extra
    err = subprocess.run(
        [str(env.FUNCTIONS_PYTHON), "-X", "importtime", "-c", statement],
        cwd=env.FUNCTIONS,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return {
        match.group(2): int(match.group(1)) for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", err)
    }


def beyond_floor(target: str, *, runs: int = 3, top: int = 6) -> dict[str, Any]:
    """What a function imports beyond the floor's modules: total self time and the heaviest top-level
    packages, each module's time the best of `runs` (noise on a shared machine only adds)."""
    floor = set(_self_times(f"import {FLOOR_IMPORTS}", {}))
    best: dict[str, int] = {}
    for _ in range(runs):
        for module, micros in _self_times("import main", {"FUNCTION_TARGET": target}).items():
            if module not in floor:
                best[module] = min(micros, best.get(module, micros))
    by_package: dict[str, int] = {}
    for module, micros in best.items():
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0) + micros
    ranked = sorted(by_package.items(), key=lambda item: -item[1])[:top]
    return {
        "ms": round(sum(best.values()) / 1000, 1),
        "packages": {package: round(micros / 1000, 1) for package, micros in ranked},
    }


def _probe(name: str, source: str, out: str) -> None:
    """In this process: load the function as functions-framework does and answer its first request."""
    import functions_framework

    app = functions_framework.create_app(name, source)
    first = FIRST_REQUESTS.get(name, FirstRequest("GET", "/", "demo-admin"))
    headers = {"Content-Type": "application/json"}
    if first.uid:
        headers["Authorization"] = f"Bearer {env.token(first.uid)}"
    body = json.dumps(first.body).replace("{n}", uuid.uuid4().hex[:10]) if first.body is not None else None
    response = app.test_client().open(first.path, method=first.method, data=body, headers=headers)
    Path(out).write_text(json.dumps({"status": response.status_code}))


def instructions(name: str, firestore_host: str) -> tuple[int, int]:
    """Instructions one interpreter executes from its start to the function's first response (valgrind's
    count, deterministic), and that response's status."""
    import tempfile

    source = SOURCES.get(name, env.FUNCTIONS / "main.py")
    process_env = dict(os.environ) | env.function_env(firestore_host) | {"FUNCTION_TARGET": name}
    process_env["PYTHONPATH"] = str(env.ROOT)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
        command += [str(env.FUNCTIONS_PYTHON), "-m", "bench.coldstart", "--probe", name, str(source), out.name]
        run = subprocess.run(command, cwd=source.parent, env=process_env, capture_output=True, text=True)
        found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
        if run.returncode != 0 or found is None:
            raise RuntimeError(f"{name}: {run.stderr[-2000:]}")
        return int(found.group(1).replace(",", "")), int(json.loads(Path(out.name).read_text())["status"])


def main(argv: list[str] | None = None) -> int:
    """Cold starts of the HTTPS functions beside the floor: wall, CPU and (optionally) instructions."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="bench.coldstart")
    parser.add_argument("functions", nargs="*", help="HTTPS functions (default: every one)")
    parser.add_argument("--rounds", type=int, default=5, help="cold starts per function (medians)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind, slow)")
    parser.add_argument("--no-bytecode", action="store_true", help="start from source alone (no .pyc)")
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(*args.probe)
        return 0
    from bench import run

    names = args.functions or run.https_functions()
    remove_bytecode() if args.no_bytecode else compile_sources()
    with env.firestore() as host:
        cold = run.bench_cold_starts(names, host, args.rounds) if args.rounds else {}
        measured = ["floor", VALIDATED, *names]
        counts = {name: instructions(name, host) for name in measured} if args.instructions else {}
    shape = "source only, no bytecode" if args.no_bytecode else "source compiled first, as the buildpack does"
    print(f"cold start, median of {args.rounds} rounds ({shape}); load average {os.getloadavg()[0]:.1f}")
    floor = cold.get("floor", {})
    if floor:
        wall, cpu = floor["medianSeconds"] * 1000, floor["cpuSeconds"] * 1000
        print(f"  {'floor':<12} wall {wall:5.0f} ms         CPU {cpu:5.0f} ms")
    for name in names:
        figure = cold.get(name)
        if figure:
            print(
                f"  {name:<12} wall {figure['medianSeconds'] * 1000:5.0f} ms {figure['medianRatio']:.2f}x"
                f"   CPU {figure['cpuSeconds'] * 1000:5.0f} ms {figure['cpuRatio']:.2f}x   -> {figure['status']}"
            )
    if counts:
        base, validated = counts["floor"][0], counts[VALIDATED][0]
        print(f"instructions, process start to first response (valgrind); ratios to the floor and to {VALIDATED}")
        for name, (count, status) in counts.items():
            print(f"  {name:<15} {count / 1e6:7.0f} M  {count / base:.3f}x  {count / validated:.3f}x  -> {status}")
    if cold or counts:
        print(json.dumps({"coldStart": cold, "instructions": {k: v[0] for k, v in counts.items()}}, sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
