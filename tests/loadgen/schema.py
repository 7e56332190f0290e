"""The load-result.json output contract, as a checker the tests share."""

from __future__ import annotations

import re
from typing import Any

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


def check_result(result: dict[str, Any]) -> None:
    """Every contract key with its type; request names are route templates."""
    for key in ("target_url",):
        assert isinstance(result[key], str)
    for key in ("target_rps", "achieved_rps"):
        assert isinstance(result[key], NUMBER)
    for key in ("requests", "errors", "dropped", "late"):
        assert isinstance(result[key], int), key
        assert result[key] >= 0, key
    assert isinstance(result["saturated"], bool)
    assert RFC3339_UTC.match(result["window"]["start"]), result["window"]
    assert RFC3339_UTC.match(result["window"]["end"]), result["window"]
    assert result["window"]["start"] <= result["window"]["end"]
    assert all(isinstance(v, int) for v in result["errors_by_cause"].values())
    check_latency(result["latency"]["corrected"], "corrected")
    check_latency(result["latency"]["uncorrected"], "uncorrected")
    assert result["latency"]["source"] == "client"
    for name, entry in result["by_request"].items():
        assert re.match(r"^(GET|POST|PUT|DELETE) /", name), name
        assert "?" not in name, name
        assert not re.search(r"/[0-9a-f]{8,}", name), name
        assert isinstance(entry["requests"], int)
        assert isinstance(entry["errors"], int)
        check_latency(entry["latency"]["corrected"], name)
        check_latency(entry["latency"]["uncorrected"], name)
    calls = result["business_calls"]
    for metric, counts in calls.items():
        assert isinstance(metric, str)
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in counts.items()), metric
    for point in result["rate_over_time"]:
        assert len(point) == 2
        assert all(isinstance(v, NUMBER) for v in point)
    verdict = result["verdict"]
    assert verdict["status"] in ("pass", "fail", "no_data", "void")
    assert verdict["kpi_verdict"] in ("pass", "fail", "no_data")
    for kpi in verdict["kpis"]:
        assert kpi["verdict"] in ("pass", "fail", "no_data"), kpi
        assert set(VERDICT_JSON_KPI_KEYS) <= set(kpi), kpi
        assert kpi["source"] == "client"
        assert isinstance(kpi["samples"], int)
        assert isinstance(kpi["gating"], bool)
        assert kpi["window"] == {"start": result["window"]["start"], "end": result["window"]["end"]}
