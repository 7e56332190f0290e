"""Safety checks before any load is sent: loopback unless allow-listed, bounded time and rate.

A load run can hurt the service it points at, so the tool refuses, with a message saying how
to proceed, a target that is not on this machine unless the operator named it
(``--allow-target HOST`` or ``load.allow_targets`` in the SLO file), a duration over an hour and
a rate outside what one run may ask for. Host names are not resolved: ``localhost`` and literal
loopback addresses are loopback, every other name must be allow-listed.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from urllib.parse import urlsplit

from hypersync_slo.config import parse_quantity
from hypersync_slo.errors import ConfigError, UsageError, explain

MAX_DURATION = 3600.0
MAX_RPS = 20_000.0
MAX_WORKERS = 64
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and literal loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str, allow: Iterable[str] = ()) -> tuple[str, int]:
    """Refuse a non-loopback target unless allow-listed; return ``(host, port)``.

    An allow-list entry is a host name or ``host:port``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            explain(
                "the load target must be an http:// or https:// URL with a host.",
                target=url,
                example="--target-url http://127.0.0.1:8080",
            )
        )
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UsageError(explain("the load target has an invalid port.", target=url)) from exc
    allowed = {a.strip().lower() for a in allow if a.strip()}
    if is_loopback(host) or host.lower() in allowed or f"{host.lower()}:{port}" in allowed:
        return host, port
    raise UsageError(
        explain(
            "refusing to send load to a target that is not on this machine.",
            target=f"{url} (host {host})",
            allowed="loopback (127.0.0.0/8, ::1, localhost)"
            + (f" and {', '.join(sorted(allowed))}" if allowed else ""),
            to_proceed=f"pass --allow-target {host} (or add it to load.allow_targets in the SLO file) "
            "if you own this service and mean to load it",
        )
    )


def parse_duration(text: str) -> float:
    """``"60s"``, ``"2m"``, ``"1h"`` or ``"90"`` (seconds) to seconds, bounded to 1 h."""
    try:
        seconds = parse_quantity(text, where="--duration", expect="s")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return check_duration(seconds)


def check_duration(seconds: float) -> float:
    """Refuse a duration that is not in (0, 1 h]."""
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION:
        raise UsageError(
            explain(
                "the load duration is out of bounds.",
                option="--duration",
                observed=f"{seconds:g} s",
                allowed=f"more than 0 s and at most {MAX_DURATION:g} s (1 h)",
                to_proceed="split a longer soak into several runs",
            )
        )
    return seconds


def check_rate(rps: float, workers: int = 0) -> float:
    """Refuse a rate outside (0, MAX_RPS] and a worker count outside [0, MAX_WORKERS]."""
    if not math.isfinite(rps) or rps <= 0 or rps > MAX_RPS:
        raise UsageError(
            explain(
                "the load rate is out of bounds.",
                option="--rps",
                observed=f"{rps:g} requests/s",
                allowed=f"more than 0 and at most {MAX_RPS:g} requests/s per run",
            )
        )
    if not 0 <= workers <= MAX_WORKERS:
        raise UsageError(
            explain(
                "the number of load workers is out of bounds.",
                option="--workers",
                observed=str(workers),
                allowed=f"0 (one process) to {MAX_WORKERS}",
            )
        )
    return rps
