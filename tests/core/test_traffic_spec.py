"""The traffic declaration: what it accepts, and refusals (exit 7) that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError, UsageError
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.redaction import registered
from hypersync_slo.traffic_spec import AnswerLabel, AuthSpec, TrafficSpec

LEDGER: dict[str, Any] = {
    "requests": [
        {
            "name": "POST /api/v2/ledger",
            "method": "POST",
            "path": "/api/v2/ledger",
            "params": {"amount": {"int": [1, 100]}},
            "body": {"amount": "{amount}", "memo": "pay {amount}"},
            "weight": 20,
            "expect": [201],
            "counter": {"metric": "ledger_entries_total", "labels": {"kind": "credit"}},
        },
        {
            "name": "GET /api/v2/ledger/{id}",
            "path": "/api/v2/ledger/{id}",
            "params": {"id": {"from": "POST /api/v2/ledger", "json": "id"}},
            "weight": 20,
        },
        {
            "name": "POST /api/v2/ops/{op}:run",
            "method": "post",
            "path": "/api/v2/ops/{op}:run",
            "params": {"op": ["transform", "aggregate"]},
            "headers": {"X-Tenant": "t1"},
            "weight": 60,
            "expect": [202],
        },
    ],
    "auth": {"header": "Authorization", "scheme": "Bearer", "token_env": "HS_TOKEN"},
}


def refusal(data: object) -> str:
    """The message of the ConfigError a declaration is refused with."""
    with pytest.raises(ConfigError) as info:
        TrafficSpec.from_mapping(data)
    assert info.value.exit_code == ExitCode.BAD_CONFIG
    return str(info.value)


def with_request(**changes: Any) -> dict[str, Any]:
    """LEDGER with its first request changed."""
    first = {**LEDGER["requests"][0], **changes}
    return {**LEDGER, "requests": [first, *LEDGER["requests"][1:]]}


def test_a_complete_declaration_loads() -> None:
    """The issue's example loads: methods upper-cased, captures, counters, auth by env var."""
    spec = TrafficSpec.from_mapping(LEDGER)
    assert [r.name for r in spec.requests][2] == "POST /api/v2/ops/{op}:run"
    assert spec.requests[2].method == "POST"
    assert spec.requests[1].expect == (200,)
    assert spec.requests[1].captures == ("POST /api/v2/ledger",)
    assert spec.auth == AuthSpec(token_env="HS_TOKEN")
    assert spec.health_share == pytest.approx(0.03)
    assert spec.probe_request is None  # the only GET captures its id
    assert [r.name for r in spec.counted] == ["POST /api/v2/ledger"]


def test_the_packaged_file_declares_the_hypersync_mix() -> None:
    """The default SLO file declares today's HyperSync mix with its success statuses."""
    spec = SloConfig.default().traffic
    expect = {r.name: r.expect for r in spec.requests}
    assert expect["POST /v1/agents/{agent_id}/actions"] == (202,)
    assert expect["POST /v1/receipts"] == (201,)
    assert sum(r.weight for r in spec.requests) == 97
    assert spec.health_share == pytest.approx(0.03)
    assert spec.probe_request is not None
    assert spec.probe_request.name == "GET /v1/agents"
    labels = spec.request("POST /v1/policies/{policy}/evaluate").counter
    assert labels is not None
    assert labels.labels == {"decision": AnswerLabel("decision")}


def test_an_slo_file_without_traffic_gets_the_packaged_mix() -> None:
    """An SLO file with no traffic section keeps today's behaviour: the HyperSync mix."""
    config = SloConfig.from_text("objectives: {}\n", source="t.yaml")
    assert config.traffic == SloConfig.default().traffic


def test_traffic_file_replaces_the_section(tmp_path: Path) -> None:
    """--traffic FILE: a file with a traffic key (or the bare section) replaces the mix."""
    path = tmp_path / "traffic.yaml"
    path.write_text(yaml.safe_dump({"traffic": LEDGER}), "utf-8")
    config = SloConfig.default().with_traffic(path)
    assert config.traffic.requests[0].name == "POST /api/v2/ledger"
    path.write_text(yaml.safe_dump(LEDGER), "utf-8")
    assert SloConfig.default().with_traffic(path).traffic.auth is not None


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (with_request(bogus=1), "traffic.requests[0].bogus: unknown key"),
        (with_request(path="/x/{nope}"), "traffic.requests[0].path: {nope} has no values"),
        (
            with_request(body={"a": ["{who}"]}),
            "traffic.requests[0].body.a[0]: {who} has no values",
        ),
        (with_request(expect=[700]), "traffic.requests[0].expect: 700 is not an HTTP status"),
        (with_request(expect=[99]), "traffic.requests[0].expect: 99"),
        ({**LEDGER, "requests": [{**LEDGER["requests"][1]}]}, "params.id.from: 'POST /api/v2"),
        (
            {"requests": [{**r, "weight": 0} for r in LEDGER["requests"]]},
            "traffic.requests: the weights add up to 0",
        ),
        ({**LEDGER, "auth": {"token": "s3cret"}}, "traffic.auth.token: never put a token"),
        ({**LEDGER, "probe": "GET /nowhere"}, "traffic.probe: 'GET /nowhere'"),
        ({**LEDGER, "health": {"share": "150%"}}, "traffic.health.share"),
        ({**LEDGER, "extra": 1}, "traffic.extra: unknown key"),
        (with_request(params={"amount": {"int": [5, 1]}}), "params.amount.int: low 5 is above"),
        (with_request(method="BREW"), "traffic.requests[0].method"),
    ],
)
def test_bad_declarations_are_refused_naming_the_key(data: object, key: str) -> None:
    """Each mistake the issue lists is refused with exit 7 and a sentence naming the key."""
    assert key in refusal(data)


def test_a_capture_cycle_is_refused() -> None:
    """Two requests capturing from each other could never start: refused before any traffic."""
    a = {"name": "A", "path": "/a/{x}", "params": {"x": {"from": "B", "json": "id"}}}
    b = {"name": "B", "path": "/b/{y}", "params": {"y": {"from": "A", "json": "id"}}}
    assert "form a cycle" in refusal({"requests": [a, b]})


def test_an_unknown_key_in_the_slo_file_names_the_file_and_key() -> None:
    """A refusal inside an SLO file carries the file name before the key."""
    text = "objectives: {}\ntraffic:\n  requests: [{path: /x, wieght: 3}]\n"
    with pytest.raises(ConfigError, match=r"^t\.yaml: traffic\.requests\[0\]\.wieght"):
        SloConfig.from_text(text, source="t.yaml")


def test_the_token_comes_from_the_named_variable_only() -> None:
    """The auth header is built from the env var; a missing one names the variable, not a value."""
    auth = AuthSpec(token_env="HS_TOKEN")
    assert auth.header_value({"HS_TOKEN": "abcd-1234"}) == "Bearer abcd-1234"
    assert "abcd-1234" in registered()
    assert AuthSpec(token_env="T", scheme="").header_value({"T": "raw"}) == "raw"
    with pytest.raises(UsageError, match=r"\$HS_TOKEN is not set"):
        auth.header_value({})
    with pytest.raises(UsageError, match="HS_TOKEN") as info:
        auth.header_value({"HS_TOKEN": "s3cret-value\n"})
    assert "s3cret-value" not in str(info.value)


def test_auth_env_on_the_command_line_sets_or_overrides_the_variable() -> None:
    """--auth-env VAR keeps the declared header and scheme, or defaults to Authorization: Bearer."""
    spec = TrafficSpec.from_mapping(LEDGER)
    assert spec.with_auth_env("OTHER").auth == AuthSpec(token_env="OTHER")
    bare = SloConfig.default().traffic.with_auth_env("TOK")
    assert bare.auth == AuthSpec(token_env="TOK", header="Authorization", scheme="Bearer")
    with pytest.raises(ConfigError, match="--auth-env"):
        spec.with_auth_env("not a name")


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["{op}", "/x/{op}", "GET", "POST", "from", "json", "int", "values", "A"]),
)
_keys = st.one_of(
    st.sampled_from(
        [
            "requests",
            "auth",
            "health",
            "probe",
            "name",
            "method",
            "path",
            "params",
            "body",
            "headers",
            "weight",
            "expect",
            "counter",
            "metric",
            "labels",
            "values",
            "weights",
            "int",
            "float",
            "uuid",
            "sequence",
            "from",
            "json",
            "default",
            "token_env",
            "header",
            "scheme",
            "share",
            "op",
        ]
    ),
    st.text(max_size=6),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, max_size=5))
def test_any_mapping_loads_or_is_refused_naming_a_key(data: dict[str, Any]) -> None:
    """Property: any mapping either loads or raises ConfigError naming a traffic key; no traceback."""
    message = ""
    try:
        TrafficSpec.from_mapping(data)
    except ConfigError as exc:
        message = str(exc)
    assert not message or message.startswith("traffic"), message


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"path": st.sampled_from(["/a", "/b/{op}", "/c/{id}"])},
            optional={
                "params": st.dictionaries(
                    st.sampled_from(["op", "id"]),
                    st.one_of(
                        st.lists(_scalars, max_size=3),
                        st.fixed_dictionaries({"int": st.lists(_scalars, max_size=3)}),
                        st.fixed_dictionaries({"from": st.sampled_from(["GET /a", "A", "x"])}),
                    ),
                ),
                "weight": _scalars,
                "expect": st.one_of(_scalars, st.lists(_scalars, max_size=3)),
                "name": st.sampled_from(["A", "B", "GET /a"]),
            },
        ),
        max_size=4,
    )
)
def test_near_valid_requests_load_or_name_a_key(requests: list[dict[str, Any]]) -> None:
    """Property: request lists close to valid load or are refused naming a traffic key."""
    try:
        spec = TrafficSpec.from_mapping({"requests": requests})
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("traffic"), message
        return
    assert sum(r.weight for r in spec.requests) > 0


def test_the_documented_example_is_the_tested_one() -> None:
    """docs/load.md's complete example loads and is the declaration the second target's tests use."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "load.md").read_text("utf-8")
    section = text.split("## Declaring your own traffic", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = TrafficSpec.from_mapping(yaml.safe_load(block)["traffic"])
    tested = TrafficSpec.load(root / "tests" / "data" / "traffic" / "ledger.yaml")
    assert documented.requests == tested.requests
    assert documented.auth == tested.auth
    assert documented.health_share == tested.health_share


def test_the_readme_example_loads() -> None:
    """README's "Your API, declared once" example is a valid declaration."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text("utf-8")
    block = text.split("**Your API, declared once**", 1)[1].split("```yaml\n", 1)[1]
    spec = TrafficSpec.from_mapping(yaml.safe_load(block.split("```", 1)[0])["traffic"])
    assert spec.auth == AuthSpec(token_env="HS_TOKEN")
    assert spec.requests[1].captures == ("POST /api/v2/ledger",)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_any_traffic_section_of_an_slo_file_loads_or_names_the_key(data: Any) -> None:
    """Property: through SloConfig, any traffic: value loads or is exit 7 naming traffic."""
    message = ""
    try:
        SloConfig.from_mapping({"objectives": {}, "traffic": data}, source="p.yaml")
    except ConfigError as exc:
        message = str(exc)
    assert not message or "traffic" in message, message
