"""The Grafana dashboard, its provisioning and the scrape config: valid documents, live queries that work."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hypersync_slo.alerting.dashboards import (
    build_dashboard,
    dashboard_json,
    dashboard_queries,
    provisioning_files,
    scrape_config,
)
from hypersync_slo.alerting.rules import SLO_FILE, build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.processes import ManagedProcess, find_tool, free_port
from hypersync_slo.stack import NodeExporter, PrometheusServer, ReferenceService, ScrapeJob

#: Queries allowed to return nothing on a healthy test stack, and why.
MAY_BE_EMPTY = {
    "ALERTS{": "no alert fires on a healthy service",
    "node_filesystem_avail_bytes{": "a container may have only pseudo file systems (overlay, tmpfs)",
    "node_disk_": "a container may expose no block devices",
}


def concrete(expr: str, job: str = "hypersync") -> str:
    """Replace Grafana's variables with what Grafana would send."""
    return expr.replace("$__rate_interval", "1m").replace("$job", job).replace("$instance", ".*")


@pytest.fixture(scope="module")
def board() -> dict[str, object]:
    """The dashboard of the packaged SLO file."""
    return build_dashboard(SloConfig.default())


def test_dashboard_is_a_valid_classic_dashboard(board: dict[str, object]) -> None:
    """uid, title, integer schemaVersion, panels; no DB id, no __inputs; every target has refId and expr."""
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", str(board["uid"]))
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    assert board.get("id") is None
    assert "__inputs" not in board
    text = json.dumps(board)
    assert "${DS_" not in text
    panels = board["panels"]
    assert isinstance(panels, list)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert 1 <= panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        if panel["type"] == "alertlist":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert re.fullmatch(r"[A-Z]", target["refId"])
            assert target["expr"].strip()


def test_dashboard_covers_kpis_budget_layers_and_alerts(board: dict[str, object]) -> None:
    """Rows for KPIs, error budget and the three layers; an ALERTS annotation; $datasource and $job."""
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]  # type: ignore[attr-defined]
    assert rows == [
        "KPIs against objectives",
        "Error budget and burn rate",
        "System layer (process and host)",
        "Application layer (HTTP)",
        "Business layer (HyperSync operations)",
    ]
    annotation = board["annotations"]["list"][0]  # type: ignore[index]
    assert annotation["expr"] == 'ALERTS{alertstate="firing",service="hypersync"}'
    names = [v["name"] for v in board["templating"]["list"]]  # type: ignore[index]
    assert names == ["datasource", "job", "instance"]
    queries = dashboard_queries(board)
    for metric in (
        "hypersync_operator_executions_total",
        "hypersync_policy_evaluations_total",
        "hypersync_receipts_generated_total",
        "process_resident_memory_bytes",
        "node_memory_MemAvailable_bytes",
        "slo:error_budget:ratio",
    ):
        assert any(metric in q for q in queries), metric
    assert any(q.startswith("histogram_quantile(0.99, sum by (le)") for q in queries)


def _panel(board: dict[str, object], title: str) -> dict[str, Any]:
    panels = board["panels"]
    assert isinstance(panels, list)
    return next(p for p in panels if str(p.get("title", "")).startswith(title))


def _steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(step["value"], step["color"]) for step in steps]


def test_thresholds_point_the_right_way_for_each_kpi(board: dict[str, object]) -> None:
    """Higher-is-better KPIs are red below their objective and green at it; lower-is-better
    ones green below and red at it; a spent budget (below 0) is red, never green."""
    for title, objective in (
        ("Availability", 0.999),
        ("Success rate", 0.999),
        ("Throughput", 1000),
    ):
        assert _steps(_panel(board, title)) == [(None, "red"), (objective, "green")], title
    for title, objective in (("Error rate", 0.001), ("latency p95", 0.1), ("latency p99", 0.5)):
        assert _steps(_panel(board, title)) == [(None, "green"), (objective, "red")], title
    remaining = _steps(_panel(board, "Error budget remaining"))
    assert remaining == [(None, "red"), (0.0, "orange"), (0.25, "green")]


def test_grid_schema_objective_lines_instance_alerts_and_burn_down(
    board: dict[str, object],
) -> None:
    """A valid 24-column grid without overlap; current schema without deprecated keys; objective
    lines drawn on every time series with thresholds; an instance variable used by the raw
    queries; an alert-list panel for the service; a 30-day error-budget burn-down."""
    panels = board["panels"]
    assert isinstance(panels, list)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps at {(x, y)}"
                cells.add((x, y))
    assert int(str(board["schemaVersion"])) >= 39
    assert "style" not in board
    for panel in panels:
        if panel["type"] == "timeseries" and "thresholds" in panel["fieldConfig"]["defaults"]:
            style = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]
            assert style["mode"] in ("dashed", "line", "line+area"), panel["title"]
    variable = board["templating"]["list"][2]  # type: ignore[index]
    assert variable["query"] == 'label_values(up{job=~"$job"}, instance)'
    assert variable["includeAll"] is True
    assert any('instance=~"$instance"' in q for q in dashboard_queries(board))
    (alerts,) = [p for p in panels if p["type"] == "alertlist"]
    assert alerts["options"]["alertInstanceLabelFilter"] == '{service="hypersync"}'
    assert alerts["options"]["stateFilter"]["firing"] is True
    burn_down = _panel(board, "Error budget burn-down over the SLO period")
    assert burn_down["type"] == "timeseries"
    assert burn_down["timeFrom"] == "30d"
    assert "slo:sli_error:ratio_rate30d" in burn_down["targets"][0]["expr"]


def test_dashboard_is_byte_stable() -> None:
    """Two renders of the same SLO file give the same bytes."""
    assert dashboard_json(SloConfig.default()) == dashboard_json(SloConfig.default())


def test_every_query_is_valid_promql(board: dict[str, object], tmp_path: Path) -> None:
    """Each panel expression, wrapped as a recording rule, passes `promtool check rules`."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": concrete(q)}
                    for i, q in enumerate(dashboard_queries(board))
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules), "utf-8")
    binary = find_tool("promtool")
    assert binary is not None
    result = subprocess.run(
        [binary, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_query_runs_against_live_prometheus(
    board: dict[str, object],
    tmp_path: Path,
    start_reference_service: Callable[..., ReferenceService],
    start_prometheus: Callable[..., PrometheusServer],
    node_exporter: NodeExporter,
) -> None:
    """Against Prometheus scraping the reference service and node_exporter, every query succeeds with data."""
    service = start_reference_service()
    rules = tmp_path / SLO_FILE
    rules.write_text(build_rules(SloConfig.default()).render()[SLO_FILE], "utf-8")
    prometheus = start_prometheus(
        [ScrapeJob("hypersync", (service.address,)), ScrapeJob("node", (node_exporter.address,))],
        interval=1.0,
        rule_files=[str(rules)],
    )
    prometheus.wait_for_targets()
    with httpx.Client(timeout=5) as client:
        for i in range(40):
            client.post(
                f"{service.url}/v1/operators/transform/execute",
                json={"input": {"i": i}, "agent_id": "a"},
            )
            client.post(
                f"{service.url}/v1/policies/access/evaluate",
                json={"subject": "u", "action": "read", "resource": "r"},
            )
            client.post(f"{service.url}/v1/receipts", json={"operation": "op", "payload": {"i": i}})
            client.post(f"{service.url}/v1/agents/agent-1/actions", json={"action": "sync"})
    queries = [concrete(q) for q in dashboard_queries(board)]
    pending = set(queries)
    problems: dict[str, str] = {}
    deadline = time.monotonic() + 30

    def explained(query: str) -> bool:
        return any(marker in query for marker in MAY_BE_EMPTY)

    while time.monotonic() < deadline and not all(explained(q) for q in pending):
        for query in sorted(pending):
            answer = httpx.get(
                f"{prometheus.url}/api/v1/query", params={"query": query}, timeout=10
            ).json()
            if answer["status"] != "success":
                problems[query] = answer.get("error", "?")
                pending.discard(query)
            elif answer["data"]["result"]:
                pending.discard(query)
        if pending:
            time.sleep(1)
    assert not problems, problems
    unexplained = [q for q in pending if not explained(q)]
    assert not unexplained, f"queries with no data after 30 s: {unexplained}"
    assert len(pending) <= len(queries) // 4


def test_provisioning_files_are_grafana_provisioning() -> None:
    """apiVersion 1; a file provider with a path; one default Prometheus data source with a uid."""
    files = provisioning_files(dashboards_path="/var/lib/grafana/dashboards/hypersync")
    dashboards = yaml.safe_load(files["dashboards/hypersync-slo.yaml"])
    assert dashboards["apiVersion"] == 1
    provider = dashboards["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/hypersync"
    datasources = yaml.safe_load(files["datasources/prometheus.yaml"])
    assert datasources["apiVersion"] == 1
    (source,) = datasources["datasources"]
    assert (source["type"], source["access"], source["uid"], source["isDefault"]) == (
        "prometheus",
        "proxy",
        "prometheus",
        True,
    )


def test_scrape_config_discovers_targets_from_files(
    tmp_path: Path, start_reference_service: Callable[..., ReferenceService]
) -> None:
    """The generated prometheus.yml passes promtool and, run by real Prometheus, scrapes a file-SD target."""
    service = start_reference_service()
    root = tmp_path / "prometheus"
    (root / "targets").mkdir(parents=True)
    (root / "rules").mkdir()
    for name, text in build_rules(SloConfig.default()).render().items():
        (root / "rules" / name).write_text(text, "utf-8")
    text = scrape_config(alertmanager=f"127.0.0.1:{free_port()}", scrape_interval="1s")
    (root / "prometheus.yml").write_text(text, "utf-8")
    (root / "targets" / "hypersync-test.json").write_text(
        json.dumps([{"targets": [service.address], "labels": {"env": "test"}}]), "utf-8"
    )
    promtool = find_tool("promtool")
    assert promtool is not None
    check = subprocess.run(
        [promtool, "check", "config", str(root / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    binary = find_tool("prometheus")
    assert binary is not None
    port = free_port()
    with ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        root / "prometheus.log",
    ) as process:
        process.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        deadline = time.monotonic() + 20
        result: list[object] = []
        while time.monotonic() < deadline and not result:
            answer = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/query",
                params={"query": 'up{job="hypersync",env="test"} == 1'},
                timeout=5,
            ).json()
            result = answer["data"]["result"]
            time.sleep(0.3)
        assert result, f"file-SD target {service.address} never scraped; log: {process.log_tail()}"
