"""``python -m bench [--quick] [--json FILE]``: build the namespaces, run every case side by
side in one run, print the table of figures, ratios and goals.

Needs root (network namespaces, raw sockets). Exit 0 when every case ran (whether or not
its goals were met: the benchmark asserts no timing), 1 when a case failed to run, 2 when
the lab cannot be built here.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cases
from bench.harness import PEER, SENDER, Bench
from bench.report import Row, render, to_json
from garpd.lab.netns import Lab, lab_unavailable_reason

_T0 = time.monotonic()


def _say(text: str) -> None:
    print(f"bench: [{time.monotonic() - _T0:6.1f}s] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, few trials, a 3 s idle window (the smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--only", metavar="N,N", default="1,2,3,4,5,6",
                        help="run only these cases (numbers; 5 needs 4)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the scratch files (configs, daemon logs) in DIR")
    args = parser.parse_args(argv)
    reason = lab_unavailable_reason()
    if reason is not None:
        print(f"bench: the namespace lab is unavailable: {reason}", file=sys.stderr)
        return 2
    settings = cases.Settings.quick() if args.quick else cases.Settings()
    _byte_compile()
    started = time.monotonic()
    rows: list[Row] = []
    failures: list[str] = []
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick, "nproc": os.cpu_count(), "kernel": platform.release(),
        "python": platform.python_version(), "settings": vars(settings),
        "garpd_revision": _revision(),
    }
    with tempfile.TemporaryDirectory(prefix="garpd-bench-") as scratch:
        workdir = Path(args.keep) if args.keep else Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        with Lab([SENDER, PEER], accept_dad=0) as lab:
            bench = Bench(lab, workdir, _say)
            try:
                _run_all(bench, settings, rows, failures, _numbers(args.only))
            finally:
                bench.close()
    meta["seconds"] = round(time.monotonic() - started, 1)
    meta["failures"] = failures
    print(render(rows))
    print(f"\ngarpd {meta['garpd_revision']}, {meta['date']}, {meta['nproc']} CPUs, "
          f"kernel {meta['kernel']}, Python {meta['python']}, {meta['seconds']} s")
    for failure in failures:
        print(f"\nFAILED: {failure}")
    if args.json:
        Path(args.json).write_text(to_json(rows, meta))
    return 1 if failures else 0


def _byte_compile() -> None:
    """Byte-compile garpd where the children import it from (the repository, first on their
    PYTHONPATH), as any installed copy is: under PYTHONDONTWRITEBYTECODE every start would
    otherwise compile every module again (~10 ms each for the largest), which no deployed
    garpd pays."""
    import compileall  # noqa: PLC0415

    root = Path(__file__).resolve().parent.parent
    compileall.compile_dir(str(root / "garpd"), quiet=1)
    compileall.compile_dir(str(root / "bench"), quiet=1)


def _revision() -> str:
    """The commit of the garpd measured, with "+dirty" when the work tree has changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "garpd"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _numbers(text: str) -> set[int]:
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise SystemExit(f"--only: not a list of case numbers: {text!r}") from None


def _run_all(bench: Bench, settings: cases.Settings, rows: list[Row],
             failures: list[str], only: set[int]) -> None:
    def attempt(name: str, run: Callable[[], list[Row]]) -> None:
        try:
            rows.extend(run())
        except Exception as exc:  # one broken case must not hide the others' figures
            _say(f"{name} failed:\n{traceback.format_exc()}")
            failures.append(f"{name}: {exc}")
            rows.append(Row(name, "did not run", f"error: {exc}"[:120]))

    if 1 in only:
        attempt(cases_label(0), lambda: cases.burst(bench, settings))
    if only & {2, 3}:
        daemons: list[Any] = []

        def latency() -> list[Row]:
            latency_rows, daemon = cases.latency(bench, settings)
            daemons.append(daemon)
            return latency_rows if 2 in only else []

        attempt(cases_label(1), latency)
        if 3 in only and daemons:
            attempt(cases_label(2), lambda: cases.handoff(bench, settings, daemons[0]))
        elif 3 in only:
            rows.append(Row(cases_label(2), "did not run", "needs the latency daemon"))
            failures.append("3 hand-off: not run (latency failed)")
        for daemon in daemons:
            bench.stop_daemon(daemon)
    if 6 in only:
        attempt(cases_label(5), lambda: cases.confirm(bench, settings))
    if not only & {4, 5}:
        return
    held: list[object] = []

    def storm() -> list[Row]:
        storm_rows, storm_daemon = cases.storm(bench, settings)
        held.append(storm_daemon)
        return storm_rows

    attempt(cases_label(3), storm)
    if 5 not in only:
        return
    if held:
        attempt(cases_label(4), lambda: cases.idle(bench, settings, held[0]))
    else:
        rows.append(Row(cases_label(4), "did not run", "needs the storm daemon"))
        failures.append("5 idle: not run (storm failed)")


def cases_label(index: int) -> str:
    """The label of case ``index`` (0-based) as the table prints it."""
    from bench.report import CASES  # noqa: PLC0415

    return CASES[index]
