"""The traffic model: route-template names, weights, payloads and business accounting."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hypersync_slo.loadgen.traffic import (
    CREATE_RECEIPT,
    DEFAULT_MIX,
    EVALUATE,
    EXECUTE,
    READ_RECEIPT,
    TrafficModel,
)


def test_names_are_route_templates_and_mix_follows_weights() -> None:
    """10 000 planned requests use only template names, in proportion to the weights."""
    model = TrafficModel(seed=1)
    model.receipts.append("r-1")
    names = Counter(model.next().name for _ in range(10_000))
    assert set(names) <= set(DEFAULT_MIX)
    total = sum(DEFAULT_MIX.values())
    for name, weight in DEFAULT_MIX.items():
        assert abs(names[name] / 10_000 - weight / total) < 0.02, name
    assert all(
        "{" in n or n in ("POST /v1/receipts", "GET /v1/agents", "GET /health/ready") for n in names
    )


def test_same_seed_same_requests() -> None:
    """Two models with the same seed plan identical requests."""
    a, b = TrafficModel(seed="x"), TrafficModel(seed="x")
    assert [a.next() for _ in range(50)] == [b.next() for _ in range(50)]


def test_payloads_are_valid_json_of_the_api() -> None:
    """Bodies are JSON objects with the fields the HyperSync API expects."""
    model = TrafficModel(seed=3)
    execute = model.plan(EXECUTE)
    assert execute.path.startswith("/v1/operators/")
    assert execute.path.endswith("/execute")
    assert set(json.loads(execute.body or b"")) == {"input", "agent_id"}
    evaluate = model.plan(EVALUATE)
    assert set(json.loads(evaluate.body or b"")) == {"subject", "action", "resource"}


def test_settle_counts_business_and_remembers_receipts() -> None:
    """Successes count their business kind; receipt ids are read back later; failures count nothing."""
    model = TrafficModel(seed=0)
    first = model.plan(READ_RECEIPT)
    assert first.name == CREATE_RECEIPT  # nothing to read yet
    assert model.settle(first, 201, b'{"receipt_id": "r-9"}') == ("receipts_generated", "")
    assert model.plan(READ_RECEIPT).path == "/v1/receipts/r-9"
    evaluate = model.plan(EVALUATE)
    assert model.settle(evaluate, 200, b'{"decision": "deny"}') == ("policy_evaluations", "deny")
    assert model.settle(evaluate, 500, b"{}") is None
    execute = model.plan(EXECUTE)
    assert model.settle(execute, 200, b'{"outcome": "success"}') == (
        "operator_executions",
        execute.label,
    )
    assert model.settle(execute, 200, b"not json") is None


def test_bad_mix_is_refused() -> None:
    """A mix naming an unknown request kind is refused."""
    with pytest.raises(ValueError, match="non-negative weights"):
        TrafficModel(mix={"GET /nope": 1})
