"""A minimal logger for the notify hook's hand-off path, where importing structlog (and
asyncio with it) would cost more than the whole hand-off.

It writes the same records as :mod:`garpd.log` (JSON: ``event``, ``level``, ``timestamp``
ISO 8601 UTC and the fields; console: one readable line) to stderr, and like it never
raises on a closed or full stderr. Like it too, when ``JOURNAL_STREAM`` names stderr the
records go to the journal as entries (:mod:`garpd.drivers.journal`, imported only then).
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing costs the hook ~3 ms
if TYPE_CHECKING:
    from typing import Any

LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")

LEVELS = ("debug", "info", "warning", "error")


def default_format() -> str:
    """console on a terminal, JSON otherwise (SPEC: Command line)."""
    try:
        return "console" if sys.stderr.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def timestamp(now: float | None = None) -> str:
    """ISO 8601 UTC with microseconds, as structlog's TimeStamper writes it."""
    now = time.time() if now is None else now
    micro = int(now % 1 * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{micro:06d}Z"


class QuickLog:
    """info / warning / error / debug (event, **fields), like a structlog logger."""

    def __init__(self, fmt: str | None = None, level: str | None = None) -> None:
        self.fmt = fmt or default_format()
        self.threshold = LEVELS.index(level) if level in LEVELS else 1
        self.journal: Any = None
        if os.environ.get("JOURNAL_STREAM"):  # the import only under systemd
            from garpd.drivers import journal  # noqa: PLC0415

            self.journal = journal.from_environment()

    def _emit(self, level: str, event: str, fields: dict[str, object]) -> None:
        if LEVELS.index(level) < self.threshold:
            return
        stamp = timestamp()
        if self.journal is not None and self.journal.write(
                {**fields, "event": event, "level": level, "timestamp": stamp}) != "unavailable":
            return  # in the journal, or dropped there: never blocks, never raises
        if self.fmt == "json":
            import json  # noqa: PLC0415 - only once there is something to write

            line = json.dumps({**fields, "event": event, "level": level, "timestamp": stamp},
                              default=str)
        else:
            rest = " ".join(f"{k}={v}" for k, v in fields.items())
            line = f"{stamp} [{level:<7}] {event:<20} {rest}".rstrip()
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):  # closed, full, or None (2>&-)
            pass

    def debug(self, event: str, **fields: object) -> None:
        """A debug record."""
        self._emit("debug", event, fields)

    def info(self, event: str, **fields: object) -> None:
        """An info record."""
        self._emit("info", event, fields)

    def warning(self, event: str, **fields: object) -> None:
        """A warning record."""
        self._emit("warning", event, fields)

    def error(self, event: str, **fields: object) -> None:
        """An error record."""
        self._emit("error", event, fields)


def release_stderr() -> None:
    """At exit: flush stderr, and if it cannot be flushed, let go of what it holds.

    Python's default stderr (no ``PYTHONUNBUFFERED``, as systemd starts garpd) is a
    buffered writer that keeps the bytes a failed write could not deliver (stderr on
    /dev/full, a full disk, a pipe nobody reads). The interpreter flushes stderr once more
    at shutdown and turns that failure into exit status 120, so a clean SIGTERM would not
    exit 0. Logs are never fatal: when the flush fails the records are lost anyway, and
    closing the stream (fd 2 itself stays open: the stream does not own it) drops them and
    leaves nothing for the last flush to fail on.
    """
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.flush()
    except (OSError, ValueError, AttributeError):  # full, closed, or not a stream
        # try/except, not contextlib.suppress: contextlib costs the hook's path an import.
        try:  # noqa: SIM105
            stream.close()  # tries the flush once more, then closes even if it fails
        except (OSError, ValueError, AttributeError):
            pass
