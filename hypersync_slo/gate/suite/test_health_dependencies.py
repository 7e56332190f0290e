"""docs/contracts.md §1: ``/health/dependencies`` lists every dependency with its own status and
time, aggregates to the worst check, and answers 200 or 503 to match."""

from __future__ import annotations

from typing import Any

import pytest

from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.health import expected_code, health_json, schema_problems, worst

DEPENDENCIES = "/health/dependencies"


def dependencies(target: TargetClient) -> tuple[Answer, dict[str, Any]]:
    """One GET /health/dependencies and its JSON object (H-09 violation when it is not JSON)."""
    answer = target.get(DEPENDENCIES)
    return answer, health_json(answer, "/health/dependencies")


@pytest.mark.slo(contract="H-10")
def test_dependencies_body_follows_schema(target: TargetClient, evidence: Evidence) -> None:
    """/health/dependencies answers a health+json body with at least one check, schema-valid."""
    answer, body = dependencies(target)
    problems = schema_problems(body)
    checks = body.get("checks")
    if not problems and (not isinstance(checks, dict) or not checks):
        problems = ["no 'checks': one entry per external dependency is promised"]
    if problems:
        raise violation(
            "H-10",
            "the /health/dependencies body breaks the health+json schema.",
            url=f"GET {answer.url}",
            expected='{"status": "pass|warn|fail", "checks": {"<name>": [{"status": ..., '
            '"componentType": ..., "time": ...}]}}',
            observed="; ".join(problems[:5])
            + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""),
        )
    evidence.figure("dependency_checks", len(body.get("checks") or {}))


@pytest.mark.slo(contract="H-14")
def test_dependency_checks_carry_time(target: TargetClient) -> None:
    """Every check of /health/dependencies carries its RFC 3339 ``time``."""
    answer, body = dependencies(target)
    missing = [
        f"{key}[{i}]"
        for key, entries in (body.get("checks") or {}).items()
        if isinstance(entries, list)
        for i, entry in enumerate(entries)
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), str)
    ]
    if missing:
        raise violation(
            "H-14",
            "dependency checks without a time.",
            url=f"GET {answer.url}",
            expected="every check object has 'time' (when the reading was taken)",
            observed=f"no 'time' in {', '.join(missing)}",
        )


@pytest.mark.slo(contract="H-12")
def test_dependencies_status_is_worst_check(target: TargetClient) -> None:
    """The top-level status of /health/dependencies is the worst of its checks."""
    answer, body = dependencies(target)
    statuses: list[str] = []
    for entries in (body.get("checks") or {}).values():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("status"), str):
                status = entry["status"]
                # an optional dependency ("required": false) can only degrade to warn
                if status == "fail" and entry.get("required") is False:
                    status = "warn"
                statuses.append(status)
    expected = worst(statuses)
    if body.get("status") != expected:
        raise violation(
            "H-12",
            "the top-level status is not the worst of the checks.",
            url=f"GET {answer.url}",
            expected=f"status {expected!r} (worst of {', '.join(statuses) or 'no checks'})",
            observed=f"status {body.get('status')!r}",
        )


@pytest.mark.slo(contract="H-11")
def test_dependencies_status_code_matches_body(target: TargetClient) -> None:
    """/health/dependencies answers 200 for pass/warn and 503 for fail, with the body in both."""
    answer, body = dependencies(target)
    status = str(body.get("status"))
    if answer.status_code != expected_code(status):
        raise violation(
            "H-11",
            "/health/dependencies's HTTP status disagrees with its body.",
            url=f"GET {answer.url}",
            expected=f"HTTP {expected_code(status)} for body status {status!r}",
            observed=f"HTTP {answer.status_code} with body status {status!r}",
        )
