"""Markdown that outside text cannot break: code spans, fenced blocks, table cells, plain text.

Anything that came from outside (a Prometheus error, a job label, a URL, a route, a reason
quoting a response) goes into ``report.md``, ``audit.md``, ``load-summary.md`` and
``summary.md`` through one of these, so a backtick, a pipe or a code fence in it renders as
text and never closes our own markup. (HTML and JUnit are escaped by their writers.)
"""

from __future__ import annotations

import re

_BACKTICKS = re.compile(r"`+")
#: Characters that start Markdown syntax inline: emphasis, code, links, HTML, tables.
#: An underscore inside a word (``latency_p99``) cannot start emphasis and stays as it is.
_INLINE_SPECIAL = re.compile(r"[\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: What turns the start of a line into a block: a heading, quote, list item or rule.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])|^([#>+\-=])")


def _escape(match: re.Match[str]) -> str:
    return "\\" + match[0]


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
    """``text`` for a table cell: on one line, pipes, backticks and inline syntax escaped."""
    return _INLINE_SPECIAL.sub(_escape, " ".join(str(text).split()))


def plain(text: object) -> str:
    """``text`` as literal Markdown: on one line, inline syntax and a block start escaped.

    Safe at the start of a line or a list item as well as mid-sentence.
    """
    value = _INLINE_SPECIAL.sub(_escape, " ".join(str(text).split()))
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", value, count=1)
