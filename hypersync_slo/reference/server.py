"""Run the reference service on uvicorn (uvloop + httptools), one process, one event loop.

SIGTERM/SIGINT shut it down gracefully: ``/health/ready`` turns 503 ("shutting down") at once;
after ``--shutdown-grace`` seconds (default 0) uvicorn stops listening, in-flight requests
complete, then the lifespan shutdown closes the receipt store and flushes spans and logs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from types import FrameType

import uvicorn

from hypersync_slo.errors import SuiteFault, explain
from hypersync_slo.reference.app import ReferenceApp
from hypersync_slo.reference.logs import LogWriter, route_stdlib_logging
from hypersync_slo.reference.options import ServiceOptions


class _Server(uvicorn.Server):
    """uvicorn's server, draining first: on a stop signal ready turns 503 at once, and the
    listener stays open ``grace`` more seconds so load balancers see it before connections fail.
    A second signal stops at once."""

    def __init__(self, config: uvicorn.Config, app: ReferenceApp, grace: float) -> None:
        super().__init__(config)
        self.reference_app = app
        self.grace = grace
        self._timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        health = self.reference_app.health
        if self.grace > 0 and not health.draining:
            health.draining = True
            # never write from the signal handler itself: it may interrupt a write holding the lock
            threading.Thread(
                target=self.reference_app.log.log,
                args=("info", "draining: ready answers 503"),
                kwargs={"grace_seconds": self.grace},
                daemon=True,
            ).start()
            self._timer = threading.Timer(self.grace, super().handle_exit, (sig, None))
            self._timer.daemon = True
            self._timer.start()
            return
        health.draining = True
        if self._timer is not None:
            self._timer.cancel()
        super().handle_exit(sig, frame)


def build(options: ServiceOptions, writer: LogWriter) -> tuple[ReferenceApp, _Server]:
    """The app and its uvicorn server, wired together (not started)."""
    app = ReferenceApp(options, writer)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=logging.INFO,
        server_header=False,
        timeout_graceful_shutdown=5,
        backlog=2048,
    )
    server = _Server(config, app, options.shutdown_grace)
    app.metrics.state.connections = lambda: len(server.server_state.connections)
    return app, server


def run(options: ServiceOptions) -> None:
    """Serve until stopped; ``SuiteFault`` when the service could not start."""
    writer = LogWriter(options.log_file)
    route_stdlib_logging(writer)
    app = None
    try:
        app, server = build(options, writer)
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind or start up
            server.run()
        if server.started:
            return
    finally:
        writer.close()
    reason = (
        app.startup_error
        if app is not None and app.startup_error
        else "see the log lines before this one"
    )
    raise SuiteFault(
        explain(
            "the reference service could not start.",
            listen=f"{options.host}:{options.port}",
            data_dir=options.data_dir,
            reason=reason,
            log=options.log_file or "stderr",
        )
    )
