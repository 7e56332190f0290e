"""The ``log`` KPI source: a window's KPIs from the service's per-request JSON log lines.

``read_request_logs(sources, window, routes)`` streams JSON lines (plain or gzip, detected by the
magic bytes; ``-`` is standard input; a path also brings its logrotate siblings ``FILE.N`` and
``FILE.N.gz``, oldest first) and keeps, per judged route, the exact distribution of the logged
durations: a count per distinct duration in whole microseconds. That is exact at the log's own
resolution (the reference writes ``duration_ms`` with three decimals, i.e. 1 µs) and its memory
grows with the number of distinct durations (at most one entry per microsecond of the range,
in practice a few tens of thousands), never with the number of lines.

Percentiles are nearest-rank (the ``ceil(q * n)``-th smallest duration), as the load generator's
HDR histograms report them, so ``quantile <= threshold`` holds exactly when at least ``q * n``
durations are at or below the threshold, the same rule as the Prometheus bucket verdict.

A request line is one with ``"message": "request"`` and the contract's fields
(``timestamp``, ``http.request.method``, ``http.route``, ``http.response.status_code``,
``duration_ms``). The window is closed on both ends at the log's millisecond resolution;
lines outside it, other routes, other lines and malformed lines are counted, never guessed at.

``log_kpis(summary, config)`` judges every KPI from the summary with source ``log``: latency
percentiles (exact), error and success rate (5xx share), throughput (window average and the
worst 60 s sub-window) and availability (the health checks the log shows: 200 over all).
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from hypersync_slo.config import KPIS, QUANTILES, SloConfig, format_value
from hypersync_slo.errors import UsageError, explain
from hypersync_slo.report.reconcile import LogCounts
from hypersync_slo.timestamps import parse_rfc3339, rfc3339_millis
from hypersync_slo.verdicts import KpiResult, Verdict, judge

SOURCE: Final = "log"
SUBWINDOW = 60
_REQUEST = b'"message":"request"'
_REQUEST_SPACED = b'"message": "request"'
_GZIP_MAGIC = b"\x1f\x8b"
_ROTATED = re.compile(r"\.(\d+)(\.gz)?$")
#: Fixed-width RFC 3339 UTC with milliseconds, the reference's form: compared as text.
_FIXED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEALTH_ROUTES = ("/health/live", "/health/ready")


def stamp(moment: datetime) -> str:
    """``2026-11-27T02:00:00.123Z``: the fixed form log timestamps compare with as text."""
    return rfc3339_millis(moment.astimezone(UTC))


def _parse_stamp(text: str) -> str | None:
    """The fixed form of a log timestamp (any RFC 3339 offset), or None when it is not one."""
    if _FIXED.match(text):
        return text
    try:
        moment = parse_rfc3339(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return stamp(moment)


@dataclass
class Distribution:
    """Exact durations: a count per distinct value in whole microseconds."""

    counts: Counter[int] = field(default_factory=Counter)
    total: int = 0

    def add(self, micros: int, count: int = 1) -> None:
        """Record one duration (``count`` times)."""
        self.counts[micros] += count
        self.total += count

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Nearest-rank quantiles in seconds (None when empty)."""
        if self.total == 0:
            return [None for _ in qs]
        ranks = sorted((max(1, math.ceil(q * self.total - 1e-9)), i) for i, q in enumerate(qs))
        found: list[float | None] = [None for _ in qs]
        cumulative = 0
        pending = 0
        for value in sorted(self.counts):
            cumulative += self.counts[value]
            while pending < len(ranks) and ranks[pending][0] <= cumulative:
                found[ranks[pending][1]] = value / 1e6
                pending += 1
            if pending == len(ranks):
                break
        return found

    def at_or_below(self, seconds: float) -> int:
        """How many durations are at or below ``seconds`` (exact, to the microsecond)."""
        limit = round(seconds * 1e6)
        return sum(c for v, c in self.counts.items() if v <= limit)


@dataclass
class LogSummary:
    """What the log says about a window: counts, exact durations, where every line went."""

    sources: list[str] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    routes: str | None = None
    lines: int = 0
    requests: int = 0
    errors: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    errors_by_route: Counter[str] = field(default_factory=Counter)
    durations: Distribution = field(default_factory=Distribution)
    route_durations: dict[str, Distribution] = field(default_factory=dict)
    per_second: Counter[str] = field(default_factory=Counter)
    probes: int = 0
    probes_ok: int = 0
    first: str | None = None
    last: str | None = None
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def seen_window(self) -> tuple[datetime, datetime] | None:
        """The first and last judged request line's time, or None without one."""
        if self.first is None or self.last is None:
            return None
        return (parse_rfc3339(self.first), parse_rfc3339(self.last))

    def describe(self) -> str:
        """One line: what was read and what was kept."""
        skipped = ", ".join(f"{v} {k}" for k, v in sorted(self.skipped.items())) or "none"
        return (
            f"log: {self.requests} request lines judged ({self.errors} 5xx) of {self.lines} lines "
            f"read from {', '.join(self.sources)}; skipped: {skipped}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``log`` section of verdict.json)."""
        return {
            "sources": list(self.sources),
            "lines": self.lines,
            "requests": self.requests,
            "errors_5xx": self.errors,
            "by_status": dict(sorted(self.by_status.items())),
            "by_route": dict(sorted(self.by_route.items())),
            "errors_by_route": dict(sorted(self.errors_by_route.items())),
            "health_checks": {"ok": self.probes_ok, "total": self.probes},
            "first_request": self.first,
            "last_request": self.last,
            "skipped": dict(sorted(self.skipped.items())),
            "distinct_durations": len(self.durations.counts),
            "resolution": "1 µs (durations kept exactly, per distinct value)",
        }


def rotated_files(path: Path) -> list[Path]:
    """``path``'s logrotate siblings (``FILE.N``, ``FILE.N.gz``), oldest first, then ``path``."""
    siblings: list[tuple[int, Path]] = []
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if not candidate.name.startswith(path.name + "."):
                continue
            match = _ROTATED.fullmatch(candidate.name[len(path.name) :])
            if match:
                siblings.append((int(match.group(1)), candidate))
    return [p for _, p in sorted(siblings, reverse=True)] + [path]


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(path, mode="rb"), 1 << 20)
    return path.open("rb", buffering=1 << 20)


def _streams(sources: Sequence[str]) -> Iterator[tuple[str, IO[bytes]]]:
    for source in sources:
        if source == "-":
            stdin = sys.stdin.buffer
            yield "<stdin>", stdin
            continue
        path = Path(source)
        if not path.exists():
            raise UsageError(
                explain(
                    f"--logs {source}: no such file.",
                    what_to_do="give the service's JSON log file, a .gz of it, or - for stdin",
                )
            )
        for file in rotated_files(path):
            try:
                stream = _open(file)
            except OSError as exc:
                raise UsageError(f"--logs: cannot read {file}: {exc.strerror or exc}.") from exc
            with stream:
                yield str(file), stream


Key = tuple[bytes, bytes, bytes, bytes]


def _fast(line: bytes) -> tuple[bytes, Key] | None:
    """(timestamp, key) of a line in the reference service's own layout, else None.

    Byte searches from the line's end (the fields the reference writes last), several times
    faster than a regular expression or ``json.loads``; any other layout goes through json.
    """
    if not line.startswith(b'{"timestamp":"') or line[38:39] != b'"':
        return None
    if line.find(b',"message":"request",', 38, 120) < 0:
        return None
    d = line.rfind(b',"duration_ms":')
    c = line.rfind(b',"http.response.status_code":', 0, d)
    m = line.rfind(b',"http.request.method":"', 0, c)
    r = line.find(b'","http.route":"', m, c)
    u = line.find(b'","url.path":"', r, c)
    e = line.rfind(b"}")
    if d < 0 or c < 0 or m < 0 or r < 0 or u < 0 or e < d:
        return None
    when, status, duration = line[14:38], line[c + 29 : d], line[d + 15 : e]
    if (
        len(status) != 3
        or not status.isdigit()
        or when[10:11] != b"T"
        or when[23:24] != b"Z"
        or not duration.replace(b".", b"", 1).isdigit()
    ):
        return None
    return when, (line[m + 24 : r], line[r + 16 : u], status, duration)


def _slow(line: bytes) -> tuple[bytes, Key] | str:
    """(timestamp, key) of a request line in any JSON layout, or the reason it is skipped."""
    try:
        record = json.loads(line)
        when = record["timestamp"]
        method = record["http.request.method"]
        route = record["http.route"]
        status = int(record["http.response.status_code"])
        duration = float(record["duration_ms"])
    except (ValueError, KeyError, TypeError):
        return "malformed"
    if not isinstance(when, str) or not isinstance(route, str) or not isinstance(method, str):
        return "malformed"
    fixed = _parse_stamp(when)
    if fixed is None or duration < 0 or not math.isfinite(duration):
        return "malformed"
    return fixed.encode(), (
        method.encode(),
        route.encode(),
        str(status).encode(),
        f"{duration:.3f}".encode(),
    )


def read_request_logs(
    sources: Sequence[str],
    window: tuple[datetime, datetime] | None = None,
    *,
    routes: str | None = "/v1/.*",
) -> LogSummary:
    """Stream the request lines of ``sources`` into a ``LogSummary`` for ``window`` (None: all).

    The loop keeps one count per distinct (method, route, status, duration text) and per
    (second, route): both bounded by the service's variety, not by the number of lines.
    Everything else is derived from them at the end.
    """
    summary = LogSummary(window=window, routes=routes)
    low, high = (stamp(window[0]).encode(), stamp(window[1]).encode()) if window else (b"", b"~")
    counts: Counter[Key] = Counter()
    per_second: Counter[tuple[bytes, bytes]] = Counter()
    bounds: dict[bytes, list[bytes]] = {}
    lines = not_request = outside = malformed = 0
    for name, stream in _streams(sources):
        summary.sources.append(name)
        try:
            for line in stream:
                lines += 1
                found = _fast(line)
                if found is not None:
                    when, key = found
                    route = key[1]
                elif _REQUEST not in line and _REQUEST_SPACED not in line:
                    not_request += 1
                    continue
                else:
                    slow = _slow(line)
                    if isinstance(slow, str):
                        malformed += 1
                        continue
                    when, key = slow
                    route = key[1]
                if not low <= when <= high:
                    outside += 1
                    continue
                counts[key] += 1
                per_second[when[:19], route] += 1
                seen = bounds.get(route)
                if seen is None:
                    bounds[route] = [when, when]
                elif when < seen[0]:
                    seen[0] = when
                elif when > seen[1]:
                    seen[1] = when
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise UsageError(f"--logs: {name} could not be read to the end: {exc}.") from exc
    summary.lines = lines
    skipped = {
        "not a request line": not_request,
        "outside the window": outside,
        "malformed": malformed,
    }
    summary.skipped.update({reason: number for reason, number in skipped.items() if number})
    _summarise(summary, counts, per_second, bounds, routes)
    return summary


def _summarise(
    summary: LogSummary,
    counts: Counter[Key],
    per_second: Counter[tuple[bytes, bytes]],
    bounds: Mapping[bytes, list[bytes]],
    routes: str | None,
) -> None:
    pattern = re.compile(routes) if routes else None
    judged: dict[bytes, bool] = {}
    for raw in {key[1] for key in counts} | {route for _, route in per_second}:
        text = raw.decode("utf-8", "replace")
        judged[raw] = pattern is None or bool(pattern.fullmatch(text))
    micros_of: dict[bytes, int] = {}
    for (method_raw, route_raw, status_raw, duration_raw), number in counts.items():
        route = route_raw.decode("utf-8", "replace")
        status = int(status_raw)
        if route in HEALTH_ROUTES:
            summary.probes += number
            summary.probes_ok += number if status == 200 else 0
        if not judged[route_raw]:
            summary.skipped["other routes"] += number
            continue
        micros = micros_of.get(duration_raw)
        if micros is None:
            micros = micros_of[duration_raw] = round(float(duration_raw) * 1000.0)
        key = f"{method_raw.decode('utf-8', 'replace')} {route}"
        summary.requests += number
        summary.by_status[str(status)] += number
        summary.by_route[key] += number
        if status >= 500:
            summary.errors += number
            summary.errors_by_route[key] += number
        summary.durations.add(micros, number)
        summary.route_durations.setdefault(key, Distribution()).add(micros, number)
    for (second, route_raw), number in per_second.items():
        if judged[route_raw]:
            summary.per_second[second.decode()] += number
    kept = [seen for route_raw, seen in bounds.items() if judged[route_raw]]
    if kept:
        summary.first = min(seen[0] for seen in kept).decode()
        summary.last = max(seen[1] for seen in kept).decode()


def worst_subwindow(per_second: Mapping[str, int], start: datetime, end: datetime) -> float | None:
    """The lowest request rate over any 60 whole seconds inside ``[start, end]``, or None."""
    first = math.ceil(start.timestamp())
    last = math.floor(end.timestamp())
    if last - first < SUBWINDOW:
        return None
    counts = [0] * (last - first)
    for second, count in per_second.items():
        at = int(parse_rfc3339(second + "Z").timestamp())
        if first <= at < last:
            counts[at - first] += count
    running = sum(counts[:SUBWINDOW])
    worst = running
    for i in range(SUBWINDOW, len(counts)):
        running += counts[i] - counts[i - SUBWINDOW]
        worst = min(worst, running)
    return worst / SUBWINDOW


def log_kpis(summary: LogSummary, config: SloConfig) -> list[KpiResult]:
    """Every KPI judged from the log summary, source ``log``, in the order of ``KPIS``."""
    window = summary.window or summary.seen_window
    if window is None:
        now = datetime.now(UTC)
        window = (now, now)
    files = ", ".join(summary.sources)
    where = f"request lines of {files}" + (f" on routes {summary.routes}" if summary.routes else "")
    results: dict[str, KpiResult] = {}
    names = list(QUANTILES)
    values = summary.durations.quantiles([QUANTILES[n] for n in names])
    for name, value in zip(names, values, strict=True):
        objective = config.objective(name)
        detail: dict[str, Any] = {
            "quantile": QUANTILES[name],
            "method": "nearest rank over the exact logged durations (1 µs resolution)",
        }
        if objective.value is not None:
            detail["share_at_or_below_threshold"] = (
                summary.durations.at_or_below(objective.value) / summary.durations.total
                if summary.durations.total
                else None
            )
        by_route = {
            key: dist.quantiles([QUANTILES[name]])[0]
            for key, dist in sorted(summary.route_durations.items())
        }
        detail["by_route"] = by_route
        results[name] = judge(
            objective,
            value,
            summary.durations.total,
            source=SOURCE,
            window=window,
            query=f"{where}: duration_ms, {name.removeprefix('latency_')}",
            detail=detail,
        )
    ratio = summary.errors / summary.requests if summary.requests else None
    status_detail = {
        "requests": summary.requests,
        "errors_5xx": summary.errors,
        "by_status": dict(sorted(summary.by_status.items())),
    }
    results["error_rate"] = judge(
        config.objective("error_rate"),
        ratio,
        summary.requests,
        source=SOURCE,
        window=window,
        query=f"{where}: status >= 500 / all",
        detail=status_detail,
    )
    results["success_rate"] = judge(
        config.objective("success_rate"),
        None if ratio is None else 1.0 - ratio,
        summary.requests,
        source=SOURCE,
        window=window,
        query=f"{where}: status < 500 / all",
        detail=status_detail,
    )
    results["throughput_rps"] = _throughput(summary, config, window, where)
    results["availability"] = judge(
        config.objective("availability"),
        summary.probes_ok / summary.probes if summary.probes else None,
        summary.probes,
        source=SOURCE,
        window=window,
        query=f"health-check lines of {files} ({', '.join(HEALTH_ROUTES)}): 200 / all",
        detail={"successful": summary.probes_ok, "total": summary.probes},
        no_data_reason=None
        if summary.probes
        else "the log has no health-check line in the window: availability needs probes",
    )
    return [results[name] for name in KPIS]


def _throughput(
    summary: LogSummary, config: SloConfig, window: tuple[datetime, datetime], where: str
) -> KpiResult:
    objective = config.objective("throughput_rps")
    seconds = (window[1] - window[0]).total_seconds()
    average = summary.requests / seconds if seconds > 0 and summary.requests else None
    worst = worst_subwindow(summary.per_second, window[0], window[1])
    detail: dict[str, Any] = {
        "requests": summary.requests,
        "window_seconds": seconds,
        "worst_60s_rps": worst,
    }
    holds = None
    if average is not None and objective.value is not None:
        holds = objective.holds(average) and (worst is None or objective.holds(worst))
    result = judge(
        objective,
        average,
        summary.requests,
        source=SOURCE,
        window=window,
        query=f"{where}: lines / {seconds:g} s",
        holds=holds,
        detail=detail,
    )
    if result.verdict is Verdict.FAIL and worst is not None and not objective.holds(worst):
        return dataclasses.replace(
            result,
            reason=f"worst 60 s sub-window {format_value(worst, 'rps')} is outside "
            f"objective {objective.describe()}",
        )
    return result


def log_counts(summary: LogSummary) -> LogCounts:
    """The summary as reconciliation reads it."""
    names = list(QUANTILES)
    values = summary.durations.quantiles([QUANTILES[n] for n in names])
    return LogCounts(
        requests=float(summary.requests),
        errors=float(summary.errors),
        by_route={k: float(v) for k, v in summary.by_route.items()},
        quantiles={n.removeprefix("latency_"): v for n, v in zip(names, values, strict=True)},
        where=", ".join(summary.sources),
    )
