"""The harness's pure maths: percentiles, ratios against a baseline, and regressions against the previous run."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    """The 50th percentile."""
    return percentile(samples, 50)


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, rounded to 3 places; None when the baseline is zero (no meaningful ratio)."""
    if baseline == 0:
        return None
    return round(value / baseline, 3)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of durations given in seconds, in milliseconds."""
    return {
        "p50": round(percentile(seconds, 50) * 1000, 2),
        "p95": round(percentile(seconds, 95) * 1000, 2),
        "mean": round(sum(seconds) / len(seconds) * 1000, 2),
        "n": len(seconds),
    }


@dataclass(frozen=True)
class Regression:
    """A figure that got worse than the previous run by more than the tolerance."""

    key: str
    previous: float
    current: float

    @property
    def change(self) -> float:
        """Relative change, e.g. 0.25 for 25 % worse."""
        return (self.current - self.previous) / self.previous if self.previous else math.inf


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a nested mapping, keyed by its dotted path (stable keys for comparisons)."""
    flat: dict[str, float] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, path + "."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float):
            flat[path] = float(value)
    return flat


def regressions(
    previous: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    tolerance: float = 0.15,
    higher_is_better: Iterable[str] = ("throughput", "rowsPerSecond", "rps"),
    compared: Iterable[str] = ("ratio",),
) -> list[Regression]:
    """Figures (leaves whose key ends in one of `compared`, or any reads/writes count) that worsened by
    more than tolerance since the previous run. Ratios are compared, not raw times: both sides of a ratio
    ran on the same machine at the same moment, so a busy machine moves them less than absolute figures."""
    before, after = flatten(previous), flatten(current)
    better_up = tuple(higher_is_better)
    suffixes = tuple(compared)
    found = []
    for key, now in sorted(after.items()):
        leaf = key.rsplit(".", 1)[-1]
        counted = leaf in {"reads", "writes"}
        if key not in before or not (leaf.endswith(suffixes) or counted or leaf.endswith(better_up)):
            continue
        then = before[key]
        if counted:
            worse = now > then  # operation counts are exact: any increase is a regression
        elif leaf.endswith(better_up):
            worse = now < then * (1 - tolerance)
        else:
            worse = now > then * (1 + tolerance)
        if worse:
            found.append(Regression(key, then, now))
    return found
