"""The lab's helper process inside a namespace: owns the raw AF_PACKET, ICMP and rtnetlink
work that the host side (:mod:`garpd.lab.netns`, :mod:`garpd.lab.capture`,
:mod:`garpd.lab.watch`) runs in a host namespace via
``ip netns exec <ns> python -u -m garpd.lab.agent <mode> ...``.

Modes:
  capture --dev DEV [--ethertypes 0x0806,0x86dd] [--outgoing] [--idle] [--drain-after S]
      Binds an ETH_P_ALL socket to DEV, prints "READY" once bound, then writes one JSON line
      per received frame: {"t": <time.monotonic() at receipt>, "k": <the kernel's receive
      timestamp (SO_TIMESTAMPNS), moved to the time.monotonic() clock>, "hex": "<frame>"}.
      Frames the host itself sent (PACKET_OUTGOING) are dropped; with --outgoing they are
      the only ones kept, and "k" is when the kernel's transmit path handed the frame to
      the device (on a veth, inside the sender's system call). With --idle it runs under
      SCHED_IDLE: it takes only a CPU nothing else wants and its wake-ups never preempt
      the process under test (its 64 MB buffer holds what it has not read yet). With
      --drain-after S it reads what is queued S seconds after a frame wakes it, not at
      once: a burst has left by then, so reading it does not compete with the sender for
      the CPUs (the receive queue's lock, the caches) while it is still sending. The
      device going down (ENETDOWN) does not stop it. On SIGTERM/SIGINT it drains what
      the kernel already queued, prints {"stats": {"packets": N, "drops": N}}
      (PACKET_STATISTICS) and exits 0.
  send --dev DEV [--count N]
      Reads hex frames (one per line) from stdin and sends them, in order, N times.
  ping --timeout S ADDRESS
      ICMP / ICMPv6 echo through a raw socket (no dependency on iputils), once a second;
      exit 0 on a reply, 1 after S seconds without one.
  watch --dev DEV --vip ADDRESS [--capture] [--lab PREFIX]
      Reports, one JSON object a line with ``t`` = time.monotonic(), the IPv4 VIP's address
      and neighbour changes (rtnetlink) and, with --capture, gratuitous ARPs for it seen on
      DEV; pings on request (``ping TAG ADDRESS TIMEOUT`` lines on stdin). ``{"e": "ready"}``
      comes first; it exits when stdin closes (its parent is gone) or on SIGTERM.

Standard library only, plus garpd's pure :mod:`garpd.inet` and :mod:`garpd.rtnl`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

from garpd import rtnl
from garpd.inet import checksum

ETH_P_ALL: Final = 0x0003
ETH_P_ARP: Final = 0x0806
SOL_PACKET: Final = 263
PACKET_STATISTICS: Final = 6
PACKET_OUTGOING: Final = 4
SO_RCVBUFFORCE: Final = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF_BYTES: Final = 64 * 1024 * 1024
# PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST; not PACKET_OUTGOING (4).
KEPT_PKTTYPES: Final = frozenset({0, 1, 2, 3})
OUTGOING_PKTTYPES: Final = frozenset({PACKET_OUTGOING})
#: SO_TIMESTAMPNS (= its control message type): a struct timespec of CLOCK_REALTIME, set
#: when the frame reached the receiving device (on a veth, microseconds after it was sent),
#: or for an outgoing frame when the transmit path handed it to the device.
SO_TIMESTAMPNS: Final = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC: Final = struct.Struct("=qq")
FLUSH_EVERY: Final = 1024

Emit = Callable[[dict[str, Any]], None]


def _write_all(data: bytes) -> None:
    """Write all of `data` to fd 1 (os.write may return short on a pipe)."""
    view = memoryview(data)
    while view:
        written = os.write(1, view)
        view = view[written:]


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


# --------------------------------------------------------------------------- capture, send


def _realtime_offset() -> float:
    """CLOCK_REALTIME minus CLOCK_MONOTONIC (both are slewed alike, only a step of the wall
    clock, none in a test run, would move it): the wall clock read between two monotonic
    readings, the tightest pair of a few, so a preemption between the readings does not
    shift every timestamp of a drain (two captures' stamps of one frame are compared)."""
    best = (float("inf"), 0.0)
    for _ in range(5):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        best = min(best, (after - before, wall - (before + after) / 2))
    return best[1]


def capture(dev: str, ethertypes: frozenset[int] | None, *, outgoing: bool = False,
            drain_after: float = 0.0) -> int:
    """Run the capture loop until SIGTERM/SIGINT; see the module docstring."""
    kept = OUTGOING_PKTTYPES if outgoing else KEPT_PKTTYPES
    stopping = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        print("agent: SO_RCVBUFFORCE refused, using SO_RCVBUF", file=sys.stderr)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind((dev, ETH_P_ALL))
    sock.setblocking(True)
    poller = select.poll()
    poller.register(sock, select.POLLIN)

    def drain() -> None:
        lines: list[str] = []
        offset = _realtime_offset()
        while True:
            try:
                data, ancillary, _flags, addr = sock.recvmsg(65536, TIMESPEC.size * 2,
                                                             socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                # The device went down (a test's link flap): reported once, then the
                # socket reads on; what was queued before stays queued.
                if exc.errno != errno.ENETDOWN:
                    raise
                continue
            now = time.monotonic()
            kernel = now
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS \
                        and len(value) >= TIMESPEC.size:
                    sec, nsec = TIMESPEC.unpack_from(value)
                    kernel = sec + nsec / 1e9 - offset
            # addr = (ifname, proto, pkttype, hatype, hwaddr); the ifname check discards
            # anything queued between socket() and bind() from another interface.
            if addr[0] != dev or addr[2] not in kept or len(data) < 14:
                continue
            if ethertypes is not None and int.from_bytes(data[12:14], "big") not in ethertypes:
                continue
            lines.append(f'{{"t": {now!r}, "k": {kernel!r}, "hex": "{data.hex()}"}}\n')
            if len(lines) >= FLUSH_EVERY:
                _write_all("".join(lines).encode())
                lines.clear()
        if lines:
            _write_all("".join(lines).encode())

    _write_all(b"READY\n")
    try:
        while not stopping:
            # poll() is retried after EINTR (PEP 475), so a signal is seen within ~100 ms.
            if poller.poll(100):
                if drain_after > 0:
                    time.sleep(drain_after)
                drain()
        drain()
        raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        packets, drops = struct.unpack("II", raw)
        _write_all(f'{{"stats": {{"packets": {packets}, "drops": {drops}}}}}\n'.encode())
    except BrokenPipeError:
        return 1
    finally:
        sock.close()
    return 0


def send(dev: str, count: int) -> int:
    """Send the hex frames read from stdin `count` times over a raw socket bound to `dev`."""
    frames = [bytes.fromhex(line) for line in sys.stdin.read().split()]
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        sock.bind((dev, 0))
        for _ in range(count):
            for frame in frames:
                sock.send(frame)
    return 0


# --------------------------------------------------------------------------- ping


class Pinger:
    """ICMP / ICMPv6 echo over raw sockets, one request (``tag``) pending at a time.

    A request may be re-sent (:meth:`resend`): any of its echoes answers it. The answer is
    a reply of the right type with this process's identifier, one of the request's
    sequence numbers, from the target address.
    """

    def __init__(self) -> None:
        self.socks: dict[int, socket.socket] = {}
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0
        self.tag = ""
        self.target: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        self.sent = 0.0
        self.deadline = 0.0
        self._seqs: set[int] = set()

    @property
    def pending(self) -> bool:
        """A request waits for its answer."""
        return self.target is not None

    def start(self, tag: str, target: str, timeout: float) -> None:
        """Start request ``tag`` to ``target`` (answered or not after ``timeout`` s)."""
        self.tag = tag
        self.target = ipaddress.ip_address(target)
        self._seqs = set()
        self.sent = time.monotonic()
        self.deadline = self.sent + timeout
        self.resend()

    def resend(self) -> None:
        """Send one more echo for the pending request."""
        assert self.target is not None
        version = self.target.version
        sock = self.socks.get(version)
        if sock is None:
            if version == 4:
                sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            else:  # the kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets (RFC 3542)
                sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            self.socks[version] = sock
        self.seq = (self.seq + 1) & 0xFFFF
        self._seqs.add(self.seq)
        kind = 8 if version == 4 else 128
        body = struct.pack("!HH", self.ident, self.seq) + b"garpd-lab"
        csum = checksum(struct.pack("!BBH", kind, 0, 0) + body) if version == 4 else 0
        sock.sendto(struct.pack("!BBH", kind, 0, csum) + body, (str(self.target), 0))

    def answered(self, sock: socket.socket) -> bool:
        """Read one packet from ``sock``: True if it answers the pending request."""
        data, peer = sock.recvfrom(4096)
        if sock.family == socket.AF_INET:
            data = data[(data[0] & 0x0F) * 4:]
        reply = 0 if sock.family == socket.AF_INET else 129
        return (
            self.target is not None
            and len(data) >= 8
            and data[0] == reply
            and struct.unpack("!H", data[4:6])[0] == self.ident
            and struct.unpack("!H", data[6:8])[0] in self._seqs
            and ipaddress.ip_address(str(peer[0]).split("%")[0]) == self.target
        )

    def finish(self, ok: bool) -> dict[str, Any]:
        """End the pending request: the ``ping`` event that reports it."""
        event = {"e": "ping", "tag": self.tag, "target": str(self.target), "ok": ok,
                 "rtt_ms": round((time.monotonic() - self.sent) * 1000, 3) if ok else None}
        self.target = None
        return event

    def remaining(self) -> float | None:
        """Seconds left for the pending request (None if there is none)."""
        return None if self.target is None else max(0.0, self.deadline - time.monotonic())

    def close(self) -> None:
        """Close the sockets."""
        for sock in self.socks.values():
            sock.close()


def ping(address: str, timeout: float) -> int:
    """Echo `address` once a second until a reply arrives (exit 0) or `timeout` passes (1)."""
    pinger = Pinger()
    try:
        pinger.start("ping", address, timeout)
        while True:
            resend_at = min(pinger.deadline, time.monotonic() + 1.0)
            while (left := resend_at - time.monotonic()) > 0:
                readable, _, _ = select.select(list(pinger.socks.values()), [], [], left)
                if not readable:
                    break
                if any(pinger.answered(sock) for sock in readable):
                    return 0
            if time.monotonic() >= pinger.deadline:
                return 1
            pinger.resend()
    finally:
        pinger.close()


# --------------------------------------------------------------------------- watch


def parse_rtnetlink(data: bytes, vip: bytes) -> list[dict[str, Any]]:
    """The address and neighbour messages in ``data`` that concern IPv4 ``vip``.

    Address: ``{"e": "addr", "op": "add"|"del", "ifindex"}``; neighbour: ``{"e": "neigh",
    "op": "new"|"del", "lladdr": MAC or None, "state": "REACHABLE", "ifindex"}``.
    """
    events: list[dict[str, Any]] = []
    for offset, length, kind in rtnl.messages(data):
        if kind in (rtnl.RTM_NEWNEIGH, rtnl.RTM_DELNEIGH):
            entry = rtnl.neigh(data, offset, length)
            if entry is None or entry.family != socket.AF_INET or entry.dst != vip:
                continue
            lladdr = entry.lladdr
            events.append({"e": "neigh", "op": "new" if kind == rtnl.RTM_NEWNEIGH else "del",
                           "lladdr": _mac(lladdr) if lladdr and len(lladdr) == 6 else None,
                           "state": rtnl.nud_state(entry.state), "ifindex": entry.ifindex})
        elif kind in (rtnl.RTM_NEWADDR, rtnl.RTM_DELADDR):
            address = rtnl.ifaddr(data, offset, length)
            if address is None:
                continue
            _kind, family, _flags, index, local, peer = address
            if family != socket.AF_INET or (local if local is not None else peer) != vip:
                continue
            events.append({"e": "addr", "op": "add" if kind == rtnl.RTM_NEWADDR else "del",
                           "ifindex": index})
    return events


def parse_garp(frame: bytes, vip: bytes) -> dict[str, Any] | None:
    """A gratuitous ARP for ``vip`` (sender IP = target IP = vip) as a dict, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, _op = struct.unpack_from("!HHBBH", frame, 14)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        return None
    if frame[28:32] != vip or frame[38:42] != vip:
        return None
    return {"e": "frame", "op": _op, "sha": _mac(frame[22:28]), "tha": _mac(frame[32:38]),
            "eth_src": _mac(frame[6:12]), "eth_dst": _mac(frame[0:6])}


def _emit(event: dict[str, Any]) -> None:
    event.setdefault("t", time.monotonic())
    _write_all((json.dumps(event) + "\n").encode())


def watch(dev: str, vip_text: str, *, capture_garps: bool) -> int:
    """Report VIP address, neighbour and GARP events; ping on request (module docstring)."""
    vip = socket.inet_aton(vip_text)
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    nl.bind((0, rtnl.RTMGRP_NEIGH | rtnl.RTMGRP_IPV4_IFADDR))
    packet: socket.socket | None = None
    if capture_garps:
        packet = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        packet.bind((dev, ETH_P_ARP))
    pinger = Pinger()
    stdin = sys.stdin.fileno()
    pending_input = b""
    try:
        _emit({"e": "ready"})
        while True:
            # The packet socket first: the kernel hands a frame to it before ARP processes
            # the frame and announces the neighbour change over netlink.
            readers: list[Any] = [nl, stdin] if packet is None else [packet, nl, stdin]
            readers.extend(pinger.socks.values())
            readable, _, _ = select.select(readers, [], [], pinger.remaining())
            for source in readable:
                if source is nl:
                    with contextlib.suppress(OSError):  # ENOBUFS: events lost, carry on
                        for event in parse_rtnetlink(nl.recv(1 << 16), vip):
                            _emit(event)
                elif source is packet:
                    data, addr = packet.recvfrom(65536)
                    garp = parse_garp(data, vip) if addr[2] != PACKET_OUTGOING else None
                    if garp is not None:
                        _emit(garp)
                elif source == stdin:
                    chunk = os.read(stdin, 4096)
                    if not chunk:
                        return 0
                    pending_input += chunk
                    while b"\n" in pending_input:
                        line, pending_input = pending_input.split(b"\n", 1)
                        words = line.decode(errors="replace").split()
                        if len(words) == 4 and words[0] == "ping":
                            _start_ping(pinger, words[1], words[2], float(words[3]))
                elif pinger.answered(source):
                    _emit(pinger.finish(True))
            if pinger.pending and pinger.remaining() == 0.0:
                _emit(pinger.finish(False))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        pinger.close()


def _start_ping(pinger: Pinger, tag: str, target: str, timeout: float) -> None:
    if pinger.pending:
        _emit(pinger.finish(False))
    try:
        pinger.start(tag, target, timeout)
    except (OSError, ValueError):
        _emit(pinger.finish(False))


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Parse the mode and its arguments and run it."""
    parser = argparse.ArgumentParser(prog="python -m garpd.lab.agent",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    modes = parser.add_subparsers(dest="mode", required=True)
    p_capture = modes.add_parser("capture")
    p_capture.add_argument("--dev", required=True)
    p_capture.add_argument("--ethertypes", default="", help="comma list; empty keeps all")
    p_capture.add_argument("--outgoing", action="store_true",
                           help="keep only the frames DEV sends, not those it receives")
    p_capture.add_argument("--idle", action="store_true",
                           help="run under SCHED_IDLE (never preempt the process under test)")
    p_capture.add_argument("--drain-after", type=float, default=0.0, metavar="S",
                           help="read what is queued S seconds after a frame wakes it")
    p_send = modes.add_parser("send")
    p_send.add_argument("--dev", required=True)
    p_send.add_argument("--count", type=int, default=1)
    p_ping = modes.add_parser("ping")
    p_ping.add_argument("--timeout", type=float, default=5.0)
    p_ping.add_argument("address")
    p_watch = modes.add_parser("watch")
    p_watch.add_argument("--dev", required=True)
    p_watch.add_argument("--vip", required=True)
    p_watch.add_argument("--capture", action="store_true", help="report GARPs seen on --dev")
    p_watch.add_argument("--lab", default="", help="the lab's prefix (names it in ps)")
    args = parser.parse_args(argv)
    if args.mode == "capture":
        wanted = frozenset(int(e, 0) for e in args.ethertypes.split(",") if e.strip())
        if args.idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return capture(args.dev, wanted or None, outgoing=args.outgoing,
                       drain_after=args.drain_after)
    if args.mode == "send":
        return send(args.dev, args.count)
    if args.mode == "watch":
        return watch(args.dev, args.vip, capture_garps=args.capture)
    return ping(args.address, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
