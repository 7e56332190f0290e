"""Each --break breaks exactly the promise it names: kept without it, visibly broken with it."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.reference.faults import BREAKS
from tests.reference.conftest import Faulty

VALID_TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
Probe = Callable[[Faulty], bool]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def live_ignores_dependencies(f: Faulty) -> bool:
    return f.client.get("/health/live").status_code == 200


def ready_follows_dependencies(f: Faulty) -> bool:
    return f.client.get("/health/ready").status_code == 503


def ready_code_is_200_or_503(f: Faulty) -> bool:
    return f.client.get("/health/ready").status_code in (200, 503)


def no_redirects(f: Faulty) -> bool:
    return all(f.client.get(p).status_code in (200, 503) for p in ("/health/live", "/health/ready"))


def no_store(f: Faulty) -> bool:
    return all(
        f.client.get(p).headers.get("cache-control") == "no-store"
        for p in ("/health/live", "/health/ready")
    )


def health_json(f: Faulty) -> bool:
    response = f.client.get("/health/ready")
    return (
        response.headers["content-type"] == "application/health+json"
        and _json(response.text) is not None
    )


def dependencies_schema(f: Faulty) -> bool:
    body = f.client.get("/health/dependencies").json()
    return body.get("status") in ("pass", "warn", "fail") and all(
        isinstance(v, list) and "time" in v[0] for v in body.get("checks", {}).values()
    )


def dependencies_aggregate(f: Faulty) -> bool:
    response = f.client.get("/health/dependencies")
    body = response.json()
    statuses = [v[0]["status"] for v in body["checks"].values()]
    worst = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return body["status"] == worst and response.status_code == (503 if worst == "fail" else 200)


def head_like_get(f: Faulty) -> bool:
    return (
        f.client.head("/health/live").status_code == 200
        and f.client.head("/metrics").status_code == 200
    )


def query_params_ignored(f: Faulty) -> bool:
    return f.client.get("/health/ready", params={"verbose": "1"}).status_code == 200


def health_discloses_nothing(f: Faulty) -> bool:
    text = f.client.get("/health/dependencies").text + f.client.get("/health/ready").text
    return not any(marker in text for marker in ("://", "password", "Traceback", "10.20.30.40"))


def _probes(f: Faulty) -> float:
    for line in f.client.get("/metrics").text.splitlines():
        if line.startswith('hypersync_dependency_probes_total{dependency="receipt-store"}'):
            return float(line.split()[-1])
    raise AssertionError("hypersync_dependency_probes_total not exposed")


def ready_probes_shared(f: Faulty) -> bool:
    before = _probes(f)
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda _: f.client.get("/health/ready"), range(12)))
    return _probes(f) - before <= 3


def metrics_content_type(f: Faulty) -> bool:
    return (
        f.client.get("/metrics")
        .headers.get("content-type", "")
        .startswith("text/plain; version=0.0.4")
    )


def no_duplicate_series(f: Faulty) -> bool:
    lines = [
        line
        for line in f.client.get("/metrics").text.splitlines()
        if line and not line.startswith("#")
    ]
    series = [line.rsplit(" ", 1)[0] for line in lines]
    return len(series) == len(set(series))


def queue_depth_present(f: Faulty) -> bool:
    families = {m.name for m in text_string_to_metric_families(f.client.get("/metrics").text)}
    return "hypersync_queue_depth" in families


def threshold_buckets(f: Faulty) -> bool:
    text = f.client.get("/metrics").text
    return all(
        f'http_server_request_duration_seconds_bucket{{http_request_method="GET",http_response_status_code="200",'
        f'http_route="/health/ready",le="{le}"}}' in text
        for le in ("0.1", "0.5", "1.0", "5.0")
    )


def counters_end_in_total(f: Faulty) -> bool:
    return "# TYPE hypersync_receipts_generated_total counter" in f.client.get("/metrics").text


def openmetrics_when_asked(f: Faulty) -> bool:
    response = f.client.get("/metrics", headers={"Accept": OPENMETRICS})
    return response.headers["content-type"].startswith(
        "application/openmetrics-text; version=1.0.0"
    )


def _counter(f: Faulty, name: str) -> float:
    for line in f.client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


def counters_monotonic(f: Faulty) -> bool:
    values = [_counter(f, "hypersync_receipts_generated_total") for _ in range(4)]
    return all(b >= a for a, b in itertools.pairwise(values))


def counters_count(f: Faulty) -> bool:
    before = _counter(f, "hypersync_receipts_generated_total")
    assert (
        f.client.post("/v1/receipts", json={"operation": "probe", "payload": {}}).status_code == 201
    )
    return _counter(f, "hypersync_receipts_generated_total") == before + 1


def route_is_template(f: Faulty) -> bool:
    receipt_id = str(uuid.uuid4())
    assert f.client.get(f"/v1/receipts/{receipt_id}").status_code == 404
    return receipt_id not in f.client.get("/metrics").text


def has_traceresponse(f: Faulty) -> bool:
    return "traceresponse" in f.client.get("/v1/agents").headers


def joins_trace(f: Faulty) -> bool:
    value = f.client.get("/v1/agents", headers={"traceparent": VALID_TP}).headers.get(
        "traceresponse", ""
    )
    return value.split("-")[1:2] == ["4bf92f3577b34da6a3ce929d0e0e4736"]


def invalid_traceparent_ok(f: Faulty) -> bool:
    return f.client.get("/v1/agents", headers={"traceparent": "00-zzz-yyy-01"}).status_code == 200


def request_id_echoed(f: Faulty) -> bool:
    return (
        f.client.get("/v1/agents", headers={"X-Request-ID": "req-abc-123"}).headers["x-request-id"]
        == "req-abc-123"
    )


def unsafe_request_id_replaced(f: Faulty) -> bool:
    unsafe = "has space " + "x" * 140
    return (
        f.client.get("/v1/agents", headers={"X-Request-ID": unsafe}).headers["x-request-id"]
        != unsafe
    )


def logs_carry_real_ids(f: Faulty) -> bool:
    request_id = uuid.uuid4().hex
    f.client.get("/v1/agents", headers={"X-Request-ID": request_id})
    lines = f.log_lines_for(request_id)
    assert lines, "no log line for the request"
    return all(len(line["trace_id"]) == 32 and len(line["span_id"]) == 16 for line in lines)


def histogram_counts_errors(f: Faulty) -> bool:
    def failed() -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(f.client.get("/metrics").text)
            for sample in family.samples
            if sample.name == "http_server_request_duration_seconds_count"
            and sample.labels.get("http_response_status_code") == "500"
        )

    before = failed()
    assert f.client.get("/v1/agents").status_code == 500
    return failed() == before + 1


DOWN = {"dependencies_down": ["receipt-store"]}
#: break -> (faults set with it and without it, probe saying whether the promise is kept)
CASES: dict[str, tuple[dict[str, Any], Probe]] = {
    "live-checks-dependencies": (DOWN, live_ignores_dependencies),
    "ready-ignores-dependencies": (DOWN, ready_follows_dependencies),
    "ready-500": ({}, ready_code_is_200_or_503),
    "health-redirect": ({}, no_redirects),
    "no-cache-control": ({}, no_store),
    "health-plain-text": ({}, health_json),
    "dependencies-bad-schema": ({}, dependencies_schema),
    "dependencies-wrong-aggregate": ({}, dependencies_aggregate),
    "head-405": ({}, head_like_get),
    "query-param-500": ({}, query_params_ignored),
    "health-leaks-details": ({}, health_discloses_nothing),
    "probe-fan-out": ({}, ready_probes_shared),
    "metrics-no-content-type": ({}, metrics_content_type),
    "metrics-duplicate-series": ({}, no_duplicate_series),
    "metrics-missing-family": ({}, queue_depth_present),
    "metrics-bad-buckets": ({}, threshold_buckets),
    "metrics-counter-no-total": ({}, counters_end_in_total),
    "metrics-ignore-accept": ({}, openmetrics_when_asked),
    "metrics-counter-decrease": ({}, counters_monotonic),
    "route-label-raw-path": ({}, route_is_template),
    "business-counters-frozen": ({}, counters_count),
    "no-traceresponse": ({}, has_traceresponse),
    "traceresponse-new-trace": ({}, joins_trace),
    "bad-traceparent-400": ({}, invalid_traceparent_ok),
    "request-id-not-echoed": ({}, request_id_echoed),
    "request-id-unsafe-echo": ({}, unsafe_request_id_replaced),
    "log-zero-ids": ({}, logs_carry_real_ids),
    "histogram-skips-errors": ({"error_ratio": 1.0}, histogram_counts_errors),
}


def test_every_break_has_a_case() -> None:
    """The table below covers every break the service offers."""
    assert set(CASES) == set(BREAKS)


@pytest.mark.parametrize("name", list(CASES))
def test_break_breaks_its_promise(faulty: Faulty, name: str) -> None:
    """The promise holds on the clean service and is broken once the break is switched on."""
    extra, kept = CASES[name]
    faulty.client.get("/health/ready")  # at least one observation in every family we look at
    faulty.inject(**extra)
    assert kept(faulty), f"promise already broken before --break {name}"
    faulty.inject(**extra, breaks=[name])
    assert not kept(faulty), f"--break {name} did not break its promise"
    faulty.inject(**extra)
    assert kept(faulty), f"promise not restored after lifting --break {name}"


def test_break_changes_only_its_promise(faulty: Faulty) -> None:
    """With one break on, the other promises still hold (each break is independent)."""
    faulty.breaks("metrics-missing-family")
    for name, (extra, kept) in CASES.items():
        if name == "metrics-missing-family" or extra:
            continue
        assert kept(faulty), f"--break metrics-missing-family also broke the promise of {name}"
