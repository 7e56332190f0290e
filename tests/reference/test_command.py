"""The serve-reference command line: help, bad options, a service that cannot start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from hypersync_slo.cli import main
from hypersync_slo.processes import free_port, python_module_argv
from hypersync_slo.reference.faults import BREAKS
from tests.conftest import StartService


def test_help_lists_every_break_and_example(capsys: pytest.CaptureFixture[str]) -> None:
    """--help teaches: examples, every break with its sentence, the exit codes."""
    with pytest.raises(SystemExit) as exited:
        main(["serve-reference", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for name in BREAKS:
        assert name in text
    assert "--fault-dependency-down" in text
    assert "curl -s localhost:8080/health/ready" in text
    assert "exit codes:" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault-latency", "0.5"], "bad fault option: --fault-latency: expected P:SECONDS"),
        (["--fault-stall", "1:2"], "must be shorter than the period"),
        (["--fault-error-ratio", "2"], "--fault-error-ratio: expected a number in [0, 1]"),
        (["--port", "0"], "--port must be 1-65535"),
        (["--queue-limit", "0"], "--queue-limit must be a positive whole number"),
        (["--startup-delay", "-1"], "--startup-delay must be between 0 and 3600 seconds"),
    ],
)
def test_bad_options_exit_2_with_a_reason(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Nonsensical fault options are a usage error (exit 2) that says what is wrong."""
    assert main(["serve-reference", *args]) == 2
    assert message in capsys.readouterr().err


def test_unknown_break_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse refuses a break name that does not exist, listing the valid ones."""
    with pytest.raises(SystemExit) as exited:
        main(["serve-reference", "--break", "everything"])
    assert exited.value.code == 2
    assert "live-checks-dependencies" in capsys.readouterr().err


def test_service_that_cannot_start_says_why(tmp_path: Path) -> None:
    """A data dir that cannot be created: exit 10 and a paragraph naming the address and reason."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    port = free_port()
    done = subprocess.run(
        python_module_argv(
            "hypersync_slo",
            "serve-reference",
            "--port",
            str(port),
            "--data-dir",
            str(blocker / "data"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 10
    assert "hypersync-slo: the reference service could not start." in done.stderr
    assert f"listen: 127.0.0.1:{port}" in done.stderr
    assert "reason: FileExistsError" in done.stderr or "reason: NotADirectoryError" in done.stderr


def test_no_instrumentation_serves_the_api_bare(start_reference_service: StartService) -> None:
    """--no-instrumentation (benchmark only): same API and counters, no trace/ID headers or histogram."""
    service = start_reference_service("--no-instrumentation")
    response = httpx.post(f"{service.url}/v1/receipts", json={"operation": "bare", "payload": {}})
    assert response.status_code == 201
    assert "traceresponse" not in response.headers
    assert "x-request-id" not in response.headers
    metrics = httpx.get(f"{service.url}/metrics").text
    assert "hypersync_receipts_generated_total 1.0" in metrics
    assert "http_server_request_duration_seconds_count" not in metrics
    assert '"message":"request"' not in service.log_path.read_text("utf-8")
