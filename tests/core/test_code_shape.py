"""The shape rules of the code that no linter checks: the checkout face of the gate's checks.

``slo_tests/`` exists so that ``pytest slo_tests --slo-target-url URL`` works from a checkout;
the checks themselves ship in the wheel as ``hypersync_slo/gate/suite/``. Each ``slo_tests``
module is one line, ``from hypersync_slo.gate.suite.<same name> import *``, so the two folders
must list the same modules and every check must come through the star import.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "hypersync_slo" / "gate" / "suite"
CHECKOUT = ROOT / "slo_tests"


def check_modules(folder: Path) -> set[str]:
    """The pytest modules (``test_*.py``) of ``folder``, by name without ``.py``."""
    return {path.stem for path in folder.glob("test_*.py")}


def test_slo_tests_and_the_gate_suite_list_the_same_modules() -> None:
    """slo_tests/ has one module per gate/suite/ check module, and nothing else."""
    suite = check_modules(SUITE)
    checkout = check_modules(CHECKOUT)
    others = sorted(
        path.name
        for path in CHECKOUT.iterdir()
        if path.suffix == ".py" and not path.stem.startswith("test_")
    )
    assert suite, f"no check module found in {SUITE.relative_to(ROOT)}"
    unmatched = sorted(suite ^ checkout) + others
    assert not unmatched, (
        "slo_tests/ must re-export exactly the check modules of hypersync_slo/gate/suite/\n"
        f"missing from slo_tests/: {sorted(suite - checkout) or 'none'}\n"
        f"in slo_tests/ without a gate/suite/ module: {sorted(checkout - suite) or 'none'}\n"
        f"other Python files in slo_tests/: {others or 'none'}"
    )


@pytest.mark.parametrize("name", sorted(check_modules(CHECKOUT)))
def test_each_slo_tests_module_star_imports_its_suite_module(name: str) -> None:
    """slo_tests/NAME.py is a docstring and ``from hypersync_slo.gate.suite.NAME import *``."""
    path = CHECKOUT / f"{name}.py"
    body = ast.parse(path.read_text("utf-8")).body
    statements = [
        node
        for node in body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    expected = f"from hypersync_slo.gate.suite.{name} import *"
    observed = [ast.unparse(node) for node in statements]
    assert observed == [expected], (
        f"{path.relative_to(ROOT)}: expected exactly {expected!r}, observed {observed}"
    )


def defined_names(path: Path) -> set[str]:
    """The public names a module defines at its top level (functions, classes, assignments)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(check_modules(CHECKOUT) & check_modules(SUITE)))
def test_every_check_comes_through_the_star_import(name: str) -> None:
    """Every public name gate/suite/NAME.py defines (checks, fixtures, marks) is in slo_tests/."""
    suite = importlib.import_module(f"hypersync_slo.gate.suite.{name}")
    spec = importlib.util.spec_from_file_location(
        f"_slo_tests_face_{name}", CHECKOUT / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    face = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(face)
    defined = defined_names(SUITE / f"{name}.py")
    assert any(attr.startswith("test_") for attr in defined), (
        f"hypersync_slo/gate/suite/{name}.py defines no test function"
    )
    missing = sorted(
        attr for attr in defined if getattr(face, attr, None) is not getattr(suite, attr)
    )
    assert not missing, (
        f"slo_tests/{name}.py does not re-export these names of hypersync_slo/gate/suite/{name}.py "
        f"(an __all__ there that leaves them out?): {missing}"
    )


# -- public names across packages ----------------------------------------------------------------
#
# The rule: each subpackage of hypersync_slo (a folder with __init__.py: report, audit, gate, ...)
# has one public face, the ``__all__`` of its ``__init__.py``. A module outside package X may
# import from X (from the package or from the submodule that defines the name, at module level,
# inside a function or under TYPE_CHECKING) only names listed in X's ``__all__``; it never takes
# one of X's submodules as a module (``from hypersync_slo.X import Y``, ``import
# hypersync_slo.X.Y``). Inside X, modules import each other freely. The root package's own modules
# (config.py, verdicts.py, markup.py, ...) are shared foundations, imported by name or as modules;
# nowhere does a module import another module's private (``_name``) names.

PACKAGE = ROOT / "hypersync_slo"


def subpackages() -> set[str]:
    """The first-level subpackages of hypersync_slo (folders with an ``__init__.py``)."""
    return {path.parent.name for path in PACKAGE.glob("*/__init__.py")}


def declared_all(package: str) -> list[str] | None:
    """The literal ``__all__`` of ``hypersync_slo/<package>/__init__.py`` (None: there is none)."""
    tree = ast.parse((PACKAGE / package / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            return [str(name) for name in ast.literal_eval(value)]
    return None


def owner(path: Path) -> str | None:
    """The first-level subpackage a module belongs to (None: a module of the root package)."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def is_module(package: str, dotted: str, name: str) -> bool:
    """Whether ``from <dotted> import <name>`` takes a submodule or subpackage of the package."""
    folder = PACKAGE.joinpath(*dotted.split(".")[1:])
    return (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()


def cross_package_offences() -> list[str]:
    """Every cross-package import that takes a name outside the owner's ``__all__``."""
    packages = subpackages()
    public = {package: declared_all(package) for package in packages}
    offences: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = owner(path)
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if (
                        len(parts) > 2
                        and parts[0] == PACKAGE.name
                        and parts[1] in packages
                        and parts[1] != here
                    ):
                        offences.append(
                            f"{where}:{node.lineno}: import {alias.name} "
                            f"(takes a module of {parts[1]}/; import names from its __all__)"
                        )
                continue
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] != PACKAGE.name or len(parts) < 2 or parts[1] not in packages:
                continue
            package = parts[1]
            if package == here:
                continue
            names = public[package]
            for alias in node.names:
                if is_module(package, node.module, alias.name):
                    offences.append(
                        f"{where}:{node.lineno}: from {node.module} import {alias.name} "
                        f"(takes a module of {package}/; import names from its __all__)"
                    )
                elif names is None or alias.name not in names:
                    offences.append(
                        f"{where}:{node.lineno}: from {node.module} import {alias.name} "
                        f"({alias.name!r} is not in hypersync_slo.{package}.__all__)"
                    )
    return offences


def test_cross_package_imports_take_only_public_names() -> None:
    """A module outside package X imports from X only names in X's __init__ ``__all__``."""
    offences = cross_package_offences()
    assert not offences, (
        f"{len(offences)} cross-package import(s) take names outside the owner's __all__ "
        "(add the name to the owner's __all__ if it is meant to be public, else use a public "
        "one):\n" + "\n".join(offences)
    )


@pytest.mark.parametrize("package", sorted(subpackages()))
def test_every_package_declares_a_true_all(package: str) -> None:
    """Each subpackage's ``__init__`` has an ``__all__``, and every name in it is importable."""
    names = declared_all(package)
    assert names is not None, f"hypersync_slo/{package}/__init__.py has no literal __all__"
    module = importlib.import_module(f"hypersync_slo.{package}")
    missing = [name for name in names if not hasattr(module, name)]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    assert not missing, f"hypersync_slo.{package}.__all__ names what it does not have: {missing}"
    assert not duplicated, f"hypersync_slo.{package}.__all__ lists twice: {duplicated}"


def test_no_module_imports_private_names() -> None:
    """No module of hypersync_slo imports another module's private (``_name``) names."""
    offences = [
        f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE.name)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not offences, "private names imported from another module:\n" + "\n".join(offences)
