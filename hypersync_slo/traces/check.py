"""After a load: ask the trace backend for every tagged request and judge ``trace_completeness``.

``verify_traces`` reads the tagged requests the load processes wrote (``traces-N.jsonl``), asks
the backend's query API for each trace, asks again for the incomplete ones until ``wait``
seconds have passed (exporters send in batches, collectors forward later), then judges the KPI
and writes ``OUT/traces.json``: the KPI item, the backend, and the first misses with reasons.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from hypersync_slo.config import SloConfig
from hypersync_slo.loadgen.tracetags import read_tagged
from hypersync_slo.outputs import write_text
from hypersync_slo.traces.model import (
    BackendKind,
    Span,
    TaggedRequest,
    check_trace,
    completeness,
    trace_kpi,
)
from hypersync_slo.traces.query import TraceQuery
from hypersync_slo.verdicts import KpiResult

TRACES_FILE = "traces.json"


def verify_traces(
    parts_dir: Path,
    *,
    kind: BackendKind,
    url: str,
    config: SloConfig,
    window: tuple[datetime, datetime],
    out: Path,
    wait: float = 10.0,
) -> KpiResult:
    """Judge ``trace_completeness`` for the tagged requests in ``parts_dir``; write traces.json."""
    tagged = [TaggedRequest.from_dict(r) for r in read_tagged(parts_dir)]
    found: dict[str, list[Span] | None] = {}
    query = TraceQuery(kind, url)
    deadline = time.monotonic() + wait
    asked = 0
    try:
        pending = list(tagged)
        while pending:
            for request in pending:
                found[request.trace_id] = query.fetch(request.trace_id)
                asked += 1
            pending = [r for r in pending if check_trace(r, found[r.trace_id]) is not None]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    finally:
        query.close()
    result = completeness(tagged, found)
    kpi = trace_kpi(result, config, window, where=f"{kind} query API at {url}")
    document = {
        "kpi": kpi.to_dict(),
        "backend": {"kind": kind, "url": url, "queries": asked, "waited_up_to_seconds": wait},
        "tagged": len(tagged),
    }
    write_text(out / TRACES_FILE, json.dumps(document, indent=2) + "\n")
    return kpi
