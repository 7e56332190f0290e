"""The history store: every audit and run, its verdicts and SLIs, in an embedded SQLite file.

``History(path)`` opens (and creates) the file; the default is ``reports/history.sqlite``. A path
may also be given as a ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` URL. One row per evaluated window in ``entries``
(kind ``audit`` or ``run``, window, job, verdict, when recorded); its SLI values and per-SLO
verdicts in ``slis``. Recording is idempotent: the same kind, job and window recorded twice keeps
the first record.

A file that is not a SQLite database (corrupt, or some other file) and a file another process
holds locked beyond the timeout both raise ``SuiteFault`` naming the path and what to do.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hypersync_slo.errors import NoData, SuiteFault, UsageError, explain
from hypersync_slo.redaction import redact, redact_url

DEFAULT_PATH = Path("reports") / "history.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    job TEXT NOT NULL,
    window_start REAL NOT NULL,
    window_end REAL NOT NULL,
    verdict TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, job, window_start, window_end)
);
CREATE TABLE IF NOT EXISTS slis (
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    name TEXT NOT NULL,
    value REAL,
    verdict TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, name)
);
"""


@dataclass(frozen=True)
class Entry:
    """One recorded audit or run."""

    kind: str
    job: str
    window_start: float
    window_end: float
    verdict: str
    slis: Mapping[str, float | None] = field(default_factory=dict)
    sli_verdicts: Mapping[str, str] = field(default_factory=dict)
    recorded_at: float = 0.0
    source: str = ""
    id: int | None = None


def resolve_path(text: str | Path | None) -> Path:
    """A history location as a path: ``None`` is the default, ``sqlite:///x`` is ``/x``."""
    if text is None:
        return DEFAULT_PATH
    value = str(text)
    if value.startswith("sqlite:///"):
        return Path(value[len("sqlite:///") :])  # sqlite:///rel/path, sqlite:////abs/path
    if "://" in value:
        raise UsageError(
            f"--history {value!r}: only a file path or a sqlite:///path URL is supported."
        )
    return Path(value)


class History:
    """The SQLite history file at ``path``."""

    def __init__(
        self, path: str | Path | None = None, *, timeout: float = 5.0, read_only: bool = False
    ) -> None:
        self.path = resolve_path(path)
        self.timeout = timeout
        self.read_only = read_only
        if read_only:
            self._db = self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fault("cannot create the history's folder", exc) from exc
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._fault("cannot open the history file", exc) from exc
        try:
            with self._guard("cannot read the history file"):
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except SuiteFault:
            self._db.close()
            raise

    def _open_read_only(self) -> sqlite3.Connection:
        """Open an existing history for reading only: nothing is created, no write access needed."""
        if not self.path.is_file():
            raise NoData(
                explain(
                    f"There is no history file at {self.path}: nothing has been recorded there.",
                    what_to_do="run an audit (or a run without --no-history) first, or give "
                    "the right --history path; nothing was created",
                )
            )
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            db.execute("SELECT count(*) FROM entries").fetchone()
        except sqlite3.Error as exc:
            raise self._fault("cannot read the history file", exc) from exc
        return db

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fault(self, what: str, exc: BaseException) -> SuiteFault:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return SuiteFault(
                explain(
                    f"The history file is locked by another process ({what}).",
                    path=self.path,
                    waited=f"{self.timeout:g} s",
                    error=text,
                    what_to_do="wait for the other audit or run to finish, or give another "
                    "--history path",
                )
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return SuiteFault(
                explain(
                    "The history file is not a readable SQLite database (corrupt or another file).",
                    path=self.path,
                    error=text,
                    what_to_do=f"move it aside (mv {self.path} {self.path}.broken) to start a new "
                    "history, or restore it from a backup",
                )
            )
        return SuiteFault(
            explain(
                f"The history file could not be used: {what}.",
                path=self.path,
                error=f"{type(exc).__name__}: {text}",
                what_to_do="check the path and its permissions, or give another --history path",
            )
        )

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._fault(what, exc) from exc

    def record(self, entry: Entry) -> tuple[int, bool]:
        """Append ``entry``; returns ``(id, appended)``. The same window again is not appended."""
        with self._guard("cannot write to the history file"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                found = self._db.execute(
                    "SELECT id FROM entries WHERE kind = ? AND job = ? AND window_start = ? "
                    "AND window_end = ?",
                    (entry.kind, redact(entry.job), entry.window_start, entry.window_end),
                ).fetchone()
                if found:
                    self._db.execute("COMMIT")
                    return int(found[0]), False
                cursor = self._db.execute(
                    "INSERT INTO entries (kind, job, window_start, window_end, verdict, "
                    "recorded_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.kind,
                        redact(entry.job),
                        entry.window_start,
                        entry.window_end,
                        entry.verdict,
                        entry.recorded_at or time.time(),
                        redact_url(entry.source),  # never a password in a row
                    ),
                )
                entry_id = int(cursor.lastrowid or 0)
                names = set(entry.slis) | set(entry.sli_verdicts)
                self._db.executemany(
                    "INSERT INTO slis (entry_id, name, value, verdict) VALUES (?, ?, ?, ?)",
                    [
                        (
                            entry_id,
                            name,
                            _storable(entry.slis.get(name)),
                            entry.sli_verdicts.get(name, ""),
                        )
                        for name in sorted(names)
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return entry_id, True

    def entries(
        self,
        *,
        kind: str | None = None,
        job: str | None = None,
        last: int | None = None,
        verdicts: Sequence[str] | None = None,
        before: float | None = None,
    ) -> list[Entry]:
        """Recorded entries, oldest first (``last``: only the newest N by window end)."""
        where: list[str] = []
        params: list[object] = []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if job is not None:
            where.append("job = ?")
            params.append(job)
        if verdicts:
            where.append(f"verdict IN ({', '.join('?' for _ in verdicts)})")
            params.extend(verdicts)
        if before is not None:
            where.append("window_end < ?")
            params.append(before)
        sql = "SELECT id, kind, job, window_start, window_end, verdict, recorded_at, source "
        sql += "FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY window_end DESC, id DESC"
        if last is not None:
            sql += f" LIMIT {int(last)}"
        with self._guard("cannot read the history file"):
            rows = self._db.execute(sql, params).fetchall()
            out: list[Entry] = []
            for row in reversed(rows):
                values: dict[str, float | None] = {}
                states: dict[str, str] = {}
                for name, value, verdict in self._db.execute(
                    "SELECT name, value, verdict FROM slis WHERE entry_id = ?", (row[0],)
                ):
                    values[name] = None if value is None else float(value)
                    if verdict:
                        states[name] = verdict
                out.append(
                    Entry(
                        kind=row[1],
                        job=row[2],
                        window_start=row[3],
                        window_end=row[4],
                        verdict=row[5],
                        slis=values,
                        sli_verdicts=states,
                        recorded_at=row[6],
                        source=row[7],
                        id=row[0],
                    )
                )
        return out

    def baseline(
        self,
        sli: str,
        *,
        count: int,
        include: Sequence[str] = ("pass",),
        aggregate: str = "median",
        job: str | None = None,
        kind: str | None = None,
        before: float | None = None,
    ) -> tuple[float | None, int]:
        """The aggregate of ``sli`` over the last ``count`` entries with a verdict in ``include``.

        Returns ``(value, how many values it came from)``; ``(None, 0)`` without history.
        """
        values: list[float] = []
        for entry in reversed(self.entries(kind=kind, job=job, verdicts=include, before=before)):
            value = entry.slis.get(sli)
            if value is not None and math.isfinite(value):
                values.append(value)
            if len(values) >= count:
                break
        if not values:
            return None, 0
        return aggregate_values(values, aggregate), len(values)


def aggregate_values(values: Sequence[float], how: str) -> float:
    """``median``, ``avg``/``mean``, ``min``, ``max`` or ``p90`` of ``values``."""
    if how == "median":
        return float(statistics.median(values))
    if how in ("avg", "mean"):
        return float(statistics.fmean(values))
    if how == "min":
        return float(min(values))
    if how == "max":
        return float(max(values))
    if how.startswith("p") and how[1:].isdigit():
        ordered = sorted(values)
        rank = max(0, math.ceil(int(how[1:]) / 100 * len(ordered)) - 1)
        return float(ordered[rank])
    raise UsageError(f"unknown aggregate function {how!r}; use median, avg, min, max or pNN (p90).")


def _storable(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
