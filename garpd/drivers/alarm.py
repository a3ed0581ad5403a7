"""The runner's one wake-up: a precise alarm for an asyncio loop.

asyncio sleeps in ``epoll_wait``, whose timeout is whole milliseconds rounded up, so a
``loop.call_at`` callback runs 0-1 ms after its time, plus the wake-up. An :class:`Alarm`
arms a timerfd (CLOCK_MONOTONIC, the clock of ``loop.time()``, absolute time) that the loop
watches like any other file descriptor: the loop wakes when the kernel's timer expires
(nanosecond resolution, the thread's 50 µs timer slack), and never blocks to get there,
so events keep being handled up to the deadline. Where no timerfd can be had (not Linux,
no libc through ctypes, ctypes refused by a sandbox) it falls back to ``loop.call_at``.
ctypes is imported only here, and only calls plain C functions (no callbacks), so it works
under systemd's ``MemoryDenyWriteExecute=yes``; the lab checks that under the kernel's own
``PR_SET_MDWE``.

One alarm holds one deadline: setting another replaces it, ``None`` disarms it (nothing
wakes the loop while there is nothing to do).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
TFD_TIMER_ABSTIME = 1


class _TimerFdApi:
    """libc's timerfd_create / timerfd_settime / timerfd_gettime through ctypes."""

    def __init__(self) -> None:
        import ctypes  # noqa: PLC0415 - only the daemon's runner needs it

        class Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        class Itimerspec(ctypes.Structure):
            _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]

        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int,
                                         ctypes.POINTER(Itimerspec), ctypes.POINTER(Itimerspec)]
        libc.timerfd_gettime.argtypes = [ctypes.c_int, ctypes.POINTER(Itimerspec)]
        self._ctypes = ctypes
        self._libc = libc
        self._spec = Itimerspec

    def create(self) -> int:
        """A non-blocking CLOCK_MONOTONIC timerfd."""
        fd = int(self._libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
        if fd < 0:
            raise OSError(self._ctypes.get_errno(), "timerfd_create")
        return fd

    def settime(self, fd: int, ns: int) -> None:
        """Arm ``fd`` for the absolute monotonic time ``ns`` (0 disarms)."""
        spec = self._spec()
        spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(ns, 1_000_000_000)
        ctypes = self._ctypes
        if self._libc.timerfd_settime(fd, TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")

    def gettime(self, fd: int) -> int:
        """Nanoseconds until ``fd`` expires (0: disarmed)."""
        spec = self._spec()
        ctypes = self._ctypes
        if self._libc.timerfd_gettime(fd, ctypes.byref(spec)) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_gettime")
        value: Any = spec.it_value
        return int(value.tv_sec) * 1_000_000_000 + int(value.tv_nsec)


def _timerfd_api() -> _TimerFdApi | None:
    try:
        return _TimerFdApi()
    except Exception:  # no ctypes, no libc, no symbol, a sandbox refusing ctypes' set-up
        return None


class Alarm:
    """Calls ``callback()`` from ``loop`` once its deadline (``loop.time()`` clock) is due."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None],
                 *, kernel: bool = True) -> None:
        """``kernel=False`` forces the ``call_at`` fallback (for tests)."""
        self._loop = loop
        self._callback = callback
        self._when: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._fd = -1
        self._api = _timerfd_api() if kernel else None
        if self._api is not None:
            try:
                self._fd = self._api.create()
            except OSError:
                self._api = None
            else:
                loop.add_reader(self._fd, self._expired)

    @property
    def kernel(self) -> bool:
        """Whether a timerfd is in use (else ``loop.call_at``)."""
        return self._fd >= 0

    @property
    def when(self) -> float | None:
        """The armed deadline, or None when disarmed."""
        return self._when

    def set(self, when: float | None) -> None:
        """Arm for ``when`` (replacing any deadline), or disarm with None."""
        if when == self._when:
            return
        self._when = when
        if self._fd >= 0:
            self._settime(when)
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if when is not None:
            self._handle = self._loop.call_at(when, self._fired)

    def remaining(self) -> float | None:
        """Seconds until the alarm goes off, as the kernel (or the loop) has it; None if
        disarmed."""
        if self._fd >= 0:
            assert self._api is not None
            ns = self._api.gettime(self._fd)
            return ns / 1e9 if ns else None
        if self._handle is None:
            return None
        return max(0.0, self._handle.when() - self._loop.time())

    def close(self) -> None:
        """Disarm and release the timerfd."""
        self.set(None)
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _settime(self, when: float | None) -> None:
        assert self._api is not None
        # Rounded up (never before the deadline); 0 disarms, so the earliest time is 1 ns.
        self._api.settime(self._fd, 0 if when is None else max(1, int(when * 1e9) + 1))

    def _expired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return  # re-armed or disarmed after it went off: not due after all
        self._fired()

    def _fired(self) -> None:
        self._handle = None
        self._when = None
        self._callback()
