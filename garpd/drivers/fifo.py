"""keepalived's notify_fifo: the line parser (pure) and the reader (thin).

keepalived writes ``TYPE "NAME" STATE PRIORITY\\n`` lines, e.g. ``INSTANCE "VI_1" MASTER 100``
or ``GROUP "VG_1" BACKUP 0``. The daemon creates the FIFO (mode 0600) if it is absent and
opens it read-write and non-blocking: start-up never waits for a writer, and keepalived
restarting (closing and re-opening its end) never shows up as end-of-file. Malformed or
over-long lines are counted and logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from garpd.control import NOTIFY_STATES
from garpd.errors import RemoteError

MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class FifoLine:
    """One notification from keepalived."""

    kind: str
    name: str
    state: str
    priority: int | None


def parse_fifo_line(line: str) -> FifoLine:
    """Parse one FIFO line; raises RemoteError with the reason."""
    text = line.strip()
    kind, sep, rest = text.partition(" ")
    if not sep or kind not in ("INSTANCE", "GROUP"):
        raise RemoteError("expected INSTANCE or GROUP first")
    rest = rest.lstrip()
    if not rest.startswith('"'):
        raise RemoteError("expected a quoted name")
    end = rest.find('"', 1)
    if end <= 1:
        raise RemoteError("unterminated or empty name")
    name = rest[1:end]
    words = rest[end + 1:].split()
    if not words or words[0] not in NOTIFY_STATES:
        raise RemoteError("unknown state")
    priority: int | None = None
    if len(words) > 1:
        if not (words[1].isascii() and words[1].isdigit()):
            raise RemoteError("priority is not a number")
        priority = int(words[1])
        if not 0 <= priority <= 255:
            raise RemoteError("priority out of 0..255")
    if len(words) > 2:
        raise RemoteError("trailing words")
    return FifoLine(kind, name, words[0], priority)


class FifoReader:
    """Reads keepalived's notify FIFO from the event loop."""

    def __init__(self, path: Path, on_line: Callable[[FifoLine], None], log: Any) -> None:
        self.path = path
        self._on_line = on_line
        self.log = log
        self._fd: int | None = None
        self._buf = b""
        self._skipping = False  # inside an over-long line: drop up to the next newline
        self._loop: asyncio.AbstractEventLoop | None = None
        self.counters = {"fifo_lines": 0, "fifo_malformed": 0}

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create the FIFO if absent (0600) and start reading; raises OSError."""
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.mkfifo(self.path, 0o600)
        else:
            if not stat.S_ISFIFO(mode):
                raise OSError(17, f"{self.path} exists and is not a FIFO")
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self._loop = loop
        loop.add_reader(self._fd, self._readable)

    def close(self) -> None:
        """Stop reading (the FIFO file stays for keepalived)."""
        if self._fd is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:
            self.log.error("fifo_read_failed", path=str(self.path), error=exc.strerror)
            return
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        if self._skipping and lines:
            lines.pop(0)  # the rest of the over-long line
            self._skipping = False
        if len(self._buf) > MAX_LINE:
            if not self._skipping:
                self._reject(f"line longer than {MAX_LINE} bytes")
            self._buf = b""
            self._skipping = True
        for raw in lines:
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE:
                self._reject(f"line longer than {MAX_LINE} bytes")
                continue
            try:
                line = parse_fifo_line(raw.decode("utf-8", "replace"))
            except ValueError as exc:
                self._reject(str(exc), raw[:120].decode("utf-8", "replace"))
                continue
            self.counters["fifo_lines"] += 1
            self._on_line(line)

    def _reject(self, reason: str, text: str = "") -> None:
        self.counters["fifo_malformed"] += 1
        self.log.warning("fifo_malformed", path=str(self.path), reason=reason, line=text)
