"""The embedded default stack: the reference service, Prometheus and node_exporter on loopback.

``Stack`` starts the real programs (Debian's ``prometheus`` and ``prometheus-node-exporter``)
on free loopback ports with a generated scrape configuration, and stops them all on exit,
also on Ctrl-C. The demo, the ``run`` job and the project's tests use it.

Each program has its runner here: ``ReferenceService``, ``PrometheusServer``, ``NodeExporter``,
``AlertmanagerServer`` (Debian's ``prometheus-alertmanager``, for the demo and the tests) and
``MtailServer`` (Debian's ``mtail`` following log files, for the tests).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from hypersync_slo.errors import PrometheusUnavailable, SuiteFault, explain
from hypersync_slo.processes import ManagedProcess, find_tool, free_port, python_module_argv

HOST = "127.0.0.1"

#: Alertmanager configuration of the embedded stack: alerts are received, grouped and shown
#: (``/api/v2/alerts``) but sent nowhere: the demo has no PagerDuty, Slack or mail relay.
LOCAL_ALERTMANAGER_CONFIG = """\
route:
  receiver: local
  group_by: [alertname, severity]
  group_wait: 1s
  group_interval: 5s
receivers:
  - name: local
"""


@dataclass(frozen=True)
class ScrapeJob:
    """One Prometheus scrape job: a name and ``host:port`` targets."""

    name: str
    targets: tuple[str, ...]
    metrics_path: str = "/metrics"


def prometheus_duration(seconds: float) -> str:
    """Seconds as a Prometheus duration (whole milliseconds: ``0.8`` -> ``800ms``)."""
    millis = max(1, round(seconds * 1000))
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def prometheus_config(
    jobs: Sequence[ScrapeJob],
    *,
    interval: float,
    rule_files: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
) -> str:
    """The YAML of a Prometheus configuration scraping ``jobs`` every ``interval`` seconds."""
    config: dict[str, object] = {
        "global": {
            "scrape_interval": prometheus_duration(interval),
            "scrape_timeout": prometheus_duration(min(interval, 10.0) * 0.8),
            "evaluation_interval": prometheus_duration(interval),
        },
        "scrape_configs": [
            {
                "job_name": job.name,
                "metrics_path": job.metrics_path,
                "static_configs": [{"targets": list(job.targets)}],
            }
            for job in jobs
        ],
    }
    if rule_files:
        config["rule_files"] = list(rule_files)
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class PrometheusServer:
    """A real Prometheus on loopback with its own TSDB directory."""

    workdir: Path
    jobs: Sequence[ScrapeJob]
    interval: float = 1.0
    rule_files: Sequence[str] = ()
    alertmanagers: Sequence[str] = ()
    retention: str = "2d"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> PrometheusServer:
        """Write the configuration, start Prometheus and wait until it is ready."""
        binary = find_tool("prometheus")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            prometheus_config(
                self.jobs,
                interval=self.interval,
                rule_files=self.rule_files,
                alertmanagers=self.alertmanagers,
            ),
            "utf-8",
        )
        self.process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address={HOST}:{self.port}",
                "--web.enable-lifecycle",
                f"--storage.tsdb.retention.time={self.retention}",
                "--log.level=warn",
            ],
            self.workdir / "prometheus.log",
        ).start()
        self.process.wait_http(f"{self.url}/-/ready", timeout=30)
        return self

    def wait_for_targets(self, timeout: float = 30.0) -> None:
        """Wait until every scrape job has had a successful scrape (``up == 1``)."""
        deadline = time.monotonic() + timeout
        pending = {job.name for job in self.jobs}
        while time.monotonic() < deadline and pending:
            try:
                data = httpx.get(
                    f"{self.url}/api/v1/query", params={"query": "up == 1"}, timeout=2
                ).json()
                up = {item["metric"].get("job") for item in data.get("data", {}).get("result", [])}
                pending -= up
            except (httpx.HTTPError, ValueError):
                pass
            if pending:
                time.sleep(max(self.interval / 4, 0.1))
        if pending:
            raise PrometheusUnavailable(
                explain(
                    "Prometheus started but has not scraped every target.",
                    prometheus=self.url,
                    jobs_not_up=", ".join(sorted(pending)),
                    waited=f"{timeout:g} s",
                    log=self.workdir / "prometheus.log",
                )
            )

    def stop(self) -> None:
        """Stop Prometheus."""
        if self.process:
            self.process.stop()


@dataclass
class NodeExporter:
    """Debian's node_exporter on loopback (optional: the stack runs without it)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """``host:port`` for a scrape job."""
        return f"{HOST}:{self.port}"

    def start(self) -> NodeExporter:
        """Start node_exporter and wait until /metrics answers."""
        binary = find_tool("prometheus-node-exporter")
        assert binary is not None
        self.process = ManagedProcess(
            "node_exporter",
            [binary, f"--web.listen-address={self.address}", "--log.level=warn"],
            self.workdir / "node_exporter.log",
        ).start()
        self.process.wait_http(f"http://{self.address}/metrics", timeout=20)
        return self

    def stop(self) -> None:
        """Stop node_exporter."""
        if self.process:
            self.process.stop()


@dataclass
class ReferenceService:
    """The reference HyperSync service (``hypersync-slo serve-reference``) as a child process."""

    workdir: Path
    extra_args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the service."""
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port`` for a scrape job."""
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the service's JSON log lines go."""
        return self.workdir / "reference-service.log"

    def start(self, timeout: float = 30.0) -> ReferenceService:
        """Start the service and wait until ``/health/live`` answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "reference service",
            python_module_argv(
                "hypersync_slo",
                "serve-reference",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.workdir / "data"),
                *self.extra_args,
            ),
            self.log_path,
        ).start()
        self.process.wait_http(f"{self.url}/health/live", timeout=timeout)
        return self

    def stop(self) -> None:
        """Stop the service (SIGTERM: it shuts down gracefully)."""
        if self.process:
            self.process.stop()


@dataclass
class AlertmanagerServer:
    """Debian's ``prometheus-alertmanager`` on loopback, clustering off, with its own storage."""

    workdir: Path
    config_text: str
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """``host:port`` for Prometheus's ``alerting`` section."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.address}"

    def start(self, timeout: float = 30.0) -> AlertmanagerServer:
        """Write the configuration, start Alertmanager and wait until it is ready."""
        binary = find_tool("prometheus-alertmanager")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(self.config_text, "utf-8")
        self.process = ManagedProcess(
            "alertmanager",
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            self.workdir / "alertmanager.log",
        ).start()
        self.process.wait_http(f"{self.url}/-/ready", timeout=timeout)
        return self

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds now (``GET /api/v2/alerts``)."""
        try:
            response = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PrometheusUnavailable(
                explain(
                    "Alertmanager did not answer its alerts API.",
                    url=f"{self.url}/api/v2/alerts",
                    error=exc,
                )
            ) from exc
        return list(data)

    def wait_for_alert(self, name: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until an alert named ``name`` is active; raise with what was seen on timeout."""
        deadline = time.monotonic() + timeout
        seen: Sequence[str] = ()
        while time.monotonic() < deadline:
            alerts = self.alerts()
            seen = sorted({a["labels"].get("alertname", "?") for a in alerts})
            for alert in alerts:
                if alert["labels"].get("alertname") == name:
                    return alert
            time.sleep(0.2)
        raise PrometheusUnavailable(
            explain(
                f"Alertmanager did not receive alert {name} within {timeout:g} s.",
                alerts_seen=", ".join(seen) or "(none)",
                log=self.workdir / "alertmanager.log",
            )
        )

    def stop(self) -> None:
        """Stop Alertmanager."""
        if self.process:
            self.process.stop()


@dataclass
class MtailServer:
    """Debian's ``mtail`` on loopback following ``logs`` with the programs in ``progs``.

    ``loaded_series`` is a series the programs export from the start (e.g.
    ``alerting.mtail.UNPARSED``): its presence on ``/metrics`` shows they are loaded.
    """

    workdir: Path
    progs: Path
    logs: Sequence[Path]
    loaded_series: str
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """``host:port`` for a scrape job."""
        return f"{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> MtailServer:
        """Start mtail and wait until its ``/metrics`` answers and the programs are loaded."""
        binary = find_tool("mtail")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            "--progs",
            str(self.progs),
            "--address",
            HOST,
            "--port",
            str(self.port),
            "--poll_interval",
            "100ms",
            "--logtostderr",
        ]
        for log in self.logs:
            argv += ["--logs", str(log)]
        self.process = ManagedProcess("mtail", argv, self.workdir / "mtail.log").start()
        self.process.wait_http(f"http://{self.address}/metrics", timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = httpx.get(f"http://{self.address}/metrics", timeout=5).text
            if self.loaded_series in text:
                return self
            time.sleep(0.1)
        self.stop()
        raise SuiteFault(
            explain(
                "mtail started but did not load the request program.",
                progs=self.progs,
                waited=f"{timeout:g} s",
                log=self.workdir / "mtail.log",
            )
        )

    def stop(self) -> None:
        """Stop mtail."""
        if self.process:
            self.process.stop()


@dataclass
class Stack:
    """Reference service + Prometheus (+ node_exporter when installed), stopped together."""

    workdir: Path
    scrape_interval: float = 1.0
    service_args: Sequence[str] = ()
    with_node_exporter: bool = True
    rule_files: Sequence[str] = ()
    with_alertmanager: bool = False
    service: ReferenceService | None = None
    prometheus: PrometheusServer | None = None
    node_exporter: NodeExporter | None = None
    alertmanager: AlertmanagerServer | None = None
    notes: list[str] = field(default_factory=list)

    def start(self) -> Stack:
        """Start every part; on any failure stop what was started and re-raise."""
        try:
            find_tool(
                "prometheus"
            )  # fail fast, before anything starts, with the package to install
            self.service = ReferenceService(self.workdir / "service", self.service_args).start()
            jobs = [ScrapeJob("hypersync", (self.service.address,))]
            if self.with_node_exporter:
                if find_tool("prometheus-node-exporter", required=False):
                    self.node_exporter = NodeExporter(self.workdir / "node").start()
                    jobs.append(ScrapeJob("node", (self.node_exporter.address,)))
                else:
                    self.notes.append(
                        "node_exporter not installed (apt-get install prometheus-node-exporter): "
                        "host metrics are absent."
                    )
            alertmanagers: list[str] = []
            if self.with_alertmanager:
                if find_tool("prometheus-alertmanager", required=False):
                    self.alertmanager = AlertmanagerServer(
                        self.workdir / "alertmanager", LOCAL_ALERTMANAGER_CONFIG
                    ).start()
                    alertmanagers.append(self.alertmanager.address)
                else:
                    self.notes.append(
                        "Alertmanager not installed (apt-get install prometheus-alertmanager): "
                        "alerts are evaluated by Prometheus but not routed."
                    )
            self.prometheus = PrometheusServer(
                self.workdir / "prometheus",
                jobs,
                interval=self.scrape_interval,
                rule_files=self.rule_files,
                alertmanagers=alertmanagers,
            ).start()
            self.prometheus.wait_for_targets()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything that was started, newest first."""
        for part in (self.prometheus, self.alertmanager, self.node_exporter, self.service):
            if part is not None:
                part.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
