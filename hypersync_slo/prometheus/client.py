"""The Prometheus HTTP API client: the only module that imports ``prometheus_api_client``.

``PrometheusClient`` speaks the Prometheus HTTP API (so Prometheus, Thanos, Mimir and
VictoriaMetrics alike) with a timeout, bearer-token or basic auth and TLS verification, all
passed in as values (only the CLI layer reads the environment). Range queries keep under the
11 000-points-per-series limit by splitting the range, and split further if a store answers
with its own, lower limit. Every failure becomes ``PrometheusUnavailable`` naming the URL, the
query and Prometheus's own error text.

For tests and dry runs a ``requests`` transport adapter can be injected (``transport=``), e.g.
``RecordedAnswers`` serving recorded API answers; the client's own parsing still runs.
"""

from __future__ import annotations

import ast
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from requests.adapters import BaseAdapter
from urllib3.util.retry import Retry

from hypersync_slo.errors import PrometheusUnavailable, explain

#: Prometheus refuses range queries with more points per series than this.
MAX_POINTS = 11_000
_ERROR_TEXT = re.compile(r'"errorType"\s*:\s*"([^"]*)"\s*,\s*"error"\s*:\s*"((?:[^"\\]|\\.)*)"')
_STATUS = re.compile(r"HTTP Status Code (\d+)")
_BODY = re.compile(r"HTTP Status Code \d+ \((b?'.*'|b?\".*\")\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class InstantSample:
    """One instant-query sample: the series labels, its value and evaluation time.

    Not ``Sample``: ``exposition.model.Sample`` is a line of a scraped exposition (name,
    labels, value, optional timestamp as the target wrote it); this is what the Prometheus API
    answers for one series of an instant query, evaluated at ``time``.
    """

    labels: Mapping[str, str]
    value: float
    time: float


@dataclass(frozen=True)
class RangeSeries:
    """One range-query series: its labels and ``(unix time, value)`` points."""

    labels: Mapping[str, str]
    points: list[tuple[float, float]]


@dataclass
class QueryStats:
    """Time spent waiting for the store, for the benchmark's query-vs-compute split."""

    queries: int = 0
    seconds: float = 0.0
    points: int = 0
    log: list[str] = field(default_factory=list)


def points_in(start: float, end: float, step: float) -> int:
    """How many points a range query returns per series (both ends included)."""
    return math.floor((end - start) / step + 1e-9) + 1


def choose_step(start: float, end: float, *, floor: float = 1.0, points: int = MAX_POINTS) -> float:
    """The smallest whole-second step >= ``floor`` keeping a range under ``points`` per series."""
    span = max(0.0, end - start)
    return float(max(math.ceil(floor), math.ceil(span / max(1, points - 1))))


class PrometheusClient:
    """A typed, failure-explaining client for the Prometheus HTTP API."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        transport: BaseAdapter | None = None,
        retries: int = 1,
        max_points: int = MAX_POINTS,
        deadline: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        #: Total seconds this client may wait for the store, all queries together (None: no cap).
        self.deadline = deadline
        self._deadline_at = None if deadline is None else time.monotonic() + deadline
        #: Set when a query timed out: a store that hangs is not asked again (fail fast).
        self._hung: str | None = None
        self.max_points = max_points
        self.stats = QueryStats()
        session = requests.Session()
        session.verify = verify
        headers = {"Authorization": f"Bearer {token}"} if token else None
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,
            status=retries,
            backoff_factor=0.1,
            status_forcelist=[502, 503, 504],
            raise_on_status=False,
        )
        self._connect = PrometheusConnect(
            url=self.url,
            headers=headers,  # type: ignore[arg-type]
            disable_ssl=not verify,
            retry=retry,
            auth=basic_auth,  # type: ignore[arg-type]
            session=session,
            timeout=timeout,  # type: ignore[arg-type]
            method="GET",
        )
        if transport is not None:
            session.mount(self.url, transport)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._connect.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def instant(self, query: str, at: datetime | float) -> list[InstantSample]:
        """Evaluate ``query`` at one moment (vector or scalar result)."""
        when = at.timestamp() if isinstance(at, datetime) else float(at)
        result = self._call(
            query, lambda: self._connect.custom_query(query, params={"time": f"{when:.3f}"})
        )
        if (
            isinstance(result, list)
            and len(result) == 2
            and not isinstance(result[0], dict)
            and isinstance(result[1], str)
        ):
            return [InstantSample({}, _number(result[1]), float(result[0]))]  # scalar
        samples: list[InstantSample] = []
        for item in result or []:
            stamp, value = item.get("value", (when, "NaN"))
            samples.append(
                InstantSample(dict(item.get("metric", {})), _number(value), float(stamp))
            )
        return samples

    def raw(self, selector: str, seconds: float, at: datetime | float) -> list[RangeSeries]:
        """The raw samples of ``selector`` in ``(at - seconds, at]``, each with its scrape time.

        An instant query of a range selector (``up{job="x"}[60000ms]``): unlike a range query,
        whose points sit on a grid, these are the stored samples themselves.
        """
        when = at.timestamp() if isinstance(at, datetime) else float(at)
        query = f"{selector}[{max(1, round(seconds * 1000))}ms]"
        result = self._call(
            query, lambda: self._connect.custom_query(query, params={"time": f"{when:.3f}"})
        )
        out: list[RangeSeries] = []
        for item in result or []:
            if not isinstance(item, dict):
                raise PrometheusUnavailable(
                    explain(
                        "Prometheus answered a range selector with something else than a matrix.",
                        prometheus=self.url,
                        query=query,
                    )
                )
            points = [(float(t), _number(v)) for t, v in item.get("values", [])]
            self.stats.points += len(points)
            out.append(RangeSeries(dict(item.get("metric", {})), points))
        return out

    def range(
        self, query: str, start: datetime | float, end: datetime | float, step: float
    ) -> list[RangeSeries]:
        """Evaluate ``query`` over ``[start, end]`` every ``step`` seconds, splitting as needed."""
        t0 = start.timestamp() if isinstance(start, datetime) else float(start)
        t1 = end.timestamp() if isinstance(end, datetime) else float(end)
        if step <= 0:
            raise PrometheusUnavailable(
                explain("A range query needs a positive step.", query=query, step=step)
            )
        merged: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
        labels_of: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
        for c0, c1 in self._chunks(t0, t1, step, self.max_points):
            for series in self._range_chunk(query, c0, c1, step):
                key = tuple(sorted(series.labels.items()))
                labels_of[key] = series.labels
                merged.setdefault(key, {}).update(series.points)
        return [
            RangeSeries(labels_of[key], sorted(points.items())) for key, points in merged.items()
        ]

    @staticmethod
    def _chunks(t0: float, t1: float, step: float, limit: int) -> list[tuple[float, float]]:
        span = step * (limit - 1)
        chunks: list[tuple[float, float]] = []
        cursor = t0
        while True:
            stop = min(t1, cursor + span)
            chunks.append((cursor, stop))
            if stop >= t1:
                return chunks
            cursor = stop + step

    def _range_chunk(self, query: str, t0: float, t1: float, step: float) -> list[RangeSeries]:
        params = {"start": f"{t0:.3f}", "end": f"{t1:.3f}", "step": f"{step:g}"}
        try:
            result = self._call(
                query,
                lambda: self._connect.custom_query_range(
                    query,
                    datetime.fromtimestamp(t0),
                    datetime.fromtimestamp(t1),
                    f"{step:g}",
                    params=params,
                ),
            )
        except PrometheusUnavailable as exc:
            # A store with a lower point limit than Prometheus's: halve until it fits.
            if "maximum resolution" in str(exc) and points_in(t0, t1, step) > 2:
                half = max(2, points_in(t0, t1, step) // 2)
                series: list[RangeSeries] = []
                for c0, c1 in self._chunks(t0, t1, step, half):
                    series.extend(self._range_chunk(query, c0, c1, step))
                return series
            raise
        out: list[RangeSeries] = []
        for item in result or []:
            points = [(float(t), _number(v)) for t, v in item.get("values", [])]
            self.stats.points += len(points)
            out.append(RangeSeries(dict(item.get("metric", {})), points))
        return out

    def _refuse_when_out_of_time(self, query: str) -> None:
        """Fail fast when the store already hung once or the overall deadline has passed."""
        if self._hung is not None:
            raise PrometheusUnavailable(
                explain(
                    "Prometheus did not answer an earlier query in time; not asked again.",
                    prometheus=self.url,
                    query=query,
                    first_timeout=self._hung,
                    what_to_do="check that Prometheus is healthy, or raise --timeout",
                )
            )
        if self._deadline_at is not None and time.monotonic() >= self._deadline_at:
            raise PrometheusUnavailable(
                explain(
                    f"the overall deadline for Prometheus ({self.deadline:g} s) has passed.",
                    prometheus=self.url,
                    query=query,
                    answered=f"{self.stats.queries} queries before it",
                    what_to_do="check Prometheus's load, or raise --deadline",
                )
            )

    def _request_timeout(self) -> float:
        """The time one request may take: ``timeout``, cut to what is left of the deadline."""
        if self._deadline_at is None:
            return self.timeout
        return max(0.1, min(self.timeout, self._deadline_at - time.monotonic()))

    def _call(self, query: str, call: Callable[[], Any]) -> Any:
        self._refuse_when_out_of_time(query)
        limit = self._request_timeout()
        self._connect._timeout = limit  # type: ignore[assignment]
        began = time.perf_counter()
        try:
            return call()
        except PrometheusApiClientException as exc:
            raise PrometheusUnavailable(
                self._explain("Prometheus refused the query.", query, exc)
            ) from exc
        except (requests.exceptions.JSONDecodeError, KeyError, TypeError) as exc:
            raise PrometheusUnavailable(
                self._explain(
                    "Prometheus answered something that is not its API's JSON.", query, exc
                )
            ) from exc
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            if not isinstance(exc, requests.exceptions.Timeout) and "timed out" not in str(exc):
                raise PrometheusUnavailable(
                    self._explain("Prometheus could not be reached.", query, exc)
                ) from exc
            waited = time.perf_counter() - began
            self._hung = f"{waited:.1f} s without an answer ({type(exc).__name__})"
            raise PrometheusUnavailable(
                self._explain(f"Prometheus did not answer within {limit:g} s.", query, exc)
            ) from exc
        except requests.RequestException as exc:
            raise PrometheusUnavailable(
                self._explain("Prometheus could not be reached.", query, exc)
            ) from exc
        except ValueError as exc:
            raise PrometheusUnavailable(
                self._explain(
                    "Prometheus answered something that is not its API's JSON.", query, exc
                )
            ) from exc
        finally:
            self.stats.queries += 1
            self.stats.seconds += time.perf_counter() - began
            self.stats.log.append(query)

    def _explain(self, what: str, query: str, exc: Exception) -> str:
        text = str(exc)
        fields: dict[str, object] = {"prometheus": self.url, "query": query}
        status = _STATUS.search(text)
        if status:
            fields["http_status"] = status.group(1)
        error_type, error = _api_error(text)
        if error is not None:
            fields["error_type"] = error_type
            fields["error"] = error
        else:
            fields["error"] = f"{type(exc).__name__}: {text}"[:500]
        if "maximum resolution" in str(fields["error"]):
            fields["what_to_do"] = "use a larger step or a shorter window"
        elif status:
            fields["what_to_do"] = "check the query and the metric names in the SLO file"
        else:
            fields["what_to_do"] = (
                "check that Prometheus runs at this URL, and the credentials and TLS settings"
            )
        return explain(what, **fields)


def _api_error(text: str) -> tuple[str | None, str | None]:
    """Prometheus's ``errorType`` and ``error`` from prometheus_api_client's exception text."""
    body: object = None
    literal = _BODY.search(text)
    if literal:
        try:
            raw = ast.literal_eval(literal.group(1))
            body = json.loads(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)
        except (ValueError, SyntaxError):
            body = None
    if isinstance(body, dict) and "error" in body:
        return str(body.get("errorType")), str(body["error"])
    found = _ERROR_TEXT.search(text)
    if found:
        return found.group(1), found.group(2)
    return None, None


def _number(text: object) -> float:
    try:
        return float(str(text))
    except ValueError:
        return math.nan


Answer = tuple[int, bytes | str]


class RecordedAnswers(BaseAdapter):
    """A ``requests`` transport answering from recorded Prometheus API responses.

    ``answer(path, params)`` gets the API path (``/api/v1/query``) and the form parameters and
    returns ``(status code, body)``. Every request is kept in ``requests_seen``.
    """

    def __init__(self, answer: Callable[[str, Mapping[str, str]], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.requests_seen: list[tuple[str, dict[str, str]]] = []
        self.headers_seen: list[dict[str, str]] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        """Answer one request from the recording."""
        parts = urlsplit(request.url or "")
        params = dict(parse_qsl(parts.query))
        body = request.body
        if isinstance(body, bytes):
            params.update(parse_qsl(body.decode()))
        elif isinstance(body, str):
            params.update(parse_qsl(body))
        self.requests_seen.append((parts.path, params))
        self.headers_seen.append({k: str(v) for k, v in request.headers.items()})
        status, payload = self.answer(parts.path, params)
        response = requests.Response()
        response.status_code = status
        response._content = payload.encode() if isinstance(payload, str) else payload
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""
