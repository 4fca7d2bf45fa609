"""Every query shape the lead, task and purge code can issue has its index in firestore.indexes.json.

Each test module of tests/leads, tests/tasks and tests/projects already fails a test whose queries lack an
index (conftest.py); this module drives every filter combination of every role through the services so
that no shape is left to chance, and checks the matcher itself."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from leads import service, transfer
from leads.models import LeadListQuery
from privacy import archived as purge
from tasks import service as task_service
from tasks.models import TaskListQuery
from tests.support import indexes
from tests.support.leads import create, make_team

pytestmark = pytest.mark.http


def callers(team: Any) -> list[Any]:
    from leads.seed import member_caller

    return [member_caller("org1", person.uid) for person in (team.admin, team.manager, team.agent1, team.rm)]


def test_every_list_filter_combination_of_every_role_is_indexed(db: Any) -> None:
    team = make_team()
    create(team.agent1, "9000000001", stage="booked")
    options = {"stage": "new", "source": "website", "assigneeId": team.agent1.uid, "projectId": "p1", "q": "ra"}
    with indexes.recording() as recorder:
        for caller in callers(team):
            for size in range(len(options) + 1):
                for names in itertools.combinations(options, size):
                    query = LeadListQuery.model_validate({name: options[name] for name in names} | {"limit": 2})
                    _items, cursor = service.list_leads(caller=caller, query=query)
                    if cursor:
                        service.list_leads(caller=caller, query=query.model_copy(update={"cursor": cursor}))
            service.stats(caller=caller)
            for status, due in itertools.product((None, "open"), (None, datetime(2027, 1, 1, tzinfo=UTC))):
                for assignee in (None, team.agent1.uid):
                    task_query = TaskListQuery.model_validate(
                        {"status": status, "dueBefore": due, "assigneeId": assignee}
                    )
                    task_service.list_tasks(caller=caller, query=task_query)
        admin = callers(team)[0]
        for archived_query in ({"archived": True}, {"archived": True, "q": "ra", "stage": "new"}):
            service.list_leads(caller=admin, query=LeadListQuery.model_validate(archived_query))
        list(transfer.export_csv(caller=admin))
        purge.purge_archived(datetime(2030, 1, 1, tzinfo=UTC))
    assert len(recorder.shapes) > 40
    assert indexes.missing(recorder.shapes) == []
