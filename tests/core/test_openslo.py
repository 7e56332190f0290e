"""OpenSLO v1 read by the one SLO-file loader (``SloConfig.load``) onto the same objectives."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError
from hypersync_slo.openslo import read_openslo

OPENSLO = (Path(__file__).parents[1] / "data" / "openslo.yaml").read_text("utf-8")


def test_openslo_maps_onto_the_same_objectives() -> None:
    """Error ratio, p99 threshold, fraction-under-100 ms and up ratio become our KPI objectives."""
    config = read_openslo(OPENSLO, source="slo.openslo.yaml")
    assert config.objective("error_rate").describe() == "< 0.1 %"
    assert config.objective("latency_p99").describe() == "< 500 ms"
    assert config.objective("latency_p99").min_samples == 1000
    assert config.objective("latency_p95").describe() == "<= 100 ms"
    assert config.objective("availability").describe() == ">= 99.9 %"
    assert config.objective("throughput_rps").report_only
    assert config.source == "slo.openslo.yaml"
    assert config.latency_thresholds[:2] == (0.1, 0.5)


def test_openslo_file_is_detected_by_api_version(tmp_path: Path) -> None:
    """SloConfig.load reads OpenSLO and our slo.yaml alike; no path is the packaged default."""
    path = tmp_path / "slo.yaml"
    path.write_text(OPENSLO)
    config = SloConfig.load(path)
    assert config.objective("latency_p99").value == 0.5
    assert config.source == str(path)
    assert SloConfig.from_text(OPENSLO, source="t").objective("error_rate").value == 0.001
    assert SloConfig.load(None).source == "<default slo.yaml>"


def test_openslo_errors_are_config_errors_naming_the_file(tmp_path: Path) -> None:
    """A broken OpenSLO file read through SloConfig.load is a ConfigError naming the file."""
    path = tmp_path / "bad.yaml"
    path.write_text(OPENSLO.replace("type: Prometheus", "type: Datadog"))
    with pytest.raises(ConfigError) as caught:
        SloConfig.load(path)
    assert str(caught.value).startswith(f"{path}: SLO ")
    assert "metricSource type 'Datadog' is not supported" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("type: Prometheus", "type: Datadog"), "metricSource type 'Datadog' is not supported"),
        (("indicatorRef: api-errors", "indicatorRef: nope"), "indicatorRef 'nope' names no SLI"),
        (("histogram_quantile(0.99", "histogram_quantile(0.9"), "quantile 0.9 is not a KPI"),
        (
            (
                "target: 0.999}]\n---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: api-p99}",
                "target: 1.5}]\n---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: api-p99}",
            ),
            "target must lie in [0, 1)",
        ),
    ],
)
def test_openslo_refusals_say_what_to_fix(change: tuple[str, str], message: str) -> None:
    """Unsupported sources, dangling refs, odd quantiles and bad targets are refused clearly."""
    with pytest.raises(ConfigError) as caught:
        read_openslo(OPENSLO.replace(*change), source="x.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("x.yaml: SLO ")


def test_non_openslo_document_is_refused() -> None:
    """A document that is not openslo/v1 is named by its position."""
    with pytest.raises(ConfigError, match="document 1 is not an OpenSLO v1 document"):
        read_openslo("apiVersion: v1\nkind: Pod\n", source="x.yaml")
