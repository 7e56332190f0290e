"""The traffic model: a seeded generator of the requests a ``traffic:`` declaration describes.

Pure (no Locust, no I/O). ``TrafficModel(spec, seed)`` compiles the declaration once: each
request's path and JSON body become format strings whose slots index the drawn values directly
(four forms per ``{param}``), its headers (auth included) one dict, its weights a cumulative
table, a body without parameters its bytes, so planning a request is a few draws and two
``str.format`` calls (the load generator plans one per request: this is its hot path).
``next()`` plans the next request of the mix (health probes at their share of the rate);
``settle()`` reads a successful answer to remember captured values
(``{from: REQUEST, json: FIELD}``) and to name the business counter series it moved
(``(metric, "label=value,...")``). The open-model driver, the classic ``load/locustfile.py`` and
the gate's business checks all use it.

Every request is named by its declared name (by default ``METHOD path-template``), never by its
raw URL, so per-request statistics line up with the server's ``http_route`` label. An answer
whose status is not declared as success is an error with a cause that says so
(``cause()``: ``unexpected status 200 (expected 202) on POST /v1/...``,
``404 Not Found on GET /api/v2/ledger/{id}``).

A Python class can stand in for the declared model (``--traffic-class module:Class``): it is
built as ``Class(spec, seed=...)`` and must offer ``next()``, ``plan(name)`` and ``settle()`` as
here (``TrafficSource``).
"""

from __future__ import annotations

import importlib
import json
import random
import uuid
from bisect import bisect
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import quote

from hypersync_slo.errors import ConfigError
from hypersync_slo.traffic_spec import (
    PLACEHOLDER,
    AnswerLabel,
    ParamSpec,
    RequestSpec,
    TrafficSpec,
)

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
GET_HEADERS = {"Accept": "application/json"}
#: Captured values remembered per capturing parameter (the oldest are forgotten).
REMEMBER = 1024

#: A drawn value in its four forms: (text, JSON, text inside a JSON string, URL path segment).
Value = tuple[Any, str, str, str]
#: The forms' positions in a ``Value`` (the drawn values of a request are kept flat, ``FORMS``
#: entries per parameter, so that format slots index them directly).
TEXT, JSON_FORM, INNER, SEGMENT = 0, 1, 2, 3
FORMS = 4
_decode_json = json.JSONDecoder().decode


def _orjson() -> Callable[[bytes], Any] | None:
    """orjson's ``loads`` (the load extra: an answer's JSON in a quarter of json's time)."""
    try:
        from orjson import loads  # noqa: PLC0415 - optional: the gate's install has no orjson
    except ImportError:
        return None
    return loads


_orjson_loads = _orjson()


def _loads(body: bytes) -> Any:
    """The JSON of an answer's body, as ``json.loads`` reads it; raises ``ValueError`` as it does.

    With orjson installed it reads first; whatever it refuses (NaN, integers beyond 64 bits,
    UTF-16, a byte-order mark, ...) goes to ``json.loads``, whose answer is the answer. Without
    it, UTF-8 is decoded without ``json.loads``'s encoding detection.
    """
    try:
        if _orjson_loads is not None:
            try:
                return _orjson_loads(body)
            except ValueError:
                return json.loads(body)
        try:
            return _decode_json(body.decode())
        except ValueError:
            return json.loads(body)  # UTF-16/32 or a BOM: what json.loads accepts
    except RecursionError as exc:  # json's answer to deep nesting; an unreadable answer here
        raise ValueError("the answer's JSON is nested too deeply") from exc


def _forms(raw: Any) -> Value:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    encoded = json.dumps(raw)
    inner = encoded[1:-1] if isinstance(raw, str) else encoded
    return text, encoded, inner, quote(text, safe="")


@dataclass(slots=True)
class PlannedRequest:
    """One request to send: its name, method, path, body, headers and what success is.

    Treat it as read-only. Not frozen: a frozen dataclass is built through one
    ``object.__setattr__`` per field, five times the cost of this one, and the load generator
    plans one per request. ``values`` holds the drawn parameter values, ``FORMS`` entries per
    parameter in declaration order (text, JSON, inside a JSON string, URL segment), when the
    counter's labels need them.
    """

    name: str
    method: str
    path: str
    body: bytes | None
    expect: tuple[int, ...]
    headers: Mapping[str, str]
    compiled: CompiledRequest | None = None
    values: Sequence[Any] = ()


class TrafficSource(Protocol):
    """What the driver, the locustfile and the gate need from a traffic model."""

    def next(self) -> PlannedRequest:
        """Plan the next request of the mix."""
        ...

    def plan(self, name: str) -> PlannedRequest:
        """Plan one request by its declared name."""
        ...

    def settle(self, request: PlannedRequest, status: int, body: bytes) -> tuple[str, str] | None:
        """The business counter series a successful answer moved, as (metric, labels)."""
        ...


class CompiledRequest:
    """A declared request turned into format strings and draw functions (built once)."""

    __slots__ = (
        "body_bytes",
        "body_fmt",
        "body_slots",
        "capture_into",
        "causes",
        "draws",
        "expect",
        "headers",
        "label_slots",
        "method",
        "missing",
        "name",
        "needs_json",
        "path_fmt",
        "path_slots",
        "spec",
    )

    def __init__(self, spec: RequestSpec, headers: Mapping[str, str]) -> None:
        self.spec = spec
        self.name = spec.name
        self.method = spec.method
        self.expect = spec.expect
        self.headers = dict(headers)
        names = list(spec.params)
        index = {n: i for i, n in enumerate(names)}
        self.draws: list[Callable[[], Value | None]] = []
        self.missing: list[int] = []  # capture params: index into the model's request list
        self.path_fmt, self.path_slots = _template(spec.path, index, SEGMENT)
        self.body_fmt: str | None = None
        self.body_slots: tuple[tuple[int, int], ...] = ()
        self.body_bytes: bytes | None = None  # a body without parameters, built once
        if spec.body is not None:
            self.body_fmt, self.body_slots = _body_template(spec.body, index)
            if not self.body_slots:
                self.body_bytes = self.body_fmt.format().encode()
        #: (label, AnswerLabel and its JSON path) or (label, (format string, slots)).
        self.label_slots: tuple[tuple[str, Any], ...] = ()
        if spec.counter is not None:
            slots: list[tuple[str, Any]] = []
            for label in sorted(spec.counter.labels):
                value = spec.counter.labels[label]
                if isinstance(value, AnswerLabel):
                    slots.append((label, (value, tuple(value.json_field.split(".")))))
                else:
                    slots.append((label, _template(value, index, TEXT)))
            self.label_slots = tuple(slots)
        self.needs_json = any(isinstance(v[0], AnswerLabel) for _l, v in self.label_slots)
        self.capture_into: list[tuple[tuple[str, ...], deque[Any]]] = []
        self.causes: dict[int, str] = {}

    def cause(self, status: int) -> str:
        """The error cause of an answer with an undeclared status (built once per status)."""
        found = self.causes.get(status)
        if found is None:
            found = self.causes[status] = status_cause(self.name, status, self.expect)
        return found


def status_cause(name: str, status: int, expect: tuple[int, ...]) -> str:
    """``404 Not Found on GET /x/{id}`` or ``unexpected status 200 (expected 202) on POST /y``."""
    if status >= 400:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        return f"{status} {phrase} on {name}"
    wanted = " or ".join(map(str, expect))
    return f"unexpected status {status} (expected {wanted}) on {name}"


def _template(text: str, index: Mapping[str, int], form: int) -> tuple[str, tuple[int, ...]]:
    """``text`` as a format string over the flat drawn values (the ``form`` of each ``{param}``),
    and the param index of each slot."""
    out: list[str] = []
    slots: list[int] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        out.append(text[last : match.start()].replace("{", "{{").replace("}", "}}"))
        param = index[match.group(1)]
        out.append(f"{{{param * FORMS + form}}}")
        slots.append(param)
        last = match.end()
    out.append(text[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(out), tuple(slots)


def _body_template(body: Any, index: Mapping[str, int]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A JSON body as a format string over the flat drawn values: ``"{p}"`` keeps p's JSON type
    (its JSON form), ``"a {p}"`` interpolates (its form inside a JSON string)."""
    slots: list[tuple[int, int]] = []

    def esc(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    def walk(value: Any) -> str:
        if isinstance(value, dict):
            items = (f"{esc(json.dumps(k))}:{walk(v)}" for k, v in value.items())
            return "{{" + ",".join(items) + "}}"
        if isinstance(value, list):
            return "[" + ",".join(walk(v) for v in value) + "]"
        if isinstance(value, str) and PLACEHOLDER.search(value):
            whole = PLACEHOLDER.fullmatch(value)
            if whole:
                slots.append((index[whole.group(1)], JSON_FORM))
                return f"{{{slots[-1][0] * FORMS + JSON_FORM}}}"
            parts: list[str] = ['"']
            last = 0
            for match in PLACEHOLDER.finditer(value):
                parts.append(esc(json.dumps(value[last : match.start()])[1:-1]))
                slots.append((index[match.group(1)], INNER))
                parts.append(f"{{{slots[-1][0] * FORMS + INNER}}}")
                last = match.end()
            parts.append(esc(json.dumps(value[last:])[1:-1]) + '"')
            return "".join(parts)
        return esc(json.dumps(value))

    return walk(body), tuple(slots)


def _drawer(param: ParamSpec, rng: random.Random) -> Callable[[], Value]:
    """A function drawing one value of a (non-capture) parameter in its four forms."""
    rand = rng.random
    if param.kind == "values":
        forms = tuple(_forms(v) for v in param.values)
        if param.weights:
            cum: list[float] = []
            total = 0.0
            for weight in param.weights:
                total += weight
                cum.append(total)
            last = len(forms) - 1

            def weighted() -> Value:
                return forms[min(last, bisect(cum, rand() * total))]

            return weighted
        if len(forms) == 1:
            only = forms[0]
            return lambda: only
        count = len(forms)  # int(random() * n): random.choice's rejection loop costs 3x
        return lambda: forms[int(rand() * count)]
    if param.kind == "int":
        low, span = int(param.low), int(param.high) - int(param.low) + 1

        def integer() -> Value:
            text = str(low + int(rand() * span))
            return text, text, text, text

        return integer
    if param.kind == "float":
        flow, fspan = param.low, param.high - param.low

        def number() -> Value:
            # random.uniform inline, rounded to 3 decimals (round(x, 3) goes through a decimal
            # string: 5x slower than the nearest double to k / 1000)
            text = repr(round((flow + fspan * rand()) * 1000) / 1000)
            return text, text, text, text

        return number
    if param.kind == "uuid":
        bits = rng.getrandbits

        def fresh_uuid() -> Value:
            text = str(uuid.UUID(int=bits(128), version=4))
            return text, f'"{text}"', text, text

        return fresh_uuid
    counter = [int(param.low) - 1]

    def sequence() -> Value:
        counter[0] += 1
        text = str(counter[0])
        return text, text, text, text

    return sequence


def _field(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


class TrafficModel:
    """A seeded generator of the declared requests, following their weights."""

    def __init__(
        self,
        spec: TrafficSpec | None = None,
        seed: int | str = 0,
        *,
        auth_header: tuple[str, str] | None = None,
        remember: int = REMEMBER,
    ) -> None:
        self.spec = spec or TrafficSpec.default()
        self._rng = rng = random.Random(f"hypersync-traffic:{seed}")
        self._random = rng.random
        requests = list(self.spec.requests)
        weights = [r.weight for r in requests]
        declared = sum(weights)
        if self.spec.health_share > 0:
            requests.append(
                RequestSpec(name=self.spec.health_name, method="GET", path=self.spec.health_path)
            )
            weights.append(declared * self.spec.health_share / (1.0 - self.spec.health_share))
        self.requests: list[CompiledRequest] = []
        for spec_request in requests:
            headers = dict(JSON_HEADERS if spec_request.has_body else GET_HEADERS)
            headers.update(spec_request.headers)
            if auth_header is not None:
                headers[auth_header[0]] = auth_header[1]
            self.requests.append(CompiledRequest(spec_request, headers))
        self.by_name = {c.name: c for c in self.requests}
        self.captured: dict[tuple[str, tuple[str, ...]], deque[Any]] = {}
        for compiled in self.requests:
            for param in compiled.spec.params.values():
                if param.kind == "capture":
                    path = tuple(param.json_field.split("."))
                    key = (param.source, path)
                    store = self.captured.get(key)
                    if store is None:
                        store = self.captured[key] = deque(maxlen=remember)
                        self.by_name[param.source].capture_into.append((path, store))
                    compiled.draws.append(self._capture_drawer(store))
                    compiled.missing.append(requests.index(self.spec.request(param.source)))
                else:
                    compiled.draws.append(_drawer(param, rng))
                    compiled.missing.append(-1)
        for compiled in self.requests:
            if compiled.capture_into:
                compiled.needs_json = True
        self._cum: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            self._cum.append(total)
        self._total = total
        self._last = len(self.requests) - 1

    def _capture_drawer(self, store: deque[Any]) -> Callable[[], Value | None]:
        rand = self._rng.random

        def captured() -> Value | None:
            return store[int(rand() * len(store))] if store else None

        return captured

    @property
    def names(self) -> tuple[str, ...]:
        """Every request name of the mix, the health probe included."""
        return tuple(c.name for c in self.requests)

    def next(self) -> PlannedRequest:
        """Plan the next request of the mix."""
        compiled = self.requests[min(self._last, bisect(self._cum, self._random() * self._total))]
        return self._plan(compiled, 0)

    def plan(self, name: str) -> PlannedRequest:
        """Plan one request by name (a capture with nothing captured yet plans its source)."""
        compiled = self.by_name.get(name)
        if compiled is None:
            raise ConfigError(f"traffic: no declared request is named {name!r}.")
        return self._plan(compiled, 0)

    def _plan(self, compiled: CompiledRequest, depth: int) -> PlannedRequest:
        values: list[Any] = []  # flat: FORMS entries per parameter, what the slots index
        for draw in compiled.draws:
            value = draw()
            if value is None:  # nothing captured yet: send the request that provides it
                source = compiled.missing[len(values) // FORMS]
                return self._plan(self.requests[source], depth + 1)
            values += value
        path = compiled.path_fmt.format(*values) if compiled.path_slots else compiled.path_fmt
        body = compiled.body_bytes
        if body is None and compiled.body_fmt is not None:
            body = compiled.body_fmt.format(*values).encode()
        return PlannedRequest(
            compiled.name,
            compiled.method,
            path,
            body,
            compiled.expect,
            compiled.headers,
            compiled,
            values if compiled.label_slots else (),
        )

    def settle(self, request: PlannedRequest, status: int, body: bytes) -> tuple[str, str] | None:
        """Remember captured values; the counter series a successful answer moved, else None.

        Returns ``(metric, "label=value,...")`` (labels sorted by name; ``""`` without labels).
        An answer with an undeclared status, or whose body lacks a label read from it (and no
        default), counts nothing.
        """
        compiled = request.compiled
        if compiled is None or status not in request.expect:
            return None
        data: Any = None
        if compiled.needs_json:
            try:
                data = _loads(body)
            except ValueError:
                data = None
            for path, store in compiled.capture_into:
                value = _field(data, path)
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    store.append(_forms(value))
        counter = compiled.spec.counter
        if counter is None:
            return None
        labels = self._labels(request, data)
        if labels is None:
            return None
        return counter.metric, ",".join([f"{label}={text}" for label, text in labels])

    def series(
        self, request: PlannedRequest, status: int, body: bytes
    ) -> tuple[str, dict[str, str]] | None:
        """Like ``settle`` (captures included) but the labels as a dict: ``(metric, labels)``."""
        compiled = request.compiled
        if compiled is None or compiled.spec.counter is None:
            self.settle(request, status, body)
            return None
        if self.settle(request, status, body) is None:
            return None
        try:
            data = _loads(body) if compiled.needs_json else None
        except ValueError:
            data = None
        labels = self._labels(request, data)
        return (compiled.spec.counter.metric, dict(labels)) if labels is not None else None

    @staticmethod
    def _labels(request: PlannedRequest, data: Any) -> list[tuple[str, str]] | None:
        """The counter labels of a successful answer (None: a label the answer must give
        is missing and has no default)."""
        compiled = request.compiled
        assert compiled is not None
        out: list[tuple[str, str]] = []
        for label, slot in compiled.label_slots:
            first, second = slot
            if isinstance(first, AnswerLabel):
                value = _field(data, second)
                if value is None or isinstance(value, dict | list):
                    if first.default is None:
                        return None
                    value = first.default
                text = value if isinstance(value, str) else json.dumps(value)
            else:
                text = first.format(*request.values) if second else first
            out.append((label, text))
        return out


def load_traffic_class(
    target: str, spec: TrafficSpec, seed: int | str, auth_header: tuple[str, str] | None
) -> TrafficSource:
    """Build ``module:Class`` (``--traffic-class``) as ``Class(spec, seed=..., auth_header=...)``."""
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"--traffic-class: expected module:Class, got {target!r}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--traffic-class: cannot import {module_name!r}: {exc}.") from exc
    cls = getattr(module, class_name, None)
    if cls is None or not callable(cls):
        raise ConfigError(f"--traffic-class: {module_name!r} has no class {class_name!r}.")
    source = cls(spec, seed=seed, auth_header=auth_header)
    for method in ("next", "plan", "settle"):
        if not callable(getattr(source, method, None)):
            raise ConfigError(f"--traffic-class: {target} has no {method}() method.")
    return source  # type: ignore[no-any-return]


def make_model(
    spec: TrafficSpec,
    seed: int | str,
    *,
    environ: Mapping[str, str] | None = None,
    traffic_class: str | None = None,
) -> TrafficSource:
    """The traffic model for ``spec`` (auth token read from ``environ``), or the given class."""
    auth_header = None
    if spec.auth is not None:
        auth_header = (spec.auth.header, spec.auth.header_value(environ or {}))
    if traffic_class:
        return load_traffic_class(traffic_class, spec, seed, auth_header)
    return TrafficModel(spec, seed, auth_header=auth_header)


def counter_name(metric: str, catalogue: Callable[[str], str]) -> str:
    """The metric name of a declared counter: a catalogue role's name, else the name itself."""
    try:
        return catalogue(metric)
    except ConfigError:
        return metric
