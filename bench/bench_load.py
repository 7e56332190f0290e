"""Benchmark of the open-model load generator against the reference service on this machine.

    .venv/bin/python bench/bench_load.py                       # 1000 req/s for 60 s, then the rest
    .venv/bin/python bench/bench_load.py --duration 20 --step 10 --no-search

Prints, each with its source:
1. ``hypersync-slo load`` at --rps for --duration (one Locust process): achieved vs target rate,
   late and dropped sends, client p50 (corrected and uncorrected) vs the server's p50 (raw
   per-request timings from its JSON log, and its latency histogram from /metrics before/after,
   given as the bucket holding it), load-generator CPU and memory (from /proc of the Locust
   processes) at start and end;
2. the same figures for Locust's usual pattern (100 users, constant_throughput(10), FastHttpUser,
   ``load/locustfile.py``), side by side, with Locust's own (rounded) percentiles;
3. the highest rate one process and ``--workers 2`` hold within the fidelity bounds (achieved
   within 1 %, no drops, not saturated), found in short steps.

The machine is shared (2 cores, other test runs): figures are indicative, one run each.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.stack import ReferenceService

ROOT = Path(__file__).resolve().parents[1]
HIST = "http_server_request_duration_seconds"


@dataclass
class ProcSampler:
    """Samples CPU seconds and RSS of every Locust process under ``root_pid`` every 0.5 s."""

    root_pid: int
    cpu: dict[int, float] = field(default_factory=dict)
    first_rss: dict[int, int] = field(default_factory=dict)
    last_rss: dict[int, int] = field(default_factory=dict)
    first_cpu: dict[int, float] = field(default_factory=dict)
    first_seen: dict[int, float] = field(default_factory=dict)
    last_seen: dict[int, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.root_pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    if "locust" not in " ".join(proc.cmdline()):
                        continue
                    times = proc.cpu_times()
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                now = time.monotonic()
                cpu = times.user + times.system
                self.first_cpu.setdefault(proc.pid, cpu)
                self.first_seen.setdefault(proc.pid, now)
                if now - self.first_seen[proc.pid] >= 5.0:  # after imports and start-up
                    self.first_rss.setdefault(proc.pid, rss)
                self.cpu[proc.pid] = cpu
                self.last_rss[proc.pid] = rss
                self.last_seen[proc.pid] = now
            time.sleep(0.5)

    def figures(self) -> dict[str, Any]:
        """CPU cores used (busy seconds / seen seconds, summed) and RSS first/last."""
        cores = sum(
            (self.cpu[p] - self.first_cpu[p]) / max(1e-9, self.last_seen[p] - self.first_seen[p])
            for p in self.cpu
        )
        return {
            "processes": len(self.cpu),
            "cpu_cores": cores,
            "rss_start_mib": sum(self.first_rss.values()) / 2**20,  # 5 s after start
            "rss_end_mib": sum(self.last_rss.values()) / 2**20,
        }


def sampled(
    argv: list[str], timeout: float
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run argv while sampling its Locust processes."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    sampler = ProcSampler(proc.pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    out, err = proc.communicate(timeout=timeout)
    sampler.stop.set()
    thread.join()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), sampler.figures()


def server_buckets(service: ReferenceService) -> dict[float, float]:
    """Cumulative bucket counts of the latency histogram, summed over routes (not /metrics)."""
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{HIST}_bucket" and sample.labels.get("http_route") != "/metrics":
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return buckets


def bucket_of_median(before: dict[float, float], after: dict[float, float]) -> str:
    """The histogram bucket holding the server's p50 over the run (its bounds, not a guess)."""
    bounds = sorted(after)
    deltas = [after[b] - before.get(b, 0.0) for b in bounds]
    total = deltas[-1] if deltas else 0.0
    if total <= 0:
        return "no samples"
    lower = 0.0
    for bound, count in zip(bounds, deltas, strict=True):
        if count >= total / 2:
            return f"in ({lower * 1000:g} ms, {bound * 1000:g} ms] ({int(total)} samples)"
        lower = bound
    return "above the top bucket"


def server_raw_p50(log: Path, start: float, end: float) -> tuple[float | None, int]:
    """p50 of the service's own per-request ``duration_ms`` log fields in [start, end] (epoch s)."""
    values: list[float] = []
    for line in log.read_text("utf-8", errors="replace").splitlines():
        if '"duration_ms"' not in line or "/metrics" in line:
            continue
        try:
            record = json.loads(line)
            stamp = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()
        except (ValueError, KeyError):
            continue
        if start <= stamp <= end and record.get("http.route", "").startswith(("/v1/", "/health")):
            values.append(float(record["duration_ms"]) / 1000)
    if not values:
        return None, 0
    values.sort()
    return values[max(0, math.ceil(0.5 * len(values)) - 1)], len(values)


def ms(value: float | None) -> str:
    """Seconds as milliseconds for the table."""
    return "n/a" if value is None else f"{value * 1000:.2f} ms"


def run_driver(
    service: ReferenceService, out: Path, rps: float, duration: float, workers: int = 0
) -> dict[str, Any]:
    """``hypersync-slo load`` once; the result plus /proc and server figures."""
    before = server_buckets(service)
    server_cpu = service_cpu(service)
    wall = time.monotonic()
    argv = [
        sys.executable,
        "-m",
        "hypersync_slo",
        "load",
        "--target-url",
        service.url,
        "--rps",
        f"{rps:g}",
        "--duration",
        f"{duration:g}s",
        "--out",
        str(out),
        "--quiet",
        "--workers",
        str(workers),
    ]
    proc, figures = sampled(argv, timeout=duration + 120)
    server_cores = (service_cpu(service) - server_cpu) / (time.monotonic() - wall)
    after = server_buckets(service)
    result = json.loads((out / "load-result.json").read_text())
    window = result["window"]
    raw, n = server_raw_p50(service.log_path, window["start_unix"], window["end_unix"])
    return {
        "exit": proc.returncode,
        "result": result,
        "proc": figures,
        "server_bucket_p50": bucket_of_median(before, after),
        "server_raw_p50": raw,
        "server_raw_samples": n,
        "server_cores": server_cores,
    }


def service_cpu(service: ReferenceService) -> float:
    """CPU seconds the reference service process has used so far (/proc via psutil)."""
    assert service.process is not None
    assert service.process.proc is not None
    times = psutil.Process(service.process.proc.pid).cpu_times()
    return float(times.user + times.system)


def locust_percentile(times: dict[str, int], total: int, q: float) -> float | None:
    """Locust's own nearest-rank percentile over its rounded buckets (ms keys), in seconds."""
    if total == 0:
        return None
    k = int(total * q)
    processed = 0
    for key in sorted((float(t) for t in times), reverse=True):
        processed += times[str(int(key))] if str(int(key)) in times else times[str(key)]
        if total - processed <= k:
            return key / 1000
    return None


def run_locust_default(service: ReferenceService, out: Path, duration: float) -> dict[str, Any]:
    """Locust's usual pattern: 100 users x constant_throughput(10), FastHttpUser, closed loop."""
    out.mkdir(parents=True, exist_ok=True)
    before = server_buckets(service)
    started = time.time()
    argv = [
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
        service.url,
        "--json-file",
        str(out / "locust"),
        "--loglevel",
        "WARNING",
    ]
    proc, figures = sampled(argv, timeout=duration + 120)
    ended = time.time()
    after = server_buckets(service)
    entries = json.loads((out / "locust.json").read_text())
    merged: dict[str, int] = {}
    total = failures = 0
    first = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] or first for e in entries)
    for entry in entries:
        total += entry["num_requests"]
        failures += entry["num_failures"]
        for key, count in entry["response_times"].items():
            merged[str(key)] = merged.get(str(key), 0) + count
    raw, n = server_raw_p50(service.log_path, started, ended)
    return {
        "exit": proc.returncode,
        "requests": total,
        "failures": failures,
        "achieved_rps": total / max(1e-9, last - first),
        "p50": locust_percentile(merged, total, 0.5),
        "p95": locust_percentile(merged, total, 0.95),
        "p99": locust_percentile(merged, total, 0.99),
        "proc": figures,
        "server_bucket_p50": bucket_of_median(before, after),
        "server_raw_p50": raw,
        "server_raw_samples": n,
    }


def holds(run: dict[str, Any]) -> tuple[bool, str]:
    """Whether a run held its rate within the fidelity bounds, and the figures saying so."""
    r = run["result"]
    ok = not r["saturated"] and r["dropped"] == 0 and r["achieved_rps"] >= 0.99 * r["target_rps"]
    return ok, (
        f"achieved {r['achieved_rps']:.0f}/{r['target_rps']:g} req/s, late {r['late']}, "
        f"dropped {r['dropped']}, errors {r['errors']}, corrected p99 "
        f"{ms(r['latency']['corrected']['p99'])}, generator CPU "
        f"{run['proc']['cpu_cores']:.2f} cores, server CPU {run['server_cores']:.2f} cores, "
        f"saturated {r['saturated']}"
    )


def search(
    service: ReferenceService, base: Path, *, workers: int, step: float, start: float, limit: float
) -> float | None:
    """Raise the rate 1.5x per step until it no longer holds; the last rate that held.

    The machine is shared, so a rate gets a second attempt before it counts as not held.
    """
    best = None
    rate = start
    while rate <= limit:
        held = False
        for attempt in (1, 2):
            run = run_driver(
                service, base / f"search-w{workers}-{rate:g}-{attempt}", rate, step, workers
            )
            held, text = holds(run)
            print(
                f"  workers={workers} {rate:>6g} req/s for {step:g} s, attempt {attempt}: "
                f"{'holds' if held else 'FAILS'} ({text})",
                flush=True,
            )
            if held:
                break
        if not held:
            break
        best = rate
        rate = round(rate * 1.5, -2)
    return best


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rps", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--step", type=float, default=15.0, help="seconds per search step")
    parser.add_argument("--no-search", action="store_true", help="skip the highest-rate search")
    parser.add_argument("--search-limit", type=float, default=8000.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        base = Path(tmp)
        service = ReferenceService(base / "service").start()
        try:
            print(
                f"machine: {psutil.cpu_count()} cores, load average {psutil.getloadavg()} "
                "(shared: other test runs may be going)",
                flush=True,
            )
            driver = run_driver(service, base / "driver", args.rps, args.duration)
            r = driver["result"]
            lat_c, lat_u = r["latency"]["corrected"], r["latency"]["uncorrected"]
            locust = run_locust_default(service, base / "locust-default", args.duration)
            print(
                f"\n== {args.rps:g} req/s for {args.duration:g} s against the reference service =="
            )
            rows = [
                (
                    "",
                    "open-model driver (1 process)",
                    "Locust usual: 100 users x constant_throughput(10)",
                ),
                (
                    "achieved rate (client)",
                    f"{r['achieved_rps']:.1f} req/s of {args.rps:g}",
                    f"{locust['achieved_rps']:.1f} req/s",
                ),
                (
                    "requests / errors",
                    f"{r['requests']} / {r['errors']}",
                    f"{locust['requests']} / {locust['failures']}",
                ),
                (
                    "dropped / late sends",
                    f"{r['dropped']} / {r['late']}",
                    "not measured (closed loop)",
                ),
                (
                    "client p50",
                    f"corrected {ms(lat_c['p50'])}, uncorrected {ms(lat_u['p50'])} (HDR)",
                    f"{ms(locust['p50'])} (Locust, rounded)",
                ),
                (
                    "client p95",
                    f"corrected {ms(lat_c['p95'])}, uncorrected {ms(lat_u['p95'])}",
                    f"{ms(locust['p95'])}",
                ),
                (
                    "client p99",
                    f"corrected {ms(lat_c['p99'])}, uncorrected {ms(lat_u['p99'])}",
                    f"{ms(locust['p99'])}",
                ),
                (
                    "server p50, raw log timing",
                    f"{ms(driver['server_raw_p50'])} ({driver['server_raw_samples']} samples)",
                    f"{ms(locust['server_raw_p50'])} ({locust['server_raw_samples']} samples)",
                ),
                (
                    "server p50, /metrics histogram",
                    driver["server_bucket_p50"],
                    locust["server_bucket_p50"],
                ),
                (
                    "generator CPU (/proc)",
                    f"{driver['proc']['cpu_cores']:.2f} cores",
                    f"{locust['proc']['cpu_cores']:.2f} cores",
                ),
                (
                    "generator RSS start -> end (/proc)",
                    f"{driver['proc']['rss_start_mib']:.0f} -> {driver['proc']['rss_end_mib']:.0f} MiB",
                    f"{locust['proc']['rss_start_mib']:.0f} -> {locust['proc']['rss_end_mib']:.0f} MiB",
                ),
                (
                    "generator self-report (getrusage)",
                    f"{r['generator']['cpu_cores']:.2f} cores",
                    "",
                ),
                (
                    "schedule lag p50/p99 (client)",
                    f"{ms(r['schedule_lag']['p50'])} / {ms(r['schedule_lag']['p99'])}",
                    "",
                ),
                ("saturated / verdict", f"{r['saturated']} / {r['verdict']['status']}", ""),
            ]
            width = max(len(a) for a, _, _ in rows)
            for label, mine, theirs in rows:
                print(f"{label:<{width}}  | {mine:<58} | {theirs}")
            if not args.no_search:
                print(f"\n== highest rate held ({args.step:g} s steps, x1.5) ==", flush=True)
                one = search(
                    service,
                    base,
                    workers=0,
                    step=args.step,
                    start=args.rps,
                    limit=args.search_limit,
                )
                two = search(
                    service,
                    base,
                    workers=2,
                    step=args.step,
                    start=args.rps,
                    limit=args.search_limit,
                )
                print(
                    f"one process holds up to: {one if one else 'below'} {'' if one else args.rps} req/s"
                )
                print(
                    f"--workers 2 holds up to: {two if two else 'below'} {'' if two else args.rps} req/s"
                )
        finally:
            service.stop()


if __name__ == "__main__":
    main()
