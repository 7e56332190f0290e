"""One redaction layer: URL userinfo and registered secret values never reach output.

Every URL is printed and stored with its userinfo replaced by ``***`` (``redact_url``); every
secret value (a token, a password) is registered once (``register_secret``) and ``redact``
masks it, and any URL userinfo, in any text: messages, files, database rows, exception text
from libraries. ``outputs.write_text`` and the CLI's error paragraph call ``redact`` on
everything they write, so a value registered anywhere in the process is masked everywhere.

Secrets are validated up front (``secret_from_env``/``check_secret``): a value a header
cannot carry (a newline, a control or non-ASCII character) is refused with a message that
names the variable, never the value.

The registry is per process: each stage of a job (a child process) registers the secrets it
reads from its own environment and arguments.
"""

from __future__ import annotations

import base64
import contextlib
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO
from urllib.parse import quote, unquote

from hypersync_slo.errors import UsageError, explain

MASK = "***"

#: Shorter values are not masked in free text (they would mask ordinary words and digits);
#: they are still never written on purpose, and URL userinfo is masked whatever its length.
MIN_MASKED_LENGTH = 4

#: ``scheme://userinfo@`` anywhere in a text: up to the last ``@`` of the authority (a
#: password may hold an unescaped ``@``), which ends at ``/``, ``?``, ``#`` or a space.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s?#]*)@")


class _Registry:
    """The secret values of this process and one compiled pattern matching any of them."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, forms: set[str]) -> None:
        added = forms - self.secrets
        if not added:
            return
        self.secrets.update(added)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(self.secrets, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(secret) for secret in ordered))

    def clear(self) -> None:
        self.secrets.clear()
        self.pattern = None


_REGISTRY = _Registry()


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its percent-encoded and -decoded forms) in everything ``redact`` sees."""
    if not value:
        return
    forms = {value, value.strip(), unquote(value), quote(value, safe="")}
    _REGISTRY.add({form for form in forms if len(form) >= MIN_MASKED_LENGTH})


def registered() -> frozenset[str]:
    """The secret values registered in this process (for tests)."""
    return frozenset(_REGISTRY.secrets)


def forget_secrets() -> None:
    """Empty the registry (for tests)."""
    _REGISTRY.clear()


def redact(text: str) -> str:
    """``text`` with every URL userinfo and every registered secret replaced by ``***``."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    if _REGISTRY.pattern is not None:
        text = _REGISTRY.pattern.sub(MASK, text)
    return text


def redact_obj(value: Any) -> Any:
    """``redact`` applied to every string inside a JSON-like value (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_obj(key): redact_obj(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_obj(item) for item in value)
    return value


def redact_url(url: str | None) -> str:
    """``url`` with its userinfo (``user:password@``) replaced by ``***``; never raises.

    The password is registered as a secret on the way, so it is masked wherever it shows up.
    """
    if not url:
        return url or ""
    register_url_secrets(url)
    return redact(url)


def register_basic_auth(user: str, password: str) -> None:
    """Register a basic-auth password and its header form (base64 of ``user:password``).

    A server that echoes the ``Authorization`` header into an error would otherwise put the
    password, merely base64-encoded, into a report.
    """
    register_secret(password)
    for pair in {f"{user}:{password}", f"{unquote(user)}:{unquote(password)}"}:
        for encoding in ("utf-8", "latin-1"):
            with contextlib.suppress(UnicodeEncodeError):
                register_secret(base64.b64encode(pair.encode(encoding)).decode("ascii"))


#: A malformed URL that still carries userinfo: ``http:/u:pw@host``, ``http:u:pw@host``.
_LOOSE_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*:/*)(?P<userinfo>[^/?#]*)@")


def register_url_secrets(url: str | None) -> None:
    """Register the userinfo of ``url`` (its password, its basic-auth form) as secrets; never raises.

    A malformed URL (``http:/user:pw@host``, a typo) counts too: its error message echoes it.
    """
    if not url:
        return
    found = [match["userinfo"] for match in _USERINFO.finditer(url)]
    loose = _LOOSE_USERINFO.match(url.strip())
    if loose:
        found.append(loose["userinfo"])
    for userinfo in found:
        register_secret(userinfo)
        user, sep, password = userinfo.partition(":")
        if sep:
            register_basic_auth(user, password)


def _describe_bad_character(value: str) -> str | None:
    """Why ``value`` cannot travel in an HTTP header, or None when it can (never the value)."""
    for index, char in enumerate(value):
        if char in "\r\n":
            return f"a line break at character {index + 1} (a file read with a trailing newline?)"
        if ord(char) > 126:
            return f"a non-ASCII character at character {index + 1}"
        if ord(char) < 32 or ord(char) == 127:
            return f"a control character at character {index + 1}"
    return None


def check_secret(value: str, variable: str) -> str:
    """``value`` if an HTTP header can carry it, else ``UsageError`` naming ``variable`` only.

    The value is registered as a secret first, so even a refused value is masked everywhere.
    """
    register_secret(value)
    if value != value.strip():
        problem = "leading or trailing whitespace"
        if value.rstrip(" \t") != value.rstrip():
            problem = "a trailing line break (a file read with a trailing newline?)"
    else:
        problem = _describe_bad_character(value) or ""
    if not value:
        problem = "an empty value"
    if problem:
        raise UsageError(
            explain(
                f"${variable} holds a secret an HTTP header cannot carry: {problem}.",
                expected="printable ASCII without spaces at either end or line breaks",
                what_to_do=f"export {variable}=\"$(tr -d '\\r\\n' < FILE)\" and run again",
            )
        )
    return value


def check_password(value: str, variable: str) -> str:
    """``value`` if basic auth can carry it (Latin-1, no control character), else exit 2.

    Registered as a secret first; the message names ``variable``, never the value.
    """
    register_secret(value)
    problem = ""
    for index, char in enumerate(value):
        if char in "\r\n":
            problem = (
                f"a line break at character {index + 1} (a file read with a trailing newline?)"
            )
        elif ord(char) < 32 or ord(char) == 127:
            problem = f"a control character at character {index + 1}"
        elif ord(char) > 255:
            problem = f"a character basic auth cannot encode (not Latin-1) at character {index + 1}"
        if problem:
            break
    if problem:
        raise UsageError(
            explain(
                f"${variable} holds a value basic auth cannot carry: {problem}.",
                expected="printable Latin-1 text without line breaks",
            )
        )
    return value


def secret_from_env(environ: Mapping[str, str], variable: str, *, required: bool) -> str | None:
    """The validated secret in ``environ[variable]``; None when unset and not ``required``."""
    value = environ.get(variable)
    if value is None or value == "":
        if required:
            raise UsageError(
                explain(
                    f"${variable} is not set or empty.",
                    expected=f"export {variable}=<secret> before running",
                )
            )
        return None
    return check_secret(value, variable)


def register_environment(environ: Mapping[str, str], names: Iterable[str]) -> None:
    """Register the values of the environment variables ``names`` that are set."""
    for name in names:
        register_secret(environ.get(name))


#: Headers that carry credentials whatever the configuration says.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def origin(url: Any) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an ``httpx.URL``-like object, the default port filled in."""
    scheme = str(url.scheme).lower()
    port = url.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, str(url.host).lower(), port


class OriginGuard:
    """An ``httpx`` request hook: no credential header leaves the origin it was given for.

    On a request to another scheme, host or port than ``base`` (a redirect, followed by the
    client), every credential header (``Authorization``, ``Proxy-Authorization``, ``Cookie``
    and the names in ``extra``, such as a custom ``X-Api-Key``) is removed, and the hop is
    recorded in ``crossed`` so the caller can say so.
    """

    def __init__(self, base: Any, extra: Iterable[str] = ()) -> None:
        self.origin = origin(base)
        self.names = CREDENTIAL_HEADERS | {name.lower() for name in extra}
        self.crossed: list[str] = []

    def __call__(self, request: Any) -> None:
        """Strip credentials from ``request`` when it leaves the origin."""
        if origin(request.url) == self.origin:
            return
        stripped = [name for name in list(request.headers) if name.lower() in self.names]
        for name in stripped:
            del request.headers[name]
        self.crossed.append(redact_url(str(request.url)))


class RedactingStream:
    """A text stream that passes every write through ``redact`` (stdout/stderr of a command)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` redacted; returns the length of ``text`` as callers expect."""
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Write each line redacted."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacted_streams() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` mask secrets and URL userinfo."""
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(saved[0])
    sys.stderr = RedactingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
