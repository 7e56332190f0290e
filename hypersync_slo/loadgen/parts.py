"""Part files: what each load process reports, written atomically, read by the launcher.

A *part* is the JSON-ready dict of ``Recorder.part()`` plus the process's identity. The local
runner writes its own; in Locust's master/worker mode each worker sends its part to the master
in a Locust custom message and the master writes it, so parts reach the launcher from remote
machines too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PART_PREFIX = "part-"


def part_path(directory: Path, worker: int) -> Path:
    """Where the part of load process ``worker`` goes."""
    return directory / f"{PART_PREFIX}{worker}.json"


def write_part(directory: Path, worker: int, part: dict[str, Any]) -> Path:
    """Write a part atomically (readers never see half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = part_path(directory, worker)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(part, separators=(",", ":")), "utf-8")
    os.replace(tmp, path)
    return path


def read_parts(directory: Path) -> list[dict[str, Any]]:
    """Every part in ``directory``, ordered by worker index (unreadable files are skipped)."""
    parts: list[dict[str, Any]] = []
    if not directory.is_dir():
        return parts
    for path in sorted(directory.glob(f"{PART_PREFIX}*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            parts.append(data)
    return sorted(parts, key=lambda p: int(p.get("worker", 0)))
