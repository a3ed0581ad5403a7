"""Unit tests of garpd.drivers.fifo: the keepalived notify_fifo line parser (pure, table and
hypothesis) and the FifoReader on a real FIFO in tmp_path, driven by an asyncio loop."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd.control import NOTIFY_STATES
from garpd.drivers.fifo import MAX_LINE, FifoLine, FifoReader, parse_fifo_line

# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("line", "expected"), [
    ('INSTANCE "VI_1" MASTER 100', FifoLine("INSTANCE", "VI_1", "MASTER", 100)),
    ('GROUP "VG_1" BACKUP 0', FifoLine("GROUP", "VG_1", "BACKUP", 0)),
    ('INSTANCE "VI_1" MASTER 100\n', FifoLine("INSTANCE", "VI_1", "MASTER", 100)),
    ('  INSTANCE "VI_1" FAULT 255  ', FifoLine("INSTANCE", "VI_1", "FAULT", 255)),
    ('INSTANCE "VI 1" MASTER 100', FifoLine("INSTANCE", "VI 1", "MASTER", 100)),
    ('INSTANCE "  spaced  out " STOP 7', FifoLine("INSTANCE", "  spaced  out ", "STOP", 7)),
    ('INSTANCE "VI_1" MASTER', FifoLine("INSTANCE", "VI_1", "MASTER", None)),
    ('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150',
     FifoLine("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 150)),
    ('INSTANCE "VI_1" MASTER_PRIORITY 120', FifoLine("INSTANCE", "VI_1", "MASTER_PRIORITY", 120)),
    ('INSTANCE "VI_1" BACKUP_PRIORITY 90', FifoLine("INSTANCE", "VI_1", "BACKUP_PRIORITY", 90)),
    ('GROUP "VG_1" DELETED 0', FifoLine("GROUP", "VG_1", "DELETED", 0)),
    ('INSTANCE "VI_1"  MASTER   100', FifoLine("INSTANCE", "VI_1", "MASTER", 100)),
    ('INSTANCE "VI-ü.1" MASTER 1', FifoLine("INSTANCE", "VI-ü.1", "MASTER", 1)),
])
def test_parse_valid(line: str, expected: FifoLine) -> None:
    """keepalived's `TYPE "NAME" STATE PRIORITY` lines, including names with spaces."""
    assert parse_fifo_line(line) == expected


@pytest.mark.parametrize("line", [
    "",
    "   ",
    "INSTANCE",
    'instance "VI_1" MASTER 100',
    'VRRP "VI_1" MASTER 100',
    "INSTANCE VI_1 MASTER 100",
    "INSTANCE 'VI_1' MASTER 100",
    'INSTANCE "VI_1 MASTER 100',
    'INSTANCE "" MASTER 100',
    'INSTANCE "VI_1"',
    'INSTANCE "VI_1" master 100',
    'INSTANCE "VI_1" UP 100',
    'INSTANCE "VI"1" MASTER 100',
    'INSTANCE "VI_1" MASTER 256',
    'INSTANCE "VI_1" MASTER -1',
    'INSTANCE "VI_1" MASTER 1e2',
    'INSTANCE "VI_1" MASTER abc',
    'INSTANCE "VI_1" MASTER 100 extra',
    'INSTANCE "VI_1" MASTER 100 0',
    '"VI_1" INSTANCE MASTER 100',
])
def test_parse_invalid(line: str) -> None:
    """Anything else raises ValueError with a reason."""
    with pytest.raises(ValueError, match=r"\w"):
        parse_fifo_line(line)


@pytest.mark.parametrize("priority", ["1_0", "+5", "\uff11\uff10\uff10"])
def test_parse_priority_must_be_plain_decimal(priority: str) -> None:
    """The priority is keepalived's %d: ASCII digits only."""
    with pytest.raises(ValueError, match=r"\w"):
        parse_fifo_line(f'INSTANCE "VI_1" MASTER {priority}')


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_parse_random_text_only_value_error(text: str) -> None:
    """Random text either parses or raises ValueError, nothing else."""
    try:
        line = parse_fifo_line(text)
    except ValueError:
        return
    assert line.kind in ("INSTANCE", "GROUP")
    assert line.state in NOTIFY_STATES
    assert line.name
    assert line.priority is None or 0 <= line.priority <= 255


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["INSTANCE", "GROUP"]),
       st.text(min_size=1, max_size=40).filter(lambda s: '"' not in s),
       st.sampled_from(NOTIFY_STATES),
       st.integers(0, 255))
def test_parse_round_trip(kind: str, name: str, state: str, priority: int) -> None:
    """Whatever keepalived's format string produces parses back to its parts."""
    line = f'{kind} "{name}" {state} {priority}\n'
    assert parse_fifo_line(line) == FifoLine(kind, name, state, priority)


# --------------------------------------------------------------------------- reader


class Log:
    """A structlog stand-in that keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.records.append(("warning", event, fields))

    def error(self, event: str, **fields: Any) -> None:
        self.records.append(("error", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.records.append(("info", event, fields))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [f for _level, event, f in self.records if event == name]


class CountingReader(FifoReader):
    """A FifoReader that counts how often the loop woke it."""

    wakeups = 0

    def _readable(self) -> None:
        self.wakeups += 1
        super()._readable()


Body = Callable[[CountingReader, list[FifoLine], Log, Path], Awaitable[None]]


def drive(path: Path, body: Body) -> None:
    """Open a CountingReader on ``path`` in a fresh loop, run ``body``, close it."""
    async def main() -> None:
        lines: list[FifoLine] = []
        log = Log()
        reader = CountingReader(path, lines.append, log)
        reader.open(asyncio.get_running_loop())
        try:
            await body(reader, lines, log, path)
        finally:
            reader.close()

    asyncio.run(asyncio.wait_for(main(), 20.0))


def writer(path: Path) -> int:
    """A non-blocking write end (the reader holds the FIFO open, so this never waits)."""
    return os.open(path, os.O_WRONLY | os.O_NONBLOCK)


async def settle(seconds: float = 0.05) -> None:
    """Let the loop run the reader's callbacks."""
    await asyncio.sleep(seconds)


def test_reader_creates_fifo_0600(tmp_path: Path) -> None:
    """An absent FIFO is created (mode 0600, parents too) and left in place at close."""
    path = tmp_path / "run" / "garpd" / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        mode = os.lstat(p).st_mode
        assert stat.S_ISFIFO(mode)
        assert stat.S_IMODE(mode) == 0o600

    drive(path, body)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_reader_refuses_non_fifo(tmp_path: Path) -> None:
    """A regular file at the path is an OSError, never read as a FIFO."""
    path = tmp_path / "not-a-fifo"
    path.write_text('INSTANCE "VI_1" MASTER 100\n')
    reader = FifoReader(path, lambda line: None, Log())
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(OSError, match="not a FIFO"):
            reader.open(loop)
    finally:
        loop.close()


def test_reader_existing_fifo_and_partial_lines(tmp_path: Path) -> None:
    """An existing FIFO is used; a line split across writes is delivered once, whole."""
    path = tmp_path / "keepalived.fifo"
    os.mkfifo(path, 0o600)

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        fd = writer(p)
        try:
            os.write(fd, b'INSTANCE "VI')
            await settle()
            assert lines == []
            os.write(fd, b'_1" MASTER 100\nGROUP "VG_1" BA')
            await settle()
            assert lines == [FifoLine("INSTANCE", "VI_1", "MASTER", 100)]
            os.write(fd, b"CKUP 0\n\n\n")
            await settle()
        finally:
            os.close(fd)
        assert lines[1:] == [FifoLine("GROUP", "VG_1", "BACKUP", 0)]
        assert reader.counters == {"fifo_lines": 2, "fifo_malformed": 0}
        assert not log.records

    drive(path, body)


def test_reader_malformed_and_overlong_lines(tmp_path: Path) -> None:
    """Malformed and over-long lines are counted and logged; good lines still pass."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        fd = writer(p)
        try:
            os.write(fd, b"garbage\n" + b"x" * (MAX_LINE + 10) + b"\n"
                     + b'INSTANCE "VI_1" BACKUP 100\n')
            await settle()
        finally:
            os.close(fd)
        assert lines == [FifoLine("INSTANCE", "VI_1", "BACKUP", 100)]
        assert reader.counters == {"fifo_lines": 1, "fifo_malformed": 2}
        malformed = log.events("fifo_malformed")
        assert len(malformed) == 2
        assert all(m["path"] == str(p) for m in malformed)
        assert all(len(m["line"]) <= 120 for m in malformed)

    drive(path, body)


def test_reader_overlong_unterminated_line_is_dropped(tmp_path: Path) -> None:
    """A line growing past MAX_LINE without a newline is rejected, and the buffer resets."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        fd = writer(p)
        try:
            os.write(fd, b"y" * (MAX_LINE + 1))
            await settle()
            assert reader.counters["fifo_malformed"] == 1
            os.write(fd, b'\nINSTANCE "VI_1" MASTER 100\n')
            await settle()
        finally:
            os.close(fd)
        assert lines == [FifoLine("INSTANCE", "VI_1", "MASTER", 100)]

    drive(path, body)


def test_reader_overlong_line_tail_not_parsed(tmp_path: Path) -> None:
    """The tail of an over-long line, arriving in a later read, is not taken as a line."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        fd = writer(p)
        try:
            os.write(fd, b"x" * (MAX_LINE + 1))
            await settle()
            os.write(fd, b'INSTANCE "VI_1" MASTER 100\n')
            await settle()
        finally:
            os.close(fd)
        assert lines == [], "the tail of an over-long line was parsed as a notification"

    drive(path, body)


def test_reader_overlong_line_over_many_reads_counted_once(tmp_path: Path) -> None:
    """A huge line spread over many reads is one malformed line; the next line is read."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        fd = writer(p)
        try:
            for _ in range(4):
                os.write(fd, b"z" * (MAX_LINE + 100))
                await settle()
            os.write(fd, b'z INSTANCE "VI_1" MASTER 100')
            await settle()
            os.write(fd, b'\nINSTANCE "VI_2" BACKUP 100\n')
            await settle()
        finally:
            os.close(fd)
        assert lines == [FifoLine("INSTANCE", "VI_2", "BACKUP", 100)]
        assert reader.counters == {"fifo_lines": 1, "fifo_malformed": 1}
        assert len(log.events("fifo_malformed")) == 1

    drive(path, body)


def test_reader_writer_close_and_reopen_no_eof_spin(tmp_path: Path) -> None:
    """keepalived closing its end is not an EOF busy loop; a new writer is read as before."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        for round_ in range(3):
            fd = writer(p)
            os.write(fd, f'INSTANCE "VI_{round_}" MASTER 100\n'.encode())
            os.close(fd)
            await settle()
            before = reader.wakeups
            await settle(0.3)
            assert reader.wakeups == before, "woken with no writer and nothing to read"
        assert [line.name for line in lines] == ["VI_0", "VI_1", "VI_2"]
        assert reader.wakeups <= 6
        assert not log.events("fifo_read_failed")

    drive(path, body)


def test_reader_close_is_idempotent(tmp_path: Path) -> None:
    """close() twice is harmless and really lets go of the FIFO (no reader left)."""
    path = tmp_path / "keepalived.fifo"

    async def body(reader: CountingReader, lines: list[FifoLine], log: Log, p: Path) -> None:
        reader.close()
        reader.close()
        # An O_NONBLOCK writer with no reader fails with ENXIO.
        with pytest.raises(OSError, match=os.strerror(errno.ENXIO)) as info:
            os.close(writer(p))
        assert info.value.errno == errno.ENXIO
        assert lines == []

    drive(path, body)
