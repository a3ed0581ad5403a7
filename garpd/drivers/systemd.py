"""systemd integration without libsystemd: sd_notify datagrams and the watchdog period.

READY=1, RELOADING=1 (with MONOTONIC_USEC), STOPPING=1, STATUS=... and WATCHDOG=1 are sent
to $NOTIFY_SOCKET (a path, or an abstract socket written with a leading '@'). Outside
systemd every call is a no-op. A datagram never blocks the caller (the daemon's loop): when
the receiver's queue is full (a manager that stopped reading) it is dropped, as
libsystemd's sd_notify does.
"""

from __future__ import annotations

import os
import socket
import time


def notify(*fields: str) -> bool:
    """Send ``fields`` (e.g. "READY=1", "STATUS=...") to systemd; False if not under it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                           | socket.SOCK_NONBLOCK) as sock:
            sock.sendto("\n".join(fields).encode(), address)
    except OSError:
        return False
    return True


def reloading() -> bool:
    """Tell systemd a reload started (systemd 253+ wants MONOTONIC_USEC with it)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def watchdog_period() -> float | None:
    """Half of WatchdogSec (how often to send WATCHDOG=1), or None when it is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2e6 if value > 0 else None
