"""Count Firestore reads, writes and round trips made in this process, by wrapping the GAPIC client's RPCs.

Billing rules applied (Firestore pricing): every document a get returns (found or missing) is one read; a
query is one read per document returned, at least one; an aggregation is one read per up to 1,000 index
entries, at least one (counted as one here); every write in a commit or batch write is one write.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
_OWN = tuple(str(_ROOT / folder) + "/" for folder in ("functions", "bench", "devtools"))

_RPCS = ("batch_get_documents", "run_query", "run_aggregation_query", "commit", "batch_write", "begin_transaction")


@dataclass
class Ops:
    """What one measured block cost."""

    reads: int = 0
    writes: int = 0
    rpcs: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)  # document path -> writes
    track_sites: bool = False  # walking the stack per read costs: only where a breakdown is asked for
    read_sites: Counter[str] = field(default_factory=Counter)  # project call site -> reads (when tracked)
    read_paths: Counter[str] = field(default_factory=Counter)  # document path -> reads (gets and queries)

    def breakdown(self, top: int = 20) -> list[tuple[str, int]]:
        """The call sites in this project that made the most reads, most first."""
        return self.read_sites.most_common(top)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly figures with stable keys."""
        return {"reads": self.reads, "writes": self.writes, "roundTrips": sum(self.rpcs.values())}


_lock = threading.Lock()
_active: list[Ops] = []


def _field(request: Any, name: str) -> Any:
    if isinstance(request, dict):
        return request.get(name)
    return getattr(request, name, None)


def _doc_path(name: str) -> str:
    return name.split("/documents/", 1)[-1]


def _record(update: Callable[[Ops], None]) -> None:
    with _lock:
        for ops in _active:
            update(ops)


def _writes_of(request: Any) -> list[str]:
    paths = []
    for write in _field(request, "writes") or []:
        update, transform = _field(write, "update"), _field(write, "transform")
        name = (
            (_field(update, "name") if update else None)
            or _field(write, "delete")
            or (_field(transform, "document") if transform else None)
        )
        paths.append(_doc_path(str(name or "?")))
    return paths


def _call_site() -> str:
    """The innermost frames of this project's code (functions/, bench/) that led to a read."""
    # functions/venv is a symlink inside functions/: its frames resolve elsewhere, so startswith keeps them out.
    frames = [
        f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_stack()
        if frame.filename.startswith(_OWN) and not frame.filename.endswith("opcount.py")
    ]
    return " < ".join(reversed(frames[-3:])) or "?"


def _add_reads(count: int, path: str | None = None) -> None:
    site = _call_site() if any(ops.track_sites for ops in _active) else "?"

    def add(ops: Ops) -> None:
        ops.reads += count
        if ops.track_sites:
            ops.read_sites[site] += count
        if path is not None:
            ops.read_paths[path] += count

    _record(add)


def _wrap_stream(rpc: str, stream: Iterator[Any]) -> Iterator[Any]:
    # Reads are counted as responses arrive: callers often stop iterating early (a get takes one).
    documents = 0
    try:
        for response in stream:
            if rpc == "batch_get_documents":
                hit = _field(response, "found")
                name = (_field(hit, "name") if hit else None) or _field(response, "missing")
            else:
                document = _field(response, "document")
                name = _field(document, "name") if document else None
            if name:
                documents += 1
                _add_reads(1, _doc_path(str(name)))
            yield response
    finally:
        if rpc == "run_query" and documents == 0:
            _add_reads(1)  # an empty query is billed one read


def _wrapper(rpc: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def counted(self: Any, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        _record(lambda ops: ops.rpcs.update([rpc]))
        if rpc in {"commit", "batch_write"}:
            paths = _writes_of(request)

            def add(ops: Ops) -> None:
                ops.writes += len(paths)
                ops.written.update(paths)

            _record(add)
        if rpc == "run_aggregation_query":
            _add_reads(1)
        result = original(self, request, *args, **kwargs)
        if rpc in {"batch_get_documents", "run_query"}:
            return _wrap_stream(rpc, result)
        return result

    counted.__wrapped__ = original  # type: ignore[attr-defined]
    return counted


def install() -> None:
    """Wrap the RPCs once per process (idempotent); counting happens only inside `counting()`."""
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    for rpc in _RPCS:
        method = getattr(FirestoreClient, rpc)
        if not hasattr(method, "__wrapped__"):
            setattr(FirestoreClient, rpc, _wrapper(rpc, method))


@contextlib.contextmanager
def counting(*, sites: bool = False) -> Iterator[Ops]:
    """Count every Firestore operation made in this process while the block runs (`sites`: also by call site)."""
    install()
    ops = Ops(track_sites=sites)
    with _lock:
        _active.append(ops)
    try:
        yield ops
    finally:
        with _lock:
            _active.remove(ops)
