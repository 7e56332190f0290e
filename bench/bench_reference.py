"""Throughput and latency of the reference service on one core, with and without instrumentation.

Starts ``hypersync-slo serve-reference`` pinned to one core (``taskset -c 0``) and drives it with
Debian's ``wrk`` pinned to the other core, with a Lua script cycling through the API mix
(POST operator execute, POST policy evaluate, POST receipt, GET receipt, GET agents). Runs once
with full instrumentation (spans, JSON request logs, histogram, ID headers) and once with
``--no-instrumentation``, and prints one table:

- rps and wrk's p50/p99 (client side; wrk is closed-loop, so its latencies suffer coordinated
  omission: they are the latencies of a saturated server, not of a fixed rate);
- server-side p99 of the API routes from the service's own histogram (delta over the run,
  interpolated within its bucket, bucket bounds shown) and the exact share of API requests
  at or under 10 ms (0.01 s is a bucket edge);
- server CPU per request from /proc (utime+stime delta / requests) and the core's utilisation;
- the instrumentation overhead (ratio of CPU per request, ratio of rps).

Usage: .venv/bin/python bench/bench_reference.py [--duration 20] [--connections 32]
The machine is shared: other processes on the service's core lower the figures; the script
prints the load average before each run so the reader can judge.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.processes import ManagedProcess, find_tool, free_port, python_module_argv

HOST = "127.0.0.1"
DURATION = "http_server_request_duration_seconds"
LUA = """
local reqs = {}
local i = 0
function init(args)
  local rid = args[1]
  local h = {["Content-Type"] = "application/json"}
  reqs[1] = wrk.format("POST", "/v1/operators/transform/execute", h,
                       '{"input":{"name":" a ","n":1},"agent_id":"agent-7"}')
  reqs[2] = wrk.format("POST", "/v1/policies/access/evaluate", h,
                       '{"subject":"user-1","action":"read","resource":"doc/1"}')
  reqs[3] = wrk.format("POST", "/v1/receipts", h, '{"operation":"sync","payload":{"k":1}}')
  reqs[4] = wrk.format("GET", "/v1/receipts/" .. rid, nil, nil)
  reqs[5] = wrk.format("GET", "/v1/agents", nil, nil)
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""


@dataclass
class Result:
    """One measured run."""

    mode: str
    requests: int
    seconds: float
    rps: float
    wrk_p50_ms: float
    wrk_p99_ms: float
    non_2xx: int
    socket_errors: str
    server_requests: int
    server_p99_ms: float | None
    server_p99_bucket: str
    share_le_10ms: float | None
    cpu_us_per_request: float
    core_utilisation: float
    load_before: str


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip())
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def parse_wrk(output: str) -> tuple[int, float, float, float, float, int, str]:
    """(requests, seconds, rps, p50 ms, p99 ms, non-2xx, socket errors) from wrk --latency output."""
    done = re.search(r"(\d+) requests in ([0-9.]+)(ms|s|m)", output)
    if not done:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    seconds = float(done.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[done.group(3)]
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return (
        int(done.group(1)),
        seconds,
        rps,
        _ms(p50.group(1)) if p50 else float("nan"),
        _ms(p99.group(1)) if p99 else float("nan"),
        int(non2xx.group(1)) if non2xx else 0,
        errors.group(1).strip() if errors else "none",
    )


def api_buckets(url: str) -> dict[float, float]:
    """Cumulative bucket counts of the API routes (``/v1/...``), summed over labels."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != DURATION:
            continue
        for s in family.samples:
            if s.name.endswith("_bucket") and s.labels.get("http_route", "").startswith("/v1/"):
                le = float(s.labels["le"])
                out[le] = out.get(le, 0.0) + s.value
    return out


def quantile(buckets: dict[float, float], q: float) -> tuple[float | None, str]:
    """Histogram quantile (linear within the bucket, like PromQL) and the bucket's bounds."""
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] == 0:
        return None, "no data"
    total = buckets[edges[-1]]
    rank = q * total
    lower, below = 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if edge == float("inf"):
                return lower, f"> {lower:g} s"
            inside = count - below
            fraction = (rank - below) / inside if inside else 1.0
            return lower + (edge - lower) * fraction, f"({lower:g}, {edge:g}] s"
        lower, below = edge, count
    return None, "no data"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_mode(mode: str, args: argparse.Namespace, workdir: Path, wrk: str, taskset: str) -> Result:
    """Start the service in ``mode`` (full|bare), warm it up, drive it, and measure."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    data = workdir / mode
    extra = ["--no-instrumentation"] if mode == "bare" else []
    service = ManagedProcess(
        f"reference service ({mode})",
        [
            taskset,
            "-c",
            str(args.server_core),
            *python_module_argv(
                "hypersync_slo",
                "serve-reference",
                "--host",
                HOST,
                "--port",
                str(port),
                "--data-dir",
                str(data),
                "--log-file",
                str(data / "service.jsonl"),
                *extra,
            ),
        ],
        data / "stderr.log",
    ).start()
    try:
        service.wait_http(f"{url}/health/live", timeout=60)
        receipt = httpx.post(
            f"{url}/v1/receipts", json={"operation": "bench", "payload": {}}
        ).json()
        script = workdir / "mix.lua"
        script.write_text(LUA, "utf-8")
        base = [
            taskset,
            "-c",
            str(args.client_core),
            wrk,
            "-t",
            str(args.threads),
            "-c",
            str(args.connections),
            "--latency",
            "-s",
            str(script),
        ]
        subprocess.run(
            [*base, "-d", f"{args.warmup}s", url, "--", receipt["receipt_id"]],
            capture_output=True,
            check=True,
            timeout=args.warmup + 30,
        )
        before = api_buckets(url) if mode == "full" else {}
        assert service.proc is not None
        cpu0 = cpu_seconds(service.proc.pid)
        load = Path("/proc/loadavg").read_text().split()[:3]
        wall0 = time.monotonic()
        out = subprocess.run(
            [*base, "-d", f"{args.duration}s", url, "--", receipt["receipt_id"]],
            capture_output=True,
            text=True,
            check=True,
            timeout=args.duration + 60,
        ).stdout
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(service.proc.pid) - cpu0
        after = api_buckets(url) if mode == "full" else {}
    finally:
        service.stop()
    requests, seconds, rps, p50, p99, non2xx, errors = parse_wrk(out)
    delta = {le: after[le] - before.get(le, 0.0) for le in after}
    server_p99, bounds = quantile(delta, 0.99) if delta else (None, "n/a (no histogram)")
    total = delta.get(float("inf"), 0.0)
    share = delta.get(0.01, 0.0) / total if total else None
    return Result(
        mode=mode,
        requests=requests,
        seconds=seconds,
        rps=rps,
        wrk_p50_ms=p50,
        wrk_p99_ms=p99,
        non_2xx=non2xx,
        socket_errors=errors,
        server_requests=int(total),
        server_p99_ms=None if server_p99 is None else server_p99 * 1000,
        server_p99_bucket=bounds,
        share_le_10ms=share,
        cpu_us_per_request=cpu / requests * 1e6 if requests else float("nan"),
        core_utilisation=cpu / wall,
        load_before=" ".join(load),
    )


def main() -> int:
    """Run both modes and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds of measured load per mode"
    )
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (closed loop)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--modes", default="full,bare", help="comma list of full,bare")
    args = parser.parse_args()
    wrk = find_tool("wrk")
    taskset = shutil.which("taskset")
    if wrk is None or taskset is None:
        print("needs wrk (apt-get install wrk) and taskset (util-linux)", file=sys.stderr)
        return 8
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as tmp:
        for mode in args.modes.split(","):
            print(f"running {mode} for {args.duration} s ...", file=sys.stderr)
            results.append(run_mode(mode, args, Path(tmp), wrk, taskset))
    print(
        f"\nreference service, API mix (5 routes round-robin), wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s on core {args.client_core}, service on core {args.server_core}\n"
    )
    header = (
        f"{'mode':<6} {'requests':>9} {'rps':>8} {'wrk p50':>9} {'wrk p99':>9} {'non2xx':>6} "
        f"{'srv p99':>9} {'srv p99 bucket':>16} {'<=10ms':>8} {'cpu/req':>9} {'core':>5} {'cap/core':>9}  load before"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        srv = f"{r.server_p99_ms:.2f}ms" if r.server_p99_ms is not None else "n/a"
        share = f"{r.share_le_10ms * 100:.2f}%" if r.share_le_10ms is not None else "n/a"
        print(
            f"{r.mode:<6} {r.requests:>9} {r.rps:>8.0f} {r.wrk_p50_ms:>7.2f}ms {r.wrk_p99_ms:>7.2f}ms "
            f"{r.non_2xx:>6} {srv:>9} {r.server_p99_bucket:>16} {share:>8} {r.cpu_us_per_request:>7.0f}us "
            f"{r.core_utilisation * 100:>4.0f}% {1e6 / r.cpu_us_per_request:>9.0f}  {r.load_before}"
        )
    by = {r.mode: r for r in results}
    if "full" in by and "bare" in by:
        full, bare = by["full"], by["bare"]
        print(
            f"\ninstrumentation overhead: CPU per request x{full.cpu_us_per_request / bare.cpu_us_per_request:.2f} "
            f"(+{full.cpu_us_per_request - bare.cpu_us_per_request:.0f} us); "
            f"throughput x{full.rps / bare.rps:.2f} of bare"
        )
    full_result = by.get("full")
    if full_result is not None:
        ok = full_result.rps >= 5000 and (full_result.share_le_10ms or 0) >= 0.99
        print(
            f"target (>= 5000 rps, server p99 < 10 ms, full instrumentation): {'met' if ok else 'NOT met'}"
        )
    print(
        "sources: rps/p50/p99 from wrk (client, closed loop); srv p99 and <=10ms from the service's "
        "histogram delta (API routes only); cpu/req from /proc utime+stime of the service; "
        "cap/core = 1e6 / cpu/req: the rps one whole core would carry (derived, not measured)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
