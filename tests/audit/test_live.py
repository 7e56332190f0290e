"""The audit against a real Prometheus holding a backfilled 30-day history with planted facts.

Expected figures are computed here by hand from the generator's per-minute increments
(the counters' true growth), not by the code under test. Stated precision: event counts and
slice counts exact (Prometheus's ``increase`` over windows whose ends fall on samples does not
extrapolate); ratios, burn rates and times to exhaustion to a relative 1e-9.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.request import urlopen

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.audit.budget import BURN_RATE_WINDOWS
from hypersync_slo.audit.criteria import Evaluation
from hypersync_slo.audit.model import AuditReport
from hypersync_slo.audit.period import audit_period
from hypersync_slo.audit.publish import publish
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import PrometheusUnavailable, SuiteFault
from hypersync_slo.processes import free_port
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.verdicts import Verdict
from tests.audit.conftest import DAY, DOWN, END, GAP, OUTAGE, START, Backfilled
from tests.audit.synthetic import Increments

REL = 1e-9
BUDGET = 0.001


def at(unix: float) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(unix, UTC)


def sums(inc: Increments, t0: float, t1: float) -> tuple[int, int]:
    """(requests, 5xx) counted in (t0, t1]: the counters' growth, by hand."""
    total = bad = 0
    for i, t in enumerate(inc.times):
        if t0 < t <= t1:
            total += inc.total[i]
            bad += inc.errors[i]
    return total, bad


def slices(inc: Increments, t0: float, t1: float) -> tuple[int, int, int]:
    """(1-minute slices with request data, bad ones among them, slices with the target down)
    in (t0, t1]: a slice has data when the request samples at both its ends exist; it is bad
    when its error ratio exceeds 0.1 %; it is down when ``up`` was scraped as 0 at both ends."""
    sampled = {t for i, t in enumerate(inc.times) if inc.sampled[i]}
    down_at = {t for i, t in enumerate(inc.times) if inc.scraped[i] and not inc.up[i]}
    index = {t: i for i, t in enumerate(inc.times)}
    with_data = bad = down = 0
    t = t0 + 60
    while t <= t1:
        if t in sampled and t - 60 in sampled:
            with_data += 1
            i = index[t]
            if inc.total[i] and inc.errors[i] / inc.total[i] > BUDGET:
                bad += 1
        if t in down_at and t - 60 in down_at:
            down += 1
        t += 60
    return with_data, bad, down


@pytest.fixture(scope="module")
def increments(backfilled: Backfilled) -> Increments:
    """The generator's per-minute truth."""
    return backfilled.history.increments()


@pytest.fixture(scope="module")
def report(backfilled: Backfilled) -> AuditReport:
    """The 30-day audit ending at END."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        return audit_period(client, SloConfig.load(None), at(START), at(END), job="hypersync")


def test_event_based_budget_matches_hand_count(report: AuditReport, increments: Increments) -> None:
    """Events, bad events and the budget total/consumed/remaining equal the hand count exactly."""
    total, bad = sums(increments, START, END)
    success = report.slos[0]
    assert success.name == "success_rate"
    assert success.events.units == total
    assert success.events.bad == bad
    assert success.events.total == pytest.approx(total * BUDGET, rel=REL)
    assert success.events.remaining == pytest.approx(total * BUDGET - bad, rel=REL)
    assert success.events.compliance == pytest.approx(1 - bad / total, rel=REL)
    # The planted outage alone: 2 h of 10 % errors.
    outage_total, outage_bad = sums(increments, OUTAGE.start, OUTAGE.start + OUTAGE.seconds)
    assert outage_bad == sum(round(n * 0.1) for n in _per_minute(increments, OUTAGE))
    assert outage_bad > 0.2 * total * BUDGET  # the outage burned more than a fifth of the budget
    assert outage_total > 0


def _per_minute(inc: Increments, outage: object) -> list[int]:
    return [
        inc.total[i]
        for i, t in enumerate(inc.times)
        if OUTAGE.start < t <= OUTAGE.start + OUTAGE.seconds
    ]


def test_time_slice_budget_matches_hand_count(report: AuditReport, increments: Increments) -> None:
    """Slices with data and bad slices equal the hand count (down minutes are bad slices);
    the 2 h outage alone exhausts the time-slice budget."""
    with_data, bad, down = slices(increments, START, END)
    success = report.slos[0]
    assert down == 29  # 30 minutes down; the first minute still had an up sample
    assert success.slices_with_data == with_data + down
    assert success.slices.bad == bad + down
    assert bad >= 120  # every minute of the outage is a bad slice
    assert success.slices.total == pytest.approx((with_data + down) * BUDGET, rel=REL)
    latency = report.slos[1]
    assert latency.slices_with_data == with_data  # down minutes say nothing about latency
    assert success.slices.exhausted
    assert success.verdict is Verdict.FAIL
    assert any("time-slice-based error budget exhausted" in r for r in success.reasons)


def test_burn_rates_match_hand_count(report: AuditReport, increments: Increments) -> None:
    """Burn rate over 1h, 6h, 1d and 3d equals (bad / total) / 0.001 by hand, with its factor."""
    rates = {r.window: r for r in report.slos[0].burn_rates}
    assert [(w, f) for w, _, f, _ in BURN_RATE_WINDOWS] == [
        ("1h", 14.4),
        ("6h", 6.0),
        ("1d", 3.0),
        ("3d", 1.0),
    ]
    for window, seconds, factor, _ in BURN_RATE_WINDOWS:
        total, bad = sums(increments, END - seconds, END)
        assert rates[window].total == total
        assert rates[window].bad == bad
        assert rates[window].rate == pytest.approx(bad / total / BUDGET, rel=REL)
        assert rates[window].factor == factor
        assert not rates[window].above_factor


def test_worst_day_is_the_outage_day(report: AuditReport, increments: Increments) -> None:
    """The worst day is day 12, the planted outage's day, with its hand-counted ratio."""
    worst = report.slos[0].worst_day
    assert worst is not None
    assert worst.start == START + 11 * DAY
    total, bad = sums(increments, worst.start, worst.end)
    assert (worst.total, worst.bad) == (total, bad)
    assert len(report.slos[0].days) == 30


def test_time_to_exhaustion_at_current_burn(report: AuditReport, increments: Increments) -> None:
    """Time to exhaustion = remaining fraction x 30 d / the 1 h burn rate, by hand."""
    total, bad = sums(increments, START, END)
    remaining = 1 - bad / (total * BUDGET)
    t1h, b1h = sums(increments, END - 3600, END)
    expected = remaining * 30 * DAY / (b1h / t1h / BUDGET)
    assert report.slos[0].time_to_exhaustion == pytest.approx(expected, rel=1e-9)


def test_latency_budget_from_the_bucket(report: AuditReport, increments: Increments) -> None:
    """latency_p95 < 100ms is '95 % within 100 ms': bad = requests above the 0.1 s bucket."""
    latency = next(s for s in report.slos if s.name == "latency_p95")
    slow = sum(
        increments.total[i] - increments.within["0.1"][i]
        for i, t in enumerate(increments.times)
        if START < t <= END
    )
    assert latency.events.bad == slow
    assert latency.events.total == pytest.approx(latency.events.units * 0.05, rel=REL)
    assert latency.verdict is Verdict.PASS


def test_gap_reduces_coverage_and_is_reported(report: AuditReport, increments: Increments) -> None:
    """The 6-hour gap costs 361 slices of coverage and is listed with its hours; the down
    half hour is covered (known down) except its 2 transition minutes."""
    with_data, _, down = slices(increments, START, END)
    assert report.coverage.slices_expected == 43200
    assert report.coverage.down_slices == down
    assert report.coverage.slices_with_data == with_data + down == 43200 - 361 - 2
    assert report.coverage.ratio == pytest.approx((with_data + down) / 43200, rel=REL)
    assert len(report.coverage.gaps) == 2
    transition = report.coverage.gaps[0]
    assert transition.start == DOWN[0] - 3600
    assert transition.missing_slices == 2
    gap = report.coverage.gaps[1]
    assert gap.start <= GAP[0]
    assert gap.end >= GAP[1]
    assert gap.missing_slices == 361
    assert report.slis["coverage"] == report.coverage.ratio


def test_occurrences_only_passes(backfilled: Backfilled) -> None:
    """Judged on events only, the 30 days are compliant (47 % of the budget consumed)."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(
            client,
            SloConfig.load(None),
            at(START),
            at(END),
            job="hypersync",
            budgeting="occurrences",
        )
    assert report.verdict is Verdict.PASS
    assert 0.3 < report.slos[0].events.consumed_fraction < 0.7


def test_outage_day_exhausts_the_budget(backfilled: Backfilled, increments: Increments) -> None:
    """Audited alone, the outage's day overspends its event budget: fail, with the figures."""
    start, end = START + 11 * DAY, START + 12 * DAY
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(
            client, SloConfig.load(None), at(start), at(end), budgeting="occurrences"
        )
    total, bad = sums(increments, start, end)
    assert report.slos[0].events.exhausted
    assert report.slos[0].events.consumed_fraction == pytest.approx(bad / (total * BUDGET), rel=REL)
    assert report.verdict is Verdict.FAIL
    assert report.slos[0].time_to_exhaustion == 0.0


def test_retention_shorter_than_the_period(backfilled: Backfilled) -> None:
    """A 40-day audit over 31 days of data: coverage 77 %, no_data, and the data start named."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(
            client, SloConfig.load(None), at(END - 40 * DAY), at(END), budgeting="occurrences"
        )
    assert report.coverage.first_data == END - 31 * DAY
    assert report.coverage.ratio < 0.8
    assert report.verdict is Verdict.NO_DATA
    assert "below the 99 % needed to claim compliance" in report.slos[0].reasons[0]


def test_no_data_never_claims_compliance(backfilled: Backfilled) -> None:
    """A job with no series: no events, no_data, coverage 0."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(client, SloConfig.load(None), at(START), at(END), job="nothing")
    assert report.verdict is Verdict.NO_DATA
    assert report.coverage.ratio == 0.0
    assert "no events" in report.slos[0].reasons[0]


def test_prometheus_down_is_unavailable() -> None:
    """Nothing listening: PrometheusUnavailable naming the URL."""
    url = f"http://127.0.0.1:{free_port()}"
    with (
        PrometheusClient(url, timeout=2, retries=0) as client,
        pytest.raises(PrometheusUnavailable) as caught,
    ):
        audit_period(client, SloConfig.load(None), at(START), at(END))
    assert url in str(caught.value)


def test_publish_to_a_real_pushgateway(report: AuditReport, pushgateway: str) -> None:
    """Every verdict and SLI reaches the Pushgateway; pushing again replaces, not duplicates."""
    publish(report, pushgateway)
    publish(report, pushgateway, criteria=Evaluation("warning", 80.0))
    with urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("hypersync_slo_audit")
    }
    group = {"audited_job": "hypersync", "job": "hypersync_slo_audit", "period": "30d"}

    def value(name: str, **labels: str) -> float:
        key = (name, tuple(sorted({**group, "instance": "", **labels}.items())))
        if key not in samples:
            key = (name, tuple(sorted({**group, **labels}.items())))
        return samples[key]

    success = report.slos[0]
    assert value("hypersync_slo_audit_verdict", slo="success_rate", verdict="fail") == 1
    assert value("hypersync_slo_audit_verdict", slo="success_rate", verdict="pass") == 0
    assert value("hypersync_slo_audit_burn_rate", slo="success_rate", window="1h") == (
        pytest.approx(success.burn_rates[0].rate, rel=1e-12)
    )
    assert value(
        "hypersync_slo_audit_error_budget_remaining_ratio", slo="success_rate", method="event_based"
    ) == pytest.approx(success.events.remaining_fraction, rel=1e-12)
    assert value("hypersync_slo_audit_sli", sli="latency_p95") == pytest.approx(
        report.slis["latency_p95"], rel=1e-12
    )
    assert value("hypersync_slo_audit_window_end_seconds") == END
    assert math.isclose(value("hypersync_slo_audit_coverage_ratio"), report.coverage.ratio)
    assert value("hypersync_slo_audit_criteria_score", score="warning") == 1
    assert value("hypersync_slo_audit_criteria_total_score_percent") == 80.0
    burn_series = [k for k in samples if k[0] == "hypersync_slo_audit_burn_rate"]
    assert len(burn_series) == 4 * len(report.slos)


def test_thirty_day_audit_is_bounded(report: AuditReport) -> None:
    """A 30-day audit costs a fixed, small number of aggregated queries."""
    assert report.queries <= 60
    assert report.seconds < 30


def test_slice_narrower_than_the_scrape_interval_is_explained(backfilled: Backfilled) -> None:
    """30 s slices over 1-minute samples: no slice has data, and the note says why and what to do."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(
            client, SloConfig.load(None), at(END - DAY), at(END), slice_seconds=30
        )
    assert report.coverage.slices_with_data == 0
    assert report.verdict is Verdict.NO_DATA
    assert "give a wider --slice" in report.notes[0]


def test_two_minute_slices(backfilled: Backfilled, increments: Increments) -> None:
    """2-minute slices: half as many, the outage's 60 slices all bad, events unchanged."""
    with PrometheusClient(backfilled.url, timeout=30) as client:
        report = audit_period(
            client,
            SloConfig.load(None),
            at(START + 11 * DAY),
            at(START + 12 * DAY),
            slice_seconds=120,
        )
    total, bad = sums(increments, START + 11 * DAY, START + 12 * DAY)
    success = report.slos[0]
    assert report.coverage.slices_expected == 720
    assert success.events.units == total
    assert success.events.bad == bad
    assert success.slices.bad >= 60


def test_pushgateway_down_is_a_clear_fault(report: AuditReport) -> None:
    """Nothing at the Pushgateway URL: SuiteFault naming it and saying the audit was kept."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SuiteFault) as caught:
        publish(report, url, timeout=2)
    text = str(caught.value)
    assert f"pushgateway: {url}" in text
    assert "only publishing failed" in text
