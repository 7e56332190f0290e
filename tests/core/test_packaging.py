"""The wheel: licensed and described, and without extras it runs the gate and the reporter.

The wheel is built from a copy of the checkout (``git ls-files``, untracked files included) with the setuptools of this
environment, and installed with ``--no-deps`` into a fresh venv whose only other packages are
the base dependencies the wheel itself declares (their installed copies linked in from this
environment, found by walking the wheel's ``Requires-Dist`` without extras). No network, a few
seconds, and Locust (an extra) is absent from that venv as it would be after
``pip install hypersync-slo``; ``pip check`` proves the declared dependencies are all there.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.stack import PrometheusServer, ReferenceService, ScrapeJob

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CleanInstall:
    """The built wheel and a venv where it is installed without extras."""

    wheel: Path
    venv: Path

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.venv / "bin" / "python"

    def run(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``hypersync-slo ARGS`` (the wheel's console script) in the venv."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        return subprocess.run(
            [str(self.venv / "bin" / "hypersync-slo"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def base_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that ``requirements`` (no extras) need, transitively."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        dist = metadata.distribution(name)
        for wanted in requirement.extras:
            todo += [(Requirement(r), wanted) for r in dist.requires or []]
        if name in found:
            continue
        found[name] = dist
        todo += [(Requirement(r), "") for r in dist.requires or []]
    return list(found.values())


def link_site(dists: list[metadata.Distribution], into: Path) -> None:
    """Link each distribution's top-level files and its .dist-info into ``into``."""
    into.mkdir()
    for dist in dists:
        base = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            if not (into / top).exists() and (base / top).exists():
                (into / top).symlink_to(base / top)


@pytest.fixture(scope="module")
def clean_install(tmp_path_factory: pytest.TempPathFactory) -> CleanInstall:
    """Build the wheel from a copy of the checkout; install it without extras into a new venv."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "from setuptools import build_meta as b; print(b.build_wheel('dist'))",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "Warning" not in built.stderr, built.stderr[-3000:]
    wheel = source / "dist" / built.stdout.strip().splitlines()[-1]
    venv = work / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    with zipfile.ZipFile(wheel) as archive:
        meta = email.message_from_bytes(
            archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA")))
        )
    requirements = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    site = next((venv / "lib").glob("python3*/site-packages"))
    link_site(base_closure(requirements), work / "base-site")
    (site / "base-dependencies.pth").write_text(f"{work / 'base-site'}\n", "utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    done = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    checked = subprocess.run(
        [*pip, "check"], capture_output=True, text=True, timeout=120, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return CleanInstall(wheel, venv)


def test_wheel_is_licensed_and_described(clean_install: CleanInstall) -> None:
    """SPDX license expression, the LICENSE file inside, classifiers, project URLs, extras,
    and no Locust among the base dependencies."""
    with zipfile.ZipFile(clean_install.wheel) as archive:
        names = archive.namelist()
        meta = email.message_from_bytes(
            archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        )
        license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert "Apache License" in archive.read(license_file).decode()
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "Framework :: Pytest" in meta.get_all("Classifier")
    urls = meta.get_all("Project-URL")
    assert any(u.startswith("Homepage, https://") for u in urls), urls
    assert {"load", "reference", "all"} <= set(meta.get_all("Provides-Extra"))
    base = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert not [r for r in base if r.lower().startswith(("locust", "uvicorn", "hdrhistogram"))]
    assert "Apache License" in (ROOT / "LICENSE").read_text("utf-8")


def test_pytest_help_shows_the_gate_and_no_locust(
    clean_install: CleanInstall, tmp_path: Path
) -> None:
    """An application's pytest in that venv gains the --slo-… options and nothing of Locust."""
    done = subprocess.run(
        [str(clean_install.python), "-m", "pytest", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--slo-target-url" in done.stdout
    assert "--host" not in done.stdout
    assert "locust" not in done.stdout.lower()
    listed = subprocess.run(
        [str(clean_install.python), "-c", "import locust"], capture_output=True, check=False
    )
    assert listed.returncode != 0


def test_check_runs_without_extras(
    clean_install: CleanInstall, shared_reference_service: ReferenceService, tmp_path: Path
) -> None:
    """`hypersync-slo check` from the wheel, no extras: the whole gate passes, valid JUnit."""
    junit = tmp_path / "gate.xml"
    done = clean_install.run(
        "check",
        "--target-url",
        shared_reference_service.url,
        "--junit-xml",
        str(junit),
        cwd=tmp_path,
    )
    assert done.returncode == ExitCode.PASS, done.stdout[-3000:] + done.stderr[-2000:]
    assert "hypersync-slo contract summary" in done.stdout
    assert "Warning" not in done.stdout + done.stderr
    assert junit.is_file()


def test_report_runs_without_extras(
    clean_install: CleanInstall,
    reference_service: ReferenceService,
    start_prometheus: object,
    tmp_path: Path,
) -> None:
    """`hypersync-slo report` from the wheel, no extras: queries a real Prometheus and writes
    verdict.json, report.md, report.html with its plots and junit.xml."""
    prometheus: PrometheusServer = start_prometheus(  # type: ignore[operator]
        [ScrapeJob("hypersync", (reference_service.address,))], interval=0.5
    )
    start = datetime.now(UTC)
    with httpx.Client(base_url=reference_service.url, timeout=5) as client:
        for _ in range(200):
            client.get("/v1/agents")
    time.sleep(2)
    end = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.5)
    out = tmp_path / "report"
    done = clean_install.run(
        "report",
        "--prometheus-url",
        prometheus.url,
        "--job",
        "hypersync",
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode in (ExitCode.PASS, ExitCode.FAIL, ExitCode.NO_DATA), (
        done.stdout[-3000:] + done.stderr[-2000:]
    )
    assert "Traceback" not in done.stderr
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert verdict["kpis"]
    assert "data:image/png;base64," in (out / "report.html").read_text("utf-8")
    assert (out / "junit.xml").is_file()


def test_load_without_its_extra_says_how_to_install(
    clean_install: CleanInstall, tmp_path: Path
) -> None:
    """`hypersync-slo load` without the [load] extra: exit 8 with the pip line, no traceback."""
    done = clean_install.run(
        "load",
        "--target-url",
        "http://127.0.0.1:9",
        "--rps",
        "1",
        "--duration",
        "1s",
        cwd=tmp_path,
    )
    assert done.returncode == ExitCode.MISSING_TOOL, done.stdout + done.stderr
    assert "pip install 'hypersync-slo[load]'" in done.stderr
    assert "Traceback" not in done.stderr
