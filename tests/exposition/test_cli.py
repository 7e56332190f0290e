"""Tests of ``hypersync-slo lint-metrics``: exit codes and output for files, stdin and URLs."""

from __future__ import annotations

import io
import json
import shutil
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from prometheus_client.exposition import choose_encoder

from hypersync_slo.cli import main
from hypersync_slo.exposition import ACCEPT_TEXT, PROMETHEUS3_ACCEPT
from hypersync_slo.processes import free_port
from tests.exposition.conftest import BROKEN, CORPUS, LoopbackServer, python_client_registry

NODE = CORPUS / "node-exporter-1.5.text.txt"


@pytest.fixture
def promtool() -> str:
    """The real promtool; the test fails (not skips) when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (./quickstart does it)")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command; (exit code, stdout, stderr)."""
    code = main(["lint-metrics", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_clean_file_exits_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """A clean capture: exit 0 and one summary line naming format, families, series."""
    path = CORPUS / "prometheus-2.42.text.txt"
    code, out, _ = run(capsys, "--promtool", "never", str(path))
    assert code == 0
    assert out == (
        f"{path}: text-0.0.4 (file), 169 families, 331 series: 0 errors, 0 warnings -> ok\n"
    )


def test_warnings_alone_pass_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """node_exporter's camelCase warnings exit 0; --strict makes them exit 1."""
    code, out, _ = run(capsys, "--promtool", "never", str(NODE))
    assert code == 0
    assert (
        f"{NODE}:254: camel-case: node_memory_AnonHugePages_bytes metric names should be written "
        "in 'snake_case' not 'camelCase' (warning)\n"
    ) in out
    assert out.endswith("0 errors, 68 warnings -> ok\n")
    code, out, _ = run(capsys, "--promtool", "never", "--strict", str(NODE))
    assert code == 1
    assert out.endswith("0 errors, 68 warnings -> FAIL\n")


def test_allow_silences_third_party_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    """--allow 'node_*' silences node_exporter's naming warnings and says how many."""
    code, out, _ = run(capsys, "--promtool", "never", "--strict", "--allow", "node_*", str(NODE))
    assert code == 0
    assert out.endswith("0 errors, 0 warnings, 68 warnings silenced by --allow -> ok\n")


def test_findings_exit_1_with_file_line_rule_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A broken file exits 1 with 'file:line: rule: metric message' lines."""
    path = BROKEN / "duplicate-series.txt"
    code, out, _ = run(capsys, "--promtool", "never", str(path))
    assert code == 1
    assert out.splitlines()[0] == (
        f"{path}:5: duplicate-metric: hypersync_agents_active metric not unique: "
        'hypersync_agents_active{region="eu"} is already on line 3'
    )
    assert out.splitlines()[-1].endswith("1 errors, 0 warnings -> FAIL")


def test_openmetrics_format_flag_applies_the_stricter_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--format openmetrics reads a file as OpenMetrics: a missing '# EOF' is an error."""
    path = BROKEN / "om-missing-eof.om.txt"
    code, out, _ = run(capsys, "--format", "openmetrics", "--promtool", "never", str(path))
    assert code == 1
    assert f"{path}:3: om-missing-eof: the exposition does not end with '# EOF'" in out
    code, out, _ = run(capsys, "--format", "text", "--promtool", "never", str(path))
    assert code == 0


def test_an_unparseable_file_exits_6_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A body that cannot be read exits 6 (MALFORMED_METRICS), naming file and line."""
    path = tmp_path / "bad.txt"
    path.write_text('# TYPE a gauge\na{x="1" 1\n')
    code, out, err = run(capsys, str(path))
    assert code == 6
    assert out == f"{path}:2: malformed: expected ',' or '}}' after a label\n"
    assert err.startswith("hypersync-slo: malformed text-0.0.4 exposition at line 2:")
    assert "(exit 6: ExpositionSyntaxError)" in err


def test_binary_garbage_exits_6_quickly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Binary garbage exits 6 at once: not UTF-8, with the byte offset."""
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 40_000)
    started = time.monotonic()
    code, _, err = run(capsys, str(path))
    assert time.monotonic() - started < 5
    assert code == 6
    assert "is not UTF-8 text" in err
    assert "offset 128 (line 2)" in err


def test_stdin_is_read_with_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """'-' reads the exposition from stdin and names it <stdin>."""
    body = (BROKEN / "counter-no-total.txt").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))
    code, out, _ = run(capsys, "--promtool", "never", "-")
    assert code == 1
    assert out.startswith(
        "<stdin>:2: counter-total: hypersync_receipts_generated "
        'counter metrics should have "_total" suffix\n'
    )


def test_json_output_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one JSON document with findings, counts and the exit code."""
    code, out, _ = run(
        capsys, "--json", "--promtool", "never", str(BROKEN / "histogram-no-inf.txt")
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "text-0.0.4"
    assert (doc["errors"], doc["warnings"], doc["exit_code"]) == (1, 0, 1)
    assert doc["findings"][0]["rule"] == "histogram-no-inf"
    assert doc["findings"][0]["line"] == 3


def test_a_missing_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file that does not exist exits 2 and says what TARGET may be."""
    code, _, err = run(capsys, str(tmp_path / "nope.txt"))
    assert code == 2
    assert "no such file" in err
    assert "expected: an http(s):// URL, a file, or - for stdin" in err


@pytest.mark.usefixtures("promtool")
def test_promtool_always_prints_agreement(capsys: pytest.CaptureFixture[str]) -> None:
    """--promtool always runs the real promtool and reports agreement on node_exporter."""
    code, out, _ = run(capsys, "--promtool", "always", str(NODE))
    assert code == 0
    assert ": agrees on 68 problems, 0 only promtool, 0 only hypersync-slo" in out


@pytest.mark.usefixtures("promtool")
def test_promtool_disagreements_are_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Where promtool fails to parse what we accept, the disagreement is printed and fails."""
    path = tmp_path / "ws.txt"
    path.write_text("# HELP up_now Up.\n# TYPE up_now gauge\nup_now 1 \n")
    code, out, _ = run(capsys, "--promtool", "always", str(path))
    assert code == 1
    assert (
        f'{path}: promtool-only: promtool cannot parse it: expected integer as timestamp, got "" (line 3)'
        in out
    )
    dup = BROKEN / "duplicate-series.txt"
    code, out, _ = run(capsys, "--promtool", "always", str(dup))
    assert f"{dup}: ours-only: {dup}:5: duplicate-metric:" in out


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """--help shows examples, the rule table and the exit codes."""
    with pytest.raises(SystemExit) as info:
        main(["lint-metrics", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "hypersync-slo lint-metrics --promtool always metrics.txt" in out
    assert "histogram-no-inf" in out
    assert "exit codes:" in out


def test_a_url_is_fetched_with_prometheus3_accept_and_content_type_checked(
    capsys: pytest.CaptureFixture[str], loopback: LoopbackServer
) -> None:
    """A URL is fetched with Prometheus 3's Accept header; a captured real answer passes."""
    url = loopback.capture("/metrics", CORPUS / "pushgateway-1.5.text.txt")
    code, out, _ = run(capsys, "--promtool", "never", url)
    assert code == 0
    assert loopback.accepts == [PROMETHEUS3_ACCEPT]
    assert out.endswith("0 errors, 0 warnings -> ok\n")


def test_a_url_without_content_type_fails(
    capsys: pytest.CaptureFixture[str], loopback: LoopbackServer
) -> None:
    """A /metrics answer without Content-Type is an error (Prometheus 3 fails that scrape)."""
    url = loopback.answer("/metrics", (CORPUS / "pushgateway-1.5.text.txt").read_bytes(), {})
    code, out, _ = run(capsys, "--promtool", "never", url)
    assert code == 1
    assert f"{url}: content-type: no Content-Type header; Prometheus 3 fails the scrape" in out


def test_an_unreachable_url_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening on the port: exit 4 (TARGET_UNREACHABLE)."""
    code, _, err = run(capsys, f"http://127.0.0.1:{free_port()}/metrics")
    assert code == 4
    assert "failed" in err


def test_a_url_answering_404_exits_4(
    capsys: pytest.CaptureFixture[str], loopback: LoopbackServer
) -> None:
    """A /metrics that answers 404 exits 4 and names the status."""
    code, _, err = run(capsys, loopback.url("/nothing"))
    assert code == 4
    assert "observed: HTTP 404" in err


def test_a_10_mb_url_exits_6_quickly(
    capsys: pytest.CaptureFixture[str], loopback: LoopbackServer
) -> None:
    """An exposition over 10 MB exits 6 within seconds, naming the limit."""
    url = loopback.answer(
        "/metrics", b"x_bytes 1\n" * 1_100_000, {"Content-Type": "text/plain; version=0.0.4"}
    )
    started = time.monotonic()
    code, _, err = run(capsys, url)
    assert time.monotonic() - started < 5
    assert code == 6
    assert "is larger than the limit" in err


@pytest.mark.usefixtures("promtool")
def test_promtool_on_an_openmetrics_url_refetches_as_text(
    capsys: pytest.CaptureFixture[str], loopback: LoopbackServer
) -> None:
    """With OpenMetrics negotiated, promtool gets a second fetch with Accept: text/plain;version=0.0.4."""
    registry = python_client_registry()

    def negotiate(handler: BaseHTTPRequestHandler) -> None:
        encoder, content_type = choose_encoder(handler.headers.get("Accept", ""))
        body = encoder(registry)
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    loopback.routes["/metrics"] = negotiate
    code, out, _ = run(capsys, "--promtool", "always", loopback.url("/metrics"))
    assert loopback.accepts == [PROMETHEUS3_ACCEPT, ACCEPT_TEXT]
    assert code == 0
    assert "openmetrics-1.0.0 (application/openmetrics-text; version=1.0.0; charset=utf-8" in out
    assert "exit 0: agrees on 0 problems, 0 only promtool, 0 only hypersync-slo" in out


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --format value is a usage error: exit 2 with argparse's message."""
    with pytest.raises(SystemExit) as info:
        main(["lint-metrics", "--format", "protobuf", "x.txt"])
    assert info.value.code == 2
    assert "invalid choice: 'protobuf'" in capsys.readouterr().err


def test_text_output_caps_lines_per_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """150 duplicate series print 100 lines and a 'more not shown' line; the summary counts all."""
    path = tmp_path / "dups.txt"
    path.write_text("# HELP d_bytes D.\n# TYPE d_bytes gauge\n" + "d_bytes 1\n" * 151)
    code, out, _ = run(capsys, "--promtool", "never", str(path))
    assert code == 1
    lines = out.splitlines()
    assert sum("metric not unique" in line for line in lines) == 100
    assert f"{path}: duplicate-metric: 50 more not shown (--json lists all)" in lines
    assert lines[-1].endswith("150 errors, 0 warnings -> FAIL")
