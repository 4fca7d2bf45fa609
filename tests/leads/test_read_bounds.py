"""A lead list, filter, search, stats or activity request reads at most its page (plus the fixed reads of the
lead it names; stats reads its scope's tally shards), and the export reads one page ahead of what it has sent,
whatever the organization's size: every read path measured on two generated organizations (bench/bigorg.py),
one six times the other."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bench import bigorg, opcount

pytestmark = pytest.mark.service

LIMIT = 10
SIZES = {"small": 150, "large": 900}


@pytest.fixture
def orgs(db: Any) -> dict[str, bigorg.BigOrg]:
    return {name: bigorg.generate(f"rb{name}", leads=n, members=12, teams=3, seed=7) for name, n in SIZES.items()}


def _requests(org: bigorg.BigOrg) -> dict[str, Any]:
    """name -> (caller, what it runs, the most reads it may make) for each role's read paths."""
    from core.pagination import PageQuery
    from leads import service, tallies
    from leads.models import LeadListQuery
    from leads.seed import member_caller

    out: dict[str, Any] = {}
    sample = org.sample_of[org.top_agent]
    for role, uid in (
        ("agent", org.top_agent),
        ("manager", org.managers[org.agents[org.top_agent]]),
        ("admin", org.admin_uid),
    ):
        caller = member_caller(org.org_id, uid)
        first, cursor = service.list_leads(caller=caller, query=LeadListQuery.model_validate({"limit": LIMIT}))
        assert len(first) == LIMIT and cursor
        queries = {
            "first page": {},
            "next page": {"cursor": cursor},
            "stage filter": {"stage": "new"},
            "source and stage": {"stage": "new", "source": "website"},
            "name search": {"q": "pri"},
            "phone search": {"q": org.phone_of(sample)},
            "phone prefix search": {"q": org.phone_of(sample)[:5]},
        }
        for name, params in queries.items():
            query = LeadListQuery.model_validate({"limit": LIMIT, **params})
            out[f"{role} {name}"] = (lambda c=caller, q=query: service.list_leads(caller=c, query=q), LIMIT)
        shards = tallies.SHARDS[{"agent": "member", "manager": "team", "admin": "org"}[role]]
        out[f"{role} stats"] = (lambda c=caller: service.stats(caller=c), shards)  # its scope's tally shards
    admin = member_caller(org.org_id, org.admin_uid)
    page = PageQuery.model_validate({"limit": LIMIT})
    busy = org.busy_leads[0]  # hundreds of entries
    out["busy lead's activity page"] = (lambda: service.list_activity(caller=admin, lead_id=busy, page=page), 1 + LIMIT)
    return out


def test_no_read_path_reads_more_than_its_page_at_any_size(orgs: dict[str, bigorg.BigOrg]) -> None:
    reads: dict[str, dict[str, int]] = {}
    aggregations: dict[str, dict[str, int]] = {}
    for size, org in orgs.items():
        for name, (run, bound) in _requests(org).items():
            with opcount.counting() as ops:
                run()
            reads.setdefault(name, {})[size] = ops.reads
            aggregations.setdefault(name, {})[size] = ops.rpcs["run_aggregation_query"]
            if name.endswith("stats"):
                assert ops.rpcs["run_query"] == ops.rpcs["run_aggregation_query"] == 0, f"{name} at {size}: counted"
            assert ops.reads <= bound, f"{name} at {size}: {ops.reads} reads for a page of {LIMIT}"
    for name, by_size in aggregations.items():
        assert by_size["small"] == by_size["large"], f"{name}: {by_size} aggregations"
    for name in ("agent first page", "manager first page", "admin first page", "admin next page"):
        assert reads[name]["small"] == reads[name]["large"] == LIMIT, (name, reads[name])


def test_the_export_streams_one_page_ahead_at_any_size(orgs: dict[str, bigorg.BigOrg], monkeypatch: Any) -> None:
    from leads import transfer
    from leads.seed import member_caller

    monkeypatch.setattr(transfer, "EXPORT_PAGE", 40)  # both organizations span many pages

    for size, org in orgs.items():
        caller = member_caller(org.org_id, org.admin_uid)
        with opcount.counting() as ops:
            lines = transfer.export_csv(caller=caller)
            first = list(itertools.islice(lines, 3))  # the header and two rows
            before_first_rows = ops.reads
            rest = sum(1 for _ in lines)
        assert len(first) == 3
        # the first page, and the next one being read meanwhile: never the whole organization
        assert before_first_rows <= 2 * transfer.EXPORT_PAGE, f"{size}: {before_first_rows} reads before the first rows"
        rows = len(first) - 1 + rest
        assert rows == org.leads - org.archived
        pages = -(-rows // transfer.EXPORT_PAGE) + 1  # each page, and the empty one that ends it
        assert ops.reads <= rows + pages + 3, f"{size}: {ops.reads} reads for {rows} rows"  # + the audit entry
