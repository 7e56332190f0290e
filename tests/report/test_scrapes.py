"""Scrape coverage: the scrapes bracketing a window, and waiting (bounded) for the one after it."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from hypersync_slo.prometheus.client import PrometheusClient, RecordedAnswers
from hypersync_slo.report import scrapes
from hypersync_slo.report.scrapes import settle_bound, wait_for_coverage

END = 1_800_000_000.0
START = END - 60.0
UP = 'up{job="hypersync"}'


class ScrapingPrometheus:
    """Serves the raw ``up`` samples of two targets scraped every ``interval`` seconds (phases
    0 and a third of it), as stored by ``now``: a sample exists once its scrape has happened."""

    def __init__(
        self, interval: float, *, stop_at: float | None = None, first_at: float | None = None
    ) -> None:
        self.interval = interval
        self.stop_at = stop_at
        self.first_at = first_at
        self.now = END

    def answer(self, path: str, params: Mapping[str, str]) -> tuple[int, str]:
        """The samples in the range of the query at its time, none later than ``now``."""
        at = min(float(params["time"]), self.now)
        width = float(params["query"].rsplit("[", 1)[1].removesuffix("ms]")) / 1000
        result = []
        for offset, instance in ((0.0, "a:1"), (self.interval / 3, "b:1")):
            values = []
            moment = START - 300 + offset
            while moment <= at:
                kept = (self.stop_at is None or moment < self.stop_at) and (
                    self.first_at is None or moment >= self.first_at
                )
                if moment > at - width and kept:
                    values.append([moment, "1"])
                moment += self.interval
            result.append({"metric": {"job": "hypersync", "instance": instance}, "values": values})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return 200, json.dumps(body)

    def client(self) -> PrometheusClient:
        """A client talking to this fake."""
        return PrometheusClient(
            "http://prometheus.fake:9090", transport=RecordedAnswers(self.answer)
        )

    def sleep(self, seconds: float) -> None:
        """The fake's time passes."""
        self.now += seconds

    def clock(self) -> float:
        """The fake's wall clock."""
        return self.now


@pytest.mark.parametrize("interval", [1.0, 15.0, 30.0])
def test_wait_ends_at_the_first_scrape_of_every_target_after_the_end(interval: float) -> None:
    """Settled once both targets were scraped after the end; waited at most one interval."""
    fake = ScrapingPrometheus(interval)
    coverage = wait_for_coverage(fake.client(), UP, START, END, clock=fake.clock, sleep=fake.sleep)
    assert coverage.settled
    assert coverage.interval == pytest.approx(interval)
    assert [t.target for t in coverage.targets] == ["hypersync/a:1", "hypersync/b:1"]
    for target in coverage.targets:
        assert target.after is not None
        assert END < target.after <= END + interval
        assert target.before is not None
        assert START - interval < target.before <= START
    assert coverage.counted_until == max(t.after for t in coverage.targets if t.after)
    assert coverage.waited <= interval + 0.5
    assert not coverage.exact  # nobody said the edges were quiet


def test_wait_gives_up_after_two_intervals_and_says_which_target() -> None:
    """Scrapes stop at the window's end: the wait gives up 2 × 15 s + 5 s after it, unsettled."""
    fake = ScrapingPrometheus(15.0, stop_at=END)
    coverage = wait_for_coverage(fake.client(), UP, START, END, clock=fake.clock, sleep=fake.sleep)
    assert not coverage.settled
    assert settle_bound(15.0) == 35.0
    assert coverage.bound == 35.0
    assert fake.now == pytest.approx(END + 35.0, abs=0.3)
    assert coverage.unsettled_reason() == (
        "no successful scrape of hypersync/a:1, hypersync/b:1 after the window's end "
        "(2027-01-15T08:00:00.000Z) within 35 s (scrape interval 15 s): the window's last "
        "requests are not in Prometheus, so its counts would be short"
    )


def test_a_window_that_ended_long_ago_is_answered_at_once() -> None:
    """Reporting an old window polls once: its scrapes after the end are already stored."""
    fake = ScrapingPrometheus(15.0)
    fake.now = END + 3600
    coverage = wait_for_coverage(fake.client(), UP, START, END, clock=fake.clock, sleep=fake.sleep)
    assert coverage.settled
    assert fake.now == END + 3600
    assert coverage.end_gap is not None
    assert coverage.end_gap <= 15.0


def test_edges_are_covered_when_the_caller_vouches_for_quiet() -> None:
    """Quiet since before both baselines and a load's end: the counts are exact."""
    fake = ScrapingPrometheus(15.0)
    coverage = wait_for_coverage(
        fake.client(),
        UP,
        START,
        END,
        quiet_since=START - 20,
        quiet_after_end=True,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert coverage.start_covered
    assert coverage.end_covered
    assert coverage.exact
    late = wait_for_coverage(
        fake.client(), UP, START, END, quiet_since=START - 1, clock=fake.clock, sleep=fake.sleep
    )
    assert not late.start_covered  # a baseline scrape before the quiet began sees other traffic
    assert late.edge_notes()[0].startswith("start edge: the last scrape before the window was at")


def test_waiting_for_a_scrape_works_when_prometheus_has_not_scraped_yet() -> None:
    """Prometheus started after the moment: the targets it has scraped since then count."""
    fake = ScrapingPrometheus(30.0, first_at=END + 7)
    coverage = scrapes.wait_for_scrape_after(
        fake.client(), UP, END, clock=fake.clock, sleep=fake.sleep
    )
    assert coverage.settled
    assert [t.target for t in coverage.targets] == ["hypersync/b:1"]  # a:1 not scraped yet
    assert fake.now < END + 11.0  # not the 60 s bound of an unknown interval
