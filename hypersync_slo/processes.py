"""Child processes on loopback: free ports, start, wait until they answer, stop for sure.

Used by the demo, the ``run`` job and the project's own tests to start the real programs
(the reference service, Prometheus, node_exporter, Alertmanager) and to stop them cleanly,
also when the parent is interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from hypersync_slo.errors import MissingTool, SuiteFault, explain

#: Which Debian package provides each program we start.
DEBIAN_PACKAGES: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "wrk": "wrk",
    "mtail": "mtail",
}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (bind to port 0, read, release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_tool(name: str, *, required: bool = True) -> str | None:
    """The path of program ``name``; raise ``MissingTool`` naming its Debian package if absent."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None and required:
        package = DEBIAN_PACKAGES.get(name, name)
        raise MissingTool(
            explain(
                f"'{name}' is not installed, and this job needs it.",
                install=f"apt-get install {package}   (Debian/Ubuntu, as root)",
                or_=f"put a '{name}' binary on PATH",
            )
        )
    return path


@dataclass
class ManagedProcess:
    """A child process that is stopped (TERM, then KILL) when the context exits."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ManagedProcess:
        """Start the process with stdout and stderr going to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # Ctrl-C in the terminal reaches only us; we stop it.
            )
        finally:
            log.close()
        return self

    @property
    def running(self) -> bool:
        """True while the child has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the child wrote, for error messages."""
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_http(self, url: str, *, timeout: float = 20.0, ok: Sequence[int] = (200,)) -> None:
        """Poll ``url`` until it answers with a status in ``ok``; fail clearly on exit or timeout."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self.running:
                code = self.proc.returncode if self.proc else None
                raise SuiteFault(
                    explain(
                        f"{self.name} exited (code {code}) before it answered on {url}.",
                        log=self.log_path,
                        last_lines="\n" + self.log_tail(),
                    )
                )
            try:
                response = httpx.get(url, timeout=1.0)
                if response.status_code in ok:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        self.stop()
        raise SuiteFault(
            explain(
                f"{self.name} did not answer on {url} within {timeout:g} s.",
                last_attempt=last,
                log=self.log_path,
                last_lines="\n" + self.log_tail(),
            )
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL after ``timeout`` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> ManagedProcess:
        if self.proc is None:
            self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def python_module_argv(module: str, *args: str) -> list[str]:
    """argv to run ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


@contextlib.contextmanager
def all_stopped(processes: list[ManagedProcess]) -> Iterator[list[ManagedProcess]]:
    """Stop every process in ``processes`` (last started first) when the block exits."""
    try:
        yield processes
    finally:
        for proc in reversed(processes):
            proc.stop()
