"""The Firestore emulator's REST API as the app would reach it: every request carries the caller's ID token,
so firestore.rules decide (the Python admin client would bypass them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

PROJECT = "demo-justo"
ROOT = f"projects/{PROJECT}/databases/(default)/documents"


class UnexpectedReply(AssertionError):
    """The emulator answered neither success nor PERMISSION_DENIED: the cell proves nothing."""


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Firestore REST `Value`."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, datetime):
        return {"timestampValue": value.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, dict):
        return {"mapValue": {"fields": {k: encode(v) for k, v in value.items()}}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [encode(v) for v in value]}}
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True)
class Query:
    """A structured query on one collection (or a collection group) under `parent` (a document path or '')."""

    collection: str
    parent: str = ""
    where: tuple[tuple[str, str, Any], ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    all_descendants: bool = False
    limit: int = 50

    def body(self) -> dict[str, Any]:
        """The runQuery request body."""
        query: dict[str, Any] = {
            "from": [{"collectionId": self.collection, "allDescendants": self.all_descendants}],
            "limit": self.limit,
        }
        filters = [
            {"fieldFilter": {"field": {"fieldPath": path}, "op": op, "value": encode(value)}}
            for path, op, value in self.where
        ]
        if len(filters) == 1:
            query["where"] = filters[0]
        elif filters:
            query["where"] = {"compositeFilter": {"op": "AND", "filters": filters}}
        if self.order_by:
            query["orderBy"] = [{"field": {"fieldPath": f}, "direction": d} for f, d in self.order_by]
        return {"structuredQuery": query}

    def describe(self) -> str:
        """A short human form: `leads where teamId == 'north' order by updatedAt desc`."""
        text = ("collection group " if self.all_descendants else "") + self.collection
        if self.where:
            text += " where " + " and ".join(f"{p} {_OPS[o]} {v!r}" for p, o, v in self.where)
        if self.order_by:
            text += " order by " + ", ".join(f"{f} {d[:-6].lower() or d}" for f, d in self.order_by)
        return text


_OPS = {"EQUAL": "==", "NOT_EQUAL": "!=", "LESS_THAN": "<", "GREATER_THAN": ">", "IN": "in"}


@dataclass
class Client:
    """Requests to one emulator as one caller (token None: signed out)."""

    host: str
    token: str | None
    session: requests.Session = field(default_factory=requests.Session)

    def _url(self, path: str) -> str:
        return f"http://{self.host}/v1/{ROOT}" + (f"/{path}" if path else "")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _send(self, method: str, url: str, **kwargs: Any) -> bool:
        """True when allowed, False when the rules denied; anything else is an UnexpectedReply."""
        response = self.session.request(method, url, headers=self._headers(), timeout=20, **kwargs)
        if response.status_code == 200:
            return True
        if response.status_code == 403 and "PERMISSION_DENIED" in response.text:
            return False
        raise UnexpectedReply(f"{method} {url} answered {response.status_code}: {response.text[:300]}")

    def get(self, path: str) -> bool:
        """Read one document (a document listener asks the same rule)."""
        return self._send("GET", self._url(path))

    def query(self, query: Query) -> bool:
        """Run a query (a query listener asks the same rules)."""
        suffix = f"/{query.parent}" if query.parent else ""
        return self._send("POST", f"http://{self.host}/v1/{ROOT}{suffix}:runQuery", data=json.dumps(query.body()))

    def create(self, path: str, data: dict[str, Any]) -> bool:
        """Create a document that must not exist yet."""
        parent, _, doc_id = path.rpartition("/")
        body = {"fields": {k: encode(v) for k, v in data.items()}}
        return self._send("POST", self._url(parent), params={"documentId": doc_id}, data=json.dumps(body))

    def update(self, path: str, data: dict[str, Any]) -> bool:
        """Change the given fields of an existing document (update mask, exists precondition)."""
        params: list[tuple[str, str]] = [("updateMask.fieldPaths", key) for key in data]
        params.append(("currentDocument.exists", "true"))
        body = {"fields": {k: encode(v) for k, v in data.items()}}
        return self._send("PATCH", self._url(path), params=params, data=json.dumps(body))

    def upsert(self, path: str, data: dict[str, Any]) -> bool:
        """Write the given fields with no precondition (creates the document when absent)."""
        params = [("updateMask.fieldPaths", key) for key in data]
        body = {"fields": {k: encode(v) for k, v in data.items()}}
        return self._send("PATCH", self._url(path), params=params, data=json.dumps(body))

    def delete(self, path: str) -> bool:
        """Delete a document."""
        return self._send("DELETE", self._url(path))


def rules_issues(host: str, source: str, *, project: str = PROJECT) -> list[dict[str, Any]]:
    """Load rules source into the emulator (as firebase-tools does) and return the compiler's issues."""
    body = {"rules": {"files": [{"name": "firestore.rules", "content": source}]}}
    response = requests.put(
        f"http://{host}/emulator/v1/projects/{project}:securityRules", data=json.dumps(body), timeout=30
    )
    if response.status_code != 200:
        return [{"severity": "ERROR", "description": response.text[:500]}]
    return list(response.json().get("issues") or [])
