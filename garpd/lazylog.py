"""A logger that sets structlog up on its first record, not before.

A one-shot writes its first record after its first frames have left
(:mod:`garpd.runner` writes records after sending): with a :class:`DeferredLog`, structlog
(and the asyncio and logging it imports, ~20 ms and ~10 MB) is loaded after the first
frame, not on the way to it. It answers ``is_enabled_for`` from the level it was given,
without loading anything.

A one-shot also writes records *before* its first frame (``vip_acquired`` when it learns
the kernel's state): :meth:`DeferredLog.hold` queues records until :meth:`release`, so
that the first frames leave before structlog is imported (measured: importing and setting
up structlog is ~30 ms of a ~95 ms path to ``announce``'s first frame). Held records keep
their order; their timestamps are taken when they are written, right after the frames.
"""

from __future__ import annotations

from typing import Any

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class DeferredLog:
    """Forwards ``info`` / ``warning`` / ... to :func:`garpd.log.get` after
    :func:`garpd.log.setup` (``fmt``, ``level``), both called on the first record."""

    def __init__(self, fmt: Any, level: str) -> None:
        self._fmt = fmt
        self._level = level
        self._real: Any = None
        self._held: list[tuple[str, str, dict[str, Any]]] | None = None

    def hold(self) -> None:
        """Queue ``debug`` / ``info`` / ``warning`` / ``error`` records until :meth:`release`."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Write the queued records in order (setting structlog up if any), stop queueing."""
        held, self._held = self._held, None
        if held:
            real = self.real()
            for level, event, fields in held:
                getattr(real, level)(event, **fields)

    def is_enabled_for(self, level: int) -> bool:
        """Whether records of ``level`` (logging's numbers) are written."""
        return level >= _LEVELS.get(self._level.lower(), 20)

    def real(self) -> Any:
        """The structlog logger (set up now if not yet)."""
        if self._real is None:
            import garpd.leanio  # noqa: F401, PLC0415 - structlog imports asyncio: no ssl
            from garpd import log as logging  # noqa: PLC0415 - the point of this class

            logging.setup(self._fmt, self._level)
            self._real = logging.get()
        return self._real

    def __getattr__(self, name: str) -> Any:
        held = self._held
        if held is not None and name in _LEVELS:
            def queue(event: str, **fields: Any) -> None:
                held.append((name, event, fields))

            return queue
        return getattr(self.real(), name)
