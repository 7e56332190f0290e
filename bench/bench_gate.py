"""Benchmark: the whole contract gate (no load, no KPI window) against the reference service.

Starts the reference service on loopback, then measures in one run:
  1. ``hypersync-slo check --target-url URL`` as a subprocess, end to end (what CI sees:
     interpreter start, imports, every check, summary);
  2. the same checks in-process (``run_gate``), with each check's duration, to name the slowest.
Budget (issue 3): the whole gate under 10 s wall time on this machine.

    .venv/bin/python bench/bench_gate.py [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hypersync_slo.gate.runner import GateRun, suite_dir
from hypersync_slo.stack import ReferenceService

BUDGET_SECONDS = 10.0


class Durations:
    """pytest plugin object: (nodeid, seconds) of every test's setup+call+teardown."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration


def end_to_end(url: str, workdir: Path) -> float:
    """Wall seconds of one ``hypersync-slo check`` subprocess; fails loudly if the gate fails."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", "check", "--target-url", url],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the gate did not pass (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return seconds


def in_process(url: str, workdir: Path) -> tuple[float, Durations]:
    """Wall seconds of the checks run in this process, and each check's duration."""
    durations = Durations()
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n")
    args = GateRun(target_url=url).pytest_args(ini, workdir)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(args, plugins=[durations])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the gate did not pass in-process (pytest exit {code})")
    return seconds, durations


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end runs (default 3)")
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        work = Path(tmp)
        service = ReferenceService(work / "service").start()
        try:
            walls = [end_to_end(service.url, work) for _ in range(rounds)]
            session, durations = in_process(service.url, work)
        finally:
            service.stop()
    median = statistics.median(walls)
    print(f"suite: {suite_dir()}")
    print(
        f"end to end (hypersync-slo check, subprocess, {rounds} runs): "
        f"median {median:.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s"
    )
    print(f"budget: {BUDGET_SECONDS:g} s -> median/budget = {median / BUDGET_SECONDS:.2f}")
    print(f"in-process checks: {len(durations.seconds)} checks in {session:.2f} s")
    print("slowest checks (setup+call+teardown, client clock):")
    for nodeid, seconds in sorted(durations.seconds.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {seconds * 1000:8.1f} ms  {nodeid.split('::', 1)[-1]}")


if __name__ == "__main__":
    main()
