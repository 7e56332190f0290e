"""``hypersync-slo check``: the same verdict as the pytest run, as the tool's exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hypersync_slo.cli import main
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.gate.runner import GateRun, suite_dir
from hypersync_slo.stack import ReferenceService
from tests.gate.conftest import Faults
from tests.junit_schema import assert_valid_junit


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hypersync_slo check ARGS`` in ``cwd`` (not the checkout)."""
    return subprocess.run(
        [sys.executable, "-m", "hypersync_slo", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_suite_ships_inside_the_package() -> None:
    """The checks are found in the installed package, whatever the working directory."""
    assert (suite_dir() / "test_health_live.py").is_file()
    assert suite_dir().parent.name == "gate"
    args = GateRun(target_url="http://x", keyword="live").pytest_args(Path("/i.ini"), Path("/r"))
    assert args[:2] == ["--pyargs", "hypersync_slo.gate.suite"]
    assert args[args.index("-m") : args.index("-m") + 2] == ["-m", "not kpi"]


def test_clean_service_exits_0_with_junit(
    gate_service: ReferenceService, faults: Faults, tmp_path: Path
) -> None:
    """The whole gate on the clean service exits 0 from any directory, prints no warning and
    writes a junit-10.xsd JUnit file: one named suite, contract IDs in the case names, figures
    as suite properties."""
    junit = tmp_path / "gate.xml"
    done = check(tmp_path, "--target-url", gate_service.url, "--junit-xml", str(junit))
    assert done.returncode == ExitCode.PASS, done.stdout[-3000:] + done.stderr[-2000:]
    assert "hypersync-slo contract summary" in done.stdout
    assert "Warning" not in done.stdout + done.stderr
    assert " warning" not in done.stdout.splitlines()[-1]
    assert_valid_junit(junit)
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["hypersync-slo contract gate"]
    names = [c.get("name") or "" for c in suites[0].iterfind("testcase")]
    assert "H-03 test_ready_answers_200_or_503" in names
    assert all(re.match(r"[A-Z]-\d\d[ ,]", name) for name in names), names
    props = [p.get("name") or "" for p in suites[0].iterfind("properties/property")]
    assert "H-01.test_live_answers_200_within_timeout.live_ms" in props
    assert suites[0].find("testcase/properties") is None
    assert not (tmp_path / ".pytest_cache").exists()


def test_k_contract_id_selects_exactly_that_contract(
    shared_reference_service: ReferenceService, tmp_path: Path
) -> None:
    """``pytest slo_tests -k H-03`` runs exactly the H-03 check; ``-m "slo(contract='H-03')"``
    selects it by marker."""
    checkout = Path(__file__).resolve().parents[2]
    for selection in (["-k", "H-03"], ["-m", "slo(contract='H-03')"]):
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", str(checkout / "slo_tests"), *selection),
                *("--slo-target-url", shared_reference_service.url, "-p", "no:cacheprovider"),
                *("--rootdir", str(checkout), "-q"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        summary = done.stdout.strip().splitlines()[-1]
        assert re.match(r"1 passed, \d+ deselected in ", summary), (selection, summary)
        assert "H-03      PASS     test_ready_answers_200_or_503" in done.stdout


def test_broken_promise_exits_1(
    gate_service: ReferenceService, faults: Faults, tmp_path: Path
) -> None:
    """A contract break makes check exit 1 and name the failed check."""
    faults(breaks=["ready-500"])
    done = check(tmp_path, "--target-url", gate_service.url, "-k", "test_ready_answers_200_or_503")
    assert done.returncode == ExitCode.FAIL, done.stdout[-3000:]
    assert "H-03 broken: /health/ready answered 500." in done.stdout


def test_unreachable_target_exits_4(closed_port_url: str, tmp_path: Path) -> None:
    """Every check erroring on an unreachable target is exit 4, not 1."""
    done = check(tmp_path, "--target-url", closed_port_url, "-k", "health_live", "--timeout", "1")
    assert done.returncode == ExitCode.TARGET_UNREACHABLE, done.stdout[-3000:]
    assert "cannot connect to" in done.stderr
    assert "no check was run" in done.stderr


def test_nothing_selected_is_usage(
    shared_reference_service: ReferenceService, tmp_path: Path
) -> None:
    """A -k that selects no check is a usage error (exit 2)."""
    done = check(
        tmp_path, "--target-url", shared_reference_service.url, "-k", "no_such_check_anywhere"
    )
    assert done.returncode == ExitCode.USAGE


def test_every_check_skipped_is_no_data(
    shared_reference_service: ReferenceService, tmp_path: Path
) -> None:
    """Log checks without --log-file all skip: nothing was judged, so exit 3, never 0."""
    done = check(tmp_path, "--target-url", shared_reference_service.url, "-k", "test_log_line")
    assert done.returncode == ExitCode.NO_DATA, done.stdout[-3000:] + done.stderr[-2000:]
    assert "nothing was judged: all 2 selected checks were skipped" in done.stdout
    assert "no --slo-log-file" in done.stdout


def test_bad_slo_file_exits_7(
    closed_port_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid SLO file is exit 7 before any request is made (checked before pytest runs)."""
    bad = tmp_path / "slo.yaml"
    bad.write_text("objectives: {latency_p95: {objective: 'soon'}}\n")
    code = main(["check", "--target-url", closed_port_url, "--slo-config", str(bad)])
    assert code == ExitCode.BAD_CONFIG
    assert "objectives.latency_p95" in capsys.readouterr().err


def test_kpi_needs_prometheus(closed_port_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--kpi without --prometheus-url is a usage error (before pytest runs)."""
    assert main(["check", "--target-url", closed_port_url, "--kpi"]) == ExitCode.USAGE
    assert "--kpi needs --prometheus-url" in capsys.readouterr().err
