"""Fuzz target: keepalived notify_fifo lines (:func:`garpd.drivers.fifo.parse_fifo_line`).

Contract: any line (decoded as the reader decodes it, UTF-8 with replacement) gives a
:class:`FifoLine` (type INSTANCE or GROUP, a non-empty name, a known state, a priority
0..255 or none) or a :class:`RemoteError`, nothing else. Run:
``python -m fuzz.fifo [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.control import NOTIFY_STATES
    from garpd.drivers.fifo import FifoLine, parse_fifo_line
    from garpd.errors import RemoteError


def test_one_input(data: bytes) -> None:
    """Parse ``data`` as one FIFO line."""
    try:
        line = parse_fifo_line(data.decode("utf-8", "replace"))
    except RemoteError:
        return
    assert isinstance(line, FifoLine)
    assert line.kind in ("INSTANCE", "GROUP")
    assert line.name
    assert '"' not in line.name
    assert line.state in NOTIFY_STATES
    assert line.priority is None or 0 <= line.priority <= 255


if __name__ == "__main__":
    main("fifo", test_one_input)
