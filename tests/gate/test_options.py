"""The plugin's options, settings, markers and header, through a real pytest run (pytester)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hypersync_slo.gate.options import SloSettings, env_name, ini_name
from hypersync_slo.gate.state import gate_state
from tests.junit_schema import assert_valid_junit

pytest_plugins = ["pytester"]


def settings(pytester: pytest.Pytester, *args: str) -> SloSettings:
    """The settings the plugin built for this command line."""
    config = pytester.parseconfigure(*args)
    state = gate_state(config)
    assert state.settings is not None, state.settings_error
    return state.settings


def test_names_of_one_option() -> None:
    """Each option has one CLI flag, ini key and environment variable, derived alike."""
    assert env_name("target-url") == "HYPERSYNC_SLO_TARGET_URL"
    assert ini_name("auth-token-env") == "slo_auth_token_env"


def test_command_line_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--slo-… wins over HYPERSYNC_SLO_…, which wins over the ini file."""
    pytester.makeini("[pytest]\nslo_target_url = http://ini:1\nslo_timeout = 3\nslo_window = 10m\n")
    monkeypatch.setenv("HYPERSYNC_SLO_TARGET_URL", "http://env:2/")
    monkeypatch.setenv("HYPERSYNC_SLO_TIMEOUT", "250ms")
    assert settings(pytester).target_url == "http://env:2"
    built = settings(pytester, "--slo-target-url", "http://cli:3", "--slo-timeout", "7")
    assert built.target_url == "http://cli:3"
    assert built.timeout == 7.0
    assert built.window == 600.0
    monkeypatch.delenv("HYPERSYNC_SLO_TIMEOUT")
    assert settings(pytester).timeout == 3.0


def test_defaults_keep_tls_verification_on(pytester: pytest.Pytester) -> None:
    """Without options: no target, 5 s timeout, TLS verified, 5 m window, no auth header."""
    built = settings(pytester)
    assert built == SloSettings()
    assert built.verify_tls is True
    assert built.headers() == {}


def test_insecure_from_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HYPERSYNC_SLO_INSECURE=1 turns TLS verification off; the header says so."""
    monkeypatch.setenv("HYPERSYNC_SLO_INSECURE", "1")
    built = settings(pytester, "--slo-target-url", "https://x")
    assert built.verify_tls is False
    assert "TLS verification: OFF (--slo-insecure)" in "\n".join(built.describe())


def test_token_is_read_from_the_named_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--slo-auth-token-env VAR: the token comes from $VAR, sent as a bearer token, never shown."""
    monkeypatch.setenv("GATE_TOKEN", "s3cret")
    built = settings(pytester, "--slo-auth-token-env", "GATE_TOKEN")
    assert built.headers() == {"Authorization": "Bearer s3cret"}
    assert "s3cret" not in "\n".join(built.describe())
    custom = settings(
        pytester, "--slo-auth-token-env", "GATE_TOKEN", "--slo-auth-header", "X-Api-Key"
    )
    assert custom.headers() == {"X-Api-Key": "s3cret"}


GATE_TEST = """
import pytest

@pytest.mark.slo(contract="H-01")
def test_probe(slo_settings):
    '''A gate test.'''
    print("target is", slo_settings.target_url)
"""


def test_missing_token_variable_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A named token variable that is unset stops the run with a sentence saying so."""
    pytester.makepyfile(GATE_TEST)
    result = pytester.runpytest_inprocess(
        "--slo-target-url", "http://127.0.0.1:9", "--slo-auth-token-env", "NOPE_NOT_SET"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--slo-auth-token-env names $NOPE_NOT_SET, but it is not set*"])


def test_bad_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A target URL that is not http(s) is refused with expected and observed."""
    pytester.makepyfile(GATE_TEST)
    result = pytester.runpytest_inprocess("--slo-target-url", "ftp://x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--slo-target-url is not an http(s) URL: the scheme is ftp://*"])


def test_gate_test_without_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Collecting a gate test without --slo-target-url stops the run and says how to fix it."""
    pytester.makepyfile(GATE_TEST)
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the contract gate needs a target: pass --slo-target-url URL*"])


def test_unknown_contract_id_is_refused(pytester: pytest.Pytester) -> None:
    """@pytest.mark.slo with an unknown ID is a usage error listing the known IDs."""
    pytester.makepyfile(GATE_TEST.replace("H-01", "H-99"))
    result = pytester.runpytest_inprocess("--slo-target-url", "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*@pytest.mark.slo needs contract='<ID>' with a known ID; got 'H-99'*"]
    )


def test_plain_tests_are_untouched(pytester: pytest.Pytester) -> None:
    """A project's ordinary tests run as before: no header, no summary, no target needed."""
    pytester.makepyfile("def test_plain():\n    '''Plain.'''\n")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    assert "hypersync-slo gate:" not in result.stdout.str()
    assert "contract summary" not in result.stdout.str()


def test_header_names_target_slo_file_and_budgets(pytester: pytest.Pytester) -> None:
    """The report header names target, SLO file, health budgets, thresholds and KPI budgets."""
    pytester.makepyfile(GATE_TEST)
    result = pytester.runpytest_inprocess("--slo-target-url", "http://127.0.0.1:9", "-s")
    result.stdout.fnmatch_lines(
        [
            "hypersync-slo gate:",
            "  target: http://127.0.0.1:9",
            "*SLO file: <default slo.yaml>",
            "*health budgets: live 1 s, ready 2 s",
            "*latency thresholds (must be buckets): 0.1, 0.5, 1, 5 s",
            "*KPI budgets: availability >= 99.9 %*latency_p95 < 100 ms*",
            "*target is http://127.0.0.1:9",
            "*hypersync-slo contract summary*",
            "H-01*PASS*test_probe*",
        ]
    )


def test_bad_slo_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An SLO file that does not validate stops the run with the file's own error."""
    pytester.makepyfile(GATE_TEST)
    bad = pytester.makefile(
        ".yaml", slo="objectives:\n  latency_p95: {objective: '< 100 parsecs'}\n"
    )
    result = pytester.runpytest_inprocess(
        "--slo-target-url", "http://127.0.0.1:9", "--slo-config", str(bad)
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*objectives.latency_p95*"])


def test_figures_go_to_the_gates_junit_at_suite_level(pytester: pytest.Pytester) -> None:
    """Figures recorded through ``evidence`` are suite properties of --slo-junit-xml, and
    pytest's own --junit-xml stays valid junit-10.xsd (no properties inside a test case)."""
    pytester.makepyfile(
        """
import pytest

@pytest.mark.slo(contract="H-01")
def test_probe(evidence):
    '''Records a figure.'''
    evidence.figure("live_ms", 1.5)
"""
    )
    ours, pytests = pytester.path / "gate.xml", pytester.path / "pytest.xml"
    pytester.runpytest_inprocess(
        "--slo-target-url",
        "http://127.0.0.1:9",
        f"--slo-junit-xml={ours}",
        f"--junit-xml={pytests}",
    )
    root = ET.parse(ours).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "hypersync-slo contract gate"
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert props["H-01.test_probe.live_ms"] == "1.5"
    assert [c.get("name") for c in suite.iterfind("testcase")] == ["H-01 test_probe"]
    assert "live_ms: 1.5" in (suite.findtext("testcase/system-out") or "")
    assert_valid_junit(ours)
    assert_valid_junit(pytests)


def test_series_budget_defaults_and_is_validated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--slo-series-budget is 10000 by default, read from the environment, and must be positive."""
    assert settings(pytester).series_budget == 10_000
    monkeypatch.setenv("HYPERSYNC_SLO_SERIES_BUDGET", "2_500")
    assert settings(pytester).series_budget == 2500
    pytester.makepyfile(GATE_TEST)
    result = pytester.runpytest_inprocess(
        "--slo-target-url", "http://127.0.0.1:9", "--slo-series-budget", "lots"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--slo-series-budget must be a positive whole number.*"])
