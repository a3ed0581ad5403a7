"""Smoke test of the benchmark: ``python -m bench --quick`` builds its namespaces, runs every
case with tiny sizes and prints a row for each. It asserts no timing (the benchmark is not
part of the test suite; BENCHMARKS.md holds its figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import CASES
from tests.lab import require_lab

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.lab


def test_quick_benchmark_runs_every_case(tmp_path: Path) -> None:
    """`python -m bench --quick` exits 0, prints a table row for every case, writes JSON."""
    require_lab()
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH"))
                                        if p)
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    for case in CASES:
        assert any(line.startswith(f"| {case}") for line in rows), \
            f"no row for {case!r} in:\n{proc.stdout}"
    assert not any("did not run" in line for line in rows), proc.stdout
    doc = json.loads(out.read_text())
    assert {row["case"].split(" ")[0] for row in doc["rows"]} == {c.split(" ")[0] for c in CASES}
