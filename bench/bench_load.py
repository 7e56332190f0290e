"""The load generator side by side on pinned cores: our open model, Locust's usual pattern, wrk.

    .venv/bin/python bench/bench_load.py                  # the whole table (about 4 minutes)
    .venv/bin/python bench/bench_load.py --duration 20 --skip-workers
    .venv/bin/python bench/bench_load.py --profile 10     # + a py-spy profile of the driver
    .venv/bin/python bench/bench_load.py --baseline /tmp/baseline --nice -10 --rt 20

Needs ``taskset`` (util-linux) and Debian's ``wrk`` (``apt-get install wrk``) for the closed-loop
ceiling; without wrk that row says so. It installs nothing. The reference service runs pinned to
``--target-core`` (0) and every generator pinned to ``--generator-core`` (1), one at a time, in
one run of this script, so that their figures compare:

1. at ``--rps`` (1000) for ``--duration`` against the fully instrumented service: our open-model
   driver (``hypersync-slo load``, one Locust process), Locust's usual pattern
   (``load/locustfile.py``: 100 users x ``constant_throughput(10)``, FastHttpUser, closed loop)
   and wrk's closed-loop ceiling on the API mix (``-t1 -c32``). For each: achieved rate, client
   p50/p99, the server's p50/p99 over the same requests (its own per-request ``duration_ms``
   JSON log lines, exact), and CPU per request of the generator's whole process tree: *steady*
   (CPU rate of every process of the tree sampled from /proc over the arrivals, divided by the
   achieved rate) and *total* (all CPU of the tree from its start to its exit, start-up and
   imports included, from ``getrusage(RUSAGE_CHILDREN)``, divided by the requests);
2. the ceiling: the driver at ``--ceiling-rps`` (6000) against the service started with
   ``--no-instrumentation`` (which writes no per-request logs, so no server column), held or
   not within the fidelity bounds (achieved within 1 %, no drops, not saturated), and wrk's
   closed-loop rate on that target;
3. ``--workers N`` for each N of ``--workers-list`` at ``--workers-rps``: achieved rate, CPU per
   request and req/s per worker, every worker on the same generator core (this machine has 2).

With ``--profile S`` a py-spy profile (``--nonblocking``, 250 Hz) of the driver's Locust process
is taken for S seconds during section 1 and summarised (own and inclusive samples per function).

The machine is shared: the load average is printed before each section; compare the columns of
one run (ratios), not absolute figures across runs. ``--rt PRIO`` runs section 1's target and
generators under SCHED_FIFO (the target goes back to SCHED_OTHER before wrk's closed loop), so
that the other jobs on the two cores cannot delay them: the latency columns then compare the
generators, not the machine's neighbours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from hypersync_slo.processes import ManagedProcess, free_port, python_module_argv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reference import LUA, parse_wrk

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
API_PREFIXES = ("/v1/", "/health/ready")
#: Leaf frames that are the process sleeping in the kernel: the lean scheduler's wait and
#: gevent's loop (whose self time also holds libev's own work: the baseline's cost there is
#: understated, never overstated).
BLOCKED_LEAVES = {"OpenModelRun._waiter.<locals>.wait (driver.py)", "Hub.run (hub.py)"}


def loadavg() -> str:
    """The 1/5/15-minute load averages, as /proc says."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children_cpu() -> float:
    """CPU seconds of every waited-for descendant of this process (whole trees, start-up too)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class TreeSampler:
    """Samples the summed CPU seconds of a process and all its descendants every 0.2 s."""

    root_pid: int
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, cpu s)
    seen: dict[int, float] = field(default_factory=dict)
    cmdlines: dict[int, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    hook: Any = None  # called once with the list of descendant pids

    def run(self) -> None:
        """Sample until stopped (exited processes keep their last figure)."""
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.root_pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    if proc.pid not in self.cmdlines:
                        self.cmdlines[proc.pid] = " ".join(proc.cmdline())
                except psutil.Error:
                    continue
                self.seen[proc.pid] = max(self.seen.get(proc.pid, 0.0), times.user + times.system)
            self.timeline.append((time.time(), sum(self.seen.values())))
            if self.hook is not None and len(procs) > 1:
                self.hook([p.pid for p in procs])
            time.sleep(0.2)

    def cores(self, start: float, end: float) -> float | None:
        """Cores used between two epoch times (the samples closest inside the interval)."""
        inside = [(t, c) for t, c in self.timeline if start <= t <= end]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] < 1.0:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0)


@dataclass
class Measured:
    """One generator run: what it achieved and what it cost."""

    name: str
    achieved_rps: float
    requests: int
    errors: int
    client_p50: float | None
    client_p99: float | None
    client_note: str
    steady_cores: float | None
    total_cpu: float
    server_p50: float | None = None
    server_p99: float | None = None
    server_samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steady_us(self) -> float | None:
        """Steady CPU per request in µs (whole tree)."""
        if self.steady_cores is None or self.achieved_rps <= 0:
            return None
        return self.steady_cores / self.achieved_rps * 1e6

    @property
    def total_us(self) -> float | None:
        """All CPU of the tree (start-up included) per completed request, in µs."""
        return self.total_cpu / self.requests * 1e6 if self.requests else None


def run_sampled(
    argv: list[str],
    timeout: float,
    hook: Any = None,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> tuple[subprocess.CompletedProcess[str], TreeSampler, float]:
    """Run argv to its end, sampling its process tree; also its whole-tree CPU (getrusage)."""
    cpu0 = children_cpu()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env
    )
    sampler = TreeSampler(proc.pid, hook=hook)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    sampler.stop.set()
    thread.join()
    total = children_cpu() - cpu0
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), sampler, total


STATIC_SERVER = r"""
import asyncio, sys, uvloop
OK = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
class Static(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            size = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buf) < end + 4 + size:
                return
            line = head.split(b"\r\n", 1)[0]
            self.buf = self.buf[end + 4 + size:]
            path = line.split(b" ")[1]
            status = (b"201 Created" if line.startswith(b"post") and path == b"/v1/receipts"
                      else b"202 Accepted" if path.endswith(b"/actions") else b"200 OK")
            self.transport.write(OK % status)
async def main():
    server = await asyncio.get_running_loop().create_server(Static, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
uvloop.run(main())
"""


class Target:
    """A target pinned to one core: the reference service (its JSON log read incrementally),
    bare (``--no-instrumentation``), or ``static``: a uvloop protocol answering every request
    with the status the mix expects and ``{}`` (a target that answers faster than any
    generator here, for the generator's own ceiling; no server timings)."""

    def __init__(self, workdir: Path, pin: list[str], *, bare: bool, static: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = workdir / "service.jsonl"
        self.bare = bare or static
        workdir.mkdir(parents=True, exist_ok=True)
        if static:
            self.process = ManagedProcess(
                "static target",
                [*pin, sys.executable, "-c", STATIC_SERVER, str(self.port)],
                workdir / "stderr.log",
            )
            self.offset = 0
            return
        self.process = ManagedProcess(
            "reference service" + (" (bare)" if bare else ""),
            [
                *pin,
                *python_module_argv(
                    "hypersync_slo",
                    "serve-reference",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(workdir / "data"),
                    "--log-file",
                    str(self.log),
                    *(["--no-instrumentation"] if bare else []),
                ),
            ],
            workdir / "stderr.log",
        )
        self.offset = 0

    def __enter__(self) -> Target:
        self.process.start()
        self.process.wait_http(f"{self.url}/health/live", timeout=60)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.stop()

    def normal_policy(self) -> None:
        """Put every thread of the target back under SCHED_OTHER (after a ``chrt`` start)."""
        proc = self.process.proc
        if proc is not None:
            subprocess.run(["chrt", "-a", "-o", "-p", "0", str(proc.pid)], check=True)

    def mark(self) -> None:
        """Forget the log lines so far: the next ``server_latencies`` reads only newer ones."""
        time.sleep(0.3)  # the service flushes its log buffer within this
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def server_latencies(self) -> list[float]:
        """``duration_ms`` of the API requests logged since ``mark`` (seconds, sorted)."""
        time.sleep(1.2)
        if not self.log.exists():
            return []
        values: list[float] = []
        with self.log.open("rb") as handle:
            handle.seek(self.offset)
            for raw in handle:
                if b'"duration_ms"' not in raw:
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if str(record.get("url.path", "")).startswith(API_PREFIXES):
                    values.append(float(record["duration_ms"]) / 1000)
        values.sort()
        return values


def nearest_rank(values: list[float], q: float) -> float | None:
    """The ceil(q*n)-th smallest of sorted values."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


def ms(value: float | None) -> str:
    """Seconds as milliseconds for the table."""
    return "n/a" if value is None else f"{value * 1000:.2f}"


def us(value: float | None) -> str:
    """µs for the table."""
    return "n/a" if value is None else f"{value:.0f}"


# -- the generators -----------------------------------------------------------------------------


class Profiler:
    """Starts py-spy on the driver's Locust process once it exists (a sampler hook)."""

    def __init__(self, seconds: float, out: Path) -> None:
        self.seconds = seconds
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        self.first_seen: float | None = None
        self.pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))

    def __call__(self, pids: list[int]) -> None:
        if self.proc is not None:
            return
        locust = [p for p in pids if _is_locust(p)]
        if not locust:
            return
        now = time.monotonic()
        self.first_seen = self.first_seen or now
        if now - self.first_seen < 6.0:  # past imports and warm-up, into the arrivals
            return
        self.proc = subprocess.Popen(
            [
                self.pyspy,
                "record",
                "--pid",
                str(locust[-1]),
                "--duration",
                f"{self.seconds:g}",
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def summary(self, top: int = 18) -> str:
        """Own and inclusive samples per function from py-spy's collapsed stacks."""
        if self.proc is not None:
            self.proc.wait(timeout=self.seconds + 30)
        if not self.out.exists():
            return "no profile (py-spy missing or not permitted to attach)"
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = blocked = 0
        for line in self.out.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = [_short(f) for f in stack.split(";")]
            if frames[-1] in BLOCKED_LEAVES:
                blocked += count
                continue
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
        if not total:
            return "empty profile"
        lines = [
            f"{total} samples ({blocked} more with a blocking call as the leaf were left out: "
            "py-spy counts a C call sleeping in the kernel as active); own (self) time:"
        ]
        lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
        lines.append("inclusive (function and what it calls):")
        lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
        return "\n".join(lines)


def _is_locust(pid: int) -> bool:
    try:
        return "locust" in " ".join(psutil.Process(pid).cmdline()[:3])
    except psutil.Error:
        return False


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` -> ``func (module.py)``, so lines of a function add up."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    return f"{match.group(1)} ({Path(match.group(2)).name})"


def run_driver(
    target: Target,
    out: Path,
    pin: list[str],
    rps: float,
    duration: float,
    *,
    workers: int = 0,
    profiler: Profiler | None = None,
    baseline: Path | None = None,
) -> Measured:
    """``hypersync-slo load`` once, pinned; its result and costs (``baseline``: another tree's)."""
    env = None
    if baseline is not None:
        # PYTHONPATH wins over the editable install's finder, and ``python -m`` puts the
        # working directory first: run from the baseline tree so neither finds this one.
        env = {**os.environ, "PYTHONPATH": str(baseline)}
    target.mark()
    argv = [
        *pin,
        *python_module_argv(
            "hypersync_slo",
            "load",
            "--target-url",
            target.url,
            "--rps",
            f"{rps:g}",
            "--duration",
            f"{duration:g}s",
            "--out",
            str(out),
            "--quiet",
            "--workers",
            str(workers),
        ),
    ]
    proc, sampler, total = run_sampled(
        argv, duration + 120, hook=profiler, env=env, cwd=baseline or ROOT
    )
    ran = " ".join(sampler.cmdlines.values())
    if f"{baseline or ROOT}/hypersync_slo/loadgen/driver.py" not in ran:
        raise SystemExit(
            f"the driver run did not run the tree it should ({baseline or ROOT}): {ran}"
        )
    path = out / "load-result.json"
    if not path.exists():
        raise SystemExit(f"the driver wrote no result (exit {proc.returncode}):\n{proc.stderr}")
    result = json.loads(path.read_text())
    window = result["window"]
    steady = (
        sampler.cores(window["start_unix"] + 3.0, window["end_unix"] - 0.5)
        if window["start_unix"]
        else None
    )
    server = [] if target.bare else target.server_latencies()
    corrected = result["latency"]["corrected"]
    uncorrected = result["latency"]["uncorrected"]
    return Measured(
        name=("baseline driver" if baseline else "open-model driver")
        + (f", {workers} workers" if workers else ""),
        achieved_rps=result["achieved_rps"],
        requests=result["requests"],
        errors=result["errors"],
        client_p50=corrected["p50"],
        client_p99=corrected["p99"],
        client_note=(
            f"from the intended send time (HDR); uncorrected {ms(uncorrected['p50'])} / "
            f"{ms(uncorrected['p99'])} ms"
        ),
        steady_cores=steady,
        total_cpu=total,
        server_p50=nearest_rank(server, 0.5),
        server_p99=nearest_rank(server, 0.99),
        server_samples=len(server),
        extra={
            "exit": proc.returncode,
            "dropped": result["dropped"],
            "late": result["late"],
            "saturated": result["saturated"],
            "reasons": result["saturation_reasons"],
            "target_rps": result["target_rps"],
            "lag_p50": result["schedule_lag"]["p50"],
            "lag_p99": result["schedule_lag"]["p99"],
            "self_cores": result["generator"]["cpu_cores"],
            "causes": result["errors_by_cause"],
        },
    )


def locust_percentile(times: dict[str, int], total: int, q: float) -> float | None:
    """Locust's own nearest-rank percentile over its rounded buckets (ms keys), in seconds."""
    if total == 0:
        return None
    k = int(total * q)
    processed = 0
    for key in sorted(times, key=float, reverse=True):
        processed += times[key]
        if total - processed <= k:
            return float(key) / 1000
    return None


def run_locust_usual(target: Target, out: Path, pin: list[str], duration: float) -> Measured:
    """Locust's usual pattern: 100 users x constant_throughput(10), FastHttpUser, closed loop."""
    out.mkdir(parents=True, exist_ok=True)
    target.mark()
    argv = [
        *pin,
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "load" / "locustfile.py"),
        "HyperSyncUser",
        "--headless",
        "-u",
        "100",
        "-r",
        "100",
        "-t",
        f"{duration:g}s",
        "--host",
        target.url,
        "--json-file",
        str(out / "locust"),
        "--loglevel",
        "WARNING",
    ]
    proc, sampler, total = run_sampled(argv, duration + 120)
    entries = json.loads((out / "locust.json").read_text())
    merged: dict[str, int] = {}
    requests = failures = 0
    first = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] or first for e in entries)
    for entry in entries:
        requests += entry["num_requests"]
        failures += entry["num_failures"]
        for key, count in entry["response_times"].items():
            merged[str(key)] = merged.get(str(key), 0) + count
    server = target.server_latencies()
    return Measured(
        name="Locust usual (100 users x constant_throughput(10))",
        achieved_rps=requests / max(1e-9, last - first),
        requests=requests,
        errors=failures,
        client_p50=locust_percentile(merged, requests, 0.5),
        client_p99=locust_percentile(merged, requests, 0.99),
        client_note="Locust's own, rounded to ~2 significant digits, closed loop",
        steady_cores=sampler.cores(first + 3.0, last - 0.5),
        total_cpu=total,
        server_p50=nearest_rank(server, 0.5),
        server_p99=nearest_rank(server, 0.99),
        server_samples=len(server),
        extra={"exit": proc.returncode},
    )


def run_wrk(
    target: Target, workdir: Path, pin: list[str], duration: float, wrk: str | None
) -> Measured | None:
    """wrk's closed-loop ceiling on the API mix (``-t1 -c32``), pinned like the others."""
    if wrk is None:
        return None
    receipt = httpx.post(
        f"{target.url}/v1/receipts", json={"operation": "bench", "payload": {}}, timeout=10
    ).json()
    script = workdir / "mix.lua"
    script.write_text(LUA, "utf-8")
    target.mark()
    started = time.time()
    argv = [
        *pin,
        wrk,
        "-t1",
        "-c32",
        "-d",
        f"{duration:g}s",
        "--latency",
        "-s",
        str(script),
        target.url,
        "--",
        str(receipt.get("receipt_id", "none")),
    ]
    proc, sampler, total = run_sampled(argv, duration + 60)
    requests, seconds, rps, p50, p99, non2xx, errors = parse_wrk(proc.stdout)
    server = [] if target.bare else target.server_latencies()
    return Measured(
        name="wrk -t1 -c32 (closed-loop ceiling)",
        achieved_rps=rps,
        requests=requests,
        errors=non2xx,
        client_p50=p50 / 1000,
        client_p99=p99 / 1000,
        client_note=f"wrk's own, closed loop (socket errors: {errors})",
        steady_cores=sampler.cores(started + 1.0, started + seconds),
        total_cpu=total,
        server_p50=nearest_rank(server, 0.5),
        server_p99=nearest_rank(server, 0.99),
        server_samples=len(server),
    )


# -- printing -------------------------------------------------------------------------------------


def table(rows: list[Measured], target_rps: float | None) -> str:
    """The side-by-side table, one row per generator."""
    head = (
        "| generator | achieved | client p50 / p99 (ms) | server p50 / p99 (ms, log) | "
        "CPU/request steady | CPU/request total | generator cores |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for m in rows:
        rate = f"{m.achieved_rps:.1f} req/s" + (
            f" of {target_rps:g}" if target_rps and "driver" in m.name else ""
        )
        server = (
            f"{ms(m.server_p50)} / {ms(m.server_p99)} ({m.server_samples})"
            if m.server_samples
            else "n/a"
        )
        cores = "n/a" if m.steady_cores is None else f"{m.steady_cores:.3f}"
        lines.append(
            f"| {m.name} | {rate} | {ms(m.client_p50)} / {ms(m.client_p99)} | {server} | "
            f"{us(m.steady_us)} µs | {us(m.total_us)} µs | {cores} |"
        )
    notes = [
        f"- {m.name}: client figures {m.client_note}; requests {m.requests}, errors {m.errors}"
        for m in rows
    ]
    return "\n".join(lines + notes)


def fidelity(m: Measured) -> str:
    """Held within the fidelity bounds or not, and the figures saying so."""
    e = m.extra
    held = not e["saturated"] and e["dropped"] == 0 and m.achieved_rps >= 0.99 * e["target_rps"]
    return (
        f"{'HOLDS' if held else 'does NOT hold'}: achieved {m.achieved_rps:.1f} of "
        f"{e['target_rps']:g} req/s, dropped {e['dropped']}, late {e['late']}, saturated "
        f"{e['saturated']} {e['reasons'] or ''}, errors {m.errors} {e['causes'] or ''}, "
        f"schedule lag p50/p99 {ms(e['lag_p50'])} / "
        f"{ms(e['lag_p99'])} ms, client p50/p99 {ms(m.client_p50)} / {ms(m.client_p99)} ms, "
        f"CPU/request steady {us(m.steady_us)} µs ({m.steady_cores or 0:.3f} cores)"
    )


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rps", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--ceiling-rps", type=float, default=6000.0)
    parser.add_argument("--step", type=float, default=15.0, help="seconds of the ceiling runs")
    parser.add_argument("--workers-list", default="1,2")
    parser.add_argument("--workers-rps", type=float, default=2000.0)
    parser.add_argument("--target-core", type=int, default=0)
    parser.add_argument("--generator-core", type=int, default=1)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run target and generators at this niceness (negative needs root): on a shared "
        "machine it keeps other jobs from deciding the figures; say so when you quote them",
    )
    parser.add_argument(
        "--rt",
        type=int,
        default=0,
        help="section 1 only: target and generators under SCHED_FIFO at this priority "
        "(chrt -f, needs root) so that other jobs on the shared cores cannot delay them, the "
        "nearest this machine has to cores of their own; wrk's row and sections 2-3 stay "
        "SCHED_OTHER (a closed loop at full speed would take the cores from every other job); "
        "say so when you quote them",
    )
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds (0: none)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a source tree of an earlier driver (git archive COMMIT | tar -x -C DIR): its row "
        "is measured in the same run, for ratios",
    )
    parser.add_argument("--skip-locust", action="store_true")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--only-driver", action="store_true", help="section 1 driver row only")
    return parser.parse_args()


def section_one(args: argparse.Namespace, target: Target, base: Path, pins: Pins) -> None:
    """1000 req/s against the instrumented target: the driver, the baseline, Locust, wrk."""
    print(
        f"\n== 1. {args.rps:g} req/s for {args.duration:g} s, instrumented target "
        f"(load average {loadavg()}) ==",
        flush=True,
    )
    gen_pin_1 = [*pins.rt, *pins.gen]
    rows = [run_driver(target, base / "driver", gen_pin_1, args.rps, args.duration)]
    print(f"  driver: {fidelity(rows[0])}", flush=True)
    if args.baseline is not None:
        rows.append(
            run_driver(
                target,
                base / "baseline",
                gen_pin_1,
                args.rps,
                args.duration,
                baseline=args.baseline.resolve(),
            )
        )
        print(f"  baseline: {fidelity(rows[-1])}", flush=True)
    if not args.only_driver:
        if not args.skip_locust:
            rows.append(run_locust_usual(target, base / "locust", gen_pin_1, args.duration))
        if pins.rt:
            target.normal_policy()
        ceiling = run_wrk(target, base, pins.gen, args.duration, pins.wrk)
        if ceiling is not None:
            rows.append(ceiling)
    print(table(rows, args.rps))
    drv = rows[0]
    if drv.server_samples and drv.client_p50 is not None and drv.client_p99 is not None:
        assert drv.server_p50 is not None
        assert drv.server_p99 is not None
        print(
            f"driver client - server: p50 +{(drv.client_p50 - drv.server_p50) * 1000:.2f}"
            f" ms (target <= 0.3), p99 +{(drv.client_p99 - drv.server_p99) * 1000:.2f} ms"
            f" (target <= 2)"
        )
    if args.profile:
        # A run of its own: py-spy reading the process's memory 250 times a second
        # costs CPU and cache, so its run's figures are not the table's.
        profiler = Profiler(args.profile, base / "profile.txt")
        run_driver(
            target,
            base / "profiled",
            pins.gen,
            args.rps,
            max(args.duration, args.profile + 10),
            profiler=profiler,
        )
        print("\n-- py-spy profile of the driver's Locust process (a separate run) --")
        print(profiler.summary())
    print(f"load average after section 1: {loadavg()}", flush=True)


def section_ceiling(args: argparse.Namespace, base: Path, pins: Pins) -> None:
    """2. the driver's ceiling against a static target, and wrk's."""
    with Target(base / "static", pins.target, bare=True, static=True) as bare:
        print(
            f"\n== 2. ceiling against a static target (uvloop, fixed answers) "
            f"(load average {loadavg()}) ==",
            flush=True,
        )
        m = run_driver(bare, base / "ceiling", pins.gen, args.ceiling_rps, args.step)
        print(f"  driver at {args.ceiling_rps:g} req/s for {args.step:g} s: {fidelity(m)}")
        top = run_wrk(bare, base, pins.gen, args.step, pins.wrk)
        if top is not None:
            print(
                f"  wrk closed-loop on the same target: {top.achieved_rps:.0f} req/s, "
                f"p50/p99 {ms(top.client_p50)} / {ms(top.client_p99)} ms"
            )


def section_workers(args: argparse.Namespace, base: Path, pins: Pins) -> None:
    """3. --workers N on one core against a static target."""
    with Target(base / "workers", pins.target, bare=True, static=True) as bare:
        print(
            f"\n== 3. --workers N at {args.workers_rps:g} req/s, all on core "
            f"{args.generator_core}, static target (load average {loadavg()}) ==",
            flush=True,
        )
        for n in [int(x) for x in args.workers_list.split(",") if x.strip()]:
            m = run_driver(
                bare,
                base / f"workers-{n}",
                pins.gen,
                args.workers_rps,
                args.step,
                workers=n,
            )
            print(
                f"  --workers {n}: {m.achieved_rps / max(1, n):.0f} req/s per worker; "
                f"{fidelity(m)}; whole tree {us(m.total_us)} µs/request with start-up",
                flush=True,
            )


@dataclass(frozen=True)
class Pins:
    """The command prefixes that pin (and prioritise) the target and the generators."""

    target: list[str]
    gen: list[str]
    rt: list[str]
    wrk: str | None


def main() -> None:
    """Run the sections and print the figures."""
    args = arguments()
    taskset = shutil.which("taskset")
    if taskset is None or (os.cpu_count() or 1) < 2:
        raise SystemExit("needs taskset (util-linux) and at least 2 cores to pin target/generator")
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    pins = Pins(
        target=[*nice, taskset, "-c", str(args.target_core)],
        gen=[*nice, taskset, "-c", str(args.generator_core)],
        rt=["chrt", "-f", str(args.rt)] if args.rt else [],
        wrk=shutil.which("wrk"),
    )
    print(
        f"bench_load {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
        f"{os.cpu_count()} cores, target on core {args.target_core}, generators on core "
        f"{args.generator_core}, nice {args.nice}, section 1 SCHED_FIFO {args.rt or 'no'}, "
        f"wrk: {pins.wrk or 'not installed (apt-get install wrk)'}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        base = Path(tmp)
        with Target(base / "full", [*pins.rt, *pins.target], bare=False) as target:
            section_one(args, target, base, pins)
        if not args.skip_ceiling and not args.only_driver:
            section_ceiling(args, base, pins)
        if not args.skip_workers and not args.only_driver:
            section_workers(args, base, pins)
        print(f"\nload average at the end: {loadavg()}")


if __name__ == "__main__":
    main()
