"""Shared fixtures of the project's own tests: real servers on loopback, started and stopped."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from hypersync_slo.stack import NodeExporter, PrometheusServer, ReferenceService, ScrapeJob

DATA = Path(__file__).parent / "data"
StartService = Callable[..., ReferenceService]


@pytest.fixture
def start_reference_service(tmp_path: Path) -> Iterator[StartService]:
    """A factory starting the reference service as a subprocess with extra CLI args."""
    started: list[ReferenceService] = []

    def start(*args: str, workdir: Path | None = None) -> ReferenceService:
        service = ReferenceService(workdir or tmp_path / f"service{len(started)}", list(args))
        started.append(service)
        return service.start()

    yield start
    for service in reversed(started):
        service.stop()


@pytest.fixture
def reference_service(start_reference_service: StartService) -> ReferenceService:
    """One clean reference service (no faults), running on a free loopback port."""
    return start_reference_service()


@pytest.fixture(scope="session")
def shared_reference_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ReferenceService]:
    """A clean reference service shared by read-only tests of a session, with the fault admin on."""
    service = ReferenceService(tmp_path_factory.mktemp("shared-service"), ["--enable-fault-admin"])
    service.start()
    yield service
    service.stop()


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[..., PrometheusServer]]:
    """A factory starting a real Prometheus scraping the given jobs every ``interval`` seconds."""
    if shutil.which("prometheus") is None:
        pytest.fail(
            "prometheus is not installed: apt-get install prometheus (./quickstart does it)"
        )
    started: list[PrometheusServer] = []

    def start(
        jobs: Sequence[ScrapeJob], interval: float = 1.0, **kwargs: object
    ) -> PrometheusServer:
        server = PrometheusServer(
            tmp_path / f"prometheus{len(started)}", jobs, interval=interval, **kwargs
        )  # type: ignore[arg-type]
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[NodeExporter]:
    """Debian's node_exporter on a free loopback port."""
    exporter = NodeExporter(tmp_path / "node").start()
    yield exporter
    exporter.stop()
