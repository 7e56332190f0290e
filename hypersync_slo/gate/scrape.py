"""Scraping ``/metrics`` the way Prometheus does, and parsing what comes back.

The ``Accept`` lines (``PROMETHEUS3_ACCEPT``, the exact line Prometheus 3 sends by default,
research checklist section 2.1) and the Content-Type splitter are the exposition package's;
``VALID_CONTENT_TYPES`` are the five media-type/version pairs Prometheus 3 accepts in reply.
"""

from __future__ import annotations

from hypersync_slo.errors import MalformedExposition, explain
from hypersync_slo.exposition import MAX_METRICS_BYTES, Exposition, media_type, parse_exposition
from hypersync_slo.gate.client import Answer, TargetClient

METRICS_PATH = "/metrics"

#: (media type, version) pairs Prometheus 3 accepts as a scrape's Content-Type.
VALID_CONTENT_TYPES: frozenset[tuple[str, str]] = frozenset(
    {
        ("text/plain", "0.0.4"),
        ("text/plain", "1.0.0"),
        ("application/openmetrics-text", "0.0.1"),
        ("application/openmetrics-text", "1.0.0"),
        ("application/vnd.google.protobuf", ""),
    }
)


def content_type_problem(content_type: str | None) -> str | None:
    """Why Prometheus 3 would refuse this Content-Type, or None when it is valid."""
    if not content_type:
        return "no Content-Type header (Prometheus 3 fails such a scrape)"
    media, params = media_type(content_type)
    if media == "application/vnd.google.protobuf":
        return None
    version = params.get("version")
    if version is None and media == "text/plain":
        return None  # a missing version falls back to the latest text format
    if (media, version or "") not in VALID_CONTENT_TYPES:
        return f"{content_type!r} is not one of the formats Prometheus 3 accepts"
    return None


def scrape(target: TargetClient, accept: str | None) -> Answer:
    """``GET /metrics`` with ``accept`` (None: no Accept header), following redirects like Prometheus."""
    headers = {} if accept is None else {"Accept": accept}
    return target.get(
        METRICS_PATH,
        headers=headers,
        follow_redirects=True,
        max_bytes=MAX_METRICS_BYTES,
        expected="a Prometheus exposition",
    )


def parse_answer(answer: Answer) -> Exposition:
    """Parse a /metrics answer; ``MalformedExposition`` names the URL and the parser's complaint."""
    if answer.status_code != 200:
        raise MalformedExposition(
            explain(
                f"GET {answer.url} did not return an exposition.",
                expected="HTTP 200 with a Prometheus exposition",
                observed=answer.describe(),
            )
        )
    try:
        return parse_exposition(answer.text, answer.content_type)
    except MalformedExposition as exc:
        raise MalformedExposition(
            explain(
                f"GET {answer.url} returned a body that does not parse.",
                expected=f"a valid exposition ({answer.content_type or 'no Content-Type'})",
                observed=str(exc).replace("\n", "; "),
            )
        ) from None
