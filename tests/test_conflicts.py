"""The pure conflict decision, driven with literal times and real parsed frames."""

from __future__ import annotations

import ipaddress

import pytest

from garpd.conflicts import (
    EPSILON,
    MAX_MACS,
    RECENT,
    ConflictGuard,
    ConflictPolicy,
    ConflictStatus,
    Decision,
)
from garpd.frames import Address, FrameCache, Mode, mac_bytes
from garpd.neighbour_wire import Claim, parse
from tests.test_neighbour_wire import ANY, arp, na, ns

OURS = "02:00:00:00:00:02"
VMAC = "00:00:5e:00:01:33"
ROGUE = "02:00:00:00:00:66"
ROGUE2 = "02:00:00:00:00:67"
VIP = ipaddress.ip_address("192.0.2.100")
VIP6 = ipaddress.ip_address("2001:db8::100")
OTHER = ipaddress.ip_address("192.0.2.200")


def claim(frame: bytes) -> Claim:
    """The claim a frame parses to (the test fails if it does not parse)."""
    result = parse(frame)
    assert isinstance(result, Claim), result
    return result


def garp_from(mac: str, address: Address = VIP) -> Claim:
    """A gratuitous ARP request for ``address`` from ``mac``."""
    return claim(arp(1, mac, str(address), str(address)))


def guard(policy: ConflictPolicy = "defend", interval: float = 10.0,
          *addresses: Address) -> ConflictGuard:
    """A guard on eth0 (MAC OURS, plus a VMAC on this host) holding ``addresses``."""
    g = ConflictGuard()
    g.set_own_macs({mac_bytes(OURS), mac_bytes(VMAC)})
    g.link("eth0", mac_bytes(OURS))
    for address in addresses or (VIP, VIP6):
        g.hold("eth0", address, policy, interval, group="VI_1")
    return g


def outcomes(g: ConflictGuard, timeline: list[tuple[float, Claim]]) -> list[tuple[float, str]]:
    """(time, outcome) for each frame of the timeline."""
    return [(t, g.decide("eth0", c, t).outcome) for t, c in timeline]


def test_rogue_garp_is_a_conflict_defended_once_per_interval() -> None:
    """A rogue's GARPs: defended at 0 and at 10, counted in between; exact record fields."""
    g = guard()
    first = g.decide("eth0", garp_from(ROGUE), 100.0)
    assert first.defend
    assert first.key == ("eth0", VIP)
    assert first.record is not None
    assert (first.record.event, first.record.fields) == ("conflict", {
        "interface": "eth0", "address": "192.0.2.100", "mac": OURS, "other_mac": ROGUE,
        "frame": "arp_request", "policy": "defend", "defended": True, "suppressed": 0,
        "group": "VI_1",
    })
    rest = [(t, garp_from(ROGUE2 if t == 105.0 else ROGUE)) for t in (101.0, 105.0, 109.9)]
    assert outcomes(g, rest) == [(101.0, "count"), (105.0, "count"), (109.9, "count")]
    again = g.decide("eth0", garp_from(ROGUE), 110.0)
    assert again.defend
    assert again.record is not None
    assert again.record.fields["suppressed"] == 3
    assert again.record.fields["other_macs"] == [ROGUE, ROGUE2]
    assert g.counters == {"eth0": {"conflicts": 5, "defences": 2}}
    assert len(g.recent()) == 2


def test_every_claiming_frame_kind_counts() -> None:
    """ARP request and reply from the address, and an NA for it, are conflicts by name."""
    g = guard("log", 0.0)
    frames = [
        arp(1, ROGUE, str(VIP), "192.0.2.1"),
        arp(2, ROGUE, str(VIP), "192.0.2.1", tha="02:00:00:00:00:01"),
        arp(2, ROGUE, str(VIP), str(VIP), tha=ROGUE),
        na(str(VIP6), "ff02::1", str(VIP6)),
    ]
    decisions = [g.decide("eth0", claim(f), 1.0) for f in frames]
    assert [(d.outcome, d.reason) for d in decisions] == [
        ("record", "arp_request"), ("record", "arp_reply"), ("record", "arp_reply"),
        ("record", "na")]


@pytest.mark.parametrize(("frame", "reason"), [
    (arp(1, OURS, str(VIP), str(VIP)), "ours"),
    (arp(1, VMAC, str(VIP), str(VIP)), "ours"),                # a VMAC of this host
    (arp(1, ROGUE, str(VIP), str(VIP), eth_src=OURS), "ours"),  # sent by this host
    (arp(1, ROGUE, ANY, str(VIP)), "not_claim"),               # RFC 5227 probe
    (ns("fe80::66", str(VIP6), str(VIP6), eth_src=ROGUE, lladdr=ROGUE), "not_claim"),
    (arp(1, ROGUE, str(OTHER), str(OTHER)), "not_held"),
    (arp(1, ROGUE, "192.0.2.1", str(VIP)), "not_held"),       # asks for VIP, claims .1
])
def test_ignored_frames(frame: bytes, reason: str) -> None:
    """Own frames, probes, solicitations and other addresses are never conflicts."""
    g = guard()
    assert g.decide("eth0", claim(frame), 1.0) == Decision("ignore", reason)
    assert g.counters == {}
    assert g.recent() == []


def test_log_records_once_per_interval_and_never_defends() -> None:
    """``log``: a record at 0 and 10, counted in between, no defence ever."""
    g = guard("log", 10.0)
    timeline = [(t, garp_from(ROGUE)) for t in (0.0, 3.0, 9.0, 10.0, 10.5)]
    assert outcomes(g, timeline) == [
        (0.0, "record"), (3.0, "count"), (9.0, "count"), (10.0, "record"), (10.5, "count")]
    assert g.counters["eth0"] == {"conflicts": 5, "defences": 0}
    assert [r.fields["defended"] for r in g.recent()] == [False, False]


def test_off_ignores_and_does_not_listen() -> None:
    """``off``: conflicts are ignored and the interface needs no listener for it."""
    g = guard("off")
    assert g.decide("eth0", garp_from(ROGUE), 1.0) == Decision("ignore", "off")
    assert g.listening() == set()
    assert g.watched("eth0") == []
    g.hold("eth0", OTHER, "log", 10.0)
    assert g.listening() == {"eth0"}
    assert g.watched("eth0") == [OTHER]


def test_other_interface_is_not_held() -> None:
    """The same address claimed on another interface is not a conflict here."""
    g = guard()
    assert g.decide("eth1", garp_from(ROGUE), 1.0) == Decision("ignore", "not_held")


def test_release_forgets_the_defence_timer() -> None:
    """Released: not held; held again: the first conflict is defended at once."""
    g = guard()
    assert g.decide("eth0", garp_from(ROGUE), 0.0).defend
    g.release("eth0", VIP)
    assert g.decide("eth0", garp_from(ROGUE), 1.0) == Decision("ignore", "not_held")
    assert g.policy("eth0", VIP) is None
    g.hold("eth0", VIP, "defend", 10.0)
    assert g.decide("eth0", garp_from(ROGUE), 2.0).defend


def test_reload_keeps_the_timer_and_applies_the_new_policy() -> None:
    """A policy change of a held address keeps its defence timer."""
    g = guard()
    assert g.decide("eth0", garp_from(ROGUE), 0.0).defend
    g.hold("eth0", VIP, "defend", 5.0)
    assert g.decide("eth0", garp_from(ROGUE), 4.0).outcome == "count"
    assert g.decide("eth0", garp_from(ROGUE), 5.0).defend
    g.hold("eth0", VIP, "log", 5.0)
    assert g.decide("eth0", garp_from(ROGUE), 20.0).outcome == "record"
    assert [s.defences for s in g.status() if s.address == str(VIP)] == [2]


def test_interface_gone_forgets_everything() -> None:
    """forget_link drops the interface's addresses."""
    g = guard()
    g.forget_link("eth0")
    assert g.decide("eth0", garp_from(ROGUE), 0.0).outcome == "ignore"
    assert g.status() == []


def test_bad_policy_is_refused() -> None:
    """Programming errors in the inputs raise at once."""
    g = ConflictGuard()
    with pytest.raises(ValueError, match="policy"):
        g.hold("eth0", VIP, "fight", 10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="defend_interval"):
        g.hold("eth0", VIP, "log", -1.0)


def test_flood_is_bounded() -> None:
    """10,000 conflicting frames from 10,000 MACs in one second: one defence, bounded state."""
    g = guard()
    cache = FrameCache()
    decisions = []
    for n in range(10_000):
        mac = bytes.fromhex("06") + n.to_bytes(5, "big")  # never one of ours
        frame = cache.slot(mac, VIP, "request", False)[0]
        decisions.append(g.decide("eth0", claim(frame), n / 10_000))
    assert sum(d.defend for d in decisions) == 1
    assert sum(d.record is not None for d in decisions) == 1
    assert g.counters["eth0"] == {"conflicts": 10_000, "defences": 1}
    nxt = g.decide("eth0", garp_from(ROGUE), 10.0)
    assert nxt.record is not None
    assert nxt.record.fields["suppressed"] == 9_999
    assert len(nxt.record.fields["other_macs"]) == MAX_MACS  # type: ignore[arg-type]
    for n in range(100):
        g.decide("eth0", garp_from(ROGUE), 20.0 + 10 * n)
    assert len(g.recent()) == RECENT


def _wire(frames: tuple[bytes, ...]) -> list[Claim]:
    return [claim(f) for f in frames]


@pytest.mark.parametrize("mode", ["request", "both"])
def test_two_garpd_hosts_do_not_fight(mode: Mode) -> None:
    """Split brain: A's takeover burst makes B defend once, A counter once, then silence.

    Each host's defence frames are fed to the other, as on the wire; the exchange must end
    by itself, with at most one defence per host per interval.
    """
    mac_a, mac_b = mac_bytes("02:00:00:00:00:0a"), mac_bytes("02:00:00:00:00:0b")
    hosts = {}
    for name, mac in (("a", mac_a), ("b", mac_b)):
        g = ConflictGuard()
        g.set_own_macs({mac})
        g.link("eth0", mac)
        g.hold("eth0", VIP, "defend", 10.0)
        hosts[name] = (g, mac)
    cache = FrameCache()
    # (time, receiving host, frames on the wire); A's master burst (5) at 0 and 5 s later.
    queue = [(0.0, "b", _wire(cache.slot(mac_a, VIP, mode, False) * 5)),
             (5.0, "b", _wire(cache.slot(mac_a, VIP, mode, False) * 5))]
    defences: list[tuple[float, str]] = []
    steps = 0
    while queue:
        steps += 1
        assert steps < 100, "the hosts keep answering each other"
        t, host, claims = queue.pop(0)
        g, mac = hosts[host]
        for c in claims:
            decision = g.decide("eth0", c, t)
            if decision.defend:
                defences.append((t, host))
                other = "a" if host == "b" else "b"
                queue.append((t, other, _wire(cache.slot(mac, VIP, mode, False))))
        queue.sort(key=lambda item: item[0])
    assert defences == [(0.0, "b"), (0.0, "a")]
    assert hosts["a"][0].counters["eth0"] == {"conflicts": len(cache.slot(mac_b, VIP, mode,
                                                                          False)),
                                              "defences": 1}


def test_status_and_queries_exactly() -> None:
    """status(), policy() and watched() field by field, for a held address with conflicts
    and one without, and for an interface and an address that are not held."""
    g = guard()
    assert g.decide("eth0", garp_from(ROGUE), 100.0).defend
    assert g.decide("eth0", garp_from(ROGUE2), 101.5).outcome == "count"
    assert g.status() == [
        ConflictStatus("eth0", "192.0.2.100", "defend", 2, 1, 101.5, ROGUE2, 100.0),
        ConflictStatus("eth0", "2001:db8::100", "defend", 0, 0, None, None, None),
    ]
    assert g.policy("eth0", VIP) == "defend"
    assert g.policy("eth0", OTHER) is None
    assert g.policy("eth1", VIP) is None
    assert g.watched("eth0") == [VIP, VIP6]
    assert g.watched("eth1") == []


def test_release_keeps_the_interfaces_other_addresses() -> None:
    """Releasing one address leaves the others of the interface held; releasing an
    address or an interface that is not held is a no-op."""
    g = guard()
    g.release("eth0", OTHER)
    g.release("eth1", VIP)
    g.release("eth0", VIP)
    assert g.policy("eth0", VIP) is None
    assert g.policy("eth0", VIP6) == "defend"
    assert g.listening() == {"eth0"}
    g.release("eth0", VIP6)
    assert g.listening() == set()
    assert g.status() == []


def test_forget_link_forgets_the_mac() -> None:
    """After forget_link, a record for an address held again without link() names no MAC;
    forgetting an unknown interface is a no-op."""
    g = guard()
    g.forget_link("eth9")
    g.forget_link("eth0")
    g.hold("eth0", VIP, "log", 10.0)
    decision = g.decide("eth0", garp_from(ROGUE), 1.0)
    assert decision.record is not None
    assert decision.record.fields["mac"] is None
    assert decision.record.fields["other_mac"] == ROGUE
    assert "group" not in decision.record.fields


def test_interval_edge_and_count_decision_exactly() -> None:
    """A conflict exactly ``interval - EPSILON`` after the last defence (or record) is
    defended (recorded) again; one in between is counted, with its frame and key."""
    edge = 10.0 - EPSILON
    g = guard("defend", 10.0)
    assert g.decide("eth0", garp_from(ROGUE), 0.0).defend
    assert g.decide("eth0", garp_from(ROGUE), 5.0) == Decision("count", "arp_request",
                                                               ("eth0", VIP))
    assert g.decide("eth0", garp_from(ROGUE), edge).defend
    g = guard("log", 10.0)
    assert g.decide("eth0", garp_from(ROGUE), 0.0).outcome == "record"
    assert g.decide("eth0", garp_from(ROGUE), edge).outcome == "record"


def test_a_guard_without_own_macs_still_decides() -> None:
    """Before set_own_macs no MAC is this host's: a claim for a held address conflicts."""
    g = ConflictGuard()
    g.hold("eth0", VIP, "log", 10.0, group="VI_1")
    decision = g.decide("eth0", garp_from(OURS), 1.0)
    assert (decision.outcome, decision.reason, decision.key) == ("record", "arp_request",
                                                                 ("eth0", VIP))
