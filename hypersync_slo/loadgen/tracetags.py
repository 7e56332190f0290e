"""Tagged requests: a share of the load carries a W3C ``traceparent`` whose IDs we know.

``TraceTagger`` runs inside each load process (it imports no Locust itself). For a request the
seeded mix picks (``share`` of them, at most ``limit`` per process) it adds
``traceparent: 00-<trace-id>-<parent-id>-01``, the sampled flag set so a head-sampling service
records it. The IDs come from the operating system's randomness, never from the seed: a rerun
with the same seed must not find an earlier run's traces in the backend. When the request has
been answered, ``record`` keeps (trace ID, parent ID, request name, status); ``write`` puts them
in ``traces-<process>.jsonl`` beside the load's part files, where the parent process reads them
to ask the trace backend (``hypersync_slo.traces``).
"""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Mapping
from pathlib import Path

TRACES_PREFIX = "traces-"
#: Tagged requests per load process at most: each costs one query to the backend afterwards.
DEFAULT_LIMIT = 2000


def traces_path(directory: Path, worker: int) -> Path:
    """Where load process ``worker`` writes its tagged requests."""
    return directory / f"{TRACES_PREFIX}{worker}.jsonl"


def read_tagged(directory: Path) -> list[dict[str, object]]:
    """Every tagged request the load processes wrote in ``directory``."""
    records: list[dict[str, object]] = []
    for path in sorted(directory.glob(f"{TRACES_PREFIX}*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


class TraceTagger:
    """Chooses and tags a share of the requests; remembers the tagged ones that were answered."""

    def __init__(self, share: float, seed: str, *, limit: int = DEFAULT_LIMIT) -> None:
        self.share = max(0.0, min(1.0, share))
        self.choose = random.Random(f"trace-sample:{seed}")
        self.limit = limit
        self.tagged = 0
        self.records: list[dict[str, object]] = []

    def tag(self, headers: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, str]] | None:
        """Headers with a fresh sampled ``traceparent`` and its (trace ID, parent ID), or None."""
        if self.share <= 0 or self.tagged >= self.limit or self.choose.random() >= self.share:
            return None
        trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
        if int(trace_id, 16) == 0 or int(parent_id, 16) == 0:  # all-zero IDs are invalid
            return None
        self.tagged += 1
        return {**headers, "traceparent": f"00-{trace_id}-{parent_id}-01"}, (trace_id, parent_id)

    def record(self, ids: tuple[str, str], request: str, status: int) -> None:
        """Keep an answered tagged request (``status`` 0: no answer, not kept)."""
        if status:
            self.records.append(
                {"trace_id": ids[0], "parent_id": ids[1], "request": request, "status": status}
            )

    def write(self, directory: Path, worker: int) -> Path:
        """Write the tagged requests atomically (one JSON object per line)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = traces_path(directory, worker)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self.records), "utf-8")
        os.replace(tmp, path)
        return path
