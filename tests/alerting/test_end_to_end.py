"""End to end: a fault in the reference service pages, notifies or mails through the real programs.

The reference service (fault admin on) is scraped every second by a real Prometheus holding the
generated docs/contracts.md §4 alert rules (short windows via ``Timing``), which sends to a real
Alertmanager running the generated routing; local PagerDuty-Events-v2, Slack-webhook and SMTP
receivers get the notifications. One bounded sequence, each step polled with a timeout:

1. 2 % errors: the warning reaches Slack; PagerDuty gets nothing (no page).
2. 6 % errors: the critical reaches PagerDuty as a v2 trigger with severity critical;
   Alertmanager shows the warning inhibited by it.
3. fault removed: PagerDuty gets the resolve, Slack the RESOLVED message.
4. the service restarts (a configuration reload): the info alert arrives by email.

The burn-rate alerts are not loaded here: at 2 % errors a 99.9 % SLO burns at 20x and pages, as
the SRE workbook intends; they are proven by the promtool unit tests instead.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hypersync_slo.alerting.alertmanager import (
    RoutingSpec,
    render_alertmanager,
    routing_from_mapping,
)
from hypersync_slo.alerting.fired import fired_alerts
from hypersync_slo.alerting.rules import ALERTS_FILE, RuleSet, Timing, build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.stack import AlertmanagerServer, PrometheusServer, ReferenceService, ScrapeJob
from tests.alerting.receivers import PagerDutyReceiver, Received, SlackReceiver, SmtpReceiver

ROUTING_KEY = "e2e0123456789abcdef0123456789abc"
WINDOW = 20.0


class Traffic:
    """Bounded API traffic to the service from a few threads, paced to ``rps``, counted by status."""

    def __init__(self, url: str, rps: float, threads: int = 4, limit_s: float = 240.0) -> None:
        self.url = url
        self.rps = rps
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.stop_event = threading.Event()
        self.codes: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.limit_s = limit_s
        self.started = time.monotonic()

    def _run(self) -> None:
        interval = len(self.threads) / self.rps
        with httpx.Client(timeout=5) as client:
            next_at = time.monotonic()
            while not self.stop_event.is_set() and time.monotonic() - self.started < self.limit_s:
                try:
                    code = client.post(
                        f"{self.url}/v1/operators/transform/execute",
                        json={"input": {"n": 1}, "agent_id": "agent-7"},
                    ).status_code
                except httpx.HTTPError:
                    code = 0
                with self.lock:
                    self.codes[code] += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)


def set_faults(service: ReferenceService, **faults: Any) -> None:
    """Replace the service's fault state through ``PUT /admin/faults``."""
    response = httpx.put(f"{service.url}/admin/faults", json=faults, timeout=5)
    assert response.status_code == 200, response.text


def last_event(pd: PagerDutyReceiver, dedup_key: str) -> Received | None:
    """The latest PagerDuty event of one incident (a short dip below the threshold may resolve early)."""
    events = [r for r in pd.snapshot() if r.body.get("dedup_key") == dedup_key]
    return events[-1] if events else None


def prom_value(prometheus: PrometheusServer, query: str) -> str:
    """A one-line reading of an instant query, for failure messages."""
    try:
        data = httpx.get(
            f"{prometheus.url}/api/v1/query", params={"query": query}, timeout=5
        ).json()
        return repr([(r["metric"], r["value"][1]) for r in data["data"]["result"]])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"unreadable: {exc}"


@pytest.fixture
def receivers() -> Iterator[tuple[PagerDutyReceiver, SlackReceiver, SmtpReceiver]]:
    """The three local receivers, started and stopped."""
    pd = PagerDutyReceiver(ROUTING_KEY)
    slack = SlackReceiver()
    smtp = SmtpReceiver()
    pd.start()
    slack.start()
    smtp.start()
    yield pd, slack, smtp
    smtp.stop()
    slack.stop()
    pd.stop()


def e2e_routing(
    secrets: Path, pd: PagerDutyReceiver, slack: SlackReceiver, smtp: SmtpReceiver
) -> RoutingSpec:
    """Routing to the three local receivers, with the secrets written to files in ``secrets``."""
    secrets.mkdir()
    (secrets / "pagerduty").write_text(ROUTING_KEY + "\n", "utf-8")
    (secrets / "slack").write_text(f"{slack.url}/services/T000/B000/hook\n", "utf-8")
    routing = routing_from_mapping(
        {
            "routes": {"critical": "pagerduty", "warning": "slack", "info": "email"},
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "receivers": {
                "pagerduty": {
                    "type": "pagerduty",
                    "routing_key_file": str(secrets / "pagerduty"),
                    "url": pd.enqueue_url,
                },
                "slack": {
                    "type": "slack",
                    "api_url_file": str(secrets / "slack"),
                    "channel": "#hypersync-e2e",
                },
                "email": {
                    "type": "email",
                    "to": "oncall@example.org",
                    "from": "am@example.org",
                    "smarthost": f"127.0.0.1:{smtp.port}",
                    "require_tls": False,
                },
            },
        },
        source="e2e routing",
    )
    routing.check_secret_files()
    return routing


def warn_without_paging(
    service: ReferenceService,
    prometheus: PrometheusServer,
    rules: RuleSet,
    pd: PagerDutyReceiver,
    slack: SlackReceiver,
    *,
    record_property: Callable[[str, object], None],
) -> None:
    """Step 1: at 2 % errors Slack is notified and PagerDuty is not paged."""
    set_faults(service, error_ratio=0.02)
    t0 = time.time()
    warned = slack.wait_for(
        "warning for HypersyncHighErrorRate",
        lambda r: any(
            "[FIRING] warning: HyperSync answers more than 1 %" in a.get("title", "")
            for a in r.body.get("attachments") or []
        ),
        timeout=60,
    )
    assert warned.body["channel"] == "#hypersync-e2e"
    record_property("seconds_2pct_to_slack", round(warned.at - t0, 1))
    quiet_until = time.monotonic() + WINDOW / 2
    while time.monotonic() < quiet_until:
        assert not pd.snapshot(), f"paged at 2 % errors: {pd.snapshot()[0].body}"
        time.sleep(0.5)
    ratio = prom_value(
        prometheus, rules.alert("HypersyncHighErrorRate", "warning").expr.split(" > ")[0]
    )
    assert not pd.snapshot(), f"paged at 2 % errors (ratio {ratio})"


def page_and_inhibit(
    service: ReferenceService,
    pd: PagerDutyReceiver,
    alertmanager: AlertmanagerServer,
    *,
    record_property: Callable[[str, object], None],
) -> Received:
    """Step 2: at 6 % errors PagerDuty gets a v2 critical trigger; the warning is inhibited."""
    set_faults(service, error_ratio=0.06)
    t0 = time.time()
    paged = pd.wait_for(
        "trigger for HypersyncHighErrorRate",
        lambda r: r.body["event_action"] == "trigger" and "HypersyncHighErrorRate" in str(r.body),
        timeout=60,
    )
    assert paged.body["payload"]["severity"] == "critical"
    record_property("seconds_6pct_to_pagerduty", round(paged.at - t0, 1))
    assert (
        paged.body["payload"]["summary"] == "HyperSync answers more than 5 % of requests with 5xx."
    )
    assert "runbook_url" in str(paged.body["payload"].get("custom_details"))
    deadline = time.monotonic() + 15
    inhibited: list[Any] = []
    while time.monotonic() < deadline and not inhibited:
        inhibited = [
            a
            for a in alertmanager.alerts()
            if a["labels"].get("alertname") == "HypersyncHighErrorRate"
            and a["labels"].get("severity") == "warning"
            and a["status"]["inhibitedBy"]
        ]
        time.sleep(0.3)
    assert inhibited, f"warning not inhibited by the critical: {alertmanager.alerts()}"
    return paged


def resolve_both(
    service: ReferenceService,
    pd: PagerDutyReceiver,
    slack: SlackReceiver,
    paged: Received,
    *,
    record_property: Callable[[str, object], None],
) -> None:
    """Step 3: with the fault removed the page resolves on PagerDuty and the warning on Slack."""
    set_faults(service)
    removed_at = time.time()
    resolved = pd.wait_for(
        "resolve as the page's latest event",
        lambda r: (
            r is last_event(pd, paged.body["dedup_key"]) and r.body["event_action"] == "resolve"
        ),
        timeout=60,
    )
    slack.wait_for(
        "RESOLVED warning",
        lambda r: (
            r.at >= removed_at
            and any(
                "[RESOLVED] warning" in a.get("title", "") for a in r.body.get("attachments") or []
            )
        ),
        timeout=60,
    )
    record_property("seconds_clear_to_pagerduty_resolve", round(resolved.at - removed_at, 1))
    record_property("pagerduty_events", [r.body["event_action"] for r in pd.snapshot()])


def test_faults_page_notify_mail_and_resolve(
    tmp_path: Path,
    start_reference_service: Callable[..., ReferenceService],
    start_prometheus: Callable[..., PrometheusServer],
    receivers: tuple[PagerDutyReceiver, SlackReceiver, SmtpReceiver],
) -> None:
    """6 % errors page (PagerDuty v2), 2 % notify (Slack) without paging, a reload mails; all resolve."""
    pd, slack, smtp = receivers
    figures: dict[str, object] = {}
    record_property = figures.__setitem__
    routing = e2e_routing(tmp_path / "secrets", pd, slack, smtp)
    alertmanager = AlertmanagerServer(
        tmp_path / "alertmanager", render_alertmanager(routing)
    ).start()
    try:
        timing = Timing(
            rate_window=WINDOW,
            event_window=60,
            for_critical=2,
            for_warning=2,
            for_info=0,
            down_for=15,
        )
        rules = build_rules(SloConfig.default(), timing=timing)
        rules_path = tmp_path / ALERTS_FILE
        rules_path.write_text(rules.render()[ALERTS_FILE], "utf-8")
        service = start_reference_service("--enable-fault-admin")
        prometheus = start_prometheus(
            [ScrapeJob("hypersync", (service.address,))],
            interval=1.0,
            rule_files=[str(rules_path)],
            alertmanagers=[alertmanager.address],
        )
        prometheus.wait_for_targets()
        run_start = time.time()

        with Traffic(service.url, rps=150) as traffic:
            warn_without_paging(
                service, prometheus, rules, pd, slack, record_property=record_property
            )
            paged = page_and_inhibit(service, pd, alertmanager, record_property=record_property)
            resolve_both(service, pd, slack, paged, record_property=record_property)
            sent = dict(traffic.codes)
            record_property(
                "traffic",
                f"{sum(sent.values())} requests in {time.monotonic() - traffic.started:.0f} s: {sent}",
            )
        fired = fired_alerts(prometheus.url, run_start, time.time(), step=1.0)
        assert [
            (a.alertname, a.severity) for a in fired if a.alertname == "HypersyncHighErrorRate"
        ] == [("HypersyncHighErrorRate", "warning"), ("HypersyncHighErrorRate", "critical")]
        record_property("fired", [a.describe() for a in fired])
        assert sent.get(500, 0) > 0, sent
        assert sent.get(200, 0) > 1000, sent

        # 4. A restart reloads the configuration: the info alert is mailed.
        service.stop()
        service.start()
        t0 = time.time()
        message = smtp.wait_for("[FIRING] info: HypersyncConfigurationChange", timeout=60)
        assert message["To"] == "oncall@example.org"
        record_property("seconds_restart_to_email", round(time.time() - t0, 1))
        assert not [r for r in pd.snapshot() if "HypersyncDown" in str(r.body)], "a restart paged"
        print("end-to-end figures (wall clock, test receivers):", figures)
    finally:
        alertmanager.stop()
