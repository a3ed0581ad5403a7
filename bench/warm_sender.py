"""In-namespace warm sender: garpd's own Sender, in-process, with the frames already built.

Run inside the sender namespace (``python -m bench.warm_sender --dev eth0 --mac MAC --first IP
--count N --repeat R``). It builds the GARPs with garpd's FrameCache, sends the round-robin
batch once to warm everything up (socket, TX ring, cached ring slots), waits, then times a
second ``Sender.send`` of the same batch and prints one JSON line: frames sent and the
CLOCK_MONOTONIC instants right before and right after that call. This is garpd's send path
without process start-up, netlink and the core: the best a garpd burst can do here.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import time

from garpd.drivers.sender import Sender
from garpd.frames import FrameCache


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, warm up, time one batch, print the JSON line."""
    parser = argparse.ArgumentParser(description="time garpd's Sender.send, warm")
    parser.add_argument("--dev", required=True)
    parser.add_argument("--mac", required=True)
    parser.add_argument("--first", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.3)
    args = parser.parse_args(argv)
    mac = bytes.fromhex(args.mac.replace(":", ""))
    ifindex = socket.if_nametoindex(args.dev)
    first = ipaddress.IPv4Address(args.first)
    cache = FrameCache()
    per_address = [cache.slot(mac, first + i, "request", False)[0] for i in range(args.count)]
    batch = per_address * args.repeat
    sender = Sender()
    try:
        warm = sender.send(args.dev, ifindex, batch)
        time.sleep(args.pause)
        t0 = time.monotonic()
        result = sender.send(args.dev, ifindex, batch)
        t1 = time.monotonic()
    finally:
        sender.close()
    print(json.dumps({"sent": result.sent, "retry": len(result.retry),
                      "error": str(result.error) if result.error else None,
                      "warm_sent": warm.sent, "t0": t0, "t1": t1}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
