"""The reference service's fault switch (``GET/PUT /admin/faults``), used only on request.

With ``--slo-fault-admin`` the gate proves H-02 and H-13 by injecting a dependency outage:
it reads the current fault state, adds the outage, checks the health endpoints, and puts the
original state back (a PUT replaces the whole state, so nothing else is lost).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypersync_slo.errors import UsageError, explain
from hypersync_slo.gate.client import TargetClient

ADMIN_PATH = "/admin/faults"


@dataclass
class FaultAdmin:
    """A connected fault switch."""

    target: TargetClient

    @classmethod
    def connect(cls, target: TargetClient) -> FaultAdmin:
        """Check that the target has the admin endpoint; ``UsageError`` when it has not."""
        admin = cls(target)
        admin.state()
        return admin

    def state(self) -> dict[str, Any]:
        """The current fault state."""
        answer = self.target.get(ADMIN_PATH, expected="the fault state as JSON")
        try:
            data = answer.json() if answer.status_code == 200 else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or "dependencies_down" not in data:
            raise UsageError(
                explain(
                    "--slo-fault-admin was given, but the target has no fault switch.",
                    url=answer.url,
                    expected="HTTP 200 with the fault state (reference service --enable-fault-admin)",
                    observed=answer.describe(),
                )
            )
        return data

    def put(self, state: dict[str, Any]) -> None:
        """Replace the fault state."""
        answer = self.target.request("PUT", ADMIN_PATH, json_body=state)
        if answer.status_code not in (200, 204):
            raise UsageError(
                explain(
                    "the target refused a fault state.",
                    url=answer.url,
                    expected="HTTP 200",
                    observed=f"{answer.describe()}: {answer.excerpt()}",
                )
            )

    @contextlib.contextmanager
    def dependency_down(self, name: str) -> Iterator[None]:
        """Take dependency ``name`` down for the block, then restore the previous state."""
        original = self.state()
        changed = dict(original)
        changed["dependencies_down"] = sorted({*original.get("dependencies_down", []), name})
        self.put(changed)
        try:
            yield
        finally:
            self.put(original)
