"""GET a ``/metrics`` URL the way a scraper does: an Accept header, timeouts, a size limit.

Every failure is in the package's error tree: connection refused, TLS, timeouts and redirect
loops are ``TargetUnreachable``; a body over the size limit or not UTF-8 is
``MalformedExposition``. The HTTP status is returned, not judged: the caller decides.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from hypersync_slo.errors import MalformedExposition, TargetUnreachable, UsageError, explain
from hypersync_slo.redaction import OriginGuard, origin, redact_url

#: What Prometheus 3 sends by default (prometheus/prometheus scrape/scrape.go acceptHeader).
PROMETHEUS3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
    "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)
ACCEPT_TEXT = "text/plain;version=0.0.4"
ACCEPT_OPENMETRICS = "application/openmetrics-text;version=1.0.0"
#: Largest /metrics body read (Prometheus would choke long before).
MAX_METRICS_BYTES = 10_000_000


@dataclass(frozen=True)
class FetchedExposition:
    """A fetched body: text, Content-Type (None when absent), status, elapsed seconds."""

    url: str
    text: str
    content_type: str | None
    status_code: int
    elapsed: float
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Redirects followed to get here, ``from -> to`` (userinfo masked), in order.
    redirects: tuple[str, ...] = ()


def read_bounded(
    response: httpx.Response,
    *,
    max_bytes: int,
    deadline: float,
    too_large: Callable[[], Exception],
) -> bytes | None:
    """The streamed body of ``response``, read whole, at most ``max_bytes`` by ``deadline``.

    ``deadline`` is a ``time.monotonic()`` instant; ``None`` when a chunk arrives after it.
    Past ``max_bytes`` reading stops and ``too_large()`` is raised: the caller words the error.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_large()
        chunks.append(chunk)
        if time.monotonic() > deadline:
            return None
    return b"".join(chunks)


def decode_body(body: bytes, where: str) -> str:
    """The body as UTF-8 text; ``MalformedExposition`` naming the first bad byte otherwise."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise MalformedExposition(
            explain(
                f"the exposition from {where} is not UTF-8 text",
                observed=f"byte {body[exc.start : exc.start + 1]!r} at offset {exc.start} (line {line})",
                expected="UTF-8 text in the Prometheus text or OpenMetrics format",
            )
        ) from exc


def fetch_exposition(
    url: str,
    *,
    accept: str | None,
    timeout: float,
    verify: bool = True,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_METRICS_BYTES,
) -> FetchedExposition:
    """GET ``url`` with ``Accept: accept``; the whole exchange must finish within ``timeout`` s."""
    sent = dict(headers or {})
    if accept is not None:
        sent["Accept"] = accept
    started = time.monotonic()
    deadline = started + timeout
    redirects: list[str] = []
    try:
        # No credential header (Authorization or a custom one) leaves the URL's origin.
        guard = OriginGuard(httpx.URL(url), extra=(headers or {}).keys())
        with (
            httpx.Client(
                timeout=timeout,
                verify=verify,
                follow_redirects=True,
                trust_env=False,
                event_hooks={"request": [guard]},
            ) as client,
            client.stream("GET", url, headers=sent) as response,
        ):
            hops = [*response.history, response]
            for before, after in itertools.pairwise(hops):
                crossed = origin(before.url) != origin(after.url)
                redirects.append(
                    f"{redact_url(str(before.url))} -> {redact_url(str(after.url))}"
                    + (" (another origin: credentials not sent)" if crossed else "")
                )
            body = read_bounded(
                response,
                max_bytes=max_bytes,
                deadline=deadline,
                too_large=lambda: MalformedExposition(
                    explain(
                        f"the exposition from {url} is larger than the limit",
                        limit=f"{max_bytes} bytes",
                        observed=f"more than {max_bytes} bytes (stopped reading)",
                        fix="expose fewer series (OpenMetrics advises under ~10k), or raise the limit",
                    )
                ),
            )
            if body is None:
                raise httpx.ReadTimeout("the whole response took longer than the timeout")
            status = response.status_code
            content_type = response.headers.get("content-type")
            response_headers = dict(response.headers)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UsageError(
            explain(
                f"not a URL: {redact_url(url)}",
                observed=str(exc),
                expected="http://host:port/metrics",
            )
        ) from None
    except httpx.TooManyRedirects as exc:
        raise TargetUnreachable(
            explain(
                f"GET {url} redirects in a loop",
                observed=str(exc),
                expected="200 with the exposition",
            )
        ) from exc
    except httpx.TimeoutException as exc:
        raise TargetUnreachable(
            explain(
                f"GET {url} timed out",
                timeout=f"{timeout:g} s for the whole response",
                observed=str(exc) or type(exc).__name__,
            )
        ) from exc
    except httpx.HTTPError as exc:
        raise TargetUnreachable(
            explain(
                f"GET {url} failed",
                observed=f"{type(exc).__name__}: {exc}",
                expected="an HTTP answer with the exposition",
            )
        ) from exc
    elapsed = time.monotonic() - started
    text = decode_body(body, url)
    return FetchedExposition(
        url, text, content_type, status, elapsed, response_headers, tuple(redirects)
    )
