"""The SLO file: KPI objectives, alert thresholds, metric catalogue, built once and immutable.

``SloConfig.load(path)`` reads and validates ``slo.yaml`` (the packaged default when no path is
given) or OpenSLO v1 documents (``openslo.py``): the one loader of every command and the gate.
Constructors refuse impossible budgets with a sentence saying what to fix; every other module
takes the resulting object instead of reading files or the environment itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from hypersync_slo.errors import ConfigError
from hypersync_slo.profiles import PROFILES, HttpMetrics
from hypersync_slo.profiles import from_mapping as http_profile
from hypersync_slo.traffic_spec import TrafficSpec
from hypersync_slo.yamlfiles import load_yaml, read_text_file

Comparator = Literal["<", "<=", ">", ">="]
NoDataPolicy = Literal["fail", "pass", "skip"]

#: KPI name -> (unit, quantile for latency KPIs)
KPI_UNITS: dict[str, str] = {
    "availability": "ratio",
    "latency_p50": "s",
    "latency_p95": "s",
    "latency_p99": "s",
    "latency_p999": "s",
    "throughput_rps": "rps",
    "error_rate": "ratio",
    "success_rate": "ratio",
}
#: Every KPI of a window (Prometheus, the client, the log), in the order reports list them.
KPIS: tuple[str, ...] = tuple(KPI_UNITS)
#: KPIs of a run that are not window figures: judged by the load when asked for (``--trace-*``).
RUN_KPI_UNITS: dict[str, str] = {"trace_completeness": "ratio"}
#: Every KPI an SLO file may give an objective for.
ALL_KPI_UNITS: dict[str, str] = {**KPI_UNITS, **RUN_KPI_UNITS}
QUANTILES: dict[str, float] = {
    "latency_p50": 0.5,
    "latency_p95": 0.95,
    "latency_p99": 0.99,
    "latency_p999": 0.999,
}
DEFAULT_METRICS: dict[str, str] = {
    "request_duration": "http_server_request_duration_seconds",
    "active_requests": "http_server_active_requests",
    "active_connections": "hypersync_active_connections",
    "queue_depth": "hypersync_queue_depth",
    "operator_executions": "hypersync_operator_executions_total",
    "policy_evaluations": "hypersync_policy_evaluations_total",
    "receipts_generated": "hypersync_receipts_generated_total",
    "agents_active": "hypersync_agents_active",
    "agent_actions": "hypersync_agent_actions_total",
    "compute_seconds": "hypersync_compute_seconds_total",
    "storage_used": "hypersync_storage_used_bytes",
    "build_info": "hypersync_build_info",
    "config_reload": "hypersync_config_last_reload_timestamp_seconds",
}

_EXPR = re.compile(
    r"^\s*(<=|>=|<|>|≤|≥)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z%/]*)\s*$"
)
_QUANTITY = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z%/]*)\s*$")
_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "": ("", 1.0),
    "ms": ("s", 0.001),
    "s": ("s", 1.0),
    "m": ("s", 60.0),
    "h": ("s", 3600.0),
    "d": ("s", 86400.0),
    "%": ("ratio", 0.01),
    "rps": ("rps", 1.0),
    "/s": ("rps", 1.0),
}


def parse_quantity(text: object, *, where: str, expect: str) -> float:
    """Parse ``"100ms"``, ``"99.9%"``, ``"5s"``, ``"1000"`` or a number into base units.

    ``expect`` is the base unit wanted (``s``, ``ratio``, ``rps``); a bare number is taken as
    already in base units.
    """
    if isinstance(text, bool):
        raise ConfigError(f"{where}: expected a {expect} quantity, got {text!r}.")
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        raise ConfigError(
            f"{where}: expected a {expect} quantity such as '100ms' or '99.9%', got {text!r}."
        )
    match = _QUANTITY.match(text)
    if not match:
        raise ConfigError(
            f"{where}: cannot read {text!r}; write it like '100ms', '5s', '99.9%' or '1000'."
        )
    return _scaled(float(match.group(1)), match.group(2), where=where, expect=expect, text=text)


def _scaled(number: float, suffix: str, *, where: str, expect: str, text: str) -> float:
    if suffix not in _UNIT_FACTORS:
        known = ", ".join(sorted(k for k in _UNIT_FACTORS if k))
        raise ConfigError(f"{where}: unknown unit {suffix!r} in {text!r}; use one of {known}.")
    unit, factor = _UNIT_FACTORS[suffix]
    if unit and unit != expect:
        raise ConfigError(
            f"{where}: {text!r} is a {unit} value, but this KPI is measured in {expect}."
        )
    return number * factor


@dataclass(frozen=True)
class Objective:
    """One KPI objective, e.g. ``latency_p95 < 0.1 s``, with its no-data policy."""

    kpi: str
    comparator: Comparator | None
    value: float | None
    unit: str
    no_data: NoDataPolicy = "fail"
    report_only: bool = False
    min_samples: int = 0

    def __post_init__(self) -> None:
        if self.kpi not in ALL_KPI_UNITS:
            raise ConfigError(
                f"objectives.{self.kpi}: unknown KPI; known KPIs are {', '.join(ALL_KPI_UNITS)}."
            )
        if not self.report_only and (self.comparator is None or self.value is None):
            raise ConfigError(
                f"objectives.{self.kpi}: give an objective such as '< 100ms' or mark it "
                "'report_only: true'."
            )
        if self.value is not None and not math.isfinite(self.value):
            raise ConfigError(f"objectives.{self.kpi}: the objective must be a finite number.")
        if self.unit == "ratio" and self.value is not None and not 0.0 <= self.value < 1.0:
            raise ConfigError(
                f"objectives.{self.kpi}: a ratio objective must lie in [0, 1) "
                f"(got {self.value:g}); write '99.9%' or 0.999."
            )
        if self.unit in ("s", "rps") and self.value is not None and self.value < 0:
            raise ConfigError(f"objectives.{self.kpi}: a {self.unit} objective cannot be negative.")

    @property
    def quantile(self) -> float | None:
        """The quantile a latency KPI judges (0.95 for ``latency_p95``), else None."""
        return QUANTILES.get(self.kpi)

    def holds(self, observed: float) -> bool:
        """Whether ``observed`` meets the objective (report-only objectives always hold)."""
        if self.comparator is None or self.value is None:
            return True
        if math.isnan(observed):
            return False
        return {
            "<": observed < self.value,
            "<=": observed <= self.value,
            ">": observed > self.value,
            ">=": observed >= self.value,
        }[self.comparator]

    def describe(self) -> str:
        """Human form of the objective, e.g. ``< 100 ms`` or ``>= 99.9 %``."""
        if self.comparator is None or self.value is None:
            return "report only"
        return f"{self.comparator} {format_value(self.value, self.unit)}"


def format_value(value: float, unit: str) -> str:
    """Format a base-unit value for people: seconds as ms, ratios as percent."""
    if math.isnan(value):
        return "n/a"
    if unit == "s":
        return f"{value * 1000:.4g} ms"
    if unit == "ratio":
        return f"{value * 100:.4g} %"
    if unit == "rps":
        return f"{value:.6g} req/s"
    return f"{value:.6g} {unit}".strip()


@dataclass(frozen=True)
class AlertLevel:
    """Thresholds of one alert level; None where the level has no such alert."""

    name: str
    error_rate: float | None = None
    latency_p99: float | None = None
    memory_used: float | None = None
    disk_used: float | None = None
    down_for: float | None = None
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alerts:
    """The three alert levels of the contract."""

    critical: AlertLevel
    warning: AlertLevel
    info: AlertLevel

    def __post_init__(self) -> None:
        for attr in ("error_rate", "latency_p99", "memory_used", "disk_used"):
            crit = getattr(self.critical, attr)
            warn = getattr(self.warning, attr)
            if crit is not None and warn is not None and warn >= crit:
                raise ConfigError(
                    f"alerts.warning.{attr} ({warn:g}) must be below alerts.critical.{attr} "
                    f"({crit:g}): a warning fires before the page, not after."
                )
            for level, value in (("critical", crit), ("warning", warn)):
                if attr != "latency_p99" and value is not None and not 0.0 < value <= 1.0:
                    raise ConfigError(
                        f"alerts.{level}.{attr} must be a ratio in (0, 1], got {value:g}."
                    )


@dataclass(frozen=True)
class SloConfig:
    """The whole SLO file, validated."""

    source: str
    service: str
    objectives: Mapping[str, Objective]
    alerts: Alerts
    min_tail_samples: int = 10
    live_timeout: float = 1.0
    ready_timeout: float = 2.0
    allow_targets: tuple[str, ...] = ()
    metrics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_METRICS))
    #: The declared traffic (``traffic:``); the packaged HyperSync mix when the file has none.
    traffic: TrafficSpec = field(default_factory=TrafficSpec.default)
    #: The instrumentation profile: where the HTTP request metrics are (``metrics.profile``).
    http: HttpMetrics = field(default_factory=lambda: PROFILES["hypersync"])

    def __post_init__(self) -> None:
        p95 = self.objectives.get("latency_p95")
        p99 = self.objectives.get("latency_p99")
        if (
            p95
            and p99
            and p95.value is not None
            and p99.value is not None
            and p99.value < p95.value
        ):
            raise ConfigError(
                f"objectives.latency_p99 ({format_value(p99.value, 's')}) is below "
                f"objectives.latency_p95 ({format_value(p95.value, 's')}): p99 can never be smaller "
                "than p95, so this budget cannot be met. Raise the p99 budget or lower the p95 one."
            )

    def objective(self, kpi: str) -> Objective:
        """The objective for ``kpi`` (report-only when the file does not name it)."""
        found = self.objectives.get(kpi)
        if found is None:
            return Objective(
                kpi=kpi, comparator=None, value=None, unit=ALL_KPI_UNITS[kpi], report_only=True
            )
        return found

    @property
    def latency_thresholds(self) -> tuple[float, ...]:
        """Every latency threshold named in the file (objectives and alerts), ascending.

        The target's latency histogram must have a bucket at each, so verdicts are exact.
        """
        values = {
            o.value for o in self.objectives.values() if o.unit == "s" and o.value is not None
        }
        values |= {
            lvl.latency_p99
            for lvl in (self.alerts.critical, self.alerts.warning)
            if lvl.latency_p99 is not None
        }
        return tuple(sorted(values))

    def metric(self, role: str) -> str:
        """The metric name for a catalogue role such as ``request_duration``."""
        if role == "request_duration":
            return self.http.histogram
        try:
            return self.metrics[role]
        except KeyError:
            raise ConfigError(f"metrics.{role}: not in the metric catalogue.") from None

    def with_traffic(self, path: str | Path | None, *, auth_env: str | None = None) -> SloConfig:
        """This config with the traffic of a separate file (``--traffic FILE``) and/or the auth
        token taken from the environment variable ``auth_env``; None: unchanged."""
        traffic = self.traffic if path is None else TrafficSpec.load(path)
        if auth_env:
            traffic = traffic.with_auth_env(auth_env)
        return self if traffic is self.traffic else replace(self, traffic=traffic)

    @classmethod
    def default(cls) -> SloConfig:
        """The packaged default SLO file."""
        text = resources.files("hypersync_slo").joinpath("data/slo.yaml").read_text("utf-8")
        return cls.from_text(text, source="<default slo.yaml>")

    @classmethod
    def load(cls, path: str | Path | None) -> SloConfig:
        """Load and validate an SLO file; ``None`` gives the packaged default."""
        if path is None:
            return cls.default()
        p = Path(path)
        return cls.from_text(read_text_file(p, what="SLO file"), source=str(p))

    @classmethod
    def from_text(cls, text: str, *, source: str) -> SloConfig:
        """Parse YAML text of an SLO file: our ``slo.yaml`` form or OpenSLO v1 documents."""
        if is_openslo(text):
            # openslo.py builds on this module, so it is imported when an OpenSLO file is read
            from hypersync_slo.openslo import read_openslo  # noqa: PLC0415

            return read_openslo(text, source=source)
        data = load_yaml(text, source=source)
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the SLO file must be a YAML mapping with 'objectives'.")
        try:
            return cls.from_mapping(data, source=source)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            # A shape the validation above did not foresee (a list where a mapping goes, a
            # number as a key): still exit 7 naming the file, never a traceback.
            raise ConfigError(
                f"{source}: a value has an unexpected type or form ({type(exc).__name__}: "
                f"{str(exc)[:200]}); compare with the packaged slo.yaml."
            ) from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> SloConfig:
        """Build from an already parsed mapping."""
        known = {
            "version",
            "service",
            "objectives",
            "min_tail_samples",
            "alerts",
            "health",
            "load",
            "metrics",
            "traffic",
        }
        unknown = sorted(str(key) for key in set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown top-level key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        if data.get("version", 1) != 1:
            raise ConfigError(f"version {data.get('version')!r} is not supported; use version: 1.")
        tail = data.get("min_tail_samples", 10)
        if not isinstance(tail, int) or isinstance(tail, bool) or not 1 <= tail <= 1_000_000:
            raise ConfigError(
                f"min_tail_samples must be a whole number in [1, 1000000], got {tail!r}."
            )
        objectives = {
            name: _objective(name, spec, tail)
            for name, spec in _mapping(data, "objectives").items()
        }
        health = _mapping(data, "health", required=False)
        load = _mapping(data, "load", required=False)
        allow = load.get("allow_targets", []) or []
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise ConfigError("load.allow_targets must be a list of host names or host:port.")
        metrics = dict(DEFAULT_METRICS)
        section = _mapping(data, "metrics", required=False)
        overrides = dict(_mapping(section, "http", required=False))
        for role, name in section.items():
            if role in ("profile", "http"):
                continue
            if role not in DEFAULT_METRICS:
                raise ConfigError(
                    f"metrics.{role}: unknown role; known roles: profile, http, "
                    f"{', '.join(DEFAULT_METRICS)}."
                )
            if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name):
                raise ConfigError(f"metrics.{role}: {name!r} is not a valid metric name.")
            metrics[role] = name
        if "request_duration" in section and "histogram" not in overrides:
            overrides["histogram"] = metrics["request_duration"]
        http = http_profile(section.get("profile"), overrides)
        metrics["request_duration"] = http.histogram
        return cls(
            source=source,
            service=str(data.get("service", "hypersync")),
            objectives=objectives,
            alerts=_alerts(_mapping(data, "alerts", required=False)),
            min_tail_samples=tail,
            live_timeout=_bounded_seconds(health, "live_timeout", 1.0),
            ready_timeout=_bounded_seconds(health, "ready_timeout", 2.0),
            allow_targets=tuple(allow),
            metrics=metrics,
            traffic=(
                TrafficSpec.default()
                if data.get("traffic") is None
                else TrafficSpec.from_mapping(data["traffic"], source=source)
            ),
            http=http,
        )


def _bounded_seconds(health: Mapping[str, Any], key: str, default: float) -> float:
    """``health.<key>``: a probe timeout in (0, 60] seconds."""
    value = parse_quantity(health.get(key, default), where=f"health.{key}", expect="s")
    if not math.isfinite(value) or not 0 < value <= 60:
        raise ConfigError(
            f"health.{key} must be a duration in (0, 60] seconds, got {health.get(key)!r}."
        )
    return value


def is_openslo(text: str) -> bool:
    """Whether YAML text holds OpenSLO documents (``apiVersion: openslo/v1``)."""
    return re.search(r"^\s*apiVersion\s*:\s*['\"]?openslo/", text, re.MULTILINE) is not None


def _mapping(data: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(f"'{key}' is missing.")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be a mapping, got {type(value).__name__}.")
    return value


def min_samples_for(quantile: float | None, tail: int) -> int:
    """Samples needed to judge a quantile with ``tail`` samples beyond it (1 for non-percentiles)."""
    if quantile is None:
        return 1
    return math.ceil(tail / (1.0 - quantile) - 1e-9)


def _objective(kpi: str, spec: Any, tail: int) -> Objective:
    where = f"objectives.{kpi}"
    if kpi not in ALL_KPI_UNITS:
        raise ConfigError(f"{where}: unknown KPI; known KPIs are {', '.join(ALL_KPI_UNITS)}.")
    unit = ALL_KPI_UNITS[kpi]
    if isinstance(spec, str):
        spec = {"objective": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{objective: '< 100ms'}}.")
    extra = sorted(set(spec) - {"objective", "report_only", "no_data", "min_samples"})
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)}.")
    comparator: Comparator | None = None
    value: float | None = None
    text = spec.get("objective")
    if text is not None:
        match = _EXPR.match(str(text))
        if not match:
            raise ConfigError(
                f"{where}: cannot read objective {text!r}; write it like '< 100ms' or '>= 99.9%'."
            )
        comparator = {"≤": "<=", "≥": ">="}.get(match.group(1), match.group(1))  # type: ignore[assignment]
        value = _scaled(
            float(match.group(2)), match.group(3), where=where, expect=unit, text=str(text)
        )
    no_data = spec.get("no_data", "fail")
    if no_data not in ("fail", "pass", "skip"):
        raise ConfigError(f"{where}.no_data must be fail, pass or skip, got {no_data!r}.")
    min_samples = spec.get("min_samples", min_samples_for(QUANTILES.get(kpi), tail))
    if not isinstance(min_samples, int) or min_samples < 1:
        raise ConfigError(f"{where}.min_samples must be a whole number >= 1.")
    return Objective(
        kpi=kpi,
        comparator=comparator,
        value=value,
        unit=unit,
        no_data=no_data,
        report_only=bool(spec.get("report_only", False)),
        min_samples=min_samples,
    )


def _alerts(data: Mapping[str, Any]) -> Alerts:
    def level(name: str) -> AlertLevel:
        spec = _mapping(data, name, required=False)
        extra = sorted(
            set(spec)
            - {"error_rate", "latency_p99", "memory_used", "disk_used", "down_for", "events"}
        )
        if extra:
            raise ConfigError(f"alerts.{name}: unknown key(s) {', '.join(extra)}.")

        def q(key: str, expect: str) -> float | None:
            raw = spec.get(key)
            return (
                None
                if raw is None
                else parse_quantity(raw, where=f"alerts.{name}.{key}", expect=expect)
            )

        events = spec.get("events", [])
        if not isinstance(events, list):
            raise ConfigError(f"alerts.{name}.events must be a list.")
        return AlertLevel(
            name=name,
            error_rate=q("error_rate", "ratio"),
            latency_p99=q("latency_p99", "s"),
            memory_used=q("memory_used", "ratio"),
            disk_used=q("disk_used", "ratio"),
            down_for=q("down_for", "s"),
            events=tuple(str(e) for e in events),
        )

    if not data:
        return Alerts(
            critical=AlertLevel("critical", 0.05, 5.0, None, 0.95, 60.0),
            warning=AlertLevel("warning", 0.01, 1.0, 0.80, 0.80),
            info=AlertLevel("info", events=("deployment", "configuration_change", "scaling")),
        )
    return Alerts(critical=level("critical"), warning=level("warning"), info=level("info"))
