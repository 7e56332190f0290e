"""The launcher's pure parts: Locust command lines, event-loop backend, progress line."""

from __future__ import annotations

import io
from pathlib import Path

from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.launcher import (
    DRIVER_LOCUSTFILE,
    LoadPlan,
    _Display,
    event_loop_backend,
    locust_commands,
    progress_line,
)


def plan(**kw: object) -> LoadPlan:
    """A plan against a loopback target with defaults."""
    base: dict[str, object] = {
        "target_url": "http://127.0.0.1:8080",
        "rps": 1000.0,
        "duration": 60.0,
        "out_dir": Path("/tmp/out"),
    }
    base.update(kw)
    return LoadPlan(**base)  # type: ignore[arg-type]


def test_single_process_command() -> None:
    """workers=0: one headless Locust process, one OpenModelUser, the open-model options."""
    (cmd,) = locust_commands(plan(), Path("/tmp/out/.parts"), 5557)
    assert cmd[1:5] == ["-m", "locust", "-f", str(DRIVER_LOCUSTFILE)]
    assert cmd[-1] == "OpenModelUser"
    assert "--headless" in cmd
    assert cmd[cmd.index("-u") + 1] == "1"
    assert cmd[cmd.index("--open-rps") + 1] == "1000"
    assert cmd[cmd.index("--open-workers") + 1] == "1"
    assert "--master" not in cmd


def test_master_and_workers_commands() -> None:
    """workers=2: a master expecting 2 workers, 2 users, and 2 workers on its port."""
    master, *workers = locust_commands(plan(workers=2), Path("/p"), 6000)
    assert len(workers) == 2
    assert "--master" in master
    assert master[master.index("--expect-workers") + 1] == "2"
    assert master[master.index("-u") + 1] == "2"
    for worker in workers:
        assert "--worker" in worker
        assert worker[worker.index("--master-port") + 1] == "6000"
        assert worker[worker.index("--open-workers") + 1] == "2"


def test_select_backend_only_while_sockets_fit() -> None:
    """select (µs timers) up to ~960 connections, epoll (the default) beyond."""
    assert event_loop_backend(100) == "select"
    assert event_loop_backend(2000) is None


def test_progress_line_shows_rate_errors_percentiles_and_time_left() -> None:
    """The progress line merges parts: rate, errors with share, p95/p99 with source, time left."""
    hist = LatencyHistogram.of([0.001] * 95 + [0.2] * 5).encode()
    parts = [
        {
            "sent": 500,
            "requests": 50,
            "errors": 1,
            "dropped": 0,
            "elapsed": 10.0,
            "corrected_total": hist,
        },
        {
            "sent": 500,
            "requests": 50,
            "errors": 0,
            "dropped": 0,
            "elapsed": 9.5,
            "corrected_total": hist,
        },
    ]
    line = progress_line(parts, plan(rps=100.0))
    assert "rate   100.0/100 req/s" in line
    assert "errors 1 (1.00%)" in line
    assert "p95 1 ms" in line
    assert "p99 200 ms (client, corrected, 200 samples)" in line
    assert line.endswith("50 s left")
    assert "starting 1 Locust process" in progress_line([], plan())


def test_display_plain_lines_when_not_a_tty() -> None:
    """Without a terminal each refresh is its own line, no carriage returns."""
    stream = io.StringIO()
    display = _Display(stream)
    display.show("one", force=True)
    display.show("two", force=True)
    display.done()
    assert stream.getvalue() == "one\ntwo\n"
