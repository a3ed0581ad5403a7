"""Runs garpd's command line in this process, with a probe for garbage-collection pauses.

Usage (as a wrapper in front of garpd's arguments)::

    python tests/gc_probe_helper.py PROBE [garpd arguments...]

A thread waits for the file PROBE to appear, then runs three full garbage collections and
writes their durations, in seconds, as a JSON list to PROBE.out. A collection holds the GIL,
so the daemon's event loop waits for it exactly as it waits for one of the generation-2
collections CPython starts by itself now and then: the duration is the pause an automatic
collection puts into garpd's schedule. Used by tests/test_faults_lab.py.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from pathlib import Path


def probe(path: Path) -> None:
    """Wait for ``path``, time three full collections, write them to ``path``.out."""
    while not path.exists():
        time.sleep(0.05)
    pauses = []
    for _ in range(3):
        started = time.monotonic()
        gc.collect()
        pauses.append(time.monotonic() - started)
        time.sleep(0.1)
    done = path.with_name(path.name + ".out")
    tmp = done.with_name(done.name + ".tmp")
    tmp.write_text(json.dumps(pauses))
    tmp.rename(done)


def main() -> int:
    """Start the probe thread, then run garpd with the remaining arguments."""
    path = Path(sys.argv[1])
    threading.Thread(target=probe, args=(path,), daemon=True).start()
    from garpd.cli import main as garpd  # noqa: PLC0415 - after the probe is armed

    return garpd(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
