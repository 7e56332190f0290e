"""bench/bench_reference.py's arithmetic: wrk output parsing and the histogram quantile."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.reference.conftest import DATA

BENCH = Path(__file__).parents[2] / "bench" / "bench_reference.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The benchmark script, imported from its file (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_reference", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_parse_wrk_reads_a_real_run(bench: ModuleType) -> None:
    """Requests, duration, rps and the p50/p99 of a captured `wrk --latency` run."""
    text = (DATA / "wrk-latency-output.txt").read_text("utf-8")
    requests, seconds, rps, p50, p99, non2xx, errors = bench.parse_wrk(text)
    assert (requests, seconds, rps) == (25815, 8.10, 3185.35)
    assert (p50, p99) == (7.96, 78.04)
    assert non2xx == 0
    assert errors == "none"


def test_parse_wrk_units(bench: ModuleType) -> None:
    """wrk prints us, ms and s; all become milliseconds."""
    assert bench._ms("850.00us") == pytest.approx(0.85)
    assert bench._ms("1.50s") == pytest.approx(1500)
    assert math.isnan(bench._ms("n/a"))


def test_quantile_interpolates_within_the_bucket(bench: ModuleType) -> None:
    """Like PromQL's histogram_quantile: linear inside the bucket holding the rank."""
    buckets = {0.005: 90.0, 0.01: 99.0, 0.025: 100.0, math.inf: 100.0}
    value, bounds = bench.quantile(buckets, 0.99)
    assert value == pytest.approx(0.01)
    assert bounds == "(0.005, 0.01] s"
    value, bounds = bench.quantile(buckets, 0.5)
    assert value == pytest.approx(0.005 * 50 / 90)
    assert bounds == "(0, 0.005] s"


def test_quantile_without_data(bench: ModuleType) -> None:
    """An empty histogram has no quantile, said so."""
    assert bench.quantile({}, 0.99) == (None, "no data")
    assert bench.quantile({math.inf: 0.0}, 0.99) == (None, "no data")
