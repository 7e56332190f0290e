"""Arrival schedules of the open-model driver: when each request is *intended* to be sent.

Pure functions, no I/O: a seeded, lazily generated sequence of send offsets (seconds from the
start of the run). The driver sends each request at its offset whatever the responses do, and
measures latency from that intended time, so a slow target cannot slow the arrivals down
(no coordinated omission).

Two kinds:

* ``uniform``: evenly spaced, ``k / rate``: the wrk2 and k6 ``constant-arrival-rate`` model.
* ``poisson``: exponential gaps with mean ``1 / rate``, seeded: independent arrivals as from
  many unrelated clients.

With ``streams > 1`` (one per load process) stream ``i`` gets its share so that the union of all
streams is the whole schedule: uniform streams interleave (stream ``i`` sends at
``(i + k * streams) / rate``), Poisson streams are independent Poisson processes of rate
``rate / streams`` (whose superposition is again Poisson at ``rate``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

ArrivalKind = Literal["uniform", "poisson"]
ARRIVAL_KINDS: tuple[ArrivalKind, ...] = ("uniform", "poisson")


@dataclass(frozen=True)
class Schedule:
    """A seeded arrival plan for one stream (one load process) of a run."""

    rate: float
    duration: float
    kind: ArrivalKind = "uniform"
    seed: int = 0
    stream: int = 0
    streams: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number of requests/s, got {self.rate!r}")
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(
                f"duration must be a positive number of seconds, got {self.duration!r}"
            )
        if self.kind not in ARRIVAL_KINDS:
            raise ValueError(
                f"arrival kind must be one of {', '.join(ARRIVAL_KINDS)}, got {self.kind!r}"
            )
        if self.streams < 1 or not 0 <= self.stream < self.streams:
            raise ValueError(f"stream {self.stream} of {self.streams} is not a valid stream index")

    @property
    def stream_rate(self) -> float:
        """The mean rate of this stream alone (requests/s)."""
        return self.rate / self.streams

    def expected_count(self) -> float:
        """The mean number of arrivals of this stream within the duration."""
        return self.stream_rate * self.duration

    def offsets(self) -> Iterator[float]:
        """Intended send offsets in seconds, ascending, all ``< duration``."""
        if self.kind == "uniform":
            return self._uniform()
        return self._poisson()

    def _uniform(self) -> Iterator[float]:
        k = 0
        while True:
            offset = (self.stream + k * self.streams) / self.rate
            if offset >= self.duration:
                return
            yield offset
            k += 1

    def _poisson(self) -> Iterator[float]:
        # A string seed is hashed with SHA-512 by random.Random: stable across runs and platforms.
        rng = random.Random(f"hypersync-slo:{self.seed}:{self.stream}:{self.streams}")
        rate = self.stream_rate
        offset = rng.expovariate(rate)
        while offset < self.duration:
            yield offset
            offset += rng.expovariate(rate)

    def count_until(self, elapsed: float) -> int:
        """How many arrivals were due in ``[0, elapsed)`` (exact; walks the seeded plan)."""
        limit = min(elapsed, self.duration)
        return sum(1 for _ in _takewhile_below(self.offsets(), limit))


def _takewhile_below(offsets: Iterator[float], limit: float) -> Iterator[float]:
    for offset in offsets:
        if offset >= limit:
            return
        yield offset
