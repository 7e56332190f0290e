"""Write a ``Report`` to a directory: verdict.json, report.md, report.html, junit.xml.

Each file is written on its own, verdict.json first, so a failure in one (say, plotting) never
loses the others; such a failure is recorded in the report's errors and re-raised after.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypersync_slo.errors import OutputUnwritable, explain
from hypersync_slo.outputs import write_text
from hypersync_slo.report import html, json_report, junit, markdown
from hypersync_slo.report.model import Report
from hypersync_slo.results import VERDICT_FILE

FILES: dict[str, tuple[str, Callable[[Report], str]]] = {
    "verdict": (VERDICT_FILE, json_report.render),
    "markdown": ("report.md", markdown.render),
    "junit": ("junit.xml", junit.render),
    "html": ("report.html", html.render),
}


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write every output file; returns ``{"verdict": path, "markdown": ..., ...}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    failure: Exception | None = None
    unwritten: list[str] = []
    for key, (name, render) in FILES.items():
        path = out_dir / name
        try:
            text = render(report)
        except Exception as exc:  # keep writing the other files, then re-raise
            failure = failure or exc
            report.errors.append(f"could not write {name}: {type(exc).__name__}: {exc}")
            continue
        try:
            write_text(path, text)  # atomic, secrets masked
        except OutputUnwritable as exc:  # a full disk: try the others, then say what is where
            unwritten.append(f"{name} ({str(exc).splitlines()[0]})")
            continue
        written[key] = path
    if unwritten:
        raise OutputUnwritable(
            explain(
                f"could not write {len(unwritten)} of the report's files in {out_dir}.",
                not_written="; ".join(unwritten),
                written=", ".join(p.name for p in written.values()) or "nothing",
                verdict=f"{report.verdict.value} (exit {int(report.exit_code)} had the files "
                "been written)",
                what_to_do="free space or fix permissions and run the report again",
            )
        )
    if failure is not None:
        # verdict.json again, so it lists the failure too.
        write_text(out_dir / VERDICT_FILE, json_report.render(report))
        raise failure
    return written
