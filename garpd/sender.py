"""Raw frame output: one AF_PACKET socket per interface, opened once and kept open.

The sockets are bound to (interface, protocol 0), so they never receive anything, and are
non-blocking: when the device queue is full (ENOBUFS / EAGAIN) the unsent tail is handed
back to the caller to retry shortly, instead of stalling the event loop. An interface that
is gone or down (ENXIO, ENODEV, ENETDOWN) drops the batch and closes its socket.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

_RETRY = frozenset({errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK})
_GONE = frozenset({errno.ENXIO, errno.ENODEV, errno.ENETDOWN})
SNDBUF = 4 << 20


@dataclass(slots=True)
class SendResult:
    """What happened to one batch: frames sent, the tail to retry, and any hard error."""

    sent: int
    retry: list[bytes]
    error: OSError | None = None


class Sender:
    """Keeps one open AF_PACKET socket per (interface name, ifindex)."""

    def __init__(self) -> None:
        self._socks: dict[str, tuple[int, socket.socket]] = {}

    def open(self, ifname: str, ifindex: int) -> socket.socket:
        """The socket of ``ifname`` (opened now if needed; raises OSError)."""
        entry = self._socks.get(ifname)
        if entry is not None:
            if entry[0] == ifindex:
                return entry[1]
            self.close_interface(ifname)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            sock.bind((ifname, 0))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._socks[ifname] = (ifindex, sock)
        return sock

    def send(self, ifname: str, ifindex: int, frames: list[bytes]) -> SendResult:
        """Send ``frames`` in order on ``ifname``; never raises for network errors."""
        try:
            sock = self.open(ifname, ifindex)
        except OSError as exc:
            return SendResult(0, [], exc)
        send = sock.send
        sent = 0
        try:
            for frame in frames:
                send(frame)
                sent += 1
        except OSError as exc:
            if exc.errno in _RETRY:
                return SendResult(sent, frames[sent:])
            if exc.errno in _GONE:
                self.close_interface(ifname)
            return SendResult(sent, [], exc)
        return SendResult(sent, [])

    def close_interface(self, ifname: str) -> None:
        """Close the socket of ``ifname`` (it was removed or re-created)."""
        entry = self._socks.pop(ifname, None)
        if entry is not None:
            entry[1].close()

    def close(self) -> None:
        """Close every socket."""
        for ifname in list(self._socks):
            self.close_interface(ifname)
