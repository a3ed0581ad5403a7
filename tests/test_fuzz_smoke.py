"""The fuzz targets still run (issue 17): each one over its seeds, plain, then a short
atheris run of each (a few thousand generated inputs), so that a target broken by a parser
change, or a seed the contract no longer accepts, fails CI. The long runs are
``scripts/fuzz.sh`` (FUZZING.md)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

TARGETS = ("vrrp", "neighbour", "netlink", "control", "fifo", "hook", "keepalived", "toml")
SEEDS = REPO_ROOT / "fuzz" / "seeds"


def test_every_fuzz_target_has_seeds_and_a_run_in_the_script() -> None:
    """One module and one seed directory per target, and fuzz.sh knows all of them."""
    assert sorted(p.stem for p in (REPO_ROOT / "fuzz").glob("*.py")
                  if p.stem not in ("__init__", "harness", "make_seeds", "replay")
                  ) == sorted(TARGETS)
    script = (REPO_ROOT / "scripts" / "fuzz.sh").read_text()
    assert f"all=({' '.join(TARGETS)})" in script
    for target in TARGETS:
        assert any((SEEDS / target).iterdir()), target


def _plain_target(name: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], None]:
    monkeypatch.setenv("GARPD_FUZZ_PLAIN", "1")
    module = importlib.import_module(f"fuzz.{name}")
    target: Callable[[bytes], None] = module.test_one_input
    return target


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_keep_the_contract(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every seed (the golden vectors and every input a fuzzer once failed on) passes the
    target's contract checks, without atheris."""
    target = _plain_target(name, monkeypatch)
    seeds = sorted((SEEDS / name).iterdir())
    for seed in seeds:
        target(seed.read_bytes())
    assert seeds


@pytest.mark.parametrize("name", TARGETS)
def test_short_atheris_run(name: str, tmp_path: Path) -> None:
    """A few thousand inputs under atheris (at most 3 s of fuzzing): exit 0, no finding."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("GARPD_FUZZ_PLAIN", None)
    env.pop("GARPD_FUZZ_OUT", None)
    out = subprocess.run(
        [sys.executable, "-m", f"fuzz.{name}", "-runs=3000", "-max_total_time=3",
         "-timeout=20", "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/",
         str(tmp_path), str(SEEDS / name)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Done " in out.stderr, out.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))
    assert not list(tmp_path.glob("timeout-*"))
