"""A raw-text parser for Prometheus text 0.0.4 and OpenMetrics 1.0.0, with line numbers.

Why our own: the Python parsers hide exactly the defects a contract gate must catch (the
0.0.4 parser renames a counter ``foo`` to ``foo_total`` and accepts a histogram without
``+Inf``; the OpenMetrics parser accepts duplicate series). So this parser keeps every sample
as written, with its line, and records structural problems (TYPE after samples, interleaved
families, blank lines or a missing ``# EOF`` in OpenMetrics, no final newline, ...) as
findings for ``lint_exposition`` instead of failing on the first one.

It raises ``ExpositionSyntaxError`` (a ``MalformedExposition``) only for a line that cannot
be read at all, naming the line and what was expected; it never raises anything else, for
any input text. It is linear in the input size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypersync_slo.errors import MalformedExposition, explain
from hypersync_slo.exposition.model import (
    OPENMETRICS,
    TEXT,
    Exposition,
    Family,
    Finding,
    Format,
    Sample,
)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_QUOTE_OR_BACKSLASH = re.compile(r'["\\]')
_BLANK = re.compile(r"[ \t]")
_COMMENT = re.compile(r"#[ \t]*([^ \t]*)[ \t]*")
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])\Z"
)
_INT = re.compile(r"[+-]?[0-9]+\Z")
_OM_TIMESTAMP = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")

TEXT_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
OPENMETRICS_TYPES = (
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "summary",
    "info",
    "stateset",
    "unknown",
)

#: Sample-name suffixes that belong to a family of the given type (besides the bare name).
_SUFFIXES: dict[Format, dict[str, tuple[str, ...]]] = {
    TEXT: {
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    },
    OPENMETRICS: {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
        "summary": ("_count", "_sum", "_created"),
        "info": ("_info",),
    },
}
_ALL_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info")


def _skip(line: str, pos: int) -> int:
    """The first position at or after ``pos`` that is not a space or tab."""
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _token_end(line: str, pos: int) -> int:
    """The end of the run of non-blank characters starting at ``pos``."""
    match = _BLANK.search(line, pos)
    return match.start() if match else len(line)


class ExpositionSyntaxError(MalformedExposition):
    """A line of a ``/metrics`` body that cannot be read at all."""

    def __init__(self, fmt: Format, line: int, problem: str, expected: str, observed: str) -> None:
        self.line = line
        self.problem = problem
        self.expected = expected
        self.observed = observed
        self.format = fmt
        super().__init__(
            explain(
                f"malformed {fmt} exposition at line {line}: {problem}",
                expected=expected,
                observed=observed,
            )
        )

    def __reduce__(self) -> tuple[type[ExpositionSyntaxError], tuple[Format, int, str, str, str]]:
        """Pickle with the constructor's arguments (the message is rebuilt from them)."""
        return (type(self), (self.format, self.line, self.problem, self.expected, self.observed))


@dataclass
class _FamilyBuilder:
    name: str
    type: str
    line: int
    help: str | None = None
    unit: str | None = None
    unit_line: int | None = None
    type_line: int | None = None
    help_line: int | None = None
    samples: list[Sample] = field(default_factory=list)
    closed: bool = False
    interleave_reported: bool = False

    def freeze(self) -> Family:
        return Family(self.name, self.type, self.help, self.unit, tuple(self.samples), self.line)


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its lower-case media type and parameters."""
    if not content_type:
        return "", {}
    head, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for part in rest:
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return head.strip().lower(), params


def format_for(content_type: str | None, text: str) -> Format:
    """The format a body is in: from its Content-Type, else by ``# EOF`` sniffing."""
    media, _ = media_type(content_type)
    if media == "application/openmetrics-text":
        return OPENMETRICS
    if media == "text/plain":
        return TEXT
    if media == "application/vnd.google.protobuf":
        raise MalformedExposition(
            explain(
                "the exposition is protobuf, which this linter does not read",
                content_type=content_type,
                expected="text/plain;version=0.0.4 or application/openmetrics-text;version=1.0.0",
                fix="ask for a text format in the Accept header",
            )
        )
    return OPENMETRICS if text.rstrip("\n").endswith("\n# EOF") or text.strip() == "# EOF" else TEXT


def parse_exposition(text: str, content_type: str | None = None) -> Exposition:
    """Parse a ``/metrics`` body; the format comes from ``content_type`` or ``# EOF`` sniffing.

    Raises ``MalformedExposition`` (an ``ExpositionSyntaxError`` naming the line and what was
    expected) for a body that cannot be read; never any other exception.
    """
    fmt = format_for(content_type, text)
    return _Parser(fmt, content_type).parse(text)


class _Parser:
    def __init__(self, fmt: Format, content_type: str | None) -> None:
        self.fmt = fmt
        self.om = fmt == OPENMETRICS
        self.content_type = content_type
        self.families: dict[str, _FamilyBuilder] = {}
        self.current: _FamilyBuilder | None = None
        self.structure: list[Finding] = []
        self.lineno = 0
        self.trailing_ws_reported = False
        self.cr_reported = False

    # -- errors and findings ------------------------------------------------------------
    def error(self, problem: str, expected: str, observed: str) -> ExpositionSyntaxError:
        shown = observed if len(observed) <= 120 else observed[:117] + "..."
        return ExpositionSyntaxError(self.fmt, self.lineno, problem, expected, repr(shown))

    def note(
        self, rule: str, message: str, metric: str | None = None, severity: str = "error"
    ) -> None:
        self.structure.append(
            Finding(
                rule, "warning" if severity == "warning" else "error", metric, message, self.lineno
            )
        )

    # -- whole body ----------------------------------------------------------------------
    def parse(self, text: str) -> Exposition:
        text = self.without_bom(text)
        lines = text.split("\n")
        ends_with_newline = text.endswith("\n")
        if ends_with_newline:
            lines.pop()
        eof_line = self.read_lines(lines)
        self.lineno = len(lines) if lines else 0
        self.check_ending(text, lines, eof_line=eof_line, ends_with_newline=ends_with_newline)
        if self.om:
            self.check_units()
        families = {name: b.freeze() for name, b in self.families.items()}
        return Exposition(
            format=self.fmt,
            content_type=self.content_type,
            families=families,
            structure=tuple(self.structure),
            line_count=len(lines),
        )

    def without_bom(self, text: str) -> str:
        if not text.startswith("\ufeff"):
            return text
        self.lineno = 1
        self.note(
            "byte-order-mark",
            "the body starts with a UTF-8 byte order mark; expositions must not",
        )
        return text[1:]

    def read_lines(self, lines: list[str]) -> int | None:
        """Read every line in turn; the number of the ``# EOF`` line (None: none)."""
        eof_line: int | None = None
        for number, raw in enumerate(lines, 1):
            self.lineno = number
            line = self.without_cr(raw) if raw.endswith("\r") else raw
            if eof_line is not None:
                self.note(
                    "om-text-after-eof",
                    f"text after '# EOF' (line {eof_line}); the exposition ends at '# EOF'",
                )
                break
            if not line.strip(" \t"):
                if self.om:
                    self.note("om-blank-line", "blank line; OpenMetrics allows none")
                continue
            body = line.lstrip(" \t")
            if body[0] != "#":
                self.sample(body)
            elif self.om and line == "# EOF":
                eof_line = number
            else:
                self.comment(body)
        return eof_line

    def without_cr(self, line: str) -> str:
        if not self.cr_reported:
            self.cr_reported = True
            self.note(
                "carriage-return",
                "line ends with \\r\\n; expositions use \\n line endings only",
            )
        return line[:-1]

    def check_ending(
        self, text: str, lines: list[str], *, eof_line: int | None, ends_with_newline: bool
    ) -> None:
        """``# EOF`` in OpenMetrics, the final newline in text, no ``# EOF`` read as text."""
        if self.om and eof_line is None:
            self.note(
                "om-missing-eof",
                "the exposition does not end with '# EOF'; OpenMetrics requires it",
            )
        if not self.om and text and not ends_with_newline:
            self.note(
                "missing-final-newline",
                "the last line does not end with \\n; the text format requires it",
            )
        if not self.om and lines and lines[-1].strip() == "# EOF":
            self.note(
                "format-mismatch",
                "the body ends with '# EOF' (OpenMetrics) but is read as text 0.0.4",
                severity="warning",
            )

    def check_units(self) -> None:
        for fam in self.families.values():
            if fam.unit and not fam.name.endswith("_" + fam.unit):
                self.structure.append(
                    Finding(
                        "om-unit-suffix",
                        "error",
                        fam.name,
                        f"# UNIT {fam.unit} is not a suffix of the family name {fam.name} "
                        f"(expected {fam.name}_{fam.unit} or no UNIT)",
                        fam.unit_line,
                    )
                )

    # -- families ------------------------------------------------------------------------
    def switch_to(self, fam: _FamilyBuilder) -> None:
        if fam is self.current:
            return
        if fam.closed and not fam.interleave_reported:
            fam.interleave_reported = True
            last = fam.samples[-1].line if fam.samples else fam.line
            self.note(
                "interleaved-family",
                f"lines of {fam.name} resume after other families (its group ended at line {last}); "
                "all lines of one metric must form one uninterrupted group",
                fam.name,
            )
        if self.current is not None:
            self.current.closed = True
        self.current = fam

    def new_family(self, name: str) -> _FamilyBuilder:
        fam = _FamilyBuilder(name, "unknown" if self.om else "untyped", self.lineno)
        self.families[name] = fam
        return fam

    def family_for_sample(self, name: str) -> _FamilyBuilder:
        fam = self.families.get(name)
        if fam is not None and fam.type_line is not None:
            return fam
        suffixes = _SUFFIXES[self.fmt]
        for suffix in _ALL_SUFFIXES:
            if name.endswith(suffix):
                base = self.families.get(name[: -len(suffix)])
                if base is not None and suffix in suffixes.get(base.type, ()):
                    return base
        return fam if fam is not None else self.new_family(name)

    # -- lines ---------------------------------------------------------------------------
    def comment(self, line: str) -> None:
        match = _COMMENT.match(line)
        keyword = match.group(1) if match else ""
        if keyword not in ("HELP", "TYPE") and not (self.om and keyword == "UNIT"):
            if self.om:
                self.note(
                    "om-comment",
                    "OpenMetrics allows only '# HELP', '# TYPE', '# UNIT' and '# EOF' lines",
                )
            return
        assert match is not None
        rest = line[match.end() :]
        name_match = _METRIC_NAME.match(rest)
        if name_match is None:
            raise self.error(
                f"'# {keyword}' without a metric name",
                f"# {keyword} <metric_name> ...",
                line,
            )
        name = name_match.group()
        after = rest[name_match.end() :]
        if after and after[0] not in " \t":
            raise self.error(
                f"invalid metric name in '# {keyword}'",
                f"# {keyword} <metric_name> ... with a name matching [a-zA-Z_:][a-zA-Z0-9_:]*",
                line,
            )
        arg = after.lstrip(" \t")
        fam = self.families.get(name) or self.new_family(name)
        if keyword == "TYPE":
            self.type_line(fam, arg.strip(" \t"), line)
        elif keyword == "HELP":
            if fam.help_line is not None:
                self.note(
                    "duplicate-metadata",
                    f'second HELP line for metric name "{name}" (first on line {fam.help_line})',
                    name,
                )
            fam.help = self.unescape_help(arg)
            fam.help_line = self.lineno
        else:
            if fam.unit_line is not None:
                self.note(
                    "duplicate-metadata",
                    f'second UNIT line for metric name "{name}" (first on line {fam.unit_line})',
                    name,
                )
            fam.unit = arg.strip(" \t") or None
            fam.unit_line = self.lineno
        if self.om and fam.samples:
            self.note(
                "metadata-after-sample",
                f"# {keyword} {name} comes after samples of {name}; metadata must precede them",
                name,
            )
        self.switch_to(fam)

    def type_line(self, fam: _FamilyBuilder, kind: str, line: str) -> None:
        allowed = OPENMETRICS_TYPES if self.om else TEXT_TYPES
        if kind not in allowed:
            raise self.error(
                f"unknown metric type {kind!r}",
                "one of " + ", ".join(allowed),
                line,
            )
        if fam.type_line is not None:
            self.note(
                "duplicate-metadata",
                f'second TYPE line for metric name "{fam.name}" (first on line {fam.type_line})',
                fam.name,
            )
        elif not self.om:
            early = [
                other
                for other in self.families.values()
                if other is not fam
                and other.samples
                and other.type_line is None
                and other.name in {fam.name + s for s in _SUFFIXES[TEXT].get(kind, ())}
            ]
            if fam.samples or early:
                first = min(s.line for f in [fam, *early] for s in f.samples)
                self.note(
                    "type-after-sample",
                    f'TYPE line for metric name "{fam.name}" comes after its first sample '
                    f"(line {first}); TYPE must precede the samples",
                    fam.name,
                )
        fam.type = kind
        fam.type_line = self.lineno
        fam.line = self.lineno

    def unescape_help(self, text: str) -> str:
        if "\\" not in text:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                if nxt == "n":
                    out.append("\n")
                elif nxt == "\\" or (self.om and nxt == '"'):
                    out.append(nxt)
                else:
                    out.append(ch + nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
        return "".join(out)

    def sample(self, line: str) -> None:
        name: str | None = None
        labels: dict[str, str] = {}
        match = _METRIC_NAME.match(line)
        pos = 0
        if match is not None:
            name = match.group()
            pos = match.end()
        elif line[0] != "{":
            raise self.error(
                "expected a metric name, a '#' line or a blank line",
                "a sample 'name{labels} value [timestamp]' with a name matching [a-zA-Z_:][a-zA-Z0-9_:]*",
                line,
            )
        brace = _skip(line, pos)
        if brace < len(line) and line[brace] == "{":
            name, pos = self.labels(line, brace, name, labels)
        if name is None:
            raise self.error(
                "sample without a metric name",
                'a metric name before the braces, or quoted inside them: {"my.name", a="b"}',
                line,
            )
        if pos >= len(line) or line[pos] not in " \t":
            raise self.error(
                "expected a space and the sample value after the metric",
                "name{labels} value [timestamp]",
                line,
            )
        pos = _skip(line, pos)
        token_end = _token_end(line, pos)
        value = self.value(line[pos:token_end], line)
        pos = _skip(line, token_end)
        timestamp: float | None = None
        if pos < len(line) and line[pos] != "#":
            token_end = _token_end(line, pos)
            timestamp = self.timestamp(line[pos:token_end], line)
            pos = _skip(line, token_end)
        if pos < len(line):
            if line[pos] == "#" and self.om:
                self.exemplar(line, pos + 1)
            else:
                raise self.error(
                    "unexpected text after the sample value and timestamp",
                    "name{labels} value [timestamp]"
                    + (" [# {exemplar labels} value [timestamp]]" if self.om else ""),
                    line,
                )
        elif line[-1] in " \t" and not self.trailing_ws_reported:
            self.trailing_ws_reported = True
            self.note(
                "trailing-whitespace",
                "whitespace after the last token of a sample; promtool's parser rejects it",
                name,
                severity="warning",
            )
        fam = self.family_for_sample(name)
        self.switch_to(fam)
        fam.samples.append(Sample(name, labels, value, self.lineno, timestamp))

    def labels(
        self, line: str, pos: int, name: str | None, labels: dict[str, str]
    ) -> tuple[str | None, int]:
        pos += 1
        while True:
            pos = _skip(line, pos)
            if pos >= len(line):
                raise self.error(
                    "label set is not closed",
                    "'}' after the last label",
                    line,
                )
            ch = line[pos]
            if ch == "}":
                return name, pos + 1
            quoted = ch == '"'
            if quoted:
                label, pos = self.quoted(line, pos, "label name")
            else:
                match = _LABEL_NAME.match(line, pos)
                if match is None:
                    raise self.error(
                        f"expected a label name or '}}' at column {pos + 1}",
                        "label names matching [a-zA-Z_][a-zA-Z0-9_]*",
                        line,
                    )
                label, pos = match.group(), match.end()
            pos = _skip(line, pos)
            if quoted and name is None and not labels and pos < len(line) and line[pos] in ",}":
                name = label
            else:
                pos = self.label_value(line, pos, label, labels)
            pos = _skip(line, pos)
            if pos < len(line) and line[pos] == ",":
                pos += 1
                continue
            if pos < len(line) and line[pos] == "}":
                return name, pos + 1
            raise self.error(
                "expected ',' or '}' after a label",
                '{a="1",b="2"}',
                line,
            )

    def label_value(self, line: str, pos: int, label: str, labels: dict[str, str]) -> int:
        """Read ``="value"`` at ``pos`` into ``labels[label]``; the position after it."""
        if pos >= len(line) or line[pos] != "=":
            raise self.error(
                f"expected '=' after label name {label!r}",
                'label="value"',
                line,
            )
        pos = _skip(line, pos + 1)
        if pos >= len(line) or line[pos] != '"':
            raise self.error(
                f"expected the value of label {label!r} in double quotes",
                'label="value"',
                line,
            )
        value, pos = self.quoted(line, pos, f"value of label {label!r}")
        if label in labels:
            raise self.error(
                f"label {label!r} appears twice in one sample",
                "each label name at most once",
                line,
            )
        labels[label] = value
        return pos

    def quoted(self, line: str, pos: int, what: str) -> tuple[str, int]:
        out: list[str] = []
        i = pos + 1
        while True:
            match = _QUOTE_OR_BACKSLASH.search(line, i)
            if match is None:
                raise self.error(
                    f"{what} has no closing double quote",
                    '"..." with \\\\, \\" and \\n as the only escapes',
                    line,
                )
            j = match.start()
            out.append(line[i:j])
            if line[j] == '"':
                return "".join(out), j + 1
            escaped = line[j + 1 : j + 2]
            if escaped == "n":
                out.append("\n")
            elif escaped in ('"', "\\"):
                out.append(escaped)
            else:
                raise self.error(
                    f"invalid escape sequence '\\{escaped}' in {what}",
                    '\\\\, \\" or \\n',
                    line,
                )
            i = j + 2

    def value(self, token: str, line: str) -> float:
        if not _FLOAT.match(token):
            raise self.error(
                f"expected a float as the sample value, got {token!r}",
                "a number such as 1, 1.5e3, NaN, +Inf or -Inf",
                line,
            )
        return float(token)

    def timestamp(self, token: str, line: str) -> float:
        if self.om:
            if not _OM_TIMESTAMP.match(token):
                raise self.error(
                    f"expected a timestamp in seconds after the value, got {token!r}",
                    "name{labels} value [timestamp_seconds]",
                    line,
                )
            return float(token)
        if not _INT.match(token):
            raise self.error(
                f"expected an integer timestamp in milliseconds after the value, got {token!r}",
                "name{labels} value [timestamp_ms]",
                line,
            )
        return int(token) / 1000.0

    def exemplar(self, line: str, pos: int) -> None:
        pos = _skip(line, pos)
        if pos >= len(line) or line[pos] != "{":
            raise self.error(
                "expected exemplar labels after '#'",
                'value # {trace_id="..."} 1.0 [timestamp]',
                line,
            )
        ex_labels: dict[str, str] = {}
        _, pos = self.labels(line, pos, "", ex_labels)
        if pos >= len(line) or line[pos] not in " \t":
            raise self.error(
                "expected the exemplar value after its labels", "# {labels} value", line
            )
        pos = _skip(line, pos)
        end = _token_end(line, pos)
        self.value(line[pos:end], line)
        pos = _skip(line, end)
        if pos < len(line):
            end = _token_end(line, pos)
            self.timestamp(line[pos:end], line)
            if _skip(line, end) < len(line):
                raise self.error(
                    "unexpected text after the exemplar", "# {labels} value [timestamp]", line
                )
        size = sum(len(k) + len(v) for k, v in ex_labels.items())
        if size > 128:
            self.note(
                "om-exemplar-too-long",
                f"exemplar labels are {size} characters; OpenMetrics allows at most 128",
            )
