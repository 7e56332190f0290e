"""``hypersync-slo audit``: judge a period (e.g. the last 30 days) against the error budget."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypersync_slo.audit.criteria import Criteria, Evaluation, evaluate
from hypersync_slo.audit.history import DEFAULT_PATH, History, resolve_path
from hypersync_slo.audit.period import audit_period
from hypersync_slo.audit.publish import PUSH_JOB, publish
from hypersync_slo.audit.recording import entry_from_audit
from hypersync_slo.audit.writers import audit_exit_code, summary_lines, write_audit
from hypersync_slo.commands.prometheus_args import (
    ENVIRONMENT_HELP,
    add_deadline_argument,
    prometheus_client,
)
from hypersync_slo.commands.report import parse_time
from hypersync_slo.config import SloConfig, parse_quantity
from hypersync_slo.errors import ConfigError, UsageError
from hypersync_slo.exitcodes import epilog
from hypersync_slo.inputs import MAX_PERIOD, seconds, seconds_arg, url_arg
from hypersync_slo.outputs import probe_dir, probe_file
from hypersync_slo.timestamps import file_stamp

DESCRIPTION = """\
Audit a period (default: the last 30 days) from Prometheus: for each SLO of the SLO file,
compliance event-based and time-slice-based (1-minute slices), error budget total / consumed /
remaining, burn rate over 1h, 6h, 1d and 3d against the SRE workbook factors 14.4 / 6 / 3 / 1,
the worst day, the time to exhaustion at the current burn, and the coverage of the period (how
much of it has data: gaps and a retention shorter than the period are reported). Prometheus
aggregates everything (increase over the period, subqueries for slices): a 30-day audit never
pulls raw points.

The audit is appended to the history (SQLite, default reports/history.sqlite) once per window:
the window ends at --end, or now rounded down to --align (default 1h), so a retried job audits
the same window and does not append twice. Relative criteria (--criteria; default: p95 must not
regress more than +10 % against the median of the last 5 passing audits, warning up to +15 %)
are scored against that history as Keptn quality gates did.

examples:
  hypersync-slo audit --prometheus-url http://127.0.0.1:9090 --last 30d --job hypersync
  hypersync-slo audit --prometheus-url http://prometheus:9090 --last 28d \\
      --history /var/lib/hypersync-slo/history.sqlite --pushgateway http://pushgateway:9091
  hypersync-slo audit --prometheus-url http://127.0.0.1:9090 --end 2026-11-01T00:00:00Z \\
      --last 7d --budgeting occurrences --out reports/audit-week-44

Writes OUT/audit.json and OUT/audit.md. Exit 0: compliant over the period; 1: an error
budget is exhausted (or a criterion failed); 3: no data, or coverage below --min-coverage
(compliance is never claimed over time without data); 5: Prometheus unavailable.

"""
DESCRIPTION += ENVIRONMENT_HELP + "\n"


def register(sub: Any) -> None:
    """Add the ``audit`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="audit a period: error budget, burn rates, worst day, coverage; record in history",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--prometheus-url",
        required=True,
        type=url_arg("--prometheus-url"),
        help="Prometheus-API base URL",
    )
    parser.add_argument("--last", default="30d", help="length of the period (default 30d)")
    parser.add_argument("--end", help="end of the period: RFC 3339 or Unix s (default: now)")
    parser.add_argument(
        "--align",
        default="1h",
        help="round a default end down to a multiple of this (default 1h): reruns are idempotent",
    )
    parser.add_argument(
        "--history", default=str(DEFAULT_PATH), help=f"history file (default {DEFAULT_PATH})"
    )
    parser.add_argument("--no-history", action="store_true", help="neither compare nor record")
    parser.add_argument(
        "--slo-config", type=Path, help="SLO file: slo.yaml or OpenSLO v1 (default: packaged)"
    )
    parser.add_argument(
        "--criteria",
        type=Path,
        help="Keptn-style criteria file (default: p95 <= +10 %% vs history)",
    )
    parser.add_argument(
        "--pushgateway",
        type=url_arg("--pushgateway"),
        help="push every verdict and SLI to this Pushgateway URL",
    )
    parser.add_argument(
        "--push-job", default=PUSH_JOB, help=f"Pushgateway job label (default {PUSH_JOB})"
    )
    parser.add_argument("--job", help="Prometheus job label of the audited series")
    parser.add_argument(
        "--routes",
        default=None,
        help="regex of route-label values judged (default: the SLO file's metrics.http.api_routes, "
        "'/v1/.*' for the hypersync profile; '' for every route)",
    )
    parser.add_argument("--out", type=Path, help="output directory (default reports/audit-<end>)")
    parser.add_argument("--slice", default="1m", help="time-slice width (default 1m)")
    parser.add_argument(
        "--budgeting",
        choices=("occurrences", "timeslices", "both"),
        default="both",
        help="which budget gates the verdict (default both; both are always reported)",
    )
    parser.add_argument(
        "--min-coverage",
        default="99%",
        help="share of the period that must have data to claim compliance (default 99%%)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg("--timeout", maximum=600),
        default=30.0,
        help="per-query timeout (s)",
    )
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify Prometheus's TLS certificate"
    )
    add_deadline_argument(parser, default=600.0)
    parser.set_defaults(func=handle)


def _seconds(text: str, flag: str) -> float:
    return seconds(text, option=flag, maximum=MAX_PERIOD)


def period_of(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """The audited period: ``--last`` ending at ``--end`` or at now rounded down to ``--align``."""
    span = _seconds(args.last, "--last")
    if args.end:
        end = parse_time(args.end, "--end")
    else:
        align = _seconds(args.align, "--align")
        now = datetime.now(UTC).timestamp()
        end = datetime.fromtimestamp(now - now % align, UTC)
    return end - timedelta(seconds=span), end


def _ratio(text: str) -> float:
    try:
        value = parse_quantity(text, where="--min-coverage", expect="ratio")
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"--min-coverage must lie in [0, 100 %] (got {text!r}).")
    return value


def handle(args: argparse.Namespace) -> int:
    """Audit the period, compare with and append to the history, write, publish."""
    config = SloConfig.load(args.slo_config)
    criteria = Criteria.load(args.criteria)
    start, end = period_of(args)
    slice_seconds = _seconds(args.slice, "--slice")
    min_coverage = _ratio(args.min_coverage)
    out = args.out or Path("reports") / f"audit-{file_stamp(end)}"
    probe_dir(out)  # an unwritable output is exit 10 before any query
    if not args.no_history:
        probe_file(resolve_path(args.history), option="--history")
    history = None if args.no_history else History(args.history)  # fail fast when broken
    try:
        with prometheus_client(args) as client:
            report = audit_period(
                client,
                config,
                start,
                end,
                job=args.job,
                routes=args.routes,
                slice_seconds=slice_seconds,
                budgeting=args.budgeting,
                min_coverage=min_coverage,
            )
        scored: Evaluation | None = None
        recorded = "not recorded (--no-history)"
        if history is not None:
            scored = evaluate(
                criteria,
                report.slis,
                history,
                job=args.job or "",
                kind="audit",
                before=end.timestamp(),
            )
            entry_id, appended = history.record(entry_from_audit(report, scored))
            recorded = (
                f"appended to {history.path} as entry {entry_id}"
                if appended
                else f"already in {history.path} as entry {entry_id} (same window): not appended"
            )
    finally:
        if history is not None:
            history.close()
    paths = write_audit(report, out, scored, recorded)
    for line in summary_lines(report, scored):
        print(line)
    print(f"history: {recorded}")
    if args.pushgateway:
        publish(report, args.pushgateway, job=args.push_job, criteria=scored)
        print(f"published to {args.pushgateway} (job {args.push_job})")
    code = audit_exit_code(report, scored)
    print(
        f"verdict: {report.verdict.value} (exit {int(code)}); written: "
        f"{', '.join(str(p) for p in paths.values())}"
    )
    return int(code)
