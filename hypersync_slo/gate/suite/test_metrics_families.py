"""docs/contracts.md §2: every required family with its type and labels, latency buckets at the
SLO thresholds, counters that never decrease, business counters that count, route labels that
are templates (O-03) and a bounded number of series (M-09)."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ContractViolation
from hypersync_slo.exposition import ACCEPT_TEXT, counter_values, histogram_buckets
from hypersync_slo.gate.business import BusinessTraffic, counter_total
from hypersync_slo.gate.cardinality import (
    RAW_URL_LABELS,
    RouteProbe,
    label_names,
    label_values,
    route_template,
    run_route_probe,
    series_per_family,
    unbounded_labels,
)
from hypersync_slo.gate.catalogue import RequiredFamily, required_families
from hypersync_slo.gate.client import TargetClient
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.options import SloSettings
from hypersync_slo.gate.scrape import parse_answer, scrape
from hypersync_slo.gate.state import gate_state
from hypersync_slo.prometheus.promql import ROUTE_LABEL
from hypersync_slo.traffic_spec import TrafficSpec

START_TIME = "process_start_time_seconds"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """M-07 runs once per family the SLO file's instrumentation profile requires."""
    if "required" in metafunc.fixturenames:
        # A broken SLO file fails in the slo_config fixture; list the default families meanwhile.
        config = gate_state(metafunc.config).slo_config or SloConfig.default()
        families = required_families(config)
        metafunc.parametrize("required", families, ids=[r.role for r in families])


@pytest.mark.slo(contract="M-07")
def test_required_family_present(
    business_traffic: BusinessTraffic, slo_config: SloConfig, required: RequiredFamily
) -> None:
    """A family the contract requires is present with its type and labels (after business calls)."""
    expo = business_traffic.after
    url = f"GET {business_traffic.after_answer.url}"
    name = required.name(slo_config)
    family = expo.family(name)
    types = (required.type, "info") if required.role == "build_info" else (required.type,)
    if family is None:
        raise violation(
            "M-07",
            f"the required family {name} is missing.",
            url=url,
            expected=f"# TYPE {name} {required.type}"
            + (f" with labels {', '.join(required.labels)}" if required.labels else ""),
            observed=f"no family {name} among {len(expo.families)} families",
            catalogue_role=f"metrics.{required.role}",
        )
    if family.type not in types:
        raise violation(
            "M-07",
            f"{name} has the wrong type.",
            url=url,
            expected=f"# TYPE {name} {required.type}",
            observed=f"# TYPE {family.name} {family.type}",
        )
    if required.labels:
        samples = [s for s in family.samples if not s.name.endswith(("_created", "_sum", "_count"))]
        if not samples:
            raise violation(
                "M-07",
                f"{name} has no series, so its labels cannot be seen.",
                url=url,
                expected=f"series with labels {', '.join(required.labels)} "
                "(initialise known label values at 0)",
                observed="a family without samples after one business call of each kind",
            )
        missing = sorted({lbl for s in samples for lbl in required.labels if lbl not in s.labels})
        if missing:
            raise violation(
                "M-07",
                f"{name} lacks required labels.",
                url=url,
                expected=f"labels {', '.join(required.labels)} on every series",
                observed=f"missing {', '.join(missing)} on e.g. {samples[0].render_series()}",
            )
    if required.role == "build_info":
        values = {s.value for s in family.samples}
        if values != {1.0}:
            raise violation(
                "M-07",
                f"{name} is not 1.",
                url=url,
                expected="an info metric with value 1",
                observed=f"values {sorted(values)}",
            )


@pytest.mark.slo(contract="O-02")
def test_latency_buckets_include_slo_thresholds(
    business_traffic: BusinessTraffic, slo_config: SloConfig, evidence: Evidence
) -> None:
    """The latency histogram has a bucket at every latency threshold of the SLO file."""
    name = slo_config.metric("request_duration")
    url = f"GET {business_traffic.after_answer.url}"
    try:
        buckets = histogram_buckets(business_traffic.after, name)
    except ContractViolation as exc:
        raise violation(
            "O-02",
            f"no latency histogram {name}.",
            url=url,
            expected=f"# TYPE {name} histogram",
            observed=str(exc).splitlines()[0],
        ) from None
    # Bounds in seconds whatever the histogram's unit (a milliseconds histogram: le="500.0").
    finite = [slo_config.http.seconds(b) for b in buckets if math.isfinite(b)]
    missing = [
        t
        for t in slo_config.latency_thresholds
        if not any(math.isclose(t, b, rel_tol=1e-9) for b in finite)
    ]
    evidence.figure("buckets", ",".join(f"{b:g}" for b in finite))
    if missing:
        raise violation(
            "O-02",
            "latency thresholds of the SLO file are not histogram buckets.",
            url=url,
            expected=f"le buckets at {', '.join(f'{t:g}' for t in slo_config.latency_thresholds)} s "
            f"(every threshold in {slo_config.source})",
            observed=f"missing {', '.join(f'{t:g}' for t in missing)} s; bucket bounds (s): "
            f"{', '.join(f'{b:g}' for b in finite)} ({slo_config.http.describe()})",
            why="a threshold between buckets can only be interpolated, never judged exactly",
        )


@pytest.mark.slo(contract="M-10")
def test_counters_never_decrease(
    business_traffic: BusinessTraffic, target: TargetClient, evidence: Evidence
) -> None:
    """No counter series falls between consecutive scrapes (three scrapes, unless it restarted)."""
    third_answer = scrape(target, ACCEPT_TEXT)
    scrapes = [business_traffic.before, business_traffic.after, parse_answer(third_answer)]
    started = [{s.value for s in expo.series() if s.name == START_TIME} for expo in scrapes]
    if any(a and b and a != b for a, b in pairwise(started)):
        pytest.skip("the target restarted between scrapes (process_start_time_seconds changed)")
    decreased: list[str] = []
    for number, (first, second) in enumerate(pairwise(scrapes), start=1):
        before, after = counter_values(first), counter_values(second)
        decreased.extend(
            f"{_series(name, labels)}: {before[(name, labels)]:g} -> {value:g} "
            f"(scrape {number} -> {number + 1})"
            for (name, labels), value in after.items()
            if (name, labels) in before and value < before[(name, labels)]
        )
    evidence.figure("counter_series", len(counter_values(scrapes[-1])))
    if decreased:
        raise violation(
            "M-10",
            f"{len(decreased)} counter readings decreased between consecutive scrapes.",
            url=f"GET {third_answer.url} (three scrapes)",
            expected="counters only grow (or reset with a process restart)",
            observed="; ".join(decreased[:5]),
        )


def _series(name: str, labels: frozenset[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}}" if inner else name


@pytest.mark.slo(contract="B-01")
def test_business_counters_count_business_calls(
    business_traffic: BusinessTraffic, slo_config: SloConfig, evidence: Evidence
) -> None:
    """Each declared request with a counter gets a declared status and raises its counter by 1+."""
    if not business_traffic.calls:
        pytest.skip(
            "the traffic declaration names no business counter (traffic.requests[].counter)"
            if slo_config.http.catalogue or slo_config.traffic != TrafficSpec.default()
            else f"the SLO file's {slo_config.http.profile} profile has no HyperSync business "
            "catalogue and the file declares no traffic of its own (traffic:)"
        )
    problems: list[str] = []
    for made in business_traffic.calls:
        name = made.request.name
        if not made.ok:
            problems.append(
                f"{name}: {made.sent} answered {made.answer.status_code}, "
                f"expected {made.expected} (declared in {slo_config.traffic.source})"
            )
            continue
        if made.labels is None:
            problems.append(
                f"{name}: the answer lacks a field a counter label is read from "
                "(traffic.requests[].counter.labels {json: ...})"
            )
            continue
        before = counter_total(business_traffic.before, made.metric, made.labels) or 0.0
        after = counter_total(business_traffic.after, made.metric, made.labels)
        selector = f"{made.metric}{{{','.join(f'{k}={v!r}' for k, v in made.labels.items())}}}"
        if after is None:
            problems.append(f"{name}: no series {selector} after {made.sent}")
        elif after - before < 1:
            problems.append(f"{name}: {selector} went {before:g} -> {after:g} after {made.sent}")
        else:
            evidence.figure(f"{made.metric}_delta", after - before)
    if problems:
        raise violation(
            "B-01",
            "business counters did not count the business calls made.",
            url=f"GET {business_traffic.after_answer.url} before and after one call of each "
            "declared request with a counter",
            expected="a declared success status, and each declared counter grows by at least 1 "
            "per successful call",
            observed="; ".join(problems),
        )


@pytest.fixture(scope="module")
def route_probe(target: TargetClient, slo_config: SloConfig) -> RouteProbe:
    """Scrapes around GETs of a declared path template for a dozen fresh random IDs."""
    return run_route_probe(target, template=route_template(slo_config.traffic))


@pytest.mark.slo(contract="O-03")
def test_route_label_is_a_template(
    route_probe: RouteProbe, slo_config: SloConfig, evidence: Evidence
) -> None:
    """After GETs of random IDs, no http_route value holds them and at most one is new."""
    if route_probe.template is None:
        pytest.skip("no declared GET request has a {param} in its path to probe O-03 with")
    name = slo_config.metric("request_duration")
    url = f"GET {route_probe.after_answer.url}"
    if route_probe.after.family(name) is None:
        pytest.skip(f"no {name} family to read {ROUTE_LABEL} from; M-07 judges that")
    codes = ", ".join(str(c) for c in sorted(set(route_probe.statuses)))
    sent = (
        f"GET {route_probe.template} for {len(route_probe.ids)} random IDs "
        f"(e.g. {route_probe.ids[0]}; answers: HTTP {codes})"
    )
    raw_labels = sorted(label_names(route_probe.after, name) & RAW_URL_LABELS)
    if raw_labels:
        raise violation(
            "O-03",
            f"{name} carries the raw URL as a label.",
            url=url,
            expected=f"{ROUTE_LABEL} (the route template) and no raw-URL label",
            observed=f"label(s) {', '.join(raw_labels)}",
        )
    before = label_values(route_probe.before, name, ROUTE_LABEL)
    after = label_values(route_probe.after, name, ROUTE_LABEL)
    leaked = sorted(v for v in after if any(rid in v for rid in route_probe.ids))
    new = sorted(after - before)
    evidence.figure("route_values", len(after))
    evidence.figure("new_route_values", len(new))
    if leaked or len(new) > 1:
        shown = leaked or new
        raise violation(
            "O-03",
            f"{ROUTE_LABEL} of {name} is the raw path, not the route template.",
            url=url,
            expected=f'at most 1 new {ROUTE_LABEL} value (e.g. "{route_probe.template}"), '
            "none holding a requested ID",
            observed=f"{len(new)} new {ROUTE_LABEL} values, {len(leaked)} holding a requested ID: "
            + ", ".join(shown[:3])
            + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""),
            sent=sent,
            why="every ID becomes a new series: memory and query cost grow with traffic",
        )


@pytest.mark.slo(contract="M-09")
def test_series_within_budget(
    route_probe: RouteProbe, slo_settings: SloSettings, evidence: Evidence
) -> None:
    """The exposition holds at most --slo-series-budget series and no label grows with IDs."""
    expo = route_probe.after
    total = expo.series_count()
    per_family = series_per_family(expo)
    largest = per_family.most_common(3)
    evidence.figure("series", total)
    evidence.figure("largest_family", f"{largest[0][0]} {largest[0][1]}" if largest else "-")
    problems: list[str] = []
    if total > slo_settings.series_budget:
        problems.append(
            f"{total:,} series, over the budget of {slo_settings.series_budget:,}; largest: "
            + ", ".join(f"{n} {c:,}" for n, c in largest)
        )
    for (family, label), values in sorted(unbounded_labels(expo).items()):
        problems.append(f"{family}{{{label}}} has {len(values)} ID-like values, e.g. {values[0]!r}")
    if problems:
        evidence.warn(
            f"M-09 the exposition's cardinality is not bounded: {problems[0]}\n"
            f"url: GET {route_probe.after_answer.url} (after GET {route_probe.template} for "
            f"{len(route_probe.ids)} random IDs)\n"
            f"expected: at most {slo_settings.series_budget:,} series (--slo-series-budget); "
            "no label value that is a UUID, 16+ hex digits, an e-mail or a numeric path segment\n"
            f"observed: {'; '.join(problems[:4])}"
        )
