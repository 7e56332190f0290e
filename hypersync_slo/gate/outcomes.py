"""What the gate found: one ``CheckOutcome`` per check, gathered in a ``GateLedger``.

The plugin fills the ledger from pytest's reports; the terminal summary table and the
``hypersync-slo check`` exit code are both derived from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from hypersync_slo.exitcodes import ExitCode

Outcome = Literal["pass", "warn", "fail", "error", "skip"]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check (one pytest test) of one or more contracts or KPIs."""

    nodeid: str
    name: str
    contracts: tuple[str, ...]
    outcome: Outcome
    detail: str = ""
    error_type: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    figures: tuple[tuple[str, str], ...] = ()


@dataclass
class GateLedger:
    """Every check outcome of a run, in run order."""

    outcomes: list[CheckOutcome] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def add(self, outcome: CheckOutcome) -> None:
        """Record an outcome (a later phase of the same test replaces a pass, never a failure)."""
        for i, old in enumerate(self.outcomes):
            if old.nodeid == outcome.nodeid:
                if old.outcome in ("fail", "error") and outcome.outcome not in ("fail", "error"):
                    return
                self.outcomes[i] = outcome
                return
        self.outcomes.append(outcome)

    def warn(self, nodeid: str, message: str) -> None:
        """Note a SHOULD-level finding of the test ``nodeid`` (it turns its row into 'warn')."""
        self.warnings.setdefault(nodeid, []).append(message)

    def counts(self) -> dict[str, int]:
        """Number of outcomes per kind."""
        counts = {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skip": 0}
        for item in self.outcomes:
            counts[item.outcome] += 1
        return counts

    def nothing_judged(self) -> bool:
        """True when checks were selected and every one of them was skipped."""
        return bool(self.outcomes) and all(o.outcome == "skip" for o in self.outcomes)

    def exit_code(self) -> ExitCode:
        """The gate's exit code: 1 on any violation, else the common fault's code, 3 when
        every selected check was skipped (nothing was judged; fails closed), else 0."""
        if any(o.outcome == "fail" for o in self.outcomes):
            return ExitCode.FAIL
        errors = [o for o in self.outcomes if o.outcome == "error"]
        if not errors:
            return ExitCode.NO_DATA if self.nothing_judged() else ExitCode.PASS
        codes = {o.exit_code for o in errors}
        if len(codes) == 1 and None not in codes:
            return ExitCode(next(iter(codes)))  # type: ignore[arg-type]
        return ExitCode.COULD_NOT_RUN

    def table(self) -> list[str]:
        """The summary table, one line per check."""
        return render_table(self.outcomes)


def render_table(outcomes: Iterable[CheckOutcome]) -> list[str]:
    """Lines of a fixed-width table: contract, outcome, check, first line of the detail."""
    rows = [
        (
            ",".join(o.contracts) or "-",
            o.outcome.upper(),
            o.name,
            o.detail.splitlines()[0] if o.detail else "",
        )
        for o in outcomes
    ]
    if not rows:
        return ["(no contract or KPI was checked)"]
    widths = [
        max(len(r[i]) for r in [*rows, ("contract", "outcome", "check", "")]) for i in range(3)
    ]
    head = f"{'contract':<{widths[0]}}  {'outcome':<{widths[1]}}  {'check':<{widths[2]}}  detail"
    lines = [head, "-" * min(len(head) + 40, 140)]
    for contract_ids, outcome, name, detail in rows:
        short = detail if len(detail) <= 90 else detail[:89] + "…"
        lines.append(
            f"{contract_ids:<{widths[0]}}  {outcome:<{widths[1]}}  {name:<{widths[2]}}  {short}".rstrip()
        )
    return lines
