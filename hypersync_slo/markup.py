"""Markdown that outside text cannot break: code spans, fenced blocks, table cells, plain text.

Anything that came from outside (a Prometheus error, a job label, a URL, a route, a reason
quoting a response) goes into ``report.md``, ``audit.md``, ``load-summary.md`` and
``summary.md`` through one of these, so a backtick, a pipe or a code fence in it renders as
text and never closes our own markup. (HTML and JUnit are escaped by their writers.)
"""

from __future__ import annotations

import re

_BACKTICKS = re.compile(r"`+")
#: Characters that start Markdown syntax inline (CommonMark's escapable punctuation, minus
#: the ones harmless mid-sentence like '.', ',' or '-').
_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code(text: object) -> str:
    """``text`` as one inline code span, on one line, whatever backticks it holds."""
    value = " ".join(str(text).split()) or " "
    ticks = "`" * (_longest_backtick_run(value) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(text: object, info: str = "text") -> list[str]:
    """``text`` as a fenced code block (its lines), the fence longer than any run inside."""
    value = str(text)
    ticks = "`" * max(3, _longest_backtick_run(value) + 1)
    return [f"{ticks}{info}", *value.splitlines(), ticks]


def cell(text: object) -> str:
    """``text`` for a table cell: on one line, pipes and backticks escaped."""
    value = " ".join(str(text).split())
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def plain(text: object) -> str:
    """``text`` as literal inline Markdown: on one line, every syntax character escaped."""
    return _INLINE_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
