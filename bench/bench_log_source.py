"""The `log` KPI source over millions of request lines: time and peak memory.

Run: .venv/bin/python bench/bench_log_source.py [--lines N ...] [--gzip]

For each ``--lines`` count (default 1 000 000 and 10 000 000) a generator child process writes
that many request lines, shaped exactly as the reference service writes them (five routes, 2 %
5xx, log-normal durations at 1 µs resolution, one hour of timestamps), into a pipe, and
``hypersync-slo report --logs - --out DIR`` reads them from standard input in another child.
Nothing is written to disk but the report. The figures are the report process's own: wall
clock from start to exit, its CPU time (user + system: what the machine's other load does not
change much), and its peak resident memory (``ru_maxrss`` from ``wait4``, this
child only), so a flat memory profile shows as the same peak for 1 M and 10 M lines. With
``--gzip`` the lines go to a gzip file first and the report reads that file (decompression
included in the time). One run on a shared 2-core machine: noisy.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUTES = (
    ("POST", "/v1/operators/{operator}/execute"),
    ("POST", "/v1/policies/{policy}/evaluate"),
    ("POST", "/v1/receipts"),
    ("GET", "/v1/receipts/{receipt_id}"),
    ("GET", "/v1/agents"),
)
START = 1796288400  # 2026-12-03T09:00:00Z


def generate(count: int, out: object) -> None:
    """Write ``count`` request lines to the binary stream ``out`` (cheaply: precomputed parts)."""
    rng = random.Random(42)
    durations = [f"{rng.lognormvariate(1.2, 0.8):.3f}" for _ in range(65_536)]
    failed = [rng.random() < 0.02 for _ in range(65_521)]  # a prime: not in step with durations
    write = out.write  # type: ignore[attr-defined]
    buffer: list[str] = []
    per_second = max(1, count // 3600)
    second_text = ""
    last_second = -1
    for i in range(count):
        second = START + i // per_second
        if second != last_second:
            second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            last_second = second
        ms = (i % per_second) * 1000 // per_second
        method, route = ROUTES[i % 5]
        error = failed[i % 65_521]
        buffer.append(
            f'{{"timestamp":"{second_text}.{ms:03d}Z",'
            f'"level":"{"error" if error else "info"}","message":"request",'
            f'"logger":"hypersync.reference.http","service.name":"hypersync-reference",'
            f'"trace_id":"{i:032x}","span_id":"{i:016x}","trace_flags":"01",'
            f'"request_id":"{i:032x}","http.request.method":"{method}","http.route":"{route}",'
            f'"url.path":"{route}","http.response.status_code":{500 if error else 200},'
            f'"duration_ms":{durations[i & 65_535]}}}\n'
        )
        if len(buffer) == 10_000:
            write("".join(buffer).encode())
            buffer.clear()
    write("".join(buffer).encode())


def run(count: int, use_gzip: bool, work: Path) -> tuple[float, float, float, int]:
    """(seconds, CPU seconds, peak MiB, exit code) of one report over ``count`` lines."""
    report = [sys.executable, "-m", "hypersync_slo", "report", "--out", str(work / f"r{count}")]
    if use_gzip:
        path = work / f"lines-{count}.log.gz"
        with gzip.open(path, "wb", compresslevel=1) as out:
            generate(count, out)
        began = time.perf_counter()
        proc = subprocess.Popen([*report, "--logs", str(path)], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        path.unlink()
    else:
        generator = subprocess.Popen(
            [sys.executable, __file__, "--generate", str(count)], stdout=subprocess.PIPE
        )
        began = time.perf_counter()
        proc = subprocess.Popen(
            [*report, "--logs", "-"], stdin=generator.stdout, stdout=subprocess.DEVNULL
        )
        assert generator.stdout is not None
        generator.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        generator.wait()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, sys.stdout.buffer)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'lines':>12} {'seconds':>9} {'CPU s':>7} {'lines/s':>10} {'peak MiB':>9}  exit")
        for count in args.lines:
            seconds, cpu, peak, code = run(count, args.gzip, Path(tmp))
            print(
                f"{count:>12,} {seconds:>9.1f} {cpu:>7.1f} {count / seconds:>10,.0f} "
                f"{peak:>9.1f}  {code}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
