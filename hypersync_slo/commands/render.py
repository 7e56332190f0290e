"""``hypersync-slo render``: alerting rules, Alertmanager routing, dashboards and EMF from the SLO file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hypersync_slo.alerting.alertmanager import load_routing
from hypersync_slo.alerting.emf import load_run_kpis
from hypersync_slo.alerting.operator import parse_labels
from hypersync_slo.alerting.render import render_files, write_files
from hypersync_slo.alerting.rules import DEFAULT_JOB, DEFAULT_RUNBOOK_BASE
from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.outputs import probe_dir

DESCRIPTION = """\
Generate the monitoring that goes with the SLO file, ready to deploy and to review:

  OUT/prometheus/rules/hypersync-alerts.rules.yml   critical / warning / info alerts (docs/contracts.md §4)
  OUT/prometheus/rules/hypersync-slo.rules.yml      SLI recording rules, multi-window burn-rate alerts
  OUT/prometheus/rules/hypersync-alerts.test.yml    promtool unit tests: each alert at / below its threshold
  OUT/prometheus/rules/hypersync-slo.test.yml       promtool unit tests of the burn-rate alerts
  OUT/prometheus/prometheus.yml                     scrape config with file-based service discovery
  OUT/alertmanager/alertmanager.yml                 critical -> PagerDuty, warning -> Slack, info -> email
  OUT/grafana/dashboards/hypersync-slo.json         KPIs, error budget, the three metric layers, alerts
  OUT/grafana/provisioning/...                      Grafana provisioning (apiVersion 1)
  OUT/mtail/hypersync-requests.mtail                mtail program: request logs -> requests, errors,
                                                    latency histogram (job hypersync-logs in prometheus.yml)
  OUT/cloudwatch/kpis.emf.jsonl                     a run's KPIs as CloudWatch EMF (with --kpis)
  OUT/prometheus-operator/hypersync-slo.prometheusrule.yaml
                                                    every rule as a PrometheusRule manifest
                                                    (with --format prometheus-operator)

Same input, byte-identical output. Refused before anything is written: thresholds that
contradict each other (a warning above its critical), a route to an unknown receiver, a
receiver without its secret file, a secret written inline.

examples:
  hypersync-slo render --out monitoring/
  hypersync-slo render --out monitoring/ --slo-config slo.yaml --job hypersync-prod \\
      --runbook-base https://wiki.example.org/runbooks/hypersync --routing routing.yaml
  hypersync-slo render --out monitoring/ --routing routing.yaml --check-secrets
  hypersync-slo render --out monitoring/ --format prometheus-operator --namespace monitoring \\
      --operator-label release=prometheus
  promtool check rules monitoring/prometheus/rules/*.rules.yml
  (cd monitoring/prometheus/rules && promtool test rules hypersync-alerts.test.yml \\
      hypersync-slo.test.yml)
  amtool check-config monitoring/alertmanager/alertmanager.yml
  mtail --progs monitoring/mtail --logs /var/log/hypersync/service.log --port 3903

"""


def register(sub: Any) -> None:
    """Add the ``render`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "render",
        help="generate alert rules, Alertmanager routing, Grafana dashboards, mtail program, EMF",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--format",
        choices=("prometheus", "prometheus-operator"),
        default="prometheus",
        help="prometheus: rule files for prometheus.yml (default); prometheus-operator: also "
        "every rule as a PrometheusRule manifest for kubectl apply",
    )
    parser.add_argument(
        "--namespace",
        default="monitoring",
        help="namespace of the PrometheusRule (default monitoring)",
    )
    parser.add_argument(
        "--operator-label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label of the PrometheusRule, as the Prometheus object's ruleSelector wants it "
        "(repeatable), e.g. release=prometheus",
    )
    parser.add_argument(
        "--slo-config",
        type=Path,
        default=None,
        help="SLO file: slo.yaml or OpenSLO v1 (default: the packaged slo.yaml)",
    )
    parser.add_argument(
        "--job",
        default=DEFAULT_JOB,
        help=f"Prometheus job label of the service's series (default {DEFAULT_JOB})",
    )
    parser.add_argument(
        "--runbook-base",
        default=DEFAULT_RUNBOOK_BASE,
        help="https URL the runbook_url annotations point into (#<alertname>)",
    )
    parser.add_argument(
        "--routing",
        type=Path,
        default=None,
        help="routing file: receivers and which level goes where "
        "(default: PagerDuty / Slack / email with secrets under /etc/alertmanager/secrets)",
    )
    parser.add_argument(
        "--check-secrets",
        action="store_true",
        help="refuse unless every secret file the routing names exists and is non-empty here",
    )
    parser.add_argument(
        "--kpis",
        type=Path,
        default=None,
        help="a run's verdict.json (or load-result.json, or {kpis, timestamp_ms}) written as "
        "CloudWatch EMF; refused when older than 14 days (CloudWatch drops it) or when no KPI "
        "had data",
    )
    parser.add_argument(
        "--prometheus-url",
        default="http://prometheus:9090",
        help="URL of Prometheus for the Grafana data source",
    )
    parser.add_argument(
        "--alertmanager",
        default="alertmanager:9093",
        help="host:port of Alertmanager for prometheus.yml",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Render every artefact into ``--out``."""
    config = SloConfig.load(args.slo_config)
    files = render_files(
        config,
        job=args.job,
        runbook_base=args.runbook_base,
        routing=load_routing(args.routing),
        check_secrets=args.check_secrets,
        run_kpis=load_run_kpis(args.kpis) if args.kpis else None,
        prometheus_url=args.prometheus_url,
        alertmanager=args.alertmanager,
        operator={"namespace": args.namespace, "labels": parse_labels(args.operator_label)}
        if args.format == "prometheus-operator"
        else None,
    )
    probe_dir(args.out)  # exit 10 with a sentence before any file is written
    for path in write_files(args.out, files):
        print(path)
    return int(ExitCode.PASS)
