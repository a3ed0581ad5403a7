"""In-namespace side of tests/test_bpf.py: owns one AF_PACKET socket with garpd's
neighbour BPF filter and reports what the kernel let through.

Usage (inside a lab namespace)::

    python bpf_helper.py DEV SPEC_JSON

SPEC_JSON: {"v4": [...] | null, "v6": [...] | null, "end": "<hex frame>",
"drop_outgoing": bool, "drop_tagged": bool} (the two flags default to true).
It attaches the filter built from v4/v6, binds to DEV, prints READY, then prints one hex
line per frame received until it receives ``end`` (not printed) or 20 s pass.
"""

from __future__ import annotations

import ipaddress
import json
import select
import socket
import sys
import time

from garpd.bpf import neighbour_filter, sock_fprog

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26


def main() -> int:
    """Run the filter on DEV and print what passes."""
    dev, spec = sys.argv[1], json.loads(sys.argv[2])
    v4 = None if spec["v4"] is None else [ipaddress.IPv4Address(a) for a in spec["v4"]]
    v6 = None if spec["v6"] is None else [ipaddress.IPv6Address(a) for a in spec["v6"]]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    fprog, _buffer = sock_fprog(neighbour_filter(
        v4, v6, drop_outgoing=spec.get("drop_outgoing", True),
        drop_tagged=spec.get("drop_tagged", True)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    sock.bind((dev, ETH_P_ALL))
    end = bytes.fromhex(spec["end"])
    print("READY", flush=True)
    deadline = time.monotonic() + 20.0
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        data = sock.recv(65535)
        if data == end:
            return 0
        print(data.hex(), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
