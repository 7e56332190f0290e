"""H-15: what an unauthenticated health body must not disclose, as pure functions.

``disclosures(body)`` walks a parsed health body (or the raw text of one that is not JSON)
and names every string that carries

- a URL or DSN with credentials (``scheme://user:password@host``),
- a secret as a key/value (``password=…``, ``secret: …``, ``token=…``, ``api_key=…``),
- a stack trace (Python ``Traceback (most recent call last)`` / ``File "…", line N``, Java
  ``at pkg.Class.method(File.java:12)`` / ``Exception in thread``, Go ``goroutine N [running]``),
- a private address beyond loopback (RFC 1918, link-local, shared 100.64/10, IPv6 ULA and
  link-local), judged in ``output`` only: that is where a failing check's detail goes.

Each ``Disclosure`` says where (the JSON path), which rule and a *redacted* excerpt, so the
gate's own report never repeats the secret it found.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

#: ``scheme://user:password@`` (the user may be empty, as in ``redis://:pw@host``).
_CREDENTIAL_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s/:@]*):[^\s/@]+@"
)
#: ``password=…``/``password: …`` and the like; tokens only as ``token=…`` ("token: expired"
#: is prose, "token=ab12…" is a credential).
_SECRET_PAIRS = (
    re.compile(
        r"(?i)(?<![A-Za-z0-9])(?P<key>passw(?:or)?d|pwd|secret|client[_-]?secret|api[_-]?key|"
        r"private[_-]?key)\s*[=:]\s*(?P<value>[^\s,;&'\"]+)"
    ),
    re.compile(
        r"(?i)(?<![A-Za-z0-9])(?P<key>(?:access[_-]|refresh[_-]|auth[_-]|bearer[_-])?token)"
        r"\s*=\s*(?P<value>[^\s,;&'\"]+)"
    ),
)
_TRACEBACKS = (
    ("python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("python traceback", re.compile(r'File "[^"]+", line \d+')),
    ("java stack trace", re.compile(r"\bat [\w$.<>]+\([\w$]+\.(?:java|kt|scala):\d+\)")),
    ("java stack trace", re.compile(r"Exception in thread \"")),
    ("go stack trace", re.compile(r"goroutine \d+ \[running\]")),
)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
        "fe80::/10",
    )
)
#: JSON keys whose values are free text a failing check fills (IP addresses judged there).
OUTPUT_KEYS = frozenset({"output", "notes", "description"})


@dataclass(frozen=True)
class Disclosure:
    """One thing a health body should not show: where, which rule, a redacted excerpt."""

    path: str
    rule: str
    excerpt: str

    def describe(self) -> str:
        """``checks['db'][0].output: credentials in a URL (postgresql://app:***@)``."""
        return f"{self.path}: {self.rule} ({self.excerpt})"


def private_address(text: str) -> str | None:
    """The first private, non-loopback IP address in ``text``, or None."""
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(text):
            try:
                address = ipaddress.ip_address(match.group(0))
            except ValueError:
                continue
            if any(address in net for net in _PRIVATE if net.version == address.version):
                return str(address)
    return None


def text_disclosures(path: str, text: str, *, free_text: bool) -> list[Disclosure]:
    """What one string discloses (private addresses only when ``free_text``)."""
    found: list[Disclosure] = []
    url = _CREDENTIAL_URL.search(text)
    if url:
        found.append(Disclosure(path, "credentials in a URL", f"{url['scheme']}{url['user']}:***@"))
    for pattern in _SECRET_PAIRS:
        pair = pattern.search(text)
        if pair:
            found.append(Disclosure(path, "a secret value", f"{pair['key']}=***"))
            break
    for rule, pattern in _TRACEBACKS:
        if any(d.rule == rule for d in found):
            continue
        trace = pattern.search(text)
        if trace:
            found.append(Disclosure(path, rule, trace.group(0)[:60]))
    if free_text:
        address = private_address(text)
        if address:
            found.append(Disclosure(path, "a private network address", address))
    return found


def _strings(value: object, path: str, key: str | None) -> Iterator[tuple[str, str, str | None]]:
    if isinstance(value, str):
        yield path, value, key
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, f"{path}[{name!r}]" if path else str(name), str(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]", key)


def disclosures(body: object) -> list[Disclosure]:
    """Everything a parsed health body (or its raw text, given as a str) should not show."""
    if isinstance(body, str):
        return text_disclosures("(body)", body, free_text=True)
    found: list[Disclosure] = []
    for path, text, key in _strings(body, "", None):
        found.extend(text_disclosures(path, text, free_text=key in OUTPUT_KEYS))
    return found
