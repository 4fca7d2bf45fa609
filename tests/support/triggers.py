"""The Firestore triggers of registry.FUNCTIONS, run in this process as Eventarc would run them after writes.

The http tier has no Functions emulator, so nothing fires after a handler writes. `Triggers.running()`
records the documents the block wrote (through bench.opcount's wrap of the Firestore client's commits),
reads each one back, and delivers a created / updated / written / deleted event with the document as it was
before and is now to every trigger whose path pattern matches, through the decorated function's own handler
(`__wrapped__`), with the event data the SDK would build. What the triggers write is delivered in turn,
until nothing changes. A trigger added to the registry is run without editing this file.

Limits, deliberately like production's at-least-once delivery: several writes of one document inside one
block arrive as one event (the last state), and the block's documents are delivered in path order.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench import opcount

EVENT_PREFIX = "google.cloud.firestore.document.v1."
MAX_ROUNDS = 8


@dataclass(frozen=True)
class Trigger:
    """One deployed Firestore trigger: its name, path pattern, event kind and undecorated handler."""

    name: str
    document: str
    kind: str  # written, created, updated, deleted
    handler: Callable[[Any], Any]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The document pattern as a regular expression with the path parameters as groups."""
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.document) + "$")


def discover() -> list[Trigger]:
    """Every Firestore trigger in registry.FUNCTIONS, read from the deploy manifest the SDK attaches."""
    from registry import FUNCTIONS

    found = []
    for name, module in FUNCTIONS.items():
        function = getattr(importlib.import_module(module), name)
        endpoint = getattr(function, "__firebase_endpoint__", None)
        trigger = getattr(endpoint, "eventTrigger", None) or {}
        event_type = str(trigger.get("eventType", ""))
        if not event_type.startswith(EVENT_PREFIX):
            continue
        document = trigger["eventFilterPathPatterns"]["document"]
        found.append(Trigger(name, document, event_type.removeprefix(EVENT_PREFIX), function.__wrapped__))
    return found


def _snapshot(path: str, data: dict[str, Any] | None) -> Any:
    from google.cloud.firestore_v1 import DocumentSnapshot

    from core import clients

    if data is None:
        return None
    return DocumentSnapshot(clients.db().document(path), data, True, None, None, None)


def _event_data(kind: str, path: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> Any:
    """What the SDK hands the handler for this kind of trigger, or None when the change is not of that kind."""
    from firebase_functions.firestore_fn import Change

    if kind == "written":
        return Change(before=_snapshot(path, before), after=_snapshot(path, after))
    if kind == "created" and before is None and after is not None:
        return _snapshot(path, after)
    if kind == "updated" and before is not None and after is not None:
        return Change(before=_snapshot(path, before), after=_snapshot(path, after))
    if kind == "deleted" and before is not None and after is None:
        return _snapshot(path, before)
    return None


@dataclass
class Triggers:
    """The last state of every document this process saw written, and the triggers that follow them."""

    triggers: list[Trigger] = field(default_factory=discover)
    known: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)  # trigger name -> events delivered
    # Called with (path, data) for every committed state seen, before any trigger runs on it (a listener's view).
    observer: Callable[[str, dict[str, Any] | None], None] | None = None
    held: set[str] = field(default_factory=set)  # triggers whose events wait for release()
    waiting: list[tuple[Trigger, str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)
    _events: int = 0

    @contextmanager
    def running(self) -> Iterator[None]:
        """Run the block, then deliver the events of every document it wrote (and of the triggers' writes)."""
        with opcount.counting() as ops:
            yield
        self.settle(ops.written)

    @contextmanager
    def holding(self, *names: str) -> Iterator[None]:
        """Keep the events of these triggers for release() (a trigger that has not run yet)."""
        self.held |= set(names)
        try:
            yield
        finally:
            self.held -= set(names)

    def release(self) -> None:
        """Deliver the held events now (with the documents as they were then), and what follows from them."""
        waiting, self.waiting = self.waiting, []
        with opcount.counting() as ops:
            for trigger, path, before, after in waiting:
                self._run(trigger, path, before, after)
        self.settle(ops.written)

    def settle(self, paths: Any) -> None:
        """Deliver the events of these written documents until the triggers write nothing new."""
        from core import clients

        pending = set(paths)
        for _ in range(MAX_ROUNDS):
            if not pending:
                return
            with opcount.counting() as ops:
                for path in sorted(pending):
                    snapshot = clients.db().document(path).get()
                    after = snapshot.to_dict() if snapshot.exists else None
                    before = self.known.get(path)
                    if before == after:
                        continue
                    self.known[path] = after
                    if self.observer is not None:
                        self.observer(path, after)
                    self._deliver(path, before, after)
            pending = set(ops.written)
        raise AssertionError(f"triggers kept writing after {MAX_ROUNDS} rounds: {sorted(pending)[:5]}")

    def _deliver(self, path: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        for trigger in self.triggers:
            if trigger.name in self.held:
                self.waiting.append((trigger, path, before, after))
            else:
                self._run(trigger, path, before, after)

    def _run(self, trigger: Trigger, path: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        from firebase_functions.firestore_fn import Event

        found = trigger.pattern.match(path)
        data = _event_data(trigger.kind, path, before, after) if found else None
        if found is None or data is None:
            return
        self._events += 1
        event = Event(
            specversion="1.0",
            id=f"inprocess-{self._events}",
            source="//firestore.googleapis.com/projects/demo-justo/databases/(default)",
            type=EVENT_PREFIX + trigger.kind,
            time=datetime.now(UTC),
            data=data,
            subject=f"documents/{path}",
            location="asia-south1",
            project="demo-justo",
            database="(default)",
            namespace="(default)",
            document=path,
            params=found.groupdict(),
        )
        trigger.handler(event)
        self.delivered[trigger.name] += 1
