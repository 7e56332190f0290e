"""JUnit XML that strict readers accept: Jenkins' ``junit-10.xsd``, GitLab and GitHub reporters.

Every JUnit file the tool writes (the contract gate's, the report's, the run's combined one) is
built here, so all of them follow the same rules of that schema:

- ``<properties>`` only at the suite level (the schema has none inside ``<testcase>``), so a
  check's figures are suite properties named ``<contract or KPI>.<figure>`` and repeated in the
  case's ``<system-out>`` for people;
- one ``<testsuite>`` per stage, named for it (``hypersync-slo contract gate``, ``hypersync-slo
  report``), with the required ``tests``, ``failures`` and ``errors`` counts;
- a ``time`` attribute in the schema's number form (``12.345``), a ``timestamp`` in UTC.

Pure functions over plain data: no I/O.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

CaseOutcome = Literal["pass", "failure", "error", "skipped"]


@dataclass(frozen=True)
class Case:
    """One ``<testcase>``: what was checked, its outcome and what it saw."""

    classname: str
    name: str
    outcome: CaseOutcome = "pass"
    seconds: float = 0.0
    message: str = ""
    detail: str = ""
    kind: str = ""
    output: str = ""


@dataclass(frozen=True)
class Suite:
    """One ``<testsuite>``: one stage of a run."""

    name: str
    cases: Sequence[Case]
    properties: Sequence[tuple[str, str]] = ()
    timestamp: datetime | None = None
    seconds: float = 0.0
    output: str = ""

    def count(self, outcome: CaseOutcome) -> int:
        """Number of cases with ``outcome``."""
        return sum(1 for case in self.cases if case.outcome == outcome)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset, as pytest writes it (the schema leaves it a string)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _clean(text: str) -> str:
    """Text XML 1.0 can carry: control characters other than tab/newline become U+FFFD."""
    return "".join(
        ch if ch in "\t\n\r" or (ord(ch) >= 0x20 and ord(ch) not in (0xFFFE, 0xFFFF)) else "\ufffd"
        for ch in text
    )


def suite_element(suite: Suite) -> ET.Element:
    """The ``<testsuite>`` element of ``suite``."""
    attrs = {
        "name": suite.name,
        "tests": str(len(suite.cases)),
        "failures": str(suite.count("failure")),
        "errors": str(suite.count("error")),
        "skipped": str(suite.count("skipped")),
        "time": _seconds(suite.seconds),
    }
    if suite.timestamp is not None:
        attrs["timestamp"] = _timestamp(suite.timestamp)
    element = ET.Element("testsuite", attrs)
    if suite.properties:
        props = ET.SubElement(element, "properties")
        for name, value in suite.properties:
            ET.SubElement(props, "property", {"name": _clean(name), "value": _clean(value)})
    for case in suite.cases:
        element.append(case_element(case))
    if suite.output:
        ET.SubElement(element, "system-out").text = _clean(suite.output)
    return element


def case_element(case: Case) -> ET.Element:
    """The ``<testcase>`` element of ``case``."""
    element = ET.Element(
        "testcase",
        {"classname": case.classname, "name": _clean(case.name), "time": _seconds(case.seconds)},
    )
    if case.outcome != "pass":
        tag = {"failure": "failure", "error": "error", "skipped": "skipped"}[case.outcome]
        attrs = {"message": _clean(case.message)}
        if case.kind:
            attrs["type"] = case.kind
        child = ET.SubElement(element, tag, attrs)
        if case.detail:
            child.text = _clean(case.detail)
    if case.output:
        ET.SubElement(element, "system-out").text = _clean(case.output)
    return element


def document(suites: Iterable[Suite | ET.Element], name: str = "hypersync-slo") -> str:
    """A whole JUnit file: ``<testsuites>`` holding each suite, with totals."""
    root = ET.Element("testsuites", {"name": name})
    tests = failures = errors = 0
    seconds = 0.0
    for suite in suites:
        element = suite if isinstance(suite, ET.Element) else suite_element(suite)
        root.append(element)
        tests += int(element.get("tests", "0"))
        failures += int(element.get("failures", "0"))
        errors += int(element.get("errors", "0"))
        seconds += float(element.get("time", "0") or 0)
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("time", _seconds(seconds))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def read_suites(text: str) -> list[ET.Element]:
    """The ``<testsuite>`` elements of a JUnit file (for combining stages into one file)."""
    root = ET.fromstring(text)
    if root.tag == "testsuite":
        return [root]
    return root.findall("testsuite") if root.tag == "testsuites" else []
