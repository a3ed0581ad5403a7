"""Runs garpd's Sender inside a lab namespace: sends numbered GARP batches on eth0.

Usage: sender_helper.py COUNT BATCHES [--no-ring]. Each frame is a GARP request whose
sender IP encodes its sequence number (198.18.x.y), so a capture can check order and loss.
Prints one JSON line with what the Sender reported.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from pathlib import Path

from garpd.frames import FrameCache
from garpd.sender import Sender


def main() -> int:
    """Send the batches and report."""
    count, batches = int(sys.argv[1]), int(sys.argv[2])
    ring = "--no-ring" not in sys.argv
    mac = bytes.fromhex(Path("/sys/class/net/eth0/address").read_text().strip().replace(":", ""))
    cache = FrameCache()
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    frames = [cache.slot(mac, ipaddress.IPv4Address(base + i), "request", False)[0]
              for i in range(count * batches)]
    sender = Sender(ring=ring)
    index = socket.if_nametoindex("eth0")
    report = []
    for b in range(batches):
        batch = frames[b * count:(b + 1) * count]
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
