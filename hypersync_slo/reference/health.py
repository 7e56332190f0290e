"""Health: the three endpoints' answers, built from real checks (docs/contracts.md §1).

- ``/health/live``: the process runs and its loop answers. Never consults a dependency.
- ``/health/ready``: components initialized, every required dependency available, resources
  (free disk of the data directory, process memory, event-queue depth) within limits.
- ``/health/dependencies``: one check per dependency (``receipt-store``, ``policy-engine``,
  ``event-queue``), each with its own status and ``time``.

Bodies follow the IETF health-check draft: ``{"status", "checks": {"<component>:<measurement>":
[{componentType, status, observedValue, observedUnit, time, output?, required?}]}}``; the
top-level status is the worst required check (an optional dependency, ``required: false``,
degrades ready to ``warn`` only). Dependency probes run with a per-check timeout and are cached
for ``cache_ttl`` seconds, with concurrent callers sharing one probe in flight; an injected
``dependency-down`` fault applies on top of the cache, at once. Two contract breaks live here:
``probe-fan-out`` turns the cache and the sharing off (every caller probes), and
``health-leaks-details`` puts a DSN with its password and a traceback in the receipt-store
check's ``output``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.reference.dependencies import EventQueue, PolicyEngine
from hypersync_slo.reference.faults import FaultState
from hypersync_slo.reference.logs import rfc3339
from hypersync_slo.reference.store import ReceiptStore

_RANK = {"pass": 0, "warn": 1, "fail": 2}
Check = dict[str, Any]
Checks = dict[str, list[Check]]

#: dependency name -> check key in the body
DEPENDENCY_KEYS: dict[str, str] = {
    "receipt-store": "receipt-store:responseTime",
    "policy-engine": "policy-engine:responseTime",
    "event-queue": "event-queue:depth",
}
MIB = 1024 * 1024
#: What the ``health-leaks-details`` break adds to the receipt-store check: the kind of detail a
#: careless health handler passes through from a driver (fake credentials, never real ones).
LEAKED_DETAIL = (
    "pool warm-up retried: postgresql://hypersync:Hs-s3cret-pw@10.20.30.40:5432/receipts "
    "password=Hs-s3cret-pw\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/hypersync/store.py", line 88, in probe\n'
    "sqlite3.OperationalError: database is locked"
)


def worst(statuses: list[str]) -> str:
    """The worst of ``pass`` < ``warn`` < ``fail`` (``pass`` for none)."""
    return max(statuses, key=_RANK.__getitem__, default="pass")


def check(  # noqa: PLR0917 - the fields of one check object, in the draft's order
    component_type: str,
    status: str,
    value: float | int | bool,
    unit: str,
    at: float,
    output: str | None = None,
) -> Check:
    """One check object."""
    out: Check = {
        "componentType": component_type,
        "status": status,
        "observedValue": value,
        "observedUnit": unit,
        "time": rfc3339(at),
    }
    if status != "pass" and output:
        out["output"] = output
    return out


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class HealthLimits:
    """Resource limits of the ready check."""

    memory_limit_bytes: int = 1024 * MIB
    memory_warn_ratio: float = 0.8
    disk_fail_free_bytes: int = 64 * MIB
    disk_warn_free_bytes: int = 512 * MIB
    queue_warn_ratio: float = 0.8
    check_timeout: float = 0.5
    cache_ttl: float = 1.0


@dataclass
class HealthChecker:
    """Builds the three health answers; ``initialized`` turns true when start-up finished."""

    store: ReceiptStore
    policy_engine: PolicyEngine
    event_queue: EventQueue
    faults: Callable[[], FaultState]
    limits: HealthLimits = field(default_factory=HealthLimits)
    optional: frozenset[str] = frozenset()
    initialized: bool = False
    draining: bool = False
    started: float = field(default_factory=time.monotonic)
    probes_run: int = 0
    _cached: dict[str, Check] | None = None
    _cached_at: float = -1e9
    _inflight: asyncio.Future[dict[str, Check]] | None = None

    # --- answers ---------------------------------------------------------------------------

    def live(self) -> tuple[int, dict[str, Any]]:
        """``/health/live``: the loop answers (the caller applies live faults)."""
        now = time.time()
        uptime = round(time.monotonic() - self.started, 3)
        return 200, {
            "status": "pass",
            "checks": {"process:uptime": [check("system", "pass", uptime, "s", now)]},
        }

    async def dependencies(self) -> tuple[int, dict[str, Any]]:
        """``/health/dependencies``: 200 unless a check fails, then 503; body in both cases."""
        checks = await self._dependency_checks()
        status = worst([c["status"] for c in checks.values()])
        body = {"status": status, "checks": {DEPENDENCY_KEYS[n]: [c] for n, c in checks.items()}}
        return (503 if status == "fail" else 200), body

    async def ready(self, *, ignore_dependencies: bool = False) -> tuple[int, dict[str, Any]]:
        """``/health/ready``: 200 for pass/warn, 503 for fail."""
        now = time.time()
        faults = self.faults()
        checks: Checks = {}
        if faults.ready_stuck or not self.initialized:
            init = check("component", "fail", False, "boolean", now, "not initialized")
        elif self.draining:
            init = check(
                "component", "fail", True, "boolean", now, "shutting down: refusing new traffic"
            )
        else:
            init = check("component", "pass", True, "boolean", now)
        checks["service:initialized"] = [init]
        if self.initialized and not ignore_dependencies:
            for name, dep in (await self._dependency_checks()).items():
                shown = dep
                if dep["status"] == "fail" and dep.get("required") is False:
                    output = f"optional dependency failing: {dep.get('output', '')}"
                    shown = dict(dep, status="warn", output=output)
                checks[DEPENDENCY_KEYS[name]] = [shown]
        checks["disk:free"] = [self._disk(now)]
        checks["memory:rss"] = [self._memory(now)]
        status = worst([c[0]["status"] for c in checks.values()])
        return (503 if status == "fail" else 200), {"status": status, "checks": checks}

    async def any_dependency_down(self) -> bool:
        """Whether a dependency check fails (for the live-checks-dependencies break)."""
        return any(c["status"] == "fail" for c in (await self._dependency_checks()).values())

    # --- dependency probes -----------------------------------------------------------------

    async def _dependency_checks(self) -> dict[str, Check]:
        fresh = (
            self._cached is not None and time.monotonic() - self._cached_at < self.limits.cache_ttl
        )
        if "probe-fan-out" in self.faults().breaks:
            probed = await self._probe_all()  # no cache, no sharing: one probe per caller
        elif fresh:
            assert self._cached is not None
            probed = self._cached
        elif self._inflight is not None:
            probed = await asyncio.shield(self._inflight)
        else:
            self._inflight = asyncio.get_running_loop().create_future()
            try:
                probed = await self._probe_all()
                self._cached, self._cached_at = probed, time.monotonic()
                self._inflight.set_result(probed)
            except BaseException as exc:
                self._inflight.set_exception(exc)
                self._inflight.exception()  # mark retrieved
                raise
            finally:
                self._inflight = None
        faults = self.faults()
        down = faults.dependencies_down
        leak = "health-leaks-details" in faults.breaks
        out: dict[str, Check] = {}
        now = time.time()
        for name, probe in probed.items():
            result = probe
            if leak and name == "receipt-store":
                result = dict(result, output=LEAKED_DETAIL)
            if name in down:
                result = dict(
                    result,
                    status="fail",
                    time=rfc3339(now),
                    output=f"{name} unavailable (injected fault: dependency-down)",
                )
            if name in self.optional:
                result = dict(result, required=False)
            out[name] = result
        return out

    async def _probe_all(self) -> dict[str, Check]:
        self.probes_run += 1
        store, policy = await asyncio.gather(self._probe_store(), self._probe_policy())
        return {"receipt-store": store, "policy-engine": policy, "event-queue": self._probe_queue()}

    async def _probe_store(self) -> Check:
        now = time.time()
        timeout = self.limits.check_timeout
        try:
            seconds = await asyncio.wait_for(asyncio.to_thread(self.store.probe), timeout)
        except TimeoutError:
            return check(
                "datastore",
                "fail",
                timeout * 1000,
                "ms",
                now,
                f"timeout: no answer from the receipt store within {timeout:g} s",
            )
        except Exception as exc:
            return check(
                "datastore",
                "fail",
                0,
                "ms",
                now,
                f"receipt store probe failed: {type(exc).__name__}",
            )
        return check("datastore", "pass", round(seconds * 1000, 3), "ms", now)

    async def _probe_policy(self) -> Check:
        now = time.time()
        if not self.policy_engine.loaded:
            return check("component", "fail", 0, "ms", now, "policy rules are not loaded")
        try:
            seconds = self.policy_engine.probe()
        except Exception as exc:
            return check("component", "fail", 0, "ms", now, f"canary evaluation failed: {exc}")
        return check("component", "pass", round(seconds * 1000, 3), "ms", now)

    def _probe_queue(self) -> Check:
        now = time.time()
        q = self.event_queue
        depth, limit = q.depth, q.limit
        if not q.consumer_alive:
            return check("queue", "fail", depth, "events", now, "the event consumer is not running")
        if depth >= limit:
            return check(
                "queue", "fail", depth, "events", now, f"queue full ({depth}/{limit} events)"
            )
        if depth >= limit * self.limits.queue_warn_ratio:
            return check(
                "queue", "warn", depth, "events", now, f"queue {depth}/{limit} events, over 80 %"
            )
        return check("queue", "pass", depth, "events", now)

    # --- resources -------------------------------------------------------------------------

    def _disk(self, now: float) -> Check:
        try:
            st = os.statvfs(self.store.data_dir)
        except OSError as exc:
            return check(
                "system", "fail", 0, "MiB", now, f"cannot stat the data directory: {exc.strerror}"
            )
        free = st.f_bavail * st.f_frsize
        value = round(free / MIB, 1)
        if free < self.limits.disk_fail_free_bytes:
            return check(
                "system",
                "fail",
                value,
                "MiB",
                now,
                f"{value} MiB free, under {self.limits.disk_fail_free_bytes // MIB} MiB",
            )
        if free < self.limits.disk_warn_free_bytes:
            return check(
                "system",
                "warn",
                value,
                "MiB",
                now,
                f"{value} MiB free, under {self.limits.disk_warn_free_bytes // MIB} MiB",
            )
        return check("system", "pass", value, "MiB", now)

    def _memory(self, now: float) -> Check:
        rss = _rss_bytes()
        limit = self.limits.memory_limit_bytes
        value = round(rss / MIB, 1)
        if rss > limit:
            return check(
                "system",
                "fail",
                value,
                "MiB",
                now,
                f"{value} MiB resident, over {limit // MIB} MiB",
            )
        if rss > limit * self.limits.memory_warn_ratio:
            return check(
                "system",
                "warn",
                value,
                "MiB",
                now,
                f"{value} MiB resident, over 80 % of {limit // MIB} MiB",
            )
        return check("system", "pass", value, "MiB", now)
