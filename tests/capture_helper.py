"""In-namespace side of the test lab: owns the raw AF_PACKET work that tests/lab.py runs
inside a host namespace via `ip netns exec <ns> python -u capture_helper.py <mode> ...`.

Modes:
  capture --dev DEV [--ethertypes 0x0806,0x86dd]
      Binds an ETH_P_ALL socket to DEV, prints "READY" once bound, then writes one JSON line
      per received frame: {"t": <time.monotonic() at receipt>, "hex": "<frame>"}. Frames the
      host itself sent (PACKET_OUTGOING) are dropped. On SIGTERM/SIGINT it drains what the
      kernel already queued, prints {"stats": {"packets": N, "drops": N}} (PACKET_STATISTICS)
      and exits 0.
  send --dev DEV [--count N]
      Reads hex frames (one per line) from stdin and sends them, in order, N times.
  ping --timeout S ADDRESS
      ICMP / ICMPv6 echo through a raw socket (no dependency on iputils); exit 0 on a reply.

Only the standard library is used so it runs under any interpreter without the project.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import select
import signal
import socket
import struct
import sys
import time
from types import FrameType

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF_BYTES = 64 * 1024 * 1024
# PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST; not PACKET_OUTGOING (4).
KEPT_PKTTYPES = frozenset({0, 1, 2, 3})
FLUSH_EVERY = 1024


def _write_all(data: bytes) -> None:
    """Write all of `data` to fd 1 (os.write may return short on a pipe)."""
    view = memoryview(data)
    while view:
        written = os.write(1, view)
        view = view[written:]


def capture(dev: str, ethertypes: frozenset[int] | None) -> int:
    """Run the capture loop until SIGTERM/SIGINT; see the module docstring."""
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
        print("capture_helper: SO_RCVBUFFORCE refused, using SO_RCVBUF", file=sys.stderr)
    sock.bind((dev, ETH_P_ALL))
    sock.setblocking(True)
    poller = select.poll()
    poller.register(sock, select.POLLIN)

    def drain() -> None:
        lines: list[str] = []
        while True:
            try:
                data, addr = sock.recvfrom(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            now = time.monotonic()
            # addr = (ifname, proto, pkttype, hatype, hwaddr); the ifname check discards
            # anything queued between socket() and bind() from another interface.
            if addr[0] != dev or addr[2] not in KEPT_PKTTYPES or len(data) < 14:
                continue
            if ethertypes is not None and int.from_bytes(data[12:14], "big") not in ethertypes:
                continue
            lines.append(f'{{"t": {now!r}, "hex": "{data.hex()}"}}\n')
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


def _inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(int(x) for x in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping(address: str, timeout: float) -> int:
    """Echo `address` once a second until a reply arrives (exit 0) or `timeout` passes (1)."""
    target = ipaddress.ip_address(address)
    ident = os.getpid() & 0xFFFF
    if target.version == 4:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        request_type, reply_type = 8, 0
    else:
        # The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets (RFC 3542).
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        request_type, reply_type = 128, 129
    deadline = time.monotonic() + timeout
    seq = 0
    with sock:
        while time.monotonic() < deadline:
            seq += 1
            body = struct.pack("!HH", ident, seq) + b"garpd-lab"
            header = struct.pack("!BBH", request_type, 0, 0)
            if target.version == 4:
                header = struct.pack("!BBH", request_type, 0, _inet_checksum(header + body))
            sock.sendto(header + body, (address, 0))
            resend_at = min(deadline, time.monotonic() + 1.0)
            while (remaining := resend_at - time.monotonic()) > 0:
                readable, _, _ = select.select([sock], [], [], remaining)
                if not readable:
                    break
                data, peer = sock.recvfrom(4096)
                if target.version == 4:
                    data = data[(data[0] & 0x0F) * 4 :]
                if (
                    len(data) >= 8
                    and data[0] == reply_type
                    and struct.unpack("!H", data[4:6])[0] == ident
                    and ipaddress.ip_address(str(peer[0]).split("%")[0]) == target
                ):
                    return 0
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse the mode and its arguments and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    modes = parser.add_subparsers(dest="mode", required=True)
    p_capture = modes.add_parser("capture")
    p_capture.add_argument("--dev", required=True)
    p_capture.add_argument("--ethertypes", default="", help="comma list; empty keeps all")
    p_send = modes.add_parser("send")
    p_send.add_argument("--dev", required=True)
    p_send.add_argument("--count", type=int, default=1)
    p_ping = modes.add_parser("ping")
    p_ping.add_argument("--timeout", type=float, default=5.0)
    p_ping.add_argument("address")
    args = parser.parse_args(argv)
    if args.mode == "capture":
        wanted = frozenset(int(e, 0) for e in args.ethertypes.split(",") if e.strip())
        return capture(args.dev, wanted or None)
    if args.mode == "send":
        return send(args.dev, args.count)
    return ping(args.address, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
