"""A stand-in for the `time` module of code that retries against a clock: pauses recorded, not slept."""

from __future__ import annotations


class FakeTime:
    """Each look at the clock is `step` seconds later; a pause moves it on too when `sleep_advances`."""

    def __init__(self, step: float, *, sleep_advances: bool = False) -> None:
        self.step, self.now, self.pauses = step, 0.0, list[float]()
        self.sleep_advances = sleep_advances

    def monotonic(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.sleep_advances:
            self.now += seconds
        self.pauses.append(seconds)
