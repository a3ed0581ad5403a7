"""Replays inputs through a fuzz target, uninstrumented, and times each one.

``python -m fuzz.replay TARGET FILE...`` prints, per file, the best of five run times (CPU
time of the thread) in ms and the outcome (``ok``, or the exception a fuzzer would report).
Slow inputs the harness saved are judged here: one measurement on a busy machine is noise,
the best of five is the input's cost. Exit 1 if any input raised or took over 100 ms.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    """Replay ``argv[1:]`` through target ``argv[0]``."""
    os.environ["GARPD_FUZZ_PLAIN"] = "1"
    target = importlib.import_module(f"fuzz.{argv[0]}")
    worst = 0
    for name in argv[1:]:
        data = Path(name).read_bytes()
        best = float("inf")
        outcome = "ok"
        for _ in range(5):
            start = time.thread_time()
            try:
                target.test_one_input(data)
            except Exception as exc:  # whatever a fuzzer would report
                outcome = "".join(traceback.format_exception_only(exc)).strip()
                worst = 1
                break
            best = min(best, time.thread_time() - start)
        if best > 0.1 and outcome == "ok":
            worst = 1
        print(f"{best * 1000:9.2f} ms  {len(data):7d} B  {outcome[:300]}  {name}")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
