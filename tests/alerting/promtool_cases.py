"""``promtool test rules`` cases for the generated rules: each alert at and just below its threshold.

A case names input series, an evaluation time and the alerts expected to be *firing* then (by
severity, with their labels and the rendered ``$value``). Expected annotations are rendered from
the generated rule's own templates, so promtool compares labels and annotations exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.alerting.rules import RuleSet

JOB = "hypersync"
D = "http_server_request_duration_seconds"


@dataclass(frozen=True)
class Expect:
    """One alert expected to fire: severity, series labels and how ``$value`` renders."""

    severity: str
    labels: Mapping[str, str]
    value: str


@dataclass(frozen=True)
class Case:
    """One ``alert_rule_test``: the series, when to look, which alerts fire (empty = quiet)."""

    name: str
    alertname: str
    series: Mapping[str, str]
    eval_time: str
    expect: Sequence[Expect] = ()
    interval: str = "1m"
    extra_evals: Sequence[tuple[str, Sequence[Expect]]] = field(default_factory=tuple)


def render_template(text: str, labels: Mapping[str, str], value: str) -> str:
    """Render the small template language the generated annotations use."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
    return re.sub(r"\{\{ \$value( \| \w+)? \}\}", value, text)


def requests(errors_per_min: float, total_per_min: float, minutes: int = 200) -> dict[str, str]:
    """Counter series of the request histogram: ``errors`` 500s and the rest 200s per minute."""
    return {
        f'{D}_count{{job="{JOB}",instance="host:8080",http_route="/v1/receipts",http_response_status_code="500"}}': f"0+{errors_per_min:g}x{minutes}",
        f'{D}_count{{job="{JOB}",instance="host:8080",http_route="/v1/receipts",http_response_status_code="200"}}': f"0+{total_per_min - errors_per_min:g}x{minutes}",
    }


def latency(within: Mapping[str, float], total: float, minutes: int = 200) -> dict[str, str]:
    """Bucket and count series: ``within[le]`` requests per minute at or below each bound."""
    series = {
        f'{D}_bucket{{job="{JOB}",instance="host:8080",http_route="/v1/receipts",le="{le}"}}': f"0+{n:g}x{minutes}"
        for le, n in within.items()
    }
    series[
        f'{D}_bucket{{job="{JOB}",instance="host:8080",http_route="/v1/receipts",le="+Inf"}}'
    ] = f"0+{total:g}x{minutes}"
    series[f'{D}_count{{job="{JOB}",instance="host:8080",http_route="/v1/receipts"}}'] = (
        f"0+{total:g}x{minutes}"
    )
    return series


NODE = {"instance": "host:9100", "job": "node"}
FS = {**NODE, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
#: The service runs on the node's host (host alerts keep only the hosts of the job's instances).
UP = {f'up{{job="{JOB}",instance="host:8080"}}': "1x60"}


def disk(used: float) -> dict[str, str]:
    """File-system series with ``used`` (a ratio) of 1000 bytes in use."""
    labels = ",".join(f'{k}="{v}"' for k, v in FS.items())
    return {
        f"node_filesystem_avail_bytes{{{labels}}}": f"{1000 - used * 1000:g}x60",
        f"node_filesystem_size_bytes{{{labels}}}": "1000x60",
        # A full disk on a host that runs no instance of the job: never alerts for this job.
        'node_filesystem_avail_bytes{instance="elsewhere:9100",job="node",device="/dev/sda1",fstype="ext4",mountpoint="/"}': "0x60",
        'node_filesystem_size_bytes{instance="elsewhere:9100",job="node",device="/dev/sda1",fstype="ext4",mountpoint="/"}': "1000x60",
        **UP,
    }


def memory(used: float) -> dict[str, str]:
    """Host memory series with ``used`` (a ratio) of 1000 bytes in use."""
    labels = ",".join(f'{k}="{v}"' for k, v in NODE.items())
    return {
        f"node_memory_MemAvailable_bytes{{{labels}}}": f"{1000 - used * 1000:g}x60",
        f"node_memory_MemTotal_bytes{{{labels}}}": "1000x60",
        # Full memory on a host that runs no instance of the job: never alerts for this job.
        'node_memory_MemAvailable_bytes{instance="elsewhere:9100",job="node"}': "0x60",
        'node_memory_MemTotal_bytes{instance="elsewhere:9100",job="node"}': "1000x60",
        **UP,
    }


SVC = {"job": JOB}


def sloth(slo: str) -> dict[str, str]:
    """The labels of one SLO's series: ours and Sloth's (so Sloth's dashboards read them)."""
    return {
        "job": JOB,
        "slo": slo,
        "sloth_id": f"hypersync-{JOB}-{slo}",
        "sloth_service": "hypersync",
        "sloth_slo": slo,
    }


SLO = sloth("success_rate")
SLO_P99 = sloth("latency_p99")
SLO_UP = sloth("availability")
#: The job's only target fails every scrape (the ratio is 100 % in every window, whichever order
#: promtool evaluates the recording and the alerting group in).
ALL_DOWN = {f'up{{job="{JOB}",instance="host:8080"}}': "0x160"}
ALL_UP = {f'up{{job="{JOB}",instance="host:8080"}}': "1x160"}
SLO_P95 = sloth("latency_p95")
BUILD = "hypersync_build_info"
RELOAD = "hypersync_config_last_reload_timestamp_seconds"

CASES: tuple[Case, ...] = (
    # -- error rate: critical > 5 %, warning > 1 %, the critical one silences nothing here -----
    Case(
        "error rate 6 % pages and notifies",
        "HypersyncHighErrorRate",
        requests(6, 100),
        "20m",
        [Expect("critical", SVC, "6%"), Expect("warning", SVC, "6%")],
    ),
    Case(
        "error rate 4.9 % notifies but does not page",
        "HypersyncHighErrorRate",
        requests(4.9, 100),
        "20m",
        [Expect("warning", SVC, "4.9%")],
    ),
    Case("error rate 0.9 % is quiet", "HypersyncHighErrorRate", requests(0.9, 100), "20m"),
    Case(
        "error rate 6 % is still pending before for: 5m",
        "HypersyncHighErrorRate",
        requests(6, 100),
        "4m",
    ),
    # -- p99 latency: exact from the 1 s and 5 s buckets -----------------------------------------
    Case(
        "1.1 % slower than 1 s notifies",
        "HypersyncHighLatencyP99",
        latency({"0.5": 950, "1": 989, "5": 1000}, 1000),
        "20m",
        [Expect("warning", SVC, "98.9%")],
    ),
    Case(
        "0.9 % slower than 1 s is quiet",
        "HypersyncHighLatencyP99",
        latency({"0.5": 950, "1": 991, "5": 1000}, 1000),
        "20m",
    ),
    Case(
        "1.1 % slower than 5 s pages",
        "HypersyncHighLatencyP99",
        latency({"0.5": 900, "1": 950, "5": 989}, 1000),
        "20m",
        [Expect("critical", SVC, "98.9%"), Expect("warning", SVC, "95%")],
    ),
    Case(
        "0.9 % slower than 5 s notifies only",
        "HypersyncHighLatencyP99",
        latency({"0.5": 900, "1": 950, "5": 991}, 1000),
        "20m",
        [Expect("warning", SVC, "95%")],
    ),
    # -- system down -------------------------------------------------------------------------------
    Case(
        "a target down for 2m pages",
        "HypersyncDown",
        {f'up{{job="{JOB}",instance="svc:8080"}}': "1x10 0x20"},
        "13m",
        [Expect("critical", {"job": JOB, "instance": "svc:8080"}, "0")],
    ),
    Case(
        "a target down for less than for: 1m is quiet",
        "HypersyncDown",
        {f'up{{job="{JOB}",instance="svc:8080"}}': "1x10 0x20"},
        "11m",
    ),
    Case(
        "a target that is up is quiet",
        "HypersyncDown",
        {f'up{{job="{JOB}",instance="svc:8080"}}': "1x30"},
        "20m",
    ),
    Case(
        "a job without targets pages",
        "HypersyncDown",
        {'up{job="other",instance="x:1"}': "1x30"},
        "20m",
        [Expect("critical", {"job": JOB}, "1")],
    ),
    # -- host ----------------------------------------------------------------------------------------
    Case(
        "memory 85 % notifies",
        "HypersyncHostMemoryHigh",
        memory(0.85),
        "30m",
        [Expect("warning", {**NODE, "host": "host"}, "85%")],
    ),
    Case("memory 79 % is quiet", "HypersyncHostMemoryHigh", memory(0.79), "30m"),
    Case(
        "disk 96 % pages and notifies",
        "HypersyncHostDiskFull",
        disk(0.96),
        "30m",
        [
            Expect("critical", {**FS, "host": "host"}, "96%"),
            Expect("warning", {**FS, "host": "host"}, "96%"),
        ],
    ),
    Case(
        "disk 94 % notifies only",
        "HypersyncHostDiskFull",
        disk(0.94),
        "30m",
        [Expect("warning", {**FS, "host": "host"}, "94%")],
    ),
    Case("disk 79 % is quiet", "HypersyncHostDiskFull", disk(0.79), "30m"),
    # -- info events -----------------------------------------------------------------------------------
    Case(
        "a new version is a deployment",
        "HypersyncDeployment",
        {
            f'{BUILD}{{job="{JOB}",instance="svc:8080",version="1.0.0",revision="aaa"}}': "1x20 stale",
            f'{BUILD}{{job="{JOB}",instance="svc:8080",version="1.1.0",revision="bbb"}}': "_x20 1x40",
        },
        "25m",
        [Expect("info", {"job": JOB, "version": "1.1.0", "revision": "bbb"}, "1")],
        extra_evals=(("10m", ()), ("40m", ())),
    ),
    Case(
        "a fresh Prometheus does not call the first version a deployment",
        "HypersyncDeployment",
        {f'{BUILD}{{job="{JOB}",instance="svc:8080",version="1.0.0",revision="aaa"}}': "1x30"},
        "5m",
    ),
    Case(
        "a reload is a configuration change",
        "HypersyncConfigurationChange",
        {f'{RELOAD}{{job="{JOB}",instance="svc:8080"}}': "100x10 700x30"},
        "15m",
        [Expect("info", {"job": JOB, "instance": "svc:8080"}, "1")],
        extra_evals=(("10m", ()), ("30m", ())),
    ),
    Case(
        "a second instance is a scaling event",
        "HypersyncScalingEvent",
        {
            f'up{{job="{JOB}",instance="a:8080"}}': "1x45",
            f'up{{job="{JOB}",instance="b:8080"}}': "_x20 1x25",
        },
        "25m",
        [Expect("info", {"job": JOB}, "2")],
        extra_evals=(("10m", ()), ("40m", ())),
    ),
    # -- burn rates (success rate 99.9 %: budget 0.1 %) -------------------------------------------------
    Case(
        "6.1x burn pages",
        "HypersyncSloSuccessRateBurnPage",
        requests(610, 100000),
        "25m",
        [Expect("critical", SLO, "0.61%")],
    ),
    Case(
        "5.9x burn does not page", "HypersyncSloSuccessRateBurnPage", requests(590, 100000), "25m"
    ),
    Case(
        "5.9x burn opens a ticket",
        "HypersyncSloSuccessRateBurnTicket",
        requests(590, 100000),
        "25m",
        [Expect("warning", SLO, "0.59%")],
    ),
    Case(
        "1.01x burn opens a ticket",
        "HypersyncSloSuccessRateBurnTicket",
        requests(101, 100000),
        "25m",
        [Expect("warning", SLO, "0.101%")],
    ),
    Case("0.99x burn is quiet", "HypersyncSloSuccessRateBurnTicket", requests(99, 100000), "25m"),
    Case(
        "a 6.1x burn pages only after for: 2m",
        "HypersyncSloSuccessRateBurnPage",
        requests(610, 100000),
        "2m",
    ),
    # -- burn rates (availability 99.9 % of health checks: the job's scrapes) -------------------------
    Case(
        "every scrape failing pages",
        "HypersyncSloAvailabilityBurnPage",
        ALL_DOWN,
        "30m",
        [Expect("critical", SLO_UP, "100%")],
    ),
    Case("every scrape answered is quiet", "HypersyncSloAvailabilityBurnPage", ALL_UP, "30m"),
    Case(
        "every scrape failing opens a ticket",
        "HypersyncSloAvailabilityBurnTicket",
        ALL_DOWN,
        "30m",
        [Expect("warning", SLO_UP, "100%")],
    ),
    Case(
        "every scrape answered opens no ticket",
        "HypersyncSloAvailabilityBurnTicket",
        ALL_UP,
        "115m",
    ),
    # -- burn rates (p99 < 500 ms: 1 % of requests may be slower) ---------------------------------------
    Case(
        "6.1 % slower than 500 ms pages",
        "HypersyncSloLatencyP99BurnPage",
        latency({"0.1": 500, "0.5": 939, "1": 1000, "5": 1000}, 1000),
        "25m",
        [Expect("critical", SLO_P99, "6.1%")],
    ),
    Case(
        "5.9 % slower than 500 ms does not page",
        "HypersyncSloLatencyP99BurnPage",
        latency({"0.1": 500, "0.5": 941, "1": 1000, "5": 1000}, 1000),
        "25m",
    ),
    Case(
        "1.01 % slower than 500 ms opens a ticket",
        "HypersyncSloLatencyP99BurnTicket",
        latency({"0.1": 500, "0.5": 989.9, "1": 1000, "5": 1000}, 1000),
        "25m",
        [Expect("warning", SLO_P99, "1.01%")],
    ),
    # -- burn rates (p95 < 100 ms: 5 % of requests may be slower) ----------------------------------------
    Case(
        "30.5 % slower than 100 ms pages",
        "HypersyncSloLatencyP95BurnPage",
        latency({"0.1": 695, "0.5": 1000}, 1000),
        "25m",
        [Expect("critical", SLO_P95, "30.5%")],
    ),
    Case(
        "29.5 % slower than 100 ms does not page",
        "HypersyncSloLatencyP95BurnPage",
        latency({"0.1": 705, "0.5": 1000}, 1000),
        "25m",
    ),
    Case(
        "5.1 % slower than 100 ms opens a ticket",
        "HypersyncSloLatencyP95BurnTicket",
        latency({"0.1": 949, "0.5": 1000}, 1000),
        "25m",
        [Expect("warning", SLO_P95, "5.1%")],
    ),
    Case(
        "4.9 % slower than 100 ms is quiet",
        "HypersyncSloLatencyP95BurnTicket",
        latency({"0.1": 951, "0.5": 1000}, 1000),
        "25m",
    ),
    Case(
        "0.99 % slower than 500 ms is quiet",
        "HypersyncSloLatencyP99BurnTicket",
        latency({"0.1": 500, "0.5": 990.1, "1": 1000, "5": 1000}, 1000),
        "25m",
    ),
)


def expected_alerts(
    rules: RuleSet, alertname: str, expect: Sequence[Expect]
) -> list[dict[str, Any]]:
    """``exp_alerts`` for promtool: rule labels + series labels, annotations rendered."""
    out = []
    for item in expect:
        rule = rules.alert(alertname, item.severity)
        labels = {**item.labels, "severity": rule.severity, "kpi": rule.kpi, **rule.labels}
        out.append(
            {
                "exp_labels": labels,
                "exp_annotations": {
                    "summary": render_template(rule.summary, labels, item.value),
                    "description": render_template(rule.description, labels, item.value),
                    "runbook_url": rule.runbook_url,
                },
            }
        )
    return out


def promtool_tests(
    rules: RuleSet, rule_files: Sequence[str], cases: Sequence[Case] = CASES
) -> dict[str, Any]:
    """The ``promtool test rules`` document for ``cases``."""
    tests = []
    for case in cases:
        evals = [(case.eval_time, case.expect), *case.extra_evals]
        tests.append(
            {
                "name": case.name,
                "interval": case.interval,
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": t,
                        "alertname": case.alertname,
                        "exp_alerts": expected_alerts(rules, case.alertname, e),
                    }
                    for t, e in evals
                ],
            }
        )
    return {"rule_files": list(rule_files), "evaluation_interval": "1m", "tests": tests}
