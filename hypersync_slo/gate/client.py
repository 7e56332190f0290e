"""The gate's HTTP client: every request bounded in time and size, every fault a clear error.

``TargetClient`` wraps ``httpx.Client`` and reads bodies with the exposition package's
``read_bounded``. A connect error, TLS error, timeout, redirect loop, a peer that does not
speak HTTP or a body past the size limit never escapes as a traceback: each becomes
``TargetUnreachable`` (or ``ContractViolation`` for an oversized body) whose message names the
URL, what was expected and what was observed. ``Answer`` is the fully read response.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx

from hypersync_slo import __version__
from hypersync_slo.errors import ContractViolation, TargetUnreachable, explain
from hypersync_slo.exposition import read_bounded
from hypersync_slo.redaction import OriginGuard, origin, redact_url

HeaderItems = Mapping[str, str] | Sequence[tuple[str, str]] | Sequence[tuple[str, bytes]]
QueryParams = Mapping[str, str] | Sequence[tuple[str, str]]

USER_AGENT = f"hypersync-slo-gate/{__version__} (synthetic; user_agent.synthetic.type=test)"
#: Largest body the gate reads from a health endpoint.
MAX_HEALTH_BYTES = 1_048_576
#: How many redirects a /metrics fetch follows before calling it a loop.
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Answer:
    """One fully read HTTP response."""

    method: str
    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes
    elapsed: float
    http_version: str = "HTTP/1.1"

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, or None when absent."""
        value: str | None = self.headers.get("content-type")
        return value

    @property
    def media_type(self) -> str:
        """The media type of Content-Type, lowercase, without parameters ('' when absent)."""
        return (self.content_type or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not JSON."""
        return json.loads(self.content.decode("utf-8"))

    def excerpt(self, limit: int = 120) -> str:
        """A short printable excerpt of the body for messages."""
        text = self.text.replace("\n", "\\n").replace("\r", "\\r")
        if not text.isprintable():
            text = repr(self.content[:limit])
        return text if len(text) <= limit else text[:limit] + "…"

    def describe(self) -> str:
        """``HTTP 503, application/json, 142 bytes in 12 ms``."""
        return (
            f"HTTP {self.status_code}, {self.content_type or 'no Content-Type'}, "
            f"{len(self.content)} bytes in {self.elapsed * 1000:.0f} ms"
        )


@dataclass(frozen=True)
class TimedOut:
    """A request that got no complete answer within its time budget."""

    method: str
    url: str
    budget: float
    elapsed: float


class TargetClient:
    """A bounded HTTP client for one target (base URL, auth headers, TLS verification)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
        redirect_log: list[str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        #: Every redirect a request followed, ``from -> to`` (shared with the gate's summary).
        self.redirects: list[str] = redirect_log if redirect_log is not None else []
        # No credential header (Authorization or a custom one) leaves the target's origin.
        self.guard = OriginGuard(httpx.URL(self.base_url), extra=(headers or {}).keys())
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            verify=verify,
            max_redirects=MAX_REDIRECTS,
            trust_env=False,
            event_hooks={"request": [self.guard]},
        )
        # No Accept unless a check asks for one: "no Accept header" is a case of its own.
        del self._client.headers["Accept"]

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on the target."""
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def _note_redirects(self, method: str, response: httpx.Response) -> None:
        """Record every redirect ``response`` followed, saying when it left the origin."""
        hops = [*response.history, response]
        for before, after in itertools.pairwise(hops):
            crossed = origin(before.url) != origin(after.url)
            self.redirects.append(
                f"{method} {redact_url(str(before.url))} -> {redact_url(str(after.url))}"
                + (" (another origin: credentials not sent)" if crossed else "")
            )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: HeaderItems | None = None,
        params: QueryParams | None = None,
        json_body: object = None,
        content: bytes | None = None,
        timeout: float | None = None,
        follow_redirects: bool = False,
        max_bytes: int = MAX_HEALTH_BYTES,
        expected: str = "an HTTP answer",
    ) -> Answer:
        """Send one request and read the whole body; raise ``TargetUnreachable`` on any fault."""
        result = self.try_request(
            method,
            path,
            headers=headers,
            params=params,
            json_body=json_body,
            content=content,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_bytes=max_bytes,
            expected=expected,
        )
        if isinstance(result, TimedOut):
            raise TargetUnreachable(
                explain(
                    f"{method} {result.url} timed out.",
                    expected=f"{expected} within {result.budget:g} s (--slo-timeout)",
                    observed=f"no complete answer after {result.elapsed:.2f} s",
                )
            )
        return result

    def get(self, path: str, **kwargs: Any) -> Answer:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def try_request(
        self,
        method: str,
        path: str,
        *,
        headers: HeaderItems | None = None,
        params: QueryParams | None = None,
        json_body: object = None,
        content: bytes | None = None,
        timeout: float | None = None,
        follow_redirects: bool = False,
        max_bytes: int = MAX_HEALTH_BYTES,
        expected: str = "an HTTP answer",
    ) -> Answer | TimedOut:
        """Like ``request`` but a timeout is returned as ``TimedOut`` (a verdict, not a fault)."""
        url = self.url(path)
        budget = self.timeout if timeout is None else timeout
        start = time.monotonic()
        body = None if json_body is None else json.dumps(json_body).encode("utf-8")
        extra: list[tuple[bytes, bytes]] = []
        if body is not None:
            extra.append((b"Content-Type", b"application/json"))
        if headers is not None:
            items = headers.items() if isinstance(headers, Mapping) else headers
            extra.extend(
                (
                    name.encode("ascii"),
                    value if isinstance(value, bytes) else value.encode("latin-1"),
                )
                for name, value in items
            )
        try:
            with self._client.stream(
                method,
                url,
                headers=extra,
                params=None if params is None else dict(params),
                content=body if body is not None else content,
                timeout=httpx.Timeout(budget),
                follow_redirects=follow_redirects,
            ) as response:
                received = read_bounded(
                    response,
                    max_bytes=max_bytes,
                    deadline=start + budget,
                    too_large=lambda: ContractViolation(
                        explain(
                            f"{method} {url} sent a body larger than the gate reads.",
                            expected=f"at most {max_bytes:,} bytes",
                            observed=f"more than {max_bytes:,} bytes "
                            f"(Content-Length: {response.headers.get('content-length', 'absent')})",
                        )
                    ),
                )
                if received is None:
                    return TimedOut(method, url, budget, time.monotonic() - start)
                self._note_redirects(method, response)
                return Answer(
                    method=method,
                    url=str(response.url),
                    status_code=response.status_code,
                    headers=response.headers,
                    content=received,
                    elapsed=time.monotonic() - start,
                    http_version=response.http_version,
                )
        except httpx.TimeoutException:
            return TimedOut(method, url, budget, time.monotonic() - start)
        except httpx.TooManyRedirects as exc:
            raise TargetUnreachable(
                explain(
                    f"{method} {url} redirects in a loop.",
                    expected=f"{expected} after at most {MAX_REDIRECTS} redirects",
                    observed=f"more than {MAX_REDIRECTS} redirects ({exc})",
                )
            ) from None
        except httpx.ConnectError as exc:
            tls = "certificate" in str(exc).lower() or "ssl" in str(exc).lower()
            raise TargetUnreachable(
                explain(
                    f"cannot {'establish TLS with' if tls else 'connect to'} {url}.",
                    expected=expected,
                    observed=f"{'TLS error' if tls else 'connection failed'}: {exc}",
                    hint="use --slo-insecure only for a test certificate you trust"
                    if tls
                    else "is the target running and the URL right?",
                )
            ) from None
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError) as exc:
            raise TargetUnreachable(
                explain(
                    f"{method} {url}: the peer did not answer valid HTTP.",
                    expected=expected,
                    observed=f"protocol error: {exc}",
                )
            ) from None
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                explain(
                    f"{method} {url} failed.",
                    expected=expected,
                    observed=f"{type(exc).__name__}: {exc}",
                )
            ) from None
