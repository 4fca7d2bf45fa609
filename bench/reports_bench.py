"""The reports on a generated organization (bench/reports_data.py): 50,000 leads with a year of history, counters
written in bulk by the triggers' counting code; each endpoint's Firestore reads and latency for 7, 30 and 365
days through the real handlers, and every figure compared with the brute-force recount from the records.

    python -m bench.reports_bench [--leads N] [--quick]     (or python -m bench.run --only reports)
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

ORG = "benchreports"
REPORTS = ("funnel", "sources", "agents", "visits")
PERIODS = (7, 30, 365)
ROUNDS = 3


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in {"asOf", "from", "to"}}


def reports_bench(leads: int) -> dict[str, Any]:
    """Build the organization, then per period and report: reads, p50 latency, and differences from the truth."""
    from bench import opcount, reports_data
    from bench.reports_data import Filter, Records, Truth
    from core import clock, tenancy
    from devtools.inproc import call, id_token
    from ops.orgs import create_org

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    created = create_org(
        org_id=ORG,
        name="Bench Reports",
        seats=50,
        subscription_ends_at=clock.now() + timedelta(days=30),
        admin_email=f"admin@{ORG}.example.com",
        admin_name="Bench Admin",
        admin_uid=f"{ORG}-admin",
    )
    admin_uid = created["admin"]["uid"]
    out: dict[str, Any] = {"leads": leads, "days": 365}
    started = time.monotonic()
    world = reports_data.generate(ORG, leads, days=365, end=end)
    out["generateSeconds"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    reports_data.write_setup(world)
    out["recordsWritten"] = reports_data.write_records(world)
    out["counterDays"] = reports_data.write_counters_in_bulk(world)
    out["writeSeconds"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    records = Records.read(ORG)
    out["bruteForceReadSeconds"] = round(time.monotonic() - started, 1)
    tenancy.cache.clear()
    token = id_token(admin_uid, {"orgId": ORG, "role": "admin", "teamId": None})
    names = {
        s.id: str((s.to_dict() or {}).get("name") or "") for s in tenancy.org_ref(ORG).collection("members").stream()
    }
    last = end.astimezone(world.zone).date()
    figures: dict[str, Any] = {}
    differences = 0
    for days in PERIODS:
        first = last - timedelta(days=days - 1)
        truth = Truth(records, world.zone, first, last, Filter())
        expected = {
            "funnel": {"stages": truth.funnel(reports_data.STAGES)},
            "sources": {"rows": truth.sources(by_source_id=False)},
            "agents": {"rows": truth.agents(names)},
            "visits": truth.visits(),
        }
        for report in REPORTS:
            path = f"/reports/{report}?from={first.isoformat()}&to={last.isoformat()}"
            call("GET", path, token=token)  # warm: the caller's member and organization cached
            samples, reads = [], 0
            body: dict[str, Any] = {}
            for _ in range(ROUNDS):
                with opcount.counting() as ops:
                    began = time.perf_counter()
                    response = call("GET", path, token=token)
                    samples.append(time.perf_counter() - began)
                assert response.status == 200, response.body
                reads, body = ops.reads, dict(response.body)
            same = _figures(body) == expected[report]
            differences += int(not same)
            figures[f"{report} {days}d"] = {
                "reads": reads,
                "p50Ms": round(statistics.median(samples) * 1000, 1),
                "equalsBruteForce": same,
            }
    out["endpoints"] = figures
    out["reportsDifferingFromBruteForce"] = differences
    return out


def main() -> None:
    """python -m bench.reports_bench [--leads N] [--quick]: on a fresh emulator."""
    import argparse
    import json

    from bench import env

    parser = argparse.ArgumentParser(prog="bench.reports_bench")
    parser.add_argument("--leads", type=int, default=50_000, help="leads of the generated organization")
    parser.add_argument("--quick", action="store_true", help="2,000 leads, for development")
    args = parser.parse_args()
    with env.firestore():
        print(json.dumps(reports_bench(2_000 if args.quick else args.leads), indent=1))


if __name__ == "__main__":
    main()
