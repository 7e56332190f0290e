"""CloudWatch Embedded Metric Format (EMF): a run's KPIs as log lines CloudWatch turns into metrics.

One record is one JSON object on one line; the CloudWatch agent (or a Lambda's stdout) extracts
the metrics its ``_aws`` block names. ``kpi_record()`` writes the record of one run;
``validate_record()`` checks any record against the EMF specification (the JSON Schema of the
AWS user guide plus its prose rules), so what the writer emits is proven, not assumed:

* ``_aws.Timestamp``: integer milliseconds since the epoch;
* ``_aws.CloudWatchMetrics``: directives with ``Namespace`` (1-1024 chars), ``Dimensions`` (an
  array of at least one array of at most 30 keys, each 1-250 chars) and ``Metrics`` (at most 100,
  each with ``Name``, an optional ``Unit`` from the enumerated set and ``StorageResolution`` 1 or
  60);
* every dimension key is a top-level string member (at most 1024 chars), every metric name a
  top-level number or array of at most 100 numbers; the line is at most 1 MB.

``load_run_kpis()`` reads a run's KPIs from the tool's own ``verdict.json`` (with the ``log``
source's KPIs of ``report --logs`` as a source of their own), or the KPI items
of ``load-result.json``, or a plain ``{"kpis": {...}, "timestamp_ms": N}`` file;
``run_records()`` turns them into one record per figure source (``Source`` is a dimension),
refusing what CloudWatch would drop: a timestamp older than 14 days or more than 2 hours ahead,
and a run in which no KPI had data (a record without metrics is never written: no empty
directive).

Units follow the Prometheus side: latencies in ``Seconds``, throughput in ``Count/Second``,
ratios as ``Percent`` (0-100, the unit CloudWatch graphs as a percentage). Dimensions are the
service and the figure's source only: request-scoped values (trace or request IDs) stay plain
members so they never become billed metrics. The ``aws-embedded-metrics`` package is not used:
it is a logger for a running process with an agent or Lambda sink, not a writer of files.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from hypersync_slo.config import KPI_UNITS
from hypersync_slo.errors import (
    ConfigError,
    LoadGeneratorSaturated,
    NoData,
    UsageError,
    explain,
)
from hypersync_slo.timestamps import parse_rfc3339, rfc3339

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
MAX_DIMENSION_KEYS = 30
MAX_METRICS = 100
MAX_VALUES = 100
MAX_LINE_BYTES = 1_000_000
#: CloudWatch accepts metric data points up to two weeks old and up to two hours ahead.
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000
DEFAULT_NAMESPACE = "HyperSync/SLO"
#: Keys that would explode cardinality (and the bill) as dimensions.
HIGH_CARDINALITY = frozenset(
    {
        "requestId",
        "request_id",
        "traceId",
        "trace_id",
        "userId",
        "user_id",
        "receipt_id",
        "agent_id",
        "execution_id",
    }
)
#: SLO-file unit -> (EMF unit, factor applied to the base-unit value)
_UNIT_MAP: dict[str, tuple[str, float]] = {
    "s": ("Seconds", 1.0),
    "ratio": ("Percent", 100.0),
    "rps": ("Count/Second", 1.0),
}


def kpi_record(
    kpis: Mapping[str, float],
    *,
    service: str,
    timestamp_ms: int,
    source: str,
    namespace: str = DEFAULT_NAMESPACE,
    samples: Mapping[str, int] | None = None,
    extra: Mapping[str, str | int | float | bool] | None = None,
    storage_resolution: int = 60,
) -> dict[str, Any]:
    """The EMF record of one run's KPIs (base-unit values keyed by KPI name, e.g. ``latency_p99``).

    A NaN KPI (no data) is left out of the metrics and listed in the ``no_data`` member, so
    CloudWatch never graphs a made-up number. ``samples`` become ``<kpi>_samples`` members.
    """
    metrics: list[dict[str, Any]] = []
    record: dict[str, Any] = {"Service": service, "Source": source}
    no_data: list[str] = []
    for kpi in sorted(kpis):
        if kpi not in KPI_UNITS:
            raise ConfigError(f"EMF: unknown KPI {kpi!r}; known KPIs are {', '.join(KPI_UNITS)}.")
        unit, factor = _UNIT_MAP[KPI_UNITS[kpi]]
        value = float(kpis[kpi]) * factor
        if not math.isfinite(value):
            no_data.append(kpi)
            continue
        record[kpi] = value
        metrics.append({"Name": kpi, "Unit": unit, "StorageResolution": storage_resolution})
    for kpi, count in sorted((samples or {}).items()):
        record[f"{kpi}_samples"] = int(count)
    if no_data:
        record["no_data"] = ",".join(no_data)
    for key, member in sorted((extra or {}).items()):
        if key in record or key == "_aws":
            raise ConfigError(f"EMF: extra member {key!r} would overwrite a KPI or dimension.")
        record[key] = member
    if not metrics:
        raise NoData(
            explain(
                "EMF: no KPI had data, so there is no metric to write.",
                no_data=", ".join(no_data) or "(no KPI given)",
                source=source,
                result="no record written: an empty Metrics directive would store nothing",
            )
        )
    record["_aws"] = {
        "Timestamp": int(timestamp_ms),
        "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [["Service", "Source"]], "Metrics": metrics}
        ],
    }
    problems = validate_record(record)
    if problems:
        raise ConfigError(
            explain(
                "EMF: the record would be rejected by CloudWatch.", problems="; ".join(problems)
            )
        )
    return record


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_record(record: Mapping[str, Any]) -> list[str]:
    """Every way ``record`` breaks the EMF specification (empty when it is valid)."""
    aws = record.get("_aws")
    if not isinstance(aws, Mapping):
        return ["_aws: required object is missing"]
    problems = _timestamp_problems(aws.get("Timestamp"))
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return [*problems, "_aws.CloudWatchMetrics: required array is missing"]
    if not directives:
        problems.append("_aws.CloudWatchMetrics: empty: the record would store no metric")
    for i, directive in enumerate(directives):
        problems += _directive_problems(record, directive, f"_aws.CloudWatchMetrics[{i}]")
    size = len(json.dumps(record, separators=(",", ":")).encode("utf-8"))
    if size > MAX_LINE_BYTES:
        problems.append(f"record is {size} bytes, more than {MAX_LINE_BYTES}")
    return problems


def _timestamp_problems(stamp: object) -> list[str]:
    """``_aws.Timestamp`` must be integer milliseconds since the epoch."""
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        return [f"_aws.Timestamp: must be integer milliseconds since the epoch, got {stamp!r}"]
    if stamp < 10**11:
        return [f"_aws.Timestamp: {stamp} looks like seconds, not milliseconds"]
    return []


def _directive_problems(record: Mapping[str, Any], directive: object, where: str) -> list[str]:
    """One ``CloudWatchMetrics`` directive: namespace, dimension sets, metrics."""
    if not isinstance(directive, Mapping):
        return [f"{where}: must be an object"]
    problems: list[str] = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
        problems.append(f"{where}.Namespace: must be a string of 1-1024 characters")
    dimensions = directive.get("Dimensions")
    if not isinstance(dimensions, list) or not dimensions:
        problems.append(f"{where}.Dimensions: must be an array of at least one dimension set")
        dimensions = []
    for j, dim_set in enumerate(dimensions):
        problems += _dimension_set_problems(record, dim_set, f"{where}.Dimensions[{j}]")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        problems.append(f"{where}.Metrics: required array is missing")
        metrics = []
    if not metrics:
        problems.append(f"{where}.Metrics: empty: the directive would store no metric")
    if len(metrics) > MAX_METRICS:
        problems.append(f"{where}.Metrics: {len(metrics)} metrics, at most {MAX_METRICS}")
    for k, metric in enumerate(metrics):
        problems += _metric_problems(record, metric, f"{where}.Metrics[{k}]")
    return problems


def _dimension_set_problems(record: Mapping[str, Any], dim_set: object, where: str) -> list[str]:
    """One dimension set: at most 30 keys, each naming a top-level string member."""
    if not isinstance(dim_set, list):
        return [f"{where}: must be an array of keys (an array of arrays)"]
    problems: list[str] = []
    if len(dim_set) > MAX_DIMENSION_KEYS:
        problems.append(f"{where}: {len(dim_set)} keys, at most {MAX_DIMENSION_KEYS}")
    for key in dim_set:
        if not isinstance(key, str) or not 1 <= len(key) <= 250:
            problems.append(f"{where}: key {key!r} must be a string of 1-250 characters")
            continue
        target = record.get(key)
        if not isinstance(target, str):
            problems.append(f"dimension {key!r}: no top-level string member of that name")
        elif len(target) > 1024:
            problems.append(f"dimension {key!r}: value longer than 1024 characters")
        if key in HIGH_CARDINALITY:
            problems.append(f"dimension {key!r}: request-scoped, would create one metric per value")
    return problems


def _metric_problems(record: Mapping[str, Any], metric: object, where: str) -> list[str]:
    """One metric definition, and the top-level member holding its value(s)."""
    if not isinstance(metric, Mapping):
        return [f"{where}: must be an object"]
    name = metric.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= 1024:
        return [f"{where}.Name: must be a string of 1-1024 characters"]
    problems: list[str] = []
    unit = metric.get("Unit", "None")
    if unit not in UNITS:
        problems.append(f"{where}.Unit: {unit!r} is not an EMF unit")
    resolution = metric.get("StorageResolution", 60)
    if resolution not in (1, 60) or isinstance(resolution, bool):
        problems.append(f"{where}.StorageResolution: must be 1 or 60, got {resolution!r}")
    value = record.get(name)
    if isinstance(value, list):
        if len(value) > MAX_VALUES or not all(_is_number(v) for v in value):
            problems.append(
                f"metric {name!r}: an array member must hold at most {MAX_VALUES} numbers"
            )
    elif not _is_number(value):
        problems.append(f"metric {name!r}: no top-level numeric member of that name")
    return problems


def emf_lines(records: Iterable[Mapping[str, Any]]) -> str:
    """Records as EMF log text: one compact JSON object per line, keys sorted."""
    return "".join(json.dumps(r, separators=(",", ":"), sort_keys=True) + "\n" for r in records)


@dataclass(frozen=True)
class RunKpis:
    """One source's KPIs of a run: base-unit values (NaN = no data), time and sample counts."""

    kpis: Mapping[str, float]
    source: str
    timestamp_ms: int
    samples: Mapping[str, int] = field(default_factory=dict)
    verdicts: Mapping[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the KPI file {path}: {exc.strerror or exc}.") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc


def _stamp_ms(text: object, path: Path) -> int:
    try:
        moment = parse_rfc3339(str(text))
    except ValueError as exc:
        raise ConfigError(f"{path}: window.end {text!r} is not an ISO 8601 time.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _from_items(data: Mapping[str, Any], path: Path) -> list[RunKpis]:
    """verdict.json (or load-result.json): a ``kpis`` list of items, timed at the window's end."""
    window = data.get("window")
    if not isinstance(window, Mapping) or "end" not in window:
        raise ConfigError(
            explain(
                f"{path}: a KPI list needs the window it describes.",
                expected='"window": {"start": "...Z", "end": "...Z"} (as verdict.json has)',
            )
        )
    stamp = _stamp_ms(window["end"], path)
    values: dict[str, dict[str, float]] = {}
    samples: dict[str, dict[str, int]] = {}
    verdicts: dict[str, dict[str, str]] = {}
    log = data.get("log")
    # report --logs: the log source's KPIs are a source of their own (Source=log)
    log_items = log.get("kpis") if isinstance(log, Mapping) else None
    for item in [*data["kpis"], *(log_items if isinstance(log_items, list) else [])]:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{path}: every item of 'kpis' needs a 'name' (as verdict.json has).")
        name, source = item["name"], str(item.get("source") or "unknown")
        observed, verdict = item.get("observed"), item.get("verdict")
        try:
            value = float("nan") if observed is None else float(observed)
            count = int(item.get("samples") or 0)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: KPI {name!r}: 'observed' must be a number or null and 'samples' a "
                f"whole number ({exc})."
            ) from exc
        if verdict in ("no_data", "error"):
            value = float("nan")  # a figure its own verdict does not stand behind: not published
        values.setdefault(source, {})[name] = value
        samples.setdefault(source, {})[name] = count
        if isinstance(verdict, str):
            verdicts.setdefault(source, {})[name] = verdict
    return [
        RunKpis(kpis, source, stamp, samples[source], verdicts.get(source, {}))
        for source, kpis in values.items()
    ]


def _from_mapping(data: Mapping[str, Any], path: Path) -> list[RunKpis]:
    """``{"kpis": {name: value}, "source": ..., "timestamp_ms": N, "samples": {...}}``."""
    stamp = data.get("timestamp_ms")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise ConfigError(f"{path}: 'timestamp_ms' must be integer milliseconds since the epoch.")
    try:
        kpis = {
            str(k): float(v) if v is not None else float("nan") for k, v in data["kpis"].items()
        }
        samples = {str(k): int(v) for k, v in (data.get("samples") or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{path}: every KPI value must be a number or null and every sample count a "
            f"whole number ({exc})."
        ) from exc
    return [RunKpis(kpis, str(data.get("source", "client")), stamp, samples)]


def load_run_kpis(path: Path) -> list[RunKpis]:
    """A run's KPIs, one ``RunKpis`` per source, from ``verdict.json``, ``load-result.json``
    (its ``verdict`` part) or a plain ``{"kpis": {...}, "timestamp_ms": N}`` file."""
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("verdict"), dict):  # load-result.json
        if data["verdict"].get("status") == "void":
            raise LoadGeneratorSaturated(
                explain(
                    f"{path}: the load was void (the generator could not hold its rate), so "
                    "its figures describe the generator, not the service.",
                    result="no EMF record written",
                )
            )
        data = {**data["verdict"], "window": data["verdict"].get("window", data.get("window"))}
    if isinstance(data, dict) and isinstance(data.get("kpis"), list):
        return _from_items(data, path)
    if isinstance(data, dict) and isinstance(data.get("kpis"), dict):
        return _from_mapping(data, path)
    raise ConfigError(
        explain(
            f"{path}: expected verdict.json (a 'kpis' list and its 'window') or a JSON object "
            "with a 'kpis' mapping.",
            example='{"kpis": {"latency_p99": 0.21}, "source": "client", '
            '"timestamp_ms": 1795000000000, "samples": {"latency_p99": 60000}}',
        )
    )


def check_fresh(timestamp_ms: int, *, now_ms: int, where: str = "the KPI file") -> None:
    """Refuse a timestamp CloudWatch would drop: older than 14 days or over 2 hours ahead."""
    when = rfc3339(timestamp_ms / 1000)
    age_ms = now_ms - timestamp_ms
    if age_ms > MAX_AGE_MS:
        raise UsageError(
            explain(
                f"EMF: {where} is {age_ms / 86_400_000:.1f} days old; CloudWatch drops metric "
                "data older than 14 days.",
                timestamp=when,
                result="no record written (it would be accepted by the agent, then dropped)",
                what_to_do="publish a run's verdict.json within 14 days of its window",
            )
        )
    if -age_ms > MAX_AHEAD_MS:
        raise UsageError(
            explain(
                f"EMF: {where} is {-age_ms / 3_600_000:.1f} hours in the future; CloudWatch "
                "drops metric data more than 2 hours ahead.",
                timestamp=when,
                result="no record written",
                what_to_do="check the clock of the machine that wrote the file",
            )
        )


def run_records(
    runs: Sequence[RunKpis],
    *,
    service: str,
    namespace: str = DEFAULT_NAMESPACE,
    now_ms: int | None = None,
) -> list[dict[str, Any]]:
    """One EMF record per source of a run, fresh and non-empty, or a refusal saying why."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    records = []
    empty: list[str] = []
    for run in runs:
        check_fresh(run.timestamp_ms, now_ms=now)
        if not any(math.isfinite(v) for v in run.kpis.values()):
            empty.append(run.source)
            continue
        extra = {f"{name}_verdict": verdict for name, verdict in sorted(run.verdicts.items())}
        records.append(
            kpi_record(
                run.kpis,
                service=service,
                timestamp_ms=run.timestamp_ms,
                source=run.source,
                namespace=namespace,
                samples=run.samples,
                extra=extra,
            )
        )
    if not records:
        raise NoData(
            explain(
                "EMF: no KPI of the run had data, so there is no metric to publish.",
                sources=", ".join(empty) or "(no KPI in the file)",
                result="no record written: an empty Metrics directive would store nothing",
            )
        )
    return records
