"""Scrape coverage of a window: the scrapes that bracket it, and waiting for the one after it.

Prometheus learns of a request only when it next scrapes the counter that counted it. The
requests of a window ``[start, end]`` are therefore the counters' growth between, for every
target of the job, its last successful scrape at or before ``start`` (the baseline) and its
first successful scrape after ``end``. Until every target has that scrape after the end, the
window's last requests are not in Prometheus yet, whatever the time says.

Both scrapes are read from the stored ``up`` samples themselves (``up{job}[5m]``, an instant
query of a range selector, so each sample carries its scrape's timestamp; ``timestamp(up ==
1)`` would give the evaluation time). ``wait_for_coverage`` polls until every target has a
successful scrape stamped after the end, bounded by ``settle_bound`` (two scrape intervals and
5 s after the end: one failed scrape is retried once); past the bound the coverage is
``settled == False`` and the counted KPIs are ``no_data`` with ``unsettled_reason``.

Counts are exact for the window only when both edges are covered: nothing but the window's
traffic reached the target between the baseline scrape and the start (``quiet_since``: the
caller knows when the last other traffic ended, as ``run`` does after its gate stage), and the
window's traffic stopped at the end (a load run's window). Otherwise ``edge_notes`` say which
seconds outside the window the counts may include.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from hypersync_slo.prometheus.client import PrometheusClient, RangeSeries
from hypersync_slo.timestamps import rfc3339_millis

#: How far before a moment the last scrape may lie (Prometheus's default look-back).
LOOKBACK = 300.0
#: Slack beyond the scrape intervals: the scrape's own duration and the store's ingestion.
SLACK = 5.0
#: The bound when the scrape interval cannot be told (fewer than two samples).
UNKNOWN_INTERVAL_BOUND = 60.0
POLL = 0.25


def target_name(labels: Mapping[str, str]) -> str:
    """A target's name: its ``job`` and ``instance`` labels (``hypersync/127.0.0.1:8080``)."""
    return f"{labels.get('job', '?')}/{labels.get('instance', '?')}"


@dataclass(frozen=True)
class TargetScrapes:
    """One target's scrapes around the window."""

    target: str
    #: Last successful scrape at or before the window's start (None: none in the look-back).
    before: float | None
    #: First successful scrape after the window's end (None: not yet, or never).
    after: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "target": self.target,
            "scrape_before_start": rfc3339_millis(self.before) if self.before is not None else None,
            "scrape_after_end": rfc3339_millis(self.after) if self.after is not None else None,
        }


@dataclass(frozen=True)
class Coverage:
    """Which scrapes bracket ``[start, end]`` for every target of the job."""

    start: float
    end: float
    targets: tuple[TargetScrapes, ...]
    #: The scrape interval read from the samples' spacing (median), None with too few samples.
    interval: float | None
    #: The caller's word that nothing but the window's traffic reached the target since then.
    quiet_since: float | None = None
    #: The caller's word that the window's traffic stopped at its end (a load run's window).
    quiet_after_end: bool = False
    #: Seconds spent waiting for the scrape after the end.
    waited: float = 0.0
    #: The wait gave up at ``bound`` seconds after the end.
    bound: float | None = None

    @property
    def settled(self) -> bool:
        """Every target has a successful scrape after the end."""
        return bool(self.targets) and all(t.after is not None for t in self.targets)

    @property
    def counted_from(self) -> float | None:
        """The earliest baseline scrape (None when a target has none)."""
        befores = [t.before for t in self.targets]
        if not befores or any(b is None for b in befores):
            return None
        return min(b for b in befores if b is not None)

    @property
    def counted_until(self) -> float:
        """When the counters hold the whole window: the latest first scrape after the end."""
        afters = [t.after for t in self.targets if t.after is not None]
        return max(afters) if self.settled and afters else self.end

    @property
    def start_gap(self) -> float | None:
        """Seconds between the earliest baseline scrape and the window's start."""
        first = self.counted_from
        return None if first is None else max(0.0, self.start - first)

    @property
    def end_gap(self) -> float | None:
        """Seconds between the window's end and the latest first scrape after it."""
        return self.counted_until - self.end if self.settled else None

    @property
    def start_covered(self) -> bool:
        """The baseline scrapes see everything before the window and nothing of it."""
        first = self.counted_from
        if first is None:
            return False
        return self.start_gap == 0.0 or (self.quiet_since is not None and first >= self.quiet_since)

    @property
    def end_covered(self) -> bool:
        """The scrapes after the end see the whole window and nothing after it."""
        return self.settled and (self.end_gap == 0.0 or self.quiet_after_end)

    @property
    def exact(self) -> bool:
        """Both edges covered: the counter difference is exactly the window's requests."""
        return self.start_covered and self.end_covered

    def unsettled_reason(self) -> str:
        """Why the window cannot be counted yet (empty when it can)."""
        if self.settled:
            return ""
        if not self.targets:
            return (
                f"no target of the job was scraped in the {LOOKBACK:g} s before the window's "
                f"end ({rfc3339_millis(self.end)}), so nothing counts the window's requests"
            )
        missing = ", ".join(t.target for t in self.targets if t.after is None)
        waited = f"within {self.bound:g} s" if self.bound is not None else "yet"
        interval = f"{self.interval:g} s" if self.interval else "unknown"
        return (
            f"no successful scrape of {missing} after the window's end ({rfc3339_millis(self.end)}) "
            f"{waited} (scrape interval {interval}): the window's last requests are not in "
            "Prometheus, so its counts would be short"
        )

    def edge_notes(self) -> list[str]:
        """One sentence per uncovered edge: which seconds outside the window may be counted."""
        notes: list[str] = []
        first, gap = self.counted_from, self.start_gap
        if first is None:
            missing = ", ".join(t.target for t in self.targets if t.before is None) or "the job"
            notes.append(
                f"start edge: no successful scrape of {missing} in the {LOOKBACK:g} s before "
                "the window's start; its series count from their first scrape in the window"
            )
        elif not self.start_covered and gap is not None:
            notes.append(
                f"start edge: the last scrape before the window was at {rfc3339_millis(first)}, "
                f"{gap:.3g} s before its start; requests sent in those {gap:.3g} s (by anyone) "
                "are counted in the window"
            )
        end_gap = self.end_gap
        if self.settled and not self.end_covered and end_gap is not None:
            notes.append(
                f"end edge: the first scrape after the window was at "
                f"{rfc3339_millis(self.counted_until)}, {end_gap:.3g} s after its end; requests sent in "
                f"those {end_gap:.3g} s are counted in the window"
            )
        return notes

    def describe(self) -> str:
        """One line: how the window's counts are bracketed."""
        if not self.settled:
            return self.unsettled_reason()
        first = self.counted_from
        since = (
            f"between the scrapes {rfc3339_millis(first)} – "
            if first is not None
            else "from each series' first scrape in the window to the scrape "
        )
        kind = "exact for the window" if self.exact else "edges not covered"
        plural = "s" if len(self.targets) != 1 else ""
        return f"counted {since}{rfc3339_millis(self.counted_until)} ({len(self.targets)} target{plural}; {kind})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``coverage`` of verdict.json)."""
        return {
            "settled": self.settled,
            "exact": self.exact,
            "start_covered": self.start_covered,
            "end_covered": self.end_covered,
            "counted_from": rfc3339_millis(self.counted_from)
            if self.counted_from is not None
            else None,
            "counted_until": rfc3339_millis(self.counted_until),
            "start_gap_seconds": self.start_gap,
            "end_gap_seconds": self.end_gap,
            "scrape_interval_seconds": self.interval,
            "quiet_since": rfc3339_millis(self.quiet_since)
            if self.quiet_since is not None
            else None,
            "waited_seconds": round(self.waited, 3),
            "wait_bound_seconds": self.bound,
            "targets": [t.to_dict() for t in self.targets],
            "notes": self.edge_notes() or ([] if self.settled else [self.unsettled_reason()]),
        }


def _scrapes(series: Sequence[RangeSeries]) -> dict[str, list[tuple[float, float]]]:
    by_target: dict[str, list[tuple[float, float]]] = {}
    for found in series:
        by_target.setdefault(target_name(found.labels), []).extend(found.points)
    return {name: sorted(points) for name, points in by_target.items()}


def scrape_interval(points: dict[str, list[tuple[float, float]]]) -> float | None:
    """The scrape interval: the median spacing of consecutive samples of each target."""
    gaps = [b[0] - a[0] for samples in points.values() for a, b in pairwise(samples) if b[0] > a[0]]
    return float(statistics.median(gaps)) if gaps else None


def settle_bound(interval: float | None) -> float:
    """How long after the end to wait for the scrape after it: 2 intervals + 5 s."""
    return 2 * interval + SLACK if interval else UNKNOWN_INTERVAL_BOUND


def read_coverage(
    client: PrometheusClient,
    up: str,
    start: float,
    end: float,
    *,
    now: float | None = None,
    quiet_since: float | None = None,
    quiet_after_end: bool = False,
    baseline: dict[str, list[tuple[float, float]]] | None = None,
) -> Coverage:
    """The scrapes of every target of ``up`` (a selector such as ``up{job="x"}``) around a window.

    The targets are those scraped (successfully or not) in the ``2 × interval + 5 s`` before the
    end: a target gone before the window ended is not waited for. When none was (Prometheus
    started after the end), those scraped since. ``baseline`` reuses the
    samples before the start from an earlier call (the wait polls only the end).
    """
    at = min(time.time() if now is None else now, end + LOOKBACK)
    around_end = _scrapes(client.raw(up, at - (end - LOOKBACK), at))
    before_start = baseline if baseline is not None else _scrapes(client.raw(up, LOOKBACK, start))
    interval = scrape_interval(around_end) or scrape_interval(before_start)
    alive_since = end - settle_bound(interval)
    alive = {
        n for n, samples in around_end.items() if any(alive_since < t <= end for t, _ in samples)
    }
    if not alive:
        # Nothing was scraped before the end (Prometheus just started): the targets it has
        # found since then are the job's.
        alive = {n for n, samples in around_end.items() if any(t > end for t, _ in samples)}
    targets: list[TargetScrapes] = []
    for name, samples in sorted(around_end.items()):
        if name not in alive:
            continue
        good_before = [t for t, v in before_start.get(name, []) if v == 1 and t <= start]
        good_after = [t for t, v in samples if v == 1 and t > end]
        targets.append(
            TargetScrapes(
                name,
                max(good_before) if good_before else None,
                min(good_after) if good_after else None,
            )
        )
    return Coverage(
        start=start,
        end=end,
        targets=tuple(targets),
        interval=interval,
        quiet_since=quiet_since,
        quiet_after_end=quiet_after_end,
    )


def wait_for_coverage(
    client: PrometheusClient,
    up: str,
    start: float,
    end: float,
    *,
    quiet_since: float | None = None,
    quiet_after_end: bool = False,
    bound: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Coverage:
    """Poll until every target has a successful scrape after ``end``, or the bound passes.

    ``bound`` (seconds after ``end``) defaults to ``settle_bound`` of the interval read from
    the samples. A window that ended long ago is answered at once, settled or not.
    """
    began = clock()
    baseline = _scrapes(client.raw(up, LOOKBACK, start))
    while True:
        now = clock()
        coverage = read_coverage(
            client,
            up,
            start,
            end,
            now=now,
            quiet_since=quiet_since,
            quiet_after_end=quiet_after_end,
            baseline=baseline,
        )
        limit = bound if bound is not None else settle_bound(coverage.interval)
        if coverage.settled or now >= end + limit:
            return replace(coverage, waited=max(0.0, clock() - began), bound=limit)
        sleep(min(POLL, max(0.0, end + limit - now)))


def wait_for_scrape_after(
    client: PrometheusClient,
    up: str,
    moment: float,
    *,
    bound: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Coverage:
    """Wait until every target of ``up`` has a successful scrape after ``moment``.

    What ``run`` does between its gate and its load, so the gate's requests are all counted
    before the load's window opens.
    """
    return wait_for_coverage(client, up, moment, moment, bound=bound, clock=clock, sleep=sleep)
