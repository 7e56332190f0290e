"""The service's in-process dependencies besides the receipt store: policy engine and event queue.

Both are real components with state the health checks probe: the policy engine must have its
rules loaded and answer a canary evaluation; the event queue is bounded, its depth is a
resource with a limit, and its consumer task must be alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

#: The policies the engine knows.
POLICIES: tuple[str, ...] = ("access", "rate-limit", "data-residency")
_READ_ACTIONS = frozenset({"read", "list", "get", "describe"})
_PRIVILEGED = ("admin", "svc:")


@dataclass
class PolicyEngine:
    """Evaluates the three policies; needs its rules loaded (done at start-up) before use."""

    rate_limit_per_second: int = 10_000
    loaded: bool = False
    _window: int = 0
    _counts: dict[str, int] = field(default_factory=dict)

    async def load(self) -> None:
        """Load (here: build) the rule set; the service is not ready before this is done."""
        await asyncio.sleep(0)
        self.loaded = True

    def evaluate(self, policy: str, subject: str, action: str, resource: str) -> tuple[str, str]:
        """``(decision, reason)`` for one request; ``policy`` must be one of ``POLICIES``."""
        if not self.loaded:
            raise RuntimeError("policy rules are not loaded")
        if policy == "access":
            if action in _READ_ACTIONS:
                return "allow", f"'{action}' is a read action"
            if subject.startswith(_PRIVILEGED):
                return "allow", f"subject '{subject}' is privileged"
            return "deny", f"'{action}' needs a privileged subject"
        if policy == "rate-limit":
            window = int(time.monotonic())
            if window != self._window:
                self._window = window
                self._counts.clear()
            count = self._counts.get(subject, 0) + 1
            self._counts[subject] = count
            if count > self.rate_limit_per_second:
                return "deny", f"over {self.rate_limit_per_second} evaluations/s for '{subject}'"
            return "allow", "within the rate limit"
        if policy == "data-residency":
            if action == "export" and resource.startswith("eu/"):
                return "deny", "EU-resident data cannot be exported"
            return "allow", "residency constraints hold"
        raise KeyError(policy)

    def probe(self) -> float:
        """Evaluate a canary request; seconds taken. Raises when the engine cannot evaluate."""
        start = time.perf_counter()
        decision, _ = self.evaluate("data-residency", "health-probe", "read", "health/canary")
        if decision != "allow":
            raise RuntimeError(f"canary evaluation gave {decision!r}, expected 'allow'")
        return time.perf_counter() - start


@dataclass
class EventQueue:
    """A bounded in-process queue of business events, drained by a consumer task."""

    limit: int = 10_000
    published: int = 0
    consumed: int = 0
    dropped: int = 0
    _queue: asyncio.Queue[dict[str, Any]] | None = None
    _consumer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the queue and start its consumer on the running loop."""
        self._queue = asyncio.Queue(maxsize=self.limit)
        self._consumer = asyncio.get_running_loop().create_task(
            self._consume(), name="event-consumer"
        )

    async def stop(self) -> None:
        """Stop the consumer."""
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    @property
    def depth(self) -> int:
        """Events waiting."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def consumer_alive(self) -> bool:
        """Whether the consumer task runs."""
        return self._consumer is not None and not self._consumer.done()

    def publish(self, event: dict[str, Any]) -> bool:
        """Enqueue an event; False (and counted as dropped) when the queue is full."""
        if self._queue is None:
            return False
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        self.published += 1
        return True

    async def _consume(self) -> None:
        assert self._queue is not None
        while True:
            await self._queue.get()
            self.consumed += 1
            self._queue.task_done()
