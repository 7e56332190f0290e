"""Grafana dashboards, their provisioning files and a Prometheus scrape configuration.

The dashboard is built with Grafana's own ``grafana-foundation-sdk`` (the typed builders Grafana
generates from its schemas), never as hand-written JSON. It shows the KPIs against their
budgets, the error budget and burn rates of each SLO, the three metric layers of the contract
(system, application, business) and the firing alerts as annotations (``ALERTS`` of the
service). Panels use the ``${datasource}`` variable, so the file works under file provisioning
(no ``__inputs``/``${DS_…}``), and the ``$job`` variable, defaulting to the rendered job.

``provisioning_files()`` gives the Grafana provisioning YAML (``apiVersion: 1``) for the
dashboards folder and a Prometheus data source; ``scrape_config()`` a Prometheus configuration
that discovers the service and node_exporter with file-based service discovery and loads the
generated rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus as gprom
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from hypersync_slo.alerting.mtail import LOG_JOB
from hypersync_slo.alerting.mtail import PROGRAM_FILE as MTAIL_PROGRAM
from hypersync_slo.alerting.rules import (
    ALERTS_FILE,
    PSEUDO_FS,
    SLO_FILE,
    dump_yaml,
    own_hosts,
)
from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.promql import le_matcher, quote_label

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
DATASOURCE_JSON = {"type": "prometheus", "uid": "${datasource}"}
DASHBOARD_UID = "hypersync-slo"
PROVISIONED_DATASOURCE_UID = "prometheus"


@dataclass(frozen=True)
class PanelSpec:
    """One panel: title, PromQL queries (expr, legend), unit and kind."""

    title: str
    queries: tuple[tuple[str, str], ...]
    unit: str
    kind: str = "timeseries"
    description: str = ""
    thresholds: tuple[float, ...] = ()
    #: Availability, success rate, throughput, budget remaining: red below, green at or above.
    higher_is_better: bool = False
    #: Extra panel keys (``timeFrom``, ``interval``) set on the JSON.
    extra: tuple[tuple[str, str], ...] = ()


class _Panels:
    """The panel specs for one SLO file: its instrumentation profile and metric catalogue."""

    def __init__(self, config: SloConfig) -> None:
        self.c = config
        self.h = config.http
        self.sel = 'job=~"$job",instance=~"$instance"'
        #: The job's API requests (the profile's route filter), as every KPI panel counts them.
        self.api = self.sel + (
            f',{self.h.route_label}=~"{quote_label(self.h.api_routes)}"'
            if self.h.api_routes
            else ""
        )
        #: The SLO series of this service only (shared Prometheus: many services' rules).
        self.slo_sel = f'service="{quote_label(config.service)}",job=~"$job"'

    def rate(self, metric: str, by: str = "", extra: str = "", *, api: bool = False) -> str:
        matchers = (self.api if api else self.sel) + (f",{extra}" if extra else "")
        grouping = f" by ({by})" if by else ""
        return f"sum{grouping} (rate({metric}{{{matchers}}}[$__rate_interval]))"

    def requests(self, by: str = "", extra: str = "") -> str:
        """API requests per second from the series counted per status."""
        return self.rate(self.h.requests, by, extra, api=True)

    def quantile(self, q: float, by: str = "") -> str:
        return self.h.in_seconds(
            f"histogram_quantile({q:g}, sum by (le{', ' + by if by else ''}) "
            f"(rate({self.h.bucket}{{{self.api}}}[$__rate_interval])))"
        )

    def objective(self, kpi: str) -> tuple[float, ...]:
        obj = self.c.objectives.get(kpi)
        return (obj.value,) if obj and obj.value is not None else ()

    def error_ratio(self) -> str:
        errors = self.requests(extra=f'{self.h.status}=~"{self.h.server_error}"')
        total = self.requests()
        return f"({errors} or {total} * 0) / {total}"

    def kpis(self) -> list[PanelSpec]:
        panels = [
            PanelSpec(
                "Availability (successful health checks: scrapes of the job)",
                ((f"avg(avg_over_time(up{{{self.sel}}}[$__rate_interval]))", "availability"),),
                "percentunit",
                "stat",
                "Objective: " + self.c.objective("availability").describe(),
                self.objective("availability"),
                higher_is_better=True,
            ),
            PanelSpec(
                "Success rate (API requests without 5xx / all)",
                ((f"1 - ({self.error_ratio()})", "success rate"),),
                "percentunit",
                "stat",
                "Objective: " + self.c.objective("success_rate").describe(),
                self.objective("success_rate"),
                higher_is_better=True,
            ),
            PanelSpec(
                "Error rate (5xx / all API requests)",
                ((self.error_ratio(), "error rate"),),
                "percentunit",
                "stat",
                "Objective: " + self.c.objective("error_rate").describe(),
                self.objective("error_rate"),
            ),
            PanelSpec(
                "Throughput",
                ((self.requests(), "requests/s"),),
                "reqps",
                "stat",
                "Objective: " + self.c.objective("throughput_rps").describe(),
                self.objective("throughput_rps"),
                higher_is_better=True,
            ),
        ]
        for kpi, q in (("latency_p95", 0.95), ("latency_p99", 0.99)):
            panels.append(
                PanelSpec(
                    f"{kpi.replace('_', ' ')} (Prometheus histogram estimate)",
                    ((self.quantile(q), kpi),),
                    "s",
                    "stat",
                    "Objective: " + self.c.objective(kpi).describe(),
                    self.objective(kpi),
                )
            )
        panels.append(
            PanelSpec(
                "Latency percentiles against objectives",
                tuple((self.quantile(q), f"p{q * 100:g}") for q in (0.5, 0.95, 0.99, 0.999)),
                "s",
                description="histogram_quantile over the request-duration histogram",
                thresholds=self.c.latency_thresholds,
            )
        )
        return panels

    def budget(self) -> list[PanelSpec]:
        sli = "slo:sli_error:ratio_rate{w}{{" + self.slo_sel + "}}"
        budget = "on (service, job, slo) group_left slo:error_budget:ratio{" + self.slo_sel + "}"
        panels = [
            PanelSpec(
                "Error budget remaining (30 days)",
                ((f"1 - ({sli.format(w='30d')} / {budget})", "{{slo}}"),),
                "percentunit",
                "stat",
                "1 - (bad-event ratio over 30 days / error budget): red once spent (below 0), "
                "orange under a quarter left",
                (0.0, 0.25),
                higher_is_better=True,
            ),
            PanelSpec(
                "Error budget burn-down over the SLO period (30 days)",
                ((f"1 - ({sli.format(w='30d')} / {budget})", "{{slo}} remaining"),),
                "percentunit",
                description="The budget left over the trailing 30 days, hour by hour: a line "
                "heading for 0 % spends the budget before the period ends.",
                thresholds=(0.0, 0.25),
                higher_is_better=True,
                extra=(("timeFrom", "30d"), ("interval", "1h")),
            ),
            PanelSpec(
                "Burn rate by window",
                tuple(
                    (f"{sli.format(w=w)} / {budget}", "{{slo}} " + w)
                    for w in ("5m", "1h", "6h", "1d", "3d")
                ),
                "x",
                description="bad-event ratio / error budget; 1x spends the 30-day budget in 30 days",
                thresholds=(1.0, 6.0, 14.4),
            ),
        ]
        threshold = self.c.objectives.get("latency_p99")
        if threshold and threshold.value is not None:
            fast = self.rate(self.h.bucket, extra=le_matcher(self.h.le(threshold.value)), api=True)
            panels.append(
                PanelSpec(
                    f"Requests slower than {threshold.value * 1000:g} ms",
                    ((f"1 - ({fast} / {self.rate(self.h.count, api=True)})", "slow ratio"),),
                    "percentunit",
                )
            )
        return panels

    def host(self, expr: str) -> str:
        """A node_exporter expression kept on the hosts that run an instance of ``$job``."""
        return own_hosts(expr, self.sel)

    def process(self) -> list[PanelSpec]:
        """CPU, memory and file descriptors of the service's processes, as its library names them."""
        names = {name for name, _ in self.h.process_families}
        if "process_cpu_usage" in names:  # Micrometer
            cpu = f"process_cpu_usage{{{self.sel}}}"
            memory = f"sum by (instance) (jvm_memory_used_bytes{{{self.sel}}})"
            fds = f"process_files_open_files{{{self.sel}}} / process_files_max_files{{{self.sel}}}"
        else:
            cpu = self.rate("process_cpu_seconds_total", "instance")
            memory = f"process_resident_memory_bytes{{{self.sel}}}"
            fds = f"process_open_fds{{{self.sel}}} / process_max_fds{{{self.sel}}}"
        return [
            PanelSpec("Process CPU", ((cpu, "{{instance}}"),), "percentunit"),
            PanelSpec("Process memory", ((memory, "{{instance}}"),), "bytes"),
            PanelSpec("Open file descriptors / limit", ((fds, "{{instance}}"),), "percentunit"),
        ]

    def system(self) -> list[PanelSpec]:
        fs = f'fstype!~"{PSEUDO_FS}"'
        return [
            *self.process(),
            PanelSpec(
                "Host CPU busy",
                (
                    (
                        self.host(
                            '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}'
                            "[$__rate_interval]))"
                        ),
                        "{{instance}}",
                    ),
                ),
                "percentunit",
            ),
            PanelSpec(
                "Host memory used",
                (
                    (
                        self.host(
                            "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"
                        ),
                        "{{instance}}",
                    ),
                ),
                "percentunit",
                thresholds=tuple(
                    v
                    for v in (self.c.alerts.warning.memory_used, self.c.alerts.critical.memory_used)
                    if v
                ),
            ),
            PanelSpec(
                "Disk used",
                (
                    (
                        self.host(
                            f"1 - node_filesystem_avail_bytes{{{fs}}} / "
                            f"node_filesystem_size_bytes{{{fs}}}"
                        ),
                        "{{instance}} {{mountpoint}}",
                    ),
                ),
                "percentunit",
                thresholds=tuple(
                    v
                    for v in (self.c.alerts.warning.disk_used, self.c.alerts.critical.disk_used)
                    if v
                ),
            ),
            PanelSpec(
                "Disk I/O",
                (
                    (
                        self.host(
                            "sum by (instance) (rate(node_disk_read_bytes_total[$__rate_interval]))"
                        ),
                        "read {{instance}}",
                    ),
                    (
                        self.host(
                            "sum by (instance) "
                            "(rate(node_disk_written_bytes_total[$__rate_interval]))"
                        ),
                        "written {{instance}}",
                    ),
                ),
                "Bps",
            ),
            PanelSpec(
                "Network I/O",
                (
                    (
                        self.host(
                            "sum by (instance) "
                            "(rate(node_network_receive_bytes_total[$__rate_interval]))"
                        ),
                        "in {{instance}}",
                    ),
                    (
                        self.host(
                            "sum by (instance) "
                            "(rate(node_network_transmit_bytes_total[$__rate_interval]))"
                        ),
                        "out {{instance}}",
                    ),
                ),
                "Bps",
            ),
            PanelSpec(
                "Running processes", ((self.host("node_procs_running"), "{{instance}}"),), "short"
            ),
        ]

    def application(self) -> list[PanelSpec]:
        m = self.c.metric
        route, status = self.h.route_label, self.h.status
        panels = [
            PanelSpec(
                "Requests by route",
                ((self.requests(route), "{{" + route + "}}"),),
                "reqps",
            ),
            PanelSpec(
                "Responses by status code",
                ((self.requests(status), "{{" + status + "}}"),),
                "reqps",
            ),
            PanelSpec(
                "p99 latency by route",
                ((self.quantile(0.99, route), "{{" + route + "}}"),),
                "s",
            ),
        ]
        if self.h.catalogue:
            panels.append(
                PanelSpec(
                    "Active requests, connections, queue depth",
                    (
                        (f"sum({m('active_requests')}{{{self.sel}}})", "active requests"),
                        (f"sum({m('active_connections')}{{{self.sel}}})", "active connections"),
                        (f"sum({m('queue_depth')}{{{self.sel}}})", "queue depth"),
                    ),
                    "short",
                )
            )
        return panels

    def business(self) -> list[PanelSpec]:
        m = self.c.metric
        return [
            PanelSpec(
                "Operator executions",
                (
                    (
                        self.rate(m("operator_executions"), "operator, outcome"),
                        "{{operator}} {{outcome}}",
                    ),
                ),
                "ops",
            ),
            PanelSpec(
                "Policy evaluations",
                ((self.rate(m("policy_evaluations"), "decision"), "{{decision}}"),),
                "ops",
            ),
            PanelSpec(
                "Receipts generated", ((self.rate(m("receipts_generated")), "receipts/s"),), "ops"
            ),
            PanelSpec(
                "Agents active", ((f"sum({m('agents_active')}{{{self.sel}}})", "agents"),), "short"
            ),
            PanelSpec(
                "Agent actions", ((self.rate(m("agent_actions"), "action"), "{{action}}"),), "ops"
            ),
            PanelSpec(
                "Compute seconds by operator",
                ((self.rate(m("compute_seconds"), "operator"), "{{operator}}"),),
                "s",
            ),
            PanelSpec(
                "Storage used", ((f"sum({m('storage_used')}{{{self.sel}}})", "bytes"),), "bytes"
            ),
        ]


def _panel(spec: PanelSpec, panel_id: int) -> gts.Panel | gstat.Panel:
    builder: gts.Panel | gstat.Panel = gstat.Panel() if spec.kind == "stat" else gts.Panel()
    builder.id(panel_id).title(spec.title).datasource(DATASOURCE).unit(spec.unit)
    builder.span(6 if spec.kind == "stat" else 12).height(5 if spec.kind == "stat" else 8)
    if spec.description:
        builder.description(spec.description)
    if spec.thresholds:
        steps = threshold_steps(spec.thresholds, higher_is_better=spec.higher_is_better)
        builder.thresholds(
            gdash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps)
        )
    for index, (expr, legend) in enumerate(spec.queries):
        builder.with_target(
            gprom.Dataquery()
            .ref_id(chr(ord("A") + index))
            .expr(expr)
            .legend_format(legend)
            .datasource(DATASOURCE)
        )
    return builder


def threshold_steps(values: tuple[float, ...], *, higher_is_better: bool) -> list[model.Threshold]:
    """Grafana threshold steps in the KPI's direction.

    Lower is better (latency, error rate, burn rate): green, then orange, red, dark red at each
    value. Higher is better (availability, success rate, throughput, budget left): red below the
    lowest value, then orange between values, green at or above the highest (the objective).
    """
    ordered = sorted(round(v, 12) for v in values)  # 0.999, not 0.9990000000000001
    if not higher_is_better:
        colors = ("orange", "red", "dark-red") if len(ordered) > 1 else ("red",)
        return [model.Threshold(value=None, color="green")] + [
            model.Threshold(value=v, color=c) for v, c in zip(ordered, colors, strict=False)
        ]
    steps = [model.Threshold(value=None, color="red")]
    for index, value in enumerate(ordered):
        last = index == len(ordered) - 1
        steps.append(model.Threshold(value=value, color="green" if last else "orange"))
    return steps


#: Grafana 12's dashboard schema; nothing deprecated (no ``style``) is written.
SCHEMA_VERSION = 41
GRID_COLUMNS = 24


def layout(panels: list[dict[str, Any]]) -> None:
    """Place panels left to right on Grafana's 24-column grid, a new line when one would not fit,
    a row across the whole width; nothing overlaps or overflows."""
    x = y = line_height = 0
    for panel in panels:
        pos = panel["gridPos"]
        width = min(int(pos["w"]), GRID_COLUMNS)
        if panel["type"] == "row" or x + width > GRID_COLUMNS:
            y += line_height
            x = line_height = 0
        panel["gridPos"] = {"h": int(pos["h"]), "w": width, "x": x, "y": y}
        if panel["type"] == "row":
            y += int(pos["h"])
            continue
        x += width
        line_height = max(line_height, int(pos["h"]))


def alert_list_panel(config: SloConfig, panel_id: int) -> dict[str, Any]:
    """Grafana's alert list: the service's firing and pending alerts, from Prometheus's rules."""
    return {
        "id": panel_id,
        "type": "alertlist",
        "title": "Firing and pending alerts",
        "description": f"Alerts whose labels carry service={config.service} (the generated rules)",
        "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
        "datasource": DATASOURCE_JSON,
        "options": {
            "viewMode": "list",
            "groupMode": "default",
            "groupBy": [],
            "maxItems": 20,
            "sortOrder": 1,
            "dashboardAlerts": False,
            "alertName": "",
            "alertInstanceLabelFilter": f'{{service="{config.service}"}}',
            "datasource": "${datasource}",
            "stateFilter": {
                "firing": True,
                "pending": True,
                "noData": False,
                "normal": False,
                "error": True,
            },
            "showInstances": True,
        },
    }


def build_dashboard(config: SloConfig, *, job: str = "hypersync") -> dict[str, Any]:
    """The HyperSync SLO dashboard as classic dashboard JSON (a dict)."""
    panels = _Panels(config)
    board = (
        gdash.Dashboard(f"{config.service} SLOs")
        .uid(DASHBOARD_UID if config.service == "hypersync" else _uid(config.service))
        .tags(["hypersync", "slo", "generated"])
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("utc")
        .readonly()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            gdash.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .with_variable(
            gdash.QueryVariable("job")
            .label("Job")
            .datasource(DATASOURCE)
            .query("label_values(up, job)")
            .current(model.VariableOption(selected=True, text=job, value=job))
        )
        .with_variable(
            gdash.QueryVariable("instance")
            .label("Instance")
            .datasource(DATASOURCE)
            .query('label_values(up{job=~"$job"}, instance)')
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(model.VariableOption(selected=True, text="All", value="$__all"))
        )
        .annotation(
            gdash.AnnotationQuery()
            .name("Firing alerts")
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color("red")
            .expr(f'ALERTS{{alertstate="firing",service="{config.service}"}}')
        )
    )
    panel_id = 1
    rows = [
        ("KPIs against objectives", panels.kpis()),
        ("Error budget and burn rate", panels.budget()),
        ("System layer (process and host)", panels.system()),
        ("Application layer (HTTP)", panels.application()),
    ]
    if config.http.catalogue:
        rows.append(("Business layer (HyperSync operations)", panels.business()))
    for title, specs in rows:
        board.with_row(gdash.Row(title).id(panel_id))
        panel_id += 1
        for spec in specs:
            board.with_panel(_panel(spec, panel_id))
            panel_id += 1
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    data.pop("style", None)  # deprecated since schema 36
    data["schemaVersion"] = SCHEMA_VERSION
    by_title = {spec.title: spec for _title, group in rows for spec in group}
    for panel in data["panels"]:
        found = by_title.get(panel.get("title", ""))
        if found is None:
            continue
        panel.update(dict(found.extra))
        if panel["type"] == "timeseries" and found.thresholds:
            # draw the objectives as dashed lines on the graph, not only in the legend colours
            custom = panel.setdefault("fieldConfig", {}).setdefault("defaults", {})
            custom.setdefault("custom", {})["thresholdsStyle"] = {"mode": "dashed"}
    kpi_row = next(i for i, p in enumerate(data["panels"]) if p["type"] == "row")
    data["panels"].insert(kpi_row + 1, alert_list_panel(config, panel_id))
    layout(data["panels"])
    # The annotation's query options that Grafana's Prometheus plugin reads next to ``expr``.
    for annotation in data.get("annotations", {}).get("list", []):
        if annotation.get("name") == "Firing alerts":
            annotation.update(
                {
                    "titleFormat": "{{alertname}} ({{severity}})",
                    "tagKeys": "severity,kpi",
                    "useValueForTime": False,
                    "step": "60s",
                }
            )
    return data


def _uid(service: str) -> str:
    return (re.sub(r"[^a-zA-Z0-9_-]", "-", service)[:36] + "-slo").strip("-")


def dashboard_json(config: SloConfig, *, job: str = "hypersync") -> str:
    """The dashboard as JSON text, keys sorted, byte-stable."""
    return (
        json.dumps(build_dashboard(config, job=job), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )


def dashboard_queries(data: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a classic dashboard (panel targets and annotations)."""
    exprs: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets") or [] if t.get("expr"))
            walk(panel.get("panels") or [])

    walk(data.get("panels") or [])
    exprs.extend(a["expr"] for a in data.get("annotations", {}).get("list", []) if a.get("expr"))
    return exprs


def provisioning_files(
    *, dashboards_path: str, prometheus_url: str = "http://prometheus:9090"
) -> dict[str, str]:
    """Grafana provisioning YAML: the dashboards provider and the Prometheus data source."""
    header = "# Generated by hypersync-slo render; Grafana reads it at start (apiVersion 1).\n"
    providers = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "hypersync-slo",
                "orgId": 1,
                "folder": "HyperSync",
                "type": "file",
                "disableDeletion": False,
                "updateIntervalSeconds": 30,
                "allowUiUpdates": False,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }
    datasources = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "access": "proxy",
                "uid": PROVISIONED_DATASOURCE_UID,
                "url": prometheus_url,
                "isDefault": True,
                "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
                "editable": False,
            }
        ],
    }
    return {
        "dashboards/hypersync-slo.yaml": dump_yaml(providers, header),
        "datasources/prometheus.yaml": dump_yaml(datasources, header),
    }


def scrape_config(
    *,
    job: str = "hypersync",
    node_job: str = "node",
    log_job: str = LOG_JOB,
    alertmanager: str = "alertmanager:9093",
    scrape_interval: str = "15s",
) -> str:
    """A Prometheus configuration: file-SD scrape jobs, the generated rules, one Alertmanager."""
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [f"rules/{ALERTS_FILE}", f"rules/{SLO_FILE}"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": name,
                "file_sd_configs": [
                    {"files": [f"targets/{name}-*.json"], "refresh_interval": "1m"}
                ],
            }
            for name in (job, node_job)
        ]
        + [
            # its own directory: the glob targets/<job>-*.json must not pick up mtail's targets
            {
                "job_name": log_job,
                "file_sd_configs": [{"files": ["targets/logs/*.json"], "refresh_interval": "1m"}],
            }
        ],
    }
    header = (
        "# Generated by hypersync-slo render. Targets come from file-based service discovery:\n"
        f'# write targets/{job}-<anything>.json as [{{"targets": ["host:port"], "labels": {{}}}}].\n'
        f"# {log_job}: the mtail running mtail/{MTAIL_PROGRAM} on the service's log (port 3903);\n"
        "# write its targets to targets/logs/<anything>.json.\n"
    )
    return dump_yaml(config, header)
