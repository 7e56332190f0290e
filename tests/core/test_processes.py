"""Child processes: missing tools name their package; a dying child is reported with its log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hypersync_slo.errors import MissingTool, SuiteFault
from hypersync_slo.processes import ManagedProcess, find_tool, free_port


def test_missing_tool_names_the_debian_package() -> None:
    """A program that is not installed raises MissingTool with the apt-get line to run."""
    with pytest.raises(MissingTool) as info:
        find_tool("definitely-not-installed-tool")
    assert "apt-get install definitely-not-installed-tool" in str(info.value)
    assert find_tool("definitely-not-installed-tool", required=False) is None


def test_child_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    """wait_http on a child that dies says so, with its exit code and last log lines."""
    proc = ManagedProcess(
        "doomed",
        [sys.executable, "-c", "print('cannot bind'); raise SystemExit(3)"],
        tmp_path / "log",
    ).start()
    with pytest.raises(SuiteFault) as info:
        proc.wait_http(f"http://127.0.0.1:{free_port()}/", timeout=10)
    message = str(info.value)
    assert "doomed exited (code 3)" in message
    assert "cannot bind" in message


def test_child_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    """wait_http gives up after its timeout, stops the child and says what it last saw."""
    proc = ManagedProcess(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "log"
    ).start()
    with pytest.raises(SuiteFault, match=r"sleeper did not answer on .* within 0.5 s"):
        proc.wait_http(f"http://127.0.0.1:{free_port()}/", timeout=0.5)
    assert not proc.running
