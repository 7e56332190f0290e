"""`render --format prometheus-operator`: one PrometheusRule, valid against the operator's CRD,
holding exactly the rules promtool checks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hypersync_slo.alerting.operator import MANIFEST_FILE, parse_labels, prometheus_rule
from hypersync_slo.alerting.rules import build_rules
from hypersync_slo.cli import main
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import find_tool
from tests.conftest import DATA

CRD = DATA / "alerting" / "prometheusrules.crd.yaml"


def crd_schema() -> dict[str, Any]:
    """The openAPIV3Schema of the PrometheusRule CRD's served v1 version."""
    crd = yaml.safe_load(CRD.read_text("utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1" and v["served"]]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def validate(document: dict[str, Any]) -> None:
    """Validate against the CRD's schema, as the API server does (Draft 7 semantics; the schema
    is not checked against the metaschema: one pattern, partial_response_strategy's, is a Go
    regex Python cannot compile, for a field the manifest never writes)."""
    jsonschema.Draft7Validator(crd_schema()).validate(document)


def rendered(tmp_path: Path, *extra: str) -> dict[str, Any]:
    """Run render with --format prometheus-operator and read the manifest back."""
    out = tmp_path / "out"
    code = main(["render", "--out", str(out), "--format", "prometheus-operator", *extra])
    assert code == ExitCode.PASS
    document: dict[str, Any] = yaml.safe_load((out / MANIFEST_FILE).read_text("utf-8"))
    return document


def test_manifest_validates_against_the_crd(tmp_path: Path) -> None:
    """The manifest passes the CRD's schema; kind, group/version, name and namespace are
    Kubernetes-valid; group names are unique (the CRD's list-map key); the labels asked for
    are on it."""
    manifest = rendered(
        tmp_path, "--namespace", "observability", "--operator-label", "release=prom"
    )
    validate(manifest)
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"]["namespace"] == "observability"
    assert manifest["metadata"]["labels"]["release"] == "prom"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", manifest["metadata"]["name"])
    names = [g["name"] for g in manifest["spec"]["groups"]]
    assert len(names) == len(set(names))


def test_schema_check_is_not_vacuous() -> None:
    """The CRD schema refuses a rule without expr and a 'for' that is not a duration."""
    manifest = prometheus_rule(build_rules(SloConfig.default()))
    broken = yaml.safe_load(yaml.safe_dump(manifest))
    del broken["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError, match="'expr' is a required property"):
        validate(broken)
    broken = yaml.safe_load(yaml.safe_dump(manifest))
    broken["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        validate(broken)


def test_manifest_holds_exactly_the_checked_rules(tmp_path: Path) -> None:
    """Its groups are the groups of both rule files, rule for rule; promtool accepts them
    extracted back into a rule file."""
    manifest = rendered(tmp_path)
    rules = build_rules(SloConfig.default())
    expected = [g.to_yaml() for groups in rules.files.values() for g in groups]
    assert manifest["spec"]["groups"] == expected
    promtool = find_tool("promtool")
    assert promtool is not None
    extracted = tmp_path / "extracted.rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": manifest["spec"]["groups"]}), "utf-8")
    done = subprocess.run(
        [promtool, "check", "rules", str(extracted)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_bad_names_and_labels_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A namespace or a label Kubernetes would reject: exit 7 with the rule, nothing written."""
    out = tmp_path / "out"
    code = main(
        ["render", "--out", str(out), "--format", "prometheus-operator", "--namespace", "Mon_itor"]
    )
    assert code == ExitCode.BAD_CONFIG
    assert "--namespace 'Mon_itor' is not a Kubernetes object name." in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ConfigError, match="is not a Kubernetes label"):
        parse_labels(["release"])
    assert parse_labels(["release=prometheus", "example.com/team=slo"]) == {
        "release": "prometheus",
        "example.com/team": "slo",
    }
