"""Validation of JUnit files against Jenkins' junit-10.xsd (test data) with Debian's xmllint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCHEMA = Path(__file__).parent / "data" / "junit" / "junit-10.xsd"


def assert_valid_junit(path: Path) -> None:
    """Fail with xmllint's own words unless ``path`` validates against junit-10.xsd."""
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        pytest.fail(
            "xmllint is not installed: apt-get install libxml2-utils (./quickstart does it)"
        )
    done = subprocess.run(
        [xmllint, "--noout", "--schema", str(SCHEMA), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        f"{path} is not valid JUnit (junit-10.xsd, xmllint exit {done.returncode}):\n"
        f"{done.stderr[-3000:]}"
    )
