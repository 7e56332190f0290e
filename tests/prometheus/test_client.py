"""The Prometheus adapter against recorded real API answers (errors, empty, NaN, gaps, limits)."""

from __future__ import annotations

import base64
import json
import math
import socket
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.processes import free_port
from hypersync_slo.prometheus.client import MAX_POINTS, PrometheusClient, RecordedAnswers, points_in
from hypersync_slo.report.kpis import clean_series, worst_subwindow

DATA = Path(__file__).parent.parent / "data" / "report"
URL = "http://prometheus.recorded:9090"


def recorded(name: str) -> str:
    """A recorded Prometheus API answer from tests/data/report."""
    return (DATA / name).read_text("utf-8")


def client_answering(
    status: int, name: str, **kwargs: object
) -> tuple[PrometheusClient, RecordedAnswers]:
    """A client whose every request gets one recorded answer."""
    transport = RecordedAnswers(lambda path, params: (status, recorded(name)))
    return PrometheusClient(URL, transport=transport, **kwargs), transport  # type: ignore[arg-type]


def test_bad_data_error_names_url_query_and_prometheus_text() -> None:
    """A 400 bad_data answer becomes PrometheusUnavailable with Prometheus's own words."""
    client, _ = client_answering(400, "error-bad-query.json")
    with pytest.raises(PrometheusUnavailable) as caught:
        client.instant("sum(rate(x[5m])", 1795743106.0)
    assert str(caught.value).splitlines() == [
        "Prometheus refused the query.",
        f"prometheus: {URL}",
        "query: sum(rate(x[5m])",
        "http status: 400",
        "error type: bad_data",
        'error: invalid parameter "query": 1:56: parse error: unclosed left parenthesis',
        "what to do: check the query and the metric names in the SLO file",
    ]


def test_too_many_points_error_says_what_to_do() -> None:
    """The 11 000-points refusal is explained with the fix."""
    client, _ = client_answering(400, "error-too-many-points.json")
    with pytest.raises(PrometheusUnavailable, match="exceeded maximum resolution") as caught:
        client.range("up", 0.0, 1.0, 1.0)
    assert "what to do: use a larger step or a shorter window" in str(caught.value)


def _matrix(params: Mapping[str, str], limit: int | None = None) -> tuple[int, str]:
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    if limit is not None and points_in(start, end, step) > limit:
        return 400, recorded("error-too-many-points.json")
    values = [[start + i * step, "1"] for i in range(points_in(start, end, step))]
    body = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {"job": "x"}, "values": values}]},
    }
    return 200, json.dumps(body)


def test_long_range_is_split_under_the_point_limit() -> None:
    """24 h at a 1 s step is sent as chunks of at most 11 000 points and merged back."""
    transport = RecordedAnswers(lambda path, params: _matrix(params, MAX_POINTS))
    client = PrometheusClient(URL, transport=transport)
    series = client.range("up", 0.0, 86_400.0, 1.0)
    assert len(transport.requests_seen) == math.ceil(86_401 / MAX_POINTS)
    assert len(series) == 1
    assert len(series[0].points) == 86_401
    assert series[0].points[-1][0] == 86_400.0


def test_store_with_lower_limit_is_split_further() -> None:
    """A store refusing more than 1 000 points (too-many-points) gets halved requests."""
    transport = RecordedAnswers(lambda path, params: _matrix(params, 1000))
    client = PrometheusClient(URL, transport=transport)
    series = client.range("up", 0.0, 3599.0, 1.0)
    assert len(series[0].points) == 3600
    answered = [
        p
        for _, p in transport.requests_seen
        if points_in(float(p["start"]), float(p["end"]), 1.0) <= 1000
    ]
    assert answered


def test_empty_scalar_and_vector_answers() -> None:
    """Empty vectors are empty lists; scalars and vectors become samples with labels."""
    assert client_answering(200, "instant-empty.json")[0].instant("x", 1.0) == []
    assert client_answering(200, "instant-maybe-nan.json")[0].instant("x", 1.0) == []
    (scalar,) = client_answering(200, "instant-scalar.json")[0].instant("1", 1.0)
    assert (scalar.value, scalar.labels) == (1.0, {})
    (up,) = client_answering(200, "instant-up-vector.json")[0].instant("up", 1.0)
    assert up.labels["job"] == "target"
    assert up.value == 1.0
    (p95,) = client_answering(200, "instant-histogram-quantile.json")[0].instant("q", 1.0)
    assert p95.value == 0.00495


def test_range_with_gaps_and_nan() -> None:
    """NaN points of a recorded range (scrape gaps) are dropped, never turned into numbers."""
    (series,) = client_answering(200, "range-p95-with-gaps.json")[0].range("q", 0.0, 40.0, 1.0)
    assert len(series.points) == 41
    clean = clean_series(series.points)
    assert len(clean) == 41 - 7
    assert clean.max() == 0.00475


def test_gap_shows_as_the_worst_subwindow() -> None:
    """A throughput dip (a gap in the recorded rate) is the worst sub-window."""
    (series,) = client_answering(200, "range-rate-by-status.json")[0].range("q", 0.0, 40.0, 1.0)
    rates = clean_series(series.points)
    start, end = rates.index[0], rates.index[-1]
    assert worst_subwindow(rates, start, end, width=10.0) == 1.0
    assert worst_subwindow(rates, start, end, width=60.0) is None  # a 40 s window


def test_non_json_answer_is_unavailable() -> None:
    """A 200 that is not the API's JSON (a proxy's HTML page) is refused, not parsed as data."""
    transport = RecordedAnswers(lambda path, params: (200, "<html>login</html>"))
    with pytest.raises(PrometheusUnavailable, match="not its API's JSON"):
        PrometheusClient(URL, transport=transport).instant("up", 1.0)


def test_prometheus_down_is_unavailable_fast() -> None:
    """Connection refused becomes 'could not be reached' naming the URL, within seconds."""
    url = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(PrometheusUnavailable) as caught:
        PrometheusClient(url, timeout=2.0).instant("up", time.time())
    assert time.monotonic() - began < 5
    lines = str(caught.value).splitlines()
    assert lines[0] == "Prometheus could not be reached."
    assert lines[1] == f"prometheus: {url}"
    assert lines[2] == "query: up"


def test_slow_prometheus_times_out() -> None:
    """A Prometheus that accepts but never answers times out after the configured timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(PrometheusUnavailable, match="Timeout"):
            PrometheusClient(url, timeout=0.5, retries=0).instant("up", time.time())
        assert time.monotonic() - began < 3


def test_bearer_token_and_basic_auth_are_sent() -> None:
    """The token becomes an Authorization: Bearer header; basic auth a Basic one."""
    client, transport = client_answering(200, "instant-empty.json", token="s3cret")
    client.instant("up", 1.0)
    assert transport.headers_seen[-1]["Authorization"] == "Bearer s3cret"
    client, transport = client_answering(200, "instant-empty.json", basic_auth=("me", "pw"))
    client.instant("up", 1.0)
    expected = "Basic " + base64.b64encode(b"me:pw").decode()
    assert transport.headers_seen[-1]["Authorization"] == expected


def test_instant_query_is_evaluated_at_the_given_time_with_millisecond_precision() -> None:
    """The evaluation time is sent as given (not rounded to whole seconds)."""
    client, transport = client_answering(200, "instant-empty.json")
    client.instant("up", 1795743106.25)
    assert transport.requests_seen[-1] == (
        "/api/v1/query",
        {"query": "up", "time": "1795743106.250"},
    )
