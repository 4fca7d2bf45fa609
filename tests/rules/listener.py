"""A real Firestore listener as the app opens one: the Listen stream (gRPC, the protocol every SDK speaks)
to the emulator with the caller's ID token, so firestore.rules decide what it may watch and when it ends."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

PROJECT = "demo-justo"
DATABASE = f"projects/{PROJECT}/databases/(default)"
PERMISSION_DENIED = 7


@dataclass
class Listener:
    """One listen target (a query or a document) on its own stream, recording what the server sends."""

    host: str
    token: str
    target: Any  # google.cloud.firestore_v1.types.Target
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> fields, as last delivered
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # every document change, in order
    current: bool = False  # the initial snapshot is complete
    removed_code: int | None = None  # the status code of the server's REMOVE (7: PERMISSION_DENIED)
    error: str | None = None
    _requests: queue.Queue[Any] = field(default_factory=queue.Queue)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def on_query(cls, host: str, token: str, query: Any) -> Listener:
        """Listen to a python-client query or collection (any client builds it: only its protobuf is sent)."""
        from google.cloud.firestore_v1.types import Target

        if not hasattr(query, "_parent"):  # a whole collection
            query = query._query()
        parent_path, _ = query._parent._parent_info()
        target = Target(
            query=Target.QueryTarget(parent=parent_path, structured_query=query._to_protobuf()), target_id=1
        )
        return cls(host, token, target).start()

    @classmethod
    def on_document(cls, host: str, token: str, path: str) -> Listener:
        """Listen to one document by its path."""
        from google.cloud.firestore_v1.types import Target

        target = Target(documents=Target.DocumentsTarget(documents=[f"{DATABASE}/documents/{path}"]), target_id=1)
        return cls(host, token, target).start()

    def _stream(self) -> Iterator[Any]:
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def start(self) -> Listener:
        """Open the stream on a thread and add the target."""
        import grpc
        from google.cloud.firestore_v1.services.firestore import FirestoreClient
        from google.cloud.firestore_v1.services.firestore.transports import FirestoreGrpcTransport
        from google.cloud.firestore_v1.types import ListenRequest

        channel = grpc.insecure_channel(self.host)
        client = FirestoreClient(transport=FirestoreGrpcTransport(channel=channel))
        metadata = [("authorization", f"Bearer {self.token}"), ("google-cloud-resource-prefix", DATABASE)]
        self._requests.put(ListenRequest(database=DATABASE, add_target=self.target))

        def run() -> None:
            try:
                for response in client.listen(requests=self._stream(), metadata=metadata):
                    self._record(response)
            except grpc.RpcError as error:  # a closed stream ends the listener too; the test reads `error`
                with self._lock:
                    self.error = f"{type(error).__name__}: {error}"
            finally:
                channel.close()

        threading.Thread(target=run, daemon=True, name="listener").start()
        return self

    def _record(self, response: Any) -> None:
        from google.cloud.firestore_v1 import _helpers
        from google.cloud.firestore_v1.types import TargetChange

        with self._lock:
            kind = response._pb.WhichOneof("response_type")
            if kind == "document_change":
                document = response.document_change.document
                fields = {key: _helpers.decode_value(value, None) for key, value in document.fields.items()}
                self.documents[document.name] = fields
                self.deliveries.append((document.name, fields))
            elif kind in ("document_delete", "document_remove"):
                name = getattr(response, kind).document
                self.documents.pop(name, None)
            elif kind == "target_change":
                change = response.target_change
                if change.target_change_type == TargetChange.TargetChangeType.CURRENT:
                    self.current = True
                elif change.target_change_type == TargetChange.TargetChangeType.REMOVE:
                    self.removed_code = int(change.cause.code)

    def wait(self, condition: Callable[[Listener], bool], timeout: float = 15.0) -> bool:
        """Wait until condition(self) holds; whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if condition(self):
                    return True
            time.sleep(0.05)
        with self._lock:
            return condition(self)

    @property
    def denied(self) -> bool:
        """The server ended the listener for its rules."""
        return self.removed_code == PERMISSION_DENIED

    def close(self) -> None:
        """End the stream."""
        self._requests.put(None)
