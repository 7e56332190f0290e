"""Moments as text: the few RFC 3339 forms the project writes, the one way it reads them back.

Every writer takes an aware ``datetime`` already in UTC, or Unix seconds (read as UTC):

- ``rfc3339``: ``2026-11-27T02:00:00Z``, with the microseconds when there are any (JSON files,
  report headers);
- ``rfc3339_seconds``: ``2026-11-27T02:00:00Z``, whole seconds always (audits, run pages, KPI
  windows);
- ``rfc3339_millis``: ``2026-11-27T02:00:00.123Z``, fixed width, so that stamps compare as text
  (log timestamps, scrape times);
- ``file_stamp``: ``20261127T020000Z``, for directory names.

``parse_rfc3339`` reads ``Z`` or an offset (a naive result when the text has neither).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "file_stamp",
    "from_epoch",
    "parse_rfc3339",
    "rfc3339",
    "rfc3339_millis",
    "rfc3339_seconds",
]


def from_epoch(seconds: float) -> datetime:
    """Unix seconds as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(seconds, UTC)


def _moment(moment: datetime | float) -> datetime:
    return moment if isinstance(moment, datetime) else from_epoch(moment)


def rfc3339(moment: datetime | float) -> str:
    """``2026-11-27T02:00:00Z`` or ``2026-11-27T02:00:00.250000Z`` (microseconds when present)."""
    return _moment(moment).isoformat().replace("+00:00", "Z")


def rfc3339_seconds(moment: datetime | float) -> str:
    """``2026-11-27T02:00:00Z``: whole seconds (the fraction dropped, not rounded)."""
    return f"{_moment(moment):%Y-%m-%dT%H:%M:%SZ}"


def rfc3339_millis(moment: datetime | float) -> str:
    """``2026-11-27T02:00:00.123Z``: always three decimals (the rest dropped, not rounded)."""
    utc = _moment(moment)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def file_stamp(moment: datetime | None = None) -> str:
    """``20261127T020000Z`` for a directory name; now when ``moment`` is not given."""
    return f"{datetime.now(UTC) if moment is None else moment:%Y%m%dT%H%M%SZ}"


def parse_rfc3339(text: str) -> datetime:
    """``2026-11-27T02:00:00Z`` (or with an offset) as a ``datetime``; ``ValueError`` if not one."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
