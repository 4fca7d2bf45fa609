"""The task-queue port: Cloud Tasks through firebase_admin (the tasks emulator locally), memory in tests.

One port for every task-queue function that schedules named tasks at a time (the reminders' `remind`, the
first-response SLA's `leadsla`): `queue(function)` is that function's queue."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core import clients, settings

log = logging.getLogger("justo")

QUEUE_FUNCTION = "remind"  # the task-queue function's name is the queue id: no underscores
# Cloud Tasks schedules at most 30 days ahead; the daily sweep enqueues what enters this window.
CLOUD_HORIZON = timedelta(days=29)


class TaskQueue(Protocol):
    """Schedules named tasks for one task-queue function."""

    horizon: timedelta  # how far ahead a task may be scheduled; later reminders wait for the sweep

    def enqueue(self, task_id: str, payload: dict[str, Any], at: datetime) -> bool:
        """Schedule a task at `at`; False when a task of that name exists already (a retry)."""
        ...

    def delete(self, task_id: str) -> None:
        """Delete a task that has not run yet; an unknown task is fine."""
        ...


class CloudTasksQueue:
    """Cloud Tasks through `firebase_admin.functions.task_queue` (the tasks emulator when its host is set)."""

    def __init__(self, *, function: str = QUEUE_FUNCTION, horizon: timedelta = CLOUD_HORIZON) -> None:
        self.function = function
        self.horizon = horizon

    def _queue(self) -> Any:
        from firebase_admin import functions

        config = settings.get()
        name = f"locations/{config.region}/functions/{self.function}"
        return functions.task_queue(name, app=clients.firebase_app())

    def enqueue(self, task_id: str, payload: dict[str, Any], at: datetime) -> bool:
        """Create the task; an existing name (a retry, or a name Cloud Tasks still remembers) is False."""
        from firebase_admin import exceptions, functions

        options = functions.TaskOptions(task_id=task_id, schedule_time=_naive_utc(at), dispatch_deadline_seconds=60)
        try:
            self._queue().enqueue({"data": payload}, options)
        except (exceptions.AlreadyExistsError, exceptions.ConflictError):  # 409: the name is taken
            return False
        except ValueError:
            # firebase-admin 7.7 on the tasks emulator: the emulator echoes a named task without the leading
            # "/" the SDK then strips, so parsing the reply fails after the task was created.
            if not os.environ.get("CLOUD_TASKS_EMULATOR_HOST"):
                raise
        return True

    def delete(self, task_id: str) -> None:
        """Delete the task; not found (already ran or deleted) is fine."""
        from firebase_admin import exceptions

        try:
            self._queue().delete(task_id)
        except exceptions.NotFoundError:
            return
        except exceptions.FirebaseError as error:
            log.warning("%s task delete failed: %s", self.function, type(error).__name__)


def _naive_utc(at: datetime) -> datetime:
    """firebase_admin formats schedule_time with strftime and a literal Z: give it UTC."""
    from datetime import UTC

    return at.astimezone(UTC).replace(tzinfo=None)


@dataclass
class MemoryQueue:
    """Tests: tasks kept in memory, names refused while remembered (as Cloud Tasks does)."""

    horizon: timedelta = CLOUD_HORIZON
    tasks: dict[str, tuple[dict[str, Any], datetime]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def enqueue(self, task_id: str, payload: dict[str, Any], at: datetime) -> bool:
        """Keep the task unless its name was used."""
        if task_id in self.used:
            return False
        self.used.add(task_id)
        self.tasks[task_id] = (payload, at)
        return True

    def delete(self, task_id: str) -> None:
        """Forget the task (its name stays used)."""
        self.tasks.pop(task_id, None)


# Functions whose tasks may only be enqueued once due on the emulators, which dispatch at once whatever the
# schedule time: their schedulers keep a record and a sweep enqueues it on time (the local runner's minute
# sweep for reminders). Others (`leadsla`) are enqueued at once and their handler waits for the time itself.
DUE_ONLY_ON_EMULATORS = frozenset({QUEUE_FUNCTION})

_queues: dict[str, TaskQueue] = {}
_installed: dict[str | None, TaskQueue] = {}


def queue(function: str = QUEUE_FUNCTION) -> TaskQueue:
    """The configured queue of a task-queue function: Cloud Tasks; on the emulators, reminders only once due."""
    replacement = _installed.get(function, _installed.get(None))
    if replacement is not None:
        return replacement
    if function not in _queues:
        due_only = settings.get().emulator and function in DUE_ONLY_ON_EMULATORS
        _queues[function] = CloudTasksQueue(function=function, horizon=timedelta(0) if due_only else CLOUD_HORIZON)
    return _queues[function]


def install(replacement: TaskQueue | None, *, function: str | None = None) -> None:
    """Replace one function's queue, or every function's without `function` (tests); None restores."""
    if replacement is None:
        _installed.pop(function, None)
    else:
        _installed[function] = replacement
