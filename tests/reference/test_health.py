"""Health endpoints of the reference service: shapes, codes, headers, and each operational fault."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.reference.conftest import Faulty

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
DEPENDENCY_CHECKS = {
    "receipt-store": "receipt-store:responseTime",
    "policy-engine": "policy-engine:responseTime",
    "event-queue": "event-queue:depth",
}
HEALTH_PATHS = ("/health/live", "/health/ready", "/health/dependencies")


def assert_health_body(body: dict[str, Any]) -> None:
    """Check the IETF health+json shape the contract promises."""
    assert body["status"] in ("pass", "warn", "fail")
    assert body["checks"], "checks must not be empty"
    statuses = []
    for name, entries in body["checks"].items():
        assert ":" in name, name
        assert isinstance(entries, list)
        assert len(entries) == 1
        for entry in entries:
            assert entry["componentType"] in ("datastore", "http", "queue", "system", "component")
            assert entry["status"] in ("pass", "warn", "fail")
            assert "observedValue" in entry
            assert isinstance(entry["observedUnit"], str)
            assert RFC3339.match(entry["time"]), entry["time"]
            if entry["status"] != "pass":
                assert entry["output"]
            else:
                assert "output" not in entry
            statuses.append(entry["status"])
    worst = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    assert body["status"] == worst


@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_healthy_service_passes_every_endpoint(faulty: Faulty, path: str) -> None:
    """A clean service answers 200 pass with health+json check objects on all three endpoints."""
    response = faulty.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/health+json"
    body = response.json()
    assert_health_body(body)
    assert body["status"] == "pass"


def test_ready_lists_components_dependencies_and_resources(faulty: Faulty) -> None:
    """Ready covers initialisation, the three dependencies, disk and memory."""
    checks = faulty.client.get("/health/ready").json()["checks"]
    assert set(checks) == {
        "service:initialized",
        *DEPENDENCY_CHECKS.values(),
        "disk:free",
        "memory:rss",
    }
    assert checks["disk:free"][0]["observedUnit"] == "MiB"
    assert checks["memory:rss"][0]["observedValue"] > 0


def test_dependencies_lists_one_check_per_dependency(faulty: Faulty) -> None:
    """Dependencies has exactly the three dependencies, each with its own type."""
    checks = faulty.client.get("/health/dependencies").json()["checks"]
    assert {k: v[0]["componentType"] for k, v in checks.items()} == {
        "receipt-store:responseTime": "datastore",
        "policy-engine:responseTime": "component",
        "event-queue:depth": "queue",
    }


@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
def test_live_and_ready_are_not_cacheable(faulty: Faulty, path: str) -> None:
    """Live and ready carry Cache-Control: no-store."""
    assert faulty.client.get(path).headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [*HEALTH_PATHS, "/metrics"])
def test_head_is_answered_like_get_without_body(faulty: Faulty, path: str) -> None:
    """HEAD gives GET's status and Content-Type, and no body."""
    get = faulty.client.get(path)
    head = faulty.client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""


@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_unknown_query_parameters_change_nothing(faulty: Faulty, path: str) -> None:
    """?verbose and friends leave the status code and shape alone."""
    response = faulty.client.get(path, params={"verbose": "1", "exclude": "x"})
    assert response.status_code == 200
    assert_health_body(response.json())


def test_wrong_method_is_405_with_allow(faulty: Faulty) -> None:
    """POST on a health path is 405 with an Allow header and a JSON error body."""
    response = faulty.client.post("/health/ready")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_no_redirect_on_trailing_slash(faulty: Faulty) -> None:
    """The trailing-slash variant is a 404, never a redirect."""
    response = faulty.client.get("/health/ready/")
    assert response.status_code == 404
    assert "location" not in response.headers


@pytest.mark.parametrize("dependency", sorted(DEPENDENCY_CHECKS))
def test_dependency_down_keeps_live_and_fails_ready(faulty: Faulty, dependency: str) -> None:
    """A dependency outage: live 200, ready 503, dependencies 503 with exactly that check failing."""
    faulty.inject(dependencies_down=[dependency])
    assert faulty.client.get("/health/live").status_code == 200
    ready = faulty.client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "fail"
    assert ready.json()["checks"][DEPENDENCY_CHECKS[dependency]][0]["status"] == "fail"
    deps = faulty.client.get("/health/dependencies")
    assert deps.status_code == 503
    body = deps.json()
    assert_health_body(body)
    failing = {k for k, v in body["checks"].items() if v[0]["status"] == "fail"}
    assert failing == {DEPENDENCY_CHECKS[dependency]}
    assert "injected fault" in body["checks"][DEPENDENCY_CHECKS[dependency]][0]["output"]


def test_recovery_after_the_fault_is_lifted(faulty: Faulty) -> None:
    """Ready is 200 again as soon as the dependency is back."""
    faulty.inject(dependencies_down=["policy-engine"])
    assert faulty.client.get("/health/ready").status_code == 503
    faulty.reset()
    assert faulty.client.get("/health/ready").status_code == 200


def test_ready_stuck_reports_not_initialized(faulty: Faulty) -> None:
    """--fault-ready-stuck: ready stays 503 with the initialisation check failing; live stays 200."""
    faulty.inject(ready_stuck=True)
    ready = faulty.client.get("/health/ready")
    assert ready.status_code == 503
    check = ready.json()["checks"]["service:initialized"][0]
    assert check["status"] == "fail"
    assert check["output"] == "not initialized"
    assert faulty.client.get("/health/live").status_code == 200


def test_live_fail(faulty: Faulty) -> None:
    """--fault-live fail: live answers 503 fail."""
    faulty.inject(live="fail")
    response = faulty.client.get("/health/live")
    assert response.status_code == 503
    assert_health_body(response.json())


def test_live_slow(faulty: Faulty) -> None:
    """--fault-live slow:S: live answers 200, but only after S seconds (over a 1 s probe timeout)."""
    faulty.inject(live={"slow": 1.2})
    start = time.monotonic()
    assert faulty.client.get("/health/live").status_code == 200
    assert time.monotonic() - start >= 1.2
    with pytest.raises(httpx.TimeoutException):
        faulty.client.get("/health/live", timeout=0.5)


def test_concurrent_ready_calls_share_one_probe(faulty: Faulty) -> None:
    """N concurrent ready calls within the 1 s cache see the same probe reading (same time)."""
    faulty.client.get("/health/ready")
    times: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        body = httpx.get(f"{faulty.url}/health/ready", timeout=5).json()
        with lock:
            times.append(body["checks"]["receipt-store:responseTime"][0]["time"])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 8
    assert len(set(times)) <= 2  # at most one refresh inside the window


def test_probe_counter_shows_coalescing(faulty: Faulty) -> None:
    """hypersync_dependency_probes_total grows by at most 2 for 16 concurrent ready calls."""

    def probes() -> float:
        text = faulty.client.get("/metrics").text
        line = next(
            x
            for x in text.splitlines()
            if x.startswith('hypersync_dependency_probes_total{dependency="receipt-store"}')
        )
        return float(line.split()[-1])

    faulty.client.get("/health/ready")
    before = probes()
    assert before >= 1  # the counter counts
    threads = [
        threading.Thread(target=lambda: httpx.get(f"{faulty.url}/health/ready", timeout=5))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 <= probes() - before <= 2


def test_probe_reading_is_fresh(faulty: Faulty) -> None:
    """Each dependency check's time is at most ~1 s old (the probe cache)."""
    body = faulty.client.get("/health/dependencies").json()
    for entries in body["checks"].values():
        at = datetime.strptime(entries[0]["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert (datetime.now(UTC) - at).total_seconds() < 2.5


def test_stall_stops_the_whole_server(faulty: Faulty, poll: Callable[..., Any]) -> None:
    """--fault-stall: some request (even live) waits out a stall of the event loop."""
    faulty.inject(stall={"period": 1.0, "duration": 0.6})

    def slowest_live() -> float:
        worst = 0.0
        for _ in range(12):
            start = time.monotonic()
            faulty.client.get("/health/live")
            worst = max(worst, time.monotonic() - start)
            time.sleep(0.05)
        return worst

    assert poll(slowest_live, lambda worst: worst >= 0.3, timeout=5) >= 0.3
    faulty.reset()  # answered only between stalls; the stall task re-reads the state before the next
    start = time.monotonic()
    faulty.client.get("/health/live")
    assert time.monotonic() - start < 0.3


def test_hung_store_fails_its_check_within_the_timeout(
    faulty: Faulty, poll: Callable[..., Any]
) -> None:
    """A locked (hanging) SQLite store: its check fails with 'timeout' and ready still answers fast."""
    with faulty.store_locked():

        def ready() -> tuple[httpx.Response, float]:
            start = time.monotonic()
            response = faulty.client.get("/health/ready")
            return response, time.monotonic() - start

        response, _ = poll(ready, lambda r: r[0].status_code == 503, timeout=5)
        check = response.json()["checks"]["receipt-store:responseTime"][0]
        assert check["status"] == "fail"
        assert check["output"].startswith("timeout")
        assert max(ready()[1] for _ in range(5)) < 1.0
        assert faulty.client.get("/health/live").status_code == 200
    assert (
        poll(lambda: faulty.client.get("/health/ready").status_code, lambda code: code == 200)
        == 200
    )
