"""The SLO file model: defaults, units, and refusals that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.config import Objective, SloConfig, format_value, min_samples_for, parse_quantity
from hypersync_slo.errors import ConfigError

MINIMAL = "objectives:\n  latency_p95: {objective: '< 100ms'}\n"


def load(text: str) -> SloConfig:
    """Parse SLO file text."""
    return SloConfig.from_text(text, source="test.yaml")


def test_default_file_has_the_contract_figures() -> None:
    """The packaged default carries the objectives and alert thresholds of docs/contracts.md §4."""
    config = SloConfig.default()
    assert config.objective("availability").value == pytest.approx(0.999)
    assert config.objective("latency_p95").value == pytest.approx(0.1)
    assert config.objective("latency_p99").value == pytest.approx(0.5)
    assert config.objective("throughput_rps").value == pytest.approx(1000)
    assert config.objective("error_rate").value == pytest.approx(0.001)
    assert config.objective("latency_p50").report_only
    assert config.alerts.critical.error_rate == pytest.approx(0.05)
    assert config.alerts.warning.latency_p99 == pytest.approx(1.0)
    assert config.latency_thresholds == (0.1, 0.5, 1.0, 5.0)


def test_min_samples_follow_the_tail_rule() -> None:
    """A percentile needs min_tail_samples beyond it: p99 -> 1000, p99.9 -> 10000 by default."""
    config = SloConfig.default()
    assert config.objective("latency_p99").min_samples == 1000
    assert config.objective("latency_p999").min_samples == 10000
    assert min_samples_for(0.95, 10) == 200
    assert min_samples_for(None, 10) == 1


def test_objective_holds_with_each_comparator() -> None:
    """`holds` applies the comparator and treats NaN as not holding."""
    objective = load(MINIMAL).objective("latency_p95")
    assert objective.holds(0.099)
    assert not objective.holds(0.1)
    assert not objective.holds(float("nan"))
    assert objective.describe() == "< 100 ms"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "objectives:\n  latency_p95: {objective: '< 200ms'}\n  latency_p99: {objective: '< 100ms'}\n",
            "p99 can never be smaller than p95",
        ),
        ("objectives:\n  error_rate: {objective: '< 1.5'}\n", "must lie in [0, 1)"),
        (
            "objectives:\n  latency_p95: {objective: '< 99%'}\n",
            "is a ratio value, but this KPI is measured in s",
        ),
        ("objectives:\n  latency_p96: {objective: '< 1s'}\n", "unknown KPI"),
        ("objectives:\n  latency_p95: {objective: 'fast'}\n", "write it like '< 100ms'"),
        ("objectives:\n  latency_p95: {}\n", "give an objective such as"),
        (
            "objectives:\n  error_rate: {objective: '< 1%', no_data: ignore}\n",
            "no_data must be fail, pass or skip",
        ),
        (
            MINIMAL + "alerts:\n  critical: {error_rate: 1%}\n  warning: {error_rate: 5%}\n",
            "must be below alerts.critical.error_rate",
        ),
        (MINIMAL + "colour: blue\n", "unknown top-level key(s) colour"),
        ("objectives: [1, 2]\n", "'objectives' must be a mapping"),
        ("objectives: {\n", "not valid YAML"),
        (MINIMAL + "metrics:\n  request_duration: 'bad name'\n", "is not a valid metric name"),
    ],
)
def test_bad_files_are_refused_with_what_to_fix(text: str, message: str) -> None:
    """Each impossible or malformed SLO file gives a ConfigError naming the file and the fix."""
    with pytest.raises(ConfigError) as info:
        load(text)
    assert message in str(info.value)
    assert str(info.value).startswith("test.yaml: ")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist is a ConfigError naming the path."""
    with pytest.raises(ConfigError, match="cannot read the SLO file"):
        SloConfig.load(tmp_path / "nope.yaml")


def test_units_are_converted_to_base_units() -> None:
    """ms, s, %, rps and bare numbers map to seconds, ratios and requests per second."""
    assert parse_quantity("250ms", where="x", expect="s") == pytest.approx(0.25)
    assert parse_quantity("2m", where="x", expect="s") == pytest.approx(120)
    assert parse_quantity("99.95%", where="x", expect="ratio") == pytest.approx(0.9995)
    assert parse_quantity(0.5, where="x", expect="ratio") == 0.5
    with pytest.raises(ConfigError, match="unknown unit"):
        parse_quantity("3 parsecs", where="x", expect="s")


@given(st.floats(min_value=0, max_value=0.999999), st.sampled_from(["<", "<=", ">", ">="]))
def test_any_ratio_objective_in_range_is_accepted(value: float, comparator: str) -> None:
    """Every ratio in [0, 1) makes a valid objective whose description round-trips the comparator."""
    objective = Objective("error_rate", comparator, value, "ratio")  # type: ignore[arg-type]
    assert objective.describe().startswith(comparator)


def test_format_value_labels_units() -> None:
    """Values are shown in the unit people read: ms, percent, req/s."""
    assert format_value(0.1234, "s") == "123.4 ms"
    assert format_value(0.999, "ratio") == "99.9 %"
    assert format_value(1000.0, "rps") == "1000 req/s"
    assert format_value(float("nan"), "s") == "n/a"
