"""Outputs: probed before work, written atomically, secrets masked, failures are exit 10."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypersync_slo import outputs, redaction
from hypersync_slo.errors import OutputUnwritable
from hypersync_slo.exitcodes import ExitCode

needs_non_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")


@pytest.fixture(autouse=True)
def _empty_registry() -> Iterator[None]:
    """Each test starts and ends with no registered secret."""
    redaction.forget_secrets()
    yield
    redaction.forget_secrets()


def test_probe_dir_creates_and_leaves_nothing(tmp_path: Path) -> None:
    """A missing output directory is created and the probe file removed."""
    out = tmp_path / "a" / "b"
    outputs.probe_dir(out)
    assert out.is_dir()
    assert list(out.iterdir()) == []


def test_probe_dir_refuses_a_file(tmp_path: Path) -> None:
    """An --out that is an existing file is exit 10 with a sentence saying so."""
    target = tmp_path / "file"
    target.write_text("x", "utf-8")
    with pytest.raises(OutputUnwritable, match="is an existing file") as info:
        outputs.probe_dir(target)
    assert info.value.exit_code == ExitCode.COULD_NOT_RUN


@needs_non_root
def test_probe_dir_refuses_read_only(tmp_path: Path) -> None:
    """A read-only directory is refused before any work: permission denied."""
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(OutputUnwritable, match="permission denied"):
            outputs.probe_dir(out)
    finally:
        out.chmod(0o700)


def test_probe_file_does_not_create_the_file(tmp_path: Path) -> None:
    """Probing a history path creates its directory but never the file."""
    path = tmp_path / "d" / "history.sqlite"
    outputs.probe_file(path, option="--history")
    assert path.parent.is_dir()
    assert not path.exists()


def test_write_text_masks_secrets_and_replaces_whole(tmp_path: Path) -> None:
    """The file holds the redacted text and no temporary file is left behind."""
    redaction.register_secret("hunter22")
    path = tmp_path / "out.md"
    path.write_text("old", "utf-8")
    outputs.write_text(path, "see http://u:pw@h/ with hunter22\n")
    assert path.read_text("utf-8") == "see http://***@h/ with ***\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]


def test_write_refuses_a_device(tmp_path: Path) -> None:
    """A path that exists and is not a regular file (a device) is refused, never replaced."""
    with pytest.raises(OutputUnwritable, match="not a regular file"):
        outputs.write_text(Path("/dev/null"), "x")
    assert Path("/dev/null").is_char_device()


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from hypersync_slo import outputs
from hypersync_slo.errors import OutputUnwritable
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4, 4))
try:
    outputs.write_text(Path(sys.argv[1]), "a result longer than four bytes")
except OutputUnwritable as exc:
    print(exc)
"""


def test_write_failure_keeps_previous_file(tmp_path: Path) -> None:
    """A write that fails midway (file size limit, as a full disk) is exit 10, keeps the old file."""
    target = tmp_path / "verdict.json"
    target.write_text("{}", "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "could not write" in done.stdout, done.stdout + done.stderr
    assert target.read_text("utf-8") == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verdict.json"]
