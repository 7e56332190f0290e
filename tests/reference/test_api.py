"""The HyperSync API of the reference service: answers, bad input, persistence, shutdown."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import StartService
from tests.reference.conftest import Faulty

MIB = 1024 * 1024


def test_operator_execute(faulty: Faulty) -> None:
    """Each operator answers 200 with execution_id, outcome success, output and compute_seconds."""
    for operator in ("transform", "aggregate", "validate", "enrich"):
        response = faulty.client.post(
            f"/v1/operators/{operator}/execute",
            json={"input": {"values": [1, 2, 3]}, "agent_id": "agent-7"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["operator"] == operator
        assert body["outcome"] == "success"
        assert body["execution_id"].startswith("exec_")
        assert isinstance(body["output"], dict)
        assert body["compute_seconds"] >= 0
    aggregate = faulty.client.post(
        "/v1/operators/aggregate/execute", json={"input": {"values": [1, 2, 3]}}
    ).json()
    assert aggregate["output"]["sum"] == 6


def test_policy_evaluate(faulty: Faulty) -> None:
    """Policies decide allow or deny with a reason."""
    allow = faulty.client.post(
        "/v1/policies/access/evaluate",
        json={"subject": "user-1", "action": "read", "resource": "doc/1"},
    ).json()
    assert allow == {"policy": "access", "decision": "allow", "reason": allow["reason"]}
    deny = faulty.client.post(
        "/v1/policies/data-residency/evaluate",
        json={"subject": "u", "action": "export", "resource": "eu/doc"},
    ).json()
    assert deny["decision"] == "deny"
    assert deny["reason"]


def test_receipt_round_trip(faulty: Faulty) -> None:
    """POST /v1/receipts answers 201; GET returns the same receipt with its payload."""
    created = faulty.client.post(
        "/v1/receipts", json={"operation": "sync", "payload": {"k": [1, 2]}}
    )
    assert created.status_code == 201
    receipt = created.json()
    assert re.fullmatch(r"rcpt_[0-9a-f]{24}", receipt["receipt_id"])
    assert receipt["digest"].startswith("sha256:")
    fetched = faulty.client.get(f"/v1/receipts/{receipt['receipt_id']}")
    assert fetched.status_code == 200
    assert fetched.json() == {**receipt, "payload": {"k": [1, 2]}}


def test_agents(faulty: Faulty) -> None:
    """An accepted action answers 202 and the agent is listed first, active, with its time."""
    response = faulty.client.post("/v1/agents/agent-77/actions", json={"action": "deploy"})
    assert response.status_code == 202
    assert response.json()["agent_id"] == "agent-77"
    agents = faulty.client.get("/v1/agents").json()["agents"]
    assert agents[0]["agent_id"] == "agent-77"
    assert agents[0]["status"] == "active"
    assert agents[0]["last_action_at"] == response.json()["accepted_at"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        (
            "POST",
            "/v1/operators/transform/execute",
            {"content": b"{not json"},
            400,
            "malformed_json",
        ),
        ("POST", "/v1/operators/transform/execute", {"content": b""}, 400, "malformed_json"),
        (
            "POST",
            "/v1/operators/transform/execute",
            {"content": b"\xff\xfe"},
            400,
            "malformed_json",
        ),
        ("POST", "/v1/operators/transform/execute", {"json": [1, 2]}, 400, "bad_request"),
        (
            "POST",
            "/v1/operators/transform/execute",
            {"json": {"input": "text"}},
            400,
            "bad_request",
        ),
        ("POST", "/v1/operators/transform/execute", {"json": {"agent_id": 7}}, 400, "bad_request"),
        (
            "POST",
            "/v1/operators/teleport/execute",
            {"json": {"input": {}}},
            404,
            "unknown_operator",
        ),
        ("POST", "/v1/policies/access/evaluate", {"json": {"subject": "u"}}, 400, "bad_request"),
        (
            "POST",
            "/v1/policies/access/evaluate",
            {"json": {"subject": 1, "action": "a", "resource": "r"}},
            400,
            "bad_request",
        ),
        ("POST", "/v1/policies/nope/evaluate", {"json": {}}, 404, "unknown_policy"),
        ("POST", "/v1/receipts", {"json": {"operation": ""}}, 400, "bad_request"),
        ("GET", "/v1/receipts/rcpt_000000000000000000000000", {}, 404, "receipt_not_found"),
        ("POST", "/v1/agents/agent-1/actions", {"json": {"action": "dance"}}, 400, "bad_request"),
        ("POST", "/v1/agents/bad%20id/actions", {"json": {"action": "sync"}}, 400, "bad_request"),
        ("GET", "/v1/receipts", {}, 405, "method_not_allowed"),
        ("DELETE", "/v1/agents", {}, 405, "method_not_allowed"),
        ("GET", "/v2/anything", {}, 404, "not_found"),
    ],
)
def test_bad_input_is_4xx_with_a_json_error(  # noqa: PLR0917 - parametrized
    faulty: Faulty, method: str, path: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    """Malformed or wrong input is a 4xx with {"error": {"code", "message"}}, never a 5xx."""
    response = faulty.client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_oversized_body_declared(faulty: Faulty) -> None:
    """A body over 1 MiB is 413 with a JSON error."""
    response = faulty.client.post("/v1/receipts", content=b"x" * (MIB + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_oversized_body_streamed(faulty: Faulty) -> None:
    """A chunked body without Content-Length is cut off at 1 MiB with 413."""

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * (128 * 1024)

    response = faulty.client.post("/v1/receipts", content=chunks())
    assert response.status_code == 413


def test_body_of_exactly_one_mib_is_taken(faulty: Faulty) -> None:
    """The limit is inclusive: 1 MiB of valid JSON is accepted."""
    padding = "p" * (MIB - 60)
    body = ('{"operation": "big", "payload": {"p": "' + padding + '"}}').encode()
    body += b" " * (MIB - len(body))
    assert len(body) == MIB
    assert faulty.client.post("/v1/receipts", content=body).status_code == 201


def test_locked_store_answers_503_quickly(faulty: Faulty) -> None:
    """A receipt write on a locked store is a 503 JSON error after a short wait, not a stall."""
    with faulty.store_locked():
        response = faulty.client.post("/v1/receipts", json={"operation": "o", "payload": {}})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "receipt_store_unavailable"
        assert response.elapsed.total_seconds() < 1.0
    assert (
        faulty.client.post("/v1/receipts", json={"operation": "o", "payload": {}}).status_code
        == 201
    )


def test_injected_latency_and_errors_hit_only_the_api(faulty: Faulty) -> None:
    """latency/error_ratio faults apply to /v1 requests; health stays fast and 200."""
    faulty.inject(latency=[{"ratio": 1.0, "seconds": 0.3}], error_ratio=1.0)
    response = faulty.client.get("/v1/agents")
    assert response.status_code == 500
    assert response.elapsed.total_seconds() >= 0.3
    assert response.json()["error"]["code"] == "injected_fault"
    live = faulty.client.get("/health/live")
    assert live.status_code == 200
    assert live.elapsed.total_seconds() < 0.3


def test_receipts_persist_across_restart_and_admin_is_off(
    start_reference_service: StartService, tmp_path: Path
) -> None:
    """Admin is 404 by default; SIGTERM drains (ready 503) then stops; receipts survive a restart."""
    workdir = tmp_path / "persist"
    first = start_reference_service("--shutdown-grace", "1.5", workdir=workdir)
    assert httpx.get(f"{first.url}/admin/faults").status_code == 404
    assert httpx.put(f"{first.url}/admin/faults", json={"breaks": ["ready-500"]}).status_code == 404
    receipt = httpx.post(
        f"{first.url}/v1/receipts", json={"operation": "keep", "payload": {"n": 1}}
    ).json()
    assert first.process is not None
    assert first.process.proc is not None
    os.killpg(first.process.proc.pid, signal.SIGTERM)
    # draining: ready says 503 "shutting down" while live and the API still answer
    ready = httpx.get(f"{first.url}/health/ready", timeout=5)
    assert ready.status_code == 503
    assert ready.json()["checks"]["service:initialized"][0]["output"].startswith("shutting down")
    assert httpx.get(f"{first.url}/health/live", timeout=5).status_code == 200
    assert (
        httpx.get(f"{first.url}/v1/receipts/{receipt['receipt_id']}", timeout=5).status_code == 200
    )
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught: exit by signal 15
    assert first.process.proc.wait(timeout=15) in (0, -signal.SIGTERM)
    assert '"message":"service stopped"' in first.log_path.read_text("utf-8")
    second = start_reference_service(workdir=workdir)
    fetched = httpx.get(f"{second.url}/v1/receipts/{receipt['receipt_id']}")
    assert fetched.status_code == 200
    assert fetched.json()["payload"] == {"n": 1}
