"""Lab test of trusting VRRP adverts on the wire: a flood of adverts with a bad checksum
(lower, higher and zero priority, VRRPv2 and v3) sent to a host where ``garpd run`` listens
for its VRID starts nothing and is counted; one good lower-priority advert afterwards does
start the lower-priority schedule (the same setup sees a schedule when there is one).

The unit-level rules are in tests/test_vrrp_trust.py; here the frames go through the
kernel into garpd's AF_PACKET listener, and what garpd sends is captured on the peer.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from pathlib import Path
from typing import Literal

import pytest

from garpd.control import request
from garpd.vrrp import build_advert
from tests.keepalived_helpers import Garpd, by_garpd, clusters, vrrp_frame
from tests.lab import ETH_P_ARP, LabFactory, wait_for

pytestmark = [pytest.mark.lab]

VIP = "192.0.2.100"
VRID = 51
SOURCE = "192.0.2.12"  # another router of the VRID, as the adverts claim
TIMING: dict[str, object] = {"master_repeat": 3, "master_delay": 1.0, "mode": "reply",
                             "lower_prio_repeat": 2, "lower_prio_delay": 0.5}
GROUP: dict[str, object] = {"name": "VI_1", "interface": "eth0", "addresses": [VIP],
                            "vrid": VRID, "priority": 150}
BATCHES, PER_KIND = 10, 12


def advert_frame(src_mac: str, *, version: Literal[2, 3], priority: int,
                 bad_checksum: bool) -> bytes:
    """An Ethernet frame with an IPv4 VRRP advert from SOURCE to 224.0.0.18 (TTL 255), its
    VRRP checksum right or deliberately wrong (the IP header's is always right)."""
    src = ipaddress.IPv4Address(SOURCE)
    payload = build_advert(VRID, priority, [ipaddress.IPv4Address(VIP)], version=version,
                           source=src if version == 3 else None)
    if bad_checksum:
        wrong = struct.unpack_from("!H", payload, 6)[0] ^ 0x5A5A
        payload = payload[:6] + struct.pack("!H", wrong) + payload[8:]
    return vrrp_frame(src_mac, SOURCE, payload).ljust(60, b"\x00")


def test_bad_checksum_flood_starts_nothing_and_is_counted(make_lab: LabFactory,
                                                          garpd_cmd: list[str],
                                                          tmp_path: Path) -> None:
    """480 adverts with a bad checksum (priority 100 < local 150, 200, 0; v2 and v3): no
    lower_prio schedule, no frame beyond the takeover's 3 + 3, every one counted as
    bad_checksum and none reaching the arbiter. Then one good lower advert: 2 + 2."""
    lab = make_lab(["a", "peer"], accept_dad=0, locktime=0)
    lab.add_address("a", "192.0.2.11/24")
    lab.add_address("a", f"{VIP}/24")
    lab.add_address("peer", "192.0.2.1/24")
    mac_a, mac_peer = lab.mac("a"), lab.mac("peer")
    cap = lab.capture("peer", ethertypes=(ETH_P_ARP,))
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP], announce=TIMING)
    daemon.start()
    try:
        daemon.wait_event("announce", address=VIP, reason="master_delay")
        wait_for(lambda: len(by_garpd(cap.frames_so_far(), VIP, mac_a)) >= 6, 5.0,
                 message="the takeover's 3 + 3 replies at the peer")

        def counted() -> int:
            return int(daemon.status()["counters"]["vrrp_result_bad_checksum"])

        kinds: list[tuple[Literal[2, 3], int]] = [(2, 100), (2, 200), (2, 0), (3, 100)]
        batch = [advert_frame(mac_peer, version=v, priority=p, bad_checksum=True)
                 for v, p in kinds] * PER_KIND
        for n in range(1, BATCHES + 1):
            lab.send_raw("peer", batch)
            expected = n * len(batch)
            wait_for(lambda: counted() >= expected, 10.0, interval=0.1,  # noqa: B023
                     message=f"{expected} bad adverts counted")
        # Longer than lower_prio_delay: a schedule started by the flood would be out by now.
        time.sleep(1.5)
        counters = daemon.status()["counters"]
        sent = BATCHES * len(batch)
        assert counters["vrrp_result_bad_checksum"] == sent
        assert counters["vrrp_received"] == sent
        assert counters["vrrp_result_ok"] == 0
        assert counters["vrrp_adverts"] == 0, "no bad advert reached the arbiter"
        assert counters["vrrp_lower"] == 0
        assert counters["lower_prio_started"] == 0
        assert counters["lower_prio_limited"] == 0
        assert not daemon.events("lower_prio_advert")
        # The metrics say the same (garpd_vrrp_adverts_total{result="bad_checksum"}).
        reply = request(daemon.socket, {"command": "metrics"}, timeout=5.0)
        assert reply.get("ok"), reply
        assert f'garpd_vrrp_adverts_total{{result="bad_checksum"}} {float(sent)}' in \
            reply["text"].splitlines()
        assert [r["reason"] for r in daemon.events("announce")] == ["master", "master_delay"]
        assert len(by_garpd(cap.frames_so_far(), VIP, mac_a)) == 6

        # The same advert with its checksum right is trusted: one schedule, 2 + 2.
        good = advert_frame(mac_peer, version=2, priority=100, bad_checksum=False)
        lab.send_raw("peer", good)
        (record,) = daemon.wait_event("lower_prio_advert")
        assert (record["vrid"], record["priority"], record["source"]) == (VRID, 100, SOURCE)
        daemon.wait_event("announce", address=VIP, reason="lower_prio_delay")
        wait_for(lambda: len(by_garpd(cap.frames_so_far(), VIP, mac_a)) >= 10, 5.0,
                 message="the lower_prio schedule's 2 + 2 replies")
        time.sleep(0.3)
        replies = by_garpd(cap.frames_so_far(), VIP, mac_a)
        assert len(replies) == 10
        assert [len(b) for b in clusters([s.t for s in replies[6:]])] == [2, 2]
        counters = daemon.status()["counters"]
        assert (counters["vrrp_result_ok"], counters["vrrp_lower"],
                counters["lower_prio_started"]) == (1, 1, 1)
        assert counters["vrrp_result_bad_checksum"] == sent
    finally:
        assert daemon.stop() == 0
