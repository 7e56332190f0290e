"""CloudWatch EMF: the KPI record follows the specification, and the validator catches each way to break it."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.alerting.emf import UNITS, emf_lines, kpi_record, validate_record
from hypersync_slo.config import KPI_UNITS
from hypersync_slo.errors import ConfigError, NoData

STAMP = 1_795_750_000_000
KPIS = {
    "availability": 0.9995,
    "latency_p95": 0.048,
    "latency_p99": 0.21,
    "throughput_rps": 1012.5,
    "error_rate": 0.0004,
    "latency_p999": float("nan"),
}

#: The example of the checklist (from the AWS specification page), which must validate.
SPEC_EXAMPLE = {
    "_aws": {
        "Timestamp": 1574109732004,
        "CloudWatchMetrics": [
            {
                "Namespace": "svc/business",
                "Dimensions": [["Service", "Operator"]],
                "Metrics": [
                    {"Name": "OperatorExecutions", "Unit": "Count"},
                    {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 60},
                ],
            }
        ],
    },
    "Service": "svc",
    "Operator": "merge",
    "OperatorExecutions": 1,
    "Latency": 12.5,
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
}


def record() -> dict[str, Any]:
    """A fresh KPI record."""
    return kpi_record(
        KPIS,
        service="hypersync",
        timestamp_ms=STAMP,
        source="client",
        samples={"latency_p99": 60750},
        extra={"window": "02:00:00Z-02:01:00Z"},
    )


def test_kpi_record_is_valid_emf() -> None:
    """The writer's record has ms timestamp, namespace, one dimension set, units, top-level members."""
    rec = record()
    assert validate_record(rec) == []
    directive = rec["_aws"]["CloudWatchMetrics"][0]
    assert rec["_aws"]["Timestamp"] == STAMP
    assert directive["Namespace"] == "HyperSync/SLO"
    assert directive["Dimensions"] == [["Service", "Source"]]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {
        "availability": "Percent",
        "error_rate": "Percent",
        "latency_p95": "Seconds",
        "latency_p99": "Seconds",
        "throughput_rps": "Count/Second",
    }
    assert rec["availability"] == pytest.approx(99.95)
    assert rec["latency_p99"] == 0.21
    assert rec["latency_p99_samples"] == 60750
    assert rec["window"] == "02:00:00Z-02:01:00Z"


def test_no_data_kpi_is_not_a_metric() -> None:
    """A NaN KPI is left out of the metrics and named in no_data, never graphed as a number."""
    rec = record()
    assert "latency_p999" not in rec
    assert rec["no_data"] == "latency_p999"
    assert all(m["Name"] != "latency_p999" for m in rec["_aws"]["CloudWatchMetrics"][0]["Metrics"])


def test_lines_are_one_compact_object_each_and_stable() -> None:
    """emf_lines writes one JSON object per line, byte-stable."""
    text = emf_lines([record(), record()])
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0] == lines[1]
    assert json.loads(lines[0]) == record()
    assert text.endswith("\n")


def test_spec_example_validates() -> None:
    """The AWS specification's example record is accepted."""
    assert validate_record(SPEC_EXAMPLE) == []


def broken(path: str, value: Any) -> dict[str, Any]:
    """The spec example with one member replaced (dotted path; '-' deletes)."""
    rec = copy.deepcopy(SPEC_EXAMPLE)
    target: Any = rec
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value == "-":
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return rec


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("_aws.Timestamp", 1574109732, "looks like seconds, not milliseconds"),
        ("_aws.Timestamp", "-", "must be integer milliseconds"),
        (
            "_aws.CloudWatchMetrics.0.Namespace",
            "",
            "Namespace: must be a string of 1-1024 characters",
        ),
        (
            "_aws.CloudWatchMetrics.0.Dimensions",
            ["Service"],
            "must be an array of keys (an array of arrays)",
        ),
        ("_aws.CloudWatchMetrics.0.Dimensions", [], "at least one dimension set"),
        (
            "_aws.CloudWatchMetrics.0.Dimensions",
            [[f"D{i}" for i in range(31)]],
            "31 keys, at most 30",
        ),
        ("_aws.CloudWatchMetrics.0.Dimensions", [["Service", "trace_id"]], "request-scoped"),
        (
            "_aws.CloudWatchMetrics.0.Metrics.0.Unit",
            "Percentage",
            "'Percentage' is not an EMF unit",
        ),
        ("_aws.CloudWatchMetrics.0.Metrics.1.StorageResolution", 5, "must be 1 or 60, got 5"),
        (
            "_aws.CloudWatchMetrics.0.Metrics",
            [{"Name": f"m{i}"} for i in range(101)],
            "101 metrics, at most 100",
        ),
        ("Operator", "-", "dimension 'Operator': no top-level string member"),
        ("Operator", 7, "dimension 'Operator': no top-level string member"),
        ("Latency", {"value": 12.5}, "metric 'Latency': no top-level numeric member"),
        ("Latency", list(range(101)), "at most 100 numbers"),
        ("Latency", "-", "metric 'Latency': no top-level numeric member"),
        ("_aws", "-", "_aws: required object is missing"),
    ],
)
def test_validator_catches_each_violation(path: str, value: Any, problem: str) -> None:
    """Each way to break the specification is reported with where and why."""
    problems = validate_record(broken(path, value))
    assert any(problem in p for p in problems), problems


def test_oversized_record_is_reported() -> None:
    """A record over 1 MB is reported."""
    rec = copy.deepcopy(SPEC_EXAMPLE)
    rec["blob"] = "x" * 1_000_001
    assert any("more than 1000000" in p for p in validate_record(rec))


def test_unknown_kpi_and_clashing_extra_are_refused() -> None:
    """The writer refuses a KPI the SLO model does not know and an extra member that would overwrite one."""
    with pytest.raises(ConfigError, match="EMF: unknown KPI 'latency_p42'"):
        kpi_record({"latency_p42": 1.0}, service="s", timestamp_ms=STAMP, source="client")
    with pytest.raises(ConfigError, match="would overwrite"):
        kpi_record(
            {"latency_p99": 1.0},
            service="s",
            timestamp_ms=STAMP,
            source="client",
            extra={"latency_p99": 2},
        )


def test_units_are_from_the_enumeration() -> None:
    """Every unit the writer can emit is in the EMF enumeration."""
    rec = kpi_record(
        dict.fromkeys(KPI_UNITS, 0.5), service="s", timestamp_ms=STAMP, source="prometheus"
    )
    assert {m["Unit"] for m in rec["_aws"]["CloudWatchMetrics"][0]["Metrics"]} <= UNITS


@given(
    st.dictionaries(
        st.sampled_from(sorted(KPI_UNITS)),
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        max_size=8,
    ),
    st.integers(min_value=10**11, max_value=10**14),
)
def test_any_kpi_values_give_a_valid_record(kpis: dict[str, float], stamp: int) -> None:
    """Whatever the KPI values (NaN and infinities included), the record is valid EMF; with no
    finite value at all, no record (an empty Metrics directive) is made."""
    finite = [
        v for n, v in kpis.items() if math.isfinite(v * (100 if KPI_UNITS[n] == "ratio" else 1))
    ]
    if not finite:
        with pytest.raises(NoData, match="no KPI had data"):
            kpi_record(kpis, service="hypersync", timestamp_ms=stamp, source="client")
        return
    rec = kpi_record(kpis, service="hypersync", timestamp_ms=stamp, source="client")
    assert validate_record(rec) == []
    for name, value in kpis.items():
        assert (name in rec) == math.isfinite(value * (100 if KPI_UNITS[name] == "ratio" else 1))
