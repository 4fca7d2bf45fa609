"""The Storage import (POST /leads/imports, the batch runner of the task-queue function) on a generated CSV:
rows/s and Firestore writes per row, beside a raw BulkWriter of the same documents (lead, private contact,
phone key per row). Needs the Firestore emulator of bench/env.py and starts its own Storage emulator.

    python -m bench.imports_bench [--rows N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

from bench import env, opcount
from bench.stats import ratio

BUCKET = f"{env.PROJECT}.appspot.com"
ORG, ADMIN = "demo", "demo-admin"


@contextlib.contextmanager
def storage_emulator() -> Iterator[str]:
    """gcp-storage-emulator in memory on a free port, wired into this process."""
    from devtools.emulators import free_port

    port = free_port()
    binary = env.ROOT / ".venv" / "bin" / "gcp-storage-emulator"
    process = subprocess.Popen(
        [str(binary), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--default-bucket", BUCKET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Storage emulator did not start") from None
                time.sleep(0.2)
        os.environ.update({"STORAGE_EMULATOR_HOST": url, "STORAGE_BUCKET": BUCKET})
        from core import settings, storage

        settings.reset()
        storage.reset()
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)


def _csv(rows: int, first: int) -> bytes:
    lines = ["Customer Name,Mobile,City"]
    lines += [f"Storage Buyer {index},9{first + index:09d},Pune" for index in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def storage_import(rows: int) -> dict[str, Any]:
    """One import of `rows` rows through Storage and the runner, timed from start to done, with its operations."""
    from core import storage
    from leads import imports
    from leads.seed import member_caller

    caller = member_caller(ORG, ADMIN)
    ticket = imports.create(caller=caller, file_name="bench.csv", content_type="text/csv")
    record = imports._ref(ORG, ticket["id"]).get().to_dict() or {}
    storage.bucket().blob(record["objectPath"]).upload_from_string(_csv(rows, 100_000_000), content_type="text/csv")
    tasks = imports.MemoryQueue()
    imports.install(tasks)
    try:
        with opcount.counting() as ops:
            started = time.perf_counter()
            imports.start(caller=caller, import_id=ticket["id"], columns=None, dry_run=False)
            while tasks.tasks:
                _name, payload = tasks.tasks.pop(0)
                imports.run(payload["orgId"], payload["importId"])
            mine = time.perf_counter() - started
    finally:
        imports.install(None)
    done = imports._ref(ORG, ticket["id"]).get().to_dict() or {}
    if done.get("status") != "done" or done.get("created") != rows:
        raise AssertionError(f"storage import: {json.dumps(done, default=str)[:300]}")
    return {"seconds": mine, "ops": ops}


def bulk_writer(rows: int) -> dict[str, Any]:
    """A raw BulkWriter of the same three documents per row, into another organization."""
    from core import clients

    db = clients.db()
    with opcount.counting() as ops:
        started = time.perf_counter()
        writer = db.bulk_writer()
        for index in range(rows):
            lead_id = f"bw{index:07d}{uuid.uuid4().hex[:6]}"
            phone = f"+919{200_000_000 + index:09d}"
            writer.create(
                db.document(f"orgs/bench-raw/leads/{lead_id}"),
                {"name": f"Storage Buyer {index}", "primaryPhone": {"e164": phone}, "stage": "new", "version": 1},
            )
            writer.create(
                db.document(f"orgs/bench-raw/leads/{lead_id}/private/contact"), {"primaryPhone": {"e164": phone}}
            )
            writer.create(db.document(f"orgs/bench-raw/leadKeys/phone:{phone}"), {"leadId": lead_id})
        writer.close()
        raw = time.perf_counter() - started
    return {"seconds": raw, "ops": ops}


def storage_import_throughput(rows: int) -> dict[str, Any]:
    """The Storage import beside a raw BulkWriter: rows/s, Firestore writes per row, reads per row."""
    mine = storage_import(rows)
    raw = bulk_writer(rows)
    return {
        "rows": rows,
        "rowsPerSecond": round(rows / mine["seconds"], 1),
        "bulkWriterRowsPerSecond": round(rows / raw["seconds"], 1),
        "writesPerRow": round(mine["ops"].writes / rows, 3),
        "bulkWriterWritesPerRow": round(raw["ops"].writes / rows, 3),
        "readsPerRow": round(mine["ops"].reads / rows, 3),
        "seconds": {"import": round(mine["seconds"], 3), "bulkWriter": round(raw["seconds"], 3)},
        "ratio": ratio(mine["seconds"], raw["seconds"]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the Storage import benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="bench.imports_bench")
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, for development")
    args = parser.parse_args(argv)
    rows = 2_000 if args.quick else args.rows
    with env.firestore(), storage_emulator():
        print(f"bench: Storage import of {rows} rows...", file=sys.stderr, flush=True)
        print(json.dumps(storage_import_throughput(rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
