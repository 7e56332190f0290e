"""``promtool test rules`` unit tests generated for the contract alerts of any SLO file.

``rule_tests(rules)`` writes, for every alert of ``hypersync-alerts.rules.yml``, a case just above
each threshold (the alert fires, with every lower level of the same alert) and one just below it
(it stays quiet), after the ``for:`` duration has elapsed; the down alert before and after its
``for:``; the info alerts before, during and after their event window. Expected annotations are
rendered from the rule's own templates, so promtool compares labels and annotations exactly.

``render`` writes the result next to the rules, so a team that changes its thresholds can run
``promtool test rules hypersync-alerts.test.yml`` in its own CI. The project's tests also keep
hand-written cases (tests/alerting/promtool_cases.py) as an independent oracle.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypersync_slo.alerting.rules import (
    ALERTS_FILE,
    SLO_FILE,
    AlertRule,
    RecordingRule,
    RuleSet,
)
from hypersync_slo.errors import ConfigError
from hypersync_slo.prometheus.burn_windows import BURN_WINDOWS

#: Requests per sample interval in the generated input series (large, so ratios are exact enough).
TOTAL = 100_000.0
#: The service instance and the node_exporter of its host (host alerts join them on the host).
INSTANCE = "host:8080"
NODE = {"instance": "host:9100", "job": "node"}
FS = {**NODE, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
#: Route values tried for the API route filter of a profile (the first it matches is used).
ROUTES = ("/v1/receipts", "/api/items", "/items", "/")

Expected = list[tuple[AlertRule, dict[str, str], str]]


def render_template(text: str, labels: Mapping[str, str], value: str) -> str:
    """Render the small template language of the generated annotations, as Prometheus would."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
    return re.sub(r"\{\{ \$value( \| \w+)? \}\}", value, text)


def percentage(value: float) -> str:
    """Prometheus's ``humanizePercentage``: ``%.4g`` of value × 100, then ``%``."""
    return f"{value * 100:.4g}%"


def _selector(name: str, labels: Mapping[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    return f"{value:.12g}"


class _Generator:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.job = rules.job
        self.timing = rules.timing
        self.step = int(min(60, max(1, rules.timing.rate_window // 5)))
        self.http = rules.http
        self.route = {self.http.route_label: _api_route(self.http.api_routes)}
        error, ok = ("5xx", "2xx") if "x" in self.http.server_error else ("500", "200")
        self.statuses = (error, ok)
        self.tests: list[dict[str, Any]] = []

    def steps(self, seconds: float) -> int:
        return math.ceil(seconds / self.step)

    def settle(self, rules: Sequence[AlertRule]) -> int:
        """Sample index at which every rule of the group has had its window and ``for:``."""
        longest = max(r.for_seconds for r in rules)
        return self.steps(longest + self.timing.rate_window) + 3

    def at(self, index: int) -> str:
        return f"{index * self.step}s"

    def case(
        self,
        name: str,
        alertname: str,
        series: Mapping[str, str],
        evals: Sequence[tuple[int, Expected]],
    ) -> None:
        checks = []
        for index, expected in evals:
            alerts = []
            for rule, series_labels, value in expected:
                labels = {
                    **series_labels,
                    "severity": rule.severity,
                    "kpi": rule.kpi,
                    **rule.labels,
                }
                alerts.append(
                    {
                        "exp_labels": labels,
                        "exp_annotations": {
                            "summary": render_template(rule.summary, labels, value),
                            "description": render_template(rule.description, labels, value),
                            "runbook_url": rule.runbook_url,
                        },
                    }
                )
            checks.append(
                {"eval_time": self.at(index), "alertname": alertname, "exp_alerts": alerts}
            )
        self.tests.append(
            {
                "name": name,
                "interval": f"{self.step}s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": checks,
            }
        )

    # -- ratio alerts: fire when value > threshold ----------------------------------------------

    def ratio_points(self, group: Sequence[AlertRule]) -> list[tuple[str, float]]:
        points = []
        for rule in group:
            assert rule.threshold is not None
            above = rule.threshold * 1.02 if rule.threshold * 1.02 < 1 else (rule.threshold + 1) / 2
            if above > rule.threshold and above < 1:
                points.append(
                    (
                        f"{percentage(above)} is above {rule.severity} {percentage(rule.threshold)}",
                        above,
                    )
                )
            points.append(
                (
                    f"{percentage(rule.threshold * 0.98)} is just below {rule.severity} "
                    f"{percentage(rule.threshold)}",
                    rule.threshold * 0.98,
                )
            )
        return points

    def ratio_group(
        self,
        group: Sequence[AlertRule],
        series: Callable[[float, int], dict[str, str]],
        labels: Mapping[str, str],
        measure: Callable[[float], float],
    ) -> None:
        end = self.settle(group)
        for name, target in self.ratio_points(group):
            value = measure(target)
            expected: Expected = [
                (r, dict(labels), percentage(value))
                for r in group
                if r.threshold is not None and value > r.threshold
            ]
            self.case(
                f"{group[0].alert}: {name}",
                group[0].alert,
                series(target, end + 5),
                [(end, expected)],
            )

    def error_series(self, ratio: float, length: int) -> dict[str, str]:
        errors = round(ratio * TOTAL, 6)
        base = {"job": self.job, "instance": INSTANCE, **self.route}
        error, ok = self.statuses
        return {
            _selector(
                self.http.requests, {**base, self.http.status: error}
            ): f"0+{_num(errors)}x{length}",
            _selector(
                self.http.requests, {**base, self.http.status: ok}
            ): f"0+{_num(TOTAL - errors)}x{length}",
        }

    def error_value(self, ratio: float) -> float:
        errors = round(ratio * TOTAL, 6)
        return errors / TOTAL

    def host_series(self, metric_used: str) -> Callable[[float, int], dict[str, str]]:
        def build(used: float, length: int) -> dict[str, str]:
            avail = round((1 - used) * 1_000_000, 3)
            up = {_selector("up", {"job": self.job, "instance": INSTANCE}): f"1x{length}"}
            if metric_used == "memory":
                return {
                    _selector("node_memory_MemAvailable_bytes", NODE): f"{_num(avail)}x{length}",
                    _selector("node_memory_MemTotal_bytes", NODE): f"1000000x{length}",
                    **up,
                }
            return {
                _selector("node_filesystem_avail_bytes", FS): f"{_num(avail)}x{length}",
                _selector("node_filesystem_size_bytes", FS): f"1000000x{length}",
                **up,
            }

        return build

    @staticmethod
    def host_value(used: float) -> float:
        return 1 - round((1 - used) * 1_000_000, 3) / 1_000_000

    # -- latency: fire when the share within the threshold < 0.99 ---------------------------------

    def latency_group(self, group: Sequence[AlertRule]) -> None:
        end = self.settle(group)
        bounds = sorted({r.threshold for r in group if r.threshold is not None})
        for rule in group:
            assert rule.threshold is not None
            for label, within in (("just above", 0.988), ("just below", 0.992)):
                shares = {b: within if b <= rule.threshold else 1.0 for b in bounds}
                base = {"job": self.job, "instance": INSTANCE, **self.route}
                series = {
                    _selector(
                        self.http.bucket, {**base, "le": f"{self.http.le(b):g}"}
                    ): f"0+{_num(share * TOTAL)}x{end + 5}"
                    for b, share in shares.items()
                }
                series[_selector(self.http.bucket, {**base, "le": "+Inf"})] = (
                    f"0+{_num(TOTAL)}x{end + 5}"
                )
                series[_selector(self.http.count, base)] = f"0+{_num(TOTAL)}x{end + 5}"
                expected: Expected = [
                    (r, {"job": self.job}, percentage(shares[r.threshold]))
                    for r in group
                    if r.threshold is not None and shares[r.threshold] < 0.99
                ]
                self.case(
                    f"{rule.alert}: p99 {label} the {rule.severity} threshold {rule.threshold:g} s",
                    rule.alert,
                    series,
                    [(end, expected)],
                )

    # -- down --------------------------------------------------------------------------------------

    def down_group(self, group: Sequence[AlertRule]) -> None:
        for_steps = self.steps(max(r.for_seconds for r in group))
        up = _selector("up", {"job": self.job, "instance": INSTANCE})
        first_down = 11
        length = first_down + for_steps + 10
        series = {up: f"1x{first_down - 1} 0x{length}"}
        fired: Expected = [(r, {"job": self.job, "instance": INSTANCE}, "0") for r in group]
        evals: list[tuple[int, Expected]] = [
            (first_down - 1, []),
            (first_down + for_steps + 1, fired),
        ]
        if for_steps > 1:
            evals.append((first_down + for_steps - 1, []))
        self.case(
            f"{group[0].alert}: a target down fires after for:", group[0].alert, series, evals
        )
        absent: Expected = [(r, {"job": self.job}, "1") for r in group]
        self.case(
            f"{group[0].alert}: a job without targets fires",
            group[0].alert,
            {_selector("up", {"job": "other", "instance": "x:1"}): f"1x{length}"},
            [(for_steps + 3, absent)],
        )

    # -- info events -------------------------------------------------------------------------------

    def event_group(self, rule: AlertRule) -> None:
        window = self.steps(self.timing.event_window)
        change = window + 5
        length = change + 2 * window + 10
        base = {"job": self.job, "instance": INSTANCE}
        if rule.kpi == "deployment":
            build = self.rules.metrics.get("build_info", "hypersync_build_info")
            series = {
                _selector(
                    build, {**base, "version": "1.0.0", "revision": "aaa"}
                ): f"1x{change - 1} stale",
                _selector(
                    build, {**base, "version": "1.1.0", "revision": "bbb"}
                ): f"_x{change} 1x{length}",
            }
            labels = {"job": self.job, "version": "1.1.0", "revision": "bbb"}
            value = "1"
        elif rule.kpi == "configuration_change":
            reload = self.rules.metrics.get(
                "config_reload", "hypersync_config_last_reload_timestamp_seconds"
            )
            series = {_selector(reload, base): f"100x{change - 1} 700x{length}"}
            labels, value = dict(base), "1"
        else:
            series = {
                _selector("up", {"job": self.job, "instance": "a:8080"}): f"1x{length}",
                _selector("up", {"job": self.job, "instance": "b:8080"}): f"_x{change} 1x{length}",
            }
            labels, value = {"job": self.job}, "2"
        self.case(
            f"{rule.alert}: fires after the event, quiet before and a window later",
            rule.alert,
            series,
            [(change - 2, []), (change + 1, [(rule, labels, value)]), (change + window + 3, [])],
        )

    def build(self) -> dict[str, Any]:
        groups: dict[str, list[AlertRule]] = {}
        for rule_group in self.rules.files.get(ALERTS_FILE, ()):
            for rule in rule_group.rules:
                if isinstance(rule, AlertRule):
                    groups.setdefault(rule.alert, []).append(rule)
        for name, group in groups.items():
            kpi = group[0].kpi
            if kpi == "error_rate":
                self.ratio_group(group, self.error_series, {"job": self.job}, self.error_value)
            elif kpi == "memory_used":
                self.ratio_group(
                    group, self.host_series("memory"), {**NODE, "host": "host"}, self.host_value
                )
            elif kpi == "disk_used":
                self.ratio_group(
                    group, self.host_series("disk"), {**FS, "host": "host"}, self.host_value
                )
            elif kpi == "latency_p99":
                self.latency_group(group)
            elif kpi == "availability":
                self.down_group(group)
            elif kpi in ("deployment", "configuration_change", "scaling"):
                for rule in group:
                    self.event_group(rule)
            else:  # pragma: no cover - every generated alert kind is handled above
                raise AssertionError(f"no generated test for {name}")
        return {
            "rule_files": [ALERTS_FILE],
            "evaluation_interval": f"{self.step}s",
            "tests": self.tests,
        }


def _api_route(pattern: str) -> str:
    """A route value the profile's API filter keeps (``ROUTES``), for the generated series."""
    for route in ROUTES:
        if not pattern or re.fullmatch(pattern, route):
            return route
    raise ConfigError(
        f"metrics.http.api_routes {pattern!r} keeps none of {', '.join(ROUTES)}: the generated "
        "promtool tests need a route value it keeps."
    )


def rule_tests(rules: RuleSet) -> dict[str, Any]:
    """The ``promtool test rules`` document for the contract alerts of ``rules``."""
    return _Generator(rules).build()


#: Burn-rate cases evaluate after the longest page window (1 h) and the ticket's ``for:``.
BURN_STEP = 60
BURN_EVAL_MINUTES = 70


class _BurnGenerator(_Generator):
    """Cases for the multi-window, multi-burn-rate alerts of ``hypersync-slo.rules.yml``: a burn
    far above the page factor pages and tickets, one between the ticket and page factors only
    tickets, half the budget's rate stays quiet."""

    def __init__(self, rules: RuleSet) -> None:
        super().__init__(rules)
        self.step = BURN_STEP

    def slo_labels(self) -> dict[str, dict[str, str]]:
        """The labels of each SLO's recorded series, by SLO name."""
        found: dict[str, dict[str, str]] = {}
        for group in self.rules.files.get(SLO_FILE, ()):
            for rule in group.rules:
                if isinstance(rule, RecordingRule) and rule.record.startswith("slo:sli_error:"):
                    found.setdefault(rule.labels["slo"], dict(rule.labels))
        return found

    def slow_series(self, threshold: float, ratio: float, length: int) -> dict[str, str]:
        base = {"job": self.job, "instance": INSTANCE, **self.route}
        within = round((1 - ratio) * TOTAL, 6)
        return {
            _selector(self.http.bucket, {**base, "le": f"{self.http.le(threshold):g}"}): (
                f"0+{_num(within)}x{length}"
            ),
            _selector(self.http.bucket, {**base, "le": "+Inf"}): f"0+{_num(TOTAL)}x{length}",
            _selector(self.http.count, base): f"0+{_num(TOTAL)}x{length}",
        }

    def series_for(self, kpi: str, ratio: float, length: int) -> dict[str, str] | None:
        if kpi == "success_rate":
            return self.error_series(ratio, length)
        if kpi == "availability":  # scrapes fail or succeed; only 0 % and 100 % are exact
            if ratio not in (0.0, 1.0):
                return None
            up = _selector("up", {"job": self.job, "instance": INSTANCE})
            return {up: f"{0 if ratio == 1.0 else 1}x{length}"}
        if kpi.startswith("latency_"):
            objective = self.rules.slo_thresholds.get(kpi)
            return None if objective is None else self.slow_series(objective, ratio, length)
        return None  # pragma: no cover - every generated SLO kind is handled above

    def build(self) -> dict[str, Any]:
        labels = self.slo_labels()
        burns: dict[str, dict[str, AlertRule]] = {}
        for group in self.rules.files.get(SLO_FILE, ()):
            for rule in group.rules:
                if isinstance(rule, AlertRule):
                    burns.setdefault(rule.kpi, {})[rule.severity] = rule
        end = BURN_EVAL_MINUTES
        for kpi, rules in burns.items():
            page, ticket = rules["critical"], rules["warning"]
            assert page.threshold is not None
            assert ticket.threshold is not None
            # a burn alert's threshold is its lowest factor times the budget
            budget = ticket.threshold / min(
                w.factor for w in BURN_WINDOWS if w.severity == "warning"
            )
            cases: tuple[tuple[str, float, bool, bool], ...] = (
                ("a fast burn pages and tickets", min(1.0, 16 * budget), True, True),
                ("a burn between the ticket and page rates only tickets", 4 * budget, False, True),
                ("half the budget's rate is quiet", budget / 2, False, False),
            )
            if kpi == "availability":
                cases = (
                    ("every scrape failing pages and tickets", 1.0, True, True),
                    ("every scrape answered is quiet", 0.0, False, False),
                )
            for name, ratio, pages, tickets in cases:
                series = self.series_for(kpi, ratio, end + 5)
                if series is None:
                    continue
                value = percentage(self.error_value(ratio) if kpi == "success_rate" else ratio)
                checks = []
                for rule, fires in ((page, pages), (ticket, tickets)):
                    expected: Expected = [(rule, labels[kpi], value)] if fires else []
                    self.case(rule.alert, rule.alert, series, [(end, expected)])
                    checks += self.tests.pop()["alert_rule_test"]
                # one case per series, checking both alerts: promtool evaluates it once
                self.tests.append(
                    {
                        "name": f"{kpi}: {name} ({percentage(ratio)} bad against a "
                        f"{percentage(budget)} budget)",
                        "interval": f"{self.step}s",
                        "input_series": [{"series": k, "values": v} for k, v in series.items()],
                        "alert_rule_test": checks,
                    }
                )
        return {
            "rule_files": [SLO_FILE],
            "evaluation_interval": f"{self.step}s",
            "tests": self.tests,
        }


def burn_rule_tests(rules: RuleSet) -> dict[str, Any]:
    """The ``promtool test rules`` document for the burn-rate alerts of ``rules`` (SLO file)."""
    return _BurnGenerator(rules).build()
