"""The real ``promtool check metrics``, run on a text-0.0.4 body, its output mapped to findings.

promtool writes one problem per line on stderr, ``<metric> <message>``, sorted, and exits 0
(clean), 3 (lint problems) or 1 (parse error, ``error while linting: text format parsing
error in line N: ...``). It reads text 0.0.4 only.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from hypersync_slo.errors import SuiteFault, explain
from hypersync_slo.exposition.lint import RULES
from hypersync_slo.exposition.model import Finding
from hypersync_slo.processes import find_tool

#: promtool's messages, in the order to try them, mapped to our rule ids.
_MESSAGE_RULES: tuple[tuple[str, str], ...] = (
    ("no help text", "help"),
    ("use base unit ", "base-units"),
    ('counter metrics should have "_total" suffix', "counter-total"),
    ('non-counter metrics should not have "_total" suffix', "non-counter-total"),
    ("non-histogram metrics should not have", "reserved-suffix"),
    ("non-histogram and non-summary metrics should not have", "reserved-suffix"),
    ("non-summary metrics should not have", "reserved-suffix"),
    ("metric name should not include type", "type-in-name"),
    ("metric names should not contain ':'", "reserved-chars"),
    ("metric names should be written in 'snake_case'", "camel-case"),
    ("label names should be written in 'snake_case'", "camel-case"),
    ("metric names should not contain abbreviated units", "unit-abbreviation"),
    ("metric not unique", "duplicate-metric"),
)
_PARSE_ERROR = re.compile(r"error while linting: text format parsing error in line (\d+): (.*)")
_TIMEOUT = 60.0


@dataclass(frozen=True)
class PromtoolResult:
    """What ``promtool check metrics`` said: exit code, findings, raw stderr and its version."""

    exit_code: int
    findings: tuple[Finding, ...]
    output: str
    version: str

    @property
    def parse_error(self) -> Finding | None:
        """The parse error promtool stopped at, if any."""
        return next((f for f in self.findings if f.rule == "promtool-parse-error"), None)


@dataclass(frozen=True)
class Comparison:
    """Where promtool and our promlint rules agree and disagree, as (metric, message) pairs."""

    agreed: tuple[tuple[str, str], ...]
    only_promtool: tuple[tuple[str, str], ...]
    only_ours: tuple[Finding, ...]


def promtool_path() -> str | None:
    """The promtool binary, or None when it is not installed."""
    return find_tool("promtool", required=False)


def run_promtool(text: str) -> PromtoolResult | None:
    """Run ``promtool check metrics`` on ``text``; None when promtool is not installed."""
    path = promtool_path()
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, "check", "metrics"],
            input=text.encode("utf-8", "surrogateescape"),
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SuiteFault(
            explain(
                "promtool check metrics did not finish",
                command=f"{path} check metrics",
                timeout=f"{_TIMEOUT:g} s",
            )
        ) from exc
    output = done.stderr.decode("utf-8", "replace") + done.stdout.decode("utf-8", "replace")
    return PromtoolResult(
        done.returncode, tuple(parse_promtool_output(output)), output, _version(path)
    )


def _version(path: str) -> str:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    found = re.search(r"version (\S+)", (done.stdout or done.stderr).decode("utf-8", "replace"))
    return found.group(1) if found else "unknown"


def parse_promtool_output(output: str) -> list[Finding]:
    """Map promtool's stderr lines to findings (rule ids as in ``lint.RULES``)."""
    findings: list[Finding] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        parsed = _PARSE_ERROR.search(line)
        if parsed is not None:
            findings.append(
                Finding(
                    "promtool-parse-error",
                    "error",
                    None,
                    f"promtool cannot parse it: {parsed.group(2)}",
                    int(parsed.group(1)),
                )
            )
            continue
        metric, _, message = line.partition(" ")
        rule = next((r for prefix, r in _MESSAGE_RULES if message.startswith(prefix)), None)
        if rule is None:
            findings.append(Finding("promtool", "error", None, line, None))
        else:
            findings.append(Finding(rule, RULES[rule].severity, metric, message, None))
    return findings


def compare(ours: Iterable[Finding], promtool: PromtoolResult) -> Comparison:
    """Compare our promlint-rule findings with promtool's, as sets of (metric, message).

    Our messages start with promtool's wording and may add detail, so a promtool message
    matches one of ours on the same metric (``metric`` as promtool names it: for an
    OpenMetrics counter, ``foo_total``) that starts with it.
    """
    mine = [f for f in ours if RULES.get(f.rule) is not None and RULES[f.rule].promtool]
    theirs = sorted({(f.metric or "", f.message) for f in promtool.findings if f.metric})
    agreed: list[tuple[str, str]] = []
    only_promtool: list[tuple[str, str]] = []
    matched: set[int] = set()
    for metric, message in theirs:
        hits = [
            i
            for i, f in enumerate(mine)
            if f.metric in (metric, metric.removesuffix("_total"), metric.removesuffix("_info"))
            and f.message.startswith(message)
        ]
        if hits:
            agreed.append((metric, message))
            matched.update(hits)
        else:
            only_promtool.append((metric, message))
    only_ours = tuple(f for i, f in enumerate(mine) if i not in matched)
    return Comparison(tuple(agreed), tuple(only_promtool), only_ours)
