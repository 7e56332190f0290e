"""The files one stage hands to the next: ``load-result.json`` and ``verdict.json``, typed.

``LoadResult`` is what the load stage writes (``loadgen/result.py`` builds it from the load
processes' parts) and what the report stage, the run page and the job read back;
``ReportVerdict`` is what the report stage writes (``report/json_report.py``) and what the run
page and the history read back. Each has ``to_json`` (the bytes on disk) and ``from_json``
(what a reader gets), and the file names are here, once.

Reading is tolerant by design: these files are an output contract other tools read and write
too (keys are kept, new ones may be added), and a hand-written or older file may lack figures.
A figure the file lacks (or holds with the wrong JSON type) reads as ``None``, an empty
container, or ``False``; it is never invented, so a missing figure stays "no data" downstream.
Only a file that is not a JSON object is refused: ``read_load_result`` says so as a
``UsageError`` (exit 2) naming the option and the file.

``load-result.json`` (times in seconds, timestamps RFC 3339 UTC)::

    {"target_url", "target_rps", "achieved_rps", "scheduled", "sent", "elapsed", "duration",
     "arrival", "seed", "workers", "connections",
     "window": {"start", "end", "start_unix", "end_unix"},
     "requests", "errors", "errors_by_cause": {...}, "dropped", "late", "unfinished",
     "schedule_lag": {<latency figures>, "source"}, "saturated": bool, "saturation_reasons",
     "interrupted", "aborted",
     "latency": {"corrected": {"p50", "p95", "p99", "p999", "max", "samples"},
                 "uncorrected": {...}, "source": "client", "unit": "s", "method"},
     "by_request": {"<route template>": {"requests", "errors", "errors_by_cause", "dropped",
                                         "latency": {"corrected", "uncorrected"}}},
     "business_calls": {"<declared counter metric>": {"<label=value,...>" or "": n}},
     "rate_over_time": [[t_offset_s, rps], ...], "generator": {...},
     "verdict": {"status": "pass"|"fail"|"no_data"|"void", "kpi_verdict", "slo_file",
                 "source", "window", "failed", "no_data", "aborted", "saturation_reasons",
                 "kpis": [<a verdict.json KPI item: name, source, observed, objective, unit,
                          samples, window, query, verdict, reason, gating, detail> + message,
                          min_samples, no_data_policy]}}

``requests`` counts completed requests (answered or failed), ``errors`` those that failed (a
transport error, or a status the traffic declaration does not count as success: its cause says
which, ``unexpected status 200 (expected 202) on POST /v1/...`` or ``404 Not Found on GET
...``), ``dropped`` scheduled sends never made because the client-side queue was full. ``late``
sends started more than the late tolerance after their intended time: the generator's own
delay.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypedDict, cast

from hypersync_slo.errors import UsageError

__all__ = [
    "LOAD_RESULT_FILE",
    "LOAD_SUMMARY_FILE",
    "VERDICT_FILE",
    "ClientLatency",
    "KpiItem",
    "LatencyFigures",
    "LoadResult",
    "LoadVerdict",
    "ReportVerdict",
    "ReportWindow",
    "RequestFigures",
    "RequestLatency",
    "RunWindow",
    "finite",
    "load_result_file",
    "read_load_result",
]

LOAD_RESULT_FILE = "load-result.json"
LOAD_SUMMARY_FILE = "load-summary.md"
VERDICT_FILE = "verdict.json"

#: One KPI item as verdict.json lists it (``KpiResult.to_dict``); the load's items add
#: ``message``, ``min_samples`` and ``no_data_policy``.
KpiItem = dict[str, Any]


class LatencyFigures(TypedDict, total=False):
    """Client latency percentiles in seconds (None when there were no samples)."""

    p50: float | None
    p95: float | None
    p99: float | None
    p999: float | None
    max: float | None
    samples: int
    #: Only on ``schedule_lag``: what the figures measure.
    source: str


class ClientLatency(TypedDict, total=False):
    """The whole run's latency: corrected (from the intended send time) and uncorrected."""

    corrected: LatencyFigures
    uncorrected: LatencyFigures
    source: str
    unit: str
    method: str


class RequestLatency(TypedDict, total=False):
    """One request's latency, corrected and uncorrected."""

    corrected: LatencyFigures
    uncorrected: LatencyFigures


class RequestFigures(TypedDict, total=False):
    """One declared request's counts and latency (``by_request`` items)."""

    requests: int
    errors: int
    errors_by_cause: dict[str, int]
    dropped: int
    latency: RequestLatency


class RunWindow(TypedDict, total=False):
    """The run's arrival window: RFC 3339 UTC and Unix seconds (all None when nothing ran)."""

    start: str | None
    end: str | None
    start_unix: float | None
    end_unix: float | None


class LoadVerdict(TypedDict, total=False):
    """The ``verdict`` block of a load result: the client KPIs judged, and the run's status."""

    status: str
    kpi_verdict: str
    slo_file: str
    source: str
    window: RunWindow
    failed: list[str]
    no_data: list[str]
    aborted: str | None
    saturation_reasons: list[str]
    kpis: list[KpiItem]


def _number(value: object) -> float | None:
    """A JSON number as it is (int or float), else None; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _count(value: object) -> int | None:
    """A JSON integer (or a float with no fraction, as other tools write counts), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _array(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _json_object(text: str | bytes) -> dict[str, Any]:
    """``text`` parsed; ValueError when it is not JSON or not an object."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("must hold a JSON object")
    return data


@dataclass(frozen=True)
class LoadResult:
    """``load-result.json``: a load run's client figures and its verdict on them.

    Field order is the key order on disk. Figures a read file lacks are None (or empty).
    """

    target_url: str | None = None
    target_rps: float | None = None
    achieved_rps: float | None = None
    scheduled: int | None = None
    sent: int | None = None
    elapsed: float | None = None
    duration: float | None = None
    arrival: str | None = None
    seed: int | None = None
    workers: int | None = None
    connections: int | None = None
    window: RunWindow = field(default_factory=RunWindow)
    requests: int | None = None
    errors: int | None = None
    errors_by_cause: dict[str, int] = field(default_factory=dict)
    dropped: int | None = None
    late: int | None = None
    unfinished: int | None = None
    schedule_lag: LatencyFigures = field(default_factory=LatencyFigures)
    saturated: bool = False
    saturation_reasons: list[str] = field(default_factory=list)
    interrupted: bool = False
    aborted: str | None = None
    latency: ClientLatency = field(default_factory=ClientLatency)
    by_request: dict[str, RequestFigures] = field(default_factory=dict)
    business_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    rate_over_time: list[list[float]] = field(default_factory=list)
    generator: dict[str, Any] = field(default_factory=dict)
    #: Empty until judged (``loadgen/load_verdict.py``), or when a read file has none.
    verdict: LoadVerdict = field(default_factory=LoadVerdict)

    @property
    def void(self) -> bool:
        """True when the load was void: saturated, or its verdict says ``void``."""
        return self.saturated or self.verdict.get("status") == "void"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, keys in file order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        """The text of ``load-result.json``."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        """A load result from a parsed document (tolerant: see the module docstring)."""
        return cls(
            target_url=_text(data.get("target_url")),
            target_rps=_number(data.get("target_rps")),
            achieved_rps=_number(data.get("achieved_rps")),
            scheduled=_count(data.get("scheduled")),
            sent=_count(data.get("sent")),
            elapsed=_number(data.get("elapsed")),
            duration=_number(data.get("duration")),
            arrival=_text(data.get("arrival")),
            seed=_count(data.get("seed")),
            workers=_count(data.get("workers")),
            connections=_count(data.get("connections")),
            window=cast(RunWindow, _object(data.get("window"))),
            requests=_count(data.get("requests")),
            errors=_count(data.get("errors")),
            errors_by_cause=_object(data.get("errors_by_cause")),
            dropped=_count(data.get("dropped")),
            late=_count(data.get("late")),
            unfinished=_count(data.get("unfinished")),
            schedule_lag=cast(LatencyFigures, _object(data.get("schedule_lag"))),
            saturated=bool(data.get("saturated")),
            saturation_reasons=[str(r) for r in _array(data.get("saturation_reasons"))],
            interrupted=bool(data.get("interrupted")),
            aborted=_text(data.get("aborted")),
            latency=cast(ClientLatency, _object(data.get("latency"))),
            by_request=_object(data.get("by_request")),
            business_calls=_object(data.get("business_calls")),
            rate_over_time=_array(data.get("rate_over_time")),
            generator=_object(data.get("generator")),
            verdict=cast(LoadVerdict, _object(data.get("verdict"))),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> LoadResult:
        """A load result from its JSON text; ValueError when it is not a JSON object."""
        return cls.from_dict(_json_object(text))


def load_result_file(path: Path) -> Path:
    """``path`` itself, or the ``load-result.json`` in it when it is a directory."""
    return path / LOAD_RESULT_FILE if path.is_dir() else path


def read_load_result(path: Path, *, option: str = "--load-result") -> LoadResult:
    """A load run's result: a directory holding load-result.json, or the file itself.

    A file that cannot be read, is not JSON text or not a JSON object is a ``UsageError``
    (exit 2) naming ``option`` and the file.
    """
    file = load_result_file(path)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {file}: {exc.strerror or exc}.") from exc
    except ValueError as exc:  # not UTF-8
        raise UsageError(f"{option}: {file} is not JSON text: {exc}.") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {file} is not JSON text: {exc}.") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option}: {file} must hold a JSON object.")
    return LoadResult.from_dict(data)


def finite(value: Any) -> Any:
    """``value`` with every NaN and ±Inf float (however deeply nested) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


class ReportWindow(TypedDict, total=False):
    """The judged window: RFC 3339 UTC bounds, its length and the settling it waited for."""

    start: str
    end: str
    seconds: float
    settle_seconds: float


@dataclass(frozen=True)
class ReportVerdict:
    """``verdict.json``: the report's verdict over one window, KPI by KPI.

    Field order is the key order on disk; ``log`` is written only when the report read a log.
    """

    verdict: str | None = None
    exit_code: int | None = None
    interrupted: bool = False
    window: ReportWindow = field(default_factory=ReportWindow)
    coverage: dict[str, Any] | None = None
    target: str | None = None
    prometheus_url: str | None = None
    job: str | None = None
    kpis: list[KpiItem] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    generated_at: str | None = None
    slo_file: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    #: ``{"kpis": [...], "summary": {...}}`` of the log source, or None (not written).
    log: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, keys in file order (``log`` only when there is one)."""
        document = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.log is None:
            del document["log"]
        return document

    def to_json(self) -> str:
        """The text of ``verdict.json`` (NaN and ±Inf never appear: they are null)."""
        return json.dumps(finite(self.to_dict()), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportVerdict:
        """A verdict from a parsed document (tolerant, as ``LoadResult.from_dict``)."""
        coverage, log = data.get("coverage"), data.get("log")
        return cls(
            verdict=_text(data.get("verdict")),
            exit_code=_count(data.get("exit_code")),
            interrupted=bool(data.get("interrupted")),
            window=cast(ReportWindow, _object(data.get("window"))),
            coverage=dict(coverage) if isinstance(coverage, Mapping) else None,
            target=_text(data.get("target")),
            prometheus_url=_text(data.get("prometheus_url")),
            job=_text(data.get("job")),
            kpis=[dict(k) for k in _array(data.get("kpis")) if isinstance(k, Mapping)],
            findings=[dict(f) for f in _array(data.get("findings")) if isinstance(f, Mapping)],
            errors=[str(e) for e in _array(data.get("errors"))],
            generated_at=_text(data.get("generated_at")),
            slo_file=_text(data.get("slo_file")),
            timings=_object(data.get("timings")),
            log=dict(log) if isinstance(log, Mapping) else None,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ReportVerdict:
        """A verdict from its JSON text; ValueError when it is not a JSON object."""
        return cls.from_dict(_json_object(text))
