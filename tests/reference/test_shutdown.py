"""H-06, graceful shutdown, proven on the reference service: only the owner of a process may stop
it, so the gate cannot check this against a deployment; the project's own tests can."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import StartService

GRACE = 1.0
IN_FLIGHT_SECONDS = 3.0


def active_requests(url: str) -> float:
    """``http_server_active_requests`` (the scrape that reads it counts itself)."""
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith("http_server_active_requests "):
            return float(line.split()[1])
    raise AssertionError("http_server_active_requests not exposed")


def test_sigterm_drains_then_closes_and_in_flight_requests_complete(
    start_reference_service: StartService,
) -> None:
    """After SIGTERM ready answers 503 while the listener still accepts; an in-flight request
    completes after the listener closed; then the process exits."""
    service = start_reference_service("--shutdown-grace", str(GRACE), "--enable-fault-admin")
    url = service.url
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/health/ready", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the service never became ready"
        time.sleep(0.05)
    fault = {"latency": [{"ratio": 1.0, "seconds": IN_FLIGHT_SECONDS}]}
    assert httpx.put(f"{url}/admin/faults", json=fault, timeout=5).status_code == 200
    assert service.process is not None
    assert service.process.proc is not None
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        in_flight = pool.submit(
            lambda: (httpx.get(f"{url}/v1/agents", timeout=15), time.monotonic())
        )
        deadline = started + IN_FLIGHT_SECONDS / 2
        while active_requests(url) < 2:  # the in-flight request and this scrape
            assert time.monotonic() < deadline, "the slow request never reached the service"
            time.sleep(0.02)
        os.killpg(service.process.proc.pid, signal.SIGTERM)
        signalled = time.monotonic()
        answers: list[tuple[float, int, str]] = []
        closed_at = None
        while closed_at is None and time.monotonic() < signalled + 10:
            try:
                ready = httpx.get(f"{url}/health/ready", timeout=2)
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                # A connection accepted just as the listener closes is reset, not refused.
                closed_at = time.monotonic()
                break
            output = ready.json()["checks"]["service:initialized"][0].get("output", "")
            answers.append((time.monotonic() - signalled, ready.status_code, output))
            time.sleep(0.02)
        response, finished = in_flight.result(timeout=15)
    assert closed_at is not None, f"the listener never closed: {answers[-3:]}"
    # ready turned 503 "shutting down" at once (the signal is handled by the event loop, so an
    # answer already on its way may still say 200), stayed so, and the listener closed after
    # the grace
    assert answers, "no readiness answer between SIGTERM and the listener closing"
    draining = [i for i, (_, code, _) in enumerate(answers) if code == 503]
    assert draining, f"ready never answered 503 before the listener closed: {answers[-3:]}"
    first = draining[0]
    assert answers[first][0] < 0.5, answers[: first + 1]  # at once, not at the end of the grace
    assert all(
        code == 503 and text.startswith("shutting down") for _, code, text in answers[first:]
    )
    assert closed_at - signalled >= GRACE * 0.8, (closed_at - signalled, answers[-1])
    # the request in flight since before SIGTERM finished after the listener had closed
    assert response.status_code == 200
    assert finished - started >= IN_FLIGHT_SECONDS
    assert finished > closed_at
    assert service.process.proc.wait(timeout=15) in (0, -signal.SIGTERM)
