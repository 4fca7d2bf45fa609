"""`make bench`: cold starts, import times, endpoint latency and Firestore operations, each as a ratio to a
baseline measured in the same run on the same machine; one table, and JSON under bench/results/ compared
with the previous run so regressions show.

    python -m bench.run [--rounds N] [--iterations N] [--captures N] [--burst N] [--quick] [--only SECTION]
                        [--no-save]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import coldstart, endpoints, env
from bench.stats import Regression, median, ratio, regressions

RESULTS = env.ROOT / "bench" / "results"
COLD_START_GOAL = 1.1
LATENCY_GOAL = 1.2


def https_functions() -> list[str]:
    """Every HTTPS function a deploy ships (triggers, task queues, schedules and emulator-only ones excluded)."""
    import importlib

    from registry import FUNCTIONS

    found = []
    for name, module in sorted(FUNCTIONS.items()):
        endpoint = getattr(getattr(importlib.import_module(module), name), "__firebase_endpoint__", None)
        if endpoint is not None and getattr(endpoint, "httpsTrigger", None) is not None:
            found.append(name)
    return found


def _fastest(samples: list[float]) -> float:
    """The best of several runs: on a shared machine noise only ever adds time, so the minimum is the
    steadiest estimate of the intrinsic cost (timeit's advice); medians are kept beside it in the JSON."""
    return min(samples)


def bench_imports(functions: list[str], runs: int) -> dict[str, Any]:
    """Cold import of functions/main.py per FUNCTION_TARGET beside the floor's imports and the whole stack."""
    whole_runs = [coldstart.import_seconds(f"import {coldstart.WHOLE_STACK_IMPORTS}") for _ in range(runs)]
    floor_runs = [coldstart.import_seconds(f"import {coldstart.FLOOR_IMPORTS}") for _ in range(runs)]
    every_runs = [coldstart.import_seconds("import main", extra_env={"FUNCTION_TARGET": ""}) for _ in range(runs)]
    whole, floor, every = _fastest(whole_runs), _fastest(floor_runs), _fastest(every_runs)
    result: dict[str, Any] = {
        "wholeStackSeconds": round(whole, 4),
        "floorSeconds": round(floor, 4),
        "mainAllFunctions": {"seconds": round(every, 4), "ratio": ratio(every, whole)},
    }
    for name in functions:
        samples = [coldstart.import_seconds("import main", extra_env={"FUNCTION_TARGET": name}) for _ in range(runs)]
        seconds = _fastest(samples)
        result[name] = {
            "seconds": round(seconds, 4),
            "medianSeconds": round(median(samples), 4),
            "ratio": ratio(seconds, whole),
            "floorRatio": ratio(seconds, floor),
            "beyondFloor": coldstart.beyond_floor(name, runs=runs),
        }
    return result


def bench_cold_starts(functions: list[str], host: str, rounds: int) -> dict[str, Any]:
    """Process start to first response, the floor and each function interleaved round by round: wall time
    (best and median) and the process's CPU time (median), each as a ratio to the floor's."""
    walls: dict[str, list[float]] = {name: [] for name in ["floor", *functions]}
    cpus: dict[str, list[float]] = {name: [] for name in walls}
    statuses: dict[str, int] = {}
    for _ in range(rounds):
        for name in walls:
            start = coldstart.cold_start(name, host)
            walls[name].append(start.seconds)
            cpus[name].append(start.cpu_seconds)
            statuses[name] = start.status
    floor, floor_median, floor_cpu = _fastest(walls["floor"]), median(walls["floor"]), median(cpus["floor"])
    result: dict[str, Any] = {
        "floor": {
            "seconds": round(floor, 4),
            "medianSeconds": round(floor_median, 4),
            "cpuSeconds": round(floor_cpu, 4),
            "status": statuses["floor"],
        }
    }
    for name in functions:
        seconds = _fastest(walls[name])
        first = coldstart.FIRST_REQUESTS.get(name)
        result[name] = {
            "seconds": round(seconds, 4),
            "ratio": ratio(seconds, floor),
            "medianSeconds": round(median(walls[name]), 4),
            "medianRatio": ratio(median(walls[name]), floor_median),
            "cpuSeconds": round(median(cpus[name]), 4),
            "cpuRatio": ratio(median(cpus[name]), floor_cpu),
            "status": statuses[name],
            "request": f"{first.method} /{name}{first.path}" if first else f"GET /{name}/",
        }
    return result


def bench_endpoints(iterations: int) -> dict[str, Any]:
    """Latency and operations of every endpoint case that exists in this tree."""
    cases = endpoints.members_endpoints()
    try:
        from bench import leads_bench
    except ImportError:
        leads_bench = None  # type: ignore[assignment]
    if leads_bench is not None and env.has_function("leads"):
        cases += leads_bench.leads_endpoints()
    return {case.name: endpoints.measure(case, iterations=iterations) for case in cases}


def bench_capture_latency(iterations: int) -> dict[str, Any] | None:
    """Capture latency (payload received to lead stored and push queued) beside the raw client, once the push
    receiver exists."""
    try:
        from bench import capture_bench
    except ImportError:
        return None
    if not env.has_function("webhooks"):
        return None
    return capture_bench.capture_latency(iterations)


def latency_rows(section: str, figures: dict[str, Any]) -> list[list[str]]:
    """Table rows of p50 and p95 latency per case, each beside its raw client and the ratio."""
    rows = []
    for name, figure in figures.items():
        mine, raw = figure["latencyMs"], figure["rawLatencyMs"]
        for pct in ("p50", "p95"):
            rows.append(
                _row(
                    f"{section} {pct}",
                    name,
                    f"{mine[pct]:.1f} ms",
                    f"raw client {raw[pct]:.1f} ms",
                    figure[pct]["ratio"],
                    LATENCY_GOAL,
                )
            )
    return rows


def bench_import_throughput(rows: int) -> dict[str, Any] | None:
    """CSV import rows/s beside a raw BulkWriter, once POST /leads/import exists."""
    try:
        from bench import leads_bench
    except ImportError:
        return None
    if not env.has_function("leads"):
        return None
    return leads_bench.import_throughput(rows)


def previous_results(exclude: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The most recent saved run."""
    runs = sorted(p for p in RESULTS.glob("bench-*.json") if p != exclude)
    if not runs:
        return None
    return runs[-1], json.loads(runs[-1].read_text())


def _row(section: str, item: str, value: str, baseline: str, figure: float | None, goal: float | None) -> list[str]:
    verdict = "" if goal is None or figure is None else ("ok" if figure <= goal else "OVER")
    return [
        section,
        item,
        value,
        baseline,
        "-" if figure is None else f"{figure:.2f}x",
        "" if goal is None else f"<={goal}x",
        verdict,
    ]


def _beyond(figure: dict[str, Any]) -> str:
    beyond = figure.get("beyondFloor")
    if not beyond:
        return ""
    heaviest = ", ".join(f"{package} {ms:.0f}" for package, ms in list(beyond["packages"].items())[:3])
    return f" (+{beyond['ms']:.0f} ms over floor: {heaviest})"


def table(results: dict[str, Any]) -> str:
    """The one table: every figure beside its baseline and the ratio."""
    rows = [["section", "item", "value", "baseline", "ratio", "goal", ""]]
    imports = results.get("imports", {})
    for name, figure in imports.items():
        if isinstance(figure, dict):
            rows.append(
                _row(
                    "import",
                    "main.py [all: deploy discovery]" if name == "mainAllFunctions" else f"main.py [{name}]",
                    f"{figure['seconds'] * 1000:.0f} ms" + _beyond(figure),
                    f"whole stack {imports['wholeStackSeconds'] * 1000:.0f} ms",
                    figure["ratio"],
                    None,
                )
            )
    cold = results.get("coldStart", {})
    for name, figure in cold.items():
        if name == "floor":
            continue
        floor = cold["floor"]
        rows.append(
            _row(
                "cold start",
                f"{name}: {figure['request'][:60]} -> {figure['status']}",
                f"median {figure['medianSeconds'] * 1000:.0f} ms, CPU {figure['cpuSeconds'] * 1000:.0f} ms"
                + (f" ({figure['cpuRatio']:.2f}x)" if figure.get("cpuRatio") is not None else ""),
                f"floor {floor['medianSeconds'] * 1000:.0f} ms, CPU {floor.get('cpuSeconds', 0) * 1000:.0f} ms",
                figure["medianRatio"],
                COLD_START_GOAL,
            )
        )
    rows += latency_rows("latency", results.get("endpoints", {}))
    rows += latency_rows("capture", results.get("captureLatency") or {})
    for name, figure in {**results.get("endpoints", {}), **(results.get("captureLatency") or {})}.items():
        ops, minimum = figure["ops"], figure["ops"]["minimum"]
        cold, warm = ops["cold"], ops["warm"]
        over = ops["cold"]["reads"] > minimum["reads"] or ops["cold"]["writes"] > minimum["writes"]
        rows.append(
            [
                "firestore ops",
                name,
                f"{cold['reads']}r/{cold['writes']}w cold, {warm['reads']}r/{warm['writes']}w warm",
                f"minimum {minimum['reads']}r/{minimum['writes']}w",
                "-",
                "",
                "ABOVE MIN" if over else "ok",
            ]
        )
    throughput = results.get("importThroughput")
    if throughput:
        rows.append(
            _row(
                "csv import",
                f"{throughput['rows']} rows",
                f"{throughput['rowsPerSecond']:.0f} rows/s",
                f"BulkWriter {throughput['bulkWriterRowsPerSecond']:.0f} rows/s",
                throughput["seconds"]["ratio"],
                None,
            )
        )
    storage = results.get("storageImport")
    if storage:
        rows.append(
            _row(
                "storage import",
                f"{storage['rows']} rows, {storage['writesPerRow']} writes/row",
                f"{storage['rowsPerSecond']:.0f} rows/s",
                f"BulkWriter {storage['bulkWriterRowsPerSecond']:.0f} rows/s, {storage['bulkWriterWritesPerRow']}/row",
                storage["ratio"],
                None,
            )
        )
    routing = results.get("routing")
    if routing:
        from bench import routing_bench

        for item, value, baseline in routing_bench.rows(routing):
            rows.append(["routing", item, value, baseline, "-", "", ""])
    reports = results.get("reports")
    if reports:
        for item, figure in reports["endpoints"].items():
            verdict = "ok" if figure["equalsBruteForce"] else "DIFFERS"
            value = f"{figure['reads']} reads, p50 {figure['p50Ms']:.0f} ms"
            rows.append(["reports", f"{item} ({reports['leads']} leads)", value, "brute force", "-", "", verdict])
    if results.get("scale"):
        from bench import scale_bench

        rows += scale_bench.rows(results["scale"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def compare(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[Regression]:
    """Regressions since the previous run (ratios beyond 15 %, any added read or write)."""
    if previous is None:
        return []
    keep = ("imports", "coldStart", "endpoints", "captureLatency", "importThroughput")
    return regressions({k: previous.get(k) or {} for k in keep}, {k: current.get(k) or {} for k in keep})


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, save and compare the JSON."""
    parser = argparse.ArgumentParser(prog="bench.run")
    parser.add_argument("--rounds", type=int, default=5, help="cold starts and imports per function (best of)")
    parser.add_argument("--iterations", type=int, default=60, help="requests per endpoint")
    parser.add_argument("--captures", type=int, default=60, help="captures per case (new lead, repeat enquiry)")
    parser.add_argument("--rows", type=int, default=10_000, help="CSV import rows")
    parser.add_argument("--storage-rows", type=int, default=100_000, help="rows of the Storage import")
    parser.add_argument("--burst", type=int, default=500, help="leads of the routing burst")
    parser.add_argument("--quick", action="store_true", help="small counts, for development")
    parser.add_argument(
        "--only",
        choices=("routing", "reports", "scale", "coldstart", "endpoints"),
        help="run one section alone (the others take minutes); coldstart: imports and cold starts",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="start functions from source alone (compiled on every start); by default our source is compiled "
        "first, as Cloud Functions' buildpack does at build",
    )
    parser.add_argument("--report-leads", type=int, default=50_000, help="leads of the reports' organization")
    parser.add_argument(
        "--scale-leads",
        type=int,
        default=3_000,
        help="leads of the scale bench's organization (200,000: python -m bench.scale_bench)",
    )
    parser.add_argument("--scale-rounds", type=int, default=3, help="requests per scale case")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.iterations, args.captures, args.rows, args.storage_rows = 2, 15, 15, 500, 2_000
        args.report_leads = 2_000
        args.scale_leads, args.scale_rounds = 1_000, 2
    started = time.monotonic()
    functions = https_functions()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadAverageAtStart": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "rounds": args.rounds,
            "iterations": args.iterations,
            "captures": args.captures,
            "rows": args.rows,
            "storageRows": args.storage_rows,
            "burst": args.burst,
        },
    }
    results["settings"]["sourceBytecode"] = not args.no_bytecode
    if args.no_bytecode:
        coldstart.remove_bytecode()
    else:
        coldstart.compile_sources()
    if args.only in (None, "coldstart"):
        print(f"bench: imports ({args.rounds} runs each)...", file=sys.stderr, flush=True)
        results["imports"] = bench_imports(functions, args.rounds)
    with env.firestore() as host:
        if args.only is None:
            _run_sections(results, args, functions, host)
        if args.only == "coldstart":
            print(f"bench: cold starts ({args.rounds} rounds)...", file=sys.stderr, flush=True)
            results["coldStart"] = bench_cold_starts(functions, host, args.rounds)
        if args.only == "endpoints":
            print(f"bench: endpoints ({args.iterations} requests each)...", file=sys.stderr, flush=True)
            results["endpoints"] = bench_endpoints(args.iterations)
        if args.only in (None, "routing"):
            from bench import routing_bench

            print(f"bench: routing ({args.iterations} creates each, a burst of {args.burst})...", file=sys.stderr)
            results["routing"] = {
                "latency": routing_bench.routing_latency(args.iterations),
                "burst": routing_bench.burst(args.burst),
            }
        if args.only in (None, "reports"):
            from bench import reports_bench

            print(f"bench: reports ({args.report_leads} leads, a year)...", file=sys.stderr, flush=True)
            results["reports"] = reports_bench.reports_bench(args.report_leads)
        if args.only in (None, "scale"):
            from bench import scale_bench

            print(
                f"bench: scale ({args.scale_leads} leads, {args.scale_rounds} rounds)...", file=sys.stderr, flush=True
            )
            results["scale"] = scale_bench.scale_bench(args.scale_leads, rounds=args.scale_rounds)
    _finish(results, args, started)
    return 0


def _run_sections(results: dict[str, Any], args: argparse.Namespace, functions: list[str], host: str) -> None:
    """Cold starts, endpoints, capture latency and the imports, on the bench's emulator."""
    print(f"bench: cold starts ({args.rounds} rounds)...", file=sys.stderr, flush=True)
    results["coldStart"] = bench_cold_starts(functions, host, args.rounds)
    print(f"bench: endpoints ({args.iterations} requests each)...", file=sys.stderr, flush=True)
    results["endpoints"] = bench_endpoints(args.iterations)
    print(f"bench: capture latency ({args.captures} captures each)...", file=sys.stderr, flush=True)
    results["captureLatency"] = bench_capture_latency(args.captures)
    print("bench: CSV import...", file=sys.stderr, flush=True)
    results["importThroughput"] = bench_import_throughput(args.rows)
    from bench import imports_bench

    print(f"bench: Storage import ({args.storage_rows} rows)...", file=sys.stderr, flush=True)
    with imports_bench.storage_emulator():
        results["storageImport"] = imports_bench.storage_import_throughput(args.storage_rows)


def _finish(results: dict[str, Any], args: argparse.Namespace, started: float) -> None:
    """Print the table, compare with the previous run and save the JSON."""
    results["machine"]["loadAverageAtEnd"] = round(os.getloadavg()[0], 2)
    results["machine"]["seconds"] = round(time.monotonic() - started, 1)
    print(table(results))
    print(
        f"\nmachine: {results['machine']['cpus']} cpus, load average {results['machine']['loadAverageAtStart']}"
        f" -> {results['machine']['loadAverageAtEnd']} (shared machine: compare ratios, not raw times);"
        f" imports are the best of {results['settings']['rounds']} runs, cold starts the median (CPU: the"
        f" function process's CPU time, steadier on a shared machine);"
        f" source {'compiled to bytecode first' if results['settings']['sourceBytecode'] else 'without bytecode'}"
    )
    found = previous_results()
    for regression in compare(found[1] if found else None, results):
        print(f"REGRESSION {regression.key}: {regression.previous} -> {regression.current}")
    if found:
        print(f"compared with {found[0].relative_to(env.ROOT)}")
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"saved {path.relative_to(env.ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
