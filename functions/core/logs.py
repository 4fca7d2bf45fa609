"""Logs as Cloud Logging reads them: one JSON object per line with `severity`, the request's trace, the
function's name and the request id a client sees in a 500 body (Cloud Run parses JSON lines on stdout and
stderr into structured entries; `logging.googleapis.com/trace` links an entry to its request).

Nothing personal reaches a log: messages name ids, never emails or numbers, and as a backstop every line is
scrubbed of email addresses and phone-like runs of 10 to 15 digits (an exception's message may quote a value).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NUMBER = re.compile(r"(?<![\w-])\+?\d(?:[ -]?\d){9,14}(?![\w-])")  # 10 to 15 digits: a phone


@dataclass(frozen=True)
class RequestContext:
    """What ties a log line to its request: the id the client sees, and the Cloud Trace id."""

    request_id: str
    trace: str | None = None


_context: ContextVar[RequestContext | None] = ContextVar("justo_request", default=None)


def scrub(text: str) -> str:
    """The text without email addresses or phone-like runs of digits."""
    return _NUMBER.sub("[number]", _EMAIL.sub("[email]", text))


def trace_id(header: str | None) -> str | None:
    """The trace id of an `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` header (32 hex digits), or None."""
    candidate = (header or "").split("/", 1)[0].strip()
    return candidate if re.fullmatch(r"[0-9a-fA-F]{32}", candidate) else None


def function_name() -> str:
    """The running function: Cloud Run's service name, else the framework's target."""
    return os.environ.get("K_SERVICE") or os.environ.get("FUNCTION_TARGET") or "local"


@contextmanager
def request(*, trace_header: str | None = None, request_id: str | None = None) -> Iterator[RequestContext]:
    """Tag every line logged inside with a request id (new unless given) and the request's trace."""
    context = RequestContext(request_id or uuid.uuid4().hex[:16], trace_id(trace_header))
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def current() -> RequestContext | None:
    """The context of the request being served, if any."""
    return _context.get()


class CloudFormatter(logging.Formatter):
    """One JSON line per record, in Cloud Logging's structured shape."""

    def __init__(self, project_id: str | None = None) -> None:
        super().__init__()
        self.project_id = project_id or os.environ.get("GCLOUD_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT", "")

    def format(self, record: logging.LogRecord) -> str:
        """The record as Cloud Logging's JSON."""
        entry: dict[str, str] = {
            "severity": "WARNING" if record.levelname == "WARN" else record.levelname,
            "message": scrub(record.getMessage()),
            "logger": record.name,
            "function": function_name(),
        }
        context = current()
        if context is not None:
            entry["requestId"] = context.request_id
            if context.trace:
                entry["logging.googleapis.com/trace"] = f"projects/{self.project_id}/traces/{context.trace}"
        if record.exc_info:
            # Error Reporting groups entries whose `stack_trace` holds a Python traceback.
            entry["stack_trace"] = scrub("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, ensure_ascii=False)


class _SplitStream(logging.Handler):
    """ERROR and above to stderr, the rest to stdout, as the SDK's own logger does."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.ERROR else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a log line must never break a request
            self.handleError(record)


def install(project_id: str | None = None, *, level: int = logging.INFO) -> None:
    """Route the `justo` loggers through the Cloud Logging formatter (once per process)."""
    logger = logging.getLogger("justo")
    if any(isinstance(handler, _SplitStream) for handler in logger.handlers):
        return
    handler = _SplitStream()
    handler.setFormatter(CloudFormatter(project_id))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
