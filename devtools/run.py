"""`make run`: the whole local stack with the seeded demo, scheduled functions fired on time, Ctrl-C to stop."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, tzinfo

from devtools import stack

WALKTHROUGH = """
Justo Lead backend is running on the Firebase Emulator Suite (project {project}).

  Base URL     {base}
  Firestore    127.0.0.1:8080     Auth 127.0.0.1:9099     Tasks 127.0.0.1:9499     Storage 127.0.0.1:9023
  Logs         {log}

Demo logins (a code is "emailed" to the outbox; read it at /dev/outbox):
{logins}

Try it:
  BASE={base}
  curl -s -X POST $BASE/auth/otp/request -H 'Content-Type: application/json' -d '{{"email":"agent1@demo.example.com"}}'
  CODE=$(curl -s "$BASE/dev/outbox?to=agent1@demo.example.com" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["subject"][-6:])')
  TOKEN=$(curl -s -X POST $BASE/auth/otp/verify -H 'Content-Type: application/json' -d "{{\\"email\\":\\"agent1@demo.example.com\\",\\"code\\":\\"$CODE\\"}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["customToken"])')
  ID=$(curl -s -X POST 'http://127.0.0.1:9099/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=any' -H 'Content-Type: application/json' -d "{{\\"token\\":\\"$TOKEN\\",\\"returnSecureToken\\":true}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idToken"])')
  curl -s $BASE/members/me -H "Authorization: Bearer $ID"

Press Ctrl-C to stop everything.
"""


def fire_schedules(stop: threading.Event) -> None:
    """Run each scheduled function when its cron says (the emulator never fires them)."""
    from croniter import croniter

    from devtools.toolchain import ROOT

    sys.path.insert(0, str(ROOT / "functions"))
    from registry import SCHEDULES

    now = datetime.now(UTC)
    upcoming = {
        name: croniter(cron, now.astimezone(_zone(tz))).get_next(datetime) for name, (cron, tz) in SCHEDULES.items()
    }
    while not stop.wait(5):
        for name, due in list(upcoming.items()):
            if datetime.now(UTC) >= due:
                cron, tz = SCHEDULES[name]
                _fire(name)
                upcoming[name] = croniter(cron, datetime.now(_zone(tz))).get_next(datetime)


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _fire(name: str) -> None:
    request = urllib.request.Request(f"{stack.FUNCTIONS_BASE}/{name}-0", method="POST", data=b"{}")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            print(f"scheduler: {name} -> {response.status}", flush=True)
    except OSError as error:
        print(f"scheduler: {name} failed: {error}", flush=True)


def main() -> int:
    """Start, seed, print the walkthrough, fire schedules until Ctrl-C, then stop everything."""
    import fcntl

    from devtools.toolchain import CACHE

    CACHE.mkdir(exist_ok=True)
    lock = (CACHE / "stack.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("run: another local stack (or an end-to-end test) is running; waiting for it...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    local = stack.Stack()
    print("run: starting the Emulator Suite and the Storage emulator (about 15 s)...", flush=True)
    local.start()
    stop = threading.Event()

    def shutdown(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        os.environ.update(stack.client_env())
        from devtools import seed

        seed.seed()
        logins = "\n".join(
            f"  {email:28} {role:8} org {org:7} {'' if active else '(deactivated: cannot log in)'}"
            for email, role, org, active in seed.LOGINS
        )
        print(
            WALKTHROUGH.format(project=stack.PROJECT, base=stack.FUNCTIONS_BASE, log=local.log_path, logins=logins),
            flush=True,
        )
        scheduler = threading.Thread(target=fire_schedules, args=(stop,), daemon=True)
        scheduler.start()
        while not stop.wait(1):
            if local.suite is not None and local.suite.poll() is not None:
                print("run: the Emulator Suite exited; see the log", file=sys.stderr)
                return 1
        return 0
    finally:
        print("\nrun: stopping every process...", flush=True)
        local.stop()
        time.sleep(0.2)
        print("run: stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
