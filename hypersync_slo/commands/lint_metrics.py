"""``hypersync-slo lint-metrics``: lint a /metrics exposition like promtool, and more."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

from hypersync_slo.errors import MalformedExposition, TargetUnreachable, UsageError, explain
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.exposition import (
    ACCEPT_OPENMETRICS,
    ACCEPT_TEXT,
    PROMETHEUS3_ACCEPT,
    RULES,
    Comparison,
    Exposition,
    ExpositionSyntaxError,
    Finding,
    PromtoolResult,
    apply_allow,
    compare,
    decode_body,
    fetch_exposition,
    lint_exposition,
    parse_exposition,
    promtool_path,
    run_promtool,
)
from hypersync_slo.inputs import http_url, seconds_arg
from hypersync_slo.processes import find_tool

DESCRIPTION = """\
Lint a Prometheus exposition (text 0.0.4 or OpenMetrics 1.0.0) from a URL, a file or stdin.

It checks promtool's naming rules (same wording) and what promtool and the Python parsers
miss: duplicate series, histograms without le="+Inf", non-cumulative or unordered buckets,
_count != +Inf bucket, TYPE after samples, interleaved families, NaN or negative counters,
'__' labels, OpenMetrics framing (# EOF, blank lines, UNIT suffix, counter samples without
_total), and for a URL the Content-Type (Prometheus 3 fails a scrape without a valid one).

One line per finding, 'SOURCE:LINE: RULE: METRIC MESSAGE', then a summary line. Errors
fail (exit 1); warnings (naming lint) pass unless --strict. A counter without _total is an
error: the HyperSync contract requires the suffix.

examples:
  hypersync-slo lint-metrics http://127.0.0.1:8080/metrics
      what Prometheus 3 would get (its default Accept header), Content-Type included
  hypersync-slo lint-metrics --format openmetrics http://127.0.0.1:8080/metrics
      ask for OpenMetrics 1.0.0 and hold the body to its stricter rules
  curl -s localhost:9100/metrics | hypersync-slo lint-metrics --allow 'node_*' -
      node_exporter from stdin; its kernel-named families (node_memory_MemAvailable_bytes)
      are camelCase by design, so their naming warnings are silenced
  hypersync-slo lint-metrics --promtool always metrics.txt
      also run the real 'promtool check metrics' and print where it and we disagree
  hypersync-slo lint-metrics --json --strict metrics.txt > lint.json
      machine-readable findings; warnings fail too

rules:
{rules}

"""


def _rules_table() -> str:
    rows = []
    for rule in RULES.values():
        mark = "promtool" if rule.promtool else ""
        rows.append(f"  {rule.id:<26}{rule.severity:<8}{mark:<9}{rule.checks}")
    return "\n".join(rows)


def register(sub: Any) -> None:
    """Add the ``lint-metrics`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "lint-metrics",
        help="lint a /metrics exposition (URL, FILE or -) like promtool, and more",
        description=DESCRIPTION.format(rules=_rules_table()),
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="URL|FILE|-", help="http(s) URL, a file, or - for stdin")
    parser.add_argument(
        "--format",
        choices=("auto", "text", "openmetrics"),
        default="auto",
        help="URL: the format to ask for (auto = Prometheus 3's default Accept); "
        "FILE: the format to read it as (auto = OpenMetrics when it ends with '# EOF')",
    )
    parser.add_argument(
        "--promtool",
        choices=("auto", "always", "never"),
        default="auto",
        help="also run the real 'promtool check metrics' (text 0.0.4 only) and print where it "
        "disagrees; auto = when installed (default: auto)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NAME",
        help="family name or shell pattern whose naming warnings are silenced (repeatable), "
        "e.g. 'node_*'",
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    parser.add_argument(
        "--content-type",
        metavar="TYPE",
        help="FILE/-: check it as if served with this Content-Type (default: no check)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg("--timeout", maximum=600),
        default=10.0,
        help="URL: seconds for the whole response (10)",
    )
    parser.add_argument("--insecure", action="store_true", help="URL: do not verify TLS")
    parser.set_defaults(func=handle)


#: Text output shows at most this many findings per rule (a 10 MB body can have 100k duplicates).
MAX_LINES_PER_RULE = 100

_FILE_CONTENT_TYPES = {
    "text": "text/plain; version=0.0.4; charset=utf-8",
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "auto": None,
}
_ACCEPT = {"auto": PROMETHEUS3_ACCEPT, "text": ACCEPT_TEXT, "openmetrics": ACCEPT_OPENMETRICS}


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _fetch(url: str, accept: str, args: argparse.Namespace) -> tuple[str, str | None]:
    url = http_url(url, option="URL")
    fetched = fetch_exposition(url, accept=accept, timeout=args.timeout, verify=not args.insecure)
    for hop in fetched.redirects:
        print(f"note: followed a redirect: {hop}", file=sys.stderr)
    if fetched.status_code != 200:
        raise TargetUnreachable(
            explain(
                f"GET {url} did not answer 200",
                observed=f"HTTP {fetched.status_code} ({fetched.content_type or 'no Content-Type'})",
                expected="200 with the exposition",
                accept=accept,
            )
        )
    return fetched.text, fetched.content_type


#: Largest exposition read from a file or stdin (a saved capture may exceed a live scrape's
#: 10 MB; this bounds memory, not what a linter may look at).
MAX_FILE_BYTES = 64_000_000


def _bounded(stream: BinaryIO, source: str) -> bytes:
    """At most ``MAX_FILE_BYTES`` from ``stream``; more is a malformed exposition (exit 6)."""
    body = stream.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise MalformedExposition(
            explain(
                f"the exposition in {source} is larger than the limit",
                limit=f"{MAX_FILE_BYTES} bytes",
                observed=f"more than {MAX_FILE_BYTES} bytes (stopped reading)",
            )
        )
    return body


def _read(args: argparse.Namespace) -> tuple[str, str, str | None, bool]:
    """(source label, text, content type, whether to check the content type)."""
    target: str = args.target
    if _is_url(target):
        text, content_type = _fetch(target, _ACCEPT[args.format], args)
        return target, text, content_type, True
    if target == "-":
        source, body = "<stdin>", _bounded(sys.stdin.buffer, "<stdin>")
    else:
        path = Path(target)
        if not path.is_file():
            raise UsageError(
                explain(
                    f"no such file: {target}",
                    expected="an http(s):// URL, a file, or - for stdin",
                )
            )
        try:
            with path.open("rb") as stream:
                source, body = target, _bounded(stream, target)
        except OSError as exc:
            raise UsageError(f"cannot read {target}: {exc.strerror or exc}.") from None
    content_type = args.content_type or _FILE_CONTENT_TYPES[args.format]
    return source, decode_body(body, source), content_type, args.content_type is not None


def _line(source: str, finding: Finding) -> str:
    where = f"{source}:{finding.line}" if finding.line is not None else source
    metric = f"{finding.metric} " if finding.metric else ""
    tail = " (warning)" if finding.severity == "warning" else ""
    return f"{where}: {finding.rule}: {metric}{finding.message}{tail}"


def _promtool_pass(
    args: argparse.Namespace, source: str, expo: Exposition, text: str, findings: list[Finding]
) -> tuple[PromtoolResult | None, Comparison | None, str | None]:
    """Run promtool on a text-0.0.4 body; (result, comparison, note when skipped)."""
    if args.promtool == "never":
        return None, None, None
    if args.promtool == "always":
        find_tool("promtool")
    elif promtool_path() is None:
        return None, None, "promtool not installed: skipped the comparison"
    if expo.format != "text-0.0.4":
        if not _is_url(args.target):
            return None, None, "promtool reads text 0.0.4 only; this body is OpenMetrics: skipped"
        text, content_type = _fetch(args.target, ACCEPT_TEXT, args)
        try:
            expo = parse_exposition(text, content_type)
        except MalformedExposition:
            findings = []
        else:
            findings = lint_exposition(expo, check_content_type=False)
    result = run_promtool(text)
    if result is None:
        return None, None, "promtool not installed: skipped the comparison"
    return result, compare(findings, result), None


def handle(args: argparse.Namespace) -> int:
    """Read, parse, lint, compare with promtool, print; exit 0/1 (6 when unparseable)."""
    source, text, content_type, check_ct = _read(args)
    served_as = (content_type or "no Content-Type") if check_ct else "file"
    try:
        expo = parse_exposition(text, content_type)
    except MalformedExposition as exc:
        line = exc.line if isinstance(exc, ExpositionSyntaxError) else None
        problem = (
            exc.problem if isinstance(exc, ExpositionSyntaxError) else str(exc).splitlines()[0]
        )
        if args.json:
            print(json.dumps({"source": source, "malformed": {"line": line, "message": str(exc)}}))
        else:
            print(
                f"{source}:{line}: malformed: {problem}"
                if line
                else f"{source}: malformed: {problem}"
            )
        raise
    every = lint_exposition(expo, text, check_content_type=check_ct)
    findings, suppressed = apply_allow(every, args.allow)
    result, comparison, note = _promtool_pass(args, source, expo, text, every)
    if result is not None and result.parse_error is not None:
        findings.append(result.parse_error)
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    failed = errors > 0 or (args.strict and warnings > 0)
    code = ExitCode.FAIL if failed else ExitCode.PASS
    if args.json:
        _print_json(
            source=source,
            expo=expo,
            findings=findings,
            suppressed=suppressed,
            result=result,
            comparison=comparison,
            note=note,
            code=code,
        )
        return code
    shown: dict[str, int] = {}
    for finding in findings:
        shown[finding.rule] = shown.get(finding.rule, 0) + 1
        if shown[finding.rule] <= MAX_LINES_PER_RULE:
            print(_line(source, finding))
    for rule, count in shown.items():
        if count > MAX_LINES_PER_RULE:
            print(
                f"{source}: {rule}: {count - MAX_LINES_PER_RULE} more not shown (--json lists all)"
            )
    if result is not None and comparison is not None:
        _print_comparison(source, result, comparison)
    if note:
        print(f"{source}: {note}")
    extra = f", {len(suppressed)} warnings silenced by --allow" if suppressed else ""
    print(
        f"{source}: {expo.format} ({served_as}), "
        f"{len(expo.families)} families, {expo.series_count()} series: "
        f"{errors} errors, {warnings} warnings{extra} -> {'FAIL' if failed else 'ok'}"
    )
    return code


def _print_comparison(source: str, result: PromtoolResult, comparison: Comparison) -> None:
    for metric, message in comparison.only_promtool:
        print(f"{source}: promtool-only: {metric} {message}")
    for finding in comparison.only_ours:
        print(f"{source}: ours-only: {_line(source, finding)}")
    if result.parse_error is not None:
        print(
            f"{source}: promtool-only: {result.parse_error.message} (line {result.parse_error.line})"
        )
    print(
        f"{source}: promtool ({result.version}) exit {result.exit_code}: agrees on "
        f"{len(comparison.agreed)} problems, {len(comparison.only_promtool)} only promtool, "
        f"{len(comparison.only_ours)} only hypersync-slo"
    )


def _print_json(
    *,
    source: str,
    expo: Exposition,
    findings: list[Finding],
    suppressed: list[Finding],
    result: PromtoolResult | None,
    comparison: Comparison | None,
    note: str | None,
    code: int,
) -> None:
    promtool: dict[str, object] | None = None
    if result is not None and comparison is not None:
        promtool = {
            "version": result.version,
            "exit_code": result.exit_code,
            "agreed": [list(pair) for pair in comparison.agreed],
            "only_promtool": [list(pair) for pair in comparison.only_promtool],
            "only_ours": [f.as_dict() for f in comparison.only_ours],
            "parse_error": result.parse_error.as_dict() if result.parse_error else None,
        }
    document = {
        "source": source,
        "format": expo.format,
        "content_type": expo.content_type,
        "families": len(expo.families),
        "series": expo.series_count(),
        "findings": [f.as_dict() for f in findings],
        "errors": sum(f.severity == "error" for f in findings),
        "warnings": sum(f.severity == "warning" for f in findings),
        "suppressed": len(suppressed),
        "promtool": promtool,
        "note": note,
        "exit_code": int(code),
    }
    print(json.dumps(document, indent=2))
