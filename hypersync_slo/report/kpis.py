"""The KPI math: pure functions over plain data and pandas, no I/O.

* Quantiles from cumulative histogram buckets, by the same rule as Prometheus's
  ``histogram_quantile`` (linear inside the bucket, the highest finite bound when the rank falls
  in ``+Inf``), each reported with the bucket bounds it lies between.
* Threshold verdicts are exact: with a bucket at the threshold, ``quantile <= threshold`` holds
  exactly when ``bucket{le=threshold} >= q * total``; no interpolation is involved.
* Error rate from the 5xx share; throughput over the window and its worst 60 s sub-window;
  availability from probe results or ``up``/``probe_success`` samples.
* Counter resets are handled (a drop means the counter restarted from zero); NaN and ±Inf are
  dropped and counted, never turned into numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import pandas as pd

INF = math.inf


@dataclass(frozen=True)
class Buckets:
    """A cumulative histogram: ascending upper bounds (the last ``+Inf``) and their counts."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]
    dropped: int = 0

    @classmethod
    def from_mapping(
        cls, by_le: Mapping[str, float] | Mapping[float, float] | Mapping[float | str, float]
    ) -> Buckets:
        """Build from ``{le: cumulative count}``; ``le`` may be the exposition text (``"+Inf"``).

        Non-finite counts are dropped (and counted in ``dropped``); counts that decrease with
        ``le`` (a scrape caught mid-update, increase() extrapolation) are repaired upwards the way
        Prometheus does, so the result is always monotonic.
        """
        pairs: list[tuple[float, float]] = []
        dropped = 0
        for le, count in by_le.items():
            bound = float(le)
            value = float(count)
            if math.isnan(bound) or not math.isfinite(value):
                dropped += 1
                continue
            pairs.append((bound, max(0.0, value)))
        pairs.sort()
        bounds: list[float] = []
        counts: list[float] = []
        running = 0.0
        for bound, value in pairs:
            running = max(running, value)
            if bounds and bounds[-1] == bound:
                counts[-1] = running
                continue
            bounds.append(bound)
            counts.append(running)
        return cls(tuple(bounds), tuple(counts), dropped)

    @property
    def valid(self) -> bool:
        """At least two buckets and a ``+Inf`` bucket, as ``histogram_quantile`` requires."""
        return len(self.bounds) >= 2 and self.bounds[-1] == INF

    @property
    def total(self) -> float:
        """The number of observations (the ``+Inf`` bucket), 0 when the histogram is invalid."""
        return self.counts[-1] if self.valid else 0.0

    @property
    def finite_bounds(self) -> tuple[float, ...]:
        """The bucket boundaries other than ``+Inf``."""
        return tuple(b for b in self.bounds if math.isfinite(b))

    def count_at(self, bound: float) -> float | None:
        """The cumulative count of bucket ``le=bound``, or None when there is no such bucket."""
        closest: tuple[float, float] | None = None  # (distance, count)
        for b, c in zip(self.bounds, self.counts, strict=True):
            if b == bound:
                return c
            if math.isclose(b, bound, rel_tol=1e-9, abs_tol=1e-12):
                distance = abs(b - bound)
                if closest is None or distance < closest[0]:
                    closest = (distance, c)
        return None if closest is None else closest[1]


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile estimated from buckets: the value and the bucket it lies in."""

    quantile: float
    value: float
    lower: float
    upper: float
    total: float

    @property
    def in_overflow(self) -> bool:
        """The rank fell in the ``+Inf`` bucket: the value is only a lower bound."""
        return math.isinf(self.upper)


def bucket_quantile(buckets: Buckets, q: float) -> QuantileEstimate | None:
    """``histogram_quantile(q)`` over ``buckets``; None when there is nothing to estimate from."""
    if not 0.0 <= q <= 1.0 or not buckets.valid:
        return None
    total = buckets.total
    if total <= 0:
        return None
    rank = q * total
    bounds, counts = buckets.bounds, buckets.counts
    index = next(i for i, c in enumerate(counts) if c >= rank)
    last = len(bounds) - 1
    if index == last:
        highest = bounds[last - 1]
        return QuantileEstimate(q, highest, highest, INF, total)
    if index == 0 and bounds[0] <= 0:
        return QuantileEstimate(q, bounds[0], bounds[0], bounds[0], total)
    start = 0.0 if index == 0 else bounds[index - 1]
    previous = 0.0 if index == 0 else counts[index - 1]
    in_bucket = counts[index] - previous
    end = bounds[index]
    share = (rank - previous) / in_bucket if in_bucket > 0 else 1.0
    value = start + (end - start) * min(1.0, max(0.0, share))
    value = min(end, max(start, value))  # no rounding step outside the bucket
    return QuantileEstimate(q, value, start, end, total)


@dataclass(frozen=True)
class ThresholdShare:
    """The share of observations at or below a latency threshold, read from the buckets."""

    threshold: float
    at_or_below: float | None
    total: float
    lower_bucket: float | None
    upper_bucket: float | None

    @property
    def exact(self) -> bool:
        """Whether the threshold is a bucket boundary (so the share is exact)."""
        return self.at_or_below is not None

    @property
    def fraction(self) -> float | None:
        """``bucket{le=threshold} / total`` when exact and there are observations."""
        if self.at_or_below is None or self.total <= 0:
            return None
        return self.at_or_below / self.total


def threshold_share(buckets: Buckets, threshold: float) -> ThresholdShare:
    """How many observations lie at or below ``threshold`` (exact only at a bucket boundary)."""
    lower = max((b for b in buckets.bounds if b < threshold), default=None)
    upper = min((b for b in buckets.bounds if b > threshold), default=None)
    return ThresholdShare(threshold, buckets.count_at(threshold), buckets.total, lower, upper)


def quantile_within(buckets: Buckets, q: float, threshold: float) -> bool | None:
    """Whether ``histogram_quantile(q) <= threshold``, decided from bucket counts, not interpolation.

    Exact at a bucket boundary: it holds iff ``count(le=threshold) >= q * total``. Off a boundary
    it is decided when the neighbouring buckets agree, else None (undecidable at this resolution).
    """
    total = buckets.total
    if total <= 0:
        return None
    rank = q * total
    at = buckets.count_at(threshold)
    if at is not None:
        return at >= rank
    share = threshold_share(buckets, threshold)
    below = 0.0 if share.lower_bucket is None else buckets.count_at(share.lower_bucket) or 0.0
    if below >= rank:
        return True
    if share.upper_bucket is not None:
        above = buckets.count_at(share.upper_bucket)
        if above is not None and above < rank:
            return False
    return None


@dataclass(frozen=True)
class Ratio:
    """``part / total`` with both counts kept (value None when total is 0)."""

    part: float
    total: float
    dropped: int = 0

    @property
    def value(self) -> float | None:
        """The ratio in [0, 1], or None without observations."""
        if self.total <= 0 or not math.isfinite(self.total) or not math.isfinite(self.part):
            return None
        return min(1.0, max(0.0, self.part / self.total))


def is_server_error(status: str) -> bool:
    """Whether an HTTP status code (as a label value) counts as an error: 5xx."""
    return status.strip().startswith("5")


def error_share(count_by_status: Mapping[str, float], *, server_error: str = "") -> Ratio:
    """Failed (5xx) requests over all requests, from counts per status code.

    ``server_error`` is the profile's regex of a server-error status value (``5..``, ``5xx``);
    empty: any value starting with 5.
    """
    pattern = re.compile(server_error) if server_error else None
    errors = total = 0.0
    dropped = 0
    for status, count in count_by_status.items():
        value = float(count)
        if not math.isfinite(value):
            dropped += 1
            continue
        value = max(0.0, value)
        total += value
        if pattern.fullmatch(status.strip()) if pattern else is_server_error(status):
            errors += value
    return Ratio(errors, total, dropped)


def success_share(errors: Ratio) -> Ratio:
    """The complement of an error ratio: non-5xx requests over all requests."""
    return Ratio(errors.total - errors.part, errors.total, errors.dropped)


def availability_share(samples: Iterable[float]) -> Ratio:
    """Successful checks over all checks from 0/1 samples (``up``, ``probe_success``)."""
    good = total = 0.0
    dropped = 0
    for sample in samples:
        value = float(sample)
        if not math.isfinite(value):
            dropped += 1
            continue
        total += 1
        good += 1.0 if value >= 1.0 else 0.0
    return Ratio(good, total, dropped)


def counter_increase(values: Sequence[float]) -> float:
    """How much a counter grew over consecutive samples, counting through resets.

    A sample lower than the one before means the process restarted and the counter began again
    at zero, so the new value itself is growth. Non-finite samples are skipped. No extrapolation:
    this is the exact growth between the first and last sample.
    """
    growth = 0.0
    previous: float | None = None
    for raw in values:
        value = float(raw)
        if not math.isfinite(value):
            continue
        if previous is not None:
            growth += value - previous if value >= previous else value
        previous = value
    return growth


@dataclass(frozen=True)
class CounterHistory:
    """One counter series over a window: its value at the baseline scrape, then its samples.

    ``baseline`` is the last sample at or before the window's start (None: the series was
    created inside the window, so it counted from 0); ``samples`` are every stored sample after
    the start, oldest first; ``restarts`` the times of samples that are the first of a new
    process (its ``process_start_time_seconds`` changed), whose value is all growth even when
    it is not below the one before (a restarted process that counted past its predecessor
    before its first scrape).
    """

    baseline: float | None
    samples: tuple[tuple[float, float], ...]
    restarts: frozenset[float] = frozenset()

    def growth_until(self, moment: float) -> float:
        """Growth from the baseline to the last sample at or before ``moment``, through resets."""
        previous = (
            0.0 if self.baseline is None or not math.isfinite(self.baseline) else self.baseline
        )
        growth = 0.0
        since = -math.inf  # the time of the sample before (the baseline: before every sample)
        for t, value in self.samples:
            if t > moment:
                break
            if not math.isfinite(value):
                continue
            # The first sample at or after a restart belongs to the new process (the series may
            # reappear only once the new process counted something, scrapes after the restart).
            restarted = any(since < r <= t for r in self.restarts)
            growth += value if restarted or value < previous else value - previous
            previous, since = value, t
        return growth


@dataclass(frozen=True)
class SubWindow:
    """A part of a window with the requests counted in it."""

    start: float
    end: float
    requests: float

    @property
    def rate(self) -> float:
        """Requests per second over the part."""
        return self.requests / (self.end - self.start)


def subwindows(cumulative: Sequence[tuple[float, float]]) -> list[SubWindow]:
    """Consecutive parts of a window from cumulative counts at their boundaries.

    ``cumulative`` is ``[(start, 0), (b1, c1), ..., (end, total)]``: the parts tile the window
    and their counts add up to the total, so the lowest part's rate never exceeds the window's
    average and the highest never falls below it (the mediant inequality).
    """
    return [
        SubWindow(t0, t1, max(0.0, c1 - c0))
        for (t0, c0), (t1, c1) in pairwise(cumulative)
        if t1 > t0
    ]


def throughput(completed: float, seconds: float) -> float | None:
    """Completed requests per second over a window, None for an empty or zero-length window."""
    if seconds <= 0 or not math.isfinite(completed) or completed <= 0:
        return None
    return completed / seconds


def worst_subwindow(
    rates: pd.Series, start: float, end: float, width: float = 60.0
) -> float | None:
    """The lowest ``rate[width]`` point whose look-back lies inside ``[start, end]``.

    ``rates`` is indexed by evaluation time (Unix seconds); each point is the average rate over
    the ``width`` seconds before it, so only points in ``[start + width, end]`` describe a
    sub-window of the window. None when the window is shorter than ``width`` or has no points.
    """
    if end - start < width or rates.empty:
        return None
    index = pd.to_numeric(pd.Series(rates.index, index=rates.index))
    inside = rates[(index >= start + width - 1e-6) & (index <= end + 1e-6)]
    values = pd.to_numeric(inside, errors="coerce")
    values = values[values.map(math.isfinite)]
    if values.empty:
        return None
    return float(values.min())


def clean_series(points: Sequence[tuple[float, float]]) -> pd.Series:
    """A float Series indexed by Unix time, with NaN and ±Inf samples removed."""
    series = pd.Series(
        [float(v) for _, v in points], index=[float(t) for t, _ in points], dtype="float64"
    )
    return series[series.map(math.isfinite)]


def budget_used(errors_rps: pd.Series, requests_rps: pd.Series, allowed: float) -> pd.Series:
    """Share of the error budget used so far at each point: cumulative errors / allowed errors.

    Both series are per-second rates on the same time index; 1.0 means the window has used
    exactly the errors its objective allows (``allowed`` is the error-rate objective, e.g. 0.001).
    """
    if allowed <= 0 or requests_rps.empty:
        return pd.Series(dtype="float64")
    errors = errors_rps.reindex(requests_rps.index).fillna(0.0).clip(lower=0.0).cumsum()
    requests = requests_rps.fillna(0.0).clip(lower=0.0).cumsum()
    used = errors / (requests * allowed)
    return used[requests > 0]
