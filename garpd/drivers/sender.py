"""Raw frame output: one AF_PACKET socket per interface, opened once and kept open (and
a second one with a TX ring once a large batch needs it).

The sockets are bound to (interface, protocol 0), so they never receive anything. They
block for at most SEND_TIMEOUT: when the device queue is full (ENOBUFS, EAGAIN, ETIMEDOUT)
the unsent tail is handed back to the caller to retry shortly, instead of stalling the
event loop. An interface that is down (ENETDOWN) or gone (ENXIO, ENODEV) drops the batch;
only a gone one closes its sockets. A down link keeps them: the same interface comes back
with the same index, and closing an AF_PACKET socket waits for an RCU grace period (10-15
ms with the loop blocked, measured with ``strace -T``; the churn soak flaps its link every
30 s).

Large batches go through a PACKET_TX_RING: a chunk of ring slots (TPACKET_V1 header,
frame, padding) is built with one ``join`` (frames of one length, the usual case, joined by
the padding and header they share), written into the ring with one slice assignment and
handed to the kernel with one ``send``. That removes the per-frame system call, which is
most of what a Python sender spends per frame. (A kernel that refuses the ring gets the
per-frame ``send`` instead.)

Once a socket has a ring the kernel sends only from it, so the ring lives on a second
socket of the interface, set up on the first batch of more than :data:`SMALL_BATCH`
frames. Smaller batches (a takeover of a few addresses, the
notify hook's one-shot) go out with one ``send`` per frame on the plain socket: setting
up a ring waits for an RCU grace period in the kernel (``packet_set_ring`` calls
``synchronize_net``: 1-16 ms measured on the bench machine), which a single address's
first frame must not wait for, and a one-frame ``send`` is cheaper than a ring round
(~2 against ~7 µs warm). A small batch waits (is handed back to retry) while the ring
still has frames in flight, so frames leave in the order they were handed in.
"""

from __future__ import annotations

import errno
import mmap
import socket
import struct

from garpd.lean import dataclass

_RETRY = frozenset({errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK, errno.ETIMEDOUT})
_GONE = frozenset({errno.ENXIO, errno.ENODEV})
SNDBUF = 4 << 20
SEND_TIMEOUT = 0.2
SOL_PACKET = 263
PACKET_TX_RING = 13
TP_STATUS_SEND_REQUEST = 1
#: Ring geometry: 128-byte slots (32-byte header + up to 96 bytes of frame), 32 per block.
SLOT = 128
BLOCK = 4096
RING_SLOTS = 1024
_HEADER = 32
#: Batches of at most this many frames are sent without the ring (see the module docstring).
SMALL_BATCH = 16


class _Ring:
    """A PACKET_TX_RING on one socket (TPACKET_V1).

    The socket is blocking with a send timeout, so ``send(b"")`` returns once the kernel
    has taken every requested slot (or the timeout struck). Slot status after that: 0
    sent, 2 still in flight (the kernel owns it; the ring is busy until it is 0 again),
    1 or 4 not sent (taken back here and reported as the unsent tail).
    """

    def __init__(self, sock: socket.socket) -> None:
        req = struct.pack("IIII", BLOCK, RING_SLOTS * SLOT // BLOCK, SLOT, RING_SLOTS)
        sock.setsockopt(SOL_PACKET, PACKET_TX_RING, req)
        self.sock = sock
        self.map = mmap.mmap(sock.fileno(), RING_SLOTS * SLOT, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
        self.status = memoryview(self.map).cast("Q")[:: SLOT // 8]
        self._parts: dict[int, tuple[bytes, bytes, bytes]] = {}
        self._used = 0
        self.head = 0

    def _slot_parts(self, length: int) -> tuple[bytes, bytes, bytes]:
        """(header, padding + header, padding) of the slots of ``length``-byte frames."""
        parts = self._parts.get(length)
        if parts is None:
            header = struct.pack("QII", TP_STATUS_SEND_REQUEST, length, length).ljust(_HEADER,
                                                                                      b"\0")
            pad = bytes(SLOT - _HEADER - length)
            parts = self._parts[length] = (header, pad + header, pad)
        return parts

    def _image(self, chunk: list[bytes]) -> bytes:
        """The ring slots of ``chunk``, back to back.

        No slot is cached per frame (it was: ~190 bytes per held address's frame, 1.9 MB
        with 10,000 held); joining a chunk of equal-length frames with their shared padding
        and header is as fast as joining cached slots.
        """
        lengths = set(map(len, chunk))
        if max(lengths) > SLOT - _HEADER:
            raise ValueError(f"a {max(lengths)}-byte frame does not fit a ring slot")
        if len(lengths) == 1:
            header, sep, pad = self._slot_parts(lengths.pop())
            return b"".join((header, sep.join(chunk), pad))
        image: list[bytes] = []
        for frame in chunk:
            header, _, pad = self._slot_parts(len(frame))
            image += (header, frame, pad)
        return b"".join(image)

    def send(self, frames: list[bytes]) -> tuple[int, OSError | None]:
        """Send ``frames`` in order: (how many were sent, the error that stopped it).

        The kernel walks the ring from where it stopped last time, so frames are written
        from our copy of that position (``head``), wrapping around the end of the ring.
        """
        sent = 0
        while sent < len(frames):
            chunk = frames[sent:sent + RING_SLOTS]
            image = self._image(chunk)
            start = self.head * SLOT
            first = min(len(image), RING_SLOTS * SLOT - start)
            self.map[start:start + first] = image[:first]
            if first < len(image):
                self.map[: len(image) - first] = image[first:]
            self._used = len(chunk)
            error: OSError | None = None
            try:
                self.sock.send(b"")
            except OSError as exc:
                error = exc
            done = self._settle(len(chunk))
            self.head = (self.head + done) % RING_SLOTS
            sent += done
            if error is not None:
                return sent, error
            if done < len(chunk):
                return sent, OSError(errno.ENOBUFS, "device queue full")
            if not self.idle():
                break  # still in flight: the caller retries the rest shortly
        return sent, None

    def _statuses(self, start: int, count: int) -> list[int]:
        """The status words of ``count`` slots from ``start``, wrapping around the ring."""
        end = start + count
        if end <= RING_SLOTS:
            return self.status[start:end].tolist()
        return self.status[start:].tolist() + self.status[: end - RING_SLOTS].tolist()

    def idle(self) -> bool:
        """No slot is still in flight (so the ring may be written)."""
        used = self._used
        return not any(self._statuses((self.head - used) % RING_SLOTS, used))

    def _settle(self, count: int) -> int:
        """How many of ``count`` slots from ``head`` went out; take back those that did not."""
        if not any(self._statuses(self.head, count)):
            return count  # the usual case: all sent
        status = self.status
        done = count
        for i in range(count):
            index = (self.head + i) % RING_SLOTS
            if status[index] in (1, 4):  # never sent, or refused: ours again
                if done == count:
                    done = i
                self.map[index * SLOT: index * SLOT + 8] = bytes(8)
        return done

    def close(self) -> None:
        """Unmap the ring (the socket is closed by its owner)."""
        self.status.release()
        self.map.close()


@dataclass(slots=True)
class SendResult:
    """What happened to one batch: frames sent, the tail to retry, and any hard error."""

    sent: int
    retry: list[bytes]
    error: OSError | None = None


class Sender:
    """Keeps one open AF_PACKET socket per (interface name, ifindex), and a second one with
    a TX ring per interface once a large batch needed it."""

    def __init__(self, ring: bool = True) -> None:
        self._socks: dict[str, tuple[int, socket.socket]] = {}
        self._rings: dict[str, _Ring | None] = {}
        self._use_ring = ring

    def open(self, ifname: str, ifindex: int) -> socket.socket:
        """The plain socket of ``ifname`` (opened now if needed; raises OSError)."""
        entry = self._socks.get(ifname)
        if entry is not None:
            if entry[0] == ifindex:
                return entry[1]
            self.close_interface(ifname)
        sock = _socket(ifname)
        self._socks[ifname] = (ifindex, sock)
        return sock

    def send_one(self, ifname: str, ifindex: int, frame: bytes) -> bool:
        """Send one frame now on the plain socket of ``ifname``: whether it left. Never
        while frames of the ring are still in flight (order), never raises; a failure is
        left for the caller's :meth:`send` of the same frame to meet and report."""
        entry = self._socks.get(ifname)  # open()'s answer, without its call when open
        try:
            sock = entry[1] if entry is not None and entry[0] == ifindex \
                else self.open(ifname, ifindex)
            ring = self._rings.get(ifname)
            if ring is not None and not ring.idle():
                return False
            sock.send(frame)
        except OSError:
            return False
        return True

    def send(self, ifname: str, ifindex: int, frames: list[bytes]) -> SendResult:
        """Send ``frames`` in order on ``ifname``; never raises for network errors."""
        try:
            sock = self.open(ifname, ifindex)
        except OSError as exc:
            return SendResult(0, [], exc)
        sent = 0
        error: OSError | None = None
        in_flight = self._rings.get(ifname)
        if in_flight is not None and not in_flight.idle():
            return SendResult(0, list(frames))  # still in flight: retry shortly, in order
        ring = self._ring(ifname) if len(frames) > SMALL_BATCH else None
        if ring is not None:
            # One system call per chunk of the ring, whatever the batch size.
            sent, error = ring.send(frames)
            if error is None and sent < len(frames):
                return SendResult(sent, frames[sent:])
        else:
            send = sock.send
            try:
                for frame in frames:
                    send(frame)
                    sent += 1
            except OSError as exc:
                error = exc
        if error is not None:
            if error.errno in _RETRY:
                return SendResult(sent, frames[sent:])
            if error.errno in _GONE:
                self.close_interface(ifname)
            return SendResult(sent, [], error)
        return SendResult(sent, [])

    def _ring(self, ifname: str) -> _Ring | None:
        if not self._use_ring:
            return None
        if ifname not in self._rings:
            # Set up on the first large batch, on a socket of its own (once a socket has
            # a ring the kernel sends only from it). If the kernel refuses a ring, the
            # per-frame path is used for every batch instead.
            try:
                sock = _socket(ifname)
            except OSError:
                return None  # tried again with the next large batch
            try:
                self._rings[ifname] = _Ring(sock)
            except (OSError, ValueError):
                sock.close()
                self._rings[ifname] = None
        return self._rings[ifname]

    def ring_used(self, ifname: str) -> bool:
        """Whether ``ifname`` has a working TX ring (for tests and status)."""
        return self._rings.get(ifname) is not None

    def close_interface(self, ifname: str) -> None:
        """Close the sockets of ``ifname`` (it was removed or re-created)."""
        ring = self._rings.pop(ifname, None)
        if ring is not None:
            ring.close()
            ring.sock.close()
        entry = self._socks.pop(ifname, None)
        if entry is not None:
            entry[1].close()

    def close(self) -> None:
        """Close every socket."""
        for ifname in list(self._socks):
            self.close_interface(ifname)


def _socket(ifname: str) -> socket.socket:
    """An AF_PACKET socket bound to ``ifname`` that never receives (protocol 0), blocking
    for at most :data:`SEND_TIMEOUT` (raises OSError)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        sock.bind((ifname, 0))
        # Blocking, but never for long: a full device queue answers ENOBUFS at once,
        # and a send that would wait for buffer space gives up after SEND_TIMEOUT.
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                        struct.pack("ll", 0, int(SEND_TIMEOUT * 1_000_000)))
    except OSError:
        sock.close()
        raise
    return sock
