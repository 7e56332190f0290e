"""Citations of the contract's sections point at sections docs/contracts.md has.

The code, the tests and the docs cite the monitoring contract as ``docs/contracts.md §N`` (or,
inside docs/, ``contracts.md §N``); each cited N must be a numbered section (``## N. ...``)
of docs/contracts.md, so a citation never names a section that is not written.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "docs" / "contracts.md"
CITATION = re.compile(r"contracts\.md §(\d+)")
SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def sources() -> list[Path]:
    """The files that may cite the contract: the package, its checks and tests, the docs."""
    found = [ROOT / "README.md", ROOT / "ARCHITECTURE.md"]
    for folder, pattern in (
        ("hypersync_slo", "*.py"),
        ("hypersync_slo", "*.yaml"),
        ("tests", "*.py"),
        ("slo_tests", "*.py"),
        ("docs", "*.md"),
    ):
        found.extend(sorted((ROOT / folder).rglob(pattern)))
    return [path for path in found if path.is_file()]


def test_contracts_md_has_sections_one_to_five() -> None:
    """docs/contracts.md has the numbered sections 1-5 of the shared contract, in order."""
    sections = [int(n) for n in SECTION.findall(CONTRACTS.read_text("utf-8"))]
    assert sections == [1, 2, 3, 4, 5], (
        f"docs/contracts.md: expected sections 1-5 in order, observed {sections}"
    )


def test_every_citation_names_a_written_section() -> None:
    """Every ``contracts.md §N`` in the code, tests and docs names a section of docs/contracts.md."""
    sections = set(SECTION.findall(CONTRACTS.read_text("utf-8")))
    cited = 0
    dangling = []
    for path in sources():
        for number, line in _citations(path):
            cited += 1
            if number not in sections:
                dangling.append(f"{path.relative_to(ROOT)}:{line}: §{number}")
    assert cited, "no citation of docs/contracts.md found: the pattern no longer matches"
    written = ", ".join(f"§{n}" for n in sorted(sections))
    assert not dangling, (
        f"citations of sections docs/contracts.md does not have (it has {written}):\n"
        + "\n".join(dangling)
    )


def _citations(path: Path) -> list[tuple[str, int]]:
    text = path.read_text("utf-8")
    return [
        (match.group(1), text.count("\n", 0, match.start()) + 1)
        for match in CITATION.finditer(text)
    ]
