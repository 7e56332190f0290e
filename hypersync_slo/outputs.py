"""Where results go: probed before any work, written atomically, secrets masked on the way.

``probe_dir`` / ``probe_file`` are called by a command before its first query or request, so
an output that cannot be written is exit 10 with a sentence *before* minutes of traffic or
queries, never after. ``write_text`` / ``write_bytes`` write to a temporary name in the same
directory and rename it over the target, so a reader (or a full disk, or Ctrl-C) never leaves
a half-written or 0-byte result file. ``write_text`` passes the text through
``redaction.redact``: a registered secret or URL userinfo never reaches a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from hypersync_slo.errors import OutputUnwritable, explain
from hypersync_slo.redaction import redact


def _reason(exc: OSError) -> str:
    """A short human reason for an ``OSError`` (no traceback, no secret)."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a directory"
    if exc.errno == errno.EISDIR:
        return "it is a directory"
    return redact(exc.strerror or type(exc).__name__)


def probe_dir(directory: Path, *, option: str = "--out") -> Path:
    """Create ``directory`` if needed and prove a file can be written there; else exit 10.

    Called before any query or request: a result that cannot be written is refused up front.
    """
    if directory.exists() and not directory.is_dir():
        raise OutputUnwritable(
            explain(
                f"{option} {redact(str(directory))} is an existing file, not a directory.",
                expected="a directory (created if missing) the results can be written to",
                what_to_do=f"pass another {option} or remove the file",
                result="nothing was queried or sent",
            )
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise OutputUnwritable(
            explain(
                f"{option} {redact(str(directory))} cannot be written: {_reason(exc)}.",
                expected="a writable directory",
                what_to_do=f"pass another {option}, free space or fix its permissions",
                result="nothing was queried or sent",
            )
        ) from None
    return directory


def probe_file(path: Path, *, option: str) -> Path:
    """Prove ``path`` can be created or replaced (its directory writable); else exit 10.

    Creates the parent directory but never the file itself.
    """
    if path.is_dir():
        raise OutputUnwritable(
            explain(
                f"{option} {redact(str(path))} is a directory, not a file.",
                what_to_do=f"pass a file path to {option}",
                result="nothing was queried or sent",
            )
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputUnwritable(
            explain(
                f"{option} {redact(str(path))} cannot be written: permission denied.",
                what_to_do=f"pass another {option} or fix its permissions",
                result="nothing was queried or sent",
            )
        )
    probe_dir(path.parent if str(path.parent) else Path("."), option=f"the directory of {option}")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then rename).

    A failure leaves the previous file (or none), never a partial or 0-byte one, and is
    ``OutputUnwritable`` (exit 10) with a sentence.
    """
    if path.exists() and not path.is_file():
        raise OutputUnwritable(
            explain(
                f"could not write {redact(str(path))}: it exists and is not a regular file.",
                what_to_do="pass an output path that is a file or does not exist yet",
            )
        )
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputUnwritable(
            explain(
                f"could not write {redact(str(path))}: {_reason(exc)}.",
                what_to_do="free space or fix permissions; the other files were written",
            )
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically, with every secret and URL userinfo masked."""
    return write_bytes(path, redact(text).encode("utf-8"))
