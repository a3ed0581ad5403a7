"""The Sender on a real interface: every frame leaves, in order, through the TX ring."""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

import pytest

from tests.lab import LabFactory, decode

pytestmark = pytest.mark.lab
HELPER = Path(__file__).with_name("sender_helper.py")
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("ring", [True, False])
def test_batches_arrive_complete_and_in_order(make_lab: LabFactory, ring: bool) -> None:
    """3 batches of 5,000 numbered GARPs arrive on the peer complete and in send order."""
    lab = make_lab(["a", "peer"])
    cap = lab.capture("peer", ethertypes=(0x0806,))
    argv = [sys.executable, str(HELPER), "5000", "3"] + ([] if ring else ["--no-ring"])
    out = lab.run("a", "env", f"PYTHONPATH={REPO}", *argv)
    report = json.loads(out.stdout)
    assert report["ring"] is ring
    assert all(r["error"] is None for r in report["report"])
    cap.wait_until(lambda frames: len(frames) >= 15_000, timeout=30)
    frames = cap.stop()
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    seq = [int(ipaddress.IPv4Address(decode(f.data)["spa"])) - base for f in frames]
    assert seq == list(range(15_000))
    assert cap.drops == 0
