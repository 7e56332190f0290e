"""Two services' rendered rules and dashboards in one Prometheus: each query sees only its service.

``payments`` (job ``payments``) is scraped as ``127.0.0.1:<port>``, ``orders`` (job ``orders``) as
``localhost:<port>``; one node_exporter is scraped under both names, so the node series of host
``127.0.0.1`` belong to payments' host and those of ``localhost`` to orders' host. Every rule and
every dashboard query of each service runs against the one Prometheus without error and returns
series of its own job, service and hosts only.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hypersync_slo.alerting.dashboards import build_dashboard, dashboard_queries
from hypersync_slo.alerting.rules import HOST_REGEX, AlertRule, build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.processes import find_tool
from hypersync_slo.stack import NodeExporter, PrometheusServer, ReferenceService, ScrapeJob

SERVICES = {"payments": "127.0.0.1", "orders": "localhost"}
#: An alert expression ``<measure> > 0.8`` (or ``< 0.99``): the measure is checked on its own.
THRESHOLD = re.compile(r"(.*) [<>] [0-9.e+-]+")
#: Queries allowed to return nothing on a healthy, young test stack, and why.
MAY_BE_EMPTY = (
    ("ALERTS{", "no alert fires on a healthy service"),
    ("node_filesystem_avail_bytes{", "a container may have only pseudo file systems"),
    ("node_disk_", "a container may expose no block devices"),
)


def slo_config(service: str) -> SloConfig:
    """The packaged SLO file under another service name."""
    text = (Path(__file__).parents[2] / "hypersync_slo" / "data" / "slo.yaml").read_text("utf-8")
    return SloConfig.from_text(
        text.replace("service: hypersync", f"service: {service}"), source=f"{service}.yaml"
    )


def concrete(expr: str, job: str) -> str:
    """Grafana's variables replaced as Grafana would send them for ``job``."""
    return expr.replace("$__rate_interval", "1m").replace("$job", job).replace("$instance", ".*")


def host_of(instance: str) -> str:
    """The host part of an ``instance`` label, as the generated queries take it."""
    match = re.fullmatch(HOST_REGEX, instance)
    assert match, instance
    return match.group(1)


def query(prometheus: PrometheusServer, expr: str) -> list[dict[str, Any]] | str:
    """The result vector of an instant query, or Prometheus's error text."""
    answer = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10).json()
    if answer["status"] != "success":
        return str(answer.get("error", "?"))
    result = answer["data"]["result"]
    return result if isinstance(result, list) else [{"metric": {}, "value": result}]


def foreign(series: list[dict[str, Any]], service: str) -> list[dict[str, str]]:
    """Series of another job, service or host than ``service``'s."""
    wrong = []
    for item in series:
        labels = item["metric"]
        job = labels.get("job")
        if job == "node":
            if host_of(labels.get("instance", "")) != SERVICES[service]:
                wrong.append(labels)
        elif (job is not None and job != service) or labels.get("service", service) != service:
            wrong.append(labels)
    return wrong


def render_all(directory: Path) -> tuple[dict[str, SloConfig], list[Path]]:
    """Each service's SLO file and its rendered rule files, written to ``directory``."""
    configs = {name: slo_config(name) for name in SERVICES}
    files: list[Path] = []
    for name, config in configs.items():
        for file_name, text in build_rules(config, job=name).render().items():
            path = directory / f"{name}-{file_name}"
            path.write_text(text, "utf-8")
            files.append(path)
    return configs, files


@pytest.fixture
def shared(
    tmp_path: Path,
    start_reference_service: Callable[..., ReferenceService],
    start_prometheus: Callable[..., PrometheusServer],
    node_exporter: NodeExporter,
) -> tuple[PrometheusServer, dict[str, SloConfig]]:
    """Both services' rules loaded into one Prometheus scraping both and a shared node_exporter."""
    configs, files = render_all(tmp_path)
    services = {name: start_reference_service() for name in SERVICES}
    node_port = node_exporter.address.rsplit(":", 1)[1]
    jobs = [
        ScrapeJob(name, (f"{host}:{services[name].address.rsplit(':', 1)[1]}",))
        for name, host in SERVICES.items()
    ]
    jobs.append(ScrapeJob("node", tuple(f"{host}:{node_port}" for host in SERVICES.values())))
    prometheus = start_prometheus(jobs, interval=1.0, rule_files=[str(p) for p in files])
    prometheus.wait_for_targets()
    with httpx.Client(timeout=5) as client:
        for service in services.values():
            for i in range(20):
                client.post(f"{service.url}/v1/receipts", json={"operation": "op", "payload": {}})
                client.get(f"{service.url}/v1/receipts/missing-{i}")
    return prometheus, configs


def test_both_services_rule_files_pass_promtool_together(tmp_path: Path) -> None:
    """`promtool check rules` accepts the four rendered files of two services in one run."""
    _, files = render_all(tmp_path)
    binary = find_tool("promtool")
    assert binary is not None
    result = subprocess.run(
        [binary, "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def every_query(configs: dict[str, SloConfig]) -> tuple[dict[str, str], set[str]]:
    """Each dashboard and rule query of each service (query -> service), and the alert expressions.

    Alert expressions are quiet on a healthy service; their measure without the threshold is not,
    so it is a query of its own.
    """
    queries: dict[str, str] = {}
    quiet: set[str] = set()
    for name, config in configs.items():
        for expr in dashboard_queries(build_dashboard(config, job=name)):
            queries[concrete(expr, name)] = name
        for groups in build_rules(config, job=name).files.values():
            for group in groups:
                for item in group.rules:
                    queries[item.expr] = name
                    if isinstance(item, AlertRule):
                        quiet.add(item.expr)
                        measure = THRESHOLD.fullmatch(item.expr)
                        if measure:
                            queries[measure.group(1)] = name
    return queries, quiet


def test_every_query_returns_only_its_service(
    shared: tuple[PrometheusServer, dict[str, SloConfig]],
) -> None:
    """Each service's dashboard and rule queries run without error and see only its job, service and hosts."""
    prometheus, configs = shared
    queries, quiet = every_query(configs)

    def explained(expr: str) -> bool:
        return expr in quiet or any(marker in expr for marker, _ in MAY_BE_EMPTY)

    pending = dict(queries)
    problems: dict[str, str] = {}
    leaks: dict[str, list[dict[str, str]]] = {}
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not all(map(explained, pending)):
        for expr, service in sorted(pending.items()):
            got = query(prometheus, expr)
            if isinstance(got, str):
                problems[expr] = got
                del pending[expr]
            elif got:
                wrong = foreign(got, service)
                if wrong:
                    leaks[expr] = wrong
                del pending[expr]
        if pending:
            time.sleep(1)
    assert not problems, problems
    assert not leaks, leaks
    unexplained = [expr for expr in pending if not explained(expr)]
    assert not unexplained, f"queries with no data after 45 s: {unexplained}"
    budgets = query(prometheus, "slo:error_budget:ratio")
    assert isinstance(budgets, list)
    assert {(b["metric"]["service"], b["metric"]["job"]) for b in budgets} == {
        (name, name) for name in SERVICES
    }
