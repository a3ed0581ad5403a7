"""The pure confirmation machine: literal timelines of requests, retries, answers."""

from __future__ import annotations

import ipaddress

import pytest

from garpd.confirm import (
    AUTO,
    EPSILON,
    NEIGHBOUR_LIMIT,
    Confirmer,
    ConfirmTiming,
    GatewayStatus,
    Probe,
)
from garpd.frames import Address, mac_bytes
from garpd.neighbour_wire import Claim, parse
from garpd.records import Record
from tests.test_neighbour_wire import arp, na, ns

OURS = "02:00:00:00:00:02"
ROUTER = "02:00:00:00:00:01"
ROGUE = "02:00:00:00:00:66"
VIP = ipaddress.ip_address("192.0.2.100")
GW = ipaddress.ip_address("192.0.2.1")
GW2 = ipaddress.ip_address("192.0.2.2")
VIP6 = ipaddress.ip_address("2001:db8::100")
GW6 = ipaddress.ip_address("fe80::1")
MAC = mac_bytes(OURS)
TIMING = ConfirmTiming(timeout=1.0, retries=3)


def claim(frame: bytes) -> Claim:
    """The claim a frame parses to."""
    result = parse(frame)
    assert isinstance(result, Claim), result
    return result


def reply(gateway: Address = GW, address: Address = VIP, tha: str = OURS) -> Claim:
    """The gateway's ARP reply to the address."""
    return claim(arp(2, ROUTER, str(gateway), str(address), tha=tha, eth_dst=tha))


def run(c: Confirmer, until: float) -> tuple[list[tuple[float, Probe]], list[tuple[float, Record]]]:
    """Poll at every deadline up to ``until``: (time, probe) and (time, record) lists."""
    probes: list[tuple[float, Probe]] = []
    records: list[tuple[float, Record]] = []
    while (deadline := c.next_deadline()) is not None and deadline <= until:
        sent, written = c.poll(deadline)
        probes += [(deadline, p) for p in sent]
        records += [(deadline, r) for r in written]
    return probes, records


def test_silent_gateway_retries_at_doubled_timeouts_then_unconfirmed() -> None:
    """Requests at +0, +1, +3, +7; one ``unconfirmed`` at +15; then nothing."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 10.0, group="VI_1")
    probes, records = run(c, 100.0)
    assert [(t, p.attempt) for t, p in probes] == [(10.0, 1), (11.0, 2), (13.0, 3), (17.0, 4)]
    assert {(p.interface, p.address, p.mac, p.gateway, p.gateway_mac) for _, p in probes} == {
        ("eth0", VIP, MAC, GW, None)}
    assert [(t, r.event, r.fields) for t, r in records] == [(25.0, "unconfirmed", {
        "interface": "eth0", "address": "192.0.2.100", "gateway": "192.0.2.1",
        "attempts": 4, "waited_ms": 15000, "group": "VI_1"})]
    assert c.next_deadline() is None
    assert c.status() == [GatewayStatus("eth0", "192.0.2.100", "192.0.2.1", "unconfirmed", 4,
                                        None, None, None)]


def test_no_retries_gives_up_after_one_timeout() -> None:
    """confirm_retries = 0: one request, ``unconfirmed`` one timeout later."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), ConfirmTiming(0.5, 0), 0.0)
    probes, records = run(c, 10.0)
    assert [t for t, _ in probes] == [0.0]
    assert [(t, r.event) for t, r in records] == [(0.5, "unconfirmed")]


def test_reply_confirms_with_mac_and_after_ms_since_the_schedule_began() -> None:
    """An ARP reply 3 ms after the request, schedule begun 0.5 s earlier: after_ms 503."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 10.0, began=9.5)
    probes, _ = run(c, 10.0)
    assert len(probes) == 1
    records = c.handle_answer("eth0", reply(), 10.003)
    assert [(r.event, r.fields) for r in records] == [("confirmed", {
        "interface": "eth0", "address": "192.0.2.100", "gateway": "192.0.2.1",
        "gateway_mac": ROUTER, "after_ms": 503, "attempts": 1})]
    assert c.next_deadline() is None
    assert c.handle_answer("eth0", reply(), 10.004) == []  # once
    assert c.status() == [GatewayStatus("eth0", "192.0.2.100", "192.0.2.1", "confirmed", 1,
                                        503, ROUTER, None)]


def test_answer_after_a_retry() -> None:
    """No answer to the first request, an answer after the second: confirmed, attempts 2."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 0.0)
    probes, _ = run(c, 1.0)
    assert [t for t, _ in probes] == [0.0, 1.0]
    [record] = c.handle_answer("eth0", reply(), 1.25)
    assert (record.fields["after_ms"], record.fields["attempts"]) == (1250, 2)
    assert run(c, 100.0) == ([], [])


@pytest.mark.parametrize(("frame", "answers"), [
    (arp(2, ROUTER, str(GW), str(VIP), tha=OURS, eth_dst=OURS), True),
    (arp(1, ROUTER, str(GW), str(VIP), eth_dst=OURS), True),          # unicast re-check
    (arp(1, ROUTER, str(GW), str(VIP)), False),                       # broadcast: no entry
    (arp(2, ROUTER, str(GW), str(VIP), tha=ROGUE, eth_dst=ROGUE), False),  # to another MAC
    (arp(2, ROUTER, str(GW2), str(VIP), tha=OURS, eth_dst=OURS), False),   # another host
    (arp(2, ROUTER, str(GW), "192.0.2.101", tha=OURS, eth_dst=OURS), False),
    (arp(1, ROUTER, str(GW), str(GW)), False),                        # the gateway's GARP
    (arp(2, ROUTER, str(GW), str(VIP), tha=OURS), True),     # a reply: THA counts, not dst
    (arp(2, ROUTER, str(GW), str(VIP), tha=ROGUE, eth_dst=OURS), False),
])
def test_what_counts_as_the_answer_v4(frame: bytes, answers: bool) -> None:
    """Only the gateway's answer to the address, aimed at our MAC, confirms."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 0.0)
    c.poll(0.0)
    records = c.handle_answer("eth0", claim(frame), 0.01)
    assert bool(records) == answers
    assert c.handle_answer("eth1", claim(frame), 0.02) == []  # another interface


@pytest.mark.parametrize(("frame", "answers"), [
    (na(str(GW6), str(VIP6), str(GW6), eth_src=ROUTER, lladdr=ROUTER, flags="RSO"), True),
    (na(str(GW6), str(VIP6), str(GW6), eth_src=ROUTER, lladdr=ROUTER, flags="RO"), False),
    (na(str(GW6), "ff02::1", str(GW6), eth_src=ROUTER, lladdr=ROUTER, flags="RO"), False),
    (ns(str(GW6), str(VIP6), str(VIP6), eth_dst=OURS), True),           # unicast NUD
    (ns(str(GW6), "ff02::1:ff00:100", str(VIP6), eth_dst="33:33:ff:00:01:00"), False),
    (na("fe80::2", str(VIP6), "fe80::2", eth_src=ROUTER, lladdr=ROUTER, flags="RSO"), False),
])
def test_what_counts_as_the_answer_v6(frame: bytes, answers: bool) -> None:
    """IPv6: the gateway's solicited NA to the address, or its unicast NS, confirms."""
    c = Confirmer()
    c.start("eth0", VIP6, MAC, (GW6,), TIMING, 0.0)
    [probe], _ = c.poll(0.0)
    assert (probe.address, probe.gateway, probe.gateway_mac) == (VIP6, GW6, None)
    records = c.handle_answer("eth0", claim(frame), 0.01)
    assert [r.fields["gateway_mac"] for r in records] == ([ROUTER] if answers else [])


def test_release_cancels_what_is_pending() -> None:
    """cancel mid-way: no more requests, no ``unconfirmed``, no status."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW, GW2), TIMING, 0.0)
    probes, _ = run(c, 1.0)
    assert len(probes) == 4
    c.cancel("eth0", VIP)
    assert run(c, 100.0) == ([], [])
    assert c.status() == []
    assert c.handle_answer("eth0", reply(), 2.0) == []


def test_new_schedule_restarts() -> None:
    """start again (a new takeover, a MAC change): attempts and timers start over."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 0.0)
    run(c, 3.0)
    new_mac = mac_bytes("02:00:00:00:00:20")
    c.start("eth0", VIP, new_mac, (GW,), TIMING, 5.0)
    probes, records = run(c, 100.0)
    assert [(t, p.attempt, p.mac) for t, p in probes] == [
        (5.0, 1, new_mac), (6.0, 2, new_mac), (8.0, 3, new_mac), (12.0, 4, new_mac)]
    assert [t for t, _ in records] == [20.0]


def test_gateway_mac_from_the_neighbour_table_and_from_answers() -> None:
    """Requests go to the known MAC; an answer teaches it; a removed entry goes broadcast."""
    c = Confirmer()
    c.set_neighbour("eth0", GW, mac_bytes(ROGUE))
    c.start("eth0", VIP, MAC, (GW,), TIMING, 0.0)
    [probe], _ = c.poll(0.0)
    assert probe.gateway_mac == mac_bytes(ROGUE)
    c.handle_answer("eth0", reply(), 0.1)
    c.start("eth0", VIP, MAC, (GW,), TIMING, 5.0)
    [probe], _ = c.poll(5.0)
    assert probe.gateway_mac == mac_bytes(ROUTER)
    c.set_neighbour("eth0", GW, None)
    [probe], _ = c.poll(6.0)
    assert probe.gateway_mac is None


def test_late_answer_turns_unconfirmed_into_confirmed() -> None:
    """An answer after giving up is still the gateway taking it: confirmed, late."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), ConfirmTiming(1.0, 0), 0.0)
    run(c, 10.0)
    [record] = c.handle_answer("eth0", reply(), 30.0)
    assert (record.event, record.fields["late"], record.fields["after_ms"]) == (
        "confirmed", True, 30000)
    assert c.counters == {"probes": 1, "confirmed": 1, "unconfirmed": 1, "late": 1}


def test_only_gateways_of_the_address_family() -> None:
    """A static list with both families: an IPv4 address asks only the IPv4 gateways."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW, GW6, VIP), TIMING, 0.0)
    probes, _ = c.poll(0.0)
    assert [p.gateway for p in probes] == [GW]


def test_auto_follows_the_routes() -> None:
    """``auto``: a next hop added after start is asked at once; a gone one is dropped."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, AUTO, TIMING, 0.0)
    assert c.next_deadline() is None
    c.set_gateways("eth0", 4, {GW}, 2.0)
    probes, _ = run(c, 2.0)
    assert [(t, p.gateway) for t, p in probes] == [(2.0, GW)]
    [record] = c.handle_answer("eth0", reply(), 2.01)
    assert record.fields["after_ms"] == 10  # counted from when the gateway appeared
    c.set_gateways("eth0", 4, {GW, GW2}, 4.0)
    c.set_gateways("eth0", 6, {GW6}, 4.0)  # the other family changes nothing here
    probes, _ = run(c, 4.0)
    assert [p.gateway for _, p in probes] == [GW2]
    c.set_gateways("eth0", 4, {GW}, 4.5)
    assert run(c, 100.0) == ([], [])
    assert [(s.gateway, s.state) for s in c.status()] == [("192.0.2.1", "confirmed")]
    # a later schedule takes the current next hops
    c.start("eth0", VIP, MAC, AUTO, TIMING, 50.0)
    assert c.gateways("eth0", VIP) == [GW]
    c.cancel("eth0", VIP)
    c.set_gateways("eth0", 4, {GW2}, 60.0)
    assert c.next_deadline() is None


def test_bad_timing_is_refused() -> None:
    """Out-of-range settings are programming errors (the config validates first)."""
    with pytest.raises(ValueError, match="confirm_timeout"):
        ConfirmTiming(0.0, 3)
    with pytest.raises(ValueError, match="confirm_retries"):
        ConfirmTiming(1.0, -1)


def test_auto_gateway_gone_before_its_first_request() -> None:
    """A next hop that appears and goes again before any poll is never asked."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, AUTO, TIMING, 0.0)
    c.set_gateways("eth0", 4, {GW}, 1.0)
    assert c.next_deadline() == 1.0
    c.set_gateways("eth0", 4, set(), 1.0)
    assert c.next_deadline() is None
    assert c.poll(1.0) == ([], [])
    assert c.status() == []


def test_neighbour_cache_is_bounded_and_forgets() -> None:
    """Each gateway's own MAC; forgetting an unknown entry is a no-op; a new entry past
    NEIGHBOUR_LIMIT starts the cache over, an update of a known one at the limit does not."""
    c = Confirmer()
    c.set_neighbour("eth0", GW2, None)
    c.set_neighbour("eth0", GW, mac_bytes(ROUTER))
    c.set_neighbour("eth0", GW2, mac_bytes(ROGUE))
    c.start("eth0", VIP, MAC, (GW, GW2), TIMING, 0.0)
    probes, _ = c.poll(0.0)
    assert [(p.gateway, p.gateway_mac) for p in probes] == [
        (GW, mac_bytes(ROUTER)), (GW2, mac_bytes(ROGUE))]
    for n in range(NEIGHBOUR_LIMIT - 2):
        c.set_neighbour("eth1", ipaddress.ip_address(0x0A000000 + n), MAC)
    c.set_neighbour("eth0", GW2, mac_bytes(ROUTER))  # known key at the limit: no reset
    probes, _ = c.poll(1.0)
    assert [(p.gateway, p.gateway_mac) for p in probes] == [
        (GW, mac_bytes(ROUTER)), (GW2, mac_bytes(ROUTER))]
    c.set_neighbour("eth1", ipaddress.ip_address("198.51.100.1"), MAC)  # new: starts over
    probes, _ = c.poll(3.0)
    assert [(p.gateway, p.gateway_mac) for p in probes] == [(GW, None), (GW2, None)]


def test_status_of_a_pending_pair_and_unknown_addresses() -> None:
    """A pending pair shows its attempts and next try; unknown addresses have no gateways."""
    c = Confirmer()
    assert c.gateways("eth0", VIP) == []
    c.start("eth0", VIP, MAC, (GW,), TIMING, 10.0)
    c.poll(10.0)
    assert c.status() == [GatewayStatus("eth0", "192.0.2.100", "192.0.2.1", "pending", 1,
                                        None, None, 11.0)]
    assert c.gateways("eth0", VIP) == [GW]
    assert c.gateways("eth1", VIP) == []


def test_two_gateways_counted_exactly() -> None:
    """Two gateways, no retries: both give up, then both answer late; every counter and
    the ``confirmed`` record's fields exactly."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW, GW2), ConfirmTiming(1.0, 0), 0.0, group="VI_1")
    probes, records = c.poll(0.0)
    assert [p.gateway for p in probes] == [GW, GW2]
    probes, records = c.poll(1.0)
    assert (probes, [r.fields["gateway"] for r in records]) == ([], ["192.0.2.1", "192.0.2.2"])
    assert c.counters == {"probes": 2, "confirmed": 0, "unconfirmed": 2, "late": 0}
    [first] = c.handle_answer("eth0", reply(GW), 2.0)
    [second] = c.handle_answer("eth0", reply(GW2), 2.5)
    assert (first.event, first.fields) == ("confirmed", {
        "interface": "eth0", "address": "192.0.2.100", "gateway": "192.0.2.1",
        "gateway_mac": ROUTER, "after_ms": 2000, "attempts": 1, "late": True,
        "group": "VI_1"})
    assert second.fields["after_ms"] == 2500
    assert c.counters == {"probes": 2, "confirmed": 2, "unconfirmed": 2, "late": 2}


def test_poll_takes_what_is_due_within_epsilon() -> None:
    """A request due exactly EPSILON after ``now`` leaves in that poll."""
    c = Confirmer()
    c.start("eth0", VIP, MAC, (GW,), TIMING, 5.0 + EPSILON)
    assert [p.attempt for p in c.poll(5.0)[0]] == [1]


def test_auto_gateways_as_last_set() -> None:
    """auto_gateways: per interface and family, only that family's addresses."""
    c = Confirmer()
    assert c.auto_gateways("eth0", 4) == frozenset()
    c.set_gateways("eth0", 4, {GW, GW6}, 0.0)
    assert c.auto_gateways("eth0", 4) == frozenset({GW})
    assert c.auto_gateways("eth0", 6) == frozenset()
    assert c.auto_gateways("eth1", 4) == frozenset()
