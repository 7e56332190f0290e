"""The traffic declaration: which requests a deployment takes, what success is, what they count.

The ``traffic:`` section of the SLO file (or a file of its own, ``--traffic FILE``) declares the
requests of the load mix, once, for every part that sends traffic: the open-model driver, the
classic ``load/locustfile.py``, the gate's business (B-01), tracing and request-ID checks, and
the reconciliation of business counters. ``TrafficSpec.from_mapping`` validates it completely
before any request is sent: every refusal is a ``ConfigError`` (exit 7) whose sentence names the
key (``traffic.requests[2].params.id``), never a traceback::

    traffic:
      requests:
        - name: "POST /api/v2/ops/{op}:run"   # the name in every result (default: METHOD path)
          method: POST
          path: "/api/v2/ops/{op}:run"
          params:
            op: [transform, aggregate]                     # one of a list
            rows: {int: [1, 50]}                           # int, float, uuid, sequence
            id: {from: "POST /api/v2/ledger", json: id}    # captured from an earlier answer
          body: {"rows": "{rows}"}            # JSON; a string that is exactly "{p}" keeps p's type
          headers: {"X-Tenant": "t1"}
          weight: 60
          expect: [202]                        # statuses that count as success
          counter: {metric: ops_total, labels: {op: "{op}", outcome: {json: outcome}}}
      auth: {header: Authorization, scheme: Bearer, token_env: HS_TOKEN}
      health: {share: 3%, path: /health/ready}
      probe: "GET /api/v2/ledger"              # the request the tracing/request-ID checks send

Foundation layer: imports only ``errors``, ``yamlfiles`` and ``redaction`` (the token is read through
``redaction.secret_from_env``, so it is validated and masked like every secret); the compiled, seeded generator that draws from a
declaration lives in ``traffic.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from hypersync_slo.errors import ConfigError
from hypersync_slo.redaction import secret_from_env
from hypersync_slo.yamlfiles import load_yaml, read_text_file

ParamKind = Literal["values", "int", "float", "uuid", "sequence", "capture"]
PARAM_KINDS: tuple[str, ...] = ("values", "int", "float", "uuid", "sequence", "from")

#: ``{name}`` inside a path, a body string or a counter label.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_FIELD = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
#: A JSON body, a header value or a label value longer than this is refused (typo guard).
MAX_TEXT = 65536
DEFAULT_HEALTH_SHARE = 0.03
DEFAULT_HEALTH_PATH = "/health/ready"

_TOP_KEYS = ("requests", "auth", "health", "probe")
_REQUEST_KEYS = (
    "name",
    "method",
    "path",
    "params",
    "body",
    "headers",
    "weight",
    "expect",
    "counter",
)
_AUTH_KEYS = ("header", "scheme", "token_env")
_HEALTH_KEYS = ("share", "path")
_COUNTER_KEYS = ("metric", "labels")


@dataclass(frozen=True)
class ParamSpec:
    """How one ``{param}`` is drawn for each request."""

    name: str
    kind: ParamKind
    values: tuple[Any, ...] = ()
    weights: tuple[float, ...] = ()
    low: float = 0.0
    high: float = 0.0
    source: str = ""  # capture: the request whose answer gives the value
    json_field: str = ""  # capture: the (dotted) JSON field of that answer


@dataclass(frozen=True)
class AnswerLabel:
    """A counter label read from the answer's JSON (``{json: decision, default: allow}``)."""

    json_field: str
    default: str | None = None


@dataclass(frozen=True)
class CounterSpec:
    """The business counter a successful request moves, and the labels of the moved series.

    ``metric`` is a role of the SLO file's metric catalogue (``operator_executions``) or a metric
    name; a label value is a literal, a ``{param}`` template, or read from the answer.
    """

    metric: str
    labels: Mapping[str, str | AnswerLabel] = field(default_factory=dict)

    @property
    def label_names(self) -> tuple[str, ...]:
        """The label names, sorted (the server groups the counter by these)."""
        return tuple(sorted(self.labels))


@dataclass(frozen=True)
class RequestSpec:
    """One declared request of the mix."""

    name: str
    method: str
    path: str
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    weight: float = 1.0
    expect: tuple[int, ...] = (200,)
    counter: CounterSpec | None = None

    @property
    def has_body(self) -> bool:
        """Whether the request sends a JSON body."""
        return self.body is not None

    @property
    def captures(self) -> tuple[str, ...]:
        """Names of the requests whose answers this one's parameters are captured from."""
        return tuple(p.source for p in self.params.values() if p.kind == "capture")


@dataclass(frozen=True)
class AuthSpec:
    """Where the token goes and which environment variable holds it (never the token itself)."""

    token_env: str
    header: str = "Authorization"
    scheme: str = "Bearer"

    def header_value(self, environ: Mapping[str, str]) -> str:
        """The header's value from ``environ`` (the token registered as a secret, so it is masked
        in every output); a ``UsageError`` naming the variable, never the value, when it is
        unset or a header cannot carry it."""
        token = secret_from_env(environ, self.token_env, required=True)
        return f"{self.scheme} {token}" if self.scheme else str(token)


@dataclass(frozen=True)
class TrafficSpec:
    """The declared traffic: requests, auth, the health-probe share and the gate's probe."""

    requests: tuple[RequestSpec, ...]
    auth: AuthSpec | None = None
    health_share: float = DEFAULT_HEALTH_SHARE
    health_path: str = DEFAULT_HEALTH_PATH
    probe: str | None = None
    source: str = "<traffic>"

    @property
    def health_name(self) -> str:
        """The result name of the health probe (``GET /health/ready``)."""
        return f"GET {self.health_path}"

    def request(self, name: str) -> RequestSpec:
        """The declared request called ``name``."""
        for spec in self.requests:
            if spec.name == name:
                return spec
        raise ConfigError(f"traffic: no declared request is named {name!r}.")

    @property
    def probe_request(self) -> RequestSpec | None:
        """The request the gate's tracing and request-ID checks send.

        ``probe:`` when given, else the first GET without captured parameters, else None (the
        checks then use the health path).
        """
        if self.probe is not None:
            return self.request(self.probe)
        for spec in self.requests:
            if spec.method == "GET" and not spec.captures:
                return spec
        return None

    @property
    def route_regex(self) -> str:
        """A regex matching exactly the declared path templates (the KPIs' default routes)."""
        paths = sorted({r.path for r in self.requests})
        return "|".join(re.escape(p).replace("\\/", "/") for p in paths)

    @property
    def counted(self) -> tuple[RequestSpec, ...]:
        """The requests that declare a business counter, in declaration order."""
        return tuple(r for r in self.requests if r.counter is not None)

    def with_auth_env(self, variable: str) -> TrafficSpec:
        """This traffic with its token read from ``variable`` (``--auth-env``; header and scheme
        from ``traffic.auth`` when declared, else ``Authorization: Bearer``)."""
        if not _ENV.match(variable):
            raise ConfigError(
                f"--auth-env: expected the name of an environment variable, got {variable!r}."
            )
        auth = self.auth or AuthSpec(token_env=variable)
        return replace(self, auth=replace(auth, token_env=variable))

    @classmethod
    def default(cls) -> TrafficSpec:
        """The traffic of the packaged SLO file (the reference HyperSync mix)."""
        return _packaged_default()

    @classmethod
    def load(cls, path: str | Path) -> TrafficSpec:
        """Read a traffic file: a YAML mapping with a ``traffic:`` key, or the section itself."""
        p = Path(path)
        data = load_yaml(read_text_file(p, what="traffic file"), source=str(p))
        if isinstance(data, dict) and set(data) == {"traffic"}:
            data = data["traffic"]
        try:
            return cls.from_mapping(data, source=str(p))
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from exc

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "<traffic>") -> TrafficSpec:
        """Validate a parsed ``traffic:`` section (refusals name the key, exit 7)."""
        top = _dict(data, "traffic")
        _known(top, _TOP_KEYS, "traffic")
        raw_requests = top.get("requests")
        if not isinstance(raw_requests, list) or not raw_requests:
            raise ConfigError(
                "traffic.requests: declare at least one request, as a list of mappings with "
                "method, path, weight and expect."
            )
        requests = tuple(
            _request(item, f"traffic.requests[{i}]") for i, item in enumerate(raw_requests)
        )
        names = [r.name for r in requests]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(
                    f"traffic.requests[{i}].name: {name!r} is declared twice; names must be unique "
                    "(they name the results)."
                )
        for i, spec in enumerate(requests):
            for param in spec.params.values():
                if param.kind == "capture" and param.source not in names:
                    raise ConfigError(
                        f"traffic.requests[{i}].params.{param.name}.from: {param.source!r} is not "
                        f"a declared request; declared: {', '.join(map(repr, names))}."
                    )
                if param.kind == "capture" and param.source == spec.name:
                    raise ConfigError(
                        f"traffic.requests[{i}].params.{param.name}.from: a request cannot "
                        "capture from its own answer."
                    )
        _refuse_cycles(requests)
        total = math.fsum(r.weight for r in requests)
        if not total > 0:
            raise ConfigError(
                "traffic.requests: the weights add up to 0; give at least one request a "
                "positive weight."
            )
        auth = _auth(top["auth"]) if top.get("auth") is not None else None
        health = _dict(top.get("health") or {}, "traffic.health")
        _known(health, _HEALTH_KEYS, "traffic.health")
        share = _share(health.get("share", DEFAULT_HEALTH_SHARE), "traffic.health.share")
        path = health.get("path", DEFAULT_HEALTH_PATH)
        if not isinstance(path, str) or not path.startswith("/") or PLACEHOLDER.search(path):
            raise ConfigError(
                f"traffic.health.path: expected a fixed path starting with '/', got {path!r}."
            )
        if f"GET {path}" in names:
            raise ConfigError(
                f"traffic.health.path: 'GET {path}' is also a declared request; drop it from "
                "traffic.requests (health probes are added at traffic.health.share)."
            )
        probe = top.get("probe")
        if probe is not None and (not isinstance(probe, str) or probe not in names):
            raise ConfigError(
                f"traffic.probe: {probe!r} is not a declared request; declared: "
                f"{', '.join(map(repr, names))}."
            )
        if probe is not None and requests[names.index(probe)].captures:
            raise ConfigError(
                f"traffic.probe: {probe!r} captures a parameter from another answer; the probe "
                "must be sendable on its own."
            )
        return cls(
            requests=requests,
            auth=auth,
            health_share=share,
            health_path=path,
            probe=probe,
            source=source,
        )


def _packaged_default() -> TrafficSpec:
    global _DEFAULT  # noqa: PLW0603  (parsed once per process, immutable)
    if _DEFAULT is None:
        text = resources.files("hypersync_slo").joinpath("data/slo.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        _DEFAULT = TrafficSpec.from_mapping(data["traffic"], source="<default slo.yaml>")
    return _DEFAULT


_DEFAULT: TrafficSpec | None = None


# -- parsing helpers ---------------------------------------------------------------------------


def _dict(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {_kind(value)}.")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{where}: key {key!r} is not a string.")
    return value


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _known(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        if where == "traffic.auth" and "token" in unknown:
            raise ConfigError(
                "traffic.auth.token: never put a token in the file; name the environment "
                "variable that holds it with token_env."
            )
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; known keys are {', '.join(known)}.")


def _text(value: object, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}.")
    if len(value) > MAX_TEXT or any(c in value for c in "\r\n\0"):
        raise ConfigError(f"{where}: the text is too long or holds a line break or NUL.")
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}.")
    return number


def _share(value: object, where: str) -> float:
    if isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        try:
            number = float(text.removesuffix("%"))
        except ValueError:
            raise ConfigError(
                f"{where}: cannot read {value!r}; write it like '3%' or 0.03."
            ) from None
        if percent:
            number /= 100.0
    else:
        number = _number(value, where)
    if not (math.isfinite(number) and 0.0 <= number < 1.0):
        raise ConfigError(
            f"{where}: a share lies in [0, 1) (0 turns health probes off), got {value!r}."
        )
    return number


def _request(item: object, where: str) -> RequestSpec:
    data = _dict(item, where)
    _known(data, _REQUEST_KEYS, where)
    method = _method(data.get("method", "GET"), f"{where}.method")
    path = _path(data.get("path"), f"{where}.path")
    name = data.get("name", f"{method} {path}")
    name = _text(name, f"{where}.name")
    params = _params(data.get("params") or {}, f"{where}.params")
    body = data.get("body")
    if body is not None:
        _check_json(body, f"{where}.body")
    headers = _headers(data.get("headers") or {}, f"{where}.headers")
    weight = _number(data.get("weight", 1), f"{where}.weight")
    if weight < 0:
        raise ConfigError(f"{where}.weight: a weight cannot be negative, got {weight:g}.")
    expect = _expect(data.get("expect", [200]), f"{where}.expect")
    counter = (
        _counter(data["counter"], f"{where}.counter") if data.get("counter") is not None else None
    )
    for param, key in _placeholders(path, body, counter, where).items():
        if param not in params:
            raise ConfigError(
                f"{key}: {{{param}}} has no values; declare it under {where}.params "
                f"(a list, or int, float, uuid, sequence or from)."
            )
    return RequestSpec(
        name=name,
        method=method,
        path=path,
        params=params,
        body=body,
        headers=headers,
        weight=weight,
        expect=expect,
        counter=counter,
    )


def _method(value: object, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in METHODS:
        raise ConfigError(f"{where}: expected one of {', '.join(METHODS)}, got {value!r}.")
    return value.upper()


def _path(value: object, where: str) -> str:
    path = _text(value, where)
    if not path.startswith("/") or any(c in path for c in " ?#"):
        raise ConfigError(
            f"{where}: expected a path starting with '/' without spaces, query or fragment, "
            f"got {path!r}."
        )
    return path


def _headers(value: object, where: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, raw in _dict(value, where).items():
        if not _HEADER.match(key):
            raise ConfigError(f"{where}.{key}: not a valid header name.")
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ConfigError(f"{where}.{key}: expected a string value, got {raw!r}.")
        headers[key] = _text(str(raw), f"{where}.{key}", allow_empty=True)
        if PLACEHOLDER.search(headers[key]):
            raise ConfigError(f"{where}.{key}: header values are fixed; {{param}} is not allowed.")
    return headers


def _placeholders(
    path: str, body: object, counter: CounterSpec | None, where: str
) -> dict[str, str]:
    """Every ``{param}`` the request uses, with the key of its first use."""
    used: dict[str, str] = {}
    for match in PLACEHOLDER.finditer(path):
        used.setdefault(match.group(1), f"{where}.path")
    for text, key in _body_strings(body, f"{where}.body"):
        for match in PLACEHOLDER.finditer(text):
            used.setdefault(match.group(1), key)
    if counter is not None:
        for label, value in counter.labels.items():
            if isinstance(value, str):
                for match in PLACEHOLDER.finditer(value):
                    used.setdefault(match.group(1), f"{where}.counter.labels.{label}")
    return used


def _expect(value: object, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ConfigError(f"{where}: give at least one status that counts as success.")
    statuses: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise ConfigError(f"{where}: {item!r} is not an HTTP status in 100-599.")
        statuses.append(item)
    return tuple(sorted(set(statuses)))


def _params(value: object, where: str) -> dict[str, ParamSpec]:
    data = _dict(value, where)
    out: dict[str, ParamSpec] = {}
    for name, spec in data.items():
        key = f"{where}.{name}"
        if not _LABEL.match(name):
            raise ConfigError(f"{key}: a parameter name is letters, digits and '_'.")
        out[name] = _param(name, spec, key)
    return out


def _range(value: object, where: str, *, whole: bool) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{where}: expected [low, high], got {value!r}.")
    low, high = (_number(v, where) for v in value)
    if whole and not (float(low).is_integer() and float(high).is_integer()):
        raise ConfigError(f"{where}: int bounds must be whole numbers, got {value!r}.")
    if low > high:
        raise ConfigError(f"{where}: low {low:g} is above high {high:g}.")
    if whole and max(abs(low), abs(high)) > 2**63:
        raise ConfigError(f"{where}: bounds beyond 2^63 are not supported.")
    return low, high


def _scalar(value: object, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            _text(value, where, allow_empty=True)
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ConfigError(f"{where}: expected a string, number, true/false or null, got {value!r}.")


def _param(name: str, spec: object, where: str) -> ParamSpec:
    if isinstance(spec, list):
        spec = {"values": spec}
    data = _dict(spec, where)
    kinds = [k for k in PARAM_KINDS if k in data]
    allowed = {"values": ("values", "weights"), "from": ("from", "json")}
    if len(kinds) != 1:
        raise ConfigError(
            f"{where}: give exactly one of a list, values, int, float, uuid, sequence or from, "
            f"got {sorted(data) or 'nothing'}."
        )
    kind = kinds[0]
    _known(data, allowed.get(kind, (kind,)), where)
    if kind == "values":
        return _values_param(name, data, where)
    if kind in ("int", "float"):
        low, high = _range(data[kind], f"{where}.{kind}", whole=kind == "int")
        return ParamSpec(name, kind, low=low, high=high)  # type: ignore[arg-type]
    if kind == "uuid":
        if data["uuid"] is not True:
            raise ConfigError(f"{where}.uuid: write 'uuid: true'.")
        return ParamSpec(name, "uuid")
    if kind == "sequence":
        return _sequence_param(name, data["sequence"], f"{where}.sequence")
    source = _text(data["from"], f"{where}.from")
    json_field = _text(data.get("json"), f"{where}.json")
    if not _FIELD.match(json_field):
        raise ConfigError(
            f"{where}.json: expected a field such as 'id' or 'data.id', got {json_field!r}."
        )
    return ParamSpec(name, "capture", source=source, json_field=json_field)


def _values_param(name: str, data: Mapping[str, Any], where: str) -> ParamSpec:
    """``values: [...]`` with optional ``weights: [...]``, one per value."""
    raw = data["values"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}.values: a parameter needs at least one value.")
    values = tuple(_scalar(v, f"{where}.values[{i}]") for i, v in enumerate(raw))
    weights: tuple[float, ...] = ()
    if "weights" in data:
        wraw = data["weights"]
        if not isinstance(wraw, list) or len(wraw) != len(values):
            raise ConfigError(f"{where}.weights: give one weight per value ({len(values)}).")
        weights = tuple(_number(w, f"{where}.weights[{i}]") for i, w in enumerate(wraw))
        if any(w < 0 for w in weights) or not math.fsum(weights) > 0:
            raise ConfigError(f"{where}.weights: weights are >= 0 and not all 0.")
    return ParamSpec(name, "values", values=values, weights=weights)


def _sequence_param(name: str, start: object, where: str) -> ParamSpec:
    """``sequence: true`` (from 1) or ``sequence: N``."""
    if start is True:
        start = 1
    if isinstance(start, bool) or not isinstance(start, int) or abs(start) > 2**63:
        raise ConfigError(f"{where}: write 'sequence: true' or a whole start number.")
    return ParamSpec(name, "sequence", low=float(start))


def _counter(value: object, where: str) -> CounterSpec:
    data = _dict(value, where)
    _known(data, _COUNTER_KEYS, where)
    metric = data.get("metric")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise ConfigError(
            f"{where}.metric: expected a metric name or catalogue role, got {metric!r}."
        )
    labels: dict[str, str | AnswerLabel] = {}
    for label, raw in _dict(data.get("labels") or {}, f"{where}.labels").items():
        key = f"{where}.labels.{label}"
        if not _LABEL.match(label) or label.startswith("__"):
            raise ConfigError(f"{key}: not a valid label name.")
        if isinstance(raw, dict):
            spec = _dict(raw, key)
            _known(spec, ("json", "default"), key)
            json_field = _text(spec.get("json"), f"{key}.json")
            default = spec.get("default")
            if default is not None and (
                isinstance(default, bool) or not isinstance(default, str | int | float)
            ):
                raise ConfigError(f"{key}.default: expected a string, got {default!r}.")
            labels[label] = AnswerLabel(json_field, None if default is None else str(default))
        elif isinstance(raw, str | int | float) and not isinstance(raw, bool):
            labels[label] = _text(str(raw), key, allow_empty=True)
        else:
            raise ConfigError(
                f"{key}: expected a value, a '{{param}}' or {{json: FIELD}}, got {raw!r}."
            )
    return CounterSpec(metric, labels)


def _auth(value: object) -> AuthSpec:
    data = _dict(value, "traffic.auth")
    _known(data, _AUTH_KEYS, "traffic.auth")
    env = data.get("token_env")
    if not isinstance(env, str) or not _ENV.match(env):
        raise ConfigError(
            f"traffic.auth.token_env: expected the name of an environment variable, got {env!r}."
        )
    header = data.get("header", "Authorization")
    if not isinstance(header, str) or not _HEADER.match(header):
        raise ConfigError(f"traffic.auth.header: not a valid header name: {header!r}.")
    scheme = data.get("scheme", "Bearer")
    if scheme is None:
        scheme = ""
    if not isinstance(scheme, str) or (scheme and not _HEADER.match(scheme)):
        raise ConfigError(f"traffic.auth.scheme: expected a word such as Bearer, got {scheme!r}.")
    return AuthSpec(token_env=env, header=header, scheme=scheme)


def _check_json(value: object, where: str, depth: int = 0) -> None:
    if depth > 32:
        raise ConfigError(f"{where}: nested deeper than 32 levels.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where}: key {key!r} is not a string (JSON keys are strings).")
            _check_json(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", depth + 1)
    else:
        _scalar(value, where)


def _body_strings(value: object, where: str) -> list[tuple[str, str]]:
    """Every string of a (checked) JSON body, with its key path."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.append((value, where))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(_body_strings(item, f"{where}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_body_strings(item, f"{where}[{i}]"))
    return found


def _refuse_cycles(requests: tuple[RequestSpec, ...]) -> None:
    graph = {r.name: r.captures for r in requests}
    for i, spec in enumerate(requests):
        seen: set[str] = set()
        stack = list(spec.captures)
        while stack:
            name = stack.pop()
            if name == spec.name:
                raise ConfigError(
                    f"traffic.requests[{i}].params: captures form a cycle back to {spec.name!r}; "
                    "the first request of a chain must be sendable on its own."
                )
            if name in seen:
                continue
            seen.add(name)
            stack.extend(graph.get(name, ()))
