"""Runs garpd's Sender inside a lab namespace: sends numbered GARP batches on eth0.

Usage: sender_helper.py SIZE,SIZE,... [--no-ring] [--uneven]: one batch per size. Each
frame is a GARP request whose sender IP encodes its sequence number (198.18.x.y), so a
capture can check order and loss; with --uneven every odd-numbered one is padded to 60
bytes (frames of two lengths in one batch). Prints one JSON line with what the Sender reported.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from pathlib import Path

from garpd.drivers.sender import Sender
from garpd.frames import FrameCache


def main() -> int:
    """Send the batches and report."""
    sizes = [int(n) for n in sys.argv[1].split(",")]
    ring = "--no-ring" not in sys.argv
    mac = bytes.fromhex(Path("/sys/class/net/eth0/address").read_text().strip().replace(":", ""))
    cache = FrameCache()
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    frames = [cache.slot(mac, ipaddress.IPv4Address(base + i), "request", False)[0]
              for i in range(sum(sizes))]
    if "--uneven" in sys.argv:
        frames = [f + bytes(18) if i % 2 else f for i, f in enumerate(frames)]
    sender = Sender(ring=ring)
    index = socket.if_nametoindex("eth0")
    report = []
    start = 0
    for size in sizes:
        batch = frames[start:start + size]
        start += size
        while batch:
            result = sender.send("eth0", index, batch)
            report.append({"sent": result.sent, "retry": len(result.retry),
                           "error": str(result.error) if result.error else None})
            if result.error is not None:
                break
            batch = result.retry
    print(json.dumps({"report": report, "ring": sender.ring_used("eth0")}))
    sender.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
