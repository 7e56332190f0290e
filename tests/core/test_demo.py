"""The main job on the embedded default, end to end, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hypersync_slo.runpage import LABELS, outcome_of
from tests.junit_schema import assert_valid_junit

DEMO = [sys.executable, "-m", "hypersync_slo", "demo"]


def stack_processes(out: Path) -> list[str]:
    """Command lines of processes still running from this demo's stack directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(out / "stack") in cmdline:
            found.append(cmdline)
    return found


def test_demo_runs_every_stage_and_writes_every_result(tmp_path: Path) -> None:
    """A short demo runs gate, load, report and history, writes each file, and stops everything."""
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            *DEMO,
            "--duration",
            "6s",
            "--rps",
            "200",
            "--out",
            str(out),
            "--history",
            str(tmp_path / "h.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = json.loads((out / "summary.json").read_text())
    stages = {stage["name"]: stage["exit_code"] for stage in summary["stages"]}
    assert stages["contract gate"] == 0, result.stdout[-3000:]
    assert set(stages) == {"contract gate", "load", "report", "history"}
    for name in (
        "contract/junit.xml",
        "load/load-result.json",
        "report/verdict.json",
        "report/report.html",
        "report/junit.xml",
        "alerts-fired.json",
        "monitoring/prometheus/rules/hypersync-alerts.rules.yml",
        "index.html",
        "index.md",
        "junit.xml",
    ):
        assert (out / name).is_file(), name
    page = (out / "index.html").read_text("utf-8")
    label = LABELS[outcome_of(summary["exit_code"])]
    assert f"<title>hypersync-slo run: {label}</title>" in page
    assert "Alerts that fired during the run" in page  # rewritten after the alerts were listed
    assert_valid_junit(out / "junit.xml")
    verdict = json.loads((out / "report" / "verdict.json").read_text())
    kpis = {k["name"]: k for k in verdict["kpis"]}
    # 200 req/s cannot show the 1000 req/s throughput objective: inconclusive, never a pass.
    assert kpis["throughput_rps"]["verdict"] == "no_data"
    assert all(k["source"] and k["samples"] is not None for k in kpis.values())
    assert summary["exit_code"] == result.returncode == 3
    assert "stopped the embedded default." in result.stdout
    # The page is written once by the job, then updated with the alerts: said once each.
    assert result.stdout.count("  run page: ") == 1, result.stdout[-3000:]
    assert result.stdout.count("run page updated with the alerts that fired") == 1
    assert stack_processes(out) == []


def test_ctrl_c_mid_load_writes_results_and_stops_everything(tmp_path: Path) -> None:
    """Ctrl-C during the load exits 130, writes the summary and the partial load, leaves nothing running."""
    out = tmp_path / "demo"
    proc = subprocess.Popen(
        [*DEMO, "--duration", "60s", "--rps", "100", "--out", str(out), "--no-history"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while not (out / "load").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)  # some load has been sent
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 130, output[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "interrupted"
    load = json.loads((out / "load" / "load-result.json").read_text())
    assert load["requests"] > 0
    assert stack_processes(out) == []
    assert "stopped the embedded default." in output


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--rps", "0"], 2, "the load rate is out of bounds.\n  option: --rps\n  observed: 0 "),
        (["--duration", "2h"], 2, "out of bounds.\n  option: --duration\n  observed: 7200 s"),
    ],
)
def test_demo_refuses_unsafe_bounds(
    argv: list[str], code: int, message: str, tmp_path: Path
) -> None:
    """Rates and durations outside the safety bounds are refused before anything starts."""
    result = subprocess.run(
        [*DEMO, *argv, "--out", str(tmp_path / "o")], capture_output=True, text=True, check=False
    )
    assert result.returncode == code
    assert message in result.stderr
    assert not (tmp_path / "o").exists()
