"""The stats tallies' arithmetic: what a lead contributes, and that the changes of any sequence of writes, summed
in any order, equal what the last state contributes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads import tallies

pytestmark = pytest.mark.unit

LEAD = {"stage": "new", "source": "website", "teamId": "north", "assigneeId": "u1", "archived": False}


def test_a_lead_counts_once_in_the_organization_its_team_and_its_assignee() -> None:
    expected = Counter({"total": 1, "stage.new": 1, "source.website": 1})
    assert tallies.contribution(LEAD) == {
        tallies.ORG: expected,
        ("team", "north"): expected,
        ("member", "u1"): expected,
    }


def test_an_archived_or_missing_lead_counts_nothing_and_a_queued_one_only_in_the_organization() -> None:
    assert tallies.contribution(None) == {} and tallies.contribution({**LEAD, "archived": True}) == {}
    queued = tallies.contribution({**LEAD, "teamId": None, "assigneeId": None, "source": None})
    assert queued == {tallies.ORG: Counter({"total": 1, "stage.new": 1})}


def test_a_stage_move_moves_one_count_and_an_edit_of_anything_else_none() -> None:
    moved = tallies.change(LEAD, {**LEAD, "stage": "contacted"})
    assert set(moved) == {tallies.ORG, ("team", "north"), ("member", "u1")}
    assert moved[tallies.ORG] == Counter({"stage.new": -1, "stage.contacted": 1})
    assert tallies.change(LEAD, {**LEAD, "name": "Renamed", "budget": 9}) == {}


def test_a_reassignment_moves_the_lead_between_members_and_teams_but_not_in_the_organization() -> None:
    moved = tallies.change(LEAD, {**LEAD, "teamId": "south", "assigneeId": "u2"})
    gone = Counter({"total": -1, "stage.new": -1, "source.website": -1})
    came = Counter({"total": 1, "stage.new": 1, "source.website": 1})
    assert moved == {("team", "north"): gone, ("member", "u1"): gone, ("team", "south"): came, ("member", "u2"): came}


def test_the_shard_document_holds_increments_by_map_or_the_values_themselves() -> None:
    from google.cloud.firestore_v1.transforms import Increment

    counts = Counter({"total": 1, "stage.site.visit": 1, "source.website": -1})
    written = tallies.document(("team", "north"), 3, counts)
    assert written["scope"] == "team" and written["id"] == "north" and written["shard"] == 3
    assert isinstance(written["total"], Increment) and set(written["stage"]) == {"site.visit"}
    whole = tallies.document(("team", "north"), 0, counts, increment=False)
    assert whole["total"] == 1 and whole["stage"] == {"site.visit": 1} and whole["source"] == {"website": -1}


_states = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "stage": st.sampled_from(["new", "contacted", "booked"]),
            "source": st.sampled_from(["website", "portal", None]),
            "teamId": st.sampled_from(["north", "south", None]),
            "assigneeId": st.sampled_from(["u1", "u2", "u3", None]),
            "archived": st.booleans(),
        }
    ),
)


@given(st.lists(_states, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_changes_summed_in_any_order_equal_the_last_states_contribution(
    states: list[dict[str, Any] | None], rng: Any
) -> None:
    writes = list(zip([None, *states[:-1]], states, strict=True))  # a lead's life from its creation
    rng.shuffle(writes)  # triggers may deliver them in any order
    total: dict[tallies.Scope, Counter[str]] = {}
    for before, after in writes:
        for scope, counts in tallies.change(before, after).items():
            total.setdefault(scope, Counter()).update(counts)
    summed = {scope: Counter({k: n for k, n in counts.items() if n}) for scope, counts in total.items()}
    assert {scope: counts for scope, counts in summed.items() if counts} == tallies.contribution(states[-1])
