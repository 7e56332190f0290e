"""Tests of the promtool runner: the real binary's exit codes and output, mapped to findings."""

from __future__ import annotations

import shutil

import pytest

from hypersync_slo.exposition import lint_exposition, parse_exposition, run_promtool
from hypersync_slo.exposition import promtool as promtool_module
from hypersync_slo.exposition.promtool import compare, parse_promtool_output
from tests.exposition.conftest import BROKEN


@pytest.fixture(autouse=True)
def _promtool_installed() -> None:
    """These tests run the real promtool; they fail (not skip) when it is missing."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (./quickstart does it)")


def test_lint_problems_give_exit_3_and_findings_with_our_rule_ids() -> None:
    """promtool exits 3 on lint problems; each stderr line becomes a finding with our rule id."""
    result = run_promtool((BROKEN / "promlint.txt").read_text())
    assert result is not None
    assert result.exit_code == 3
    assert result.version[0].isdigit()
    rules = {(f.metric, f.rule) for f in result.findings}
    assert ("foo", "counter-total") in rules
    assert ("a:b", "reserved-chars") in rules
    assert ("temperature_fahrenheit", "base-units") in rules
    assert result.parse_error is None


def test_a_parse_error_gives_exit_1_and_a_finding_with_the_line() -> None:
    """promtool exits 1 on a parse error; the finding carries promtool's line and wording."""
    result = run_promtool('# HELP a A.\n# TYPE a gauge\na{x="1" 1\n')
    assert result is not None
    assert result.exit_code == 1
    error = result.parse_error
    assert error is not None
    assert error.line == 3
    assert error.message.startswith("promtool cannot parse it: unexpected end of label value")


def test_a_clean_body_gives_exit_0_and_no_findings() -> None:
    """A clean body: exit 0, nothing to report."""
    result = run_promtool("# HELP up_now Up.\n# TYPE up_now gauge\nup_now 1\n")
    assert result is not None
    assert (result.exit_code, result.findings) == (0, ())


def test_promtool_is_stricter_than_us_on_trailing_whitespace_and_the_comparison_says_so() -> None:
    """Trailing whitespace is a parse error for promtool and a warning here; both are visible."""
    text = "# HELP up_now Up.\n# TYPE up_now gauge\nup_now 1 \n"
    ours = lint_exposition(parse_exposition(text), text, check_content_type=False)
    assert [(f.rule, f.severity) for f in ours] == [("trailing-whitespace", "warning")]
    result = run_promtool(text)
    assert result is not None
    assert result.exit_code == 1
    assert result.parse_error is not None
    assert 'expected integer as timestamp, got ""' in result.parse_error.message


def test_duplicate_series_are_missed_by_this_promtool_and_caught_by_us() -> None:
    """Debian's promtool 2.42 has no duplicate rule: it passes a duplicate series that we report."""
    text = (BROKEN / "duplicate-series.txt").read_text()
    result = run_promtool(text)
    assert result is not None
    ours = lint_exposition(parse_exposition(text), text, check_content_type=False)
    comparison = compare(ours, result)
    assert [f.rule for f in comparison.only_ours] == ["duplicate-metric"]
    assert comparison.only_promtool == ()


def test_run_promtool_is_none_when_promtool_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a promtool binary, run_promtool answers None rather than failing."""
    monkeypatch.setattr(promtool_module, "promtool_path", lambda: None)
    assert run_promtool("up 1\n") is None


def test_unknown_promtool_lines_are_kept_as_errors() -> None:
    """A promtool line we do not recognise is kept verbatim as a 'promtool' finding."""
    (finding,) = parse_promtool_output("something new happened\n")
    assert (finding.rule, finding.message) == ("promtool", "something new happened")
