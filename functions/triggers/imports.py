"""The large-import task-queue function: each delivery runs a slice of one import and queues the next."""

from __future__ import annotations

import logging
from typing import Any

from firebase_functions import options, tasks_fn

from core import secrets
from core.settings import REGION

log = logging.getLogger("justo")


@tasks_fn.on_task_dispatched(
    region=REGION,
    retry_config=options.RetryConfig(max_attempts=10, min_backoff_seconds=10),
    rate_limits=options.RateLimits(max_concurrent_dispatches=4),
    timeout_sec=540,
    memory=options.MemoryOption.GB_1,
    secrets=list(secrets.names(secrets.SEARCH_KEY)),  # new leads carry keyed search tokens
)
def leadimport(req: tasks_fn.CallableRequest[Any]) -> None:
    """Task queue `leadimport`: run the import from its recorded offset (a redelivery resumes, never repeats)."""
    from leads import imports

    log.info("lead import task: %s", imports.deliver(dict(req.data or {})))
