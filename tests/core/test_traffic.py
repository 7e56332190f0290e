"""The traffic model: declared names, weights, payloads, captures, counters and error causes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from hypersync_slo import traffic
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError, UsageError
from hypersync_slo.traffic import TrafficModel, make_model, status_cause
from hypersync_slo.traffic_spec import TrafficSpec

EXECUTE = "POST /v1/operators/{operator}/execute"
EVALUATE = "POST /v1/policies/{policy}/evaluate"
CREATE_RECEIPT = "POST /v1/receipts"
READ_RECEIPT = "GET /v1/receipts/{receipt_id}"
AGENT_ACTION = "POST /v1/agents/{agent_id}/actions"
HEALTH = "GET /health/ready"

LEDGER: dict[str, Any] = {
    "requests": [
        {
            "name": "POST /api/v2/ledger",
            "method": "POST",
            "path": "/api/v2/ledger",
            "params": {
                "amount": {"int": [1, 100]},
                "ref": {"uuid": True},
                "n": {"sequence": 10},
                "kind": {"values": ["credit", "debit"], "weights": [1, 0]},
            },
            "body": {"amount": "{amount}", "memo": 'pay "{ref}" #{n}', "kind": "{kind}"},
            "weight": 1,
            "expect": [201],
            "counter": {
                "metric": "ledger_entries_total",
                "labels": {"kind": "{kind}", "state": {"json": "entry.state"}},
            },
        },
        {
            "name": "GET /api/v2/ledger/{id}",
            "path": "/api/v2/ledger/{id}",
            "params": {"id": {"from": "POST /api/v2/ledger", "json": "id"}},
            "weight": 3,
            "expect": [200],
        },
    ],
    "health": {"share": 0},
}


def test_names_are_declared_and_the_mix_follows_weights_and_health_share() -> None:
    """10 000 planned requests use only declared names, in proportion, health at 3 %."""
    spec = SloConfig.default().traffic
    model = TrafficModel(spec, seed=1)
    model.settle(model.plan(CREATE_RECEIPT), 201, b'{"receipt_id": "r-1"}')
    names = Counter(model.next().name for _ in range(10_000))
    weights = {r.name: r.weight for r in spec.requests} | {HEALTH: 3.0}
    assert set(names) <= set(weights)
    for name, weight in weights.items():
        assert abs(names[name] / 10_000 - weight / 100) < 0.02, name


def test_same_seed_same_requests() -> None:
    """Two models with the same seed plan identical requests."""
    a, b = TrafficModel(seed="x"), TrafficModel(seed="x")
    assert [(p.path, p.body) for p in (a.next() for _ in range(50))] == [
        (p.path, p.body) for p in (b.next() for _ in range(50))
    ]


def test_payloads_are_valid_json_of_the_api() -> None:
    """Bodies are JSON objects with the fields the HyperSync API expects, typed values kept."""
    model = TrafficModel(seed=3)
    execute = model.plan(EXECUTE)
    assert execute.path.startswith("/v1/operators/")
    assert execute.path.endswith("/execute")
    body = json.loads(execute.body or b"")
    assert set(body) == {"input", "agent_id"}
    record = body["input"]["records"][0]
    assert isinstance(record["id"], int)
    assert isinstance(record["value"], float)
    assert isinstance(body["input"]["options"]["strict"], bool)
    evaluate = model.plan(EVALUATE)
    assert set(json.loads(evaluate.body or b"")) == {"subject", "action", "resource"}
    assert execute.headers["Content-Type"] == "application/json"


def test_settle_counts_declared_counters_and_captures_ids() -> None:
    """Successes name their counter series; captured ids are read back; failures count nothing."""
    model = TrafficModel(seed=0)
    first = model.plan(READ_RECEIPT)
    assert first.name == CREATE_RECEIPT  # nothing captured yet: the providing request instead
    assert model.settle(first, 201, b'{"receipt_id": "r-9"}') == ("receipts_generated", "")
    assert model.plan(READ_RECEIPT).path == "/v1/receipts/r-9"
    evaluate = model.plan(EVALUATE)
    assert model.settle(evaluate, 200, b'{"decision": "deny"}') == (
        "policy_evaluations",
        "decision=deny",
    )
    assert model.settle(evaluate, 200, b"{}") is None  # the answer must give the decision
    assert model.settle(evaluate, 500, b'{"decision": "deny"}') is None
    execute = model.plan(EXECUTE)
    operator = execute.path.split("/")[3]
    assert model.settle(execute, 200, b'{"outcome": "failure"}') == (
        "operator_executions",
        f"operator={operator},outcome=failure",
    )
    assert model.settle(execute, 200, b"{}") == (
        "operator_executions",
        f"operator={operator},outcome=success",
    )


def test_a_foreign_api_declaration_is_generated_as_declared() -> None:
    """ints, uuids, sequences, weights, interpolation, captures and nested answer labels."""
    model = TrafficModel(TrafficSpec.from_mapping(LEDGER), seed=5, auth_header=("X-Key", "k"))
    assert model.names == ("POST /api/v2/ledger", "GET /api/v2/ledger/{id}")
    post = model.plan("GET /api/v2/ledger/{id}")
    assert post.name == "POST /api/v2/ledger"
    assert post.headers["X-Key"] == "k"
    body = json.loads(post.body or b"")
    assert 1 <= body["amount"] <= 100
    assert body["kind"] == "credit"
    assert body["memo"].startswith('pay "')
    assert body["memo"].endswith("#10")
    assert len(body["memo"].split('"')[1]) == 36
    assert model.settle(post, 201, b'{"id": "L 1/2", "entry": {"state": "open"}}') == (
        "ledger_entries_total",
        "kind=credit,state=open",
    )
    read = model.plan("GET /api/v2/ledger/{id}")
    assert read.path == "/api/v2/ledger/L%201%2F2"
    assert read.expect == (200,)
    assert json.loads(model.plan("POST /api/v2/ledger").body or b"")["memo"].endswith("#11")


def test_error_causes_say_what_was_expected() -> None:
    """Causes name the status, its meaning, what was declared and the request."""
    assert (
        status_cause("POST /v1/agents/{agent_id}/actions", 200, (202,))
        == "unexpected status 200 (expected 202) on POST /v1/agents/{agent_id}/actions"
    )
    assert (
        status_cause("GET /api/v2/ledger/{id}", 404, (200,))
        == "404 Not Found on GET /api/v2/ledger/{id}"
    )
    assert status_cause("GET /x", 599, (200, 204)) == "599 error on GET /x"
    compiled = TrafficModel(seed=0).plan(EVALUATE).compiled
    assert compiled is not None
    assert compiled.cause(503) is compiled.cause(503)  # built once per status


def test_auth_header_comes_from_the_named_variable() -> None:
    """make_model reads the declared variable; unset, it refuses (exit 2) naming the variable."""
    spec = TrafficSpec.from_mapping({**LEDGER, "auth": {"token_env": "LEDGER_TOKEN"}})
    model = make_model(spec, 1, environ={"LEDGER_TOKEN": "tok-1234"})
    assert model.plan("POST /api/v2/ledger").headers["Authorization"] == "Bearer tok-1234"
    with pytest.raises(UsageError, match="LEDGER_TOKEN"):
        make_model(spec, 1, environ={})


class EchoTraffic:
    """A --traffic-class: one fixed request, built from the declaration like the model."""

    def __init__(self, spec: TrafficSpec, *, seed: object, auth_header: object) -> None:
        """Wrap the declared model."""
        self.model = TrafficModel(spec, seed=str(seed))

    def next(self) -> Any:
        """Always the first declared request."""
        return self.model.plan(self.model.names[0])

    def plan(self, name: str) -> Any:
        """By name, as declared."""
        return self.model.plan(name)

    def settle(self, request: Any, status: int, body: bytes) -> Any:
        """As declared."""
        return self.model.settle(request, status, body)


def test_a_traffic_class_replaces_the_declared_model() -> None:
    """--traffic-class module:Class is built with the declaration; a bad one is exit 7."""
    source = make_model(SloConfig.default().traffic, 0, traffic_class=f"{__name__}:EchoTraffic")
    assert {source.next().name for _ in range(5)} == {EXECUTE}
    with pytest.raises(ConfigError, match="--traffic-class"):
        make_model(SloConfig.default().traffic, 0, traffic_class=f"{__name__}:Nope")
    with pytest.raises(ConfigError, match="module:Class"):
        make_model(SloConfig.default().traffic, 0, traffic_class="no_colon")


ANSWERS = [
    b'{"decision": "allow", "n": 3, "x": [1.5, null, true]}',
    b'{"a": NaN, "b": Infinity, "big": 123456789012345678901234567890}',
    b'\xef\xbb\xbf{"bom": 1}',
    '{"utf16": "\u00e9"}'.encode("utf-16"),
    b'{"dup": 1, "dup": 2}',
    b"  [1, 2]  ",
]


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "json-only"])
def test_answers_are_read_as_json_loads_reads_them(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer reader (orjson first, or not installed) equals json.loads, errors included."""
    if not fast:
        monkeypatch.setattr(traffic, "_orjson_loads", None)
    elif traffic._orjson_loads is None:
        pytest.skip("orjson is not installed (the load extra)")
    for body in ANSWERS:
        got, want = traffic._loads(body), json.loads(body)
        assert json.dumps(got) == json.dumps(want), body
    # Deep nesting: json raises RecursionError, which the reader turns into ValueError (the
    # answer is unreadable, not the load run's end).
    for bad in (b"{bad", b"\xff\xfe\xfa", b"", b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(ValueError, match=r"\w"):
            traffic._loads(bad)
