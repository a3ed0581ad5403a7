"""Seeing the LAN in the pure core: conflicts, defences and confirmation, literal timelines."""

from __future__ import annotations

import ipaddress

from garpd.core import Output
from garpd.events import (
    AddressChanged,
    AddressRemoved,
    GatewaysChanged,
    LinkChanged,
    LowerPriority,
    NeighbourChanged,
    NeighbourFrames,
)
from garpd.frames import Address, mac_bytes, mac_text
from garpd.neighbour_wire import Claim, parse
from garpd.policy import StaticPolicy, Timing
from tests.sim import Sim
from tests.test_neighbour_wire import ANY, arp, na

OURS = "02:00:00:00:00:02"
VMAC = "00:00:5e:00:01:33"
ROGUE = "02:00:00:00:00:66"
ROUTER = "02:00:00:00:00:01"
VIP = ipaddress.ip_address("192.0.2.100")
OTHER = ipaddress.ip_address("192.0.2.200")
GW = ipaddress.ip_address("192.0.2.1")
GW2 = ipaddress.ip_address("192.0.2.2")
VIP6 = ipaddress.ip_address("2001:db8::100")
GW6 = ipaddress.ip_address("2001:db8::1")


def claim(frame: bytes) -> Claim:
    """The claim a frame parses to."""
    result = parse(frame)
    assert isinstance(result, Claim), result
    return result


def rogue_garp(address: Address = VIP, mac: str = ROGUE) -> NeighbourFrames:
    """A gratuitous ARP for ``address`` from ``mac``, as the listener hands it over."""
    return NeighbourFrames("eth0", (claim(arp(1, mac, str(address), str(address))),))


def router_reply(address: Address = VIP, gateway: Address = GW, mac: str = ROUTER,
                 to: str = OURS) -> NeighbourFrames:
    """The gateway's ARP reply to ``address`` at ``to``."""
    return NeighbourFrames("eth0", (claim(arp(2, mac, str(gateway), str(address), tha=to,
                                              eth_dst=to)),))


def lan_sim(**timing: object) -> Sim:
    """One group, master_repeat 1 and no second burst unless said; every address watched."""
    values: dict[str, object] = {"master_repeat": 1, "master_delay": 0.0}
    values.update(timing)
    return Sim(StaticPolicy(Timing(**values), group="VI_1"))  # type: ignore[arg-type]


def start(s: Sim, t: float, *addresses: Address) -> None:
    """eth0 (MAC OURS) and a VMAC interface appear, then ``addresses`` on eth0."""
    s.at(t, LinkChanged("eth0", 2, mac_bytes(OURS), True, True),
         LinkChanged("vmac", 3, mac_bytes(VMAC), True, True),
         *(AddressChanged("eth0", a) for a in addresses))


def sent(s: Sim) -> list[tuple[float, str, str]]:
    """(time, kind, address) of every frame on eth0 (directed requests included)."""
    return [(x.t, x.kind, x.address) for x in s.sent if x.ifname == "eth0"]


def test_conflict_defends_once_per_interval_through_the_pacer() -> None:
    """A rogue GARP: a conflict record and a one-packet defend burst; the next conflicts
    inside defend_interval are counted; after it, one more defence with the count."""
    s = lan_sim(defend_interval=10.0)
    start(s, 0.0, VIP)
    s.at(1.0, rogue_garp())
    s.at(2.0, rogue_garp(), rogue_garp())
    s.at(11.0, rogue_garp())
    assert sent(s) == [(0.0, "request", "192.0.2.100"), (1.0, "request", "192.0.2.100"),
                       (11.0, "request", "192.0.2.100")]
    conflicts = s.events("conflict")
    assert [(t, f["defended"], f["suppressed"]) for t, f in conflicts] == [
        (1.0, True, 0), (11.0, True, 2)]
    assert conflicts[0][1] == {
        "interface": "eth0", "address": "192.0.2.100", "mac": OURS, "other_mac": ROGUE,
        "frame": "arp_request", "policy": "defend", "defended": True, "suppressed": 0,
        "group": "VI_1"}
    assert [(t, f["reason"], f["packets"]) for t, f in s.events("announce")] == [
        (0.0, "master", 1), (1.0, "defend", 1), (11.0, "defend", 1)]
    assert s.core.conflicts.counters["eth0"] == {"conflicts": 4, "defences": 2}
    assert [r.fields["other_mac"] for r in s.core.recent_conflicts()] == [ROGUE, ROGUE]


def test_defend_is_two_packets_in_both_mode_and_spaced_by_interval() -> None:
    """mode both: the defence is a request and a reply, interval apart like any burst."""
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0, mode="both"),
                         group="VI_1", interval=0.5))
    start(s, 0.0, VIP)
    s.at(3.0, rogue_garp())
    s.advance(10.0)
    assert sent(s) == [(0.0, "request", "192.0.2.100"), (0.5, "reply", "192.0.2.100"),
                       (3.0, "request", "192.0.2.100"), (3.5, "reply", "192.0.2.100")]
    assert [(f["reason"], f["packets"]) for _, f in s.events("announce")] == [
        ("master", 2), ("defend", 2)]


def test_log_records_without_defending_and_off_ignores() -> None:
    """conflict = log: a record per interval, never a frame; off: nothing at all."""
    s = lan_sim(conflict="log", defend_interval=5.0)
    start(s, 0.0, VIP)
    for t in (1.0, 2.0, 7.0):
        s.at(t, rogue_garp())
    assert sent(s) == [(0.0, "request", "192.0.2.100")]
    assert [(t, f["policy"], f["defended"], f["suppressed"])
            for t, f in s.events("conflict")] == [(1.0, "log", False, 0), (7.0, "log", False, 1)]
    off = lan_sim(conflict="off")
    start(off, 0.0, VIP)
    off.at(1.0, rogue_garp())
    assert off.events("conflict") == []
    assert off.core.neighbour_watch("eth0") is None


def test_own_macs_probes_and_unheld_addresses_are_not_conflicts() -> None:
    """Frames from this host's MACs (a VMAC included), ARP probes and claims for an
    address not held produce nothing; a release ends the address's conflicts."""
    s = lan_sim()
    start(s, 0.0, VIP)
    s.at(1.0, rogue_garp(mac=OURS), rogue_garp(mac=VMAC), rogue_garp(OTHER),
         NeighbourFrames("eth0", (claim(arp(1, ROGUE, ANY, str(VIP))),)))
    s.at(2.0, AddressRemoved("eth0", VIP))
    s.at(3.0, rogue_garp())
    assert s.events("conflict") == []
    assert sent(s) == [(0.0, "request", "192.0.2.100")]


def test_ipv6_na_conflict_defends_with_one_na() -> None:
    """An NA for a held IPv6 address from another MAC: frame "na", one NA back."""
    s = lan_sim()
    start(s, 0.0, VIP6)
    s.at(1.0, NeighbourFrames("eth0", (claim(na("2001:db8::66", "ff02::1", str(VIP6))),)))
    assert [(f["frame"], f["other_mac"]) for _, f in s.events("conflict")] == [("na", ROGUE)]
    assert sent(s) == [(0.0, "na", "2001:db8::100"), (1.0, "na", "2001:db8::100")]


def wire(s: Sim) -> list[tuple[float, str]]:
    """Every frame the core hands out from now on, named: ``garp``, ``na``, or a directed
    request ``ask GATEWAY via DEST-MAC``; the list fills as the simulation runs."""
    seen: list[tuple[float, str]] = []
    inner = s.on_output

    def watch(t: float, out: Output) -> None:
        if inner is not None:
            inner(t, out)
        for batch in out.frames.values():
            for frame in batch.frames:
                c = claim(frame)
                if c.kind in ("arp_request", "ns"):
                    seen.append((round(t, 6), f"ask {c.target} via {mac_text(c.eth_dst)}"))
                else:
                    seen.append((round(t, 6), c.kind))

    s.on_output = watch
    return seen


def test_confirmation_follows_the_first_burst_and_records_after_ms() -> None:
    """Gateways: the directed request leaves right after the first burst (not after the
    delayed one), unicast to the gateway's known MAC; its reply confirms with after_ms."""
    s = lan_sim(master_repeat=2, master_delay=2.0, gateways=(GW,))
    frames = wire(s)
    s.at(0.0, NeighbourChanged("eth0", GW, mac_bytes(ROUTER)))
    start(s, 0.0, VIP)
    s.at(0.004, router_reply())
    s.advance(30.0)
    assert frames == [(0.0, "garp"), (0.0, "garp"), (0.0, f"ask {GW} via {ROUTER}"),
                      (2.0, "garp"), (2.0, "garp")]
    assert [(t, f) for t, f in s.events("confirmed")] == [(0.004, {
        "interface": "eth0", "address": "192.0.2.100", "gateway": "192.0.2.1",
        "gateway_mac": ROUTER, "after_ms": 4, "attempts": 1, "group": "VI_1"})]
    [st] = s.core.confirm_status()
    assert (st.state, st.after_ms, st.gateway_mac) == ("confirmed", 4, ROUTER)


def test_silent_gateway_retries_at_doubled_timeouts_then_unconfirmed() -> None:
    """No answer: requests at +0, +1, +3, +7 (broadcast while the MAC is unknown), then
    one unconfirmed at +15; nothing after."""
    s = lan_sim(gateways=(GW,))
    frames = wire(s)
    start(s, 100.0, VIP)
    s.at(101.5, NeighbourChanged("eth0", GW, mac_bytes(ROUTER)))
    s.advance(200.0)
    assert frames == [(100.0, "garp"), (100.0, f"ask {GW} via ff:ff:ff:ff:ff:ff"),
                      (101.0, f"ask {GW} via ff:ff:ff:ff:ff:ff"),
                      (103.0, f"ask {GW} via {ROUTER}"), (107.0, f"ask {GW} via {ROUTER}")]
    assert s.events("unconfirmed") == [(115.0, {
        "interface": "eth0", "address": "192.0.2.100", "gateway": "192.0.2.1",
        "attempts": 4, "waited_ms": 15000, "group": "VI_1"})]
    assert s.core.next_deadline() is None


def test_release_cancels_pending_confirmation() -> None:
    """A release mid-way: no more requests, no unconfirmed, no status row."""
    s = lan_sim(gateways=(GW, GW2), confirm_timeout=2.0)
    frames = wire(s)
    start(s, 0.0, VIP)
    s.at(3.0, AddressRemoved("eth0", VIP))
    s.advance(100.0)
    assert frames == [(0.0, "garp"), (0.0, f"ask {GW} via ff:ff:ff:ff:ff:ff"),
                      (0.0, f"ask {GW2} via ff:ff:ff:ff:ff:ff"),
                      (2.0, f"ask {GW} via ff:ff:ff:ff:ff:ff"),
                      (2.0, f"ask {GW2} via ff:ff:ff:ff:ff:ff")]
    assert s.events("unconfirmed") == []
    assert s.core.confirm_status() == []


def test_every_schedule_and_mac_change_restart_confirmation() -> None:
    """lower_prio and mac_change are schedules: after their first burst a new request;
    after_ms counts from that schedule's start."""
    s = lan_sim(gateways=(GW,), lower_prio_repeat=1, lower_prio_delay=0.0)
    frames = wire(s)
    start(s, 0.0, VIP)
    s.at(0.001, router_reply())
    s.at(20.0, LowerPriority("VI_1"))
    s.at(20.002, router_reply())
    s.at(30.0, LinkChanged("eth0", 2, mac_bytes(ROGUE), True, True))
    s.at(30.003, router_reply(to=ROGUE))
    assert [t for t, name in frames if name.startswith("ask")] == [0.0, 20.0, 30.0]
    assert [(t, f["after_ms"]) for t, f in s.events("confirmed")] == [
        (0.001, 1), (20.002, 2), (30.003, 3)]


def test_ipv6_confirmation_by_solicited_na() -> None:
    """IPv6: an NS to the gateway's solicited-node group, confirmed by its solicited NA."""
    s = lan_sim(gateways=(GW, GW6))
    frames = wire(s)
    start(s, 0.0, VIP6)
    answer = na(str(GW6), str(VIP6), str(GW6), eth_src=ROUTER, lladdr=ROUTER, flags="RS")
    s.at(0.01, NeighbourFrames("eth0", (claim(answer),)))
    assert frames == [(0.0, "na"), (0.0, f"ask {GW6} via 33:33:ff:00:00:01")]
    assert [(f["gateway"], f["gateway_mac"], f["after_ms"])
            for _, f in s.events("confirmed")] == [(str(GW6), ROUTER, 10)]


def test_auto_gateways_follow_route_events() -> None:
    """["auto"]: no gateway, no request; a default route appearing later starts one;
    the listener's filter gains the gateway."""
    s = lan_sim(gateways="auto")
    frames = wire(s)
    start(s, 0.0, VIP)
    assert s.core.neighbour_watch("eth0") == ([VIP], [])
    s.core.take_listen_changes()
    s.at(5.0, GatewaysChanged("eth0", 4, frozenset({GW})))
    assert s.core.take_listen_changes() == {"eth0"}
    assert s.core.neighbour_watch("eth0") == ([VIP, GW], [])
    s.at(5.002, router_reply())
    assert frames == [(0.0, "garp"), (5.0, f"ask {GW} via ff:ff:ff:ff:ff:ff")]
    assert [f["after_ms"] for _, f in s.events("confirmed")] == [2]


def test_one_shots_neither_confirm_nor_listen() -> None:
    """run --oneshot / announce / the notify fallback: the bursts only; no directed
    request, nothing to wait for afterwards, no listener wanted."""
    from garpd.commands.oneshot import OneshotPolicy  # noqa: PLC0415
    from garpd.events import Trigger  # noqa: PLC0415

    inner = StaticPolicy(Timing(master_repeat=1, master_delay=0.0, gateways=(GW,)),
                         group="VI_1")
    s = Sim(OneshotPolicy(inner))
    frames = wire(s)
    start(s, 0.0)
    s.at(0.0, AddressChanged("eth0", VIP, initial=True))
    s.at(1.0, Trigger("oneshot"))
    assert frames == [(1.0, "garp")]
    assert s.core.next_deadline() is None
    assert s.core.neighbour_watch("eth0") is None
