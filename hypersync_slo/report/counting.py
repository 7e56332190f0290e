"""Reset-aware counting: how much counters grew over a window, over every replica and restart.

``Growth`` reads each counter from the scrapes before the window to the first after it: every
raw sample summed through resets (a restart is seen in the counter going down or in
``process_start_time_seconds`` changing), exact for any number of replicas; for long windows
the difference of the summed counters, else ``increase()``. ``scrape_subwindows`` cuts the
counted window into parts whose edges are scrapes; ``apply_coverage`` states the scrapes behind
every KPI counted this way (``COUNTED``) and makes it ``no_data`` while the window is unsettled.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.client import InstantSample, PrometheusClient, points_in
from hypersync_slo.prometheus.promql import duration
from hypersync_slo.report import kpis
from hypersync_slo.report.scrapes import Coverage
from hypersync_slo.verdicts import KpiResult, Verdict

#: The length of a throughput sub-window (seconds): "sustained" means over every 60 s.
SUBWINDOW = 60.0
#: The KPIs counted from counters: no_data while the window's last scrape is missing.
COUNTED = (
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_p999",
    "throughput_rps",
    "error_rate",
    "success_rate",
)


@dataclass(frozen=True)
class Counted:
    """Counter growth over the window per label value, with the query and the method used.

    ``histories`` (raw-sample counting only) keep every series' samples, keyed by its target
    and labels, for the sub-windows.
    """

    values: Mapping[str, float]
    query: str
    method: str
    histories: tuple[tuple[str, kpis.CounterHistory], ...] = ()


LOOKBACK = "5m"
LOOKBACK_SECONDS = 300.0


def _target(labels: Mapping[str, str]) -> str:
    """``job/instance`` of a series: which scrape target it came from."""
    return f"{labels.get('job', '')}/{labels.get('instance', '')}"


def _series_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


@dataclass(frozen=True)
class Growth:
    """How much counters grew from the scrapes before the window to the ones after it.

    ``start`` is the window's start (each series' baseline is its last sample at or before it:
    the target's last successful scrape, ``last_over_time(x[5m])``) and ``end`` the moment every
    target had its first successful scrape after the window (``scrapes.Coverage``). With a
    baseline for every target and at most ``max_points`` scrapes per series, every series' raw
    samples are read (``x[D]`` at ``end``) and their growth summed through resets
    (``kpis.counter_increase``): exact for any number of replicas, any of them restarted. A
    series absent at the start was created in the window and counted from 0. For longer windows:
    the difference of the summed counters at ``end`` and at ``start`` when no series reset, else
    ``increase()`` over the window, which extrapolates to the edges.
    """

    client: PrometheusClient
    start: float
    end: float
    seconds: float
    exact: bool
    interval: float | None = None
    #: Both window edges are covered by scrapes (``Coverage.exact``).
    window_exact: bool = False
    #: The job's ``process_start_time_seconds`` series: a change marks a restart.
    process_starts: str = ""
    max_points: int = 1500
    #: At most this many raw samples in all (series × scrapes) are pulled for one counter.
    max_samples: int = 300_000
    _restarts: dict[str, frozenset[float]] = field(default_factory=dict, compare=False)

    @property
    def _between(self) -> str:
        return (
            "between the scrapes bracketing the window"
            if self.window_exact
            else "between the scrapes bracketing the window (edges not covered: see coverage)"
        )

    def by(self, label: str | tuple[str, ...] | None, series: str, fallback: str) -> Counted:
        """Growth of ``series`` summed by ``label`` (None: one total under the key ``""``).

        With several labels the key is their values joined by a space (``"POST /v1/receipts"``).
        """
        labels = (label,) if isinstance(label, str) else tuple(label or ())
        last = f"last_over_time({series}[{LOOKBACK}])"
        total = f"sum by ({', '.join(labels)}) ({last})" if labels else f"sum({last})"
        if self.exact:
            if self._raw_fits(series):
                return self._raw(labels, series)
            resets = self.client.instant(
                f"sum(resets({series}[{duration(self.seconds + LOOKBACK_SECONDS)}]))", self.end
            )
            if not any(s.value != 0 for s in resets):
                at_end = self._values(self.client.instant(total, self.end), labels)
                at_start = self._values(self.client.instant(total, self.start), labels)
                diff = {k: v - at_start.get(k, 0.0) for k, v in at_end.items()}
                if set(at_start) <= set(at_end) and all(d >= 0 for d in diff.values()):
                    exact = "exact" if self.window_exact else "counter"
                    return Counted(
                        diff,
                        f"{total} at the scrape after the window minus at its start",
                        f"{exact} difference of the summed counters {self._between} "
                        "(no reset in the window)",
                    )
        got = self.client.instant(fallback, self.end)
        return Counted(
            self._values(got, labels), fallback, "increase() over the window (extrapolated)"
        )

    def _raw_fits(self, series: str) -> bool:
        """Whether reading every raw sample of ``series`` stays within the bounds."""
        if not self.interval:
            return False
        points = points_in(self.start, self.end, self.interval)
        if points > self.max_points:
            return False
        found = self.client.instant(
            f"count(count_over_time({series}[{duration(self.end - self.start)}]))", self.end
        )
        count = sum(s.value for s in found if math.isfinite(s.value))
        return count * points <= self.max_samples

    def _raw(self, labels: tuple[str, ...], series: str) -> Counted:
        baseline = {
            _series_key(sample.labels): sample.value
            for sample in self.client.instant(f"last_over_time({series}[{LOOKBACK}])", self.start)
            if math.isfinite(sample.value)
        }
        values: dict[str, float] = {}
        histories: list[tuple[str, kpis.CounterHistory]] = []
        restarts = self.restarts()
        for found in self.client.raw(series, self.end - self.start, self.end):
            samples = tuple((t, v) for t, v in found.points if t > self.start and math.isfinite(v))
            target = _target(found.labels)
            history = kpis.CounterHistory(
                baseline.get(_series_key(found.labels)),
                samples,
                restarts.get(target, frozenset()),
            )
            key = " ".join(found.labels.get(name, "") for name in labels)
            values[key] = values.get(key, 0.0) + history.growth_until(self.end)
            histories.append((f"{target}\x00{_series_key(found.labels)}", history))
        exact = "exact" if self.window_exact else "counter"
        return Counted(
            values,
            f"{series}[{duration(self.end - self.start)}] raw samples at the scrape after the "
            f"window, from last_over_time({series}[{LOOKBACK}]) at its start, summed through resets",
            f"{exact} growth of the raw counter samples {self._between}, resets counted",
            tuple(histories),
        )

    def restarts(self) -> dict[str, frozenset[float]]:
        """Per target, the scrapes at which ``process_start_time_seconds`` changed (read once).

        A restarted process is a reset even when its counters are already past the old ones at
        its first scrape; targets without the series rely on counters going down.
        """
        if self._restarts or not self.process_starts:
            return self._restarts
        before = {
            _target(sample.labels): sample.value
            for sample in self.client.instant(
                f"last_over_time({self.process_starts}[{LOOKBACK}])", self.start
            )
        }
        found: dict[str, frozenset[float]] = {}
        for series in self.client.raw(self.process_starts, self.end - self.start, self.end):
            target = _target(series.labels)
            previous = before.get(target)
            moments: set[float] = set()
            for t, value in series.points:
                if t <= self.start or not math.isfinite(value):
                    continue
                if previous is not None and value != previous:
                    moments.add(t)
                previous = value
            found[target] = frozenset(moments)
        self._restarts.update(found or {"": frozenset()})
        return self._restarts

    @staticmethod
    def _values(samples: list[InstantSample], labels: tuple[str, ...]) -> dict[str, float]:
        values: dict[str, float] = {}
        for sample in samples:
            key = " ".join(sample.labels.get(name, "") for name in labels)
            values[key] = values.get(key, 0.0) + sample.value
        return values


def scrape_subwindows(
    histories: tuple[tuple[str, kpis.CounterHistory], ...],
    window: tuple[datetime, datetime],
    total: float,
) -> list[kpis.SubWindow]:
    """Consecutive sub-windows of at least 60 s whose edges are scrapes of one target.

    Each edge is the scrape (of the target scraped most often) nearest to an even split of the
    window; the count at an edge is every series' growth up to its last scrape at or before it.
    The first part starts at the window's start (the baseline scrape saw nothing of the window)
    and the last ends at its end with the window's total, so the parts add up to the whole.
    """
    start, end = window[0].timestamp(), window[1].timestamp()
    count = math.floor((end - start) / SUBWINDOW)
    by_target: dict[str, set[float]] = {}
    for key, history in histories:
        target = key.split("\x00", 1)[0]
        by_target.setdefault(target, set()).update(t for t, _ in history.samples)
    if count < 2 or not by_target:
        return []
    scrapes = sorted(by_target[max(by_target, key=lambda target: len(by_target[target]))])
    edges: list[float] = []
    for i in range(1, count):
        nominal = start + i * (end - start) / count
        inside = [t for t in scrapes if (edges[-1] if edges else start) < t < end]
        if not inside:
            return []
        edges.append(min(inside, key=lambda t: abs(t - nominal)))
    cumulative = [(start, 0.0)]
    for edge in edges:
        cumulative.append((edge, sum(h.growth_until(edge) for _, h in histories)))
    cumulative.append((end, total))
    parts = kpis.subwindows(cumulative)
    return parts if len(parts) == count else []


def apply_coverage(
    results: dict[str, KpiResult], config: SloConfig, coverage: Coverage | None
) -> None:
    """State the scrapes behind every counted KPI; ``no_data`` while the window is unsettled."""
    for name in COUNTED:
        result = results.get(name)
        if result is None or result.verdict is Verdict.ERROR:
            continue
        detail = dict(result.detail)
        if coverage is None:
            detail["coverage"] = "the scrapes around the window could not be read"
        else:
            detail["coverage"] = coverage.describe()
            notes = coverage.edge_notes()
            if notes:
                detail["edges"] = notes
        result = dataclasses.replace(result, detail=detail)
        if coverage is not None and not coverage.settled:
            objective = config.objective(name)
            result = dataclasses.replace(
                result,
                verdict=Verdict.NO_DATA,
                gating=not objective.report_only and objective.no_data == "fail",
                reason=coverage.unsettled_reason(),
            )
        results[name] = result


def window_growth(
    client: PrometheusClient,
    coverage: Coverage | None,
    start: float,
    end: float,
    *,
    process_starts: str,
) -> Growth:
    """The ``Growth`` from ``start`` to ``end`` (the scrape after the window), exact as far as
    the scrapes in ``coverage`` allow; ``process_starts`` is the job's restart series."""
    return Growth(
        client,
        start,
        end,
        end - start,
        exact=coverage is not None and coverage.counted_from is not None,
        interval=coverage.interval if coverage is not None else None,
        window_exact=coverage is not None and coverage.exact,
        process_starts=process_starts,
    )
