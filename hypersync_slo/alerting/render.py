"""Write every generated monitoring artefact into one directory, byte-stable.

``render_all(out, config, ...)`` writes::

    OUT/prometheus/prometheus.yml                       scrape config (file SD), rules, Alertmanager
    OUT/prometheus/rules/hypersync-alerts.rules.yml      critical / warning / info alerts
    OUT/prometheus/rules/hypersync-slo.rules.yml         SLI recording rules, burn-rate alerts
    OUT/alertmanager/alertmanager.yml                    routing, inhibition, receivers
    OUT/grafana/dashboards/hypersync-slo.json            the dashboard
    OUT/grafana/provisioning/dashboards/hypersync-slo.yaml
    OUT/grafana/provisioning/datasources/prometheus.yaml
    OUT/cloudwatch/kpis.emf.jsonl                        only when a run's KPIs are given

The same inputs give byte-identical files (no timestamps, sorted keys, fixed order), so the
output diffs cleanly in review. Everything is built and validated before the first file is
written: a refused input leaves the directory untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypersync_slo.alerting.alertmanager import RoutingSpec, load_routing, render_alertmanager
from hypersync_slo.alerting.dashboards import dashboard_json, provisioning_files, scrape_config
from hypersync_slo.alerting.emf import emf_lines, kpi_record
from hypersync_slo.alerting.rules import DEFAULT_JOB, DEFAULT_RUNBOOK_BASE, Timing, build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError, explain

GRAFANA_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/hypersync"


@dataclass(frozen=True)
class RunKpis:
    """A run's KPIs for the EMF record: base-unit values, their source, time and sample counts."""

    kpis: Mapping[str, float]
    source: str
    timestamp_ms: int
    samples: Mapping[str, int]

    @classmethod
    def load(cls, path: Path) -> RunKpis:
        """Read ``{"kpis": {...}, "source": "client", "timestamp_ms": N, "samples": {...}}``."""
        try:
            data = json.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the KPI file {path}: {exc.strerror or exc}.") from exc
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("kpis"), dict):
            raise ConfigError(
                explain(
                    f"{path}: expected a JSON object with a 'kpis' mapping.",
                    example='{"kpis": {"latency_p99": 0.21}, "source": "client", '
                    '"timestamp_ms": 1795000000000, "samples": {"latency_p99": 60000}}',
                )
            )
        stamp = data.get("timestamp_ms")
        if not isinstance(stamp, int):
            raise ConfigError(
                f"{path}: 'timestamp_ms' must be integer milliseconds since the epoch."
            )
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
        return cls(kpis, str(data.get("source", "client")), stamp, samples)


def render_files(
    config: SloConfig,
    *,
    job: str = DEFAULT_JOB,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    routing: RoutingSpec | None = None,
    check_secrets: bool = False,
    timing: Timing | None = None,
    run_kpis: RunKpis | None = None,
    prometheus_url: str = "http://prometheus:9090",
    alertmanager: str = "alertmanager:9093",
) -> dict[str, str]:
    """Relative path -> text of every artefact, validated, nothing written yet."""
    spec = routing or load_routing(None)
    if check_secrets:
        spec.check_secret_files()
    files: dict[str, str] = {}
    rules = build_rules(config, job=job, runbook_base=runbook_base, timing=timing)
    for name, text in rules.render().items():
        files[f"prometheus/rules/{name}"] = text
    files["prometheus/prometheus.yml"] = scrape_config(job=job, alertmanager=alertmanager)
    files["alertmanager/alertmanager.yml"] = render_alertmanager(spec)
    files["grafana/dashboards/hypersync-slo.json"] = dashboard_json(config, job=job)
    for name, text in provisioning_files(
        dashboards_path=GRAFANA_DASHBOARDS_PATH, prometheus_url=prometheus_url
    ).items():
        files[f"grafana/provisioning/{name}"] = text
    if run_kpis is not None:
        record: dict[str, Any] = kpi_record(
            run_kpis.kpis,
            service=config.service,
            timestamp_ms=run_kpis.timestamp_ms,
            source=run_kpis.source,
            samples=run_kpis.samples,
        )
        files["cloudwatch/kpis.emf.jsonl"] = emf_lines([record])
    return dict(sorted(files.items()))


def write_files(out: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` under ``out``; return the paths written, in order."""
    written = []
    for relative, text in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def render_all(out: Path, config: SloConfig, **options: Any) -> list[Path]:
    """Build every artefact for ``config`` (see ``render_files`` for options) and write it to ``out``."""
    return write_files(out, render_files(config, **options))
