"""Safety refusals: non-loopback targets, unbounded durations and rates, with clear messages."""

from __future__ import annotations

import pytest

from hypersync_slo.errors import UsageError
from hypersync_slo.loadgen.safety import check_rate, check_target, is_loopback, parse_duration


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_loopback(host: str) -> None:
    """Loopback literals and localhost are recognised without DNS."""
    assert is_loopback(host)


def test_remote_target_is_refused_with_how_to_proceed() -> None:
    """A non-loopback target is refused, naming the host and the allow-list options."""
    with pytest.raises(UsageError) as info:
        check_target("http://10.1.2.3:8080")
    text = str(info.value)
    assert text.splitlines()[0] == "refusing to send load to a target that is not on this machine."
    assert "target: http://10.1.2.3:8080 (host 10.1.2.3)" in text
    assert "--allow-target 10.1.2.3" in text
    assert "load.allow_targets" in text


def test_allow_list_by_host_or_host_port() -> None:
    """An allow-listed host (or host:port) is accepted; another port of host:port is not."""
    assert check_target("http://staging.internal:8080", ["staging.internal"]) == (
        "staging.internal",
        8080,
    )
    assert check_target("https://svc.example", ["svc.example:443"]) == ("svc.example", 443)
    with pytest.raises(UsageError, match="not on this machine"):
        check_target("http://svc.example:8080", ["svc.example:443"])


def test_name_resolving_to_loopback_is_not_trusted() -> None:
    """Only literal loopback and localhost pass; other names need the allow-list."""
    with pytest.raises(UsageError, match="not on this machine"):
        check_target("http://my-laptop:80")


def test_bad_url_is_refused() -> None:
    """A URL without scheme or host is refused with an example."""
    with pytest.raises(UsageError, match=r"example: --target-url http://127\.0\.0\.1:8080"):
        check_target("127.0.0.1:8080")


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("2m", 120.0), ("90", 90.0), ("1h", 3600.0)]
)
def test_durations_parse(text: str, seconds: float) -> None:
    """Durations take units and stay within 1 h."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2h", "0s", "-5s", "3601"])
def test_durations_out_of_bounds_are_refused(text: str) -> None:
    """Durations over 1 h or not positive are refused with the allowed range."""
    with pytest.raises(UsageError, match=r"allowed: more than 0 s and at most 3600 s \(1 h\)"):
        parse_duration(text)


def test_duration_with_wrong_unit_is_refused() -> None:
    """A duration in a non-time unit is refused."""
    with pytest.raises(UsageError, match="--duration"):
        parse_duration("5%")


@pytest.mark.parametrize("rps", [0.0, -1.0, 20_001.0, float("inf")])
def test_rates_out_of_bounds_are_refused(rps: float) -> None:
    """Rates outside (0, 20 000] requests/s are refused, showing the observed rate."""
    with pytest.raises(UsageError, match="the load rate is out of bounds"):
        check_rate(rps)


def test_worker_count_is_bounded() -> None:
    """More than 64 workers is refused."""
    with pytest.raises(UsageError, match="number of load workers"):
        check_rate(100, workers=65)
