"""PromQL builders over a service's HTTP request metrics, from the SLO file's profile.

``Queries`` writes the selectors (job, API routes, extra matchers) and the KPI queries of the
reporter; the audit builds its budget queries on the same selectors. Window totals are instant
queries evaluated at the window's end over a range equal to the window (``increase(x[D])`` at
``time=end``): Prometheus aggregates on its side, so a 30-day window costs the same few
queries as a 30-second one. Time series for the plots and the worst 60 s sub-window are range
queries with a step chosen to stay under 11 000 points. Pure functions over the frozen config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hypersync_slo.config import SloConfig
from hypersync_slo.profiles import HttpMetrics, profile
from hypersync_slo.prometheus.promql import duration, quote_label
from hypersync_slo.traffic_spec import TrafficSpec


@dataclass(frozen=True)
class Queries:
    """Every PromQL query the reporter sends, for one profile, job and route filter.

    ``routes`` is a regex over the profile's route label; None takes the profile's API routes
    (``metrics.http.api_routes``), ``""`` judges every route.
    """

    config: SloConfig
    job: str | None = None
    routes: str | None = None

    @property
    def http(self) -> HttpMetrics:
        """The SLO file's instrumentation profile."""
        return self.config.http

    @property
    def route_filter(self) -> str:
        """The route regex in effect ("" for every route)."""
        return self.http.api_routes if self.routes is None else self.routes

    @property
    def status_label(self) -> str:
        """The status label of the series that count requests."""
        return self.http.status

    @property
    def route_key(self) -> tuple[str, str]:
        """The method and route labels, as reconciliation keys requests (``POST /v1/receipts``)."""
        return (self.http.method_label, self.http.route_label)

    def selector(self, extra: Mapping[str, str] | None = None, *, routes: bool = True) -> str:
        """``{job="x",http_route=~"/v1/.*",...}``; ``extra`` values starting with ``~`` are regexes."""
        matchers: list[str] = []
        if self.job:
            matchers.append(f'job="{quote_label(self.job)}"')
        if routes and self.route_filter:
            matchers.append(f'{self.http.route_label}=~"{quote_label(self.route_filter)}"')
        for label, value in (extra or {}).items():
            if value.startswith("~"):
                matchers.append(f'{label}=~"{quote_label(value[1:])}"')
            else:
                matchers.append(f'{label}="{quote_label(value)}"')
        return "{" + ",".join(matchers) + "}"

    def buckets(self, seconds: float) -> str:
        """Cumulative bucket counts over the window, summed by ``le`` (the histogram's unit)."""
        return f"sum by (le) (increase({self.http.bucket}{self.selector()}[{duration(seconds)}]))"

    def requests_by_status(self, seconds: float) -> str:
        """Completed requests over the window per status code (or status class)."""
        return (
            f"sum by ({self.status_label}) "
            f"(increase({self.http.requests}{self.selector()}[{duration(seconds)}]))"
        )

    def bucket_series(self) -> str:
        """The raw bucket counters of the latency histogram."""
        return f"{self.http.bucket}{self.selector()}"

    def count_series(self) -> str:
        """The raw request counters per status (the histogram's ``_count``, or the counter)."""
        return f"{self.http.requests}{self.selector()}"

    def scraped(self) -> str:
        """How many of the job's targets had a successful scrape in the last 5 minutes."""
        return f"count(max_over_time(up{self.selector(routes=False)}[5m]) == 1)"

    def scrapes(self, seconds: float) -> str:
        """The most scrapes any of the job's targets had in the window (for the interval)."""
        return f"max(count_over_time(up{self.selector(routes=False)}[{duration(seconds)}]))"

    def business_series(self, role: str, **match: str) -> str:
        """The raw series of a business counter."""
        return f"{self.config.metric(role)}{self.selector(match, routes=False)}"

    def requests_by_route(self, seconds: float) -> str:
        """Completed requests over the window per method and route."""
        method, route = self.route_key
        return (
            f"sum by ({method}, {route}) "
            f"(increase({self.http.requests}{self.selector()}[{duration(seconds)}]))"
        )

    def raw_request_counters(self) -> str:
        """The raw request counters, one series per label set (for exact, reset-aware counts)."""
        return f"{self.http.requests}{self.selector()}"

    def availability(self, metric: str, seconds: float) -> tuple[str, str]:
        """(successful checks, all checks) over the window from a 0/1 series such as ``up``."""
        sel = self.selector(routes=False)
        d = duration(seconds)
        return (
            f"sum(sum_over_time({metric}{sel}[{d}]))",
            f"sum(count_over_time({metric}{sel}[{d}]))",
        )

    def present(self, metric: str) -> str:
        """How many series of ``metric`` exist for the job right now."""
        return f"count({metric}{self.selector(routes=False)})"

    def throughput_rate(self, width: float) -> str:
        """Completed requests per second, averaged over the ``width`` seconds before each point."""
        return f"sum(rate({self.http.requests}{self.selector()}[{duration(width)}]))"

    def error_rate_series(self, width: float) -> str:
        """Failed (server error) requests per second, over ``width`` before each point."""
        sel = self.selector({self.status_label: "~" + self.http.server_error})
        return f"sum(rate({self.http.requests}{sel}[{duration(width)}]))"

    def quantile_series(self, q: float, width: float) -> str:
        """``histogram_quantile`` over ``width`` before each point, in seconds."""
        return self.http.in_seconds(
            f"histogram_quantile({q:g}, sum by (le) "
            f"(rate({self.http.bucket}{self.selector()}[{duration(width)}])))"
        )

    def business(self, role: str, by: str | None, seconds: float, **match: str) -> str:
        """Growth of a business counter over the window, optionally per label ``by``."""
        metric = self.config.metric(role)
        inner = f"increase({metric}{self.selector(match, routes=False)}[{duration(seconds)}])"
        return f"sum by ({by}) ({inner})" if by else f"sum({inner})"

    def bucket_bounds(self) -> str:
        """The ``le`` values of the latency histogram (for the bucket preflight)."""
        return f"count by (le) ({self.http.bucket}{self.selector(routes=False)})"


def buckets_in_seconds(http: HttpMetrics, by_le: Mapping[str, float]) -> dict[str, float]:
    """``{le: count}`` of a histogram in ``http``'s unit, with the bounds in seconds."""
    if http.unit == "s":
        return dict(by_le)
    out: dict[str, float] = {}
    for le, count in by_le.items():
        try:
            bound = float(le)
        except ValueError:
            out[le] = count
            continue
        out[repr(http.seconds(bound))] = count
    return out


def default_routes(config: SloConfig) -> str:
    """The route regex judged when ``--routes`` is not given: the SLO file's own
    ``metrics.http.api_routes`` when it sets one, else exactly the path templates its traffic
    declares (``traffic:`` or ``--traffic``) when it declares any, else the profile's API routes
    (``/v1/.*`` for the hypersync profile; "" for every route)."""
    explicit = config.http.api_routes != profile(config.http.profile).api_routes
    declared = config.traffic != TrafficSpec.default()
    if declared and not explicit:
        return config.traffic.route_regex
    return config.http.api_routes
