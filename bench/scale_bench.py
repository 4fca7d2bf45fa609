"""The lead read paths on a large organization (bench/bigorg.py, 200,000 leads by default): for an agent (the one
with the most leads), the manager of the biggest team and an admin, each request's p50/p95 through the real
handlers beside the raw Firestore client doing the same minimal reads, the ratio, and the Firestore reads of one
request beside its page size; then the export of every lead (admin): rows/s beside the raw client paging
through the same leads, peak resident memory after 10,000 rows and at the end (flat when streamed), and the reads made
before the first byte (streamed: far fewer than the rows).

    python -m bench.scale_bench [--leads N] [--rounds N] [--slow-rounds N] [--partial FILE] [--only NAME]
    [--quick] (or python -m bench.run --only scale)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bigorg, env, opcount
from bench.stats import ratio, summary_ms

ORG = "bigorg"
PAGE = 50
DEEP_PAGES = 10  # pages of 200 walked to reach the deep cursor (2,000 leads in)
CALLER_READS = 2  # member and organization, with the instance cache cold (as bench/endpoints.py measures)
EXPORT_PAGE = 500
MEMORY_AT_ROWS = 10_000
FLAT_MIB = 32  # the process's peak RSS may move this much between 10,000 rows and the end and still be flat


def rss_mib() -> float:
    """The process's resident memory now (Linux /proc), in MiB: sampled, so the export runs at full speed
    (tracemalloc would slow every allocation of the handler and not of the raw client)."""
    import os

    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Case:
    """One request: the handler's call, the raw client's minimal reads, and the most reads it may make."""

    name: str
    call: Callable[[], Any]
    raw: Callable[[], Any]
    bound: int  # the reads a request may make: its page plus the fixed reads (caller, lead), never the org's size


@dataclass
class Role:
    """A member measured: its token and what the raw client filters on."""

    name: str
    uid: str
    role: str
    team: str | None
    token: str

    def scope(self, query: Any) -> Any:
        """The visible leads of this member as the raw client filters them."""
        from core import clients

        query = query.where(filter=clients.where("archived", "==", False))
        if self.role == "manager":
            return query.where(filter=clients.where("teamId", "==", self.team))
        if self.role == "agent":
            return query.where(filter=clients.where("assigneeId", "==", self.uid))
        return query


def _leads() -> Any:
    from leads import store

    return store.collection(ORG)


def _caller_reads(uid: str) -> None:
    from core import clients

    db = clients.db()
    db.document(f"orgs/{ORG}/members/{uid}").get()
    db.document(f"orgs/{ORG}").get()


def _page(query: Any, limit: int, after: tuple[Any, str] | None = None) -> list[dict[str, Any]]:
    """One page newest first, as the raw client reads it (documents decoded)."""
    from google.cloud.firestore import Query
    from google.cloud.firestore_v1.field_path import FieldPath

    ordered = query.order_by("createdAt", direction=Query.DESCENDING).order_by(
        FieldPath.document_id(), direction=Query.DESCENDING
    )
    if after is not None:
        ordered = ordered.start_after({"createdAt": after[0], FieldPath.document_id(): _leads().document(after[1])})
    return [{"id": s.id, **(s.to_dict() or {})} for s in ordered.limit(limit).stream()]


def _cold(call: Callable[[], Any]) -> Callable[[], Any]:
    """The handler with the per-instance member/org cache emptied first (its baseline reads the caller too)."""
    from core import tenancy

    def run() -> Any:
        tenancy.cache.clear()
        return call()

    return run


def _get(path: str, token: str) -> Callable[[], Any]:
    from devtools.inproc import call

    def run() -> Any:
        response = call("GET", path, token=token)
        if response.status != 200:
            raise AssertionError(f"GET {path}: {response.status} {response.text[:300]}")
        return response.body

    return _cold(run)


def roles(org: bigorg.BigOrg) -> list[Role]:
    """The agent with the most leads, the manager of the biggest team, the admin."""
    from devtools.inproc import id_token

    team = org.biggest_team
    members = [
        ("agent", org.top_agent, "agent", org.agents[org.top_agent]),
        ("manager", org.managers[team], "manager", team),
        ("admin", org.admin_uid, "admin", None),
    ]
    return [
        Role(name, uid, role, team_id, id_token(uid, {"orgId": ORG, "role": role, "teamId": team_id}))
        for name, uid, role, team_id in members
    ]


def _deep_cursor(role: Role) -> tuple[str, tuple[Any, str]] | None:
    """The API's cursor up to DEEP_PAGES pages of 200 in (fewer where the member sees fewer leads), and the
    (createdAt, id) it stands after; None when the member's leads fit in one page."""
    from core.pagination import decode_cursor
    from devtools.inproc import call

    cursor = ""
    for limit in [200] * DEEP_PAGES + [PAGE]:
        response = call("GET", f"/leads?limit={limit}{'&cursor=' + cursor if cursor else ''}", token=role.token)
        assert response.status == 200, response.text
        if not response.body.get("nextCursor"):
            if cursor:
                break
            continue  # too few for a page of 200: try a page of PAGE
        cursor = response.body["nextCursor"]
    if not cursor:
        return None
    return cursor, decode_cursor(cursor)


def cases(org: bigorg.BigOrg, role: Role) -> list[Case]:
    """The list, filter, search, stats and activity requests of one member, each with its raw baseline."""
    from core import clients
    from leads import search, store, tallies

    where = clients.where
    deep = _deep_cursor(role)
    sample = org.sample_of[org.top_agent]
    phone = org.phone_of(sample)
    busy = next((lead for lead in org.busy_leads if _sees(role, lead)), None)
    filters: dict[str, Any] = {"stage": "contacted"}
    if role.role != "agent":
        filters["source"] = "website"
    if role.role == "manager":
        filters = {"assigneeId": org.top_agent, "stage": "contacted"}
    query_string = "&".join(f"{k}={v}" for k, v in filters.items())

    def scoped(*extra: Any) -> Any:
        query = role.scope(_leads())
        for item in extra:
            query = query.where(filter=item)
        return query

    def raw_list(*extra: Any, after: tuple[Any, str] | None = None) -> Callable[[], Any]:
        def run() -> Any:
            _caller_reads(role.uid)
            return _page(scoped(*extra), PAGE, after)

        return run

    name_token, phone_token = search.query_token("Priya"), search.query_token(phone)
    out = [
        Case("list first page", _get(f"/leads?limit={PAGE}", role.token), raw_list(), CALLER_READS + PAGE),
        Case(
            f"filter {query_string}",
            _get(f"/leads?limit={PAGE}&{query_string}", role.token),
            raw_list(*(where(k, "==", v) for k, v in filters.items())),
            CALLER_READS + PAGE,
        ),
        Case(
            "search name q=Priya",
            _get(f"/leads?limit={PAGE}&q=Priya", role.token),
            raw_list(where("searchTokens", "array_contains", name_token)),
            CALLER_READS + PAGE,
        ),
        Case(
            "search phone (full number)",
            _get(f"/leads?limit={PAGE}&q={phone}", role.token),
            raw_list(where("searchTokens", "array_contains", phone_token)),
            CALLER_READS + PAGE,
        ),
    ]
    if deep is not None:
        cursor, after = deep
        deep_case = Case(
            "list deep page (cursor)",
            _get(f"/leads?limit={PAGE}&cursor={cursor}", role.token),
            raw_list(after=after),
            CALLER_READS + PAGE,
        )
        out.insert(1, deep_case)
    scope = {"admin": tallies.ORG, "manager": ("team", role.team or ""), "agent": ("member", role.uid)}[role.role]
    shards = [tallies.ref(ORG, scope, shard) for shard in range(tallies.SHARDS[scope[0]])]

    def raw_stats() -> Any:
        _caller_reads(role.uid)
        return [snapshot.to_dict() for snapshot in clients.db().get_all(shards)]

    out.append(Case("GET /leads/stats", _get("/leads/stats", role.token), raw_stats, CALLER_READS + len(shards)))
    if busy is not None:

        def raw_activity() -> Any:
            from google.cloud.firestore import Query

            _caller_reads(role.uid)
            store.ref(ORG, busy).get()
            query = store.child(ORG, busy, "activity").order_by("createdAt", direction=Query.DESCENDING)
            return [s.to_dict() for s in query.limit(PAGE).stream()]

        out.append(
            Case(
                "busy lead's activity page",
                _get(f"/leads/{busy}/activity?limit={PAGE}", role.token),
                raw_activity,
                CALLER_READS + 1 + PAGE,
            )
        )
    return out


def _sees(role: Role, lead_id: str) -> bool:
    from leads import store

    lead = store.get(ORG, lead_id)
    if lead is None or lead.archived:
        return False
    if role.role == "admin":
        return True
    if role.role == "manager":
        return lead.team_id == role.team
    return lead.assignee_id == role.uid


def _items(body: Any) -> int:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return len(body["items"])
    return len(body) if isinstance(body, list) else 0


def measure(case: Case, rounds: int) -> dict[str, Any]:
    """p50/p95 of the handler and its raw baseline, interleaved so both see the same machine load; the reads
    of the last round of each and its page size. A request the emulator cannot answer is reported, not fatal."""
    from google.api_core.exceptions import GoogleAPIError

    mine: list[float] = []
    raw: list[float] = []
    try:
        for round_ in range(rounds):
            last = round_ == rounds - 1
            with opcount.counting() as ops:
                began = time.perf_counter()
                body = case.call()
                mine.append(time.perf_counter() - began)
            with opcount.counting() as raw_ops:
                began = time.perf_counter()
                raw_body = case.raw()
                raw.append(time.perf_counter() - began)
            if last:
                break
    except (
        GoogleAPIError,
        AssertionError,
    ) as error:  # the emulator's deadline on a scan of a large collection: say so, go on
        return {"error": f"{type(error).__name__}: {str(error)[:200]}", "completedRounds": len(raw)}
    mine_ms, raw_ms = summary_ms(mine), summary_ms(raw)
    return {
        "latencyMs": mine_ms,
        "rawLatencyMs": raw_ms,
        "p50Ratio": ratio(mine_ms["p50"], raw_ms["p50"]),
        "p95Ratio": ratio(mine_ms["p95"], raw_ms["p95"]),
        "reads": ops.reads,
        "rawReads": raw_ops.reads,
        "readBound": case.bound,
        "withinBound": ops.reads <= case.bound,
        "items": _items(body),
        "rawItems": len(raw_body) if isinstance(raw_body, list) else None,
    }


# ---- export -------------------------------------------------------------------------------------------------


def stream_export(token: str) -> Iterator[str]:
    """GET /leads/export through the real handler, yielding the body's chunks as the runtime would send them."""
    from flask import request

    from devtools import inproc

    with inproc._app().test_request_context("/export", method="GET", headers={"Authorization": f"Bearer {token}"}):
        response = inproc._function("leads")(request)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.is_streamed, "the export is not streamed"
        yield from (chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in response.response)


def export(org: bigorg.BigOrg, admin: Role) -> dict[str, Any]:
    """Rows/s of the export beside the raw client paging through the same leads; peak Python memory after
    MEMORY_AT_ROWS rows and at the end; reads before the first byte."""
    from core import tenancy

    tenancy.cache.clear()
    mark = min(MEMORY_AT_ROWS, max(1, (org.leads - org.archived) // 5))  # a fifth of a small export
    with opcount.counting() as ops:
        began = time.perf_counter()
        rows, first_byte, reads_first, size = -1, None, None, 0
        start_rss = peak = rss_mib()
        peak_early: float | None = None
        for chunk in stream_export(admin.token):
            if first_byte is None:
                first_byte, reads_first = time.perf_counter() - began, ops.reads
            rows += chunk.count("\r\n")
            size += len(chunk)
            if rows % 500 == 0:
                peak = max(peak, rss_mib())
            if peak_early is None and rows >= mark:
                peak_early = peak
        seconds = time.perf_counter() - began
    peak = max(peak, rss_mib())
    began = time.perf_counter()
    raw_rows = 0
    after: tuple[Any, str] | None = None
    _caller_reads(admin.uid)
    while True:
        page = _page(admin.scope(_leads()), EXPORT_PAGE, after)
        raw_rows += len(page)
        if len(page) < EXPORT_PAGE:
            break
        after = (page[-1]["createdAt"], page[-1]["id"])
    raw_seconds = time.perf_counter() - began
    rate, raw_rate = rows / seconds, raw_rows / raw_seconds
    return {
        "rows": rows,
        "rawRows": raw_rows,
        "seconds": round(seconds, 2),
        "rawSeconds": round(raw_seconds, 2),
        "rowsPerSecond": round(rate),
        "rawRowsPerSecond": round(raw_rate),
        "ratio": ratio(seconds, raw_seconds),
        "bytes": size,
        "reads": ops.reads,
        "firstByteMs": round((first_byte or 0) * 1000, 1),
        "readsBeforeFirstByte": reads_first,
        "rssMiBAtStart": round(start_rss, 1),
        "earlyRows": mark,
        "peakRssMiBEarly": round(peak_early, 1) if peak_early is not None else None,
        "peakRssMiBAtEnd": round(peak, 1),
    }


def scale_bench(
    leads: int,
    *,
    rounds: int = 15,
    slow_rounds: int | None = None,
    partial: Path | None = None,
    only: str | None = None,
) -> dict[str, Any]:
    """Generate the organization, then every case of every role and the export.

    The emulator answers a query by scanning the collection (Firestore serves it from an index), so on a large
    organization one request can take longer than the functions' Firestore deadline (15 s): the bench lifts
    it for its run, for the handlers and the raw client alike, and puts it back."""
    import os

    saved = os.environ.get("FIRESTORE_DEADLINE_SECONDS")
    os.environ["FIRESTORE_DEADLINE_SECONDS"] = "900"
    env.reset_process_state()
    try:
        return _scale_bench(leads, rounds, rounds if slow_rounds is None else slow_rounds, partial, only)
    finally:
        if saved is None:
            os.environ.pop("FIRESTORE_DEADLINE_SECONDS", None)
        else:
            os.environ["FIRESTORE_DEADLINE_SECONDS"] = saved
        env.reset_process_state()


def _slow(case: Case) -> bool:
    """A search: on the emulator (a scan of the whole collection) it grows with the organization."""
    return case.name.startswith("search")


def _scale_bench(leads: int, rounds: int, slow_rounds: int, partial: Path | None, only: str | None) -> dict[str, Any]:
    """The page-cost cases of every role, then the export, then the searches (with `slow_rounds`):
    on a large organization the emulator's scans take minutes, so what is cheap is measured first; every result
    is written to `partial` as soon as it is measured (a run cut short keeps what it measured). `only`: the
    cases whose name holds it, and no export."""
    import json

    org = bigorg.generate(ORG, leads, progress=True)
    out: dict[str, Any] = {"generate": org.summary(), "rounds": rounds, "slowRounds": slow_rounds, "page": PAGE}
    out["cases"] = {}

    def keep() -> None:
        if partial is not None:
            partial.write_text(json.dumps(out, indent=1, default=str))

    keep()
    people = roles(org)
    planned = [(f"{role.name} ({_visible(org, role)} leads)", case) for role in people for case in cases(org, role)]
    planned = [(label, case) for label, case in planned if only is None or only in case.name]
    for label, case in [item for item in planned if not _slow(item[1])]:
        out["cases"][f"{label}: {case.name}"] = measure(case, rounds)
        keep()
    if only is None:
        out["export"] = export(org, people[-1])
        keep()
    for label, case in [item for item in planned if _slow(item[1])]:
        out["cases"][f"{label}: {case.name}"] = measure(case, slow_rounds)
        keep()
    return out


def _visible(org: bigorg.BigOrg, role: Role) -> int:
    if role.role == "agent":
        return org.leads_of[role.uid]
    if role.role == "manager" and role.team:
        return org.team_leads[role.team]
    return sum(org.leads_of.values())


def rows(results: dict[str, Any]) -> list[list[str]]:
    """Table rows (section, item, value, baseline, ratio, goal, verdict) for bench/run.py's table."""
    out = []
    leads = results["generate"]["leads"]
    for name, figure in results["cases"].items():
        if "error" in figure:
            out.append([f"scale {leads}", name, figure["error"][:80], "", "-", "", "FAILED"])
            continue
        mine, raw = figure["latencyMs"], figure["rawLatencyMs"]
        verdict = "ok" if figure["withinBound"] else "READS>PAGE"
        out.append(
            [
                f"scale {leads}",
                name,
                f"p50 {mine['p50']:.0f} ms p95 {mine['p95']:.0f} ms, {figure['reads']} reads/{figure['items']} items",
                f"raw p50 {raw['p50']:.0f} ms p95 {raw['p95']:.0f} ms, {figure['rawReads']} reads",
                f"{figure['p50Ratio']:.2f}x" if figure["p50Ratio"] is not None else "-",
                f"reads<={figure['readBound']}",
                verdict,
            ]
        )
    if "export" not in results:
        return out
    e = results["export"]
    early = e["peakRssMiBEarly"]
    flat = early is None or e["peakRssMiBAtEnd"] <= early + FLAT_MIB
    out.append(
        [
            f"scale {leads}",
            f"export {e['rows']} rows (first byte {e['firstByteMs']:.0f} ms after {e['readsBeforeFirstByte']} reads)",
            f"{e['rowsPerSecond']} rows/s, RSS {e['rssMiBAtStart']} MiB, peak {early} at {e['earlyRows']} rows,"
            f" {e['peakRssMiBAtEnd']} at the end",
            f"raw client {e['rawRowsPerSecond']} rows/s",
            f"{e['ratio']:.2f}x" if e["ratio"] is not None else "-",
            "flat memory",
            "ok" if flat else "GROWS",
        ]
    )
    return out


def main() -> None:
    """python -m bench.scale_bench [--leads N] [--rounds N] [--slow-rounds N] [--partial FILE] [--only NAME]: on a
    fresh emulator."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="bench.scale_bench")
    parser.add_argument("--leads", type=int, default=200_000, help="leads of the generated organization")
    parser.add_argument("--rounds", type=int, default=15, help="requests per case (and as many raw ones)")
    parser.add_argument("--slow-rounds", type=int, help="requests per search case (default: --rounds)")
    parser.add_argument("--partial", type=Path, help="a JSON file rewritten with every result as it is measured")
    parser.add_argument("--only", help="only the cases whose name holds this (e.g. stats), and no export")
    parser.add_argument("--quick", action="store_true", help="5,000 leads and 5 rounds, for development")
    args = parser.parse_args()
    leads, rounds = (5_000, 5) if args.quick else (args.leads, args.rounds)
    with env.firestore():
        results = scale_bench(leads, rounds=rounds, slow_rounds=args.slow_rounds, partial=args.partial, only=args.only)
    print(json.dumps(results, indent=1, default=str))
    for row in rows(results):
        print("  ".join(row))


if __name__ == "__main__":
    main()
