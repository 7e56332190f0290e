"""``hypersync-slo history``: the recorded audits and runs as a trends table."""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from hypersync_slo.audit.history import DEFAULT_PATH, Entry, History
from hypersync_slo.audit.recording import entry_from_verdict_json
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.timestamps import rfc3339_seconds

DESCRIPTION = """\
Show the history of audits and runs (SQLite, default reports/history.sqlite) as a trends
table: one row per recorded window, oldest first, with each SLI's value and its change
against the previous row; the last line compares the newest value with the median of the
rows before it.

examples:
  hypersync-slo history
  hypersync-slo history --kpi latency_p95 --last 10
  hypersync-slo history --history /var/lib/hypersync-slo/history.sqlite --kind audit --json
  hypersync-slo history --import reports/run-20261127T020000Z/report   (add a run's verdict.json)

Exit 0 with rows, 3 when the history holds no matching entry.

"""
DEFAULT_COLUMNS = (
    "latency_p95",
    "latency_p99",
    "error_rate",
    "success_rate_budget_remaining",
    "coverage",
)


def register(sub: Any) -> None:
    """Add the ``history`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "history",
        help="trends of recorded audits and runs (SLIs, verdicts) from the history file",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--history", default=str(DEFAULT_PATH), help=f"history file (default {DEFAULT_PATH})"
    )
    parser.add_argument(
        "--kpi", action="append", default=[], help="SLI to show (repeatable; default: the main)"
    )
    parser.add_argument("--last", type=int, default=20, help="newest N entries (default 20)")
    parser.add_argument("--kind", choices=("audit", "run", "report"), help="only this kind")
    parser.add_argument("--job", help="only entries of this Prometheus job")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--import",
        dest="import_path",
        type=Path,
        help="first add a run's verdict.json (or its directory) to the history",
    )
    parser.set_defaults(func=handle)


def _format(value: float | None, name: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if name.startswith("latency"):
        return f"{value * 1000:.1f} ms"
    if name in ("error_rate", "coverage") or "compliance" in name or "budget" in name:
        return f"{value * 100:.4g} %"
    return f"{value:.6g}"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None or not math.isfinite(now) or not math.isfinite(before):
        return ""
    if before == 0:
        return "" if now == 0 else " (new)"
    return f" ({(now - before) / abs(before) * 100:+.1f} %)"


def trend_table(entries: list[Entry], columns: list[str]) -> list[str]:
    """The table's lines: header, one row per entry with changes, then a trend line per column."""
    header = ["window end", "kind", "job", "verdict", *columns]
    rows: list[list[str]] = []
    previous: dict[str, float | None] = {}
    for entry in entries:
        cells = [
            rfc3339_seconds(entry.window_end),
            entry.kind,
            entry.job or "-",
            entry.verdict,
        ]
        for name in columns:
            value = entry.slis.get(name)
            cells.append(_format(value, name) + _change(value, previous.get(name)))
            previous[name] = value
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in [header, *rows]
    ]
    for name in columns:
        values = [e.slis.get(name) for e in entries]
        known = [v for v in values[:-1] if v is not None and math.isfinite(v)]
        newest = values[-1] if values else None
        if newest is None or not known or not math.isfinite(newest):
            continue
        median = statistics.median(known)
        lines.append(
            f"trend {name}: newest {_format(newest, name)} vs median of the {len(known)} before "
            f"{_format(median, name)}{_change(newest, median)}"
        )
    return lines


def handle(args: argparse.Namespace) -> int:
    """Print the trends table (or JSON)."""
    # Reading needs no write access and creates nothing; only --import writes.
    with History(args.history, read_only=args.import_path is None) as history:
        if args.import_path is not None:
            entry_id, appended = history.record(entry_from_verdict_json(args.import_path))
            print(
                f"imported {args.import_path} as entry {entry_id}"
                if appended
                else f"{args.import_path} is already entry {entry_id}: not imported again"
            )
        entries = history.entries(kind=args.kind, job=args.job, last=args.last)
    if not entries:
        print(f"no entries in {args.history}" + (f" of kind {args.kind}" if args.kind else ""))
        return int(ExitCode.NO_DATA)
    columns = list(args.kpi) or [c for c in DEFAULT_COLUMNS if any(c in e.slis for e in entries)]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "kind": e.kind,
                        "job": e.job,
                        "window_start": rfc3339_seconds(e.window_start),
                        "window_end": rfc3339_seconds(e.window_end),
                        "verdict": e.verdict,
                        "slis": {c: e.slis.get(c) for c in columns},
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
    else:
        for line in trend_table(entries, columns):
            print(line)
    return int(ExitCode.PASS)
