"""The whole local stack for the load test and the fuzzer: the running one, or one started (and seeded) for
the run, always under the same lock as the end-to-end tests (fixed ports: one suite per machine)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
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


def _stat(pid: str) -> tuple[int, int]:
    """(parent pid, process group) of a process, from /proc/{pid}/stat."""
    fields = (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def orphaned_workers(group: int) -> list[int]:
    """The suite's function workers whose launching shell the Functions emulator killed when it gave up on
    them: `functions-framework` processes of the suite's process group reparented to init. The emulator never
    sends them a request again, yet each keeps its memory (tens of MB) and its port, where the emulator may start
    another function's worker (bench/README "Load": the port race)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent, pgrp = _stat(entry.name)
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if pgrp != group or not any(arg.rsplit(b"/", 1)[-1] == b"functions-framework" for arg in argv):
                continue
            # reparented to init, or to a subreaper outside the suite (its shell's place is empty)
            if parent == 1 or _stat(str(parent))[1] != group:
                found.append(int(entry.name))
    return found


def reap(group: int) -> int:
    """End the suite's orphaned workers with everything below them; how many orphans were ended."""
    orphans = orphaned_workers(group)
    for pid in orphans:
        for victim in [pid, *descendants(pid)]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, signal.SIGKILL)
    return len(orphans)


class Reaper:
    """While a load runs: every `every` seconds end the suite's orphaned workers (with their gunicorn
    workers). Without it a 50-user run on this machine ran out of memory and the kernel killed the Firestore
    emulator (24 GiB; hundreds of orphans)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.reaped = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orphan-reaper", daemon=True)

    def __enter__(self) -> Reaper:
        if stack.PGID_FILE.exists():
            self._group = int(stack.PGID_FILE.read_text().strip())
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.reaped += reap(self._group)


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
