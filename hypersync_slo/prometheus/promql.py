"""PromQL text: durations, quoted label values, ``le`` matchers and the default label names.

Every module that writes PromQL (the reporter's and the audit's queries, the generated rules
and dashboards) takes these from here, so a duration or a bucket bound is written one way.
Pure functions over numbers and strings.
"""

from __future__ import annotations

import math

from hypersync_slo.errors import ConfigError

#: The label names of the default (``hypersync``) profile; a profile may name them otherwise.
STATUS_LABEL = "http_response_status_code"
ROUTE_LABEL = "http_route"
#: The default profile's API routes: the HyperSync API, not /metrics scrapes or health checks.
DEFAULT_ROUTES = "/v1/.*"


def duration(seconds: float, *, compact: bool = False) -> str:
    """``seconds`` as a Prometheus duration, in one of two written forms.

    Default, the range form: whole milliseconds and never below 1 ms (``300`` -> ``300000ms``,
    ``61.5`` -> ``61500ms``, ``0`` -> ``1ms``), as a range selector or subquery needs a
    positive range. The reporter and the audit write their ranges so, and their reports, graph
    links and docs show that text.

    ``compact=True``: the largest whole unit (``300`` -> ``5m``, ``86400`` -> ``1d``, ``20`` ->
    ``20s``, ``2.5`` -> ``2500ms``, ``0`` -> ``0s``), for the generated rule files (``for:``,
    windows) and the audit's Pushgateway grouping key; a negative number is refused.

    Prometheus reads both forms of the same duration alike. Not a finite number: ConfigError.
    """
    if not math.isfinite(seconds) or (compact and seconds < 0):
        raise ConfigError(f"a duration must be a finite number of seconds >= 0, got {seconds!r}.")
    if not compact:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds == 0:
        return "0s"
    if seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def quote_label(value: str) -> str:
    """``value`` escaped for a double-quoted PromQL string (backslashes and quotes)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def le_spellings(bound: float) -> tuple[str, ...]:
    """How clients write the ``le`` label of a bucket bound: Python ``1.0``, Go ``1``.

    One spelling when both agree (``0.5``); the shorter first.
    """
    return tuple(sorted({repr(float(bound)), f"{bound:g}"}, key=lambda text: (len(text), text)))


def le_regex(bound: float) -> str:
    """A regex matching the ``le`` label of a bucket in every spelling (``1|1\\.0``), unquoted.

    For selector builders that quote values themselves (``Queries.selector``).
    """
    return "|".join(text.replace(".", "\\.") for text in le_spellings(bound))


def le_matcher(bound: float) -> str:
    """The PromQL matcher of a bucket bound: ``le="0.5"``, or ``le=~"1|1\\\\.0"`` for two spellings."""
    spellings = le_spellings(bound)
    if len(spellings) == 1:
        return f'le="{spellings[0]}"'
    return f'le=~"{quote_label(le_regex(bound))}"'
