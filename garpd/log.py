"""Logging: structlog set up for stderr, JSON or console, or the journal; never fatal.

Every command logs through :func:`get` after :func:`setup`. Records go to stderr only
(stdout carries a command's own output). A log write that fails (closed stderr, full disk,
a broken pipe) is dropped and counted in :data:`DROPPED`: garpd keeps announcing.

Under systemd (``JOURNAL_STREAM`` names stderr) records go to the journal as entries with
a priority and fields instead (:mod:`garpd.drivers.journal`); an entry the journal has no
room for is dropped and counted in :data:`DROPPED` too; when the journal's socket is not
there, the record goes to stderr as it would elsewhere.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Literal, TextIO

import structlog

from garpd.drivers import journal
from garpd.quicklog import default_format

Format = Literal["json", "console"]
LEVELS = ("debug", "info", "warning", "error")

#: Log records that could not be written (stderr closed or full).
DROPPED = 0


class _SafeWriter:
    """A structlog logger writing whole lines to a stream, swallowing write errors."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        global DROPPED  # noqa: PLW0603 - one process-wide counter, read by status
        try:
            self._stream.write(message + "\n")
            self._stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, full, or None (2>&-)
            DROPPED += 1

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _SafeWriterFactory:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> _SafeWriter:
        return _SafeWriter(self._stream if self._stream is not None else sys.stderr)


class _JournalOr:
    """The last processor under systemd: the record as a journal entry, or (no journal
    there) rendered for stderr as usual."""

    def __init__(self, writer: journal.JournalWriter, renderer: Any) -> None:
        self.writer = writer
        self.renderer = renderer

    def __call__(self, logger: Any, method: str, event_dict: Any) -> Any:
        global DROPPED  # noqa: PLW0603 - one process-wide counter, read by status
        outcome = self.writer.write(event_dict)
        if outcome == journal.UNAVAILABLE:
            return self.renderer(logger, method, event_dict)
        if outcome == journal.DROPPED:
            DROPPED += 1
        raise structlog.DropEvent


#: The journal writer, kept across setup() calls (a reload must not open another socket).
_journal: journal.JournalWriter | None = None


def _journal_writer(path: str | None) -> journal.JournalWriter | None:
    global _journal  # noqa: PLW0603 - one socket per process
    if not journal.stream_is_journal(os.environ.get("JOURNAL_STREAM")):
        return None
    wanted = path or os.environ.get(journal.SOCKET_ENV) or journal.DEFAULT_SOCKET
    if _journal is None or _journal.path != wanted:
        try:
            _journal = journal.JournalWriter(wanted)
        except OSError:
            return None
    return _journal


def setup(fmt: Format | None = None, level: str = "info", stream: TextIO | None = None,
          *, journal_socket: str | None = None) -> None:
    """Configure structlog for this process.

    Records go to the journal when no ``stream`` is given and ``JOURNAL_STREAM`` names
    stderr (``journal_socket``, else ``GARPD_JOURNAL_SOCKET``, else journald's socket).
    """
    fmt = fmt or ("console" if default_format() == "console" else "json")
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    writer = _journal_writer(journal_socket) if stream is None else None
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer if writer is None else _JournalOr(writer, renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)),
        logger_factory=_SafeWriterFactory(stream),
        cache_logger_on_first_use=False,
    )


def get() -> Any:
    """The process logger (a structlog bound logger)."""
    return structlog.get_logger()
