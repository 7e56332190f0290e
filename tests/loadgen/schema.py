"""The load-result.json output contract, checked on its type (``results.LoadResult``)."""

from __future__ import annotations

import re
from typing import Any

from hypersync_slo.results import LoadResult

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LATENCY_KEYS = {"p50", "p95", "p99", "p999", "max", "samples"}
NUMBER = (int, float)
#: The keys of a reporter verdict.json KPI item (``KpiResult.to_dict``), which load KPIs share.
VERDICT_JSON_KPI_KEYS = (
    "name",
    "source",
    "observed",
    "objective",
    "unit",
    "samples",
    "window",
    "query",
    "verdict",
    "reason",
    "gating",
    "detail",
)


def check_latency(block: dict[str, Any], where: str) -> None:
    """A latency summary: the six keys, seconds or null, samples an int."""
    assert set(block) >= LATENCY_KEYS, where
    assert isinstance(block["samples"], int), where
    for key in LATENCY_KEYS - {"samples"}:
        assert block[key] is None or isinstance(block[key], NUMBER), (where, key)


def check_result(result: LoadResult) -> None:
    """Every contract field with its type; request names are route templates."""
    assert isinstance(result.target_url, str)
    for number in (result.target_rps, result.achieved_rps):
        assert isinstance(number, NUMBER)
    for key, count in (
        ("requests", result.requests),
        ("errors", result.errors),
        ("dropped", result.dropped),
        ("late", result.late),
    ):
        assert isinstance(count, int), key
        assert count >= 0, key
    assert isinstance(result.saturated, bool)
    window = result.window
    start, end = window.get("start"), window.get("end")
    assert isinstance(start, str), window
    assert isinstance(end, str), window
    assert RFC3339_UTC.match(start), window
    assert RFC3339_UTC.match(end), window
    assert start <= end
    assert all(isinstance(v, int) for v in result.errors_by_cause.values())
    check_latency(dict(result.latency["corrected"]), "corrected")
    check_latency(dict(result.latency["uncorrected"]), "uncorrected")
    assert result.latency["source"] == "client"
    for name, entry in result.by_request.items():
        assert re.match(r"^(GET|POST|PUT|DELETE) /", name), name
        assert "?" not in name, name
        assert not re.search(r"/[0-9a-f]{8,}", name), name
        assert isinstance(entry["requests"], int)
        assert isinstance(entry["errors"], int)
        check_latency(dict(entry["latency"]["corrected"]), name)
        check_latency(dict(entry["latency"]["uncorrected"]), name)
    for metric, counts in result.business_calls.items():
        assert isinstance(metric, str)
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in counts.items()), metric
    for point in result.rate_over_time:
        assert len(point) == 2
        assert all(isinstance(v, NUMBER) for v in point)
    verdict = result.verdict
    assert verdict["status"] in ("pass", "fail", "no_data", "void")
    assert verdict["kpi_verdict"] in ("pass", "fail", "no_data")
    for kpi in verdict["kpis"]:
        assert kpi["verdict"] in ("pass", "fail", "no_data"), kpi
        assert set(VERDICT_JSON_KPI_KEYS) <= set(kpi), kpi
        assert kpi["source"] == "client"
        assert isinstance(kpi["samples"], int)
        assert isinstance(kpi["gating"], bool)
        assert kpi["window"] == {"start": start, "end": end}


def check_file(text: str) -> LoadResult:
    """A written load-result.json: read as a ``LoadResult``, written back byte for byte, checked."""
    result = LoadResult.from_json(text)
    assert result.to_json() == text, "load-result.json does not round-trip through LoadResult"
    check_result(result)
    return result
