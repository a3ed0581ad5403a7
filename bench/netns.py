"""The benchmark's measuring instruments in a lab namespace: owns a kernel-timestamped ARP
capture socket and a minimal rtnetlink client that adds and removes addresses with a
timestamp taken right before the kernel call. The lab itself is garpd's (:mod:`garpd.lab`).

A socket belongs to the network namespace it was created in, whatever namespace its owner
moves to later. So the bench process enters a namespace (:func:`garpd.lab.netns.inside`),
opens its sockets there and comes back; a child started while inside inherits the namespace
without the cost of ``ip netns exec``.

Capture timestamps are the kernel's receive timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME),
converted to CLOCK_MONOTONIC with the offset between the two clocks read at drain time. They
do not depend on when the bench process gets round to reading the socket: a burst can be
left queued (a large forced receive buffer) and read after it is over, so the capture never
competes with the sender for the CPU while it runs. Drops are counted (PACKET_STATISTICS).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
import time
from dataclasses import dataclass

from garpd import rtnl
from garpd.lab.netns import inside

ETH_P_ARP = 0x0806
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
#: Large enough to hold the biggest burst (10,000 x 5 frames, ~1 KiB of truesize each).
CAPTURE_RCVBUF = 256 << 20

# --------------------------------------------------------------------------- capture


@dataclass(frozen=True, slots=True)
class Garp:
    """One captured ARP frame: kernel receive time (monotonic seconds), op, sender IP."""

    t: float
    op: int
    spa: str
    tpa: str


class ArpCapture:
    """ARP frames received on one interface of one namespace, timestamped by the kernel."""

    def __init__(self, namespace: str, dev: str) -> None:
        with inside(namespace):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_RCVBUF)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((dev, ETH_P_ARP))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.dev = dev
        self.frames: list[Garp] = []
        self.received = 0
        self.drops = 0
        self.untimed = 0
        self.mark = 0

    def _stats(self) -> None:
        """Fold PACKET_STATISTICS (which the kernel resets on every read) into totals."""
        packets, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.received += packets
        self.drops += drops

    def queued(self) -> int:
        """Frames that reached the socket so far (read or not), without reading them."""
        self._stats()
        return self.received

    def drain(self) -> list[Garp]:
        """Read every queued frame; return the new ones (also appended to ``frames``)."""
        new: list[Garp] = []
        recvmsg = self.sock.recvmsg
        space = socket.CMSG_SPACE(16)
        offset = time.time_ns() - time.monotonic_ns()
        while True:
            try:
                data, ancdata, _flags, addr = recvmsg(128, space)
            except BlockingIOError:
                break
            if addr[2] == socket.PACKET_OUTGOING or len(data) < 42:
                continue
            stamp = 0
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                    stamp = sec * 1_000_000_000 + nsec
            if stamp == 0:
                self.untimed += 1
                stamp = time.time_ns()
            op = int.from_bytes(data[20:22], "big")
            new.append(Garp((stamp - offset) / 1e9, op, socket.inet_ntoa(data[28:32]),
                            socket.inet_ntoa(data[38:42])))
        self._stats()
        self.frames.extend(new)
        return new

    def clear(self) -> None:
        """Read and forget everything queued so far; :meth:`wait_quiet` counts from here."""
        self.drain()
        self.frames.clear()
        self.mark = self.received

    def wait_quiet(self, expected: int, *, timeout: float, quiet: float = 0.3,
                   give_up_quiet: float = 2.0) -> int:
        """Wait without reading until ``expected`` frames arrived since :meth:`clear` and
        ``quiet`` s passed with no new one (or, once some arrived, ``give_up_quiet`` s
        passed without one, or ``timeout`` passed); return how many arrived."""
        start = self.mark
        last_count, last_change = self.queued(), time.monotonic()
        deadline = last_change + timeout
        while True:
            time.sleep(0.05)
            count = self.queued()
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            idle = now - last_change
            got = count - start
            if now > deadline or (got >= expected and idle >= quiet) \
                    or (got and idle >= give_up_quiet):
                return got

    def wait_for(self, spa: str, after: float, timeout: float) -> Garp | None:
        """Block until a frame with sender IP ``spa`` stamped after ``after`` arrives."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if frame.spa == spa and frame.t >= after:
                    return frame
            seen = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([self.sock], [], [], left)
            self.drain()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


# --------------------------------------------------------------------------- rtnetlink

RTM_NEWADDR, RTM_DELADDR, NLMSG_ERROR = rtnl.RTM_NEWADDR, rtnl.RTM_DELADDR, rtnl.NLMSG_ERROR
NLM_F_REQUEST, NLM_F_ACK = rtnl.NLM_F_REQUEST, rtnl.NLM_F_ACK
NLM_F_EXCL, NLM_F_CREATE = rtnl.NLM_F_EXCL, rtnl.NLM_F_CREATE


class AddressClient:
    """Adds and removes /32 IPv4 addresses on one interface of one namespace (rtnetlink)."""

    def __init__(self, namespace: str, dev: str) -> None:
        with inside(namespace):
            self.ifindex = socket.if_nametoindex(dev)
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def _message(self, kind: int, flags: int, address: str) -> bytes:
        packed = ipaddress.IPv4Address(address).packed
        attrs = b"".join(rtnl.rtattr(t, packed) for t in (rtnl.IFA_LOCAL, rtnl.IFA_ADDRESS))
        body = rtnl.IFADDRMSG.pack(socket.AF_INET, 32, 0, 0, self.ifindex) + attrs
        self.seq += 1
        return rtnl.nlmsg(kind, flags, self.seq, body)

    def _ack(self) -> None:
        while True:
            data = self.sock.recv(65536)
            for offset, _length, kind in rtnl.messages(data):
                seq = rtnl.NLMSGHDR.unpack_from(data, offset)[3]
                if kind == NLMSG_ERROR and seq == self.seq:
                    code = rtnl.error_code(data, offset)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return

    def add(self, address: str) -> float:
        """Add ``address``/32; return time.monotonic() taken right before the kernel call."""
        message = self._message(RTM_NEWADDR,
                                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, address)
        send = self.sock.send
        stamp = time.monotonic()
        send(message)
        self._ack()
        return stamp

    def remove(self, address: str) -> None:
        """Remove ``address``/32 (absent is fine)."""
        self.sock.send(self._message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, address))
        try:
            self._ack()
        except OSError as exc:
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ESRCH):
                raise

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
