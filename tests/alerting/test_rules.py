"""The generated rules pass promtool: syntax, style, and every alert at and just below its threshold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from hypersync_slo.alerting.dashboards import build_dashboard, dashboard_queries
from hypersync_slo.alerting.rules import (
    ALERTS_FILE,
    SEVERITIES,
    SLO_FILE,
    RecordingRule,
    RuleSet,
    Timing,
    build_rules,
)
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError
from hypersync_slo.processes import find_tool
from hypersync_slo.stack import NodeExporter, ReferenceService
from tests.alerting.promtool_cases import CASES, Case, Expect, promtool_tests, requests, sloth


def write_rules(rules: RuleSet, directory: Path) -> list[str]:
    """Write the rule files into ``directory``; return their names."""
    for name, text in rules.render().items():
        (directory / name).write_text(text, "utf-8")
    return sorted(rules.render())


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run Debian's promtool."""
    binary = find_tool("promtool")
    assert binary is not None
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The rule set of the packaged SLO file."""
    return build_rules(SloConfig.default())


def test_promtool_check_rules_passes(rules: RuleSet, tmp_path: Path) -> None:
    """`promtool check rules` accepts both generated files, without lint findings."""
    names = write_rules(rules, tmp_path)
    result = promtool("check", "rules", "--lint=all", "--lint-fatal", *names, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2


def test_promtool_unit_tests_pass(rules: RuleSet, tmp_path: Path) -> None:
    """`promtool test rules`: each alert fires at its threshold and stays quiet just below it."""
    names = write_rules(rules, tmp_path)
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump(promtool_tests(rules, names), sort_keys=False), "utf-8"
    )
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(rules: RuleSet, tmp_path: Path) -> None:
    """The harness is not vacuous: expecting a page at 4.9 % errors makes promtool fail."""
    names = write_rules(rules, tmp_path)
    wrong = next(c for c in CASES if c.name == "error rate 4.9 % notifies but does not page")
    lying = Case(
        wrong.name,
        wrong.alertname,
        wrong.series,
        wrong.eval_time,
        [*wrong.expect, Expect("critical", {"job": "hypersync"}, "4.9%")],
    )
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump(promtool_tests(rules, names, [lying])), "utf-8"
    )
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "HypersyncHighErrorRate" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case(rules: RuleSet) -> None:
    """Every (alert, severity) fires in some case, and every alert has a case where it is quiet."""
    fired = {(c.alertname, e.severity) for c in CASES for e in c.expect}
    quiet = {c.alertname for c in CASES if not c.expect} | {
        c.alertname for c in CASES for _, e in c.extra_evals if not e
    }
    for rule in rules.alerts():
        assert (rule.alert, rule.severity) in fired, (
            f"no firing case for {rule.alert}/{rule.severity}"
        )
        assert rule.alert in quiet, f"no quiet case for {rule.alert}"


def test_alerts_follow_the_style_guide(rules: RuleSet) -> None:
    """Severity in {critical, warning, info}; summary a sentence; description; https runbook per alert."""
    for rule in rules.alerts():
        data = rule.to_yaml()
        assert data["labels"]["severity"] in SEVERITIES
        assert data["labels"]["service"] == "hypersync"
        annotations = data["annotations"]
        assert annotations["summary"][0].isupper()
        assert annotations["summary"].endswith(".")
        assert annotations["description"]
        assert annotations["runbook_url"].startswith("https://")
        assert annotations["runbook_url"].endswith("#" + rule.alert.lower())


def test_contract_levels_and_burn_rates_are_all_generated(rules: RuleSet) -> None:
    """The alerts of docs/contracts.md §4 and the four workbook burn pairs, at their severities."""
    pairs = {(r.alert, r.severity) for r in rules.alerts()}
    assert pairs >= {
        ("HypersyncDown", "critical"),
        ("HypersyncHighErrorRate", "critical"),
        ("HypersyncHighErrorRate", "warning"),
        ("HypersyncHighLatencyP99", "critical"),
        ("HypersyncHighLatencyP99", "warning"),
        ("HypersyncHostDiskFull", "critical"),
        ("HypersyncHostDiskFull", "warning"),
        ("HypersyncHostMemoryHigh", "warning"),
        ("HypersyncDeployment", "info"),
        ("HypersyncConfigurationChange", "info"),
        ("HypersyncScalingEvent", "info"),
        ("HypersyncSloSuccessRateBurnPage", "critical"),
        ("HypersyncSloSuccessRateBurnTicket", "warning"),
        ("HypersyncSloAvailabilityBurnPage", "critical"),
        ("HypersyncSloAvailabilityBurnTicket", "warning"),
        ("HypersyncSloLatencyP99BurnPage", "critical"),
        ("HypersyncSloLatencyP99BurnTicket", "warning"),
    }
    page = rules.alert("HypersyncSloSuccessRateBurnPage", "critical").expr
    assert "ratio_rate1h" in page
    assert "ratio_rate5m" in page
    assert "14.4 * 0.001" in page
    assert "ratio_rate6h" in page
    assert "ratio_rate30m" in page
    assert "6 * 0.001" in page
    ticket = rules.alert("HypersyncSloSuccessRateBurnTicket", "warning").expr
    assert "ratio_rate1d" in ticket
    assert "ratio_rate2h" in ticket
    assert "3 * 0.001" in ticket
    assert "ratio_rate3d" in ticket
    assert "ratio_rate6h" in ticket
    assert "1 * 0.001" in ticket


def test_thresholds_and_metric_names_come_from_the_slo_file() -> None:
    """Changing the SLO file's thresholds and metric names changes the rules."""
    text = """
version: 1
service: payments
objectives:
  availability: {objective: ">= 99.5%"}
alerts:
  critical: {error_rate: 10%}
  warning: {error_rate: 2%}
  info: {events: [deployment]}
metrics:
  request_duration: http_request_duration_seconds
"""
    config = SloConfig.from_text(text, source="test.yaml")
    rules = build_rules(config, job="payments-api", runbook_base="https://wiki.example.org/rb/")
    crit = rules.alert("HypersyncHighErrorRate", "critical")
    assert crit.expr.endswith("> 0.1")
    assert 'http_request_duration_seconds_count{job="payments-api"' in crit.expr
    assert crit.labels["service"] == "payments"
    assert crit.runbook_url == "https://wiki.example.org/rb#hypersynchigherrorrate"
    assert "0.005" in rules.alert("HypersyncSloAvailabilityBurnPage", "critical").expr
    assert {r.alert for r in rules.alerts()} == {
        "HypersyncHighErrorRate",
        "HypersyncDeployment",
        "HypersyncSloAvailabilityBurnPage",
        "HypersyncSloAvailabilityBurnTicket",
    }


def test_contradictory_thresholds_are_refused() -> None:
    """A warning above its critical is refused when the SLO file is read, naming both values."""
    text = "objectives: {}\nalerts:\n  critical: {error_rate: 1%}\n  warning: {error_rate: 5%}\n"
    with pytest.raises(ConfigError) as info:
        SloConfig.from_text(text, source="bad.yaml")
    assert (
        "alerts.warning.error_rate (0.05) must be below alerts.critical.error_rate (0.01)"
        in str(info.value)
    )


def test_bad_runbook_base_and_job_are_refused() -> None:
    """A runbook base that is not absolute https, or an unusable job name, is a ConfigError."""
    with pytest.raises(ConfigError, match="absolute https URL"):
        build_rules(SloConfig.default(), runbook_base="http://wiki/runbooks")
    with pytest.raises(ConfigError, match="job name"):
        build_rules(SloConfig.default(), job='x"}')


def test_unknown_info_event_is_refused() -> None:
    """An info event the generator does not know is refused with the known list."""
    config = SloConfig.from_text(
        "objectives: {}\nalerts:\n  info: {events: [reboot]}\n", source="t.yaml"
    )
    with pytest.raises(ConfigError, match=r"unknown event 'reboot'; known events: deployment"):
        build_rules(config)


def test_fast_timing_shrinks_windows_and_for() -> None:
    """Timing.fast() gives seconds-long windows and for: durations for the end-to-end test."""
    rules = build_rules(SloConfig.default(), timing=Timing.fast(2, 20))
    crit = rules.alert("HypersyncHighErrorRate", "critical")
    assert crit.for_seconds == 2
    assert "[20s]" in crit.expr
    assert crit.to_yaml()["for"] == "2s"


def test_rendering_is_byte_stable() -> None:
    """The same SLO file renders byte-identical rule files."""
    first = build_rules(SloConfig.default()).render()
    second = build_rules(SloConfig.default()).render()
    assert first == second
    assert set(first) == {ALERTS_FILE, SLO_FILE}


def test_the_documented_promtool_example_passes(rules: RuleSet, tmp_path: Path) -> None:
    """The promtool unit test shown in docs/alerting.md passes against the generated rules."""
    doc = (Path(__file__).parents[2] / "docs" / "alerting.md").read_text("utf-8")
    start = doc.index("rule_files: [hypersync-alerts.rules.yml]")
    example = doc[start : doc.index("```", start)]
    write_rules(rules, tmp_path)
    (tmp_path / "doc-test.yml").write_text(example, "utf-8")
    result = promtool("test", "rules", "doc-test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "or",
    "and",
    "unless",
    "on",
    "offset",
    "absent",
    "group",
    "changes",
    "count",
    "histogram_quantile",
    "vector",
    "avg_over_time",
    "avg",
    "ignoring",
    "group_left",
    "without",
    "bool",
}
SYNTHETIC = {"up", "ALERTS"}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: label matchers, groupings and ranges removed first."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(?:by|on|without|ignoring|group_left)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]|\boffset\s+\w+", " ", text)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", text))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d.*|e\d*", n)}


def exposed(url: str) -> set[str]:
    """Sample names in an exposition (text format)."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    body = response.text
    assert "# TYPE" in body, f"{url}: not an exposition: {body[:200]!r}"
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in body.splitlines()
        if line and not line.startswith("#")
    }


def test_every_metric_in_rules_and_dashboard_is_exposed(
    rules: RuleSet, reference_service: ReferenceService, node_exporter: NodeExporter
) -> None:
    """No silent no-data: each metric a rule or panel selects is exposed by the service or node_exporter, or recorded."""
    available = exposed(f"{reference_service.url}/metrics") | exposed(
        f"http://{node_exporter.address}/metrics"
    )
    recorded = {
        r.record
        for groups in rules.files.values()
        for g in groups
        for r in g.rules
        if isinstance(r, RecordingRule)
    }
    exprs = [r.expr for groups in rules.files.values() for g in groups for r in g.rules]
    exprs += dashboard_queries(build_dashboard(SloConfig.default()))
    used = set().union(*(metric_names(e) for e in exprs))
    assert "http_server_request_duration_seconds_bucket" in used
    assert "node_filesystem_avail_bytes" in used
    missing = sorted(used - available - recorded - SYNTHETIC)
    assert not missing, f"selected but not exposed anywhere: {missing}"


def test_sloth_metadata_recordings_evaluate(rules: RuleSet, tmp_path: Path) -> None:
    """Sloth's metadata recordings, with its labels: at 2 % errors against a 0.1 % budget the
    current and period burn rates are 20 and the period budget left is 1 - 20; the period is
    30 days and the info series names the objective (promtool evaluates them)."""
    names = write_rules(rules, tmp_path)
    labels = sloth("success_rate")
    key = ",".join(f'{k}="{v}"' for k, v in labels.items())
    expected = {"service": "hypersync", **labels}
    tests = {
        "rule_files": names,
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": s, "values": v} for s, v in requests(2000, 100000).items()
                ],
                "promql_expr_test": [
                    {
                        # rounded: 0.02 / 0.001 is 20.000000000000007 in floating point
                        "expr": f"round(slo:{name}{{{key}}}, 0.001)",
                        "eval_time": "60m",
                        "exp_samples": [
                            {
                                "labels": "{" + _labels(expected) + "}",
                                "value": value,
                            }
                        ],
                    }
                    for name, value in (
                        ("current_burn_rate:ratio", 20),
                        ("period_burn_rate:ratio", 20),
                        ("period_error_budget_remaining:ratio", -19),
                        ("time_period:days", 30),
                    )
                ]
                + [
                    {
                        "expr": f"sloth_slo_info{{{key}}}",
                        "eval_time": "60m",
                        "exp_samples": [
                            {
                                "labels": "sloth_slo_info{"
                                + _labels(
                                    {
                                        **expected,
                                        "sloth_mode": "cli-gen-prom",
                                        "sloth_objective": "99.9",
                                        "sloth_spec": "prometheus/v1",
                                        "sloth_version": "hypersync-slo",
                                    }
                                )
                                + "}",
                                "value": 1,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "meta.yml").write_text(yaml.safe_dump(tests, sort_keys=False), "utf-8")
    result = promtool("test", "rules", "meta.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
