"""Stage timing: ``with timer.stage("transcribe"): ...`` then ``timer.as_dict()``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Timings:
    """Wall-clock seconds per named stage (accumulated if a name repeats)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}

    def table(self) -> str:
        """A plain-text table, slowest first."""
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])
        width = max((len(k) for k, _ in rows), default=5)
        lines = [f"{k:<{width}}  {v:8.3f} s" for k, v in rows]
        lines.append(f"{'total':<{width}}  {self.total:8.3f} s")
        return "\n".join(lines)
