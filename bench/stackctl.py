"""The whole local stack for the load test and the fuzzer: the running one, or one started (and seeded) for
the run, always under the same lock as the end-to-end tests (fixed ports: one suite per machine)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import env
from devtools import stack, toolchain

# The Emulator Suite's log: the bench's own suite's, or `make run`'s when the bench uses that one.
BENCH_LOG = toolchain.CACHE / "bench-emulators.log"
RUN_LOG = toolchain.CACHE / "emulators.log"


def log_path() -> Path:
    """The log of the suite `local_stack` is using (the newer of the two when both exist)."""
    logs = [path for path in (BENCH_LOG, RUN_LOG) if path.exists()]
    return max(logs, key=lambda path: path.stat().st_mtime) if logs else BENCH_LOG


def descendants(pid: int) -> set[int]:
    """Every living process below pid (from /proc), whatever its process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def stop_all(suite: stack.Stack) -> None:
    """Stop the suite, then end any of its processes that left its group and survived (firebase-tools starts
    the Firestore emulator detached: after a slow shutdown it is orphaned and keeps port 8080)."""
    below = descendants(suite.suite.pid) if suite.suite is not None else set()
    suite.stop()
    for pid in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def local_stack() -> Iterator[str]:
    """Hold the stack lock; yield the functions base URL of a seeded stack; stop it if this started it."""
    toolchain.CACHE.mkdir(exist_ok=True)
    with (toolchain.CACHE / "stack.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print("stack: another suite holds .cache/stack.lock; waiting for it...", file=sys.stderr, flush=True)
            waited = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            print(f"stack: lock taken after {time.monotonic() - waited:.0f} s", file=sys.stderr, flush=True)
        saved = dict(os.environ)
        os.environ.update(stack.client_env())
        env.reset_process_state()
        started: stack.Stack | None = None
        try:
            if stack.port_open(stack.PORTS["functions"]):
                print("stack: using the running local stack (make run)", file=sys.stderr, flush=True)
            else:
                print("stack: starting the Emulator Suite (about 15 s)...", file=sys.stderr, flush=True)
                # a worker must answer within this many seconds or the emulator fails its request (a 500
                # ECONNRESET or a hang): the default 30 is too short for 20 workers starting on 2 busy cores
                os.environ.setdefault("FUNCTIONS_DISCOVERY_TIMEOUT", "180")
                started = stack.Stack(BENCH_LOG)
                started.start()
                from devtools import seed

                seed.seed()
            yield stack.FUNCTIONS_BASE
        finally:
            if started is not None:
                stop_all(started)
            os.environ.clear()
            os.environ.update(saved)
