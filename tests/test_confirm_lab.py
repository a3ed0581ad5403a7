"""The confirmation rule against a real Linux router: a router that drops broadcast ARP
(nftables) still takes the directed request, and its answer is what Confirmer accepts."""

from __future__ import annotations

import ipaddress

import pytest

from garpd.confirm import Confirmer, ConfirmTiming
from garpd.frames import Address, FrameCache, mac_bytes
from garpd.neighbour_wire import Claim, ProbeCache, parse
from tests.lab import Frame, LabFactory, wait_for

VIP = ipaddress.ip_address("192.0.2.100")
GW = ipaddress.ip_address("192.0.2.1")
VIP6 = ipaddress.ip_address("2001:db8::100")
GW6 = ipaddress.ip_address("2001:db8::1")
OLD = "02:00:00:00:00:66"
DROP_BROADCAST_ARP = """
table netdev garpd_test {
  chain ingress {
    type filter hook ingress device eth0 priority 0;
    ether type arp ether daddr ff:ff:ff:ff:ff:ff drop
  }
}
"""


def answers(confirmer: Confirmer, frames: list[Frame], now: float) -> list[dict[str, object]]:
    """The ``confirmed`` records the captured frames give (fields only)."""
    out = []
    for frame in frames:
        claim = parse(frame.data)
        if isinstance(claim, Claim):
            out += [r.fields for r in confirmer.handle_answer("eth0", claim, now)]
    return out


def from_gateway(frame: Frame, gateway: Address, to: Address) -> bool:
    """The frame is the gateway's ARP reply or NA sent to ``to``."""
    claim = parse(frame.data)
    if not isinstance(claim, Claim) or claim.claimed != gateway:
        return False
    return claim.target == to if claim.is_arp else claim.ip_dst == to


@pytest.mark.lab
@pytest.mark.parametrize(("address", "gateway", "prefix"), [(VIP, GW, 24), (VIP6, GW6, 64)])
def test_router_dropping_broadcast_arp_takes_the_directed_request(
        make_lab: LabFactory, address: Address, gateway: Address, prefix: int) -> None:
    """A GARP does not move the router's entry (broadcast ARP dropped, for IPv4); the
    directed request does, and the router's answer confirms with its MAC."""
    lab = make_lab(["a", "router"])
    mac_a, mac_r = mac_bytes(lab.mac("a")), mac_bytes(lab.mac("router"))
    lab.add_address("router", f"{gateway}/{prefix}")
    lab.run("router", "nft", "-f", "-", input_text=DROP_BROADCAST_ARP)
    lab.set_neighbour("router", str(address), OLD)
    capture = lab.capture("a")
    if address.version == 4:
        # The GARP, then a request from another address: once that one is answered, the
        # router has processed (and dropped) the GARP, which came before it.
        marker = ipaddress.IPv4Address("192.0.2.50")
        lab.send_raw("a", [*FrameCache().slot(mac_a, address, "request", False),
                           ProbeCache().frame(mac_a, marker, gateway, mac_r)])
        capture.wait_until(lambda fs: any(from_gateway(f, gateway, marker) for f in fs))
        assert lab.neighbours("router")[str(address)][0] == OLD
    confirmer = Confirmer()
    confirmer.start("eth0", address, mac_a, (gateway,), ConfirmTiming(1.0, 0), 0.0)
    confirmer.set_neighbour("eth0", gateway, mac_r)
    [probe], _ = confirmer.poll(0.0)
    lab.send_raw("a", ProbeCache().frame(probe.mac, probe.address, probe.gateway,
                                         probe.gateway_mac))
    frames = capture.wait_until(lambda fs: any(from_gateway(f, gateway, address) for f in fs))
    records = answers(confirmer, frames, 0.002)
    assert [(r["gateway"], r["gateway_mac"]) for r in records] == [
        (str(gateway), lab.mac("router"))]
    wait_for(lambda: lab.neighbours("router").get(str(address), (None, ""))[0] == lab.mac("a"),
             message="the router's entry names the new holder")
