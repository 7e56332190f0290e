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
