"""The `divert` command called in this process: the same `divert.cli.main.main` that the installed
script runs, with its own arguments, standard input, output and environment, about 100 times
faster than a new Python process. test_cli keeps a couple of real-subprocess smoke tests."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Ran:
    """What a command did: like subprocess.CompletedProcess."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def applied_env(env: dict[str, str | None] | None):
    """os.environ with `env` applied (None removes a variable), restored afterwards, whatever
    the command set itself (the CLI puts --db into DIVERT_DATABASE_URL)."""
    saved = dict(os.environ)
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def divert(*args: str, stdin: str | None = None, env: dict[str, str | None] | None = None) -> Ran:
    """`divert ARGS...` in process: exit code, standard output and standard error as text."""
    from divert.cli.main import main
    from divert.core import environment

    out, err = io.StringIO(), io.StringIO()
    stdin_stream = io.StringIO(stdin or "")
    with applied_env(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        real_stdin, sys.stdin = sys.stdin, stdin_stream
        environment._secrets.cache_clear()
        try:
            code = main([str(a) for a in args])
        except SystemExit as leaving:  # argparse's usage errors and --help
            code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
        finally:
            sys.stdin = real_stdin
            environment._secrets.cache_clear()
    return Ran([str(a) for a in args], int(code or 0), out.getvalue(), err.getvalue())


def divert_process(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                   timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m divert.cli.main ARGS...` as a real process (for the smoke tests of the command itself)."""
    return subprocess.run([sys.executable, "-m", "divert.cli.main", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout)
