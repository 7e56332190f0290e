"""Fault injection: operational faults and contract breaks, off by default.

``FaultState`` is the whole injected state; it is set from the ``--fault-*``/``--break`` flags at
start and replaced as a whole by ``PUT /admin/faults`` (when ``--enable-fault-admin`` is given).
Its JSON shape is the admin API's::

    {"latency": [{"ratio": 0.02, "seconds": 0.6}], "error_ratio": 0.0,
     "dependencies_down": [], "live": "ok" | "fail" | {"slow": 2.0},
     "ready_stuck": false, "stall": null | {"period": 5, "duration": 1}, "span_drop": 0.0,
     "breaks": []}

Operational faults make the service unhealthy in the ways real services are; each *break*
breaks exactly one promise of the monitoring contract, so the gate can prove it catches it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The dependencies a ``dependency-down`` fault can take down.
DEPENDENCIES: tuple[str, ...] = ("receipt-store", "policy-engine", "event-queue")

#: Each contract break and the promise it breaks (docs and ``--help`` list them from here).
BREAKS: dict[str, str] = {
    "live-checks-dependencies": "/health/live consults dependencies (503 when one is down)",
    "ready-ignores-dependencies": "/health/ready stays 200 when a dependency is down",
    "ready-500": "/health/ready answers 500 (a crashed readiness handler) instead of 200/503",
    "health-redirect": "health endpoints answer 302 to a login page",
    "no-cache-control": "/health/live and /health/ready lose Cache-Control: no-store",
    "health-plain-text": "health endpoints answer text/plain 'OK' instead of health+json",
    "dependencies-bad-schema": "/health/dependencies body breaks the health+json schema",
    "dependencies-wrong-aggregate": "/health/dependencies top-level status is not the worst check",
    "head-405": "HEAD on health endpoints and /metrics answers 405",
    "query-param-500": "an unknown query parameter on a health endpoint gives 500",
    "health-leaks-details": "the receipt-store check's output shows a DSN with its password, "
    "a private address and a traceback",
    "probe-fan-out": "every readiness/dependencies call probes every dependency (no cache, "
    "no sharing of a probe in flight)",
    "metrics-no-content-type": "/metrics has no Content-Type header",
    "metrics-duplicate-series": "/metrics repeats a series",
    "metrics-missing-family": "/metrics lacks the hypersync_queue_depth family",
    "metrics-bad-buckets": "the latency histogram lacks the SLO-threshold buckets",
    "metrics-counter-no-total": "hypersync_receipts_generated_total loses its _total suffix",
    "metrics-ignore-accept": "/metrics always answers text 0.0.4, also when OpenMetrics is asked",
    "metrics-counter-decrease": "business counters jump up and down between scrapes",
    "route-label-raw-path": "the latency histogram's http_route is the raw URL path",
    "business-counters-frozen": "business counters stop counting",
    "no-traceresponse": "responses carry no traceresponse header",
    "traceresponse-new-trace": "an incoming traceparent is ignored: traceresponse has a new trace",
    "bad-traceparent-400": "an invalid traceparent is answered 400",
    "request-id-not-echoed": "X-Request-ID is replaced by a generated one, also when safe",
    "request-id-unsafe-echo": "an unsafe X-Request-ID is echoed verbatim",
    "log-zero-ids": "log lines carry trace_id/span_id '0' instead of the real IDs",
    "histogram-skips-errors": "5xx responses are not observed in the latency histogram "
    "(the request log still shows them)",
}

_KEYS = (
    "latency",
    "error_ratio",
    "dependencies_down",
    "live",
    "ready_stuck",
    "stall",
    "span_drop",
    "breaks",
)


class FaultError(ValueError):
    """A fault specification that does not make sense (message says which and why)."""


def _ratio(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{where}: expected a number in [0, 1], got {value!r}")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise FaultError(f"{where}: expected a number in [0, 1], got {value!r}")
    return number


def _seconds(value: object, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{where}: expected seconds as a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise FaultError(
            f"{where}: expected {'positive' if positive else 'non-negative'} seconds, got {value!r}"
        )
    if number > 3600:
        raise FaultError(f"{where}: {number:g} s is over the 3600 s limit")
    return number


@dataclass(frozen=True)
class LatencyFault:
    """A fraction ``ratio`` of API requests gets ``seconds`` added."""

    ratio: float
    seconds: float


@dataclass(frozen=True)
class StallFault:
    """The whole server stops answering for ``duration`` seconds every ``period`` seconds."""

    period: float
    duration: float


@dataclass(frozen=True)
class FaultState:
    """Everything injected; the default is a healthy service that keeps every promise."""

    latency: tuple[LatencyFault, ...] = ()
    error_ratio: float = 0.0
    dependencies_down: frozenset[str] = frozenset()
    live: str | float = "ok"  # "ok", "fail", or the seconds of a slow answer
    ready_stuck: bool = False
    stall: StallFault | None = None
    #: Share of traces whose child spans the exporters leave out (chosen by trace ID).
    span_drop: float = 0.0
    breaks: frozenset[str] = field(default_factory=frozenset)

    @property
    def active(self) -> bool:
        """Whether anything at all is injected."""
        return self != FaultState()

    @property
    def api_faults(self) -> bool:
        """Whether API requests need the per-request fault path (latency or errors)."""
        return bool(self.latency) or self.error_ratio > 0

    def api_delay(self, rng: random.Random) -> float:
        """Seconds to add to one API request (sum of the latency faults that hit it)."""
        return sum(f.seconds for f in self.latency if f.ratio > 0 and rng.random() < f.ratio)

    def to_json(self) -> dict[str, Any]:
        """The admin API's JSON form."""
        return {
            "latency": [{"ratio": f.ratio, "seconds": f.seconds} for f in self.latency],
            "error_ratio": self.error_ratio,
            "dependencies_down": sorted(self.dependencies_down),
            "live": self.live if isinstance(self.live, str) else {"slow": self.live},
            "ready_stuck": self.ready_stuck,
            "stall": None
            if self.stall is None
            else {"period": self.stall.period, "duration": self.stall.duration},
            "span_drop": self.span_drop,
            "breaks": sorted(self.breaks),
        }

    @classmethod
    def from_json(cls, data: object) -> FaultState:
        """Parse the admin API's JSON form; missing keys are off. Raises ``FaultError``."""
        if not isinstance(data, Mapping):
            raise FaultError("the fault state must be a JSON object")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise FaultError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
        latency = _latency_json(data.get("latency") or [])
        error_ratio = _ratio(data.get("error_ratio", 0.0) or 0.0, "error_ratio")
        deps = data.get("dependencies_down") or []
        if not isinstance(deps, list):
            raise FaultError("dependencies_down: expected a list of dependency names")
        live = _live_json(data.get("live", "ok"))
        stuck = data.get("ready_stuck", False)
        if not isinstance(stuck, bool):
            raise FaultError(f"ready_stuck: expected true or false, got {stuck!r}")
        stall = _stall_json(data.get("stall"))
        breaks = data.get("breaks") or []
        if not isinstance(breaks, list):
            raise FaultError("breaks: expected a list of break names")
        return cls(
            latency=latency,
            error_ratio=error_ratio,
            dependencies_down=_dependencies(deps),
            live=live,
            ready_stuck=stuck,
            stall=stall,
            span_drop=_ratio(data.get("span_drop", 0.0) or 0.0, "span_drop"),
            breaks=_breaks(breaks),
        )

    @classmethod
    def from_flags(
        cls,
        *,
        latency: Iterable[str] = (),
        error_ratio: float = 0.0,
        dependencies_down: Iterable[str] = (),
        live: str | None = None,
        ready_stuck: bool = False,
        stall: str | None = None,
        span_drop: float = 0.0,
        breaks: Iterable[str] = (),
    ) -> FaultState:
        """Parse the command-line forms (``P:SECONDS``, ``slow:SECONDS``, ``PERIOD:DURATION``)."""
        faults = []
        for text in latency:
            ratio, seconds = _pair(text, "--fault-latency", "P:SECONDS")
            faults.append(
                LatencyFault(
                    _ratio(ratio, "--fault-latency P"), _seconds(seconds, "--fault-latency SECONDS")
                )
            )
        live_state: str | float = "ok"
        if live is not None:
            if live == "fail":
                live_state = "fail"
            elif live.startswith("slow:"):
                live_state = _seconds(
                    _number(live[5:], "--fault-live slow:SECONDS"), "--fault-live", positive=True
                )
            else:
                raise FaultError(f"--fault-live: expected 'fail' or 'slow:SECONDS', got {live!r}")
        stall_state = None
        if stall is not None:
            period, duration = _pair(stall, "--fault-stall", "PERIOD:DURATION")
            stall_state = _stall(period, duration)
        return cls(
            latency=tuple(faults),
            error_ratio=_ratio(error_ratio, "--fault-error-ratio"),
            dependencies_down=_dependencies(list(dependencies_down)),
            live=live_state,
            ready_stuck=ready_stuck,
            stall=stall_state,
            span_drop=_ratio(span_drop, "--fault-span-drop"),
            breaks=_breaks(list(breaks)),
        )


def _latency_json(raw: object) -> tuple[LatencyFault, ...]:
    """``latency``: a list of ``{"ratio": R, "seconds": S}``."""
    if not isinstance(raw, list):
        raise FaultError("latency: expected a list of {ratio, seconds}")
    latency = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != {"ratio", "seconds"}:
            raise FaultError(f'latency[{i}]: expected {{"ratio": R, "seconds": S}}')
        latency.append(
            LatencyFault(
                _ratio(item["ratio"], f"latency[{i}].ratio"),
                _seconds(item["seconds"], f"latency[{i}].seconds"),
            )
        )
    return tuple(latency)


def _live_json(raw: object) -> str | float:
    """``live``: ``"ok"`` (or null), ``"fail"``, or ``{"slow": SECONDS}``."""
    if raw in (None, "ok"):
        return "ok"
    if raw == "fail":
        return "fail"
    if isinstance(raw, Mapping) and set(raw) == {"slow"}:
        return _seconds(raw["slow"], "live.slow", positive=True)
    raise FaultError(f'live: expected "ok", "fail" or {{"slow": SECONDS}}, got {raw!r}')


def _stall_json(raw: object) -> StallFault | None:
    """``stall``: null or ``{"period": P, "duration": D}``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"period", "duration"}:
        raise FaultError('stall: expected null or {"period": P, "duration": D}')
    return _stall(raw["period"], raw["duration"])


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FaultError(f"{where}: {text!r} is not a number") from None


def _pair(text: str, where: str, form: str) -> tuple[float, float]:
    left, sep, right = text.partition(":")
    if not sep:
        raise FaultError(f"{where}: expected {form}, got {text!r}")
    return _number(left, where), _number(right, where)


def _stall(period: object, duration: object) -> StallFault:
    p = _seconds(period, "stall period", positive=True)
    d = _seconds(duration, "stall duration", positive=True)
    if d >= p:
        raise FaultError(f"stall: the duration ({d:g} s) must be shorter than the period ({p:g} s)")
    return StallFault(p, d)


def _dependencies(names: list[Any]) -> frozenset[str]:
    for name in names:
        if name not in DEPENDENCIES:
            raise FaultError(f"unknown dependency {name!r}; known: {', '.join(DEPENDENCIES)}")
    return frozenset(names)


def _breaks(names: list[Any]) -> frozenset[str]:
    for name in names:
        if name not in BREAKS:
            raise FaultError(f"unknown break {name!r}; known: {', '.join(BREAKS)}")
    return frozenset(names)
