"""The Sender on a real interface: every frame leaves, in order, ring or no ring."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import sys
from pathlib import Path

import pytest

from garpd.drivers.sender import SMALL_BATCH, Sender
from garpd.frames import FrameCache
from garpd.lab.netns import inside
from tests.lab import LabFactory, decode, wait_for

pytestmark = pytest.mark.lab
HELPER = Path(__file__).with_name("sender_helper.py")
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("ring", [True, False])
@pytest.mark.parametrize("sizes", [[5000, 5000, 5000], [5, 3000, 1, 5, 2048, 7, 1],
                                   [1, SMALL_BATCH, 3, 1]],
                         ids=["large", "mixed", "small"])
def test_batches_arrive_complete_and_in_order(make_lab: LabFactory, ring: bool,
                                              sizes: list[int]) -> None:
    """Batches of any size, large after small and small after large, all arrive in order;
    the ring is set up only once a batch is larger than SMALL_BATCH (small ones go out
    with one ``send`` each, on another socket than the ring's)."""
    lab = make_lab(["a", "peer"])
    total = sum(sizes)
    cap = lab.capture("peer", ethertypes=(0x0806,))
    argv = [sys.executable, str(HELPER), ",".join(map(str, sizes))]
    argv += [] if ring else ["--no-ring"]
    out = lab.run("a", "env", f"PYTHONPATH={REPO}", *argv)
    report = json.loads(out.stdout)
    assert report["ring"] is (ring and max(sizes) > SMALL_BATCH)
    assert all(r["error"] is None for r in report["report"])
    assert sum(r["sent"] for r in report["report"]) == total
    cap.wait_until(lambda frames: len(frames) >= total, timeout=30)
    frames = cap.stop()
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    seq = [int(ipaddress.IPv4Address(decode(f.data)["spa"])) - base for f in frames]
    assert seq == list(range(total))
    assert cap.drops == 0


def test_frames_of_two_lengths_in_one_batch(make_lab: LabFactory) -> None:
    """The ring writes each slot with its own frame's length when a batch mixes lengths."""
    lab = make_lab(["a", "peer"])
    sizes = [3000, 7]
    total = sum(sizes)
    cap = lab.capture("peer", ethertypes=(0x0806,))
    out = lab.run("a", "env", f"PYTHONPATH={REPO}", sys.executable, str(HELPER),
                  ",".join(map(str, sizes)), "--uneven")
    report = json.loads(out.stdout)
    assert report["ring"] is True
    assert sum(r["sent"] for r in report["report"]) == total
    cap.wait_until(lambda frames: len(frames) >= total, timeout=30)
    frames = cap.stop()
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    seq = [int(ipaddress.IPv4Address(decode(f.data)["spa"])) - base for f in frames]
    assert seq == list(range(total))
    assert [len(f.data) for f in frames] == [60 if i % 2 else 42 for i in range(total)]


@pytest.mark.parametrize("size", [1, SMALL_BATCH + 1], ids=["plain", "ring"])
def test_link_down_drops_the_batch_and_keeps_the_socket(make_lab: LabFactory,
                                                        size: int) -> None:
    """A send on a down link reports ENETDOWN and drops the batch, but the socket (and
    the ring) stays open: closing one waits for an RCU grace period with the loop
    blocked. Once the link is up again the same socket sends the next batch."""
    lab = make_lab(["a", "peer"])
    cache = FrameCache()
    mac = bytes.fromhex(lab.mac("a").replace(":", ""))
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    frames = [cache.slot(mac, ipaddress.IPv4Address(base + i), "request", False)[0]
              for i in range(size)]
    with inside(lab.ns("a")):
        sender = Sender()
        try:
            index = socket.if_nametoindex("eth0")
            before = sender.open("eth0", index)
            assert sender.send("eth0", index, frames).sent == size  # the ring, if any, set up
            lab.ip("a", "link", "set", "eth0", "down")
            result = sender.send("eth0", index, frames)
            assert result.error is not None
            assert result.error.errno == errno.ENETDOWN
            assert (result.sent, result.retry) == (0, [])
            assert sender.open("eth0", index) is before
            assert sender.ring_used("eth0") is (size > SMALL_BATCH)
            lab.ip("a", "link", "set", "eth0", "up")
            cap = lab.capture("peer", ethertypes=(0x0806,))
            wait_for(lambda: "state UP" in lab.ip("a", "-o", "link", "show", "eth0").stdout,
                     timeout=10)
            assert sender.send("eth0", index, frames).sent == size
            cap.wait_until(lambda got: len(got) >= size, timeout=10)
            assert len(cap.stop()) == size
        finally:
            sender.close()
