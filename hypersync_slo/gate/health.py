"""The health+json body rules of docs/contracts.md §1, as pure functions over parsed JSON.

``schema_problems`` checks a body against the schema of the research checklist (section 1.3,
stricter than the IETF draft: lowercase status, ``status`` on every check, ``observedUnit``
with ``observedValue``); ``worst`` is the aggregation rule; ``failing_required`` lists the
required dependencies a body reports as ``fail``.
"""

from __future__ import annotations

import re
from typing import Any

from hypersync_slo.gate.client import Answer
from hypersync_slo.gate.contracts import violation
from hypersync_slo.timestamps import parse_rfc3339

STATUSES = ("pass", "warn", "fail")
_RANK = {"pass": 0, "warn": 1, "fail": 2}
HEALTH_MEDIA_TYPES = ("application/health+json", "application/json")
_CHECK_KEY = re.compile(r"^[^:]+(:[^:]+)?$")


def worst(statuses: list[str]) -> str:
    """The worst of pass < warn < fail (pass for none)."""
    return max(statuses, key=lambda s: _RANK.get(s, 2), default="pass")


def expected_code(status: str) -> int:
    """The HTTP status a body status calls for: 200 for pass/warn, 503 for fail."""
    return 503 if status == "fail" else 200


def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except ValueError:
        return False
    return "T" in value


def schema_problems(body: object, *, require_time: bool = False) -> list[str]:
    """Every way ``body`` breaks the health+json schema (empty when it conforms)."""
    if not isinstance(body, dict):
        return [f"the body is a JSON {type(body).__name__}, not an object"]
    problems: list[str] = []
    status = body.get("status")
    if status not in STATUSES:
        problems.append(f"top-level status is {status!r}, not one of pass/warn/fail")
    checks = body.get("checks", {})
    if not isinstance(checks, dict):
        return [*problems, f"'checks' is a {type(checks).__name__}, not an object"]
    for key, entries in checks.items():
        if not _CHECK_KEY.match(key):
            problems.append(f"check key {key!r} is not 'component' or 'component:measurement'")
        if not isinstance(entries, list) or not entries:
            problems.append(f"checks[{key!r}] is not a non-empty array of check objects")
            continue
        for i, entry in enumerate(entries):
            problems.extend(_entry_problems(entry, f"checks[{key!r}][{i}]", require_time))
    return problems


def _entry_problems(entry: object, where: str, require_time: bool) -> list[str]:
    """Every way one check object breaks the schema."""
    if not isinstance(entry, dict):
        return [f"{where} is not an object"]
    problems: list[str] = []
    if entry.get("status") not in STATUSES:
        problems.append(f"{where}.status is {entry.get('status')!r}, not pass/warn/fail")
    if "observedValue" in entry and not isinstance(entry.get("observedUnit"), str):
        problems.append(f"{where} has observedValue without observedUnit")
    for text_field in ("componentType", "componentId", "observedUnit", "output"):
        if text_field in entry and not isinstance(entry[text_field], str):
            problems.append(f"{where}.{text_field} is not a string")
    if "time" in entry and not _is_time(entry["time"]):
        problems.append(f"{where}.time {entry['time']!r} is not an RFC 3339 date-time")
    elif require_time and "time" not in entry:
        problems.append(f"{where} has no 'time'")
    if "required" in entry and not isinstance(entry["required"], bool):
        problems.append(f"{where}.required is not true/false")
    return problems


def check_statuses(body: dict[str, Any], *, required_only: bool = False) -> dict[str, str]:
    """``{check key: worst status of its entries}`` (optionally only required checks)."""
    out: dict[str, str] = {}
    for key, entries in (body.get("checks") or {}).items():
        if not isinstance(entries, list):
            continue
        statuses = [
            e.get("status", "fail")
            for e in entries
            if isinstance(e, dict) and (not required_only or e.get("required", True) is not False)
        ]
        if statuses:
            out[key] = worst(statuses)
    return out


def failing_required(body: dict[str, Any]) -> list[str]:
    """Keys of required checks that report ``fail``."""
    return [k for k, s in check_statuses(body, required_only=True).items() if s == "fail"]


def health_json(answer: Answer, promise: str) -> dict[str, Any]:
    """The answer's JSON object, or ``ContractViolation`` (H-09) naming what came instead."""
    problem = None
    data: object = None
    if answer.media_type not in HEALTH_MEDIA_TYPES:
        problem = f"Content-Type {answer.content_type or '(absent)'}"
    else:
        try:
            data = answer.json()
        except ValueError:
            problem = "a body that is not JSON"
        else:
            if not isinstance(data, dict):
                problem = f"a JSON {type(data).__name__}, not an object"
    if problem is not None:
        raise violation(
            "H-09",
            f"the {promise} body is not health+json.",
            url=f"{answer.method} {answer.url}",
            expected="Content-Type application/health+json (or application/json) with a JSON object",
            observed=f"{problem}; HTTP {answer.status_code}, body: {answer.excerpt()!r}",
        )
    assert isinstance(data, dict)
    return data


def cache_problem(cache_control: str | None) -> str | None:
    """Why a Cache-Control value lets a probe answer be cached, or None."""
    if not cache_control:
        return "no Cache-Control header"
    directives = {d.strip().split("=")[0].lower(): d.strip() for d in cache_control.split(",")}
    if "no-store" in directives:
        return None
    if "no-cache" in directives and directives.get("max-age", "max-age=0") == "max-age=0":
        return None
    return f"Cache-Control {cache_control!r} has neither no-store nor no-cache with max-age=0"


def cacheability_warning(path: str, answer: Answer) -> str | None:
    """The H-08 warning text when ``answer`` (of ``path``) may be cached, or None."""
    cache_control = answer.headers.get("cache-control")
    problem = cache_problem(cache_control)
    if problem is None:
        return None
    return (
        f"H-08 {path} is cacheable: {problem}\n"
        f"url: GET {answer.url}\n"
        "expected: Cache-Control: no-store\n"
        f"observed: Cache-Control: {cache_control or '(absent)'}"
    )
