"""The command line: help that teaches, errors as paragraphs with their own exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hypersync_slo.cli import COMMANDS, main
from hypersync_slo.processes import free_port


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names the starting commands and the exit-code table."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "hypersync-slo demo" in out
    assert "exit codes:" in out
    assert "inconclusive" in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a sub-command the help is printed and the exit code is 2 (usage)."""
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out


def test_bad_slo_file_is_a_paragraph_and_exit_7(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo with an impossible SLO file exits 7 before starting anything, with the fix spelled out."""
    bad = tmp_path / "slo.yaml"
    bad.write_text(
        "objectives:\n  latency_p95: {objective: '< 200ms'}\n  latency_p99: {objective: '< 100ms'}\n"
    )
    assert main(["demo", "--slo-config", str(bad), "--out", str(tmp_path / "out")]) == 7
    err = capsys.readouterr().err
    assert err.startswith(f"hypersync-slo: {bad}: objectives.latency_p99")
    assert "p99 can never be smaller than p95" in err
    assert "(exit 7: ConfigError)" in err
    assert not (tmp_path / "out").exists()


def test_out_of_bounds_rate_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A rate beyond the safety bound is refused with exit 2."""
    assert main(["run", "--target-url", "http://127.0.0.1:1", "--rps", "1e9"]) == 2
    err = capsys.readouterr().err
    assert "the load rate is out of bounds.\n  option: --rps\n" in err
    assert "observed: 1e+09 requests/s" in err
    assert "allowed: more than 0 and at most 20000 requests/s per run" in err


def test_run_without_prometheus_must_say_it_skips_the_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """run without --prometheus-url is a usage error unless the report stage is skipped."""
    assert main(["run", "--target-url", "http://127.0.0.1:1"]) == 2
    assert "the report stage needs --prometheus-url" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each sub-command imports, registers under its listed name, and its --help shows exit codes."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hypersync-slo {command}")
    assert "exit codes:" in out


def test_help_imports_no_heavy_modules() -> None:
    """Top-level --help imports no command module, so it never pays for pandas or matplotlib."""
    code = "import sys; from hypersync_slo.cli import build_parser; build_parser([]); print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_check_against_an_unreachable_target_is_one_paragraph(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """check stops before running any check when nothing answers: one paragraph, exit 4."""
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["check", "--target-url", url, "--timeout", "2"]) == 4
    captured = capsys.readouterr()
    assert captured.err.startswith(f"hypersync-slo: cannot connect to {url}/health/live.")
    assert "no check was run" in captured.err
    assert "ERROR" not in captured.out
