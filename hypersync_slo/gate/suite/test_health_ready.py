"""docs/contracts.md §1: ``/health/ready`` answers exactly 200 or 503, consistent with its body
and with ``/health/dependencies``."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.exposition import ACCEPT_TEXT, Exposition
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.health import (
    cacheability_warning,
    expected_code,
    failing_required,
    health_json,
    schema_problems,
)
from hypersync_slo.gate.scrape import parse_answer, scrape

READY = "/health/ready"
DEPENDENCIES = "/health/dependencies"
POLL = 0.1
#: H-16: the target's counter of dependency probes (one series per dependency), the burst of
#: concurrent readiness calls and the most probe rounds it may cost.
PROBE_COUNTER = "hypersync_dependency_probes_total"
FAN_OUT_CALLS = 20
FAN_OUT_LIMIT = 5


@pytest.mark.slo(contract="H-03")
def test_ready_answers_200_or_503(target: TargetClient) -> None:
    """GET /health/ready answers exactly 200 or 503 (no 500, no redirect, no 404)."""
    answer = target.get(READY)
    if answer.status_code not in (200, 503):
        raise violation(
            "H-03",
            f"/health/ready answered {answer.status_code}.",
            url=f"GET {answer.url}",
            expected="HTTP 200 (ready) or 503 (not ready), nothing else",
            observed=f"{answer.describe()}: {answer.excerpt()!r}",
        )


@pytest.mark.slo(contract="H-11")
def test_ready_status_code_matches_body(target: TargetClient) -> None:
    """/health/ready: body pass/warn goes with 200, fail with 503, and the body follows the schema."""
    answer = target.get(READY)
    body = health_json(answer, "/health/ready")
    problems = schema_problems(body)
    if problems:
        raise violation(
            "H-11",
            "the /health/ready body breaks the health+json schema.",
            url=f"GET {answer.url}",
            expected="a health+json body",
            observed="; ".join(problems),
        )
    status = str(body.get("status"))
    if answer.status_code != expected_code(status):
        raise violation(
            "H-11",
            "/health/ready's HTTP status disagrees with its body.",
            url=f"GET {answer.url}",
            expected=f"HTTP {expected_code(status)} for body status {status!r}",
            observed=f"HTTP {answer.status_code} with body status {status!r}",
        )


def wait_ready(target: TargetClient, budget: float) -> tuple[Answer, float]:
    """Poll /health/ready until 200 or ``budget`` seconds pass: (last answer, seconds waited)."""
    start = time.monotonic()
    while True:
        answer = target.get(READY)
        waited = time.monotonic() - start
        if answer.status_code == 200 or waited >= budget:
            return answer, waited
        time.sleep(POLL)


@pytest.mark.slo(contract="H-05")
def test_ready_within_timeout(
    target: TargetClient, slo_config: SloConfig, evidence: Evidence
) -> None:
    """/health/ready reaches 200 within the readiness timeout (the deployment can take traffic)."""
    answer, waited = wait_ready(target, slo_config.ready_timeout)
    evidence.figure("ready_wait_ms", round(waited * 1000, 1))
    if answer.status_code != 200:
        try:
            body = answer.json()
            detail = f"body status {body.get('status')!r}, failing checks: " + (
                ", ".join(_failing(body)) or "none named"
            )
        except (ValueError, AttributeError):
            detail = answer.excerpt()
        raise violation(
            "H-05",
            "the target did not become ready.",
            url=f"GET {answer.url}",
            expected=f"HTTP 200 within {slo_config.ready_timeout:g} s (health.ready_timeout)",
            observed=f"HTTP {answer.status_code} after {waited:.1f} s; {detail}",
        )


def _failing(body: dict[str, object]) -> list[str]:
    checks = body.get("checks")
    if not isinstance(checks, dict):
        return []
    out = []
    for key, entries in checks.items():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("status") == "fail":
                out.append(f"{key} ({entry.get('output', 'no output')})")
    return out


@pytest.mark.slo(contract="H-13")
def test_ready_fails_while_a_required_dependency_fails(
    target: TargetClient, slo_config: SloConfig, request: pytest.FixtureRequest
) -> None:
    """/health/ready answers 503 whenever /health/dependencies reports a required fail."""
    failing = failing_required(health_json(target.get(DEPENDENCIES), "/health/dependencies"))
    if failing:
        _assert_not_ready(target, slo_config, f"{', '.join(failing)} reported fail")
        return
    admin = request.getfixturevalue("fault_admin")  # skips without --slo-fault-admin
    with admin.dependency_down("receipt-store"):
        _assert_not_ready(target, slo_config, "receipt-store taken down via /admin/faults")


def _assert_not_ready(target: TargetClient, config: SloConfig, outage: str) -> None:
    deadline = time.monotonic() + config.ready_timeout
    while True:
        answer = target.get(READY)
        if answer.status_code == 503:
            return
        if time.monotonic() >= deadline:
            raise violation(
                "H-13",
                "/health/ready still accepts traffic while a required dependency fails.",
                url=f"GET {answer.url}",
                expected=f"HTTP 503 within {config.ready_timeout:g} s of the outage",
                observed=f"{answer.describe()}: {answer.excerpt()!r}",
                outage=outage,
            )
        time.sleep(POLL)


@pytest.mark.slo(contract="H-08")
def test_ready_is_not_cacheable(target: TargetClient, evidence: Evidence) -> None:
    """/health/ready carries Cache-Control: no-store (a warning, not a failure, when absent)."""
    warning = cacheability_warning("/health/ready", target.get(READY))
    if warning:
        evidence.warn(warning)


def probe_counts(expo: Exposition) -> dict[str, float]:
    """``{dependency: probes}`` from the probe counter (empty when the target has none)."""
    family = expo.family(PROBE_COUNTER)
    if family is None or family.type != "counter":
        return {}
    return {
        s.labels.get("dependency", "(all)"): s.value
        for s in family.samples
        if s.name.endswith("_total") or s.name == family.name
    }


@pytest.mark.slo(contract="H-16")
def test_concurrent_ready_calls_share_dependency_probes(
    target: TargetClient, evidence: Evidence
) -> None:
    """20 concurrent GET /health/ready cost a few dependency probes, not 20 (probe counter)."""
    before = probe_counts(parse_answer(scrape(target, ACCEPT_TEXT)))
    if not before:
        pytest.skip(
            f"the target exposes no {PROBE_COUNTER} counter: the dependency probes that "
            f"{FAN_OUT_CALLS} concurrent readiness calls cause cannot be observed (H-16 not checked)"
        )
    start = time.monotonic()
    with ThreadPoolExecutor(FAN_OUT_CALLS) as pool:
        answers = list(pool.map(lambda _: target.get(READY), range(FAN_OUT_CALLS)))
    burst = time.monotonic() - start
    after_answer = scrape(target, ACCEPT_TEXT)
    after = probe_counts(parse_answer(after_answer))
    deltas = {dep: after.get(dep, value) - value for dep, value in before.items()}
    worst_dep, most = max(deltas.items(), key=lambda item: item[1])
    evidence.figure("probe_rounds", most)
    evidence.figure("burst_ms", round(burst * 1000, 1))
    if most > FAN_OUT_LIMIT:
        codes = sorted({a.status_code for a in answers})
        evidence.warn(
            f"H-16 {FAN_OUT_CALLS} concurrent readiness calls cost {most:g} dependency probes\n"
            f"url: GET {answers[0].url} x {FAN_OUT_CALLS} at once "
            f"(answers: HTTP {', '.join(map(str, codes))}, in {burst * 1000:.0f} ms)\n"
            f"expected: at most {FAN_OUT_LIMIT} probes of each dependency "
            "(cache the result briefly, let concurrent callers share one probe in flight)\n"
            "observed: "
            + ", ".join(f"{dep} +{d:g}" for dep, d in sorted(deltas.items()))
            + f" ({PROBE_COUNTER}, GET {after_answer.url} before and after; worst: {worst_dep})"
        )
