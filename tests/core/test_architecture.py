"""The import rules of ARCHITECTURE.md, checked on the source so they stay true as code moves."""

from __future__ import annotations

import ast
import re
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


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        # hypersync_slo.prometheus (layers 2-3): the foundation and itself, nothing above.
        (
            "prometheus",
            ("config", "errors", "profiles", "traffic_spec"),
        ),
        # The reference service (the thing under test): never the gate, reporter or load code.
        (
            "reference",
            ("config", "errors", "profiles", "exitcodes"),
        ),
    ],
)
def test_package_imports_only_the_foundation(package: str, allowed: tuple[str, ...]) -> None:
    """The prometheus package and the reference service import the foundation and themselves."""
    prefixes = tuple(f"hypersync_slo.{name}" for name in (package, *allowed))
    offenders = {
        f"{relative(path)} -> {name}"
        for path in (PACKAGE / package).rglob("*.py")
        for name in imports_of(path)
        if name.startswith("hypersync_slo") and not name.startswith(prefixes)
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


def fresh_python(code: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter (nothing imported yet), its output captured."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=check)


def test_importing_the_package_and_cli_never_loads_locust() -> None:
    """Locust monkey-patches the process with gevent: the CLI and the package must not import it."""
    code = (
        "import sys, hypersync_slo, hypersync_slo.cli, hypersync_slo.loadgen, hypersync_slo.commands.load;"
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    result = fresh_python(code)
    assert result.stdout.strip() == "[]"


def test_render_and_the_gate_plugin_never_load_the_prometheus_client() -> None:
    """The PromQL helpers and burn windows come without prometheus_api_client (loaded on first use)."""
    code = (
        "import sys, hypersync_slo.alerting, hypersync_slo.gate.plugin, hypersync_slo.prometheus;"
        "print(sorted(m for m in ('prometheus_api_client', 'hypersync_slo.prometheus.client')"
        " if m in sys.modules))"
    )
    result = fresh_python(code)
    assert result.stdout.strip() == "[]"


def test_the_load_bounds_come_without_the_load_extra() -> None:
    """`run`/`demo --skip load` check --rps/--duration with loadgen.safety: no hdrh needed."""
    code = (
        "import sys; sys.modules.update(hdrh=None, locust=None, gevent=None);"
        "import hypersync_slo.commands.demo, hypersync_slo.commands.run;"
        "from hypersync_slo.loadgen import safety; print(safety.check_rate(10.0))"
    )
    result = fresh_python(code, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


# -- every module placed in its layer, and imports going downwards ------------------------------
#
# The layer diagram of ARCHITECTURE.md (the fenced block under "## Layers") is read as a table:
# a line starting with a layer label ("4  orchestration  ", or "-  apart" for the reference
# service) opens a layer; on every line, the text after the 18-character label column up to the
# first run of three spaces is the module column, the rest is description. The module column
# names modules by their path under hypersync_slo/ (``pipeline.py``, ``report/kpis.py``), brace
# groups (``exposition/{model,parser}.py``, which may continue on the next lines) and whole
# packages (``commands/*``, ``gate/suite/``); a module named on its own is placed by that name,
# else by its package. Package ``__init__.py`` files and ``__main__.py`` are placed with their
# package. Every import counts, inside functions and under TYPE_CHECKING too; a name taken from a
# package's ``__init__`` counts as an import of the module that defines it.

LABEL_WIDTH = 18
LAYER_LABEL = re.compile(r"^([0-9]|-)  +([a-z]+) ")
NAME = re.compile(r"[\w/]*\{[\w,]+\}\.py|[\w/]+\.py|[\w/]+/\*|[\w/]+/")
#: The reference service stands apart: only the interface layer may import it.
APART = "-"


def layer_diagram() -> str:
    """The fenced block under ``## Layers`` in ARCHITECTURE.md."""
    text = (ROOT / "ARCHITECTURE.md").read_text("utf-8")
    _, _, after = text.partition("\n## Layers\n")
    parts = after.split("```")
    assert len(parts) >= 3, "ARCHITECTURE.md: no fenced layer diagram under '## Layers'"
    return parts[1]


def diagram_names() -> dict[str, list[str]]:
    """Every name the diagram's module column places, with the layer label(s) placing it."""
    columns: dict[str, str] = {}
    layer: str | None = None
    for line in layer_diagram().splitlines():
        label = LAYER_LABEL.match(line)
        if label:
            layer = label.group(1)
            columns.setdefault(layer, "")
        if layer is None:
            continue
        rest = line[LABEL_WIDTH:]
        column = "" if rest.startswith("   ") else re.split(r" {3,}", rest, maxsplit=1)[0]
        columns[layer] += " " + column
    names: dict[str, list[str]] = {}
    for layer_id, column in columns.items():
        joined = re.sub(r"\{[^}]*\}", lambda m: re.sub(r"\s+", "", m.group(0)), column)
        for token in NAME.findall(joined):
            if "{" in token:
                prefix, _, group = token.partition("{")
                expanded = [f"{prefix}{stem}.py" for stem in group.removesuffix("}.py").split(",")]
            else:
                expanded = [token.removesuffix("*")]
            for name in expanded:
                names.setdefault(name, []).append(layer_id)
    return names


def engine_modules() -> list[str]:
    """Every module of hypersync_slo/ by its path under it (``report/kpis.py``)."""
    return sorted(str(path.relative_to(PACKAGE)) for path in modules())


def placed_layer(module: str, names: dict[str, list[str]]) -> list[str]:
    """The layer label(s) placing ``module``: its own name, else its nearest package's."""
    if module in names:
        return names[module]
    parts = module.split("/")
    for end in range(len(parts) - 1, 0, -1):
        package = "/".join(parts[:end]) + "/"
        if package in names:
            return names[package]
    return []


def is_placed_with_package(module: str) -> bool:
    """``__init__.py`` and ``__main__.py`` belong to their package, not to a layer of their own."""
    return module.endswith("__init__.py") or module == "__main__.py"


def test_architecture_places_every_module_in_one_layer() -> None:
    """Every hypersync_slo module is named (itself or by its package) in one layer of the diagram."""
    names = diagram_names()
    unplaced = [
        module
        for module in engine_modules()
        if not is_placed_with_package(module) and not placed_layer(module, names)
    ]
    assert not unplaced, (
        f"ARCHITECTURE.md's layer diagram does not place {len(unplaced)} module(s) of "
        "hypersync_slo/ (name each in the module column of its layer):\n" + "\n".join(unplaced)
    )
    twice = {name: layers for name, layers in names.items() if len(layers) > 1}
    assert not twice, f"ARCHITECTURE.md places these in more than one layer: {twice}"


def test_architecture_names_only_modules_that_exist() -> None:
    """Every module or package the layer diagram names exists under hypersync_slo/."""
    stale = sorted(
        name
        for name in diagram_names()
        if not (PACKAGE / name).is_file() and not (PACKAGE / name / "__init__.py").is_file()
    )
    assert not stale, (
        "ARCHITECTURE.md's layer diagram names modules or packages that are not in "
        f"hypersync_slo/ (moved or renamed?): {stale}"
    )


def module_path(dotted: str) -> str | None:
    """``hypersync_slo.report.kpis`` -> ``report/kpis.py`` (a package -> its ``__init__.py``)."""
    parts = dotted.split(".")[1:]
    if not parts:
        return "__init__.py"
    base = "/".join(parts)
    if (PACKAGE / f"{base}.py").is_file():
        return f"{base}.py"
    if (PACKAGE / base / "__init__.py").is_file():
        return f"{base}/__init__.py"
    return None


def defining_module(package_init: str, name: str) -> str | None:
    """The module a package's ``__init__.py`` takes ``name`` from (None: not found there)."""
    for node in ast.walk(ast.parse((PACKAGE / package_init).read_text("utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and any((alias.asname or alias.name) == name for alias in node.names)
        ):
            found = module_path(f"{node.module}.{name}") or module_path(node.module)
            return None if found is None or found.endswith("__init__.py") else found
    return None


def imported_modules(path: Path) -> set[str]:
    """The hypersync_slo modules ``path`` imports, as paths under hypersync_slo/ (best effort)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [module_path(a.name) for a in node.names if a.name.startswith("hypersync_")]
            found.update(t for t in targets if t)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith(PACKAGE.name):
                continue
            base = module_path(node.module)
            for alias in node.names:
                target = module_path(f"{node.module}.{alias.name}") or base
                if target and target.endswith("__init__.py"):
                    target = defining_module(target, alias.name)
                if target:
                    found.add(target)
    return found


def rank(layer: str) -> int:
    """A layer label's height; the reference service (apart) counts as the interface's to import."""
    return 5 if layer == APART else int(layer)


def test_imports_go_downwards_only() -> None:
    """No module imports a module placed in a higher layer (the reference: only the interface)."""
    names = diagram_names()
    offences = []
    for module in engine_modules():
        layers = placed_layer(module, names)
        if is_placed_with_package(module) or len(layers) != 1 or layers[0] == APART:
            continue  # unplaced modules fail the test above; the reference has its own test
        for target in sorted(imported_modules(PACKAGE / module)):
            target_layers = placed_layer(target, names)
            if len(target_layers) == 1 and rank(target_layers[0]) > int(layers[0]):
                offences.append(
                    f"{module} (layer {layers[0]}) imports {target} (layer {target_layers[0]})"
                )
    assert not offences, "imports must go downwards (ARCHITECTURE.md, Layers):\n" + "\n".join(
        offences
    )
