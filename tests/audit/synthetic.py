"""A synthetic request history with known outages, gaps and restarts, backfilled into Prometheus.

A fixture of the audit's tests and of ``bench/bench_audit.py``, not in the wheel (and handy for
trying an audit from a checkout without 30 days of real traffic): ``SyntheticHistory`` produces
per-step request increments from a seeded generator, writes them as cumulative OpenMetrics
counters (``http_server_request_duration_seconds_count`` and ``_bucket`` by status code),
``backfill`` turns the file into TSDB blocks with ``promtool tsdb create-blocks-from
openmetrics``, and ``BackfilledPrometheus`` serves them with a retention long enough to keep
them.

Known facts the generator plants, so a test can compute the expected figures by hand:

* outages: for ``seconds`` from ``start``, ``error_ratio`` of requests answer 500;
* gaps: no samples in ``[start, end)`` (Prometheus down); the counters keep counting meanwhile;
* resets: the counters restart from 0 at these times (a service restart);
* down: in ``[start, end)`` the target is down: ``up`` is 0, no request is served and the
  request counters have no samples (the scrapes fail).

Every history also writes its target's ``up`` series (1, or 0 while down; none in gaps).
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hypersync_slo.errors import SuiteFault, explain
from hypersync_slo.processes import ManagedProcess, find_tool, free_port

METRIC = "http_server_request_duration_seconds"
#: Bucket bounds and the share of successful requests at or below each.
BUCKETS: tuple[tuple[str, float], ...] = (
    ("0.05", 0.80),
    ("0.1", 0.97),
    ("0.5", 0.995),
    ("+Inf", 1.0),
)


@dataclass(frozen=True)
class Outage:
    """``error_ratio`` of requests fail (500) for ``seconds`` from ``start`` (Unix seconds)."""

    start: float
    seconds: float
    error_ratio: float


@dataclass
class Increments:
    """Per-step increments: ``times[i]`` closes the step whose counts are at index ``i``."""

    times: list[float] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    #: Requests (any status) at or below each bucket bound, per step.
    within: dict[str, list[int]] = field(default_factory=dict)
    sampled: list[bool] = field(default_factory=list)
    #: Whether the target answered the scrape at this step (``up`` 1 or 0).
    up: list[bool] = field(default_factory=list)
    scraped: list[bool] = field(default_factory=list)
    reset: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class SyntheticHistory:
    """``days`` of traffic ending at ``end`` (a multiple of ``step``), one sample per ``step``."""

    end: float
    days: float = 31.0
    step: float = 60.0
    outages: tuple[Outage, ...] = ()
    gaps: tuple[tuple[float, float], ...] = ()
    resets: tuple[float, ...] = ()
    down: tuple[tuple[float, float], ...] = ()
    per_step: tuple[int, int] = (1000, 1200)
    one_error: float = 0.2
    two_errors: float = 0.01
    seed: int = 7
    job: str = "hypersync"
    instance: str = "127.0.0.1:8080"
    route: str = "/v1/receipts"

    def increments(self) -> Increments:
        """The per-step increments (deterministic for a seed)."""
        rng = random.Random(self.seed)
        steps = round(self.days * 86400 / self.step)
        inc = Increments(within={le: [] for le, _ in BUCKETS})
        reset_steps = {round((r - self.end) / self.step) for r in self.resets}
        for k in range(steps + 1):
            t = self.end - (steps - k) * self.step
            is_down = any(d0 <= t < d1 for d0, d1 in self.down)
            total = rng.randint(*self.per_step) if k else 0
            if is_down:
                total = 0
            draw = rng.random()
            errors = 2 if draw < self.two_errors else 1 if draw < self.one_error else 0
            for outage in self.outages:
                if outage.start < t <= outage.start + outage.seconds:
                    errors = round(total * outage.error_ratio)
            errors = min(errors, total) if k else 0
            ok = total - errors
            inc.times.append(t)
            inc.total.append(total)
            inc.errors.append(errors)
            for le, share in BUCKETS:
                # Errors answer fast (within the first bucket); successes spread over buckets.
                inc.within[le].append(errors + round(ok * share))
            in_gap = any(g0 <= t < g1 for g0, g1 in self.gaps)
            inc.sampled.append(not in_gap and not is_down)
            inc.scraped.append(not in_gap)
            inc.up.append(not is_down)
            inc.reset.append(round((t - self.end) / self.step) in reset_steps)
        return inc

    def openmetrics(self) -> str:
        """The history as OpenMetrics text (cumulative counters, timestamps in seconds)."""
        return openmetrics_of([self])

    def series_lines(self) -> list[str]:
        """The samples of this history's series (no TYPE line, no EOF)."""
        inc = self.increments()
        lines: list[str] = []
        base = (
            f'job="{self.job}",instance="{self.instance}",http_request_method="POST",'
            f'http_route="{self.route}"'
        )
        ok = [t - e for t, e in zip(inc.total, inc.errors, strict=True)]
        per_status: dict[str, tuple[list[int], dict[str, list[int]]]] = {
            "200": (
                ok,
                {
                    le: [w - e for w, e in zip(inc.within[le], inc.errors, strict=True)]
                    for le, _ in BUCKETS
                },
            ),
            "500": (inc.errors, {le: inc.errors for le, _ in BUCKETS}),
        }
        for status, (counts, buckets) in per_status.items():
            labels = f'{base},http_response_status_code="{status}"'
            for le, _ in BUCKETS:
                lines.extend(_series(f'{METRIC}_bucket{{{labels},le="{le}"}}', buckets[le], inc))
            lines.extend(_series(f"{METRIC}_count{{{labels}}}", counts, inc))
        return lines

    def up_lines(self) -> list[str]:
        """The samples of this history's ``up`` series."""
        inc = self.increments()
        name = f'up{{job="{self.job}",instance="{self.instance}"}}'
        return [
            f"{name} {1 if inc.up[i] else 0} {t:.0f}"
            for i, t in enumerate(inc.times)
            if inc.scraped[i]
        ]


def openmetrics_of(histories: list[SyntheticHistory]) -> str:
    """One OpenMetrics document holding every history's series (e.g. one per route).

    Histories sharing a job and instance share one ``up`` series: the first one's.
    """
    lines = [f"# TYPE {METRIC} histogram"]
    for history in histories:
        lines.extend(history.series_lines())
    lines.append("# TYPE up gauge")
    targets: set[tuple[str, str]] = set()
    for history in histories:
        if (history.job, history.instance) not in targets:
            targets.add((history.job, history.instance))
            lines.extend(history.up_lines())
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _series(name: str, increments: list[int], inc: Increments) -> list[str]:
    out: list[str] = []
    value = 0
    for i, step in enumerate(increments):
        value = step if inc.reset[i] else value + step
        if inc.sampled[i]:
            out.append(f"{name} {value} {inc.times[i]:.0f}")
    return out


def backfill(openmetrics: Path, data_dir: Path, *, timeout: float = 120.0) -> None:
    """Create TSDB blocks in ``data_dir`` from an OpenMetrics file with promtool.

    ``--max-block-duration`` (a hidden promtool flag) makes a few large blocks instead of one
    per 2 hours; that makes backfilling 30 days some 40 times faster.
    """
    promtool = find_tool("promtool")
    assert promtool is not None
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        promtool,
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--max-block-duration=800h",
        "--quiet",
        str(openmetrics),
        str(data_dir),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SuiteFault(
            explain(
                "promtool could not backfill the OpenMetrics file.",
                file=openmetrics,
                exit_code=done.returncode,
                stderr=done.stderr.strip()[-2000:],
            )
        )


@dataclass
class BackfilledPrometheus:
    """A real Prometheus serving a backfilled TSDB (no scrape jobs, long retention)."""

    workdir: Path
    data_dir: Path
    retention: str = "3650d"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackfilledPrometheus:
        """Start Prometheus on ``data_dir`` and wait until it is ready."""
        binary = find_tool("prometheus")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\n", "utf-8")
        self.process = ManagedProcess(
            "prometheus (backfilled)",
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.retention.time={self.retention}",
                "--log.level=warn",
            ],
            self.workdir / "prometheus.log",
        ).start()
        self.process.wait_http(f"{self.url}/-/ready", timeout=60)
        return self

    def stop(self) -> None:
        """Stop Prometheus."""
        if self.process:
            self.process.stop()
