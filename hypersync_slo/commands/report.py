"""``hypersync-slo report``: judge a time window's KPIs from Prometheus and write the report."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypersync_slo.commands.jobargs import add_traffic_arguments
from hypersync_slo.commands.prometheus_args import (
    ENVIRONMENT_HELP,
    add_deadline_argument,
    prometheus_client,
)
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError, NoData, PrometheusUnavailable, UsageError, explain
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.inputs import MAX_PERIOD, seconds, seconds_arg, url_arg
from hypersync_slo.outputs import probe_dir
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.prometheus.queries import default_routes
from hypersync_slo.report import (
    INTERRUPTED,
    Report,
    bucket_bounds_in_prometheus,
    check_thresholds_are_buckets,
    evaluate_window,
    mark_interrupted,
    new_report,
    settle_window,
    write_report,
)
from hypersync_slo.report.scrapes import Coverage
from hypersync_slo.results import LoadResult, read_load_result
from hypersync_slo.timestamps import file_stamp, from_epoch, parse_rfc3339, rfc3339
from hypersync_slo.verdicts import Verdict, exit_code_for

if TYPE_CHECKING:
    from hypersync_slo.report.logs import LogSummary

DESCRIPTION = """\
Query Prometheus for a window, compute every KPI (availability, latency p50/p95/p99/p99.9,
throughput, error and success rate) against the SLO file's budgets, and write
verdict.json, report.md, report.html (with plots) and junit.xml to --out.

Latency verdicts are exact from the histogram bucket at the threshold; a KPI with too few
samples is 'no_data' (fails closed, exit 3); Prometheus unreachable or erroring is exit 5,
with whatever was computed still written. Ctrl-C stops the queries and still writes every
file: the KPIs computed so far, the rest 'error' (interrupted); exit 130.

examples:
  hypersync-slo report --prometheus-url http://127.0.0.1:9090 --last 30m --job hypersync
  hypersync-slo report --prometheus-url http://127.0.0.1:9090 \\
      --start 2026-11-27T02:00:00Z --end 2026-11-27T02:10:00Z --out reports/audit
  hypersync-slo report --prometheus-url http://127.0.0.1:9090 --load-result reports/run/load
      (the window, target and client numbers come from load-result.json; disagreements
      between client and server become findings)
  hypersync-slo report --logs /var/log/hypersync/service.log --load-result reports/run/load
      (the log source alone: exact percentiles from the request lines' durations)
  hypersync-slo report --prometheus-url http://127.0.0.1:9090 --logs service.log.gz --last 1h
      (Prometheus gates; the log's KPIs are shown beside it and disagreements are findings)

The log source (--logs FILE, repeatable, or - for stdin; gzip is detected; FILE.1, FILE.2.gz
... rotated beside FILE are read too) streams the JSON request lines of the window with flat
memory. Each of its KPIs is labelled 'log' with its sample count.

"""
DESCRIPTION += ENVIRONMENT_HELP + "\n"


def register(sub: Any) -> None:
    """Add the ``report`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="judge a window's KPIs from Prometheus; write verdict.json, report.md/.html, junit.xml",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--prometheus-url",
        type=url_arg("--prometheus-url"),
        help="Prometheus-API base URL (Prometheus, Thanos, ...); optional with --logs",
    )
    parser.add_argument(
        "--logs",
        action="append",
        metavar="FILE|-",
        help="the service's JSON request log (repeatable; gzip and rotated FILE.N read too; "
        "- for stdin): a third KPI source, 'log'",
    )
    parser.add_argument("--start", help="window start: RFC 3339 (2026-11-27T02:00:00Z) or Unix s")
    parser.add_argument("--end", help="window end: RFC 3339 or Unix seconds")
    parser.add_argument("--last", help="window ending now: 30m, 2h, 1d")
    parser.add_argument(
        "--load-result", type=Path, help="a load run's directory (or load-result.json) to reconcile"
    )
    parser.add_argument(
        "--slo-config", type=Path, help="SLO file: slo.yaml or OpenSLO v1 (default: packaged)"
    )
    parser.add_argument(
        "--out", type=Path, help="output directory (default reports/<UTC timestamp>/)"
    )
    parser.add_argument("--job", help="Prometheus job label of the target's series")
    parser.add_argument(
        "--routes",
        default=None,
        help="regex of route-label values judged (default: the SLO file's metrics.http.api_routes "
        "when set, else the path templates its traffic declares when it declares any, else the "
        "profile's API routes ('/v1/.*' for the hypersync profile); '' for every route)",
    )
    add_traffic_arguments(parser, load=False)
    parser.add_argument(
        "--settle-timeout",
        type=seconds_arg("--settle-timeout", maximum=3600),
        help="wait at most this many seconds after the window's end for every target's first "
        "successful scrape after it (default: 2 scrape intervals + 5 s); without it the "
        "counted KPIs are no_data",
    )
    parser.add_argument(
        "--quiet-since",
        help="nothing but the window's traffic reached the target since this time (RFC 3339 or "
        "Unix s): a scrape after it covers the window's start edge (run passes its gate's end)",
    )
    parser.add_argument(
        "--step", type=seconds_arg("--step"), help="plot resolution in seconds (default: auto)"
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg("--timeout", maximum=600),
        default=10.0,
        help="per-query timeout (s)",
    )
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify Prometheus's TLS certificate"
    )
    add_deadline_argument(parser, default=120.0)
    parser.set_defaults(func=handle)


def parse_time(text: str, flag: str) -> datetime:
    """RFC 3339 (``Z`` or offset) or Unix seconds, as an aware UTC datetime."""
    try:
        return from_epoch(float(text))
    except ValueError:
        pass
    except (OverflowError, OSError):
        raise UsageError(f"{flag} {text!r} is out of the range of dates.") from None
    try:
        moment = parse_rfc3339(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not a time; write 2026-11-27T02:00:00Z or Unix seconds."
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"{flag} {text!r} has no time zone; add Z for UTC.")
    return moment.astimezone(UTC)


def window_of(args: argparse.Namespace, load: LoadResult | None) -> tuple[datetime, datetime]:
    """The window from --start/--end, --last, or the load result."""
    if args.last and (args.start or args.end):
        raise UsageError("give either --start and --end, or --last, not both.")
    if args.last:
        span = seconds(args.last, option="--last", maximum=MAX_PERIOD)
        end = datetime.now(UTC)
        return end - timedelta(seconds=span), end
    if args.start or args.end:
        if not (args.start and args.end):
            raise UsageError("--start and --end go together.")
        return parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if load is not None:
        window = load.window
        if not (window.get("start") and window.get("end")):
            raise NoData(
                explain(
                    "The load result has no window: the load completed no request.",
                    load_result=str(args.load_result),
                    what_to_do="look at the load stage's summary, or give --start and --end",
                )
            )
        return parse_time(str(window["start"]), "window.start"), parse_time(
            str(window["end"]), "window.end"
        )
    raise UsageError("say which window: --start T --end T, --last 30m, or --load-result DIR.")


def settle(
    client: PrometheusClient,
    args: argparse.Namespace,
    config: SloConfig,
    window: tuple[datetime, datetime],
    load: LoadResult | None,
) -> Coverage:
    """Wait for every target's first successful scrape after the window (bounded), and say
    which scrapes bracket it."""
    quiet = parse_time(args.quiet_since, "--quiet-since") if args.quiet_since else None
    coverage = settle_window(
        client,
        config,
        *window,
        job=args.job,
        quiet_since=quiet.timestamp() if quiet else None,
        quiet_after_end=load is not None,
        bound=args.settle_timeout,
    )
    print(f"scrapes: {coverage.describe()}; waited {coverage.waited:.1f} s", flush=True)
    return coverage


def handle(args: argparse.Namespace) -> int:
    """Evaluate the window, write every output file, exit with the verdict's code."""
    config = SloConfig.load(args.slo_config).with_traffic(args.traffic)
    if args.routes is None:  # metrics.http.api_routes, else the declared routes, else the profile's
        args.routes = default_routes(config)
    load = read_load_result(args.load_result) if args.load_result else None
    if not args.prometheus_url and not args.logs:
        raise UsageError(
            "say where the KPIs come from: --prometheus-url URL, --logs FILE, or both."
        )
    if not args.prometheus_url:
        return _log_only(args, config, load)
    start, end = window_of(args, load)
    out = args.out or Path("reports") / file_stamp()
    probe_dir(out)  # an unwritable output is exit 10 before any query
    log = None
    if args.logs:
        from hypersync_slo.report.logs import log_counts, read_request_logs  # noqa: PLC0415

        log = read_request_logs(args.logs, (start, end), routes=args.routes or None)
    client = prometheus_client(args)
    coverage: Coverage | None = None
    with client:
        try:
            coverage = settle(client, args, config, (start, end), load)
            bounds = bucket_bounds_in_prometheus(client, config, args.job)
        except PrometheusUnavailable:
            bounds = []  # the evaluation below reports the outage with the query that failed
        except KeyboardInterrupt:
            bounds = None
        if bounds is None:  # Ctrl-C before any KPI: every KPI reads error (interrupted)
            report = new_report(
                client.url, config, start, end, job=args.job, load_result=load, coverage=coverage
            )
            mark_interrupted(report, config)
        else:
            problems = check_thresholds_are_buckets(config, bounds) if bounds else []
            if problems:
                raise ConfigError(
                    "the SLO file's latency thresholds are not buckets of the target's "
                    "histogram:\n" + "\n".join(problems)
                )
            report = evaluate_window(
                client,
                config,
                start,
                end,
                job=args.job,
                load_result=load,
                routes=args.routes,
                step=args.step,
                coverage=coverage,
                keep_partial=True,
                log=log_counts(log) if log is not None else None,
            )
    if log is not None:
        _add_log(report, log, config)
    return _finish(report, out, client.url)


def _add_log(report: Report, log: LogSummary, config: SloConfig) -> None:
    from hypersync_slo.report.logs import log_kpis  # noqa: PLC0415 - only with --logs

    report.log_kpis = log_kpis(log, config)
    report.log_summary = log.to_dict()


def _log_only(args: argparse.Namespace, config: SloConfig, load: LoadResult | None) -> int:
    """The log source alone: its KPIs gate; the window is the given one, else the log's own."""
    from hypersync_slo.report.logs import log_counts, read_request_logs  # noqa: PLC0415
    from hypersync_slo.report.reconcile import reconcile_log  # noqa: PLC0415

    given = bool(args.last or args.start or args.end or load is not None)
    window = window_of(args, load) if given else None
    log = read_request_logs(args.logs, window, routes=args.routes or None)
    if window is None:
        window = log.seen_window
        if window is None:
            raise NoData(
                explain(
                    "The log has no request line on the judged routes: nothing to judge.",
                    logs=", ".join(args.logs),
                    routes=args.routes or "(all)",
                    read=log.describe(),
                )
            )
        log.window = window
    out = args.out or Path("reports") / file_stamp()
    report = new_report("", config, window[0], window[1], load_result=load)
    _add_log(report, log, config)
    report.kpis = list(report.log_kpis)
    report.findings = reconcile_log(log_counts(log), None, load, routes=args.routes or None)
    print(log.describe())
    return _finish(report, out, "")


def _finish(report: Report, out: Path, url: str) -> int:
    """Write the files, print the KPIs and findings, return the exit code."""
    paths = write_report(report, out)
    for kpi in report.kpis:
        print(kpi.describe())
    if report.log_kpis and report.log_kpis != report.kpis:
        for kpi in report.log_kpis:
            print("also " + kpi.describe())
    for finding in report.findings:
        print("finding: " + finding.message.splitlines()[0])
    verdict = report.verdict
    print(f"verdict: {verdict.value}; written: {', '.join(str(p) for p in paths.values())}")
    if report.interrupted:
        print(interrupted_paragraph(report, out), file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if verdict is Verdict.ERROR and report.errors:
        print(file=sys.stderr)
        raise PrometheusUnavailable(
            explain(
                f"Prometheus at {url} could not answer every query; "
                f"the partial report is in {out}.",
                first_failure=report.errors[0].replace("\n", "\n  "),
            )
        )
    return int(exit_code_for(verdict))


def interrupted_paragraph(report: Report, out: Path) -> str:
    """What Ctrl-C left: which KPIs were computed, which were not, where the files are."""
    cut = [k.name for k in report.kpis if k.verdict is Verdict.ERROR and k.reason == INTERRUPTED]
    done = len(report.kpis) - len(cut)
    start, end = (rfc3339(m) for m in report.window)
    text = (
        f"hypersync-slo: interrupted (Ctrl-C) while evaluating {start} – {end} from Prometheus "
        f"at {report.prometheus_url}; {done} of {len(report.kpis)} KPIs were computed and "
        f"written to {out}"
    )
    if cut:
        text += f", the others read 'error' (interrupted): {', '.join(cut)}"
    else:
        text += " (the plots or the reconciliation were cut short)"
    return text + ". Run the report again for a complete verdict (exit 130)."
