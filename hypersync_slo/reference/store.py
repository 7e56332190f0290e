"""The receipt store: receipts persisted in SQLite (WAL mode) under the data directory.

Writes run on the event loop's thread through one connection (a WAL commit with
``synchronous=NORMAL`` does not fsync, so it takes tens of microseconds); the health probe uses
its own connection from a worker thread, so a slow probe never blocks requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from hypersync_slo.reference.logs import rfc3339

DB_NAME = "receipts.sqlite3"
#: How long a request waits for a lock held by someone else; it blocks the event loop meanwhile,
#: so it is short: a locked store answers 503 rather than stalling every other request.
BUSY_TIMEOUT_MS = 250
_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY,
    operation  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    digest     TEXT NOT NULL,
    payload    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL);
"""


class ReceiptStore:
    """Receipts in ``<data_dir>/receipts.sqlite3``; survives restarts with the same directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / DB_NAME
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        """Create the directory, the database and its schema; switch to WAL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.executescript(_SCHEMA)
        self._db = db

    @property
    def db(self) -> sqlite3.Connection:
        """The request-path connection (the store must be open)."""
        if self._db is None:
            raise RuntimeError("the receipt store is not open")
        return self._db

    def close(self) -> None:
        """Checkpoint and close."""
        if self._db is not None:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
                self._db = None

    def create(self, operation: str, payload: Any) -> dict[str, Any]:
        """Persist a receipt for ``operation`` over ``payload``; return its public form."""
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{operation}\n{body}".encode()).hexdigest()
        receipt_id = "rcpt_" + os.urandom(12).hex()
        created_at = rfc3339(time.time())
        self.db.execute(
            "INSERT INTO receipts (receipt_id, operation, created_at, digest, payload) VALUES (?,?,?,?,?)",
            (receipt_id, operation, created_at, digest, body),
        )
        return {
            "receipt_id": receipt_id,
            "operation": operation,
            "created_at": created_at,
            "digest": f"sha256:{digest}",
        }

    def get(self, receipt_id: str) -> dict[str, Any] | None:
        """The stored receipt (with its payload), or None."""
        row = self.db.execute(
            "SELECT receipt_id, operation, created_at, digest, payload FROM receipts WHERE receipt_id = ?",
            (receipt_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "receipt_id": row[0],
            "operation": row[1],
            "created_at": row[2],
            "digest": f"sha256:{row[3]}",
            "payload": json.loads(row[4]),
        }

    def used_bytes(self) -> int:
        """Bytes on disk: the database plus its WAL and shared-memory files."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def probe(self) -> float:
        """``SELECT 1`` and a one-row write on a fresh connection; seconds taken. Raises on failure."""
        start = time.perf_counter()
        db = sqlite3.connect(self.path, isolation_level=None, timeout=1.0)
        try:
            db.execute("SELECT 1").fetchone()
            db.execute("INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)", (time.time(),))
        finally:
            db.close()
        return time.perf_counter() - start
