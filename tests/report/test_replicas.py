"""Replicas behind one job: every KPI sums all instances; a restarted replica's reset is counted."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report import evaluate_window, scrapes, settle_window
from hypersync_slo.results import LoadResult
from hypersync_slo.stack import PrometheusServer, ReferenceService, ScrapeJob
from tests.report.test_live import JOB, drive, thin_tail_config

StartService = Callable[..., ReferenceService]
StartPrometheus = Callable[..., PrometheusServer]


def test_three_replicas_one_restarted_mid_window_count_every_request(
    start_reference_service: StartService, start_prometheus: StartPrometheus
) -> None:
    """Three replicas, one drained and restarted mid-window: the counts equal the client's.

    Scraped every 5 s, the restarted replica counts past its old process's few requests
    before its first scrape, so its counters never go down: the restart is known from its
    ``process_start_time_seconds``, not from a drop.
    """
    replicas = [start_reference_service() for _ in range(3)]
    prometheus = start_prometheus(
        [ScrapeJob(JOB, tuple(r.address for r in replicas))], interval=5.0
    )
    prometheus.wait_for_targets()
    client = PrometheusClient(prometheus.url)
    up = f'up{{job="{JOB}"}}'
    for replica in replicas:
        drive(replica, 4, 2)  # every series exists before the window opens
    quiet_since = time.time()
    assert scrapes.wait_for_scrape_after(client, up, quiet_since).settled
    start = datetime.now(UTC)
    sent = sum(
        drive(replica, count)["requests"]
        for replica, count in zip(replicas, (100, 6, 100), strict=True)
    )
    # Drained (its last requests scraped), then restarted: its counters begin again at 0.
    assert scrapes.wait_for_scrape_after(client, up, time.time()).settled
    replicas[1].stop()
    replicas[1].start()
    sent += sum(
        drive(replica, 100)["requests"] for replica in (replicas[1], replicas[0], replicas[2])
    )
    end = datetime.now(UTC)
    config = thin_tail_config()
    coverage = settle_window(
        client, config, start, end, job=JOB, quiet_since=quiet_since, quiet_after_end=True
    )
    assert coverage.settled, coverage.unsettled_reason()
    assert len(coverage.targets) == 3
    assert coverage.exact
    report = evaluate_window(
        client,
        config,
        start,
        end,
        job=JOB,
        coverage=coverage,
        load_result=LoadResult(target_url=replicas[0].url, requests=sent, errors=0),
    )
    assert sent == 506
    for name in ("error_rate", "latency_p95", "throughput_rps"):
        kpi = report.kpi(name)
        assert kpi.samples == sent, (name, kpi.samples, kpi.detail.get("counting"))
        assert kpi.detail["counting"].startswith("exact growth of the raw counter samples")
    assert [f.subject for f in report.findings if f.kind != "latency"] == []
