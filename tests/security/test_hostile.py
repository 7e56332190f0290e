"""Every command against hostile inputs: exit codes from the table, no traceback, no secret written.

Each case runs the real command (in a child process where its files or timing are the point,
in-process where only the exit code and message are) against real loopback servers: a target,
a Prometheus that echoes credentials into its errors, a redirect to another origin on
127.0.0.2, a listener that never answers. After each: the exit code is one of the documented
codes, stderr holds no Python traceback, no canary secret is in any output or file, and no
file under the output directory is empty.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from hypersync_slo.cli import main
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.pipeline import StageResult, job_verdict
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report.reconcile import ServerCounts, reconcile
from hypersync_slo.results import LoadResult
from tests.security.conftest import CANARY_PASSWORD, CANARY_TOKEN
from tests.security.servers import Server

DOCUMENTED = {int(code) for code in ExitCode}
CANARIES = (CANARY_PASSWORD, CANARY_TOKEN)
#: Enough for a child process that imports pandas and matplotlib on a busy machine.
CHILD_TIMEOUT = 180


@dataclass
class Done:
    """What a command did: exit code, stdout, stderr, seconds."""

    code: int
    out: str
    err: str
    seconds: float = 0.0


def run_child(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Done:
    """``hypersync-slo ARGS`` in a child process (cwd ``cwd``), bounded in time."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_here(args: Sequence[str], env: Mapping[str, str] | None = None) -> Done:
    """``hypersync-slo ARGS`` in this process; any exception escaping ``main`` fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, dict(env or {})), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: usage errors are exit 2
            code = exc.code if isinstance(exc.code, int) else 2
    return Done(code, out.getvalue(), err.getvalue())


def assert_clean(done: Done, *places: Path, secrets: Sequence[str] = CANARIES) -> None:
    """Documented exit code, no traceback, no secret in output or files, no empty file."""
    assert done.code in DOCUMENTED, f"exit {done.code} is not documented\n{done.err}"
    assert "Traceback" not in done.err, done.err
    assert "Traceback" not in done.out, done.out
    assert "internal error" not in done.err, done.err  # main's last-resort paragraph: a bug
    for secret in secrets:
        assert secret not in done.out, f"{secret} on stdout"
        assert secret not in done.err, f"{secret} on stderr"
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            assert data, f"{path} is empty"
            for secret in secrets:
                assert secret.encode() not in data, f"{secret} written in {path}"


def url_with_password(server: Server) -> str:
    """The server's URL with a canary user:password in it."""
    return server.url.replace("http://", f"http://ops:{CANARY_PASSWORD}@")


# --- 1-2: secrets never written --------------------------------------------------------------


def test_check_writes_neither_url_password_nor_token(plain_target: Server, tmp_path: Path) -> None:
    """check: the password in --target-url and the token are used but never printed or written."""
    out = tmp_path / "out"
    done = run_child(
        [
            "check",
            "--target-url",
            url_with_password(plain_target),
            "--auth-token-env",
            "HS_TOKEN",
            "--junit-xml",
            str(out / "junit.xml"),
            "--timeout",
            "2",
        ],
        tmp_path,
        {"HS_TOKEN": CANARY_TOKEN},
    )
    assert_clean(done, out)
    assert (out / "junit.xml").is_file()
    sent = {entry.headers.get("authorization") for entry in plain_target.log}
    # httpx turns URL userinfo into basic auth, which wins over the bearer header.
    assert sent - {None}, "no credential was even sent: the test proves nothing"
    assert "***@" in done.out


def test_report_masks_credentials_echoed_by_prometheus(
    hostile_prometheus: Server, tmp_path: Path
) -> None:
    """report: a Prometheus echoing the token into its errors never gets it into a file.

    Its error also holds a code fence, a pipe and a script tag: report.md keeps it inside one
    fence, report.html escapes it, junit.xml stays well-formed.
    """
    out = tmp_path / "report"
    done = run_child(
        [
            "report",
            "--prometheus-url",
            url_with_password(hostile_prometheus),
            "--last",
            "5m",
            "--job",
            "hyper`sync|x",
            "--out",
            str(out),
        ],
        tmp_path,
        {"HYPERSYNC_PROMETHEUS_TOKEN": CANARY_TOKEN},
    )
    assert done.code == ExitCode.PROMETHEUS_UNAVAILABLE, done.err
    assert_clean(done, out)
    assert all(e.headers.get("authorization") for e in hostile_prometheus.log)
    markdown = (out / "report.md").read_text("utf-8")
    # URL userinfo becomes basic auth (base64 of user:password): masked as a secret too.
    assert "credentials seen: Basic ***" in markdown
    tokens = MarkdownIt("commonmark").parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "injected heading" not in headings, "the error closed its code fence"
    assert any(
        child.type == "code_inline" and child.content == "hyper`sync|x"
        for token in tokens
        if token.type == "inline"
        for child in token.children or []
    ), "the job label broke out of its code span"
    assert "<script>alert(1)</script>" not in (out / "report.html").read_text("utf-8")
    ET.parse(out / "junit.xml")  # well-formed despite the hostile text


def test_audit_without_data_exits_3_and_stores_no_password(
    empty_prometheus: Server, tmp_path: Path
) -> None:
    """audit: no data is exit 3 (criteria or not); audit.json/md and the history hold no password."""
    out, history = tmp_path / "audit", tmp_path / "history.sqlite"
    done = run_child(
        [
            "audit",
            "--prometheus-url",
            url_with_password(empty_prometheus),
            "--last",
            "1d",
            "--history",
            str(history),
            "--out",
            str(out),
        ],
        tmp_path,
    )
    assert done.code == ExitCode.NO_DATA, done.out + done.err
    assert_clean(done, out, history)
    assert "open in Prometheus](<http://***@" in (out / "audit.md").read_text("utf-8")
    with sqlite3.connect(history) as db:
        sources = [row[0] for row in db.execute("SELECT source FROM entries")]
    assert sources
    assert all(source.startswith("http://***@") for source in sources), sources


def test_load_writes_no_url_password(plain_target: Server, tmp_path: Path) -> None:
    """load: a password in --target-url is in no result file and on no output."""
    out = tmp_path / "load"
    done = run_child(
        [
            "load",
            "--target-url",
            url_with_password(plain_target),
            "--rps",
            "20",
            "--duration",
            "2s",
            "--quiet",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    assert_clean(done, out)
    assert (out / "load-result.json").is_file(), done.err
    assert plain_target.log, "no request reached the target: the test proves nothing"


def test_run_summary_and_gate_files_hold_no_password(plain_target: Server, tmp_path: Path) -> None:
    """run: summary.json/md and the gate's JUnit file show the URL without its password."""
    out = tmp_path / "run"
    done = run_child(
        [
            "run",
            "--target-url",
            url_with_password(plain_target),
            "--skip",
            "load",
            "--skip",
            "report",
            "--no-history",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    assert_clean(done, out)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["target_url"].startswith("http://***@127.0.0.1:")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (CANARY_TOKEN + "\n", "line break"),
        (CANARY_TOKEN + "é", "non-ASCII"),
        (CANARY_TOKEN + "\x01", "control character"),
    ],
)
def test_bad_token_is_refused_naming_the_variable(value: str, problem: str) -> None:
    """A token a header cannot carry: exit 2 before any request, naming $VAR, never the value."""
    done = run_here(
        ["check", "--target-url", "http://127.0.0.1:9", "--auth-token-env", "HS_TOKEN"],
        {"HS_TOKEN": value},
    )
    assert done.code == ExitCode.USAGE
    assert "$HS_TOKEN" in done.err
    assert problem in done.err
    assert_clean(done)
    done = run_here(
        ["report", "--prometheus-url", "http://127.0.0.1:9", "--last", "5m"],
        {"HYPERSYNC_PROMETHEUS_TOKEN": value},
    )
    assert done.code == ExitCode.USAGE
    assert "$HYPERSYNC_PROMETHEUS_TOKEN" in done.err
    assert_clean(done)


# --- 3: auth never leaves its origin ---------------------------------------------------------


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_no_credential_follows_a_redirect_to_another_host(
    header: str, redirecting_target: Server, other_host: Server, tmp_path: Path
) -> None:
    """The gate sends its token to the target, never to the host its /metrics redirects to."""
    done = run_child(
        [
            "check",
            "--target-url",
            redirecting_target.url,
            "--auth-header",
            header,
            "--auth-token-env",
            "HS_TOKEN",
            "-k",
            "metrics",
        ],
        tmp_path,
        {"HS_TOKEN": CANARY_TOKEN},
    )
    assert_clean(done)
    assert other_host.log, "nothing followed the redirect: the test proves nothing"
    for entry in other_host.log:
        assert CANARY_TOKEN not in json.dumps(entry.headers), entry.headers
    assert any(CANARY_TOKEN in json.dumps(e.headers) for e in redirecting_target.log)
    assert "redirects followed" in done.out
    assert "127.0.0.2" in done.out


def test_lint_metrics_says_it_followed_a_redirect(
    redirecting_target: Server, other_host: Server, tmp_path: Path
) -> None:
    """lint-metrics names the redirect it followed to another origin."""
    done = run_child(["lint-metrics", redirecting_target.url + "/metrics"], tmp_path)
    assert_clean(done)
    assert "followed a redirect" in done.err
    assert other_host.url in done.err
    assert "another origin" in done.err


# --- 4: outputs probed before any work ---------------------------------------------------------


@pytest.mark.parametrize("command", ["load", "report", "audit", "check", "run"])
@pytest.mark.parametrize("shape", ["existing file", "below a file"])
def test_unwritable_output_is_exit_10_before_any_request(
    command: str, shape: str, plain_target: Server, tmp_path: Path
) -> None:
    """An output that cannot be written is exit 10 with a sentence; the server saw no request."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory", "utf-8")
    out = blocker if shape == "existing file" else blocker / "sub"
    url = plain_target.url
    args = {
        "load": ["load", "--target-url", url, "--rps", "50", "--duration", "5s", "--out", str(out)],
        "report": ["report", "--prometheus-url", url, "--last", "5m", "--out", str(out)],
        "audit": ["audit", "--prometheus-url", url, "--no-history", "--out", str(out)],
        "check": ["check", "--target-url", url, "--junit-xml", str(out / "junit.xml")],
        "run": ["run", "--target-url", url, "--skip", "report", "--no-history", "--out", str(out)],
    }[command]
    # load into an existing file runs as its own process (the acceptance case); the others
    # in this process, which is as real for a refusal that happens before any request.
    as_child = command == "load" and shape == "existing file"
    done = run_child(args, tmp_path) if as_child else run_here(args)
    assert done.code == ExitCode.COULD_NOT_RUN, done.out + done.err
    assert_clean(done)
    assert "cannot be written" in done.err or "not a directory" in done.err, done.err
    assert plain_target.log == [], f"{command} sent {len(plain_target.log)} requests"
    assert blocker.read_text("utf-8") == "not a directory"


def test_a_disk_filling_up_mid_report_loses_nothing_written(
    empty_prometheus: Server, tmp_path: Path
) -> None:
    """A write failing midway (file size limit, as a full disk): exit 10 naming what was written.

    Every file that could be written is complete; none is empty or half-written; no temporary
    file is left.
    """
    out = tmp_path / "report"
    limit = 60_000  # verdict.json, report.md and junit.xml fit; report.html (plots) does not

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hypersync_slo",
            "report",
            "--prometheus-url",
            empty_prometheus.url,
            "--last",
            "5m",
            "--settle-timeout",
            "1",  # no target will ever be scraped: do not wait for one
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
        preexec_fn=small_files,
    )
    result = Done(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    assert result.code == ExitCode.COULD_NOT_RUN, result.err
    assert_clean(result, out)
    assert "report.html" in result.err
    assert "written: verdict.json" in result.err
    json.loads((out / "verdict.json").read_text("utf-8"))
    assert not (out / "report.html").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


# --- 5: every parser total -------------------------------------------------------------------

BAD_URLS = [
    "http://127.0.0.1:abc",
    "http://[::1",
    "file:///etc/passwd",
    "ftp://127.0.0.1/x",
    "127.0.0.1:8080",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:0",
    "http://",
    "http://exa mple.com",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", ["check", "load", "run", "report", "audit", "lint-metrics"])
def test_bad_urls_are_exit_2_without_traceback(command: str, url: str) -> None:
    """Every command refuses a malformed, non-http or out-of-range URL with exit 2."""
    args = {
        "check": ["check", "--target-url", url],
        "load": ["load", "--target-url", url],
        "run": ["run", "--target-url", url, "--skip", "report"],
        "report": ["report", "--prometheus-url", url, "--last", "5m"],
        "audit": ["audit", "--prometheus-url", url],
        "lint-metrics": ["lint-metrics", url],  # not a URL: a file that does not exist
    }[command]
    done = run_here(args)
    assert done.code == ExitCode.USAGE, done.err
    assert_clean(done)


def _slo_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Hostile SLO files: name -> (path, text expected in the message)."""
    files: dict[str, tuple[bytes, str]] = {
        "not utf-8": (b"objectives:\n  availability: '\xff>= 99%'\n", "not UTF-8"),
        "alias bomb": (
            b"a: &a [x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n".encode()
                for p, n in zip("abcdefg", "bcdefgh", strict=True)
            )
            + b"objectives:\n  availability: *h\n",
            "aliases",
        ),
        "deep nesting": (b"objectives: " + b"[" * 20000 + b"]" * 20000 + b"\n", "nested"),
        "negative timeout": (
            b"objectives:\n  availability: '>= 99%'\nhealth:\n  live_timeout: -1s\n",
            "health.live_timeout",
        ),
        "huge tail": (
            b"objectives:\n  availability: '>= 99%'\nmin_tail_samples: 1000000000\n",
            "min_tail_samples",
        ),
        "not a mapping": (b"- just\n- a list\n", "mapping"),
    }
    out: dict[str, tuple[Path, str]] = {}
    for name, (body, expected) in files.items():
        path = tmp / (name.replace(" ", "-") + ".yaml")
        path.write_bytes(body)
        out[name] = (path, expected)
    big = tmp / "fifty-mb.yaml"
    with big.open("wb") as stream:
        stream.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    out["50 MB"] = (big, "bytes")
    return out


@pytest.mark.parametrize(
    "name",
    [
        "not utf-8",
        "alias bomb",
        "deep nesting",
        "negative timeout",
        "huge tail",
        "not a mapping",
        "50 MB",
    ],
)
def test_hostile_slo_file_is_exit_7_quickly(name: str, tmp_path: Path) -> None:
    """A hostile SLO file is exit 7 naming the problem within seconds, never a traceback."""
    path, expected = _slo_files(tmp_path)[name]
    started = time.monotonic()
    done = run_here(["check", "--target-url", "http://127.0.0.1:9", "--slo-config", str(path)])
    assert done.code == ExitCode.BAD_CONFIG, done.err
    assert expected in done.err
    assert_clean(done)
    assert time.monotonic() - started < 30, "the SLO file was not refused up front"


URLS = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda scheme, userinfo, host, port, path: f"{scheme}{userinfo}{host}{port}{path}",
        st.sampled_from(["http://", "https://", "ftp://", "", "HTTP://", "http:/"]),
        st.sampled_from(["", "u:p@", f"u:{CANARY_PASSWORD}@", "@", ":@"]),
        st.sampled_from(["127.0.0.1", "[::1]", "[::1", "localhost", "", "exa mple", "a" * 300]),
        st.one_of(st.just(""), st.integers(-5, 100000).map(lambda p: f":{p}"), st.just(":x")),
        st.sampled_from(["", "/", "/metrics", "?q=1", "#f", "/\x00"]),
    ),
)
DURATIONS = st.one_of(
    st.text(max_size=12),
    st.builds(
        lambda n, unit: f"{n}{unit}",
        st.one_of(st.integers(-10, 10**9), st.floats(allow_nan=True, allow_infinity=True)),
        st.sampled_from(["", "s", "ms", "m", "h", "d", "%", "x", " s"]),
    ),
)
HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(url=URLS)
def test_any_url_is_a_documented_exit(url: str, tmp_path: Path) -> None:
    """Whatever the URL, report/audit/load/check end with exit 2 or 10 (output refused), no traceback."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x", "utf-8")
    for args in (
        ["report", "--prometheus-url", url, "--last", "5m", "--out", str(blocker)],
        ["audit", "--prometheus-url", url, "--no-history", "--out", str(blocker)],
        ["load", "--target-url", url, "--duration", "1s", "--out", str(blocker)],
        ["check", "--target-url", url, "--junit-xml", str(tmp_path)],
    ):
        done = run_here(args)
        assert done.code in (ExitCode.USAGE, ExitCode.COULD_NOT_RUN), (args, done.err)
        assert_clean(done)


@HYPOTHESIS
@given(duration=DURATIONS)
def test_any_duration_is_a_documented_exit(duration: str, tmp_path: Path) -> None:
    """Whatever the duration, report --last, audit --last and load --duration end in 2 or 10."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x", "utf-8")
    url = "http://127.0.0.1:9"
    for args in (
        ["report", "--prometheus-url", url, "--last", duration, "--out", str(blocker)],
        [
            "audit",
            "--prometheus-url",
            url,
            "--last",
            duration,
            "--no-history",
            "--out",
            str(blocker),
        ],
        ["load", "--target-url", url, "--duration", duration, "--out", str(blocker)],
        ["check", "--target-url", url, "--timeout", duration, "--junit-xml", str(tmp_path)],
    ):
        done = run_here(args)
        assert done.code in (ExitCode.USAGE, ExitCode.COULD_NOT_RUN), (args, done.err)
        assert_clean(done)


@HYPOTHESIS
@given(
    token=st.text(
        # What an environment variable can hold: no NUL, no lone surrogate.
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
        min_size=1,
        max_size=30,
    )
)
def test_any_token_is_refused_by_name_or_accepted(token: str, tmp_path: Path) -> None:
    """Whatever the token: exit 2 naming the variable, or accepted (then exit 10 on the output)."""
    done = run_here(
        [
            "check",
            "--target-url",
            "http://127.0.0.1:9",
            "--auth-token-env",
            "HS_TOKEN",
            "--junit-xml",
            str(tmp_path),
        ],
        {"HS_TOKEN": token},
    )
    assert done.code in (ExitCode.USAGE, ExitCode.COULD_NOT_RUN), done.err
    if done.code == ExitCode.USAGE:
        assert "$HS_TOKEN" in done.err
    secrets = [token.strip()] if len(token.strip()) >= 4 else []
    assert_clean(done, secrets=secrets)


SLO_KEYS = ["objectives", "health", "alerts", "load", "metrics", "min_tail_samples", "version"]
YAML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["< 100ms", ">= 99.9%", "-1s", "1e999", "nan", "*a", "&a x"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SLO_TEXT = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(SLO_KEYS), YAML_VALUES, max_size=5).map(
        lambda d: json.dumps(d, default=str)
    ),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@HYPOTHESIS
@given(text=SLO_TEXT, raw=st.booleans())
def test_any_slo_file_is_a_documented_exit(text: str, raw: bool, tmp_path: Path) -> None:
    """Whatever the SLO file holds: exit 7, or accepted (then exit 10 on the output); no traceback."""
    path = tmp_path / "slo.yaml"
    path.write_bytes(text.encode("latin-1", "replace") if raw else text.encode("utf-8"))
    done = run_here(
        [
            "check",
            "--target-url",
            "http://127.0.0.1:9",
            "--slo-config",
            str(path),
            "--junit-xml",
            str(tmp_path),
        ]
    )
    assert done.code in (ExitCode.BAD_CONFIG, ExitCode.COULD_NOT_RUN), done.err
    assert_clean(done)


# --- 7: verdict precedence -------------------------------------------------------------------


def test_run_refuses_a_foreign_load_target_before_the_gate(tmp_path: Path) -> None:
    """run: a load target that is not allow-listed is exit 2 before any stage, the gate included."""
    done = run_here(
        [
            "run",
            "--target-url",
            "http://hypersync.example.invalid",
            "--skip",
            "report",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert done.code == ExitCode.USAGE
    assert "refusing to send load" in done.err
    assert "contract gate" not in done.out
    assert_clean(done)


def _stage(name: str, code: int) -> StageResult:
    """A finished stage with ``code``."""
    return StageResult(name, [], code, "", 0.0)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ({"report": 3, "history": 10}, ExitCode.NO_DATA),
        ({"report": 1, "history": 10}, ExitCode.FAIL),
        ({"report": 9, "history": 10}, ExitCode.LOAD_SATURATED),
        ({"report": 0, "history": 10}, ExitCode.COULD_NOT_RUN),
        ({"contract gate": 4, "report": 1}, ExitCode.FAIL),
        ({"report": 0, "history": 0}, ExitCode.PASS),
    ],
)
def test_a_history_fault_never_hides_a_worse_verdict(
    codes: dict[str, int], expected: ExitCode
) -> None:
    """The history stage's fault decides only when every judging stage passed."""
    assert job_verdict([_stage(name, code) for name, code in codes.items()]) is expected


# --- 8: history ------------------------------------------------------------------------------


def test_history_on_a_missing_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    """history on a path that does not exist: exit 3 with a sentence, and no file appears."""
    path = tmp_path / "nowhere" / "history.sqlite"
    done = run_here(["history", "--history", str(path)])
    assert done.code == ExitCode.NO_DATA
    assert "no history file" in done.err
    assert not path.exists()
    assert not path.parent.exists()
    assert_clean(done)


def test_reading_a_history_changes_nothing(empty_prometheus: Server, tmp_path: Path) -> None:
    """history reads open the file read-only: its bytes are the same after, no journal left."""
    path = tmp_path / "history.sqlite"
    done = run_here(
        [
            "audit",
            "--prometheus-url",
            empty_prometheus.url,
            "--last",
            "1d",
            "--history",
            str(path),
            "--out",
            str(tmp_path / "a"),
        ]
    )
    assert done.code == ExitCode.NO_DATA, done.err
    before = path.read_bytes()
    path.chmod(0o444)
    done = run_here(["history", "--history", str(path)])
    assert done.code in (ExitCode.PASS, ExitCode.NO_DATA), done.err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("history")) == [
        "history.sqlite"
    ]


# --- 9-10: a dying or hanging Prometheus -------------------------------------------------------


def test_a_hanging_prometheus_is_asked_once(hanging_server: str, tmp_path: Path) -> None:
    """report against a Prometheus that never answers: exit 5 after one timeout, not one per query."""
    done = run_child(
        [
            "report",
            "--prometheus-url",
            hanging_server,
            "--last",
            "5m",
            "--timeout",
            "2",
            "--out",
            str(tmp_path / "r"),
        ],
        tmp_path,
    )
    assert done.code == ExitCode.PROMETHEUS_UNAVAILABLE, done.err
    assert_clean(done, tmp_path / "r")
    assert "not asked again" in done.err or "not asked again" in (
        tmp_path / "r" / "verdict.json"
    ).read_text("utf-8")
    # Before the fix each of ~11 queries waited its own --timeout (22+ s here).
    assert done.seconds < 60


def test_the_overall_deadline_stops_every_query() -> None:
    """Past --deadline, a query is refused without a request, naming the deadline."""
    client = PrometheusClient("http://127.0.0.1:9", timeout=5, deadline=0.0)
    with pytest.raises(PrometheusUnavailable, match=r"overall deadline for Prometheus \(0 s\)"):
        client.instant("up", 0)


def test_a_failed_query_is_unknown_never_absent() -> None:
    """A server count missing because its query failed is 'unknown (the query failed)'."""
    load = LoadResult(requests=100, errors=0)
    findings = reconcile(load, ServerCounts(unreadable="Prometheus could not be reached."))
    messages = " ".join(f.message for f in findings)
    assert "absent" not in messages
    assert "unknown (the query failed" in messages


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["demo", "--scrape-interval", "nan"], ExitCode.USAGE),
        (["load", "--target-url", "http://127.0.0.1:9", "--late-tolerance", "nan"], ExitCode.USAGE),
        (["load", "--target-url", "http://127.0.0.1:9", "--timeout", "-1"], ExitCode.USAGE),
        (
            ["check", "--target-url", "http://127.0.0.1:9", "--auth-header", "X Bad:"],
            ExitCode.USAGE,
        ),
        (["serve-reference", "--port", "99999"], ExitCode.USAGE),
        (
            ["report", "--prometheus-url", "http://127.0.0.1:9", "--end", "1e30", "--start", "0"],
            ExitCode.USAGE,
        ),
        (["audit", "--prometheus-url", "http://127.0.0.1:9", "--last", "1e12d"], ExitCode.USAGE),
        (["history", "--history", "ftp://x/h.sqlite"], ExitCode.USAGE),
    ],
)
def test_numbers_ports_and_names_out_of_range_are_exit_2(
    args: list[str], expected: ExitCode
) -> None:
    """Out-of-range numbers, ports, dates and header names: exit 2 with the option named."""
    done = run_here(args)
    assert done.code == expected, done.err
    assert_clean(done)


def test_render_into_a_file_is_exit_10_before_rendering(tmp_path: Path) -> None:
    """render --out FILE: exit 10 naming the file; the file is untouched."""
    blocker = tmp_path / "blocker"
    blocker.write_text("keep", "utf-8")
    done = run_here(["render", "--out", str(blocker)])
    assert done.code == ExitCode.COULD_NOT_RUN
    assert "is an existing file" in done.err
    assert blocker.read_text("utf-8") == "keep"
    assert_clean(done)


def test_an_unexpected_exception_is_one_paragraph_with_secrets_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main's last resort: a bug is a paragraph naming the place, exit 10, no traceback, no secret."""
    from hypersync_slo import cli, redaction  # noqa: PLC0415 (the function under test)

    redaction.register_secret(CANARY_TOKEN)
    try:
        raise ValueError(f"boom with {CANARY_TOKEN}")
    except ValueError as exc:
        cli.report_internal_error(exc)
    err = capsys.readouterr().err
    assert "internal error: ValueError at test_hostile.py:" in err
    assert "(exit 10: internal error)" in err
    assert CANARY_TOKEN not in err


def test_lint_metrics_reads_a_bounded_file_and_never_blocks_on_a_pipe(tmp_path: Path) -> None:
    """A 100 MB file is exit 6 after 64 MB read; a named pipe is refused (exit 2), not read."""
    big = tmp_path / "big.prom"
    with big.open("wb") as stream:
        stream.truncate(100 * 1024 * 1024)  # sparse: nothing on disk
    done = run_here(["lint-metrics", str(big)])
    assert done.code == ExitCode.MALFORMED_METRICS, done.err
    assert "larger than the limit" in done.err
    assert_clean(done)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = run_here(["lint-metrics", str(fifo)])
    assert done.code == ExitCode.USAGE, done.err
    assert_clean(done)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"[1, 2]",
        b'{"window": {"start": "x"}, "kpis": 5}',
        b'{"window": 1, "kpis": []}',
    ],
)
def test_history_import_of_a_hostile_verdict_is_exit_2(body: bytes, tmp_path: Path) -> None:
    """history --import of a file that is not our verdict.json: exit 2 naming it, nothing recorded."""
    verdict = tmp_path / "verdict.json"
    verdict.write_bytes(body)
    history = tmp_path / "history.sqlite"
    done = run_here(["history", "--history", str(history), "--import", str(verdict)])
    assert done.code == ExitCode.USAGE, done.err
    assert "verdict" in done.err
    assert_clean(done)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["report", "--prometheus-url", "http://127.0.0.1:9", "--load-result", "{bad}"],
            ExitCode.USAGE,
        ),
        (
            ["audit", "--prometheus-url", "http://127.0.0.1:9", "--criteria", "{bad}"],
            ExitCode.BAD_CONFIG,
        ),
        (["render", "--out", "{out}", "--routing", "{bad}"], ExitCode.BAD_CONFIG),
        (["render", "--out", "{out}", "--kpis", "{bad}"], ExitCode.BAD_CONFIG),
        (["load", "--target-url", "http://127.0.0.1:9", "--traffic", "{bad}"], ExitCode.BAD_CONFIG),
    ],
)
def test_every_input_file_that_is_not_utf8_is_refused(
    args: list[str], expected: ExitCode, tmp_path: Path
) -> None:
    """Load results, criteria, routing, KPI and traffic files of raw bytes: exit 2 or 7, named."""
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\xff\xfe\x00 not text")
    argv = [a.format(bad=bad, out=tmp_path / "out") for a in args]
    done = run_here(argv)
    assert done.code == expected, done.err
    assert str(bad) in done.err
    assert_clean(done)


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("HYPERSYNC_PROMETHEUS_PASSWORD", CANARY_PASSWORD + "\n", "line break"),
        ("HYPERSYNC_PROMETHEUS_PASSWORD", CANARY_PASSWORD + "€", "not Latin-1"),
        ("HYPERSYNC_PROMETHEUS_USER", "ops\x07" + CANARY_PASSWORD, "control character"),
    ],
)
def test_bad_basic_auth_values_are_refused_naming_the_variable(
    variable: str, value: str, problem: str
) -> None:
    """A user or password basic auth cannot carry: exit 2 naming the variable, never the value."""
    env = {
        "HYPERSYNC_PROMETHEUS_USER": "ops",
        "HYPERSYNC_PROMETHEUS_PASSWORD": "ok-pass",
        variable: value,
    }
    done = run_here(["report", "--prometheus-url", "http://127.0.0.1:9", "--last", "5m"], env)
    assert done.code == ExitCode.USAGE, done.err
    assert f"${variable}" in done.err
    assert problem in done.err
    assert_clean(done)
