"""HTTP responses and request bodies of the raw ASGI app: JSON answers, JSON errors, body limits.

Every error the service answers on purpose has the body ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
from typing import Any

from hypersync_slo.reference.operations import BadInput

#: The largest request body accepted (1 MiB); larger ones get 413.
MAX_BODY_BYTES = 1024 * 1024
JSON = b"application/json"
HEALTH_JSON = b"application/health+json"

Receive = Any  # the ASGI receive callable
Headers = list[tuple[bytes, bytes]]


class Response:
    """Status, body, Content-Type (None: no header) and extra headers of one answer."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        content_type: bytes | None = JSON,
        headers: Headers | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def json_response(
    status: int, value: Any, content_type: bytes = JSON, headers: Headers | None = None
) -> Response:
    """A JSON answer."""
    return Response(status, dumps(value), content_type, headers)


def error(status: int, code: str, message: str, headers: Headers | None = None) -> Response:
    """A JSON error answer ``{"error": {"code", "message"}}``."""
    return Response(status, dumps({"error": {"code": code, "message": message}}), JSON, headers)


class BodyError(Exception):
    """A request body that cannot be taken; carries the error answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


async def read_body(receive: Receive, content_length: bytes | None) -> bytes:
    """The whole request body, refusing more than ``MAX_BODY_BYTES`` (declared or streamed)."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise BodyError(
                error(400, "bad_content_length", "Content-Length is not a number")
            ) from None
        if declared > MAX_BODY_BYTES:
            raise BodyError(_too_large(declared))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise BodyError(_too_large(size))
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: int) -> Response:
    return error(
        413,
        "payload_too_large",
        f"request body of {size} bytes is over the {MAX_BODY_BYTES} byte limit",
    )


def parse_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; ``BodyError`` (400) when it is not valid JSON or not an object."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(
            error(400, "malformed_json", f"the body is not valid JSON: {exc}")
        ) from None
    if not isinstance(value, dict):
        raise BodyError(error(400, "bad_request", "the body must be a JSON object"))
    return value


def field(
    data: dict[str, Any], name: str, kind: type, *, required: bool = True, default: Any = None
) -> Any:
    """``data[name]`` checked to be of ``kind``; ``BadInput`` naming the field otherwise."""
    if name not in data or data[name] is None:
        if required:
            raise BadInput(f"'{name}' is required")
        return default
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadInput(f"'{name}' must be a {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


_KIND_NAMES = {str: "string", dict: "JSON object", list: "JSON array", int: "whole number"}
