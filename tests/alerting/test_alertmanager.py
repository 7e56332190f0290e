"""The generated Alertmanager configuration: amtool accepts it and routes each level; bad routing is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypersync_slo.alerting.alertmanager import (
    RoutingSpec,
    alertmanager_config,
    load_routing,
    render_alertmanager,
    routing_from_mapping,
)
from hypersync_slo.errors import ConfigError
from hypersync_slo.processes import find_tool
from tests.conftest import DATA

ROUTING = DATA / "alerting" / "routing.yaml"


def team_routing(tmp_path: Path, *, create_secrets: bool = True) -> RoutingSpec:
    """The test routing file with its secrets under ``tmp_path``."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    if create_secrets:
        for name in ("pagerduty-routing-key", "slack-webhook-url", "smtp-password"):
            (secrets / name).write_text("s3cret\n", "utf-8")
    text = ROUTING.read_text("utf-8").replace("SECRETS", str(secrets))
    path = tmp_path / "routing.yaml"
    path.write_text(text, "utf-8")
    return load_routing(path)


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Debian's amtool."""
    binary = find_tool("amtool")
    assert binary is not None
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("which", ["default", "team"])
def test_amtool_check_config_passes(which: str, tmp_path: Path) -> None:
    """`amtool check-config` accepts the default and a team's routing, with 3 receivers and 2 inhibit rules."""
    spec = load_routing(None) if which == "default" else team_routing(tmp_path)
    path = tmp_path / "alertmanager.yml"
    path.write_text(render_alertmanager(spec), "utf-8")
    result = amtool("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "3 receivers" in result.stdout
    assert "2 inhibit rules" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=HypersyncHighErrorRate"], "oncall-pager"),
        (["severity=warning", "alertname=HypersyncHighErrorRate"], "team-slack"),
        (["severity=info", "alertname=HypersyncDeployment"], "team-mail"),
        (["alertname=SomethingWithoutSeverity"], "team-mail"),
    ],
)
def test_amtool_routes_each_level_to_its_receiver(
    labels: list[str], receiver: str, tmp_path: Path
) -> None:
    """`amtool config routes test --verify.receivers` puts each level on its receiver; unknown goes to mail."""
    path = tmp_path / "alertmanager.yml"
    path.write_text(render_alertmanager(team_routing(tmp_path)), "utf-8")
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        f"--verify.receivers={receiver}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_amtool_verify_can_fail(tmp_path: Path) -> None:
    """The routing check is not vacuous: a critical alert does not reach Slack."""
    path = tmp_path / "alertmanager.yml"
    path.write_text(render_alertmanager(team_routing(tmp_path)), "utf-8")
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        "--verify.receivers=team-slack",
        "severity=critical",
    )
    assert result.returncode != 0


def test_secrets_are_file_references_only(tmp_path: Path) -> None:
    """The rendered configuration names secret files and never contains a secret value."""
    spec = team_routing(tmp_path)
    text = render_alertmanager(spec)
    assert "s3cret" not in text
    config = yaml.safe_load(text)
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["oncall-pager"]["pagerduty_configs"][0]["routing_key_file"].endswith(
        "pagerduty-routing-key"
    )
    assert by_name["team-slack"]["slack_configs"][0]["api_url_file"].endswith("slack-webhook-url")
    assert by_name["team-mail"]["email_configs"][0]["auth_password_file"].endswith("smtp-password")
    for receiver in config["receivers"]:
        for integration in next(v for k, v in receiver.items() if k.endswith("_configs")):
            assert integration["send_resolved"] is True


def test_grouping_and_inhibition() -> None:
    """group_by has alertname; a critical inhibits the warning of the same alertname and job."""
    config = alertmanager_config(load_routing(None))
    assert "alertname" in config["route"]["group_by"]
    first = config["inhibit_rules"][0]
    assert first["source_matchers"] == ['severity="critical"']
    assert first["target_matchers"] == ['severity="warning"']
    assert {"alertname", "job"} <= set(first["equal"])
    assert all("matchers" in r and "match" not in r for r in config["route"]["routes"])


def test_rendering_is_byte_stable(tmp_path: Path) -> None:
    """The same routing renders byte-identical configuration."""
    assert render_alertmanager(team_routing(tmp_path)) == render_alertmanager(
        team_routing(tmp_path)
    )


def base(**changes: Any) -> dict[str, Any]:
    """A valid routing mapping with ``changes`` applied at the top level."""
    data: dict[str, Any] = {
        "routes": {"critical": "pd", "warning": "slack", "info": "mail"},
        "receivers": {
            "pd": {"type": "pagerduty", "routing_key_file": "/run/secrets/pd"},
            "slack": {"type": "slack", "api_url_file": "/run/secrets/slack", "channel": "#a"},
            "mail": {
                "type": "email",
                "to": "a@example.org",
                "from": "b@example.org",
                "smarthost": "mx:25",
            },
        },
    }
    data.update(changes)
    return data


def test_unknown_receiver_is_refused() -> None:
    """A route to a receiver that is not defined is refused, listing the defined ones."""
    data = base(routes={"critical": "opsgenie", "warning": "slack", "info": "mail"})
    with pytest.raises(ConfigError) as info:
        routing_from_mapping(data, source="routing.yaml")
    text = str(info.value)
    assert "routing.yaml: routes.critical names an unknown receiver 'opsgenie'." in text
    assert "defined receivers: mail, pd, slack" in text


def test_unknown_receiver_type_is_refused() -> None:
    """A receiver of a type the generator cannot write is refused, with the known types."""
    data = base()
    data["receivers"]["pd"] = {"type": "opsgenie", "api_key_file": "/x"}
    with pytest.raises(
        ConfigError,
        match=r"unknown receiver type 'opsgenie'\.\nknown types: pagerduty, slack, email",
    ):
        routing_from_mapping(data, source="routing.yaml")


def test_missing_secret_is_refused() -> None:
    """A PagerDuty receiver without its routing-key file is refused, saying what is expected."""
    data = base()
    del data["receivers"]["pd"]["routing_key_file"]
    with pytest.raises(ConfigError) as info:
        routing_from_mapping(data, source="routing.yaml")
    text = str(info.value)
    assert "missing secret for receiver 'pd' (pagerduty)" in text
    assert (
        "expected: routing_key_file: <path of a file holding the Events API v2 routing key>" in text
    )


def test_email_with_login_needs_its_password_file() -> None:
    """An email receiver with auth_username but no auth_password_file is refused."""
    data = base()
    data["receivers"]["mail"]["auth_username"] = "am"
    with pytest.raises(ConfigError, match="missing secret for receiver 'mail' \\(email\\)"):
        routing_from_mapping(data, source="routing.yaml")


def test_inline_secret_is_refused() -> None:
    """A secret written inline is refused, naming the file field to use instead."""
    data = base()
    data["receivers"]["slack"]["api_url"] = "https://hooks.slack.com/services/T/B/x"
    with pytest.raises(ConfigError) as info:
        routing_from_mapping(data, source="routing.yaml")
    assert "puts a secret inline (api_url)" in str(info.value)
    assert "give its path as api_url_file" in str(info.value)


def test_a_level_without_a_route_is_refused() -> None:
    """Every level must be routed."""
    with pytest.raises(ConfigError, match="missing levels: info"):
        routing_from_mapping(base(routes={"critical": "pd", "warning": "slack"}), source="r.yaml")


def test_check_secret_files_refuses_absent_and_empty_files(tmp_path: Path) -> None:
    """--check-secrets: an absent or empty secret file is refused with its path."""
    spec = team_routing(tmp_path, create_secrets=False)
    with pytest.raises(ConfigError) as info:
        spec.check_secret_files()
    assert "missing secret for receiver 'oncall-pager' (pagerduty, alert level critical)" in str(
        info.value
    )
    assert "observed: absent" in str(info.value)
    for name in ("pagerduty-routing-key", "slack-webhook-url"):
        (tmp_path / "secrets" / name).write_text("x", "utf-8")
    (tmp_path / "secrets" / "smtp-password").write_text("", "utf-8")
    with pytest.raises(ConfigError, match="observed: empty"):
        spec.check_secret_files()
