"""The timestamp forms every writer shares (hypersync_slo/timestamps.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.timestamps import (
    file_stamp,
    from_epoch,
    parse_rfc3339,
    rfc3339,
    rfc3339_millis,
    rfc3339_seconds,
)

MOMENT = datetime(2026, 11, 27, 2, 0, 3, 456789, tzinfo=UTC)
EPOCH = MOMENT.timestamp()
#: Moments a run can meet: years 1970-9999, in UTC, to the microsecond.
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


def test_rfc3339_keeps_microseconds_only_when_present() -> None:
    """The JSON form: ``Z`` for UTC, microseconds shown only when there are some."""
    assert rfc3339(MOMENT) == "2026-11-27T02:00:03.456789Z"
    assert rfc3339(MOMENT.replace(microsecond=0)) == "2026-11-27T02:00:03Z"
    assert rfc3339(MOMENT.replace(microsecond=0).timestamp()) == "2026-11-27T02:00:03Z"


def test_rfc3339_seconds_drops_the_fraction() -> None:
    """Whole seconds: the fraction is dropped, never rounded up to the next second."""
    assert rfc3339_seconds(MOMENT) == "2026-11-27T02:00:03Z"
    assert rfc3339_seconds(MOMENT.replace(microsecond=999_999)) == "2026-11-27T02:00:03Z"
    assert rfc3339_seconds(EPOCH) == "2026-11-27T02:00:03Z"


def test_rfc3339_millis_is_fixed_width() -> None:
    """Three decimals always (``.000`` too), truncated, from a datetime or Unix seconds."""
    assert rfc3339_millis(MOMENT) == "2026-11-27T02:00:03.456Z"
    assert rfc3339_millis(MOMENT.replace(microsecond=0)) == "2026-11-27T02:00:03.000Z"
    assert rfc3339_millis(EPOCH) == "2026-11-27T02:00:03.456Z"


def test_file_stamp_has_no_separators() -> None:
    """A directory name: digits, ``T`` and ``Z``; now (in UTC) when no moment is given."""
    assert file_stamp(MOMENT) == "20261127T020003Z"
    before = datetime.now(UTC).replace(microsecond=0)
    stamped = datetime.strptime(file_stamp(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= stamped <= datetime.now(UTC)


def test_parse_reads_z_and_offsets() -> None:
    """``Z`` and ``+02:00`` are read as aware moments; a time zone-less text stays naive."""
    assert parse_rfc3339("2026-11-27T02:00:03.456789Z") == MOMENT
    assert parse_rfc3339("2026-11-27T04:00:03.456789+02:00") == MOMENT
    assert parse_rfc3339("2026-11-27T02:00:03").tzinfo is None
    with pytest.raises(ValueError, match="Invalid isoformat string"):
        parse_rfc3339("27/11/2026")


def test_from_epoch_is_aware_utc() -> None:
    """Unix seconds become an aware UTC datetime (not local time)."""
    assert from_epoch(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert from_epoch(0).utcoffset() == timedelta(0)


@given(MOMENTS)
def test_forms_match_the_expressions_they_replaced(moment: datetime) -> None:
    """Byte for byte what the call sites wrote before the helpers existed."""
    assert rfc3339(moment) == moment.isoformat().replace("+00:00", "Z")
    assert (
        rfc3339_seconds(moment)
        == moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert rfc3339_millis(moment) == (
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
    assert file_stamp(moment) == moment.strftime("%Y%m%dT%H%M%SZ")
    assert parse_rfc3339(rfc3339(moment)) == moment


def test_a_non_utc_moment_keeps_its_offset() -> None:
    """``rfc3339`` converts nothing: a +02:00 moment is written with its offset, as before."""
    moment = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-11-27T04:00:03.456789+02:00"
