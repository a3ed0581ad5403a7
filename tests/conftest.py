"""Shared pytest fixtures: owns the namespace-lab factory (`make_lab`), the argv prefix
that runs the garpd CLI (`garpd_cmd`) and the daemon factory (`daemons`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_helpers import Daemon, DaemonFactory
from tests.lab import Lab, LabFactory, require_lab

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_lab() -> Iterator[LabFactory]:
    """Factory for entered Labs (skips, or fails under GARPD_REQUIRE_LAB=1, without root).

    Every lab it built is closed at teardown, in reverse order, even if the test failed.
    """
    require_lab()
    labs: list[Lab] = []

    def factory(hosts: Sequence[str] = ("a", "b"), **options: Any) -> Lab:
        lab = Lab(hosts, **options)
        labs.append(lab)
        return lab.__enter__()

    yield factory
    errors: list[Exception] = []
    for lab in reversed(labs):
        try:
            lab.close()
        except Exception as exc:  # close every lab, report all
            errors.append(exc)
    if errors:
        pytest.fail(f"lab teardown failed: {errors}", pytrace=False)


@pytest.fixture
def garpd_cmd(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """argv prefix that runs the CLI: [sys.executable, "-m", "garpd"].

    The repo root is put on PYTHONPATH so `-m garpd` resolves whatever the child's cwd is,
    including inside `ip netns exec`.
    """
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO_ROOT), existing) if p)
    )
    return [sys.executable, "-m", "garpd"]


@pytest.fixture
def daemons(garpd_cmd: list[str], tmp_path: Path) -> Iterator[DaemonFactory]:
    """Factory: start ``garpd run`` (optionally behind a wrapper ``cmd``) in a lab host and
    wait for READY=1; every daemon it started is killed at teardown, even on failure."""
    started: list[Daemon] = []

    def factory(lab: Lab, config: Path, *, env: Mapping[str, str] | None = None,
                cmd: Sequence[str] | None = None) -> Daemon:
        daemon = Daemon(lab, list(cmd) if cmd is not None else garpd_cmd, config, tmp_path,
                        name=f"garpd{len(started)}", env=env)
        started.append(daemon)
        daemon.start()
        return daemon

    try:
        yield factory
    finally:
        for daemon in started:
            daemon.close()
