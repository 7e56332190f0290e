"""The rendered mtail program, run by the real mtail and scraped by the real Prometheus, counts every
request log line: reference service -> log file -> mtail -> Prometheus."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from hypersync_slo.alerting.mtail import (
    DURATION,
    ERRORS,
    LOG_JOB,
    PROGRAM_FILE,
    REQUESTS,
    UNPARSED,
    mtail_buckets,
    mtail_program,
)
from hypersync_slo.cli import main
from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import ManagedProcess, find_tool, free_port
from hypersync_slo.stack import MtailServer, ReferenceService

StartService = Callable[..., ReferenceService]


def request_lines(log: Path) -> list[dict[str, object]]:
    """The request log lines of ``log`` as parsed JSON."""
    lines = []
    for raw in log.read_text("utf-8").splitlines():
        record = json.loads(raw)
        if record.get("message") == "request":
            lines.append(record)
    return lines


def query(url: str, promql: str) -> dict[str, float]:
    """An instant query's result as {"label values joined": value}."""
    answer = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return {
        " ".join(v for k, v in sorted(item["metric"].items())): float(item["value"][1])
        for item in answer["data"]["result"]
    }


def test_program_has_every_slo_threshold_as_a_bucket() -> None:
    """Each latency threshold of the SLO file is a bucket of the mtail histogram."""
    config = SloConfig.from_text(
        "objectives: {latency_p95: {objective: '< 120ms'}, latency_p99: {objective: '< 0.9s'}}",
        source="t.yaml",
    )
    buckets = mtail_buckets(config)
    assert {0.12, 0.9} <= set(buckets)
    program = mtail_program(config)
    assert "0.12, " in program
    assert "0.9, " in program
    assert program == mtail_program(config)


def test_rendered_program_compiles_and_counts_lines_one_shot(tmp_path: Path) -> None:
    """`mtail --compile_only` accepts the rendered program; one-shot it counts a hand-made log exactly."""
    out = tmp_path / "out"
    assert main(["render", "--out", str(out)]) == ExitCode.PASS
    progs = out / "mtail"
    assert (progs / PROGRAM_FILE).is_file()
    mtail = find_tool("mtail")
    assert mtail is not None
    compiled = subprocess.run(
        [mtail, "--progs", str(progs), "--compile_only", "--logtostderr"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    log = tmp_path / "service.log"
    log.write_text(
        '{"timestamp":"2026-12-03T09:00:00.000Z","level":"info","message":"service starting"}\n'
        '{"message":"request","http.request.method":"GET","http.route":"/v1/agents",'
        '"http.response.status_code":200,"duration_ms":3.000}\n'
        # another field order, as another logger may write it
        '{"duration_ms":250.500,"http.response.status_code":503,"http.route":"/v1/agents",'
        '"http.request.method":"GET","message":"request"}\n'
        '{"message":"request","http.request.method":"GET"}\n'
        # a whole number of milliseconds, as another logger may write it
        '{"message":"request","http.request.method":"GET","http.route":"/v1/agents",'
        '"http.response.status_code":200,"duration_ms":7}\n',
        "utf-8",
    )
    shot = subprocess.run(
        [
            *(mtail, "--progs", str(progs), "--logs", str(log)),
            *("--one_shot", "--one_shot_format", "prometheus", "--logtostderr"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shot.returncode == 0, shot.stderr
    text = shot.stdout
    assert f'{REQUESTS}{{http_request_method="GET",http_response_status_code="200"' in text
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }

    def total(name: str, **labels: str) -> float:
        return sum(
            v
            for k, v in series.items()
            if k.split("{")[0] == name and all(f'{a}="{b}"' in k for a, b in labels.items())
        )

    assert total(REQUESTS) == 3
    assert total(ERRORS) == 1
    assert total(ERRORS, http_response_status_code="503") == 1
    assert total(UNPARSED) == 1
    assert total(f"{DURATION}_bucket", le="0.005") == 1  # 3.000 ms
    assert total(f"{DURATION}_bucket", le="0.01") == 2  # and 7 ms
    assert total(f"{DURATION}_bucket", le="0.1") == 2
    assert total(f"{DURATION}_bucket", le="0.5") == 3


def point_at_mtail(root: Path, mtail: MtailServer) -> None:
    """Make the rendered ``prometheus.yml`` in ``root`` scrape every second and find ``mtail``."""
    config = yaml.safe_load((root / "prometheus.yml").read_text("utf-8"))
    config["global"]["scrape_interval"] = "1s"  # the generated 15 s would make the test slow
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert LOG_JOB in jobs
    (root / "prometheus.yml").write_text(yaml.safe_dump(config), "utf-8")
    (root / "targets" / "logs").mkdir(parents=True)
    (root / "targets" / "logs" / "mtail.json").write_text(
        json.dumps([{"targets": [mtail.address]}]), "utf-8"
    )


def send_requests(url: str) -> None:
    """240 requests over four routes (one unknown), so the log holds a mix of methods and statuses."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(60):
            client.post("/v1/receipts", json={"operation": "sync", "payload": {"i": i}})
            client.get("/v1/agents")
            client.post(
                "/v1/policies/access/evaluate",
                json={"subject": "u", "action": "read", "resource": "r"},
            )
            client.get("/v1/no-such-route")


def test_reference_log_through_mtail_and_prometheus_counts_every_line(
    tmp_path: Path, start_reference_service: StartService
) -> None:
    """End to end: the counts Prometheus holds from mtail equal the request lines of the log."""
    out = tmp_path / "out"
    alertmanager = f"127.0.0.1:{free_port()}"
    assert main(["render", "--out", str(out), "--alertmanager", alertmanager]) == ExitCode.PASS
    log = tmp_path / "logs" / "service.log"
    log.parent.mkdir()
    log.touch()
    mtail = MtailServer(tmp_path / "mtail", out / "mtail", [log], UNPARSED).start()
    try:
        service = start_reference_service(
            "--log-file", str(log), "--fault-error-ratio", "0.2", workdir=tmp_path / "service"
        )
        root = out / "prometheus"
        point_at_mtail(root, mtail)
        binary = find_tool("prometheus")
        assert binary is not None
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            root / "prometheus.log",
        ) as prometheus:
            prometheus.wait_http(f"{url}/-/ready", timeout=30)
            send_requests(service.url)
            # Every line is in the log once it is flushed; mtail then Prometheus catch up. The
            # sums below are over all of Prometheus: a target scraped by two jobs would count twice.
            deadline = time.monotonic() + 60
            expected: Counter[str] = Counter()
            seen: dict[str, float] = {}
            while time.monotonic() < deadline:
                lines = request_lines(log)
                expected = Counter(
                    f"{r['http.request.method']} {r['http.response.status_code']} {r['http.route']}"
                    for r in lines
                )
                seen = query(
                    url,
                    f'sum by (http_request_method, http_response_status_code, http_route) ({REQUESTS}{{job="{LOG_JOB}"}})',
                )
                if seen == {k: float(v) for k, v in expected.items()}:
                    break
                time.sleep(0.5)
            assert seen == {k: float(v) for k, v in expected.items()}, (
                f"where: {REQUESTS} in Prometheus {url} (from mtail {mtail.address})\n"
                f"expected: {dict(expected)} (request lines in {log})\n"
                f"observed: {seen}"
            )
            lines = request_lines(log)
            errors = sum(1 for r in lines if int(str(r["http.response.status_code"])) >= 500)
            assert errors > 0, "the error-ratio fault produced no 5xx: the test proves nothing"
            assert query(url, f"sum({ERRORS})") == {"": float(errors)}
            fast = sum(1 for r in lines if float(str(r["duration_ms"])) <= 100.0)
            assert query(url, f'sum({DURATION}_bucket{{le="0.1"}})') == {"": float(fast)}
            assert query(url, f"sum({DURATION}_count)") == {"": float(len(lines))}
            assert query(url, f"sum({UNPARSED})") == {"": 0.0}
    finally:
        mtail.stop()
