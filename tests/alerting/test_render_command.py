"""`hypersync-slo render`: writes every artefact byte-stable; refuses bad input before writing anything."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from hypersync_slo.alerting.emf import validate_record
from hypersync_slo.cli import main
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import find_tool
from tests.conftest import DATA

EXPECTED = [
    "alertmanager/alertmanager.yml",
    "grafana/dashboards/hypersync-slo.json",
    "grafana/provisioning/dashboards/hypersync-slo.yaml",
    "grafana/provisioning/datasources/prometheus.yaml",
    "mtail/hypersync-requests.mtail",
    "prometheus/prometheus.yml",
    "prometheus/rules/hypersync-alerts.rules.yml",
    "prometheus/rules/hypersync-alerts.test.yml",
    "prometheus/rules/hypersync-slo.rules.yml",
    "prometheus/rules/hypersync-slo.test.yml",
]


def fresh_kpis(tmp_path: Path) -> Path:
    """tests/data/alerting/kpis.json timed an hour ago (CloudWatch refuses data over 14 days old)."""
    data = json.loads((DATA / "alerting" / "kpis.json").read_text("utf-8"))
    data["timestamp_ms"] = int(time.time() * 1000) - 3_600_000
    path = tmp_path / "kpis.json"
    if not path.exists():
        path.write_text(json.dumps(data), "utf-8")
    return path


def files_under(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``root``."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_render_writes_every_artefact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no options, render writes rules, Alertmanager, dashboard, provisioning and scrape config."""
    assert main(["render", "--out", str(tmp_path / "out")]) == ExitCode.PASS
    assert sorted(files_under(tmp_path / "out")) == EXPECTED
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(EXPECTED)


def test_render_is_byte_stable(tmp_path: Path) -> None:
    """Two renders of the same input are byte-identical."""
    main(["render", "--out", str(tmp_path / "a"), "--kpis", str(fresh_kpis(tmp_path))])
    main(["render", "--out", str(tmp_path / "b"), "--kpis", str(fresh_kpis(tmp_path))])
    assert files_under(tmp_path / "a") == files_under(tmp_path / "b")


def test_rendered_files_pass_the_real_checkers(tmp_path: Path) -> None:
    """promtool check config / test rules (the alerts' and the burn-rate alerts' generated tests)
    and amtool check-config accept the rendered directory."""
    out = tmp_path / "out"
    main(
        [
            "render",
            "--out",
            str(out),
            "--job",
            "hypersync-prod",
            "--runbook-base",
            "https://wiki.example.org/runbooks/hypersync",
        ]
    )
    promtool, amtool = find_tool("promtool"), find_tool("amtool")
    assert promtool is not None
    assert amtool is not None
    for argv in (
        [promtool, "check", "config", str(out / "prometheus/prometheus.yml")],
        [amtool, "check-config", str(out / "alertmanager/alertmanager.yml")],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "hypersync-alerts.test.yml", "hypersync-slo.test.yml"],
        cwd=out / "prometheus/rules",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = (out / "prometheus/rules/hypersync-alerts.rules.yml").read_text("utf-8")
    assert 'job="hypersync-prod"' in rules
    assert "https://wiki.example.org/runbooks/hypersync#hypersynchigherrorrate" in rules


def test_render_with_kpis_writes_valid_emf(tmp_path: Path) -> None:
    """--kpis writes one valid EMF line with the run's KPIs."""
    kpis = fresh_kpis(tmp_path)
    main(["render", "--out", str(tmp_path / "out"), "--kpis", str(kpis)])
    (line,) = (tmp_path / "out/cloudwatch/kpis.emf.jsonl").read_text("utf-8").splitlines()
    record = json.loads(line)
    assert validate_record(record) == []
    assert record["latency_p99"] == 0.21
    assert record["no_data"] == "latency_p999"
    assert record["_aws"]["Timestamp"] == json.loads(kpis.read_text())["timestamp_ms"]


def test_routing_file_and_check_secrets(tmp_path: Path) -> None:
    """A team routing file is used; with --check-secrets and the files present, it renders."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("pagerduty-routing-key", "slack-webhook-url", "smtp-password"):
        (secrets / name).write_text("value\n", "utf-8")
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        (DATA / "alerting" / "routing.yaml").read_text("utf-8").replace("SECRETS", str(secrets))
    )
    out = tmp_path / "out"
    assert (
        main(["render", "--out", str(out), "--routing", str(routing), "--check-secrets"])
        == ExitCode.PASS
    )
    config = yaml.safe_load((out / "alertmanager/alertmanager.yml").read_text("utf-8"))
    assert [r["receiver"] for r in config["route"]["routes"]] == [
        "oncall-pager",
        "team-slack",
        "team-mail",
    ]


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run render expecting exit 7 (bad config) and nothing written; return stderr."""
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), *argv]) == ExitCode.BAD_CONFIG
    assert not out.exists()
    return capsys.readouterr().err


def test_contradictory_thresholds_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warning threshold above the critical one: exit 7, a sentence naming both, nothing written."""
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "objectives: {}\nalerts:\n  critical: {latency_p99: 1s}\n  warning: {latency_p99: 5s}\n"
    )
    err = refused(tmp_path, capsys, "--slo-config", str(slo))
    assert "alerts.warning.latency_p99 (5) must be below alerts.critical.latency_p99 (1)" in err
    assert "a warning fires before the page, not after" in err


def test_unknown_receiver_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A route to an undefined receiver: exit 7, the name and the defined receivers, nothing written."""
    routing = tmp_path / "routing.yaml"
    text = (DATA / "alerting" / "routing.yaml").read_text("utf-8")
    routing.write_text(text.replace("critical: oncall-pager", "critical: opsgenie"))
    err = refused(tmp_path, capsys, "--routing", str(routing))
    assert "routes.critical names an unknown receiver 'opsgenie'." in err
    assert "defined receivers: oncall-pager, team-mail, team-slack" in err


def test_missing_secret_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check-secrets with a secret file absent: exit 7, which receiver and which file, nothing written."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        (DATA / "alerting" / "routing.yaml").read_text("utf-8").replace("SECRETS", str(tmp_path))
    )
    err = refused(tmp_path, capsys, "--routing", str(routing), "--check-secrets")
    assert "missing secret for receiver 'oncall-pager' (pagerduty, alert level critical)." in err
    assert (
        f"expected: a non-empty file at {tmp_path}/pagerduty-routing-key (routing_key_file)" in err
    )


def test_bad_runbook_base_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A runbook base that is not https: exit 7 with an example."""
    err = refused(tmp_path, capsys, "--runbook-base", "wiki/runbooks")
    assert "the runbook base URL must be an absolute https URL" in err


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """render --help lists what it writes, real examples and the exit codes."""
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = capsys.readouterr().out
    assert "hypersync-slo render --out monitoring/" in text
    assert "amtool check-config monitoring/alertmanager/alertmanager.yml" in text
    assert "exit codes:" in text


def test_malformed_kpi_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A KPI file with a non-numeric value: exit 7 naming the file, nothing written."""
    kpis = tmp_path / "kpis.json"
    kpis.write_text('{"kpis": {"latency_p99": "fast"}, "timestamp_ms": 1795750000000}', "utf-8")
    err = refused(tmp_path, capsys, "--kpis", str(kpis))
    assert f"{kpis}: every KPI value must be a number or null" in err
