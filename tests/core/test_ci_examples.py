"""The CI examples in docs/ci/: the keys GitHub Actions and GitLab CI require, JUnit published
even when the gate fails, and the gate command they run works and writes what they publish."""

from __future__ import annotations

import fnmatch
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypersync_slo.stack import ReferenceService
from tests.junit_schema import assert_valid_junit

CI = Path(__file__).resolve().parents[2] / "docs" / "ci"
GITHUB = CI / "github-actions-contract-gate.yml"
GITLAB = CI / "gitlab-ci-contract-gate.yml"
#: GitLab's top-level keywords (anything else not starting with "." is a job).
GITLAB_GLOBALS = {
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
}


def load(path: Path) -> dict[Any, Any]:
    """The YAML document of ``path`` (a mapping)."""
    data = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def gate_command(lines: list[str]) -> list[str]:
    """The ``hypersync-slo check ...`` command among ``lines``, split like a shell would."""
    commands = [line for text in lines for line in text.splitlines()]
    found = [shlex.split(c) for c in commands if c.strip().startswith("hypersync-slo check")]
    assert len(found) == 1, commands
    return found[0]


def junit_path(argv: list[str]) -> str:
    """The --junit-xml argument of a gate command."""
    assert "--junit-xml" in argv, argv
    return argv[argv.index("--junit-xml") + 1]


def github_steps() -> list[dict[str, Any]]:
    """The steps of the GitHub workflow's one job, after checking the required keys."""
    workflow = load(GITHUB)
    assert "on" in workflow or True in workflow, (
        "a workflow needs 'on'"
    )  # YAML 1.1 reads on: as True
    jobs = workflow["jobs"]
    assert isinstance(jobs, dict)
    assert jobs
    for name, job in jobs.items():
        assert "runs-on" in job, f"job {name}: runs-on is required"
        assert isinstance(job["steps"], list), f"job {name}: steps must be a list"
        assert job["steps"], f"job {name}: no steps"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (
                f"job {name}: a step has uses or run: {step}"
            )
            if "uses" in step:
                assert "@v" in step["uses"], f"pin the action's version: {step['uses']}"
    assert workflow["permissions"]["checks"] == "write"
    (job,) = jobs.values()
    return list(job["steps"])


def test_github_workflow_publishes_the_gates_junit() -> None:
    """GitHub Actions: on/jobs/runs-on/steps present; a JUnit reporter reads the file the gate
    writes, and runs after a failed gate (``!cancelled()``)."""
    steps = github_steps()
    argv = gate_command([s["run"] for s in steps if "run" in s])
    path = junit_path(argv)
    publish = [s for s in steps if "junit-report" in s.get("uses", "")]
    assert len(publish) == 1
    assert fnmatch.fnmatch(path, publish[0]["with"]["report_paths"])
    assert publish[0]["if"] in ("${{ !cancelled() }}", "${{ always() }}", "always()")
    assert publish[0]["with"]["require_tests"] is True
    install = [s["run"] for s in steps if "pip install" in s.get("run", "")]
    assert install
    assert "[load]" not in install[0], "the gate needs only the base install"


def test_gitlab_job_publishes_the_gates_junit() -> None:
    """GitLab CI: stages and a job with stage/script; artifacts:reports:junit names the file the
    gate writes, kept even when the job fails."""
    pipeline = load(GITLAB)
    jobs = {k: v for k, v in pipeline.items() if k not in GITLAB_GLOBALS and not k.startswith(".")}
    assert jobs
    for name, job in jobs.items():
        assert isinstance(job.get("script"), list), f"job {name}: script must be a list"
        assert job["script"], f"job {name}: empty script"
        assert job["stage"] in pipeline["stages"], f"job {name}: stage not in stages"
    (job,) = jobs.values()
    path = junit_path(gate_command(job["script"]))
    assert job["artifacts"]["reports"]["junit"] == path
    assert job["artifacts"]["when"] == "always"


@pytest.mark.parametrize("example", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_the_examples_gate_command_runs(
    example: Path, shared_reference_service: ReferenceService, tmp_path: Path
) -> None:
    """The example's own gate command line, pointed at the reference service, passes and writes
    a junit-10.xsd-valid file where the CI system reads it."""
    data = load(example)
    if example == GITHUB:
        lines = [s["run"] for s in github_steps() if "run" in s]
    else:
        lines = next(v["script"] for k, v in data.items() if isinstance(v, dict) and "script" in v)
    argv = gate_command(lines)
    argv[argv.index("--target-url") + 1] = shared_reference_service.url
    done = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert_valid_junit(tmp_path / junit_path(argv))
