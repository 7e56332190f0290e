"""Markdown escaping: outside text never breaks out of a code span, a fence or a table cell."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from hypersync_slo import markup

MD = MarkdownIt("commonmark").enable("table")
HOSTILE = st.text(
    alphabet=st.sampled_from(list("`|*_#[]()<>!~\\\n -aZ01.+=:&;")),
    min_size=1,
    max_size=30,
)


def inline_tokens(text: str) -> list[object]:
    """The inline children of a one-paragraph document."""
    tokens = MD.parse(text)
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 1, tokens
    children = inline[0].children or []
    return list(children)


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_code_is_one_code_span_holding_the_text(text: str) -> None:
    """``code(x)`` renders as exactly one code span whose content is ``x`` on one line."""
    if not " ".join(text.split()):
        return
    children = inline_tokens("see " + markup.code(text) + " here")
    spans = [c for c in children if getattr(c, "type", "") == "code_inline"]
    assert len(spans) == 1, children
    assert getattr(spans[0], "content", None) == " ".join(text.split())


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_fence_holds_the_text_and_nothing_after_it_is_code(text: str) -> None:
    """A fenced block keeps the whole text inside it; the paragraph after renders as text."""
    document = "\n".join([*markup.fence(text), "", "after"])
    tokens = MD.parse(document)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    assert fences[0].content.rstrip("\n") == "\n".join(text.splitlines()).rstrip("\n")
    assert tokens[-2].type == "inline"
    assert tokens[-2].content == "after"


@settings(max_examples=150, deadline=None)
@given(HOSTILE, HOSTILE)
def test_cells_keep_the_table_shape(left: str, right: str) -> None:
    """A row of escaped cells stays a row of exactly three cells."""
    document = "\n".join(
        [
            "| a | b | c |",
            "| --- | --- | --- |",
            f"| {markup.cell(left)} | x | {markup.cell(right)} |",
        ]
    )
    tokens = MD.parse(document)
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 3
    body = [t for t in tokens if t.type == "inline"][3:]
    kinds = {c.type for t in body for c in t.children or []}
    assert kinds <= {"text"}, kinds


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_plain_renders_literally(text: str) -> None:
    """``plain(x)`` renders as text only: no emphasis, link, code or HTML."""
    if not " ".join(text.split()):
        return
    children = inline_tokens("note: " + markup.plain(text))
    kinds = {getattr(c, "type", "") for c in children}
    assert kinds <= {"text", "softbreak"}, kinds


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_plain_is_safe_as_a_list_item(text: str) -> None:
    """``- plain(x)`` is one list item holding one paragraph of text, whatever ``x`` starts with."""
    if not " ".join(text.split()):
        return
    tokens = MD.parse("- " + markup.plain(text))
    kinds = [t.type for t in tokens]
    assert kinds == [
        "bullet_list_open",
        "list_item_open",
        "paragraph_open",
        "inline",
        "paragraph_close",
        "list_item_close",
        "bullet_list_close",
    ], kinds
    children = {c.type for t in tokens if t.type == "inline" for c in t.children or []}
    assert children <= {"text", "softbreak"}, children
