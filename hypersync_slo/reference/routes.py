"""The route table: path -> (route template, endpoint name, allowed methods, path parameters).

A tiny matcher over path segments; faster than a regex router and enough for this API. The
template (``/v1/operators/{operator}/execute``) is what metrics, spans and logs carry, never the
raw path. Unknown paths give ``None`` (404); a trailing slash is a different, unknown path.
"""

from __future__ import annotations

from typing import NamedTuple

UNMATCHED = "_OTHER"  # http_route of requests that matched no route


class Route(NamedTuple):
    """A matched route."""

    template: str
    endpoint: str
    methods: tuple[str, ...]
    params: list[str]


_GET = ("GET", "HEAD")
_STATIC: dict[str, tuple[str, tuple[str, ...]]] = {
    "/health/live": ("live", _GET),
    "/health/ready": ("ready", _GET),
    "/health/dependencies": ("dependencies", _GET),
    "/metrics": ("metrics", _GET),
    "/v1/receipts": ("create_receipt", ("POST",)),
    "/v1/agents": ("list_agents", _GET),
}
_ADMIN = {"/admin/faults": ("admin_faults", ("GET", "HEAD", "PUT"))}


def match(path: str, *, admin: bool) -> Route | None:
    """The route for ``path`` (admin routes only when ``admin``), or None."""
    static = _STATIC.get(path)
    if static is not None:
        return Route(path, static[0], static[1], [])
    if admin and path in _ADMIN:
        endpoint, methods = _ADMIN[path]
        return Route(path, endpoint, methods, [])
    parts = path.split("/")
    if len(parts) == 5 and parts[0] == "" and parts[1] == "v1" and parts[3]:
        kind, last = parts[2], parts[4]
        if kind == "operators" and last == "execute":
            return Route("/v1/operators/{operator}/execute", "execute", ("POST",), [parts[3]])
        if kind == "policies" and last == "evaluate":
            return Route("/v1/policies/{policy}/evaluate", "evaluate", ("POST",), [parts[3]])
        if kind == "agents" and last == "actions":
            return Route("/v1/agents/{agent_id}/actions", "agent_action", ("POST",), [parts[3]])
    if (
        len(parts) == 4
        and parts[0] == ""
        and parts[1] == "v1"
        and parts[2] == "receipts"
        and parts[3]
    ):
        return Route("/v1/receipts/{receipt_id}", "get_receipt", _GET, [parts[3]])
    return None
