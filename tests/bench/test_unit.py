"""The harness's own maths: percentiles, ratios, regressions against the previous run, and op counting."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import opcount
from bench.fuzz import FuzzResult
from bench.stats import flatten, percentile, ratio, regressions, summary_ms

pytestmark = pytest.mark.unit


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0 and percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == 2.5
    assert percentile([float(n) for n in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_ratio_and_summary() -> None:
    assert ratio(1.1, 1.0) == 1.1 and ratio(2, 3) == 0.667
    assert ratio(5, 0) is None
    summary = summary_ms([0.010, 0.020, 0.030])
    assert summary == {"p50": 20.0, "p95": 29.0, "mean": 20.0, "n": 3}


def test_flatten_keeps_numeric_leaves_with_dotted_keys() -> None:
    tree = {"a": {"b": 1, "c": {"ratio": 1.5}, "ok": True, "name": "x"}, "n": 2.0}
    assert flatten(tree) == {"a.b": 1.0, "a.c.ratio": 1.5, "n": 2.0}


def test_a_ratio_that_grew_beyond_the_tolerance_is_a_regression() -> None:
    before = {"coldStart": {"members": {"ratio": 1.0, "seconds": 0.5}}}
    after = {"coldStart": {"members": {"ratio": 1.2, "seconds": 9.0}}}
    found = regressions(before, after, tolerance=0.15)
    assert [(r.key, r.previous, r.current) for r in found] == [("coldStart.members.ratio", 1.0, 1.2)]
    assert found[0].change == pytest.approx(0.2)
    # raw seconds are not compared (a busy machine moves them); a small drift in a ratio is tolerated
    assert regressions(before, {"coldStart": {"members": {"ratio": 1.1, "seconds": 9.0}}}) == []


def test_any_extra_read_or_write_is_a_regression_and_less_throughput_too() -> None:
    before = {"ops": {"cold": {"reads": 2, "writes": 0}}, "import": {"rowsPerSecond": 1000}}
    after = {"ops": {"cold": {"reads": 3, "writes": 0}}, "import": {"rowsPerSecond": 700}}
    keys = [r.key for r in regressions(before, after)]
    assert keys == ["import.rowsPerSecond", "ops.cold.reads"]
    assert regressions(after, before) == []  # improvements are not regressions
    assert regressions({}, after) == []  # nothing to compare with yet


def test_op_counter_counts_reads_writes_and_written_documents() -> None:
    class FakeDocument:
        def __init__(self, name: str) -> None:
            self.name = name

    class FakeResponse:
        def __init__(self, found: object = None, document: object = None) -> None:
            self.found, self.missing, self.document = found, None, document

    class FakeWrite:
        def __init__(self, name: str) -> None:
            self.update, self.delete, self.transform = FakeDocument(name), "", None

    def batch_get(self: object, request: object = None, **_: object) -> object:
        return iter([FakeResponse(found=FakeDocument("a")), FakeResponse(found=FakeDocument("b"))])

    def run_query(self: object, request: object = None, **_: object) -> object:
        return iter([FakeResponse()])  # no documents: still billed one read

    def commit(self: object, request: object = None, **_: object) -> object:
        return "committed"

    wrapped_get = opcount._wrapper("batch_get_documents", batch_get)
    wrapped_query = opcount._wrapper("run_query", run_query)
    wrapped_commit = opcount._wrapper("commit", commit)
    with opcount.counting() as ops:
        assert len(list(wrapped_get(None, {}))) == 2
        list(wrapped_query(None, {}))
        prefix = "projects/p/databases/(default)/documents/"
        assert wrapped_commit(None, {"writes": [FakeWrite(prefix + "orgs/o/x/1"), FakeWrite(prefix + "orgs/o")]})
    assert (ops.reads, ops.writes) == (3, 2)
    assert dict(ops.written) == {"orgs/o/x/1": 1, "orgs/o": 1}
    assert ops.as_dict() == {"reads": 3, "writes": 2, "roundTrips": 3}
    list(wrapped_get(None, {}))  # outside the block: not counted
    assert ops.reads == 3


def _latency(mine: float, raw: float) -> dict[str, object]:
    figure = {"p50": mine, "p95": mine * 2, "mean": mine, "n": 3}
    baseline = {"p50": raw, "p95": raw * 2, "mean": raw, "n": 3}
    minimum = {"reads": 1, "writes": 4}
    ops = {"cold": {"reads": 2, "writes": 5}, "warm": {"reads": 2, "writes": 5}, "minimum": minimum}
    return {"latencyMs": figure, "rawLatencyMs": baseline, "p50": {"ratio": ratio(mine, raw)},
            "p95": {"ratio": ratio(mine * 2, raw * 2)}, "ops": ops}  # fmt: skip


@pytest.mark.parametrize(("mine", "raw", "verdict"), [(12.0, 10.0, "ok"), (30.0, 10.0, "OVER"), (5.0, 10.0, "ok")])
def test_capture_latency_rows_show_p50_and_p95_beside_the_raw_client_with_the_goal(
    mine: float, raw: float, verdict: str
) -> None:
    from bench import run

    cases = {
        "POST /webhooks/capture/s (new lead)": _latency(mine, raw),
        "POST /webhooks/capture/s (repeat)": _latency(raw, raw),
    }
    rows = run.latency_rows("capture", cases)
    assert [row[:2] for row in rows] == [
        ["capture p50", "POST /webhooks/capture/s (new lead)"],
        ["capture p95", "POST /webhooks/capture/s (new lead)"],
        ["capture p50", "POST /webhooks/capture/s (repeat)"],
        ["capture p95", "POST /webhooks/capture/s (repeat)"],
    ]
    assert rows[0][2:] == [f"{mine:.1f} ms", f"raw client {raw:.1f} ms", f"{mine / raw:.2f}x", "<=1.2x", verdict]
    assert rows[1][2] == f"{mine * 2:.1f} ms" and rows[1][6] == verdict
    assert rows[2][4] == "1.00x" and rows[2][6] == "ok"
    text = run.table({"captureLatency": cases})
    assert text.count("capture p50") == 2 and text.count("ABOVE MIN") == 2  # 2r/5w against a minimum of 1r/4w


def test_capture_latency_is_compared_with_the_previous_run() -> None:
    from bench import run

    before = {"captureLatency": {"new": _latency(10.0, 10.0)}}
    after = {"captureLatency": {"new": _latency(20.0, 10.0)}}
    keys = {regression.key for regression in run.compare(before, after)}
    assert "captureLatency.new.p50.ratio" in keys


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=80), st.sampled_from([1.0, 10.0]))
def test_the_busiest_window_is_what_a_brute_force_count_finds(times: list[float], window: float) -> None:
    from bench import hotdocs

    brute = max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)
    assert hotdocs.max_in_window(times, window) == brute


def test_hot_documents_are_ranked_by_sustained_then_burst_rate() -> None:
    from bench import hotdocs

    steady = [float(s) for s in range(120)]  # 1 write/s for two minutes
    burst = [100 + s / 10 for s in range(30)]  # 30 writes in 3 s, then nothing
    rows = hotdocs.top({"orgs/o/a/steady": steady, "orgs/o/a/burst": burst, "orgs/o/a/cold": [5.0]}, 120.0)
    assert [row["document"] for row in rows] == ["orgs/o/a/steady", "orgs/o/a/burst", "orgs/o/a/cold"]
    assert rows[0]["peakPerSecond60s"] == 1.0 and rows[0]["peakPerSecond10s"] == 1.0
    assert rows[1]["peakPerSecond10s"] == 3.0 and rows[1]["peakPerSecond60s"] == 0.5
    assert hotdocs.rates(burst, 30.0)["peakPerSecond60s"] == 1.0  # a short run: its whole length is the window
    assert hotdocs.pattern("orgs/demo/reportDays/2026-12-02-1") == "orgs/*/reportDays/*"


def test_load_refusals_are_told_apart_by_who_answered() -> None:
    import httpx

    from bench.load import Ledger, _refused

    ledger = Ledger(run="r")
    ours = httpx.Response(404, json={"error": {"code": "NOT_FOUND", "message": "Lead not found"}})
    emulator = httpx.Response(404, text="Function us-central1-leads does not exist, valid functions are: auth")
    misrouted = httpx.Response(404, json={"error": {"code": "NOT_FOUND", "message": "No such endpoint"}})
    for response in (ours, emulator, emulator, misrouted):
        _refused(ledger, "get lead", "GET", "/leads/x", response)
    assert ledger.refusals == {
        "get lead 404 (handler) NOT_FOUND": 1,
        "get lead 404 (emulator) -": 2,
        "get lead 404 (misrouted) NOT_FOUND": 1,
    }
    assert len(ledger.refusal_samples) == 3 and "does not exist" in ledger.refusal_samples[1]


RESET_CASE = """
_____________________________ PATCH /org/channels ______________________________
1. Test Case ID: x2pr1w
- ST101 Server error
[500] Internal Server Error:
    `{body}`
Reproduce with:
"""


def fuzz_output(*bodies: str) -> str:
    return "=== FAILURES ===\n" + "".join(RESET_CASE.replace("{body}", body) for body in bodies)


def test_a_fuzz_run_failing_only_on_the_emulators_connection_resets_is_told_apart() -> None:
    resets = ['{"errno":-104,"code":"ECONNRESET","syscall":"read"}', '{"code":"ECONNRESET"}']
    refused = '{"errno":-111,"code":"ECONNREFUSED","syscall":"connect","address":"127.0.0.1","port":9028}'
    assert FuzzResult(1, fuzz_output(refused), Path("j")).only_emulator_resets  # a worker not listening yet
    assert FuzzResult(1, fuzz_output(*resets), Path("j")).only_emulator_resets
    handler = '{"error":{"code":"INTERNAL","message":"Something went wrong"}}'
    assert not FuzzResult(1, fuzz_output(resets[0], handler), Path("j")).only_emulator_resets
    assert not FuzzResult(1, fuzz_output("not json"), Path("j")).only_emulator_resets
    # a failing case that is not a server error (a schema mismatch) is never excused
    schema_only = fuzz_output(resets[0]) + "2. Test Case ID: abc123\n- ST108 Response violates schema\n"
    assert not FuzzResult(1, schema_only, Path("j")).only_emulator_resets
    assert not FuzzResult(1, "crashed before any case", Path("j")).only_emulator_resets


def test_the_emulators_unfinished_executions_are_counted_per_function_after_the_offset(tmp_path: Path) -> None:
    from bench import loadcheck

    log = tmp_path / "emulators.log"
    earlier = 'i  functions: Beginning execution of "asia-south1-reportcalls"\n'
    log.write_text(
        earlier
        + 'i  functions: Beginning execution of "asia-south1-reportcalls"\n'
        + 'i  functions: Beginning execution of "asia-south1-leads"\n'
        + 'i  functions: Finished "asia-south1-leads" in 12.5ms\n'
        + 'i  functions: Beginning execution of "asia-south1-reportcalls"\n'
        + "i  Request to function failed: Error: socket hang up\n"
        + 'i  functions: Finished "asia-south1-reportcalls" in 8ms\n'
        + 'i  functions: Beginning execution of "asia-south1-reportleads"\n'
        + ">  [2026-12-02 12:30:26,098] ERROR in app: Exception on /functions/projects/ [POST]\n"
        + ">  Traceback (most recent call last):\n"
        + '>    File "/work/main/functions/core/deploy.py", line 80, in guarded\n'
        + '>    File "/work/main/functions/triggers/reports.py", line 41, in reportleads\n'
        + '>    File "/work/main/functions/reports/events.py", line 40, in on_lead\n'
        + ">  google.api_core.exceptions.Unknown: None \n"
        + ">  During handling of the above exception, another exception occurred:\n"
        + '>    File "/work/main/functions/triggers/reports.py", line 41, in reportleads\n'
        + 'i  functions: Finished "asia-south1-reportleads" in 1571.66ms\n'
    )
    counted = loadcheck.executions(log, offset=len(earlier))
    assert counted == {
        "executions": 4,
        "unfinished": {"reportcalls": 1},
        "triggersRaised": {"reportleads": 1},  # once, though its frame is in both tracebacks
        "requestsDropped": 1,
    }
    assert loadcheck.executions(log)["unfinished"] == {"reportcalls": 2}


def test_the_fuzzer_knows_its_own_uid_from_its_token() -> None:
    import base64
    import json

    from bench.fuzz import token_uid

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    token = ".".join([part({"alg": "none"}), part({"user_id": "demo-admin", "sub": "demo-admin"}), ""])
    assert token_uid(token) == "demo-admin"


def test_the_reaper_ends_a_worker_whose_shell_is_gone_and_spares_one_whose_shell_lives() -> None:
    """As the Functions emulator leaves them, in the suite's process group: a worker whose launching process
    was killed (the worker now a child of init) beside a worker whose launcher still runs."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from bench import stackctl

    worker = "['bash', '-c', 'exec -a functions-framework sleep 60']"
    quiet = "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL"
    launcher = f"import subprocess; print(subprocess.Popen({worker}, {quiet}).pid)"  # prints its worker, then ends
    script = (
        "import subprocess, sys, time\n"
        f"kept = subprocess.Popen({worker}, {quiet})\n"
        f"orphan = subprocess.run([sys.executable, '-c', {launcher!r}], capture_output=True, text=True).stdout\n"
        "print(orphan.strip(), kept.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    suite = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        orphan, kept = (int(pid) for pid in (suite.stdout.readline() if suite.stdout else "").split())
        deadline = time.monotonic() + 10
        while orphan not in stackctl.orphaned_workers(suite.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stackctl.orphaned_workers(suite.pid) == [orphan]
        assert stackctl.reap(suite.pid) == 1
        time.sleep(0.2)
        assert stackctl.orphaned_workers(suite.pid) == []
        assert kept in stackctl.descendants(suite.pid), "the worker whose launcher lives is left alone"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(suite.pid, signal.SIGKILL)
        suite.wait()


def test_the_emulators_socket_errors_are_told_apart_from_our_handlers_error_bodies() -> None:
    from bench import env

    assert env.emulator_socket_error('{"errno":-104,"code":"ECONNRESET","syscall":"connect","port":8388}')
    assert env.emulator_socket_error('{"code":"ECONNREFUSED","errno":-111}')
    assert not env.emulator_socket_error('{"error":{"code":"UNAVAILABLE","message":"Too many concurrent changes"}}')
    assert not env.emulator_socket_error('{"code":"INTERNAL"}') and not env.emulator_socket_error(
        "Internal Server Error"
    )
