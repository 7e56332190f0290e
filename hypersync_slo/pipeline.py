"""The pre-release job: contract gate, then load, then the report for the load's exact window.

Each stage is this package's own sub-command run in a child process (so Locust's gevent
patching and pytest's state never leak into the orchestrator), with its output shown live
and its exit code kept. The stages' outcomes combine into one verdict; ``summary.json`` and
``summary.md`` in the output directory say what each stage did and where its files are, and
are written even when a stage fails or the run is interrupted; so are ``index.html`` and
``index.md`` (``runpage.py``), the one page a person reads first, and ``junit.xml`` with one
suite per stage.

Between the gate and the load the job waits until every target of the job has been scraped
after the gate's last request, and hands that moment to the report as ``--quiet-since``: the
gate's requests are counted before the load's window opens, none leaks into it. The report
stage itself waits for the scrape after the load's window (``report/scrapes.py``); there is no
fixed sleep.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hypersync_slo import markup
from hypersync_slo.exitcodes import MEANINGS, ExitCode

if TYPE_CHECKING:
    from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url
from hypersync_slo.results import LOAD_RESULT_FILE, VERDICT_FILE
from hypersync_slo.runpage import publish_run_page
from hypersync_slo.timestamps import rfc3339

#: Exit codes that mean "could not judge" rather than "judged".
FAULT_CODES = frozenset(
    {
        ExitCode.USAGE,
        ExitCode.TARGET_UNREACHABLE,
        ExitCode.PROMETHEUS_UNAVAILABLE,
        ExitCode.MALFORMED_METRICS,
        ExitCode.BAD_CONFIG,
        ExitCode.MISSING_TOOL,
        ExitCode.COULD_NOT_RUN,
    }
)


@dataclass
class StageResult:
    """What one stage did: its command, exit code, meaning, duration and output files."""

    name: str
    argv: list[str]
    exit_code: int
    meaning: str
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobSettings:
    """Everything the job needs, built once by the command from flags and the SLO file path."""

    target_url: str
    prometheus_url: str | None
    out_dir: Path
    rps: float
    duration: float
    slo_config: Path | None = None
    workers: int = 0
    job: str | None = None
    log_file: Path | None = None
    fault_admin: bool = False
    history: Path | None = None
    allow_targets: Sequence[str] = ()
    #: Builds the client that waits for scrapes (credentials from the command); None: plain.
    prometheus: Callable[[], PrometheusClient] | None = None
    traffic: Path | None = None
    traffic_class: str | None = None
    auth_token_env: str | None = None
    auth_header: str | None = None
    late_tolerance: float | None = None
    stages: Sequence[str] = ("check", "load", "report")
    #: ``--trace-sample R --trace-backend KIND=URL --trace-wait S`` for the load stage, or none.
    trace_args: Sequence[str] = ()


def combine(codes: Sequence[int]) -> ExitCode:
    """One verdict from the stages' exit codes.

    A violation found by any stage is definitive (1). Otherwise the first stage that could not
    run decides; then a saturated load generator (9, verdict void); then no data (3); else 0.
    Ctrl-C (130) wins over everything: the run is incomplete. No stage at all is no data.
    (``run_job`` leaves the history stage out unless every other stage passed; safety
    refusals and unwritable outputs stop the job before any stage, with exit 2 or 10.)
    """
    known = [
        ExitCode(c) if c in ExitCode._value2member_map_ else ExitCode.COULD_NOT_RUN for c in codes
    ]
    if not known:
        return ExitCode.NO_DATA  # nothing was judged: never a pass
    if ExitCode.INTERRUPTED in known:
        return ExitCode.INTERRUPTED
    if ExitCode.FAIL in known:
        return ExitCode.FAIL
    for code in known:
        if code in FAULT_CODES:
            return code
    for code in (ExitCode.LOAD_SATURATED, ExitCode.NO_DATA):
        if code in known:
            return code
    return ExitCode.PASS


def _meaning(code: int) -> str:
    return (
        MEANINGS.get(ExitCode(code), "unknown")
        if code in ExitCode._value2member_map_
        else "unknown"
    )


def run_stage(name: str, args: Sequence[str], outputs: dict[str, str]) -> StageResult:
    """Run ``hypersync-slo <args>`` in a child process, its output shown live."""
    argv = [sys.executable, "-m", "hypersync_slo", *args]
    print(f"\n=== {name}: hypersync-slo {' '.join(args)}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(argv)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # The child got the same Ctrl-C; let it write its partial results and exit.
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = int(ExitCode.INTERRUPTED)
        code = int(ExitCode.INTERRUPTED) if code in (0, -2) else code
        result = StageResult(name, argv, code, _meaning(code), time.monotonic() - started, outputs)
        raise StageInterrupted(result) from None
    return StageResult(name, argv, code, _meaning(code), time.monotonic() - started, outputs)


class StageInterrupted(KeyboardInterrupt):
    """Ctrl-C during a stage, carrying what that stage had done."""

    def __init__(self, result: StageResult) -> None:
        super().__init__(result.name)
        self.result = result


#: The stage that records the verdicts: its fault never hides a worse SLO verdict.
HISTORY_STAGE = "history"


def job_verdict(results: Sequence[StageResult], *, interrupted: bool = False) -> ExitCode:
    """The job's one exit code from its stages (see ``combine``).

    The history is bookkeeping: its fault decides only when every judging stage passed, so it
    never hides a worse SLO verdict (its row in the summary still shows its exit code).
    """
    verdict = combine(
        [r.exit_code for r in results if r.name != HISTORY_STAGE]
        + ([int(ExitCode.INTERRUPTED)] if interrupted else [])
    )
    if verdict is ExitCode.PASS:
        verdict = combine([r.exit_code for r in results])
    return verdict


def record_history(history: Path, report_dir: Path) -> StageResult:
    """Append the report's verdicts to the history file and show the recent trend.

    Only a fault here (a corrupt or locked history file) counts in the combined verdict;
    "no earlier entries" is not a finding about the target.
    """
    args = ["history", "--history", str(history), "--import", str(report_dir), "--last", "5"]
    result = run_stage(HISTORY_STAGE, args, {"history": str(history)})
    if result.exit_code in (int(ExitCode.PASS), int(ExitCode.NO_DATA)):
        result.exit_code, result.meaning = 0, "recorded in the history"
    return result


def wait_for_scrape(settings: JobSettings, moment: float) -> bool:
    """Wait until every target of the job has a successful scrape after ``moment``.

    Run between the gate and the load, so the gate's own requests are counted before the
    load's window opens and none of them leaks into it. False (with a note) when the scrape
    did not come within two scrape intervals and 5 s or Prometheus could not be asked: the
    report then states the start edge's uncertainty.
    """
    from hypersync_slo.errors import PrometheusUnavailable  # noqa: PLC0415 - reporter imports
    from hypersync_slo.prometheus.client import PrometheusClient  # noqa: PLC0415
    from hypersync_slo.report.scrapes import wait_for_scrape_after  # noqa: PLC0415

    assert settings.prometheus_url is not None
    job = (settings.job or "").replace("\\", "\\\\").replace('"', '\\"')
    selector = f'up{{job="{job}"}}' if settings.job else "up"
    print(f"\n=== waiting for a scrape of {selector} after the gate", flush=True)
    began = time.monotonic()
    try:
        client = (
            settings.prometheus()
            if settings.prometheus
            else PrometheusClient(settings.prometheus_url)
        )
        with client:
            coverage = wait_for_scrape_after(client, selector, moment)
    except PrometheusUnavailable as exc:
        print(f"  note: {str(exc).splitlines()[0]}", flush=True)
        return False
    if not coverage.settled:
        print(f"  note: {coverage.unsettled_reason()}", flush=True)
        return False
    print(f"  scraped ({time.monotonic() - began:.1f} s)", flush=True)
    return True


def _stage_options(settings: JobSettings) -> tuple[list[str], list[str]]:
    """(SLO file and traffic options, auth options) that several stages take alike."""
    slo = ["--slo-config", str(settings.slo_config)] if settings.slo_config else []
    if settings.traffic:
        slo += ["--traffic", str(settings.traffic)]
    auth = ["--auth-token-env", settings.auth_token_env] if settings.auth_token_env else []
    return slo, auth


def run_gate(settings: JobSettings, slo: Sequence[str], auth: Sequence[str]) -> StageResult:
    """The contract gate stage (``check``), its JUnit file in ``contract/``."""
    junit = settings.out_dir / "contract" / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    args = ["check", "--target-url", settings.target_url, "--junit-xml", str(junit), *slo]
    if settings.log_file:
        args += ["--log-file", str(settings.log_file)]
    if settings.fault_admin:
        args += ["--fault-admin"]
    if auth:
        args += [*auth, "--auth-header", settings.auth_header or "Authorization"]
    return run_stage("contract gate", args, {"junit": str(junit)})


def quiet_moment(settings: JobSettings) -> float | None:
    """The moment after which nothing of ours reached the target before the load, once every
    target has been scraped after it (None when there is no such scrape or no report)."""
    if not ("load" in settings.stages and settings.prometheus_url and "report" in settings.stages):
        return None
    # Nothing of ours reaches the target from here to the load: once every target has
    # been scraped after this moment, the load's window starts on a covered edge.
    quiet_since = time.time()
    return quiet_since if wait_for_scrape(settings, quiet_since) else None


def run_load_stage(settings: JobSettings, slo: Sequence[str], auth: Sequence[str]) -> StageResult:
    """The load stage, its files in ``load/``."""
    load_dir = settings.out_dir / "load"
    args = [
        "load",
        "--target-url",
        settings.target_url,
        "--rps",
        f"{settings.rps:g}",
        "--duration",
        f"{settings.duration:g}s",
        "--out",
        str(load_dir),
        *slo,
    ]
    if settings.workers:
        args += ["--workers", str(settings.workers)]
    if settings.traffic_class:
        args += ["--traffic-class", settings.traffic_class]
    if settings.late_tolerance is not None:
        args += ["--late-tolerance", f"{settings.late_tolerance:g}"]
    args += auth
    for host in settings.allow_targets:
        args += ["--allow-target", host]
    args += list(settings.trace_args)
    return run_stage("load", args, {"load_result": str(load_dir / LOAD_RESULT_FILE)})


def run_report_stages(
    settings: JobSettings,
    slo: Sequence[str],
    quiet_since: float | None,
    results: list[StageResult],
) -> None:
    """The report for the load's window (then the history), appended to ``results`` as each
    ends; without a load result the report is skipped as no data."""
    assert settings.prometheus_url is not None
    out = settings.out_dir
    load_result = out / "load" / LOAD_RESULT_FILE
    report_dir = out / "report"
    if not load_result.exists():
        print(f"\n=== report: skipped, the load wrote no {LOAD_RESULT_FILE}", flush=True)
        results.append(
            StageResult("report", [], int(ExitCode.NO_DATA), "no load window to report on", 0.0)
        )
        return
    # The report waits for every target's first scrape after the load's window.
    args = [
        "report",
        "--prometheus-url",
        settings.prometheus_url,
        "--load-result",
        str(load_result.parent),
        "--out",
        str(report_dir),
        *slo,
    ]
    if settings.job:
        args += ["--job", settings.job]
    if quiet_since is not None:
        args += ["--quiet-since", f"{quiet_since:.3f}"]
    outputs = {
        "verdict": str(report_dir / VERDICT_FILE),
        "html": str(report_dir / "report.html"),
        "markdown": str(report_dir / "report.md"),
        "junit": str(report_dir / "junit.xml"),
    }
    results.append(run_stage("report", args, outputs))
    if settings.history and (report_dir / VERDICT_FILE).exists():
        results.append(record_history(settings.history, report_dir))


def run_job(settings: JobSettings) -> ExitCode:
    """Run the stages in order; write the summary whatever happens; return the combined code."""
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    results: list[StageResult] = []
    slo, auth = _stage_options(settings)
    interrupted = False
    try:
        if "check" in settings.stages:
            results.append(run_gate(settings, slo, auth))
        quiet_since = quiet_moment(settings)
        if "load" in settings.stages:
            results.append(run_load_stage(settings, slo, auth))
        if "report" in settings.stages and settings.prometheus_url:
            run_report_stages(settings, slo, quiet_since, results)
    except StageInterrupted as stop:
        results.append(stop.result)
        interrupted = True
    except KeyboardInterrupt:
        interrupted = True
    verdict = job_verdict(results, interrupted=interrupted)
    write_summary(out, settings, results, verdict, started_at)
    publish_run_page(out)  # index.html / index.md / junit.xml: the page a person reads first
    return verdict


def write_summary(
    out: Path,
    settings: JobSettings,
    results: Sequence[StageResult],
    verdict: ExitCode,
    started_at: datetime,
) -> None:
    """Write ``summary.json`` and ``summary.md`` and print the summary table."""
    summary = {
        "verdict": verdict.name.lower(),
        "exit_code": int(verdict),
        "meaning": MEANINGS[verdict],
        "target_url": redact_url(settings.target_url),
        "prometheus_url": redact_url(settings.prometheus_url) or None,
        "started_at": rfc3339(started_at),
        "finished_at": rfc3339(datetime.now(UTC)),
        "stages": [asdict(r) for r in results],
    }
    write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    lines = [
        "# hypersync-slo run summary",
        "",
        f"- target: {markup.code(redact_url(settings.target_url))}",
        f"- prometheus: {markup.code(redact_url(settings.prometheus_url) or 'none')}",
        f"- verdict: **{verdict.name.lower()}** (exit {int(verdict)}: {MEANINGS[verdict]})",
        "",
        "| stage | exit | meaning | seconds | outputs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        outputs = ", ".join(
            f"[{k}]({Path(v).relative_to(out) if Path(v).is_relative_to(out) else v})"
            for k, v in r.outputs.items()
        )
        lines.append(f"| {r.name} | {r.exit_code} | {r.meaning} | {r.seconds:.1f} | {outputs} |")
    write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n=== summary", flush=True)
    for r in results:
        print(f"  {r.name:<14} exit {r.exit_code:>3}  {r.meaning}  ({r.seconds:.1f} s)")
    print(f"  {'verdict':<14} exit {int(verdict):>3}  {MEANINGS[verdict]}")
    print(f"  results in {out}/ (summary.md, summary.json)", flush=True)
