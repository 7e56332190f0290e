"""Request IDs: echo a safe ``X-Request-ID``, generate one otherwise.

Safe means 1 to 128 characters, each printable ASCII other than space (0x21-0x7e): nothing
that could split a header, a log line or a terminal. Anything else is replaced, not echoed.
"""

from __future__ import annotations

import os

MAX_LENGTH = 128


def is_safe(value: bytes) -> bool:
    """Whether a client-sent ID may be echoed and logged verbatim."""
    return 0 < len(value) <= MAX_LENGTH and all(0x21 <= b <= 0x7E for b in value)


def generate() -> str:
    """A new request ID: 32 lowercase hex characters (128 random bits)."""
    return os.urandom(16).hex()


def choose(sent: bytes | None) -> tuple[str, bool]:
    """The request ID to use and whether it is the client's own."""
    if sent is not None and is_safe(sent):
        return sent.decode("ascii"), True
    return generate(), False
