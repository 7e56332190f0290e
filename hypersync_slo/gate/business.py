"""The declared business requests, sent once each, with a scrape of ``/metrics`` before and after.

docs/contracts.md §2: business counters are accountable. ``run_business_calls`` sends each request
of the SLO file's ``traffic:`` declaration that names a counter (a request whose parameter is
captured from another answer is preceded by the request that provides it), judges each answer
against the *declared* success statuses, and returns the two scrapes and the series each call
should have moved, so a check can tell that each counter grew. Nothing about one API is
hard-coded here: the packaged SLO file declares the reference HyperSync API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hypersync_slo.config import SloConfig
from hypersync_slo.exposition import ACCEPT_TEXT, Exposition
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.scrape import parse_answer, scrape
from hypersync_slo.traffic import PlannedRequest, TrafficModel, counter_name
from hypersync_slo.traffic_spec import TrafficSpec

#: Most requests sent to reach one declared request through its captures.
MAX_CHAIN = 8


@dataclass(frozen=True)
class MadeCall:
    """A declared request as sent, its answer and the counter series it should have moved."""

    request: PlannedRequest
    answer: Answer
    metric: str
    labels: Mapping[str, str] | None  # None: the answer did not give a label it must give

    @property
    def ok(self) -> bool:
        """Whether the target answered with a declared success status."""
        return self.answer.status_code in self.request.expect

    @property
    def sent(self) -> str:
        """``POST /v1/receipts`` as sent (the concrete path)."""
        return f"{self.request.method} {self.request.path}"

    @property
    def expected(self) -> str:
        """The declared success statuses, e.g. ``202`` or ``200 or 204``."""
        return " or ".join(map(str, self.request.expect))


@dataclass(frozen=True)
class BusinessTraffic:
    """Two scrapes around the business calls."""

    before: Exposition
    after: Exposition
    before_answer: Answer
    after_answer: Answer
    calls: tuple[MadeCall, ...]


def counter_total(expo: Exposition, name: str, labels: Mapping[str, str]) -> float | None:
    """Sum of the counter ``name``'s series whose labels include ``labels``; None when absent.

    ``name`` may be given with or without ``_total``; ``_created`` series never count.
    """
    bare = name.removesuffix("_total")
    total: float | None = None
    for sample in expo.series():
        if sample.name not in (name, bare, f"{bare}_total"):
            continue
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            total = (total or 0.0) + sample.value
    return total


def send(target: TargetClient, planned: PlannedRequest) -> Answer:
    """Send one planned request as declared (path, body, declared headers)."""
    return target.request(
        planned.method,
        planned.path,
        content=planned.body,
        headers=dict(planned.headers),
        expected=f"HTTP {' or '.join(map(str, planned.expect))} for {planned.name}",
    )


def probe_request(config: SloConfig) -> PlannedRequest:
    """The request the tracing and request-ID checks send: the declared ``traffic.probe`` (by
    default the first GET without captured parameters), else a GET of the health path."""
    model = TrafficModel(config.traffic, seed="hypersync-slo gate probe")
    spec = config.traffic.probe_request
    return model.plan(spec.name if spec is not None else config.traffic.health_name)


def run_business_calls(target: TargetClient, config: SloConfig) -> BusinessTraffic:
    """Scrape, send each declared request that names a counter, scrape again."""
    model = TrafficModel(config.traffic, seed="hypersync-slo gate")
    before_answer = scrape(target, ACCEPT_TEXT)
    before = parse_answer(before_answer)
    made: list[MadeCall] = []
    counted = config.traffic.counted
    if not config.http.catalogue and config.traffic == TrafficSpec.default():
        # A non-HyperSync profile without its own traffic declaration: the packaged requests
        # are HyperSync's API, not this service's, so there is nothing of its own to send.
        counted = ()
    for spec in counted:
        assert spec.counter is not None
        for _ in range(MAX_CHAIN):
            planned = model.plan(spec.name)
            answer = send(target, planned)
            if planned.name != spec.name:  # a request providing a captured value
                model.settle(planned, answer.status_code, answer.content)
                if answer.status_code not in planned.expect:
                    made.append(MadeCall(planned, answer, "", None))
                    break
                continue
            series = model.series(planned, answer.status_code, answer.content)
            made.append(
                MadeCall(
                    planned,
                    answer,
                    counter_name(spec.counter.metric, config.metric),
                    None if series is None else series[1],
                )
            )
            break
    after_answer = scrape(target, ACCEPT_TEXT)
    after = parse_answer(after_answer)
    return BusinessTraffic(before, after, before_answer, after_answer, tuple(made))
