"""Reconciliation: what the load generator sent and saw vs what the service recorded.

Given a load run's ``load-result.json`` (a ``LoadResult``) and the server's numbers for the same
window, each disagreement beyond tolerance is a ``Discrepancy``: request counts (a scrape gap,
series that disappeared, a target restart), error counts, client vs server percentiles (time
spent before the service's timer starts, or a missing label) and business counters vs business
calls sent: every counter the traffic declaration names (``business_plan``), keyed ``{metric:
{"label=value,...": n}}`` on both sides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import explain
from hypersync_slo.report.kpis import QuantileEstimate
from hypersync_slo.results import LoadResult
from hypersync_slo.traffic import counter_name

#: The load result's latency keys and the quantile each stands for.
CLIENT_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}


@dataclass(frozen=True)
class Tolerances:
    """How far client and server may disagree before it is a finding."""

    count_relative: float = 0.02
    count_absolute: float = 2.0
    latency_below: float = 0.005
    latency_above_relative: float = 0.5
    latency_above_absolute: float = 0.02


@dataclass(frozen=True)
class Discrepancy:
    """One disagreement beyond tolerance between the client, the server (and the log), explained.

    Reported as a finding: an item of ``findings`` in verdict.json and the report pages.
    """

    kind: str
    subject: str
    client: float | None
    server: float | None
    tolerance: str
    message: str
    #: The log source's figure, for findings that involve it (``log_*`` kinds).
    log: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``findings`` items of verdict.json)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "subject": self.subject,
            "client": self.client,
            "server": self.server,
            "tolerance": self.tolerance,
            "message": self.message,
        }
        if self.log is not None:
            out["log"] = self.log
        return out


@dataclass
class ServerCounts:
    """The server's side of a window, as the reporter read it from Prometheus."""

    requests: float | None = None
    errors: float | None = None
    requests_method: str = ""
    quantiles: Mapping[str, QuantileEstimate | None] = field(default_factory=dict)
    business: Mapping[str, float | Mapping[str, float] | None] = field(default_factory=dict)
    by_route: Mapping[str, float] = field(default_factory=dict)
    #: Why some server figures could not be read (a failed query), or None: a missing figure
    #: is then "unknown", never "absent".
    unreadable: str | None = None


def _count_tolerance(expected: float, tol: Tolerances) -> float:
    return max(tol.count_absolute, tol.count_relative * expected)


def _tolerance_text(tol: Tolerances) -> str:
    return f"max({tol.count_absolute:g}, {tol.count_relative:.0%} of the client count)"


def _count_finding(
    kind: str,
    subject: str,
    client: float,
    server: float | None,
    *,
    tol: Tolerances,
    hint: str,
    unreadable: str | None = None,
) -> Discrepancy | None:
    if server is None and unreadable is not None:
        return Discrepancy(
            kind,
            subject,
            client,
            None,
            _tolerance_text(tol),
            explain(
                f"{subject}: the client sent {client:g}; the server's count could not be read",
                client=f"{client:g}",
                server=f"unknown (the query failed: {unreadable})",
                likely_cause="Prometheus failed during the report; see the errors",
            ),
        )
    if server is None:
        return Discrepancy(
            kind,
            subject,
            client,
            None,
            _tolerance_text(tol),
            explain(
                f"{subject}: the client sent {client:g} but Prometheus has no such series",
                client=f"{client:g}",
                server="absent (no series in the window)",
                likely_cause="a missing label or metric, or a scrape gap covering the window",
            ),
        )
    if abs(client - server) <= _count_tolerance(client, tol):
        return None
    return Discrepancy(
        kind,
        subject,
        client,
        server,
        _tolerance_text(tol),
        explain(
            f"{subject}: client and server counts disagree",
            client=f"{client:g} (load generator)",
            server=f"{server:.6g} (prometheus)",
            tolerance=_tolerance_text(tol),
            likely_cause=hint,
        ),
    )


def client_requests(
    load_result: LoadResult, routes: str | None
) -> tuple[float | None, float | None, dict[str, float]]:
    """(requests, errors, requests per "METHOD route") the client sent to the judged routes.

    Uses ``by_request`` when the load result has it, so health probes in the traffic mix are
    not compared with the API routes' counters; else the totals.
    """
    by_request = load_result.by_request
    if not by_request:
        return _number(load_result.requests), _number(load_result.errors), {}
    pattern = re.compile(routes) if routes else None
    requests = errors = 0.0
    per_route: dict[str, float] = {}
    for name, entry in by_request.items():
        route = str(name).partition(" ")[2] or str(name)
        if pattern is not None and not pattern.fullmatch(route):
            continue
        if not isinstance(entry, Mapping):
            continue
        count = _number(entry.get("requests")) or 0.0
        requests += count
        errors += _number(entry.get("errors")) or 0.0
        per_route[str(name)] = count
    return requests, errors, per_route


def reconcile(
    load_result: LoadResult,
    server: ServerCounts,
    tol: Tolerances | None = None,
    *,
    routes: str | None = None,
) -> list[Discrepancy]:
    """Every client/server disagreement beyond tolerance, as findings (empty when they agree).

    ``routes`` is the route regex the server counts were restricted to; the client's counts
    are restricted the same way.
    """
    tol = tol or Tolerances()
    findings: list[Discrepancy] = []
    sent, client_errors, per_route = client_requests(load_result, routes)
    if sent is not None and sent > 0:
        hint = (
            "the server saw fewer: requests lost before the service (connection errors, "
            "timeouts), a scrape gap or a target restart"
            if server.requests is not None and server.requests < sent
            else "the server saw more: other traffic in the window, or the window is wider "
            "than the load's"
        )
        found = _count_finding(
            "request_count",
            "requests",
            sent,
            server.requests,
            tol=tol,
            hint=hint,
            unreadable=server.unreadable,
        )
        if found:
            findings.append(found)
    if server.by_route:
        for name, count in per_route.items():
            if count <= 0:
                continue
            found = _count_finding(
                "route_count",
                name,
                count,
                server.by_route.get(name),
                tol=tol,
                unreadable=server.unreadable,
                hint="the route's label differs between client and server (a missing or "
                "renamed http_route), or requests to it were lost",
            )
            if found:
                findings.append(found)
    if (
        client_errors is not None
        and server.errors is not None
        and sent
        and server.errors > client_errors + _count_tolerance(client_errors, tol)
    ):
        findings.append(
            Discrepancy(
                "error_count",
                "errors",
                client_errors,
                server.errors,
                _tolerance_text(tol),
                explain(
                    "errors: the server counted more 5xx than the client saw errors",
                    client=f"{client_errors:g} (all causes)",
                    server=f"{server.errors:.6g} 5xx (prometheus)",
                    likely_cause="traffic from another client in the window",
                ),
            )
        )
    if (
        client_errors
        and server.errors is not None
        and client_errors > server.errors + _count_tolerance(server.errors, tol)
    ):
        causes = _client_causes(load_result, routes)
        findings.append(
            Discrepancy(
                "client_errors",
                "errors",
                client_errors,
                server.errors,
                _tolerance_text(tol),
                explain(
                    "errors: the client counted errors the server did not count as 5xx",
                    client=f"{client_errors:g} (load generator, all causes)",
                    server=f"{server.errors:.6g} 5xx (prometheus)",
                    client_causes="; ".join(f"{cause} x{n:g}" for cause, n in causes[:5])
                    or "not in the load result",
                    likely_cause="answers outside the declared success statuses "
                    "(traffic.requests[].expect: a declaration that differs from the API, or ids "
                    "the service never issued), or transport errors before the service",
                ),
            )
        )
    findings.extend(_latency_findings(load_result, server, tol))
    findings.extend(_business_findings(load_result, server, tol))
    return findings


def _client_causes(load_result: LoadResult, routes: str | None) -> list[tuple[str, float]]:
    """The client's error causes on the judged routes, most frequent first (each names its
    request: ``404 Not Found on GET /x/{id}``; transport causes get `` on NAME`` added)."""
    by_request = load_result.by_request
    pattern = re.compile(routes) if routes else None
    found: dict[str, float] = {}
    for name, entry in by_request.items():
        route = str(name).partition(" ")[2] or str(name)
        if pattern is not None and not pattern.fullmatch(route):
            continue
        causes = entry.get("errors_by_cause") if isinstance(entry, Mapping) else None
        if not isinstance(causes, Mapping):
            continue
        for cause, count in causes.items():
            text = str(cause) if str(cause).endswith(f" on {name}") else f"{cause} on {name}"
            found[text] = found.get(text, 0.0) + (_number(count) or 0.0)
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _latency_findings(
    load_result: LoadResult, server: ServerCounts, tol: Tolerances
) -> list[Discrepancy]:
    latency = load_result.latency
    client: Mapping[str, Any] = latency.get("uncorrected") or latency.get("corrected") or {}
    findings: list[Discrepancy] = []
    for key in CLIENT_QUANTILES:
        seen = _number(client.get(key))
        estimate = server.quantiles.get(key)
        if seen is None or estimate is None:
            continue
        low, high = estimate.lower, estimate.upper
        allowed_high = high + max(tol.latency_above_absolute, tol.latency_above_relative * high)
        if seen < low - tol.latency_below:
            cause = (
                "the client saw it faster than the server's histogram: the series are not the "
                "same requests (a missing or wrong label, or another client's traffic)"
            )
        elif math.isfinite(allowed_high) and seen > allowed_high:
            cause = (
                "time spent before the service's timer starts (accept queue, event loop, "
                "network) or in the load generator itself"
            )
        else:
            continue
        findings.append(
            Discrepancy(
                "latency",
                f"latency {key}",
                seen,
                estimate.value,
                f"inside [{low:g} s - {tol.latency_below:g} s, {allowed_high:g} s]",
                explain(
                    f"latency {key}: client and server disagree",
                    client=f"{seen * 1000:.4g} ms (load generator, uncorrected)",
                    server=(
                        f"{estimate.value * 1000:.4g} ms, between buckets {low:g} s and "
                        f"{high:g} s (prometheus histogram)"
                    ),
                    likely_cause=cause,
                ),
            )
        )
    return findings


@dataclass(frozen=True)
class BusinessQuery:
    """One declared counter to read from Prometheus: its declared name, the metric it resolves
    to (a catalogue role's metric, else the name itself) and the labels it is grouped by."""

    metric: str
    metric_name: str
    labels: tuple[str, ...]

    def label_key(self, server_key: str) -> str:
        """A Prometheus group key (label values joined by a space) as the load result's
        ``"label=value,..."`` key (only the last value may itself hold a space)."""
        if not self.labels:
            return ""
        values = server_key.split(" ", len(self.labels) - 1)
        values += [""] * (len(self.labels) - len(values))
        return ",".join(f"{k}={v}" for k, v in zip(self.labels, values, strict=True))


def business_plan(config: SloConfig) -> list[BusinessQuery]:
    """The counters the traffic declaration names, one query per metric and label set."""
    plans: dict[tuple[str, tuple[str, ...]], BusinessQuery] = {}
    for spec in config.traffic.counted:
        assert spec.counter is not None
        labels = spec.counter.label_names
        key = (spec.counter.metric, labels)
        if key not in plans:
            name = counter_name(spec.counter.metric, config.metric)
            plans[key] = BusinessQuery(spec.counter.metric, name, labels)
    return list(plans.values())


def _business_findings(
    load_result: LoadResult, server: ServerCounts, tol: Tolerances
) -> list[Discrepancy]:
    """Each declared counter series the load moved vs the server's growth of that series."""
    calls: Mapping[str, Any] = load_result.business_calls
    findings: list[Discrepancy] = []
    hint = (
        "the counter did not grow by the successful calls sent: a frozen or double-counting "
        "counter, a label that differs from the declaration, or a scrape gap"
    )
    for metric, sent in calls.items():
        if metric not in server.business and server.unreadable is None:
            continue  # not declared in this SLO file's traffic: nothing to compare with
        have = server.business.get(metric)
        server_map = have if isinstance(have, Mapping) else {"": have} if have is not None else {}
        counts = sent if isinstance(sent, Mapping) else {"": sent}
        for label, count in counts.items():
            client = _number(count)
            if client is None or client <= 0:
                continue
            got = server_map.get(str(label)) if have is not None else None
            subject = f"{metric}{{{label}}}" if label else str(metric)
            found = _count_finding(
                "business_counter",
                subject,
                client,
                got,
                tol=tol,
                unreadable=server.unreadable,
                hint=hint,
            )
            if found:
                findings.append(found)
    return findings


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class LogCounts:
    """The log source's side of a window: request and 5xx lines, per route, exact quantiles."""

    requests: float
    errors: float
    by_route: Mapping[str, float] = field(default_factory=dict)
    quantiles: Mapping[str, float | None] = field(default_factory=dict)
    where: str = "the log"


def reconcile_log(
    log: LogCounts,
    server: ServerCounts | None,
    load_result: LoadResult | None,
    tol: Tolerances | None = None,
    *,
    routes: str | None = None,
) -> list[Discrepancy]:
    """Where the log disagrees with Prometheus (``server``) or with the load generator.

    Against Prometheus: request and 5xx counts, counts per route, and each exact log quantile,
    which must lie inside the bucket the histogram's estimate names (both sources see the same
    requests, so an exact value outside the bucket means they did not). A histogram that counts
    fewer 5xx than the log shows under-counts errors: the error rate judged from it is too good.
    Against the client: requests sent vs request lines, and errors seen vs 5xx lines.
    """
    tol = tol or Tolerances()
    findings: list[Discrepancy] = []
    if server is not None:
        findings.extend(_log_vs_server(log, server, tol))
    if load_result is not None:
        findings.extend(_log_vs_client(log, load_result, tol, routes))
    return findings


def _log_vs_server(log: LogCounts, server: ServerCounts, tol: Tolerances) -> list[Discrepancy]:
    findings: list[Discrepancy] = []
    tolerance = f"max({tol.count_absolute:g}, {tol.count_relative:.0%} of the log count)"

    def count(kind: str, subject: str, logged: float, seen: float | None, cause: str) -> None:
        if seen is not None and abs(logged - seen) <= _count_tolerance(logged, tol):
            return
        findings.append(
            Discrepancy(
                kind,
                subject,
                None,
                seen,
                tolerance,
                explain(
                    f"{subject}: the log and Prometheus disagree",
                    log=f"{logged:g} lines ({log.where})",
                    server=(
                        f"{seen:.6g} (prometheus)"
                        if seen is not None
                        else f"unknown (the query failed: {server.unreadable})"
                        if server.unreadable
                        else "absent (no series)"
                    ),
                    tolerance=tolerance,
                    likely_cause=cause,
                ),
                log=logged,
            )
        )

    if server.requests is not None or log.requests:
        count(
            "log_request_count",
            "requests",
            log.requests,
            server.requests,
            "requests the histogram did not observe (or lines the log lost), a scrape gap, "
            "or a window that differs between the two",
        )
    if server.errors is not None and log.errors > server.errors + _count_tolerance(log.errors, tol):
        findings.append(
            Discrepancy(
                "log_error_count",
                "errors",
                None,
                server.errors,
                tolerance,
                explain(
                    "errors: the histogram under-counts the 5xx the log shows",
                    log=f"{log.errors:g} 5xx lines ({log.where})",
                    server=f"{server.errors:.6g} 5xx (prometheus)",
                    tolerance=tolerance,
                    likely_cause="the service does not observe failed requests in its latency "
                    "histogram (or labels them otherwise): the error rate judged from "
                    "Prometheus is too good",
                ),
                log=log.errors,
            )
        )
    elif server.errors is not None and server.errors > log.errors + _count_tolerance(
        log.errors, tol
    ):
        count(
            "log_error_count",
            "errors",
            log.errors,
            server.errors,
            "5xx the log does not show: lost log lines, or traffic logged elsewhere",
        )
    if server.by_route:
        for name, logged in sorted(log.by_route.items()):
            count(
                "log_route_count",
                name,
                logged,
                server.by_route.get(name),
                "the route's label differs between the log and the histogram, or requests to it "
                "were not observed",
            )
    for key, estimate in server.quantiles.items():
        exact = log.quantiles.get(key)
        if exact is None or estimate is None:
            continue
        if estimate.lower - 1e-6 <= exact <= estimate.upper + 1e-6:
            continue
        findings.append(
            Discrepancy(
                "log_latency",
                f"latency {key}",
                None,
                estimate.value,
                f"inside the bucket [{estimate.lower:g} s, {estimate.upper:g} s]",
                explain(
                    f"latency {key}: the log's exact value lies outside the histogram's bucket",
                    log=f"{exact * 1000:.4g} ms (exact, {log.where})",
                    server=f"{estimate.value * 1000:.4g} ms, between buckets {estimate.lower:g} s "
                    f"and {estimate.upper:g} s (prometheus histogram)",
                    likely_cause="the histogram and the log do not hold the same requests "
                    "(requests missing from one of them, or a different window)",
                ),
                log=exact,
            )
        )
    return findings


def _log_vs_client(
    log: LogCounts, load_result: LoadResult, tol: Tolerances, routes: str | None
) -> list[Discrepancy]:
    findings: list[Discrepancy] = []
    sent, client_errors, _ = client_requests(load_result, routes)
    if sent is None or sent <= 0:
        return findings
    tolerance = _tolerance_text(tol)
    if abs(sent - log.requests) > _count_tolerance(sent, tol):
        findings.append(
            Discrepancy(
                "log_request_count",
                "requests (client vs log)",
                sent,
                None,
                tolerance,
                explain(
                    "requests: the client and the log disagree",
                    client=f"{sent:g} (load generator)",
                    log=f"{log.requests:g} request lines ({log.where})",
                    tolerance=tolerance,
                    likely_cause="requests lost before the service, log lines lost or not yet "
                    "flushed, or another client's traffic in the log",
                ),
                log=log.requests,
            )
        )
    if client_errors is not None and log.errors > client_errors + _count_tolerance(
        client_errors, tol
    ):
        findings.append(
            Discrepancy(
                "log_error_count",
                "errors (client vs log)",
                client_errors,
                None,
                tolerance,
                explain(
                    "errors: the log shows more 5xx than the client saw errors",
                    client=f"{client_errors:g} (all causes)",
                    log=f"{log.errors:g} 5xx lines ({log.where})",
                    likely_cause="traffic from another client in the window",
                ),
                log=log.errors,
            )
        )
    return findings
