"""Reading the YAML files we are handed (SLO, traffic, criteria): bounded, total, UTF-8.

``read_text_file`` refuses what is not a small regular UTF-8 file; ``load_yaml`` parses with
the safe loader under an alias cap (no "billion laughs") and turns every failure, nesting
too deep included, into ``ConfigError`` (exit 7) naming the file. Never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hypersync_slo.errors import ConfigError

#: Largest SLO (or criteria, traffic) file read: a real one is a few KiB.
MAX_FILE_BYTES = 1_048_576
#: Most YAML aliases (``*anchor``) one file may use: a few are handy, thousands are a
#: "billion laughs" that expands into gigabytes when the structure is walked.
MAX_ALIASES = 100
#: Most values a file may stand for once its aliases are expanded.
MAX_EXPANDED_NODES = 100_000


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses more than ``MAX_ALIASES`` alias references."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigError(
                    f"more than {MAX_ALIASES} YAML aliases (*name), line {mark.line + 1}: "
                    "a file that expands like this is refused; write the values out."
                )
        return super().compose_node(parent, index)

    def construct_document(self, node: Any) -> Any:
        expanded = _expanded_size(node, {})
        if expanded > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"the YAML expands to {expanded:,} values through its aliases (*name); at most "
                f"{MAX_EXPANDED_NODES:,} are read: write the values out."
            )
        return super().construct_document(node)


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (memoised, no expansion)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle (a recursive alias) counts once instead of looping
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        total = 1
    memo[key] = total
    return total


def load_yaml(text: str, *, source: str, every: bool = False) -> Any:
    """Parse YAML text safely and boundedly (the first document, or a list of all with ``every``).

    Any failure, a syntax error, too many aliases or nesting too deep, is ``ConfigError``
    naming ``source``; never a traceback.
    """
    try:
        if every:
            return list(yaml.load_all(text, Loader=_BoundedLoader))
        return yaml.load(text, Loader=_BoundedLoader)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: the YAML is nested too deeply.") from None


def read_text_file(path: str | Path, *, what: str = "SLO file") -> str:
    """The UTF-8 text of a small regular file; ``ConfigError`` (exit 7) naming what is wrong.

    Refuses a missing file, a directory or a pipe, a file over ``MAX_FILE_BYTES`` and bytes
    that are not UTF-8 (naming the line and offset of the first bad byte).
    """
    p = Path(path)
    try:
        if not p.is_file():
            problem = "it is not a regular file" if p.exists() else "it does not exist"
            raise ConfigError(f"cannot read the {what} {p}: {problem}.")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"the {what} {p} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read "
                "(is it the right file?)."
            )
        with p.open("rb") as stream:
            body = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {p}: {exc.strerror or exc}.") from None
    if len(body) > MAX_FILE_BYTES:
        raise ConfigError(f"the {what} {p} is larger than {MAX_FILE_BYTES:,} bytes.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"the {what} {p} is not UTF-8 text: byte {body[exc.start : exc.start + 1]!r} "
            f"at offset {exc.start} (line {line})."
        ) from None
