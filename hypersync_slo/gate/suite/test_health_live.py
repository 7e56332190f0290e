"""docs/contracts.md §1: ``/health/live`` answers 200 quickly and never consults a dependency."""

from __future__ import annotations

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.gate.client import TargetClient, TimedOut
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.health import (
    cacheability_warning,
    failing_required,
    health_json,
    schema_problems,
)

LIVE = "/health/live"
DEPENDENCIES = "/health/dependencies"
LIVE_PROBES = 3


def probe_live(target: TargetClient, config: SloConfig) -> tuple[int | None, float, str]:
    """One liveness probe with the liveness timeout: (status or None on timeout, seconds, text)."""
    result = target.try_request("GET", LIVE, timeout=config.live_timeout, expected="HTTP 200")
    if isinstance(result, TimedOut):
        return None, result.elapsed, f"no answer within {config.live_timeout:g} s"
    return result.status_code, result.elapsed, result.describe()


@pytest.mark.slo(contract="H-01")
def test_live_answers_200_within_timeout(
    target: TargetClient, slo_config: SloConfig, evidence: Evidence
) -> None:
    """GET /health/live answers 200 within the liveness timeout of the SLO file."""
    status, elapsed, described = probe_live(target, slo_config)
    evidence.figure("live_ms", round(elapsed * 1000, 1))
    if status != 200:
        raise violation(
            "H-01",
            "/health/live did not answer 200 in time.",
            url=f"GET {target.url(LIVE)}",
            expected=f"HTTP 200 within {slo_config.live_timeout:g} s (health.live_timeout)",
            observed=described,
        )


@pytest.mark.slo(contract="H-10")
def test_live_body_is_health_json(target: TargetClient) -> None:
    """/health/live answers a health+json object with a pass status."""
    answer = target.get(LIVE)
    body = health_json(answer, "/health/live")
    problems = schema_problems(body)
    if problems or body.get("status") not in ("pass", "warn"):
        raise violation(
            "H-10",
            "the /health/live body breaks the health+json schema.",
            url=f"GET {answer.url}",
            expected='{"status": "pass", ...} following the health+json schema',
            observed="; ".join(problems) or f"status {body.get('status')!r}",
        )


@pytest.mark.slo(contract="H-02")
def test_live_ignores_dependency_outage(
    target: TargetClient, slo_config: SloConfig, request: pytest.FixtureRequest
) -> None:
    """/health/live stays 200 while a required dependency fails (observed or injected)."""
    deps = target.get(DEPENDENCIES)
    failing = failing_required(health_json(deps, "/health/dependencies"))
    if failing:
        _assert_live_stays_up(target, slo_config, f"{', '.join(failing)} reported fail")
        return
    admin = request.getfixturevalue("fault_admin")  # skips without --slo-fault-admin
    with admin.dependency_down("receipt-store"):
        _assert_live_stays_up(target, slo_config, "receipt-store taken down via /admin/faults")


def _assert_live_stays_up(target: TargetClient, config: SloConfig, outage: str) -> None:
    for attempt in range(1, LIVE_PROBES + 1):
        status, _elapsed, described = probe_live(target, config)
        if status != 200:
            raise violation(
                "H-02",
                "/health/live changed while a dependency was down: liveness consults it.",
                url=f"GET {target.url(LIVE)}",
                expected=f"HTTP 200 on every probe during the outage ({LIVE_PROBES} probes)",
                observed=f"probe {attempt}: {described}",
                outage=outage,
                why="a liveness probe that fails on a dependency outage restarts every pod at once",
            )


@pytest.mark.slo(contract="H-08")
def test_live_is_not_cacheable(target: TargetClient, evidence: Evidence) -> None:
    """/health/live carries Cache-Control: no-store (a warning, not a failure, when absent)."""
    warning = cacheability_warning("/health/live", target.get(LIVE))
    if warning:
        evidence.warn(warning)
