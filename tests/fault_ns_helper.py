"""In-namespace side of the fault tests (tests/test_faults_lab.py, tests/soak_test.py): run
inside a lab host with ``ip netns exec <ns> python fault_ns_helper.py <mode> ...``.

Modes:
  flap --dev DEV --count N
      ``ip link set DEV down`` then ``up``, N times in a tight loop (no sleep). Prints one
      JSON line: a list of [down_issued, down_done, up_done] time.monotonic() triples, so
      that a capture (which stamps frames with time.monotonic() too) can be checked
      against the windows in which the link was down.
  flood --dev DEV --rate R
      Reads hex frames (one per line) from stdin and sends them in order out of DEV at R
      frames per second (paced against the monotonic clock, not by sleeping a fixed
      step). Prints one JSON line {"sent": N, "start": t, "end": t}.

Only the standard library is used, so it runs under any interpreter without the project.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time


def flap(dev: str, count: int) -> int:
    """Flap ``dev`` ``count`` times; print the timings."""
    log: list[list[float]] = []
    for _ in range(count):
        issued = time.monotonic()
        subprocess.run(["ip", "link", "set", dev, "down"], check=True)
        down = time.monotonic()
        subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        log.append([issued, down, time.monotonic()])
    print(json.dumps(log))
    return 0


def flood(dev: str, rate: float) -> int:
    """Send the frames read from stdin at ``rate`` per second; print what was sent."""
    frames = [bytes.fromhex(line) for line in sys.stdin.read().split()]
    sent = 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        sock.bind((dev, 0))
        start = time.monotonic()
        for index, frame in enumerate(frames):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sock.send(frame)
            sent += 1
        end = time.monotonic()
    print(json.dumps({"sent": sent, "start": start, "end": end}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the mode and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    modes = parser.add_subparsers(dest="mode", required=True)
    p_flap = modes.add_parser("flap")
    p_flap.add_argument("--dev", required=True)
    p_flap.add_argument("--count", type=int, required=True)
    p_flood = modes.add_parser("flood")
    p_flood.add_argument("--dev", required=True)
    p_flood.add_argument("--rate", type=float, required=True)
    args = parser.parse_args(argv)
    if args.mode == "flap":
        return flap(args.dev, args.count)
    return flood(args.dev, args.rate)


if __name__ == "__main__":
    sys.exit(main())
