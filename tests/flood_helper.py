"""Sends one frame (hex on argv) out of eth0 at a steady rate for a bounded time.

Usage: flood_helper.py FRAME_HEX RATE SECONDS. Runs inside a lab namespace (raw socket,
CAP_NET_RAW); paced in 10 ms slices so the rate holds without a busy loop; prints the
number of frames sent as one JSON line.
"""

from __future__ import annotations

import json
import socket
import sys
import time


def main() -> int:
    """Send FRAME at RATE frames per second for SECONDS seconds."""
    frame = bytes.fromhex(sys.argv[1])
    rate, seconds = float(sys.argv[2]), min(float(sys.argv[3]), 30.0)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    sent = 0
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * rate) - sent
        for _ in range(max(0, due)):
            try:
                sock.send(frame)
            except OSError:  # the queue is full: the next slice catches up
                break
            sent += 1
        time.sleep(0.01)
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
