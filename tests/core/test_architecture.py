"""The import rules of ARCHITECTURE.md, checked on the source so they stay true as code moves."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hypersync_slo"


def imports_of(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> list[Path]:
    """Every Python file of the engine package."""
    return sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    """Path relative to the repository root."""
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("prometheus_api_client", {"hypersync_slo/prometheus/client.py"}),
        ("locust", {"hypersync_slo/loadgen/driver.py"}),
        ("gevent", {"hypersync_slo/loadgen/driver.py"}),
        ("geventhttpclient", {"hypersync_slo/loadgen/driver.py"}),
    ],
)
def test_third_party_clients_are_quarantined(library: str, allowed: set[str]) -> None:
    """Only the named adapter module imports each quarantined third-party library."""
    importers = {
        relative(path)
        for path in modules()
        if any(name == library or name.startswith(library + ".") for name in imports_of(path))
    }
    assert importers <= allowed, (
        f"{library} imported outside its adapter: {sorted(importers - allowed)}"
    )


def test_prometheus_is_neutral_ground() -> None:
    """Audit, gate and alerting reach Prometheus through hypersync_slo.prometheus, not the reporter.

    The client, the queries, the PromQL helpers and the burn windows live in the neutral
    package; the audit takes none of them from alerting.rules either.
    """
    assert not (PACKAGE / "report" / "prometheus.py").exists()
    assert not (PACKAGE / "report" / "queries.py").exists()
    forbidden = {
        "audit": (
            "hypersync_slo.report.prometheus",
            "hypersync_slo.report.queries",
            "hypersync_slo.alerting.rules",
        ),
        "gate": ("hypersync_slo.report.prometheus", "hypersync_slo.report.queries"),
        "alerting": ("hypersync_slo.report.prometheus", "hypersync_slo.report.queries"),
    }
    offenders = {
        f"{relative(path)} -> {name}"
        for package, banned in forbidden.items()
        for path in (PACKAGE / package).rglob("*.py")
        for name in imports_of(path)
        if name.startswith(banned)
    }
    assert not offenders, sorted(offenders)


def test_the_prometheus_package_imports_only_lower_layers() -> None:
    """hypersync_slo.prometheus (layers 2-3) imports the foundation and itself, nothing above."""
    allowed = (
        "hypersync_slo.prometheus",
        "hypersync_slo.config",
        "hypersync_slo.errors",
        "hypersync_slo.profiles",
        "hypersync_slo.traffic_spec",
    )
    offenders = {
        f"{relative(path)} -> {name}"
        for path in (PACKAGE / "prometheus").rglob("*.py")
        for name in imports_of(path)
        if name.startswith("hypersync_slo") and not name.startswith(allowed)
    }
    assert not offenders, sorted(offenders)


def test_reference_service_imports_only_the_foundation() -> None:
    """The reference service (the thing under test) never imports the gate, reporter or load code."""
    allowed = (
        "hypersync_slo.reference",
        "hypersync_slo.config",
        "hypersync_slo.errors",
        "hypersync_slo.profiles",
        "hypersync_slo.exitcodes",
    )
    offenders = {
        f"{relative(path)} -> {name}"
        for path in (PACKAGE / "reference").rglob("*.py")
        for name in imports_of(path)
        if name.startswith("hypersync_slo") and not name.startswith(allowed)
    }
    assert not offenders, sorted(offenders)


def test_lower_layers_never_import_the_interface() -> None:
    """Nothing below the interface layer imports cli or commands (except commands themselves)."""
    offenders = {
        f"{relative(path)} -> {name}"
        for path in modules()
        if "commands" not in path.parts and path.name not in ("cli.py", "__main__.py")
        for name in imports_of(path)
        if name.startswith(("hypersync_slo.cli", "hypersync_slo.commands"))
    }
    assert not offenders, sorted(offenders)


def test_foundation_imports_nothing_above_it() -> None:
    """The foundation modules (errors, config, profiles, redaction, ...) import only each other."""
    foundation = (
        "hypersync_slo.errors",
        "hypersync_slo.exitcodes",
        "hypersync_slo.config",
        "hypersync_slo.openslo",
        "hypersync_slo.redaction",
        "hypersync_slo.outputs",
        "hypersync_slo.traffic_spec",
        "hypersync_slo.inputs",
        "hypersync_slo.yamlfiles",
        "hypersync_slo.markup",
        "hypersync_slo.profiles",
        "hypersync_slo.timestamps",
    )
    for name in (
        "errors.py",
        "exitcodes.py",
        "config.py",
        "openslo.py",
        "redaction.py",
        "outputs.py",
        "traffic_spec.py",
        "inputs.py",
        "yamlfiles.py",
        "markup.py",
        "profiles.py",
        "timestamps.py",
    ):
        for imported in imports_of(PACKAGE / name):
            if imported.startswith("hypersync_slo"):
                assert imported.startswith(foundation), f"{name} imports {imported}"


def test_importing_the_package_and_cli_never_loads_locust() -> None:
    """Locust monkey-patches the process with gevent: the CLI and the package must not import it."""
    code = (
        "import sys, hypersync_slo, hypersync_slo.cli, hypersync_slo.loadgen, hypersync_slo.commands.load;"
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_render_and_the_gate_plugin_never_load_the_prometheus_client() -> None:
    """The PromQL helpers and burn windows come without prometheus_api_client (loaded on first use)."""
    code = (
        "import sys, hypersync_slo.alerting, hypersync_slo.gate.plugin, hypersync_slo.prometheus;"
        "print(sorted(m for m in ('prometheus_api_client', 'hypersync_slo.prometheus.client')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
