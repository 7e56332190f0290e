"""Generator CPU per request: the declared traffic mix vs the built-in model it replaced.

Run: .venv/bin/python bench/bench_traffic.py [--requests N] [--rounds R]

What a load process spends per request on the traffic model: plan the next request (choose by
weight, draw the parameters, build path and JSON body) and settle its answer (captures and the
business counter series), with a canned answer of the right shape. Measured with
``time.process_time`` (CPU of this process, one core) over N requests, R rounds interleaved so
both models see the same machine; the median per model and the ratio are printed. The models:

* ``built-in``: the hard-coded HyperSync model before the declaration (``bench/builtin_traffic.py``,
  a frozen copy);
* ``declared``: the packaged SLO file's ``traffic:`` section (the same mix, declared);
* ``ledger``: the second test target's declaration (``tests/data/traffic/ledger.yaml``).

Everything else a request costs in the driver (the socket, the HTTP client, the recorder) is the
same code for every model, so the ratio of these figures is the ratio that matters.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import builtin_traffic  # noqa: E402

from hypersync_slo.config import SloConfig  # noqa: E402
from hypersync_slo.traffic import TrafficModel  # noqa: E402
from hypersync_slo.traffic_spec import TrafficSpec  # noqa: E402

#: Canned answers by request name prefix: enough for every settle() path (captures, labels).
ANSWERS = {
    "POST /v1/operators": (200, b'{"operator":"transform","outcome":"success","duration_ms":1}'),
    "POST /v1/policies": (200, b'{"policy":"access","decision":"allow","reason":"ok"}'),
    "POST /v1/receipts": (201, b'{"receipt_id":"rcpt-0001","operation":"sync"}'),
    "POST /v1/agents": (202, b'{"agent_id":"agent-1","action":"sync"}'),
    "POST /api/v2/ops": (202, b'{"op":"transform","outcome":"success","checksum":1}'),
    "POST /api/v2/ledger": (201, b'{"id":"led_0123456789ab","amount":1.5}'),
    "POST /api/v2/authz": (200, b'{"allowed":true,"verdict":"allow"}'),
    "PUT /api/v2/agents": (204, b""),
}


def answer(name: str) -> tuple[int, bytes]:
    """The canned answer of a request name (200 and an empty object when none is listed)."""
    for prefix, found in ANSWERS.items():
        if name.startswith(prefix):
            return found
    return 200, b"{}"


def driver(model: Any, requests: int) -> Callable[[], float]:
    """A function running ``requests`` plan+settle cycles, returning CPU seconds per request."""
    canned: dict[str, tuple[int, bytes]] = {}

    def run() -> float:
        start = time.process_time()
        for _ in range(requests):
            planned = model.next()
            status, body = canned.get(planned.name) or canned.setdefault(
                planned.name, answer(planned.name)
            )
            if status in planned.expect:
                model.settle(planned, status, body)
        return (time.process_time() - start) / requests

    return run


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ledger = TrafficSpec.load(ROOT / "tests" / "data" / "traffic" / "ledger.yaml")
    runs = {
        "built-in": driver(builtin_traffic.TrafficModel(seed=1), args.requests),
        "declared": driver(TrafficModel(SloConfig.default().traffic, seed=1), args.requests),
        "ledger": driver(TrafficModel(ledger, seed=1), args.requests),
    }
    for run in runs.values():  # warm-up: captures filled, caches built
        run()
    seen: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            seen[name].append(run())
    base = statistics.median(seen["built-in"])
    print(f"{args.requests} requests x {args.rounds} rounds, CPU per request (median):")
    print("| model | CPU per request | vs built-in |")
    print("| --- | ---: | ---: |")
    for name, values in seen.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e6:.1f} µs | ×{median / base:.2f} |")


if __name__ == "__main__":
    main()
