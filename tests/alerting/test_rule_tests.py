"""Generated promtool unit tests: they pass for any SLO file, and they catch rules that drift."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hypersync_slo.alerting.rule_tests import burn_rule_tests, percentage, rule_tests
from hypersync_slo.alerting.rules import ALERTS_FILE, RuleSet, Timing, build_rules, dump_yaml
from hypersync_slo.config import SloConfig
from hypersync_slo.processes import find_tool

CUSTOM = """
version: 1
service: payments
objectives:
  availability: {objective: ">= 99.5%"}
alerts:
  critical: {down_for: 3m, error_rate: 10%, latency_p99: 2.5s, disk_used: 90%, memory_used: 95%}
  warning: {error_rate: 2.5%, latency_p99: 0.75s, memory_used: 85%, disk_used: 75%}
  info: {events: [deployment, configuration_change, scaling]}
metrics:
  request_duration: http_request_duration_seconds
  build_info: payments_build_info
"""


def run_promtool_tests(
    rules: RuleSet, directory: Path, *, rules_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Write the alert rules (or ``rules_text``) and their generated tests; run promtool test rules."""
    (directory / ALERTS_FILE).write_text(rules_text or rules.render()[ALERTS_FILE], "utf-8")
    (directory / "tests.yml").write_text(dump_yaml(rule_tests(rules)), "utf-8")
    binary = find_tool("promtool")
    assert binary is not None
    return subprocess.run(
        [binary, "test", "rules", "tests.yml"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


#: The packaged SLO file with an instrumentation profile (and the API routes of the service).
PROFILE = CUSTOM.replace(
    "  request_duration: http_request_duration_seconds\n",
    "  profile: PROFILE\n  http: {api_routes: '/api/.*'}\n",
)


@pytest.mark.parametrize(
    ("slo", "job", "timing"),
    [
        (None, "hypersync", None),
        (CUSTOM, "payments-api", None),
        (None, "hypersync", Timing.fast(2, 20)),
        (PROFILE.replace("PROFILE", "prometheus-fastapi-instrumentator"), "shop", None),
        (PROFILE.replace("PROFILE", "opentelemetry-legacy"), "shop", None),
        (PROFILE.replace("PROFILE", "micrometer"), "shop", None),
    ],
    ids=[
        "default",
        "custom-slo-file",
        "fast-timing",
        "instrumentator-5xx-counter",
        "otel-legacy-milliseconds",
        "micrometer",
    ],
)
def test_generated_tests_pass(
    slo: str | None, job: str, timing: Timing | None, tmp_path: Path
) -> None:
    """For the default file, a team's own thresholds and metric names, and test timing, promtool passes."""
    config = SloConfig.default() if slo is None else SloConfig.from_text(slo, source="custom.yaml")
    rules = build_rules(config, job=job, timing=timing)
    result = run_promtool_tests(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_and_level_has_a_firing_and_a_quiet_check() -> None:
    """Each (alert, severity) is expected to fire somewhere, and each alert is expected quiet somewhere."""
    config = SloConfig.from_text(CUSTOM, source="custom.yaml")
    rules = build_rules(config)
    doc = rule_tests(rules)
    fired = {
        (c["alertname"], a["exp_labels"]["severity"])
        for t in doc["tests"]
        for c in t["alert_rule_test"]
        for a in c["exp_alerts"]
    }
    quiet = {
        c["alertname"] for t in doc["tests"] for c in t["alert_rule_test"] if not c["exp_alerts"]
    }
    alerts = {
        (r.alert, r.severity)
        for r in rules.alerts()
        if r.alert.startswith("Hypersync") and "Slo" not in r.alert
    }
    assert alerts <= fired
    assert {a for a, _ in alerts} <= quiet


def test_generated_tests_catch_a_drifted_threshold(tmp_path: Path) -> None:
    """Rules edited by hand after rendering (critical error rate 5 % -> 6 %) fail the generated tests."""
    rules = build_rules(SloConfig.default())
    drifted = rules.render()[ALERTS_FILE].replace(" > 0.05\n", " > 0.06\n")
    assert drifted != rules.render()[ALERTS_FILE]
    result = run_promtool_tests(rules, tmp_path, rules_text=drifted)
    assert result.returncode != 0
    assert "HypersyncHighErrorRate: 5.1% is above critical 5%" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("value", "text"), [(0.06, "6%"), (0.049, "4.9%"), (0.0102, "1.02%"), (0.98899, "98.9%")]
)
def test_percentage_matches_prometheus_humanize_percentage(value: float, text: str) -> None:
    """percentage() formats like Prometheus's humanizePercentage (%.4g of value x 100)."""
    assert percentage(value) == text


def test_burn_rate_tests_cover_every_burn_alert_and_can_fail(tmp_path: Path) -> None:
    """The generated burn-rate tests check every page and ticket alert, firing and quiet, and
    promtool fails them when a burn factor is wrong (not vacuous)."""
    rules = build_rules(SloConfig.default())
    doc = burn_rule_tests(rules)
    checked = {
        (check["alertname"], bool(check["exp_alerts"]))
        for test in doc["tests"]
        for check in test["alert_rule_test"]
    }
    burn_alerts = {r.alert for r in rules.alerts() if "Burn" in r.alert}
    assert {name for name, _ in checked} == burn_alerts
    assert all((name, True) in checked and (name, False) in checked for name in burn_alerts)
    for name, text in rules.render().items():
        # pages that come too late: both page pairs need 24x the budget instead of 14.4x and 6x
        late = text.replace("> (14.4 * 0.001)", "> (24 * 0.001)")
        (tmp_path / name).write_text(late.replace("> (6 * 0.001)", "> (24 * 0.001)"), "utf-8")
    (tmp_path / "burn.yml").write_text(dump_yaml(doc), "utf-8")
    promtool = find_tool("promtool")
    assert promtool is not None
    done = subprocess.run(
        [promtool, "test", "rules", "burn.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "HypersyncSloSuccessRateBurnPage" in done.stdout + done.stderr
