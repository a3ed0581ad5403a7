"""The neighbour listener: ARP and IPv6 NS/NA on the interfaces holding watched addresses.

Thin driver (SPEC *Seeing the LAN*). One AF_PACKET socket per interface, reading only
while the core says something there needs listening (a held address whose ``conflict`` is
not ``off``, or one with ``gateways``; otherwise it is parked, unread, see
:meth:`NeighbourListener.park`, and closed when its interface goes), with the
kernel filter of :func:`garpd.bpf.
neighbour_filter`: it drops this host's outgoing frames and tagged frames and passes only
ARP whose sender, or NS/NA whose target, is one of the interface's held addresses or their
gateways, so a busy LAN's other traffic never reaches Python. The filter is attached before
``bind`` (nothing unfiltered is ever queued) and attached again, atomically, when that set
changes. Building that exact program costs time in proportion to the addresses held (6.7 ms
with 1,000 measured), too much to spend between a takeover and its first frame, so before
the frames the daemon only calls :meth:`NeighbourListener.widen` (one ``setsockopt`` of a
constant program passing every ARP and NS/NA: nothing an instant answer carries is missed;
on a parked socket, which holds that program already, the buffer is given back instead),
and narrows the socket again with :meth:`NeighbourListener.watch` once the frames are out.

Reading is non-blocking from the event loop, at most :data:`BATCH` frames per wake-up, so a
flood cannot starve the loop (the kernel drops what the socket buffer cannot hold). Each
frame is parsed by :func:`garpd.neighbour_wire.parse`; a malformed one is counted by reason
and logged at most every :data:`MALFORMED_LOG_EVERY` seconds per interface; the claims of
one wake-up go to ``on_claims`` together (one core event).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Sequence
from typing import Any, Final

from garpd.bpf import SO_ATTACH_FILTER, attach, neighbour_filter, sock_fprog
from garpd.frames import Address
from garpd.neighbour_wire import Claim, parse

ETH_P_ALL: Final = 0x0003
#: Frames read per wake-up at most.
BATCH: Final = 256
#: More than a parked socket's smallest buffer holds (2,304 bytes: 3 ARP frames measured): read
#: and thrown away when it listens again.
PARKED_QUEUE: Final = 64
#: Receive buffer: about a second of a 10,000 frames/s flood; the rest is dropped by the
#: kernel (the conflict decision needs one frame per interval, not all of them).
RCVBUF: Final = 1 << 20
MALFORMED_LOG_EVERY: Final = 10.0

OnClaims = Callable[[str, tuple[Claim, ...]], None]


class NeighbourListener:
    """Reads ARP/ND frames on some interfaces and hands their claims to ``on_claims``."""

    def __init__(self, on_claims: OnClaims, log: Any, loop: asyncio.AbstractEventLoop,
                 batch: int = BATCH) -> None:
        self._on_claims = on_claims
        self.log = log
        self._loop = loop
        self._batch = batch
        self._socks: dict[str, tuple[int, socket.socket]] = {}
        self._filters: dict[str, object] = {}
        """The exact sets each socket's filter passes now (:data:`WIDE`: every frame)."""
        self._unread: set[str] = set()
        """Sockets widened from parked whose reader is added once the frames are out."""
        self._malformed_logged: dict[str, float] = {}
        self.counters: dict[str, int] = {"neighbour_frames": 0, "neighbour_malformed": 0,
                                         "neighbour_wakeups": 0}
        self.malformed: dict[str, int] = {}
        """Malformed frames by :data:`garpd.neighbour_wire.REASONS` reason."""

    def listening(self) -> dict[str, int]:
        """Interfaces listened on now, name -> ifindex (parked sockets not included)."""
        return {name: index for name, (index, _sock) in self._socks.items()
                if self._filters.get(name) is not PARKED}

    def park(self, ifname: str) -> None:
        """Stop listening on ``ifname`` but keep its socket for the next :meth:`watch` or
        :meth:`widen`. Closing an AF_PACKET socket waits for an RCU grace period in the
        kernel (``synchronize_net``: 10-15 ms measured, the loop blocked): an address that
        comes and goes must not pay it each time. The socket is closed only when its
        interface goes (:meth:`close_interface`) or at exit.

        A parked socket has no reader and the smallest receive buffer the kernel allows
        (a few frames; the kernel drops the rest, before copying them), and already the
        wide program of :meth:`widen`: attaching a program JIT-compiles it in the kernel
        (~17 µs warm, 70-100 µs measured in the daemon between two takeovers), paid here,
        after a release, rather than between the next takeover and its first frame. The
        few frames it queued meanwhile are thrown away unread when it listens again."""
        entry = self._socks.get(ifname)
        if entry is None or self._filters.get(ifname) is PARKED:
            return
        sock = entry[1]
        try:
            # The buffer first: what the wide program lets in from now on is a few frames.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
            if self._filters.get(ifname) is not WIDE:
                sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _wide_fprog())
        except OSError:
            self.close_interface(ifname)
            return
        if ifname in self._unread:
            self._unread.discard(ifname)  # its reader was never added
        else:
            self._loop.remove_reader(sock.fileno())
        self._filters[ifname] = PARKED

    def _unpark(self, ifname: str, sock: socket.socket, *, later: bool = False) -> bool:
        """Listen again on a parked socket (its buffer back, what it queued while parked
        thrown away); False (and the socket closed) if the kernel refused. With ``later``
        the reader is added on the loop's next round (see :meth:`widen`)."""
        if self._filters.get(ifname) is not PARKED:
            return True
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            for _ in range(PARKED_QUEUE):
                try:
                    sock.recv(2048)
                except OSError as exc:
                    # ENETDOWN: the interface went down while parked (the socket's pending
                    # error, reported once, as in _readable): the frames behind it still go.
                    if exc.errno != errno.ENETDOWN:
                        raise
        except BlockingIOError:
            pass
        except OSError as exc:
            self.log.error("neighbour_receive_failed", interface=ifname, error=exc.strerror)
            self.close_interface(ifname)
            return False
        self._filters[ifname] = WIDE
        if later:
            self._unread.add(ifname)
            self._loop.call_soon(self._resume, ifname, sock)
        else:
            self._loop.add_reader(sock.fileno(), self._readable, ifname, sock)
        return True

    def _resume(self, ifname: str, sock: socket.socket) -> None:
        """Add the reader of a socket :meth:`widen` unparked (if still so): frames queued
        since then wake the loop at once."""
        entry = self._socks.get(ifname)
        if ifname in self._unread and entry is not None and entry[1] is sock:
            self._unread.discard(ifname)
            self._loop.add_reader(sock.fileno(), self._readable, ifname, sock)

    def watch(self, ifname: str, ifindex: int, v4: Sequence[Address],
              v6: Sequence[Address]) -> None:
        """Listen on ``ifname`` for frames concerning ``v4`` / ``v6`` (open, re-filter, or
        re-open when the interface was re-created with another index)."""
        wanted = (tuple(v4), tuple(v6))
        entry = self._socks.get(ifname)
        if entry is not None and entry[0] != ifindex:
            self.close_interface(ifname)
            entry = None
        if entry is not None:
            if self._filters.get(ifname) != wanted:
                if not self._unpark(ifname, entry[1]):  # parked: wide until narrowed now
                    return
                try:
                    _attach(entry[1], *wanted)
                except OSError as exc:
                    self.log.error("neighbour_filter_failed", interface=ifname,
                                   error=exc.strerror)
                    return
                self._filters[ifname] = wanted
            return
        try:
            sock = _open(ifname, *wanted)
        except OSError as exc:
            self.log.error("neighbour_listen_failed", interface=ifname, error=exc.strerror)
            return
        self._socks[ifname] = (ifindex, sock)
        self._filters[ifname] = wanted
        self._loop.add_reader(sock.fileno(), self._readable, ifname, sock)

    def widen(self, ifname: str) -> bool:
        """Pass every ARP and NS/NA on ``ifname``'s open socket until the next :meth:`watch`
        (constant work: the program is built once per process). False when ``ifname`` has
        no socket (the caller then opens one with :meth:`watch`) or the kernel refused."""
        entry = self._socks.get(ifname)
        if entry is None:
            return False
        state = self._filters.get(ifname)
        if state is WIDE:
            return True
        if state is PARKED:
            # Its program is the wide one already (see park), and its buffer takes frames
            # from now on; the reader follows once the frames are out (adding it, an
            # epoll_ctl and asyncio's bookkeeping, cost ~26 µs measured in the daemon).
            return self._unpark(ifname, entry[1], later=True)
        try:
            entry[1].setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _wide_fprog())
        except OSError as exc:
            self.log.error("neighbour_filter_failed", interface=ifname, error=exc.strerror)
            return False
        self._filters[ifname] = WIDE
        return True

    def close_interface(self, ifname: str) -> None:
        """Stop listening on ``ifname`` and close its socket (its interface is gone)."""
        entry = self._socks.pop(ifname, None)
        parked = self._filters.pop(ifname, None) is PARKED
        unread = ifname in self._unread
        self._unread.discard(ifname)
        if entry is not None:
            if not parked and not unread:
                self._loop.remove_reader(entry[1].fileno())
            entry[1].close()

    def close(self) -> None:
        """Stop listening everywhere."""
        for ifname in list(self._socks):
            self.close_interface(ifname)

    def _readable(self, ifname: str, sock: socket.socket) -> None:
        claims: list[Claim] = []
        self.counters["neighbour_wakeups"] += 1
        read = 0
        for _ in range(self._batch):  # bounded: a flood cannot starve the loop
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENETDOWN:
                    # The interface went down (reported once; the socket reads again once it
                    # is back): the core's link event says whether to keep listening.
                    break
                self.log.error("neighbour_receive_failed", interface=ifname,
                               error=exc.strerror)
                self.close_interface(ifname)
                break
            read += 1
            result = parse(data)
            if isinstance(result, Claim):
                claims.append(result)
            elif result != "not_neighbour":
                self._malformed(ifname, result)
        self.counters["neighbour_frames"] += read
        if claims:
            self._on_claims(ifname, tuple(claims))

    def _malformed(self, ifname: str, reason: str) -> None:
        self.counters["neighbour_malformed"] += 1
        self.malformed[reason] = self.malformed.get(reason, 0) + 1
        now = self._loop.time()
        last = self._malformed_logged.get(ifname)
        if last is None or now - last >= MALFORMED_LOG_EVERY:
            self._malformed_logged[ifname] = now
            self.log.warning("neighbour_malformed", interface=ifname, reason=reason,
                             total=self.counters["neighbour_malformed"])


#: The filter of a widened socket: every ARP and NS/NA (never equal to an exact set).
WIDE: Final = object()
#: A parked socket: not read, a tiny buffer, the wide program (see ``park``).
PARKED: Final = object()
_WIDE_PROGRAM: list[tuple[bytes, object]] = []


def _wide_fprog() -> bytes:
    """``struct sock_fprog`` of ``neighbour_filter(None, None)``, built on first use; the
    buffer it points into is kept alive with it for the life of the process."""
    if not _WIDE_PROGRAM:
        _WIDE_PROGRAM.append(sock_fprog(neighbour_filter(None, None)))
    return _WIDE_PROGRAM[0][0]


def _split(v4: Sequence[Address], v6: Sequence[Address]) -> tuple[list[Any], list[Any]]:
    return ([a for a in v4 if a.version == 4], [a for a in v6 if a.version == 6])


def _attach(sock: socket.socket, v4: Sequence[Address], v6: Sequence[Address]) -> None:
    four, six = _split(v4, v6)
    attach(sock, neighbour_filter(four, six))


def _open(ifname: str, v4: Sequence[Address], v6: Sequence[Address]) -> socket.socket:
    """A non-blocking AF_PACKET socket on ``ifname``, filtered before it is bound."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        _attach(sock, v4, v6)
        sock.bind((ifname, ETH_P_ALL))
    except OSError:
        sock.close()
        raise
    return sock
