"""/metrics of the reference service: families, types, labels, buckets, formats, exact counters."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from tests.reference.conftest import Faulty

OPENMETRICS = "application/openmetrics-text;version=1.0.0"
#: family (as the 0.0.4 parser names it) -> (type, label names)
REQUIRED: dict[str, tuple[str, set[str]]] = {
    "process_cpu_seconds": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_max_fds": ("gauge", set()),
    "http_server_request_duration_seconds": (
        "histogram",
        {"http_request_method", "http_route", "http_response_status_code"},
    ),
    "http_server_active_requests": ("gauge", set()),
    "hypersync_active_connections": ("gauge", set()),
    "hypersync_queue_depth": ("gauge", set()),
    "hypersync_operator_executions": ("counter", {"operator", "outcome"}),
    "hypersync_policy_evaluations": ("counter", {"decision"}),
    "hypersync_receipts_generated": ("counter", set()),
    "hypersync_agents_active": ("gauge", set()),
    "hypersync_agent_actions": ("counter", {"action"}),
    "hypersync_compute_seconds": ("counter", {"operator"}),
    "hypersync_storage_used_bytes": ("gauge", set()),
    "hypersync_build_info": ("gauge", {"version", "revision"}),
    "hypersync_config_last_reload_timestamp_seconds": ("gauge", set()),
}


def families(text: str) -> dict[str, Any]:
    """Parsed 0.0.4 families by name."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(f: Faulty, name: str, **labels: str) -> float:
    """The value of one series in a fresh scrape (0.0 when absent)."""
    for family in text_string_to_metric_families(f.client.get("/metrics").text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_required_families_with_types_and_labels(faulty: Faulty) -> None:
    """Every family of docs/contracts.md §2 is there with its type and label names."""
    faulty.client.get("/v1/agents")
    found = families(faulty.client.get("/metrics").text)
    for name, (kind, labels) in REQUIRED.items():
        assert name in found, f"{name} missing"
        assert found[name].type == kind, f"{name}: {found[name].type} != {kind}"
        sample_labels = {k for s in found[name].samples for k in s.labels} - {"le"}
        assert sample_labels == labels, f"{name}: labels {sample_labels}"


def test_text_format_by_default(faulty: Faulty) -> None:
    """No Accept (and */*) gives text 0.0.4 with its Content-Type, no _created, counters in _total."""
    for headers in ({}, {"Accept": "*/*"}):
        response = faulty.client.get("/metrics", headers=headers)
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = response.text
        assert text.endswith("\n")
        assert "_created" not in text
        for line in text.splitlines():
            if line.startswith("# TYPE ") and line.endswith(" counter"):
                assert line.split()[2].endswith("_total"), line


def test_openmetrics_when_asked(faulty: Faulty) -> None:
    """An OpenMetrics Accept gives OM 1.0.0 that the strict parser accepts, ending in # EOF."""
    response = faulty.client.get(
        "/metrics",
        headers={
            "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3"
        },
    )
    assert (
        response.headers["content-type"]
        == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )
    assert response.text.endswith("# EOF\n")
    assert "\n\n" not in response.text
    names = {family.name for family in om_families(response.text)}
    assert {"hypersync_receipts_generated", "http_server_request_duration_seconds"} <= names
    assert "_created" not in response.text


def test_histogram_buckets_include_slo_thresholds(faulty: Faulty) -> None:
    """The buckets are OTel's advisory ones plus four sub-5 ms ones, so 0.1, 0.5, 1, 5 s are exact edges."""
    faulty.client.get("/health/live")
    histogram = families(faulty.client.get("/metrics").text)["http_server_request_duration_seconds"]
    edges = {s.labels["le"] for s in histogram.samples if s.name.endswith("_bucket")}
    assert {"0.1", "0.5", "1.0", "5.0", "+Inf"} <= edges
    assert {"0.00025", "0.0005", "0.001", "0.0025"} <= edges
    assert len(edges) == 19


def test_route_label_is_a_template(faulty: Faulty) -> None:
    """Fifty distinct receipt IDs add one route value, the template; unknown paths are _OTHER."""
    for i in range(50):
        faulty.client.get(f"/v1/receipts/rcpt_{i:024x}")
    faulty.client.get("/no/such/path")
    histogram = families(faulty.client.get("/metrics").text)["http_server_request_duration_seconds"]
    routes = {s.labels["http_route"] for s in histogram.samples}
    assert "/v1/receipts/{receipt_id}" in routes
    assert "_OTHER" in routes
    assert not any("rcpt_" in route for route in routes)


def test_no_duplicate_series(faulty: Faulty) -> None:
    """Every series (name + labels) appears once in the text output."""
    lines = [
        line for line in faulty.client.get("/metrics").text.splitlines() if not line.startswith("#")
    ]
    series = [line.rsplit(" ", 1)[0] for line in lines if line]
    assert len(series) == len(set(series))


def test_build_info_and_reload_timestamp(faulty: Faulty) -> None:
    """hypersync_build_info is 1 with the package version; the reload time is a recent Unix time."""
    found = families(faulty.client.get("/metrics").text)
    (info,) = found["hypersync_build_info"].samples
    assert info.value == 1
    assert info.labels["version"]
    (reload,) = found["hypersync_config_last_reload_timestamp_seconds"].samples
    assert reload.value > 1.7e9


def test_business_counters_count_successes_exactly(faulty: Faulty) -> None:
    """Each counter grows by exactly the successful calls; 4xx and injected 5xx count nothing."""
    c = faulty.client
    before = {
        "exec": sample(
            faulty, "hypersync_operator_executions_total", operator="enrich", outcome="success"
        ),
        "allow": sample(faulty, "hypersync_policy_evaluations_total", decision="allow"),
        "deny": sample(faulty, "hypersync_policy_evaluations_total", decision="deny"),
        "receipts": sample(faulty, "hypersync_receipts_generated_total"),
        "sync": sample(faulty, "hypersync_agent_actions_total", action="sync"),
        "compute": sample(faulty, "hypersync_compute_seconds_total", operator="enrich"),
    }
    for _ in range(7):
        assert c.post("/v1/operators/enrich/execute", json={"input": {"a": 1}}).status_code == 200
    for _ in range(3):
        assert (
            c.post(
                "/v1/policies/access/evaluate",
                json={"subject": "u", "action": "read", "resource": "r"},
            ).status_code
            == 200
        )
    for _ in range(2):
        assert (
            c.post(
                "/v1/policies/access/evaluate",
                json={"subject": "u", "action": "delete", "resource": "r"},
            ).status_code
            == 200
        )
    for _ in range(5):
        assert (
            c.post("/v1/receipts", json={"operation": "sync", "payload": {"n": 1}}).status_code
            == 201
        )
    for _ in range(4):
        assert c.post("/v1/agents/agent-9/actions", json={"action": "sync"}).status_code == 202
    # failures that must not count
    assert c.post("/v1/operators/enrich/execute", content=b"{not json").status_code == 400
    assert c.post("/v1/operators/nope/execute", json={"input": {}}).status_code == 404
    assert c.post("/v1/receipts", json={"payload": {}}).status_code == 400
    assert c.post("/v1/agents/agent-9/actions", json={"action": "dance"}).status_code == 400
    faulty.inject(error_ratio=1.0)
    assert c.post("/v1/receipts", json={"operation": "sync", "payload": {}}).status_code == 500
    assert c.post("/v1/operators/enrich/execute", json={"input": {}}).status_code == 500
    faulty.reset()
    assert (
        sample(faulty, "hypersync_operator_executions_total", operator="enrich", outcome="success")
        == before["exec"] + 7
    )
    assert (
        sample(faulty, "hypersync_policy_evaluations_total", decision="allow")
        == before["allow"] + 3
    )
    assert (
        sample(faulty, "hypersync_policy_evaluations_total", decision="deny") == before["deny"] + 2
    )
    assert sample(faulty, "hypersync_receipts_generated_total") == before["receipts"] + 5
    assert sample(faulty, "hypersync_agent_actions_total", action="sync") == before["sync"] + 4
    assert sample(faulty, "hypersync_compute_seconds_total", operator="enrich") > before["compute"]


def test_histogram_counts_every_request_with_its_status(faulty: Faulty) -> None:
    """The histogram's _count for a route and status grows by the requests sent."""
    name = "http_server_request_duration_seconds_count"
    labels = {
        "http_request_method": "POST",
        "http_route": "/v1/policies/{policy}/evaluate",
        "http_response_status_code": "404",
    }
    before = sample(faulty, name, **labels)
    for _ in range(3):
        assert faulty.client.post("/v1/policies/nope/evaluate", json={}).status_code == 404
    assert sample(faulty, name, **labels) == before + 3


def test_storage_and_agents_gauges_move(faulty: Faulty) -> None:
    """Storage bytes are positive and an agent action makes an agent active."""
    faulty.client.post("/v1/agents/agent-gauge/actions", json={"action": "heartbeat"})
    assert sample(faulty, "hypersync_storage_used_bytes") > 0
    assert sample(faulty, "hypersync_agents_active") >= 1
    assert sample(faulty, "hypersync_active_connections") >= 1
    assert sample(faulty, "http_server_active_requests") == 1  # the scrape itself


@pytest.mark.parametrize("accept", ["text/plain;version=0.0.4", OPENMETRICS])
def test_head_metrics_has_the_content_type(faulty: Faulty, accept: str) -> None:
    """HEAD /metrics negotiates like GET and sends no body."""
    get = faulty.client.get("/metrics", headers={"Accept": accept})
    head = faulty.client.head("/metrics", headers={"Accept": accept})
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""


def test_gzip_when_asked(faulty: Faulty) -> None:
    """Accept-Encoding: gzip gets a gzip body (as Prometheus asks); identity otherwise."""
    raw = httpx.get(f"{faulty.url}/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    with httpx.stream(
        "GET", f"{faulty.url}/metrics", headers={"Accept-Encoding": "gzip"}
    ) as zipped:
        assert zipped.headers["content-encoding"] == "gzip"
        body = gzip.decompress(b"".join(zipped.iter_raw()))
    assert body.startswith(b"# HELP")
    assert b"hypersync_receipts_generated_total" in body


def test_unknown_method_is_labelled_other(faulty: Faulty) -> None:
    """A non-standard method (WebDAV PROPFIND) is 405 and recorded as http_request_method="_OTHER"."""
    assert faulty.client.request("PROPFIND", "/v1/agents").status_code == 405
    labels = {
        "http_request_method": "_OTHER",
        "http_route": "/v1/agents",
        "http_response_status_code": "405",
    }
    assert sample(faulty, "http_server_request_duration_seconds_count", **labels) >= 1


def test_target_info(faulty: Faulty) -> None:
    """target_info carries the OpenTelemetry service name and version."""
    (info,) = families(faulty.client.get("/metrics").text)["target_info"].samples
    assert info.labels["service_name"] == "hypersync-reference"
    assert info.value == 1
