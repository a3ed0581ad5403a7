"""The driver every atheris target shares: contract violations, timing, the slowest input.

A target module defines ``test_one_input(data)`` (the contract: the parser returns a value
or raises only its documented error; an ``AssertionError`` or any other exception is a
finding) and calls :func:`main` from ``if __name__ == "__main__"``. :func:`main` hands the
command line to libFuzzer (``-max_total_time``, ``-timeout``, ``-rss_limit_mb``, corpus
directories) and wraps the target so that every call is timed, in CPU time of the thread
(the fuzzers run under ``nice -n 19`` on a shared machine: wall time would mostly measure
the other processes):

- the slowest single input so far (after :data:`WARM_UP` calls) is written to
  ``$GARPD_FUZZ_OUT/<target>.slowest`` (its bytes) and ``<target>.json`` (its time in
  ms, the execution count);
- an input slower than :data:`SLOW` seconds (the issue's 100 ms bound; libFuzzer's own
  ``-timeout`` counts whole seconds) is saved as ``<target>.slow-<sha1>`` for a replay:
  instrumentation makes every garpd line ten to twenty times slower, so a slow input is
  judged by ``python -m fuzz.replay TARGET FILE`` (plain code, best of five), never by
  one instrumented measurement; ``python -m fuzz.<target> FILE`` re-runs it under
  atheris, as libFuzzer does a crash.

Without ``GARPD_FUZZ_OUT`` nothing is written (the CI smoke only wants the contract).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SLOW = 0.1
#: Calls not timed at the start: lazy imports (json, pydantic's schemas) land there.
WARM_UP = 50


def instrumented() -> contextlib.AbstractContextManager[Any]:
    """Wraps a target's imports of garpd: atheris instruments them for coverage, except
    when ``GARPD_FUZZ_PLAIN`` is set (the replay and the smoke test run the plain code,
    without atheris)."""
    if os.environ.get("GARPD_FUZZ_PLAIN"):
        return contextlib.nullcontext()
    import atheris  # noqa: PLC0415 - only when fuzzing

    return atheris.instrument_imports(include=["garpd"])  # type: ignore[no-any-return]


class _Timer:
    def __init__(self, name: str, target: Callable[[bytes], None], out: Path | None) -> None:
        self.name, self.target, self.out = name, target, out
        self.runs = 0
        self.slowest = 0.0
        self.slow = 0

    def __call__(self, data: bytes) -> None:
        start = time.thread_time()
        self.target(data)
        elapsed = time.thread_time() - start
        self.runs += 1
        if self.out is None or self.runs <= WARM_UP:
            return
        if elapsed > self.slowest:
            self.slowest = elapsed
            (self.out / f"{self.name}.slowest").write_bytes(data)
            self._stats()
        if elapsed > SLOW:
            self.slow += 1
            digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            (self.out / f"{self.name}.slow-{digest}").write_bytes(data)
            self._stats()
        elif self.runs % 100_000 == 0:
            self._stats()

    def _stats(self) -> None:
        assert self.out is not None
        stats = {"target": self.name, "runs": self.runs, "slowest_ms": self.slowest * 1000,
                 "slow_inputs": self.slow}
        (self.out / f"{self.name}.json").write_text(json.dumps(stats) + "\n")


def main(name: str, target: Callable[[bytes], None]) -> None:
    """Fuzz ``target`` with libFuzzer's options from ``sys.argv``."""
    import atheris  # noqa: PLC0415 - only when fuzzing; the smoke test imports targets too

    out_dir = os.environ.get("GARPD_FUZZ_OUT")
    out = Path(out_dir) if out_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    atheris.Setup(sys.argv, _Timer(name, target, out))
    atheris.Fuzz()
