"""Start Locust in its own process(es), watch the run, gather the result.

Never imports locust or gevent (importing Locust monkey-patches the whole process): the driver
runs in child processes started with ``python -m locust``. With ``workers == 0`` one headless
Locust process runs the whole schedule; with ``workers == N`` a Locust master (running no users)
and N Locust workers (one ``OpenModelUser`` each, the rate split N ways) run in Locust's own
master/worker mode, the same mode that spreads a run over several machines.

While the run goes, the launcher reads the parts the load processes publish every second and
shows one progress line (rate, errors, p95/p99 so far, time left; plain lines when stderr is not
a terminal), and, with ``abort_on_critical``, stops the run when the last 10 s breach the
critical alert level. Ctrl-C stops the workers first (so their final parts still reach the
master), then the master, and the result is written all the same.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.errors import SuiteFault, TargetUnreachable, explain
from hypersync_slo.loadgen import load_verdict
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.parts import read_parts
from hypersync_slo.loadgen.result import RunInfo, merge_parts, write_result
from hypersync_slo.processes import ManagedProcess, free_port
from hypersync_slo.results import LOAD_RESULT_FILE, LOAD_SUMMARY_FILE, LoadResult

DRIVER_LOCUSTFILE = Path(__file__).with_name("driver.py")
PARTS_DIR = ".parts"
#: Seconds the launcher waits past the planned end before it stops a run that did not end.
END_GRACE = 30.0
POLL = 0.5
TTY_REFRESH = 1.0
PLAIN_REFRESH = 5.0


@dataclass(frozen=True)
class LoadPlan:
    """Everything a load run needs, validated by the command before it gets here."""

    target_url: str
    rps: float
    duration: float
    out_dir: Path
    workers: int = 0
    arrival: str = "uniform"
    seed: int = 0
    connections: int = 100
    timeout: float = 10.0
    late_tolerance: float = 0.010
    max_pending: int = 0
    abort_on_critical: bool = False
    trace_sample: float = 0.0
    slo_config: Path | None = None
    traffic: Path | None = None
    traffic_class: str | None = None
    auth_env: str | None = None
    locustfile: Path = DRIVER_LOCUSTFILE
    extra_locust_args: tuple[str, ...] = ()

    @property
    def processes(self) -> int:
        """Number of load processes (users): 1, or one per worker."""
        return max(1, self.workers)


@dataclass
class Outcome:
    """What ``run_load`` returns: the result, where it was written, how the run ended."""

    result: LoadResult
    path: Path
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Raise ``TargetUnreachable`` unless something answers HTTP at ``url`` (any status)."""
    probe = url.rstrip("/") + "/health/live"
    try:
        httpx.get(probe, timeout=timeout)
    except httpx.ConnectError as exc:
        raise TargetUnreachable(
            explain(
                "the load target refuses connections; no load was sent.",
                target=url,
                probe=f"GET {probe}",
                observed=f"connection refused or failed ({exc})",
                check="is the service running and listening on that host and port?",
            )
        ) from exc
    except httpx.TimeoutException as exc:
        raise TargetUnreachable(
            explain(
                "the load target did not answer in time; no load was sent.",
                target=url,
                probe=f"GET {probe}",
                observed=f"no answer within {timeout:g} s",
            )
        ) from exc
    except httpx.HTTPError as exc:
        raise TargetUnreachable(
            explain(
                "the load target could not be reached; no load was sent.",
                target=url,
                probe=f"GET {probe}",
                observed=f"{type(exc).__name__}: {exc}",
            )
        ) from exc


def open_args(plan: LoadPlan, parts_dir: Path) -> list[str]:
    """The ``--open-*`` options every load process gets."""
    return [
        "--open-rps",
        f"{plan.rps:g}",
        "--open-duration",
        f"{plan.duration:g}",
        "--open-arrival",
        plan.arrival,
        "--open-seed",
        str(plan.seed),
        "--open-workers",
        str(plan.processes),
        "--open-out",
        str(parts_dir),
        "--open-connections",
        str(plan.connections),
        "--open-timeout",
        f"{plan.timeout:g}",
        "--open-late-tolerance",
        f"{plan.late_tolerance:g}",
        "--open-max-pending",
        str(plan.max_pending),
        *(("--open-trace-sample", f"{plan.trace_sample:g}") if plan.trace_sample else ()),
        *(["--open-slo-config", str(plan.slo_config.resolve())] if plan.slo_config else []),
        *(["--open-traffic", str(plan.traffic.resolve())] if plan.traffic else []),
        *(["--open-traffic-class", plan.traffic_class] if plan.traffic_class else []),
        *(["--open-auth-env", plan.auth_env] if plan.auth_env else []),
    ]


def locust_commands(plan: LoadPlan, parts_dir: Path, master_port: int) -> list[list[str]]:
    """argv of every Locust process: ``[master or single, worker, worker, ...]``."""
    locust = [sys.executable, "-m", "locust", "-f", str(plan.locustfile)]
    run_time = int(plan.duration + plan.timeout + END_GRACE)
    common = ["--loglevel", "INFO", *open_args(plan, parts_dir), *plan.extra_locust_args]
    main = [
        *locust,
        "--headless",
        "--host",
        plan.target_url,
        "-u",
        str(plan.processes),
        "-r",
        str(plan.processes),
        "-t",
        f"{run_time}s",
        "--only-summary",
        *common,
    ]
    if plan.workers == 0:
        return [[*main, "OpenModelUser"]]
    master = [
        *main,
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(master_port),
        "--expect-workers",
        str(plan.workers),
        "--expect-workers-max-wait",
        "60",
        "OpenModelUser",
    ]
    workers = [
        [
            *locust,
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(master_port),
            "--host",
            plan.target_url,
            *common,
            "OpenModelUser",
        ]
        for _ in range(plan.workers)
    ]
    return [master, *workers]


def event_loop_backend(connections: int) -> str | None:
    """The libev backend for the load processes: ``select`` while the sockets fit in it.

    epoll's timeout has millisecond resolution, so a greenlet asked to sleep 0.3 ms wakes on
    average ~0.6 ms late, and every send inherits that lag; select takes microseconds (median
    lag ~0.1 ms measured here). select handles at most 1024 descriptors, so with more
    connections the default (epoll) is kept.
    """
    return "select" if connections + 64 <= 1024 else None


def child_environment(plan: LoadPlan) -> dict[str, str]:
    """The environment of the Locust processes (ours, plus the event-loop backend)."""
    env = dict(os.environ)
    backend = event_loop_backend(plan.connections)
    if backend:
        env["GEVENT_BACKEND"] = backend
    return env


def progress_line(parts: Sequence[dict[str, Any]], plan: LoadPlan) -> str:
    """One line: elapsed, rate, errors, p95/p99 so far (client, corrected), time left."""
    if not parts:
        return f"load: starting {plan.processes} Locust process(es) against {plan.target_url} …"
    sent = sum(int(p.get("sent", 0)) for p in parts)
    requests = sum(int(p.get("requests", 0)) for p in parts)
    errors = sum(int(p.get("errors", 0)) for p in parts)
    dropped = sum(int(p.get("dropped", 0)) for p in parts)
    elapsed = max(float(p.get("elapsed", 0.0)) for p in parts)
    hist = LatencyHistogram()
    for part in parts:
        hist.merge(LatencyHistogram.decode(part.get("corrected_total", "")))
    p95, p99 = hist.quantiles([0.95, 0.99])
    rate = sent / elapsed if elapsed > 0 else 0.0
    share = f"{errors / requests:.2%}" if requests else "n/a"
    left = max(0.0, plan.duration - elapsed)

    def ms(value: float | None) -> str:
        return "n/a" if value is None else format_value(value, "s")

    return (
        f"load {elapsed:5.1f}/{plan.duration:g} s  rate {rate:7.1f}/{plan.rps:g} req/s  "
        f"requests {requests}  errors {errors} ({share})  dropped {dropped}  "
        f"p95 {ms(p95)}  p99 {ms(p99)} (client, corrected, {hist.count} samples)  "
        f"{left:.0f} s left"
    )


class _Display:
    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.tty = bool(stream is not None and stream.isatty())
        self.last = 0.0
        self.width = 0

    def due(self) -> bool:
        """Whether a line shown now would be printed (so it is only computed then)."""
        if self.stream is None:
            return False
        return time.monotonic() - self.last >= (TTY_REFRESH if self.tty else PLAIN_REFRESH)

    def show(self, line: str, *, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self.last < (TTY_REFRESH if self.tty else PLAIN_REFRESH):
            return
        self.last = now
        if self.tty:
            pad = max(0, self.width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None and self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()


def _window(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    hist = LatencyHistogram()
    requests = errors = 0
    seconds = 10
    for part in parts:
        window = part.get("window", {})
        hist.merge(LatencyHistogram.decode(window.get("corrected", "")))
        requests += int(window.get("requests", 0))
        errors += int(window.get("errors", 0))
        seconds = int(window.get("seconds", seconds))
    return {"seconds": seconds, "requests": requests, "errors": errors, "corrected": hist.encode()}


def _stop_all(procs: Sequence[ManagedProcess], parts_dir: Path) -> None:
    """Workers first, all at once (their final parts go to the master), then the master."""
    workers = [p for p in procs[1:] if p.running and p.proc is not None]
    for proc in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
    for proc in workers:
        proc.stop(timeout=10)
    if workers:
        # The master writes each worker's final part when its message arrives.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            parts = read_parts(parts_dir)
            if len(parts) >= len(workers) and all(p.get("final") for p in parts):
                break
            time.sleep(0.1)
    procs[0].stop(timeout=10)


@dataclass
class _Watched:
    """How the watched run ended: Ctrl-C, a critical breach (why), notes for the operator."""

    interrupted: bool = False
    aborted: str | None = None
    notes: list[str] = field(default_factory=list)


def _watch(
    procs: Sequence[ManagedProcess],
    parts_dir: Path,
    plan: LoadPlan,
    config: SloConfig,
    screen: _Display,
) -> _Watched:
    """Start the Locust processes and watch their parts until the run ends, is aborted on a
    critical breach, overruns its deadline or is interrupted; every process is stopped after."""
    watched = _Watched()
    deadline = time.monotonic() + plan.duration + plan.timeout + END_GRACE + 30.0
    try:
        for proc in procs:
            proc.start()
        while True:
            parts = read_parts(parts_dir)
            if screen.due():  # decoding the histograms for it costs ~10 ms
                screen.show(progress_line(parts, plan))
            if plan.abort_on_critical and parts and watched.aborted is None:
                watched.aborted = load_verdict.critical_breach(
                    _window(parts), config.alerts.critical
                )
                if watched.aborted:
                    watched.notes.append(f"aborted: {watched.aborted}")
                    _stop_all(procs, parts_dir)
                    break
            if not procs[0].running:
                break
            if time.monotonic() > deadline:
                watched.notes.append("the load processes did not end in time; stopped them")
                _stop_all(procs, parts_dir)
                break
            time.sleep(POLL)
    except KeyboardInterrupt:
        watched.interrupted = True
        _stop_all(procs, parts_dir)
    finally:
        for proc in procs:
            proc.stop(timeout=5)
        screen.done()
    return watched


def run_load(plan: LoadPlan, config: SloConfig, *, display: TextIO | None = None) -> Outcome:
    """Run the load described by ``plan``; write and return the result.

    Raises ``TargetUnreachable`` before any load when the target refuses connections. On
    Ctrl-C (``KeyboardInterrupt``) the run is stopped, the partial result is written and the
    outcome says ``interrupted``.
    """
    out = plan.out_dir
    for stale in (
        out / LOAD_RESULT_FILE,
        out / LOAD_SUMMARY_FILE,
    ):  # never leave an older run's verdict
        stale.unlink(missing_ok=True)
    check_reachable(plan.target_url)
    parts_dir = out / PARTS_DIR
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True, exist_ok=True)
    commands = locust_commands(plan, parts_dir, free_port())
    names = (
        ["locust"]
        if plan.workers == 0
        else ["locust-master", *(f"locust-worker-{i}" for i in range(plan.workers))]
    )
    env = child_environment(plan)
    procs = [
        ManagedProcess(name, argv, out / f"{name}.log", env=env)
        for name, argv in zip(names, commands, strict=True)
    ]
    screen = _Display(display)
    watch = _watch(procs, parts_dir, plan, config, screen)
    interrupted, aborted, notes = watch.interrupted, watch.aborted, watch.notes
    parts = read_parts(parts_dir)
    if not parts and not interrupted:
        raise SuiteFault(
            explain(
                "the load processes reported no figures.",
                target=plan.target_url,
                log=out / f"{names[0]}.log",
                last_lines="\n" + procs[0].log_tail(),
            )
        )
    generator = _generator_figures(parts)
    info = RunInfo(
        target_url=plan.target_url,
        target_rps=plan.rps,
        duration=plan.duration,
        arrival=plan.arrival,
        seed=plan.seed,
        workers=plan.workers,
        connections=plan.connections,
        interrupted=interrupted
        or any(p.get("interrupted") for p in parts)
        or not all(p.get("final") for p in parts),
        aborted=aborted,
        generator=generator,
    )
    result = merge_parts(parts, info, config)
    path = write_result(result, out)
    screen.show(progress_line(parts, plan), force=True)
    screen.done()
    return Outcome(result=result, path=path, interrupted=interrupted, notes=notes)


def _generator_figures(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """CPU and memory of the load processes, as they measured themselves (/proc, getrusage)."""
    cpu = sum(float(p.get("cpu_seconds", 0.0)) for p in parts)
    elapsed = max((float(p.get("elapsed", 0.0)) for p in parts), default=0.0)
    return {
        "processes": len(parts),
        "cpu_seconds": cpu,
        "cpu_cores": cpu / elapsed if elapsed > 0 else None,
        "rss_start_bytes": sum(int(p.get("rss_start", 0)) for p in parts),
        "rss_end_bytes": sum(int(p.get("rss_bytes", 0)) for p in parts),
        "source": "client, getrusage and /proc/self/statm of each load process",
    }
