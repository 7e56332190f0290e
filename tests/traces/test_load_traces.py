"""`load --trace-sample R --trace-backend KIND=URL`: tagged requests of a real load run, asked for
afterwards; trace_completeness judged against the SLO file's objective."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.loadgen.launcher import PARTS_DIR
from hypersync_slo.loadgen.tracetags import read_tagged
from hypersync_slo.reference.tracing import span_dropped
from hypersync_slo.traces import TaggedRequest, TraceBackend
from tests.conftest import StartService

SLO = Path(__file__).parents[1] / "data" / "loadgen" / "slo-e2e.yaml"


def slo_with_traces(tmp_path: Path) -> Path:
    """The e2e SLO file plus a trace_completeness objective of 99 %."""
    path = tmp_path / "slo.yaml"
    text = SLO.read_text("utf-8").replace(
        "objectives:\n", 'objectives:\n  trace_completeness: {objective: ">= 99%"}\n', 1
    )
    path.write_text(text, "utf-8")
    return path


def load(url: str, out: Path, slo: Path, backend: str) -> subprocess.CompletedProcess[str]:
    """A short load run tagging 30 % of the requests, checked against ``backend``."""
    argv = [
        *(sys.executable, "-m", "hypersync_slo", "load", "--target-url", url),
        *("--out", str(out), "--slo-config", str(slo), "--quiet", "--late-tolerance", "0.05"),
        *("--rps", "60", "--duration", "3s", "--seed", "3"),
        *("--trace-sample", "0.3", "--trace-backend", backend, "--trace-wait", "20"),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_load_finds_every_tagged_trace_of_a_healthy_reference(
    tmp_path: Path, start_reference_service: StartService
) -> None:
    """Healthy reference exporting OTLP to the local Jaeger: trace_completeness is 100 % over every
    tagged request (Zipkin's side of a load is the span-drop test below)."""
    kind = "jaeger"
    with TraceBackend(kind) as backend:
        service = start_reference_service("--otlp-endpoint", backend.url)
        out = tmp_path / "load"
        proc = load(service.url, out, slo_with_traces(tmp_path), f"{kind}={backend.url}")
        tagged = read_tagged(out / PARTS_DIR)
        assert len(tagged) >= 20, proc.stdout + proc.stderr
        traces = json.loads((out / "traces.json").read_text("utf-8"))
        kpi = traces["kpi"]
        assert (kpi["name"], kpi["source"], kpi["observed"], kpi["verdict"]) == (
            "trace_completeness",
            "trace",
            1.0,
            "pass",
        ), traces
        assert kpi["samples"] == len(tagged)
        assert (
            f"trace_completeness: pass, observed 100 % (trace, {len(tagged)} samples" in proc.stdout
        )
        assert backend.rejected == []


def test_load_reports_the_exact_share_when_spans_are_dropped(
    tmp_path: Path, start_reference_service: StartService
) -> None:
    """--fault-span-drop 0.5: the share is exactly that of the tagged traces the fault spares; exit 1."""
    with TraceBackend("zipkin") as backend:
        service = start_reference_service(
            "--zipkin-endpoint", backend.url, "--fault-span-drop", "0.5"
        )
        out = tmp_path / "load"
        proc = load(service.url, out, slo_with_traces(tmp_path), f"zipkin={backend.url}")
        tagged = [TaggedRequest.from_dict(r) for r in read_tagged(out / PARTS_DIR)]
        hit = [
            r
            for r in tagged
            if r.expected_child is not None and span_dropped(int(r.trace_id, 16), 0.5)
        ]
        assert hit, "the fault hit no tagged trace: the test proves nothing"
        kpi = json.loads((out / "traces.json").read_text("utf-8"))["kpi"]
        assert kpi["observed"] == pytest.approx((len(tagged) - len(hit)) / len(tagged))
        assert kpi["verdict"] == "fail"
        assert kpi["detail"]["complete"] == len(tagged) - len(hit)
        assert proc.returncode == ExitCode.FAIL, proc.stdout + proc.stderr


def test_trace_sample_needs_a_backend(tmp_path: Path) -> None:
    """--trace-sample without --trace-backend KIND=URL is a usage error (exit 2) before any load."""
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "hypersync_slo", "load", "--target-url", "http://127.0.0.1:9"),
            *("--out", str(tmp_path / "o"), "--trace-sample", "0.1"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == ExitCode.USAGE
    assert "--trace-sample needs --trace-backend jaeger=URL or zipkin=URL" in proc.stderr


def test_run_passes_the_trace_check_to_its_load_stage(
    tmp_path: Path, start_reference_service: StartService
) -> None:
    """`run --trace-sample R --trace-backend zipkin=URL`: the load stage tags, asks and judges 100 %."""
    with TraceBackend("zipkin") as backend:
        service = start_reference_service("--zipkin-endpoint", backend.url)
        out = tmp_path / "run"
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "hypersync_slo", "run", "--target-url", service.url),
                *("--skip", "check", "--skip", "report", "--no-history", "--out", str(out)),
                *("--slo-config", str(slo_with_traces(tmp_path)), "--rps", "60", "--duration", "3"),
                *("--trace-sample", "0.3", "--trace-backend", f"zipkin={backend.url}"),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        traces = json.loads((out / "load" / "traces.json").read_text("utf-8"))
        assert (traces["kpi"]["verdict"], traces["kpi"]["observed"]) == ("pass", 1.0), proc.stdout
        assert traces["kpi"]["samples"] == traces["tagged"] > 0
