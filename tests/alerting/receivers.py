"""Local stand-ins for the three notification services, on loopback, speaking their real formats.

* ``PagerDutyReceiver``: the Events API v2 ``POST /v2/enqueue``; checks each event as PagerDuty
  would (routing key, ``event_action``, ``dedup_key``, a trigger's ``payload`` with summary,
  source and an allowed severity) and answers 202 like PagerDuty, or 400 with the reason.
* ``SlackReceiver``: an incoming webhook; needs a JSON body with ``text`` or ``attachments``,
  answers ``ok``.
* ``SmtpReceiver``: aiosmtpd's real SMTP server; keeps each message.
"""

from __future__ import annotations

import email
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from hypersync_slo.processes import free_port

PD_SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass
class Received:
    """One delivery: when, to which path, the parsed body."""

    at: float
    path: str
    body: dict[str, Any]


class _HttpReceiver:
    """A threaded HTTP server on loopback that keeps the JSON it is sent."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                    problem = receiver.check(self.path, body, self.headers.get("Content-Type", ""))
                except ValueError as exc:
                    body, problem = {}, f"not JSON: {exc}"
                if problem:
                    with receiver._lock:
                        receiver.rejected.append(problem)
                    self._answer(400, {"status": "invalid event", "message": problem})
                    return
                with receiver._lock:
                    receiver.received.append(Received(time.time(), self.path, body))
                code, answer = receiver.answer(body)
                self._answer(code, answer)

            def _answer(self, code: int, answer: object) -> None:
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def check(self, path: str, body: Any, content_type: str) -> str | None:
        """Why ``body`` would be refused by the real service (None when accepted)."""
        raise NotImplementedError

    def answer(self, body: dict[str, Any]) -> tuple[int, object]:
        """The real service's answer to an accepted body."""
        raise NotImplementedError

    def start(self) -> _HttpReceiver:
        """Serve in a daemon thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Received]:
        """A copy of what was received so far."""
        with self._lock:
            return list(self.received)

    def wait_for(self, what: str, match: Callable[[Received], bool], timeout: float) -> Received:
        """Poll until a delivery satisfies ``match``; fail with what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.snapshot():
                if match(item):
                    return item
            time.sleep(0.2)
        seen = [json.dumps(r.body)[:300] for r in self.snapshot()]
        raise AssertionError(
            f"{type(self).__name__}: no {what} within {timeout:g} s\n"
            f"received: {seen or '(nothing)'}\nrejected: {self.rejected or '(nothing)'}"
        )


class PagerDutyReceiver(_HttpReceiver):
    """PagerDuty Events API v2, as far as the event format goes."""

    def __init__(self, routing_key: str) -> None:
        super().__init__()
        self.routing_key = routing_key

    @property
    def enqueue_url(self) -> str:
        """The Events v2 endpoint URL."""
        return f"{self.url}/v2/enqueue"

    def check(self, path: str, body: Any, content_type: str) -> str | None:
        """Validate an Events v2 event."""
        if path != "/v2/enqueue":
            return f"unknown path {path}"
        if not isinstance(body, dict):
            return "event must be a JSON object"
        if body.get("routing_key") != self.routing_key:
            return f"routing_key {body.get('routing_key')!r} is not the integration key"
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            return f"event_action {action!r} invalid"
        if action != "trigger" and not body.get("dedup_key"):
            return "dedup_key required to acknowledge or resolve"
        if action == "trigger":
            payload = body.get("payload")
            if not isinstance(payload, dict):
                return "payload required for trigger"
            for key in ("summary", "source", "severity"):
                if not payload.get(key):
                    return f"payload.{key} required"
            if payload["severity"] not in PD_SEVERITIES:
                return (
                    f"payload.severity {payload['severity']!r} not one of {sorted(PD_SEVERITIES)}"
                )
            if len(payload["summary"]) > 1024:
                return "payload.summary longer than 1024"
        return None

    def answer(self, body: dict[str, Any]) -> tuple[int, object]:
        """PagerDuty's 202."""
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": body.get("dedup_key"),
        }

    def events(self, action: str, alertname: str) -> list[Received]:
        """Events of ``action`` whose details name ``alertname``."""
        return [
            r
            for r in self.snapshot()
            if r.body["event_action"] == action and alertname in json.dumps(r.body)
        ]


class SlackReceiver(_HttpReceiver):
    """A Slack incoming webhook."""

    def check(self, path: str, body: Any, content_type: str) -> str | None:
        """Slack needs text or attachments."""
        if path != "/services/T000/B000/hook":
            return f"unknown webhook path {path}"
        if not isinstance(body, dict) or not (body.get("text") or body.get("attachments")):
            return "no_text"
        return None

    def answer(self, body: dict[str, Any]) -> tuple[int, object]:
        """Slack's plain ``ok``."""
        return 200, "ok"

    def titles(self) -> list[str]:
        """The attachment titles received, in order."""
        return [
            a.get("title", "") for r in self.snapshot() for a in r.body.get("attachments") or []
        ]


@dataclass
class SmtpReceiver:
    """aiosmtpd on a loopback port, keeping every message."""

    port: int = field(default_factory=free_port)
    messages: list[tuple[float, Message]] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: keep the message."""
        self.messages.append((time.time(), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpReceiver:
        """Start the SMTP server thread."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self.controller:
            self.controller.stop()

    def wait_for(self, subject_part: str, timeout: float) -> Message:
        """Poll until a message whose Subject contains ``subject_part`` arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, message in list(self.messages):
                if subject_part in str(message.get("Subject", "")):
                    return message
            time.sleep(0.2)
        subjects = [str(m.get("Subject")) for _, m in self.messages]
        raise AssertionError(
            f"SMTP: no message with {subject_part!r} within {timeout:g} s; got {subjects}"
        )
