"""Prometheus alerting and recording rules, generated from the SLO file.

Two rule files come out of one ``SloConfig``:

* ``hypersync-alerts.rules.yml``: the contract's alert levels (docs/contracts.md §4). Critical
  (page): the job is down, error ratio, p99 latency and disk above the critical thresholds.
  Warning (notify): error ratio, p99, memory and disk above the warning thresholds. Info (log): a
  deployment (a new ``version``/``revision`` of the build-info metric), a configuration reload
  and a scaling event (the job's instance count changed). Every alert carries ``severity``,
  ``kpi`` and ``service`` labels and ``summary``, ``description`` and ``runbook_url``
  annotations.
* ``hypersync-slo.rules.yml``: SLI recording rules per window and the SRE workbook's multi-window,
  multi-burn-rate alerts for each SLO: ``success_rate`` (API requests without a server error),
  ``availability`` (successful health checks: the job's scrapes) and each latency objective: page
  (critical) on 14.4x over 1h and 5m or 6x over 6h and 30m, ticket (warning) on 3x over 1d and 2h
  or 1x over 3d and 6h (the factors assume a 30-day SLO period).

Request metrics come from the SLO file's instrumentation profile (``config.http``: histogram,
unit, label names, how a 5xx is written, the API routes). Every rule is keyed by the job it was
rendered for, and every SLO series also by ``service`` and ``job``, so the files of several
services load into one Prometheus side by side; host alerts (memory, disk) keep only the hosts
that run an instance of the job (``on_own_hosts``).

A critical and a warning alert on the same KPI share their ``alertname``, so the Alertmanager
inhibition "critical silences the matching warning" can match on it.

``Timing`` holds every window and ``for:`` duration; ``Timing.fast()`` shrinks them for the
end-to-end test, where a fault must page within seconds, not minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from hypersync_slo.config import AlertLevel, SloConfig
from hypersync_slo.errors import ConfigError, explain
from hypersync_slo.profiles import PROFILES, HttpMetrics
from hypersync_slo.prometheus.burn_windows import BURN_WINDOWS, SLI_WINDOWS, SLO_PERIOD_DAYS
from hypersync_slo.prometheus.promql import duration, le_matcher, quote_label

#: Where runbook links point unless ``--runbook-base`` says otherwise (the sections of docs/alerting.md).
DEFAULT_RUNBOOK_BASE = "https://github.com/hypersync-slo/hypersync-slo/blob/main/docs/alerting.md"
DEFAULT_JOB = "hypersync"
ALERTS_FILE = "hypersync-alerts.rules.yml"
SLO_FILE = "hypersync-slo.rules.yml"
SEVERITIES = ("critical", "warning", "info")
INFO_EVENTS = ("deployment", "configuration_change", "scaling")
#: The host part of an ``instance`` label (``10.0.0.7:9100`` -> ``10.0.0.7``; no port: all of it).
HOST_REGEX = "(.+?)(?::[0-9]+)?"
#: File systems that are not disks: never alert on them being "full".
PSEUDO_FS = "tmpfs|ramfs|devtmpfs|squashfs|overlay|nsfs|fuse.lxcfs|autofs|proc|sysfs"


#: The labels Sloth's metadata recordings join on (plus ``job``: one service, several jobs).
SLOTH_JOIN: tuple[str, ...] = ("sloth_id", "sloth_service", "sloth_slo", "job")


@dataclass(frozen=True)
class Timing:
    """Windows and ``for:`` durations (seconds) of the generated alerts.

    The defaults suit production. ``down_for`` of None takes ``alerts.<level>.down_for`` from the
    SLO file.
    """

    rate_window: float = 300.0
    event_window: float = 900.0
    for_critical: float = 300.0
    for_warning: float = 600.0
    for_info: float = 0.0
    for_page: float = 120.0
    for_ticket: float = 900.0
    down_for: float | None = None

    @classmethod
    def fast(cls, for_seconds: float = 2.0, rate_window: float = 20.0) -> Timing:
        """Short windows for tests against a live Prometheus scraping every second."""
        return cls(
            rate_window=rate_window,
            event_window=60.0,
            for_critical=for_seconds,
            for_warning=for_seconds,
            for_info=0.0,
            for_page=for_seconds,
            for_ticket=for_seconds,
            down_for=for_seconds,
        )

    def for_level(self, severity: str) -> float:
        """The ``for:`` of a threshold alert at ``severity``."""
        return {"critical": self.for_critical, "warning": self.for_warning}.get(
            severity, self.for_info
        )


@dataclass(frozen=True)
class AlertRule:
    """One generated alerting rule, with what a test needs to drive it."""

    alert: str
    expr: str
    severity: str
    kpi: str
    for_seconds: float
    summary: str
    description: str
    runbook_url: str
    threshold: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_yaml(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_seconds:
            rule["for"] = duration(self.for_seconds, compact=True)
        rule["labels"] = {"severity": self.severity, "kpi": self.kpi, **self.labels}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": self.runbook_url,
        }
        return rule


@dataclass(frozen=True)
class RecordingRule:
    """One recording rule."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_yaml(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        rule: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


@dataclass(frozen=True)
class RuleGroup:
    """A named group of rules, evaluated together."""

    name: str
    rules: tuple[AlertRule | RecordingRule, ...]

    def to_yaml(self) -> dict[str, Any]:
        """The group as Prometheus reads it."""
        return {"name": self.name, "rules": [rule.to_yaml() for rule in self.rules]}


@dataclass(frozen=True)
class SloTarget:
    """One SLO the burn-rate alerts guard: its bad-event ratio and error budget."""

    name: str
    objective: float
    budget: float
    describe: str


@dataclass(frozen=True)
class RuleSet:
    """Every generated rule group, by the file it is written to."""

    files: Mapping[str, tuple[RuleGroup, ...]]
    job: str = DEFAULT_JOB
    metrics: Mapping[str, str] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    http: HttpMetrics = field(default_factory=lambda: PROFILES["hypersync"])
    service: str = "hypersync"
    #: The latency threshold (seconds) of each latency SLO, for the generated unit tests.
    slo_thresholds: Mapping[str, float] = field(default_factory=dict)

    def alerts(self) -> list[AlertRule]:
        """Every alerting rule, in file order."""
        return [
            rule
            for groups in self.files.values()
            for group in groups
            for rule in group.rules
            if isinstance(rule, AlertRule)
        ]

    def alert(self, name: str, severity: str) -> AlertRule:
        """The alerting rule named ``name`` at ``severity`` (KeyError when absent)."""
        for rule in self.alerts():
            if rule.alert == name and rule.severity == severity:
                return rule
        raise KeyError(f"{name}/{severity}")

    def render(self) -> dict[str, str]:
        """File name -> YAML text, byte-stable for the same input."""
        return {
            name: dump_yaml({"groups": [g.to_yaml() for g in groups]})
            for name, groups in self.files.items()
        }


def dump_yaml(data: object, header: str = "") -> str:
    """YAML as every generated file writes it: key order kept, long lines unfolded."""
    text = yaml.safe_dump(
        data, sort_keys=False, width=10_000, allow_unicode=True, default_flow_style=False
    )
    return header + text


def check_runbook_base(url: str) -> str:
    """Refuse a runbook base that is not an absolute https URL (the alert style guide's rule)."""
    if not re.fullmatch(r"https://[^\s/#?]+(/[^\s#?]*)?", url):
        raise ConfigError(
            explain(
                "the runbook base URL must be an absolute https URL without '#' or '?'.",
                got=url,
                example=DEFAULT_RUNBOOK_BASE,
            )
        )
    return url.rstrip("/")


def own_hosts(expr: str, selector: str) -> str:
    """``(expr)`` kept on the hosts of the targets ``up{selector}`` (host = instance sans port)."""
    return (
        f'(label_replace({expr}, "host", "$1", "instance", "{HOST_REGEX}") '
        f'and on (host) label_replace(group by (instance) (up{{{selector}}}), "host", "$1", '
        f'"instance", "{HOST_REGEX}"))'
    )


class _Builder:
    """Builds the rule set for one SLO file, job and timing."""

    def __init__(self, config: SloConfig, job: str, runbook_base: str, timing: Timing) -> None:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_:.-]*", job):
            raise ConfigError(f"the job name {job!r} is not a usable Prometheus job label value.")
        self.config = config
        self.http = config.http
        self.job = job
        self.runbook = check_runbook_base(runbook_base)
        self.timing = timing
        self.sel = f'job="{job}"'
        #: The API requests of the job: the profile's route filter (``metrics.http.api_routes``).
        self.api = self.sel + (
            f',{self.http.route_label}=~"{quote_label(self.http.api_routes)}"'
            if self.http.api_routes
            else ""
        )
        #: The labels every SLO recording rule and burn alert carries (shared Prometheus).
        self.slo_key = {"service": config.service, "job": job}
        self.window = duration(timing.rate_window, compact=True)

    # -- expressions -------------------------------------------------------------------------

    def requests(self, window: str, extra: str = "") -> str:
        """Requests per second of the job's API, from the series counted per status."""
        matchers = self.api + (f",{extra}" if extra else "")
        return f"sum by (job) (rate({self.http.requests}{{{matchers}}}[{window}]))"

    def error_ratio(self, window: str) -> str:
        errors = self.requests(window, f'{self.http.status}=~"{self.http.server_error}"')
        total = self.requests(window)
        return f"({errors} or {total} * 0) / {total}"

    def within_ratio(self, window: str, threshold: float) -> str:
        """Share of the requests within ``threshold`` seconds (the bucket at it over the count)."""
        le = le_matcher(self.http.le(threshold))
        fast = f"sum by (job) (rate({self.http.bucket}{{{self.api},{le}}}[{window}]))"
        total = f"sum by (job) (rate({self.http.count}{{{self.api}}}[{window}]))"
        return f"{fast} / {total}"

    def slow_ratio(self, window: str, threshold: float) -> str:
        return f"1 - ({self.within_ratio(window, threshold)})"

    def down_ratio(self, window: str) -> str:
        """Share of the job's scrapes (health checks by Prometheus) that failed."""
        return f"1 - avg by (job) (avg_over_time(up{{{self.sel}}}[{window}]))"

    def on_own_hosts(self, expr: str) -> str:
        """``expr`` (node_exporter series) kept only on the hosts that run an instance of the job.

        The host is the ``instance`` label without its port, on both sides, so a shared
        Prometheus scraping many node_exporters alerts each service for its own machines only.
        """
        return own_hosts(expr, self.sel)

    # -- threshold alerts (docs/contracts.md §4) -----------------------------------------------

    def link(self, alert: str) -> str:
        return f"{self.runbook}#{alert.lower()}"

    def rule(  # noqa: PLR0917
        self,
        alert: str,
        expr: str,
        level: AlertLevel,
        kpi: str,
        summary: str,
        description: str,
        threshold: float | None,
        for_seconds: float | None = None,
    ) -> AlertRule:
        return AlertRule(
            alert=alert,
            expr=expr,
            severity=level.name,
            kpi=kpi,
            for_seconds=self.timing.for_level(level.name) if for_seconds is None else for_seconds,
            summary=summary,
            description=description,
            runbook_url=self.link(alert),
            threshold=threshold,
            labels={"service": self.config.service},
        )

    def level_rules(self, level: AlertLevel) -> list[AlertRule]:
        rules: list[AlertRule] = []
        job = "{{ $labels.job }}"
        if level.down_for is not None:
            down_for = self.timing.down_for if self.timing.down_for is not None else level.down_for
            up = f"up{{{self.sel}}}"
            rules.append(
                self.rule(
                    "HypersyncDown",
                    f"{up} == 0 or absent({up})",
                    level,
                    "availability",
                    "A HyperSync instance is down or not scraped.",
                    f"Instance '{{{{ $labels.instance }}}}' of job {job} has not answered a scrape for "
                    f"{duration(down_for, compact=True)} (an empty instance means the job has no targets at all).",
                    None,
                    down_for,
                )
            )
        if level.error_rate is not None:
            rules.append(
                self.rule(
                    "HypersyncHighErrorRate",
                    f"{self.error_ratio(self.window)} > {level.error_rate:g}",
                    level,
                    "error_rate",
                    f"HyperSync answers more than {level.error_rate * 100:g} % of requests with 5xx.",
                    f"{{{{ $value | humanizePercentage }}}} of the requests of job {job} failed with "
                    f"5xx over the last {self.window} (threshold {level.error_rate * 100:g} %).",
                    level.error_rate,
                )
            )
        if level.latency_p99 is not None:
            rules.append(
                self.rule(
                    "HypersyncHighLatencyP99",
                    f"{self.within_ratio(self.window, level.latency_p99)} < 0.99",
                    level,
                    "latency_p99",
                    f"HyperSync p99 latency is above {level.latency_p99:g} s.",
                    f"Only {{{{ $value | humanizePercentage }}}} of the requests of job {job} finished "
                    f"within {level.latency_p99:g} s over the last {self.window}, so p99 is above "
                    f"{level.latency_p99:g} s (exact: {level.latency_p99:g} s is a histogram bucket bound).",
                    level.latency_p99,
                )
            )
        if level.memory_used is not None:
            rules.append(
                self.rule(
                    "HypersyncHostMemoryHigh",
                    self.on_own_hosts(
                        "1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
                    )
                    + f" > {level.memory_used:g}",
                    level,
                    "memory_used",
                    f"Host memory use is above {level.memory_used * 100:g} %.",
                    f"{{{{ $labels.instance }}}} uses {{{{ $value | humanizePercentage }}}} of its "
                    f"memory (threshold {level.memory_used * 100:g} %).",
                    level.memory_used,
                )
            )
        if level.disk_used is not None:
            fs = f'fstype!~"{PSEUDO_FS}"'
            rules.append(
                self.rule(
                    "HypersyncHostDiskFull",
                    self.on_own_hosts(
                        f"1 - (node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}})"
                    )
                    + f" > {level.disk_used:g}",
                    level,
                    "disk_used",
                    f"A file system is more than {level.disk_used * 100:g} % full.",
                    f"{{{{ $labels.mountpoint }}}} on {{{{ $labels.instance }}}} is "
                    f"{{{{ $value | humanizePercentage }}}} full (threshold {level.disk_used * 100:g} %).",
                    level.disk_used,
                )
            )
        for event in level.events:
            rules.append(self.event_rule(event, level))
        return rules

    def event_rule(self, event: str, level: AlertLevel) -> AlertRule:
        window = duration(self.timing.event_window, compact=True)
        job = "{{ $labels.job }}"
        build = f"{self.config.metric('build_info')}{{{self.sel}}}"
        reload = f"{self.config.metric('config_reload')}{{{self.sel}}}"
        if event == "deployment":
            by = "job, version, revision"
            expr = (
                f"group by ({by}) ({build}) unless on ({by}) group by ({by}) ({build} offset {window})"
                f" and on (job) group by (job) ({build} offset {window})"
            )
            return self.rule(
                "HypersyncDeployment",
                expr,
                level,
                "deployment",
                "A new HyperSync version was deployed.",
                f"Job {job} now runs version {{{{ $labels.version }}}} (revision "
                f"{{{{ $labels.revision }}}}), which was not running {window} ago.",
                None,
            )
        if event == "configuration_change":
            return self.rule(
                "HypersyncConfigurationChange",
                f"changes({reload}[{window}]) > 0",
                level,
                "configuration_change",
                "HyperSync reloaded its configuration.",
                f"{{{{ $labels.instance }}}} of job {job} reloaded its configuration in the last "
                f"{window}.",
                None,
            )
        if event == "scaling":
            up = f"up{{{self.sel}}}"
            return self.rule(
                "HypersyncScalingEvent",
                f"count by (job) ({up}) != on (job) count by (job) ({up} offset {window})",
                level,
                "scaling",
                "The number of HyperSync instances changed.",
                f"Job {job} now has {{{{ $value }}}} instances; the count was different {window} ago.",
                None,
            )
        raise ConfigError(
            f"alerts.{level.name}.events: unknown event {event!r}; known events: {', '.join(INFO_EVENTS)}."
        )

    # -- SLOs and burn rates ---------------------------------------------------------------------

    def slo_targets(self) -> list[tuple[SloTarget, str]]:
        """Each SLO with its bad-ratio kind: ``error``, ``down`` or ``slow:<seconds>``.

        ``success_rate`` (API requests answered without a server error) takes the strictest of
        the ``success_rate`` and ``error_rate`` objectives; ``availability`` keeps the report's
        meaning, successful health checks: here the job's scrapes (``up``).
        """
        targets: list[tuple[SloTarget, str]] = []
        budgets = {
            kpi: (1.0 - o.value if kpi == "success_rate" else o.value)
            for kpi in ("success_rate", "error_rate")
            if (o := self.config.objectives.get(kpi)) and o.value is not None and not o.report_only
        }
        if budgets:
            budget = min(budgets.values())
            if budget <= 0:
                raise ConfigError(
                    f"objectives.{min(budgets, key=budgets.__getitem__)}: a 100 % objective leaves "
                    "no error budget, so burn rates are undefined; use e.g. '>= 99.9%'."
                )
            targets.append(
                (
                    SloTarget(
                        "success_rate",
                        1.0 - budget,
                        budget,
                        f"{(1.0 - budget) * 100:g} % of API requests answered without a server "
                        "error",
                    ),
                    "error",
                )
            )
        availability = self.config.objectives.get("availability")
        if availability and availability.value is not None and not availability.report_only:
            budget = 1.0 - availability.value
            if budget <= 0:
                raise ConfigError(
                    "objectives.availability: a 100 % objective leaves no error budget, so burn "
                    "rates are undefined; use e.g. '>= 99.9%'."
                )
            targets.append(
                (
                    SloTarget(
                        "availability",
                        availability.value,
                        budget,
                        f"{availability.value * 100:g} % of health checks (scrapes of the job) "
                        "successful",
                    ),
                    "down",
                )
            )
        for kpi in ("latency_p95", "latency_p99"):
            objective = self.config.objectives.get(kpi)
            if (
                not objective
                or objective.report_only
                or objective.value is None
                or objective.quantile is None
            ):
                continue
            if objective.comparator not in ("<", "<="):
                continue
            targets.append(
                (
                    SloTarget(
                        kpi,
                        objective.quantile,
                        1.0 - objective.quantile,
                        f"{objective.quantile * 100:g} % of requests faster than "
                        f"{objective.value * 1000:g} ms",
                    ),
                    f"slow:{objective.value!r}",
                )
            )
        return targets

    def sloth_labels(self, target: SloTarget) -> dict[str, str]:
        """Sloth's identifying labels, so Sloth's Grafana dashboards read these SLOs as theirs."""
        service = self.config.service
        return {
            "sloth_id": f"{service}-{self.job}-{target.name}",
            "sloth_service": service,
            "sloth_slo": target.name,
        }

    def sloth_meta(
        self, target: SloTarget, labels: Mapping[str, str], key: str
    ) -> list[AlertRule | RecordingRule]:
        """Sloth's metadata recordings (its ``sloth.dev/core/metadata_rules/v1`` names)."""
        on = f"on({', '.join(SLOTH_JOIN)}) group_left"
        budget = f"slo:error_budget:ratio{{{key}}}"
        info = {
            **labels,
            "sloth_mode": "cli-gen-prom",
            "sloth_objective": f"{target.objective * 100:g}",
            "sloth_spec": "prometheus/v1",
            "sloth_version": "hypersync-slo",
        }
        return [
            RecordingRule("slo:time_period:days", f"vector({SLO_PERIOD_DAYS})", labels),
            RecordingRule(
                "slo:current_burn_rate:ratio",
                f"slo:sli_error:ratio_rate5m{{{key}}} / {on} {budget}",
                labels,
            ),
            RecordingRule(
                "slo:period_burn_rate:ratio",
                f"slo:sli_error:ratio_rate30d{{{key}}} / {on} {budget}",
                labels,
            ),
            RecordingRule(
                "slo:period_error_budget_remaining:ratio",
                f"1 - slo:period_burn_rate:ratio{{{key}}}",
                labels,
            ),
            RecordingRule("sloth_slo_info", "vector(1)", info),
        ]

    def bad_ratio(self, kind: str, window: str) -> str:
        if kind == "error":
            return self.error_ratio(window)
        if kind == "down":
            return self.down_ratio(window)
        return self.slow_ratio(window, float(kind.split(":", 1)[1]))

    def slo_groups(self) -> tuple[RuleGroup, ...]:
        recording: list[AlertRule | RecordingRule] = []
        alerts: list[AlertRule | RecordingRule] = []
        for target, kind in self.slo_targets():
            labels = {"slo": target.name, **self.slo_key, **self.sloth_labels(target)}
            key = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for window in SLI_WINDOWS:
                recording.append(
                    RecordingRule(
                        f"slo:sli_error:ratio_rate{window}", self.bad_ratio(kind, window), labels
                    )
                )
            # 30 days from raw counters is costly; average the 5m ratio instead (as Sloth does).
            recording.append(
                RecordingRule(
                    "slo:sli_error:ratio_rate30d",
                    f"avg_over_time(slo:sli_error:ratio_rate5m{{{key}}}[30d])",
                    labels,
                )
            )
            recording.append(
                RecordingRule("slo:objective:ratio", f"vector({target.objective:g})", labels)
            )
            recording.append(
                RecordingRule("slo:error_budget:ratio", f"vector({target.budget:g})", labels)
            )
            recording += self.sloth_meta(target, labels, key)
            for severity, name in (("critical", "Page"), ("warning", "Ticket")):
                pairs = [w for w in BURN_WINDOWS if w.severity == severity]
                sel = f"{{{key}}}"
                clauses = [
                    f"(slo:sli_error:ratio_rate{w.long}{sel} > ({w.factor:g} * {target.budget:g}) "
                    f"and slo:sli_error:ratio_rate{w.short}{sel} > ({w.factor:g} * {target.budget:g}))"
                    for w in pairs
                ]
                alert = f"HypersyncSlo{_camel(target.name)}Burn{name}"
                summary = (
                    f"HyperSync is burning its {target.name} error budget too fast "
                    f"({'page' if severity == 'critical' else 'ticket'})."
                )
                pair_text = " or ".join(f"{w.factor:g}x over {w.long} and {w.short}" for w in pairs)
                alerts.append(
                    AlertRule(
                        alert=alert,
                        expr=" or ".join(clauses),
                        severity=severity,
                        kpi=target.name,
                        for_seconds=self.timing.for_page
                        if severity == "critical"
                        else self.timing.for_ticket,
                        summary=summary,
                        description=(
                            f"Job {{{{ $labels.job }}}} burns the error budget of the SLO "
                            f"'{target.describe}' ({target.budget * 100:g} % budget per 30 days) at "
                            f"{pair_text}; bad-event ratio {{{{ $value | humanizePercentage }}}}."
                        ),
                        runbook_url=self.link(alert),
                        threshold=min(w.factor for w in pairs) * target.budget,
                        labels={"service": self.config.service, "slo": target.name},
                    )
                )
        groups = []
        if recording:
            groups.append(RuleGroup("hypersync-slo-sli", tuple(recording)))
        if alerts:
            groups.append(RuleGroup("hypersync-slo-burn-rate", tuple(alerts)))
        return tuple(groups)

    def build(self) -> RuleSet:
        alerts = self.config.alerts
        for name in alerts.info.events:
            if name not in INFO_EVENTS:
                raise ConfigError(
                    f"alerts.info.events: unknown event {name!r}; known events: {', '.join(INFO_EVENTS)}."
                )
        groups = tuple(
            RuleGroup(f"hypersync-{level.name}", tuple(self.level_rules(level)))
            for level in (alerts.critical, alerts.warning, alerts.info)
        )
        return RuleSet(
            {
                ALERTS_FILE: tuple(g for g in groups if g.rules),
                SLO_FILE: self.slo_groups(),
            },
            job=self.job,
            metrics=dict(self.config.metrics),
            timing=self.timing,
            http=self.http,
            service=self.config.service,
            slo_thresholds={
                target.name: float(kind.split(":", 1)[1])
                for target, kind in self.slo_targets()
                if kind.startswith("slow:")
            },
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\W]+", name) if part)


def build_rules(
    config: SloConfig,
    *,
    job: str = DEFAULT_JOB,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    timing: Timing | None = None,
) -> RuleSet:
    """Every alerting and recording rule for ``config``, scraped as ``job``."""
    return _Builder(config, job, runbook_base, timing or Timing()).build()


def alert_names(rule_set: RuleSet) -> Sequence[str]:
    """Sorted unique alert names of a rule set."""
    return sorted({rule.alert for rule in rule_set.alerts()})
