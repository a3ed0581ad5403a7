"""The latency floor: the least a Python asyncio daemon can do between "an address appeared"
and "its GARP left".

Run inside the sender namespace (``python -m bench.latency_floor --dev eth0 --mac MAC``).
It subscribes to RTMGRP_IPV4_IFADDR on a non-blocking rtnetlink socket read from an asyncio
loop (as garpd does), parses RTM_NEWADDR with struct, patches the address into a prebuilt
42-byte GARP and sends it on an AF_PACKET socket opened at start. No configuration, no
policy, no logging: what is left is the kernel, the wake-up and the interpreter. Prints
READY once subscribed; SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import struct
import sys

RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR = 20
IFA_LOCAL = 2


def _addresses(data: bytes, ifindex: int) -> list[bytes]:
    """The IFA_LOCAL of every RTM_NEWADDR for ``ifindex`` in one netlink datagram."""
    out: list[bytes] = []
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind == RTM_NEWADDR:
            family, _plen, _flags, _scope, index = struct.unpack_from("=BBBBI", data, offset + 16)
            pos, end = offset + 24, offset + length
            while family == socket.AF_INET and index == ifindex and pos + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if atype == IFA_LOCAL:
                    out.append(data[pos + 4:pos + 8])
                pos += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return out


async def _serve(dev: str, mac: bytes) -> None:
    ifindex = socket.if_nametoindex(dev)
    template = bytearray(b"\xff" * 6 + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01"
                         + mac + bytes(4) + b"\xff" * 6 + bytes(4))
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    raw.bind((dev, 0))
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                       socket.NETLINK_ROUTE)
    nl.bind((0, RTMGRP_IPV4_IFADDR))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def readable() -> None:
        while True:
            try:
                data = nl.recv(65536)
            except BlockingIOError:
                return
            for address in _addresses(data, ifindex):
                template[28:32] = address
                template[38:42] = address
                raw.send(template)

    loop.add_reader(nl.fileno(), readable)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    await stop.wait()
    loop.remove_reader(nl.fileno())
    nl.close()
    raw.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until SIGTERM."""
    parser = argparse.ArgumentParser(description="minimal netlink -> GARP responder")
    parser.add_argument("--dev", required=True)
    parser.add_argument("--mac", required=True)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.dev, bytes.fromhex(args.mac.replace(":", ""))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
