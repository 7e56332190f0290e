"""Latency histogram: HDR (log-linear) buckets with exact, stated resolution; mergeable.

Values are recorded in whole microseconds from 1 µs to 1 h with 3 significant figures: every
recorded value lands in a bucket no wider than 1/1024 of the value (about 0.1 %), so a
percentile read back is at most 0.1 % (+ the 1 µs quantisation) above the true sample, never
below. Percentiles are nearest-rank (the ``ceil(q * n)``-th smallest sample, like numpy's
``inverted_cdf`` method), reported as the upper edge of that sample's bucket and never above
the exact maximum, so ``p50 <= p95 <= p99 <= p999 <= max`` always holds.

Merging two histograms is the histogram of the union of their samples, so per-process
histograms of a distributed run add up exactly. ``encode``/``decode`` give a compact text form
(zlib + base64, the HdrHistogram interchange format) for files and Locust messages.
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Sequence

import numpy
from hdrh.histogram import HdrHistogram

from hypersync_slo.results import LatencyFigures

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # 1 h
SIGNIFICANT_FIGURES = 3
#: Worst-case relative width of a bucket (3 significant figures: 2048 sub-buckets per power of 2).
RELATIVE_RESOLUTION = 1.0 / 1024
#: The percentiles every summary reports, with the key they are stored under.
SUMMARY_QUANTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
)


def _index_constants() -> tuple[int, int, int, int]:
    """The HDR layout of our histograms: sub-bucket mask, bucket shift, half magnitude/count."""
    hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    if hdr.unit_magnitude != 0:  # LOWEST_US == 1: the fast index below assumes unit 1
        raise RuntimeError("the fast HDR index needs a lowest trackable value of 1")
    half_magnitude = int(hdr.sub_bucket_half_count_magnitude)
    return (
        int(hdr.sub_bucket_mask),
        half_magnitude + 1,
        half_magnitude,
        int(hdr.sub_bucket_half_count),
    )


_SUB_BUCKET_MASK, _BUCKET_SHIFT, _HALF_MAGNITUDE, _HALF_COUNT = _index_constants()


def _index(micros: int) -> int:
    """The bucket index of a value in whole microseconds (within the range)."""
    bucket = (micros | _SUB_BUCKET_MASK).bit_length() - _BUCKET_SHIFT
    return ((bucket + 1) << _HALF_MAGNITUDE) + (micros >> bucket) - _HALF_COUNT


def to_micros(seconds: float) -> int:
    """Seconds to whole microseconds, clamped into the histogram's range."""
    if math.isnan(seconds):
        raise ValueError("a latency cannot be NaN")
    return max(LOWEST_US, min(HIGHEST_US, round(seconds * 1e6)))


class LatencyHistogram:
    """Recorded latencies (seconds in, seconds out), HDR buckets of 3 significant figures."""

    __slots__ = ("_counts", "_hdr", "_max_us", "_min_us", "_total")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        self._counts = self._hdr.counts
        self._max_us = 0
        self._min_us = 0
        #: The sample count; the HdrHistogram's own total/min/max are set from ours only when
        #: it is read (``_synced``), not on every record.
        self._total = 0

    def _synced(self) -> HdrHistogram:
        """The HdrHistogram with its total, min and max brought up to date."""
        hdr = self._hdr
        hdr.total_count = self._total
        hdr.max_value = self._max_us
        hdr.min_value = self._min_us if self._total else sys.maxsize
        return hdr

    def record(self, seconds: float, count: int = 1) -> None:
        """Record one latency of ``seconds`` (``count`` times)."""
        if math.isnan(seconds):
            raise ValueError("a latency cannot be NaN")
        self.record_micros(round(seconds * 1e6), count)

    def record_micros(self, micros: int, count: int = 1) -> None:
        """Record a latency already in whole microseconds (clamped into the range).

        The hot path of the load generator (five records per request): the HDR bucket index is
        computed here in a few integer operations, the same index ``HdrHistogram.record_value``
        computes through five method calls (``tests/loadgen/test_histogram.py`` proves both
        agree over the whole range), and only the bucket, our count and min/max are touched.
        """
        if micros < LOWEST_US:
            micros = LOWEST_US
        elif micros > HIGHEST_US:
            micros = HIGHEST_US
        bucket = (micros | _SUB_BUCKET_MASK).bit_length() - _BUCKET_SHIFT
        self._counts[((bucket + 1) << _HALF_MAGNITUDE) + (micros >> bucket) - _HALF_COUNT] += count
        self._total += count
        if micros > self._max_us:  # noqa: PLR1730 - the hot path: a compare, not a call to max()
            self._max_us = micros
        if micros < self._min_us or self._min_us == 0:
            self._min_us = micros

    def reset(self) -> None:
        """Forget every sample (the buckets are kept for reuse).

        ``HdrHistogram.reset`` zeroes its 23 552 counters one by one in Python (~3 ms); they are
        one ctypes array, zeroed here with one ``memset``.
        """
        counts = self._counts
        ctypes.memset(ctypes.addressof(counts), 0, ctypes.sizeof(counts))
        hdr = self._hdr
        hdr.total_count = 0
        hdr.min_value = sys.maxsize
        hdr.max_value = 0
        hdr.start_time_stamp_msec = sys.maxsize
        hdr.end_time_stamp_msec = 0
        self._max_us = 0
        self._min_us = 0
        self._total = 0

    @property
    def count(self) -> int:
        """Number of samples recorded."""
        return self._total

    @property
    def max(self) -> float | None:
        """The exact largest sample in seconds (None when empty)."""
        return self._max_us / 1e6 if self.count else None

    @property
    def min(self) -> float | None:
        """The exact smallest sample in seconds (None when empty)."""
        return self._min_us / 1e6 if self.count else None

    def quantile(self, q: float) -> float | None:
        """The nearest-rank ``q``-quantile in seconds (0 < q <= 1); None when empty."""
        return self.quantiles([q])[0]

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Several nearest-rank quantiles in one pass over the buckets (seconds; None when empty)."""
        total = self.count
        if total == 0:
            return [None for _ in qs]
        for q in qs:
            if not 0.0 < q <= 1.0:
                raise ValueError(f"a quantile must lie in (0, 1], got {q!r}")
        ranks = sorted((max(1, math.ceil(q * total - 1e-9)), i) for i, q in enumerate(qs))
        found: list[float | None] = [None for _ in qs]
        hdr = self._synced()
        counts = hdr.counts
        cumulative = 0
        pending = 0
        for index, bucket_count in enumerate(counts):
            if not bucket_count:
                continue
            cumulative += bucket_count
            while pending < len(ranks) and ranks[pending][0] <= cumulative:
                value = hdr.get_highest_equivalent_value(hdr.get_value_from_index(index))
                found[ranks[pending][1]] = min(int(value), self._max_us) / 1e6
                pending += 1
            if pending == len(ranks):
                break
        return found

    def summary(self) -> LatencyFigures:
        """``{"p50", "p95", "p99", "p999", "max", "samples"}`` in seconds (None when empty)."""
        p50, p95, p99, p999 = self.quantiles([q for _, q in SUMMARY_QUANTILES])
        return {
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "p999": p999,
            "max": self.max,
            "samples": self.count,
        }

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        """Add every sample of ``other`` into this histogram; returns self.

        One vector add over the buckets up to ``other``'s largest sample (numpy views of the
        two counter arrays): ``HdrHistogram.add`` adds all 23 552 counters, and the load
        generator merges ten histograms every second for its sliding window, between sends.
        """
        if other._total == 0:
            return self
        top = _index(other._max_us) + 1
        mine = numpy.frombuffer(self._counts, dtype=numpy.uint64, count=top)
        mine += numpy.frombuffer(other._counts, dtype=numpy.uint64, count=top)
        self._total += other._total
        self._max_us = max(self._max_us, other._max_us)
        self._min_us = other._min_us if self._min_us == 0 else min(self._min_us, other._min_us)
        return self

    def copy(self) -> LatencyHistogram:
        """An independent copy."""
        return LatencyHistogram().merge(self)

    def encode(self) -> str:
        """Compact text form: ``min_us:max_us:<HdrHistogram base64>`` (empty histogram: ``""``)."""
        if self.count == 0:
            return ""
        return f"{self._min_us}:{self._max_us}:{self._synced().encode().decode('ascii')}"

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        """The histogram ``encode`` produced."""
        hist = cls()
        if not text:
            return hist
        try:
            low, high, payload = text.split(":", 2)
            hist._hdr.decode_and_add(payload.encode("ascii"))
            hist._min_us, hist._max_us = int(low), int(high)
            hist._total = int(hist._hdr.total_count)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an encoded latency histogram: {text[:40]!r}…") from exc
        return hist

    @classmethod
    def of(cls, samples: Sequence[float]) -> LatencyHistogram:
        """A histogram holding ``samples`` (seconds)."""
        hist = cls()
        for sample in samples:
            hist.record(sample)
        return hist
