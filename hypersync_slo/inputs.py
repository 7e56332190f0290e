"""Total parsers for what the command line hands us: URLs, durations, numbers, header names.

Every parser either returns a valid value or raises ``UsageError`` (exit 2) whose message names
the option and says what was expected; none lets a library exception (``ValueError`` from
``urlsplit``, ``httpx.InvalidURL``) escape as a traceback. URLs are echoed with their userinfo
masked (``redaction.redact_url``). ``argtype`` adapts a parser to argparse's ``type=``.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from hypersync_slo.config import parse_quantity
from hypersync_slo.errors import ConfigError, UsageError, explain
from hypersync_slo.redaction import redact_url, register_url_secrets

T = TypeVar("T")

#: RFC 9110 ``token``: what an HTTP header name may hold.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Longest period a report or an audit may cover (and the longest duration accepted).
MAX_PERIOD = 400 * 86400.0
#: Longest URL accepted on the command line.
MAX_URL_LENGTH = 2048


def http_url(text: object, *, option: str = "URL") -> str:
    """An ``http(s)://host[:port][/path]`` URL without a trailing ``/``; else exit 2.

    Refuses other schemes (``file://``, ``ftp://``, none), a missing host, a port that is not
    a number in 1-65535, unbalanced IPv6 brackets, spaces and control characters.
    """
    raw = "" if text is None else str(text)
    register_url_secrets(raw)
    shown = redact_url(raw)

    def refuse(problem: str) -> UsageError:
        return UsageError(
            explain(
                f"{option} is not an http(s) URL: {problem}.",
                expected="http://host:port or https://host[/path]",
                observed=repr(shown) if len(shown) <= 200 else repr(shown[:200] + "…"),
            )
        )

    value = raw.strip()
    if not value:
        raise refuse("it is empty")
    if len(value) > MAX_URL_LENGTH:
        raise refuse(f"it is longer than {MAX_URL_LENGTH} characters")
    if any(ord(char) < 33 or ord(char) == 127 for char in value):
        raise refuse("it holds a space or a control character")
    try:
        parts = urlsplit(value)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        reason = str(exc)
        if "port" in reason.lower():
            raise refuse("the port is not a number in 1-65535") from None
        raise refuse("it cannot be parsed (unbalanced [ ] around an IPv6 address?)") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse(f"the scheme is {parts.scheme + '://' if parts.scheme else 'missing'}")
    if not host:
        raise refuse("it has no host")
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        raise refuse("the port is not a number in 1-65535")
    return value.rstrip("/")


def header_name(text: object, *, option: str = "--auth-header") -> str:
    """A valid HTTP header name; else exit 2."""
    value = "" if text is None else str(text)
    if not _HEADER_NAME.match(value):
        raise UsageError(
            explain(
                f"{option} is not a valid HTTP header name.",
                expected="letters, digits and !#$%&'*+-.^_`|~ only, e.g. Authorization or X-Api-Key",
                observed=repr(value[:80]),
            )
        )
    return value


def seconds(
    text: object,
    *,
    option: str,
    minimum: float = 0.0,
    maximum: float = MAX_PERIOD,
    allow_zero: bool = False,
) -> float:
    """A finite duration in seconds (``30``, ``30s``, ``2m``, ``1h``, ``7d``) within bounds."""
    try:
        value = parse_quantity(
            text.strip() if isinstance(text, str) else text, where=option, expect="s"
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    low_ok = value >= minimum if allow_zero else value > minimum
    if not math.isfinite(value) or not low_ok or value > maximum:
        bound = ">=" if allow_zero else ">"
        raise UsageError(
            explain(
                f"{option} is out of range.",
                observed=repr(str(text)[:80]),
                expected=f"a duration {bound} {minimum:g} s and <= {maximum:g} s",
            )
        )
    return value


def number(
    text: object,
    *,
    option: str,
    minimum: float,
    maximum: float,
    integer: bool = False,
) -> float:
    """A finite number in ``[minimum, maximum]`` (a whole one when ``integer``); else exit 2."""
    try:
        value = float(str(text).strip().replace("_", ""))
    except ValueError:
        value = math.nan
    if (
        not math.isfinite(value)
        or not minimum <= value <= maximum
        or (integer and not value.is_integer())
    ):
        kind = "a whole number" if integer else "a number"
        raise UsageError(
            explain(
                f"{option} must be {kind} in [{minimum:g}, {maximum:g}].",
                observed=repr(str(text)[:80]),
            )
        )
    return value


def argtype(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Adapt a parser raising ``UsageError`` to argparse's ``type=`` (exit 2, no traceback)."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except UsageError as exc:
            lines = str(exc).splitlines()
            raise argparse.ArgumentTypeError(
                "; ".join(line.rstrip(".") for line in lines)
            ) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def url_arg(option: str) -> Callable[[str], str]:
    """argparse ``type=`` for an http(s) URL option."""
    return argtype(lambda text: http_url(text, option=option))


def seconds_arg(option: str, *, maximum: float = MAX_PERIOD) -> Callable[[str], float]:
    """argparse ``type=`` for a positive duration option."""
    return argtype(lambda text: seconds(text, option=option, maximum=maximum))


def header_arg(option: str) -> Callable[[str], str]:
    """argparse ``type=`` for a header-name option."""
    return argtype(lambda text: header_name(text, option=option))
