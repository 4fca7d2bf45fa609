"""Requests raced against each other: each on its own thread, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable

from devtools.inproc import Response


def race(*requests: Callable[[], Response]) -> list[Response]:
    """Run the requests at the same moment, each on its own thread; their responses in order."""
    barrier = threading.Barrier(len(requests))
    responses: list[Response | None] = [None] * len(requests)

    def run(index: int) -> None:
        barrier.wait()
        responses[index] = requests[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses), "a racing request never answered"
    return [r for r in responses if r is not None]
