"""Running part of a test as an unprivileged user: owns the rule that such a test drops
root with ``setpriv`` (util-linux, which scripts/test.sh installs) instead of skipping when
the suite runs as root, and fails rather than skips under GARPD_REQUIRE_LAB=1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
#: nobody / nogroup (numeric: the group's name differs between distributions).
NOBODY = 65534


def _unavailable(why: str) -> None:
    if os.environ.get("GARPD_REQUIRE_LAB") == "1":
        pytest.fail(f"GARPD_REQUIRE_LAB=1 but {why}", pytrace=False)
    pytest.skip(f"{why} (GARPD_REQUIRE_LAB=1 makes this a failure)")


def setpriv() -> str:
    """The path of ``setpriv``; skips (fails under GARPD_REQUIRE_LAB=1) without it."""
    found = shutil.which("setpriv")
    if found is None:
        _unavailable("setpriv (util-linux) is not installed; scripts/test.sh installs it")
    assert found is not None
    return found


def require_root_and_setpriv(what: str) -> str:
    """For a test that needs both root and another uid (``what`` says why): the path of
    ``setpriv``; skips (fails under GARPD_REQUIRE_LAB=1) when not root or without it."""
    if os.geteuid() != 0:
        _unavailable(f"{what} needs root")
    return setpriv()


def unprivileged(argv: Sequence[str]) -> list[str]:
    """``argv`` as run by an unprivileged user: as it is when this process is not root,
    else behind ``setpriv --reuid=nobody --regid=nogroup --clear-groups``."""
    if os.geteuid() != 0:
        return list(argv)
    return [setpriv(), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", *argv]


def run_python_unprivileged(code: str, *args: str) -> object:
    """Run ``code`` (``python -c``, garpd importable from this checkout) as an unprivileged
    user with ``args``; return the JSON document it printed on stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(unprivileged([sys.executable, "-c", code, *args]),
                          capture_output=True, text=True, timeout=60, check=False, cwd="/",
                          stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory under /tmp that another uid can traverse (pytest's tmp_path is
    root-only), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="garpd-unpriv-", dir="/tmp"))
    try:
        path.chmod(0o755)  # another uid must traverse it
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def in_child_as_nobody(call: Callable[[], str]) -> str:
    """``call()``'s answer, computed in a forked child that drops to nobody/nogroup first
    when this process is root (in-process code, where ``setpriv`` runs a new program). The
    child writes the answer to a pipe and exits without running any cleanup of the parent's."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            os.write(write, call().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    os.waitpid(pid, 0)
    return out
