"""The bench's app process: the real app (`python -m streamlit run app.py`, headless) on a free
local port against a database, for `divert bench`'s browser timing (divert.bench.drawing) and the
browser tests (tests/e2e, through tests/e2e/browser.py). It is started as a process of its own:
nothing here imports Streamlit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from divert.core.environment import PROJECT_DIR

START_TIMEOUT_S = 120


def peak_mb(pid: int | str = "self") -> float | None:
    """The highest resident memory of process `pid` (this one by default) in MB: its VmHWM.
    Not getrusage's ru_maxrss, which a process started by another carries over from its parent
    (Linux keeps the larger of the two across the fork and exec: the bench's app process read
    2,410 MB, the parent's cold load, while its own peak was under 800). None where the
    process has gone or /proc is not there."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid == "self":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return None


class BenchProblem(Exception):
    """The timing could not run (the app, the account or the sign-in failed)."""


# --- the app --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class App:
    """`python -m streamlit run app.py`, headless on a free local port, on `db_url`.

    `env`: environment entries for the app on top of this process's (None removes one).
    `log`: where its output goes; by default a temporary file, kept only if the app failed."""

    def __init__(self, db_url: str, *, env: dict[str, str | None] | None = None, log: Path | None = None):
        self.db_url = db_url
        self.extra_env = dict(env or {})
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keep_log = log is not None
        self.log = log if log is not None else Path(tempfile.mkstemp(prefix="divert-bench-app-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ, DIVERT_DATABASE_URL=self.db_url, PYTHONUNBUFFERED="1")
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def start(self) -> App:
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_DIR, env=self.env(), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchProblem(f"the app exited with {self.process.returncode} (log: {self.log})")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)  # polling a process that is starting: there is nothing to wait on
        self.stop()
        raise BenchProblem(f"the app did not start in {START_TIMEOUT_S} s (log: {self.log})")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def peak_mb(self) -> float | None:
        """The app process's highest resident memory so far (MB; None once it has stopped)."""
        return peak_mb(self.process.pid) if self.running() else None

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.keep_log and self.process is not None and self.process.returncode in (0, -15):
            self.log.unlink(missing_ok=True)  # kept only when the app failed, for its traceback
