"""What one load process saw: per-request-kind histograms and counters, as a serialisable part.

Pure (no Locust, no gevent, no clock of its own): the driver hands it times from one monotonic
clock (``time.perf_counter``) and it keeps

* two latency histograms per request name: *corrected*, from the **intended** send time of the
  schedule (what a user arriving at that moment waits: includes any time the request spent
  queued in the client because the target or the generator was slow), and *uncorrected*, from
  the moment the request actually went onto a connection (what a closed-loop tool reports);
* errors by cause (``connection_refused``, ``timeout``, ``503 Service Unavailable on GET /x``, …),
  successful business operations, sends per second, late and dropped sends;
* a sliding window (default 10 s) of recent completions, for the abort-on-critical check.

``part()`` returns a JSON-ready dict; ``hypersync_slo.loadgen.result`` merges the parts of every
load process into the run's ``load-result.json``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.loadgen.histogram import LatencyHistogram

PART_VERSION = 1


@dataclass
class RequestTally:
    """Counters and histograms of one request name (route template)."""

    requests: int = 0
    errors: int = 0
    errors_by_cause: Counter[str] = field(default_factory=Counter)
    corrected: LatencyHistogram = field(default_factory=LatencyHistogram)
    uncorrected: LatencyHistogram = field(default_factory=LatencyHistogram)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with encoded histograms."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "errors_by_cause": dict(self.errors_by_cause),
            "corrected": self.corrected.encode(),
            "uncorrected": self.uncorrected.encode(),
        }


@dataclass
class _Second:
    """Completions within one second of the run (for the sliding window)."""

    second: int
    requests: int = 0
    errors: int = 0
    corrected: LatencyHistogram = field(default_factory=LatencyHistogram)


class Recorder:
    """Accumulates the outcomes of one load process (times in seconds on one monotonic clock)."""

    def __init__(
        self, *, origin: float, late_tolerance: float = 0.010, window_seconds: int = 10
    ) -> None:
        self.origin = origin
        self.late_tolerance = late_tolerance
        self.window_seconds = window_seconds
        self.tallies: dict[str, RequestTally] = {}
        self.business: dict[str, Counter[str]] = {}
        self.sends_per_second: list[int] = []
        self.lag = LatencyHistogram()
        self.sent = 0
        self.late = 0
        self.dropped = 0
        self.dropped_by_name: Counter[str] = Counter()
        self.completed = 0
        self._recent: deque[_Second] = deque()
        # Histograms are reused, never dropped: an HdrHistogram and its encoder reference each
        # other, so a discarded one waits for the cyclic garbage collector and the process
        # would grow by ~300 KiB per second until it ran.
        self._spare: list[LatencyHistogram] = []
        self._window_hist = LatencyHistogram()
        self.total = LatencyHistogram()

    # -- recording -------------------------------------------------------------------------

    def started(self, intended: float, now: float) -> bool:
        """A send began ``now`` for a request intended at ``intended``; True when it is late.

        The lag between the two is the generator's own delay (its event loop was busy), not the
        target's: above ``late_tolerance`` the send counts as late.
        """
        self.sent += 1
        second = int(intended - self.origin)
        per_second = self.sends_per_second
        if 0 <= second < len(per_second):
            per_second[second] += 1
        else:
            second = max(0, second)
            per_second.extend([0] * (second + 1 - len(per_second)))
            per_second[second] += 1
        lag = now - intended
        self.lag.record_micros(round(lag * 1e6))  # clamped: a send is never early
        if lag > self.late_tolerance:
            self.late += 1
            return True
        return False

    def dropped_send(self, name: str) -> None:
        """A scheduled send was not made (the client-side queue was full)."""
        self.dropped += 1
        self.dropped_by_name[name] += 1

    def finished(
        self,
        name: str,
        *,
        intended: float,
        sent: float,
        ended: float,
        cause: str | None,
        business: tuple[str, str] | None = None,
    ) -> None:
        """A request completed (``cause`` None) or failed with ``cause``."""
        tally = self.tallies.get(name)
        if tally is None:
            tally = self.tallies[name] = RequestTally()
        corrected = round((ended - intended) * 1e6)  # µs; negatives clamp to the 1 µs floor
        tally.requests += 1
        tally.corrected.record_micros(corrected)
        tally.uncorrected.record_micros(round((ended - sent) * 1e6))
        self.total.record_micros(corrected)
        if cause is not None:
            tally.errors += 1
            tally.errors_by_cause[cause] += 1
        elif business is not None:
            kind, label = business
            counts = self.business.get(kind)
            if counts is None:
                counts = self.business[kind] = Counter()
            counts[label] += 1
        self.completed += 1
        second = int(ended - self.origin)
        recent = self._recent[-1] if self._recent else None
        if recent is None or recent.second != second:
            recent = self._second(second)
        recent.requests += 1
        recent.corrected.record_micros(corrected)
        if cause is not None:
            recent.errors += 1

    def _second(self, second: int) -> _Second:
        if not self._recent or self._recent[-1].second < second:
            hist = self._spare.pop() if self._spare else LatencyHistogram()
            self._recent.append(_Second(second, corrected=hist))
        while self._recent and self._recent[0].second <= second - self.window_seconds:
            old = self._recent.popleft()
            old.corrected.reset()
            self._spare.append(old.corrected)
        return self._recent[-1]

    # -- reading -------------------------------------------------------------------------------

    def window(self, now: float) -> dict[str, Any]:
        """Completions of the last ``window_seconds`` before ``now``: counts and p99 histogram."""
        current = int(now - self.origin)
        hist = self._window_hist
        hist.reset()
        requests = errors = 0
        for bucket in self._recent:
            if bucket.second > current - self.window_seconds:
                hist.merge(bucket.corrected)
                requests += bucket.requests
                errors += bucket.errors
        return {
            "seconds": self.window_seconds,
            "requests": requests,
            "errors": errors,
            "corrected": hist.encode(),
        }

    def part(self, *, now: float, final: bool, detail: bool = True, **extra: Any) -> dict[str, Any]:
        """The JSON-ready part of this process (``detail`` False omits per-request histograms)."""
        part: dict[str, Any] = {
            "version": PART_VERSION,
            "final": final,
            "elapsed": max(0.0, now - self.origin),
            "sent": self.sent,
            "completed": self.completed,
            "late": self.late,
            "late_tolerance": self.late_tolerance,
            "dropped": self.dropped,
            "dropped_by_name": dict(self.dropped_by_name),
            "requests": sum(t.requests for t in self.tallies.values()),
            "errors": sum(t.errors for t in self.tallies.values()),
            "corrected_total": self.total.encode(),
            "lag": self.lag.encode(),
            "sends_per_second": list(self.sends_per_second),
            "business": {kind: dict(counts) for kind, counts in self.business.items()},
            "window": self.window(now),
        }
        if detail:
            part["by_request"] = {name: t.to_dict() for name, t in sorted(self.tallies.items())}
        part.update(extra)
        return part
