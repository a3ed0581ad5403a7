"""The express first frame (:meth:`Announcer.express`): when the core names it, what it
refuses, and that a driver sending it ahead changes nothing else on the wire or in the
records. Literal times throughout; the twin test drives two simulations, one expressing,
through the same random histories and requires the same frames at the same times."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garpd.core import Announcer, Batch
from garpd.events import (
    AddressChanged,
    AddressRemoved,
    Event,
    LinkChanged,
    LinkRemoved,
    Trigger,
)
from garpd.frames import Address, FrameCache, describe, mac_bytes
from garpd.pacing import EPSILON
from garpd.policy import GroupPolicy, StaticPolicy, Timing, Watch, WatchV4ByAddress
from tests.sim import Sim
from tests.test_core_exact import ByAddress, up

MAC = mac_bytes("02:00:00:00:00:0a")
A1, A2 = ipaddress.ip_address("192.0.2.101"), ipaddress.ip_address("192.0.2.102")
V6 = ipaddress.ip_address("2001:db8::100")
GW = ipaddress.ip_address("192.0.2.1")


def core(interval: float = 0.0, **timing: object) -> Announcer:
    """A core watching every address with ``timing``, eth0 up with carrier."""
    c = Announcer(StaticPolicy(Timing(**timing),  # type: ignore[arg-type]
                               interval=interval, na_interval=interval))
    c.handle(up(mac=MAC), 0.0)
    c.poll(0.0)
    return c


def twins(interval: float = 0.0, **timing: object) -> tuple[Sim, Sim]:
    """Two simulations of the same policy, the second expressing."""
    policy = StaticPolicy(Timing(**timing),  # type: ignore[arg-type]
                          interval=interval, na_interval=interval)
    return Sim(policy), Sim(policy, express=True)


def frames_of(out_frames: dict[str, Batch]) -> list[tuple[str, str]]:
    """(interface, address) of every frame of a poll's output."""
    return [(ifname, describe(f)[1]) for ifname, batch in out_frames.items() for f in batch]


# --- what it names ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["request", "reply", "both"])
def test_express_names_the_first_frame_poll_would_send(mode: str) -> None:
    """A fresh watched IPv4 address: the interface's index and the burst's first frame
    (the request in "both" mode), exactly the bytes the core's own poll sends first."""
    plain, fast = core(master_repeat=2, mode=mode), core(master_repeat=2, mode=mode)
    event = AddressChanged("eth0", A1)
    express = fast.express(event, 1.0)
    plain.handle(event, 1.0)
    first = plain.poll(1.0).frames["eth0"]
    assert express == (2, first.frames[0])
    assert describe(first.frames[0]) == (
        "reply" if mode == "reply" else "request", str(A1), "02:00:00:00:00:0a")


def test_express_names_the_na_of_a_settled_ipv6_address() -> None:
    """IPv6 once DAD is done (or off): the unsolicited NA."""
    c = core()
    express = c.express(AddressChanged("eth0", V6), 1.0)
    assert express is not None
    assert express[0] == 2
    assert describe(express[1]) == ("na", str(V6), "02:00:00:00:00:0a")


def test_express_names_the_na_with_the_router_flag_of_a_forwarding_link() -> None:
    """The R flag follows the link's forwarding, as in the frames the core sends."""
    c = core()
    c.handle(LinkChanged("eth0", 2, MAC, True, True, forwarding=True), 0.0)
    express = c.express(AddressChanged("eth0", V6), 1.0)
    assert express is not None
    assert express[1] == FrameCache().slot(MAC, V6, "request", True)[0]
    assert express[1] != FrameCache().slot(MAC, V6, "request", False)[0]


class OnlyOn(WatchV4ByAddress):
    """A policy watching one address on one interface."""

    def __init__(self, ifname: str, address: Address) -> None:
        self.key = (ifname, address)

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """Only the one (interface, address)."""
        return Watch("one", Timing()) if (ifname, address) == self.key else None

    def pacing(self, ifname: str) -> tuple[float, float]:
        """Unpaced."""
        return (0.0, 0.0)


def test_express_asks_the_policy_about_this_interface_and_address() -> None:
    """The same address on another usable interface, or another address: not watched."""
    c = Announcer(OnlyOn("eth0", A1))
    c.handle(up(mac=MAC), 0.0)
    c.handle(up("eth1", 3, MAC), 0.0)
    assert c.express(AddressChanged("eth0", A1), 1.0) is not None
    assert c.express(AddressChanged("eth1", A1), 1.0) is None
    assert c.express(AddressChanged("eth0", A2), 1.0) is None


def test_express_changes_nothing_in_the_core() -> None:
    """Asking is free: without handle, nothing is held, queued or due."""
    c = core()
    assert c.express(AddressChanged("eth0", A1), 1.0) is not None
    assert c.held() == []
    assert c.addresses_known() == []
    assert c.next_deadline() is None
    assert c.poll(1.0).frames == {}


def test_express_for_an_address_that_was_tentative() -> None:
    """Known but not held (DAD running): its settling is a takeover, expressed."""
    c = core()
    c.handle(AddressChanged("eth0", V6, tentative=True), 1.0)
    assert c.poll(1.0).frames == {}
    assert c.express(AddressChanged("eth0", V6), 2.0) is not None


# --- what it refuses -------------------------------------------------------------------


def test_express_refuses_what_is_not_a_takeover_now() -> None:
    """None whenever handling the event would not send that frame at once."""
    c = core()
    c.handle(LinkChanged("eth1", 3, MAC, True, False), 0.0)  # no carrier: not usable
    for event in (AddressChanged("eth0", A1, initial=True),  # the start-up dump
                  AddressChanged("eth0", V6, tentative=True),
                  AddressChanged("eth0", V6, dadfailed=True),
                  AddressChanged("eth9", A1),  # unknown interface
                  AddressChanged("eth1", A1)):  # no carrier
        assert c.express(event, 1.0) is None, event
    # An IPv4 address's flags mean nothing: expressed.
    assert c.express(AddressChanged("eth0", A1, tentative=True), 1.0) is not None
    c.handle(AddressChanged("eth0", A1), 1.0)
    c.poll(1.0)
    assert c.express(AddressChanged("eth0", A1), 2.0) is None  # held already


V6B = ipaddress.ip_address("2001:db8::101")
# Two addresses of each family, and one of the other (its own pacer).
FAMILIES = pytest.mark.parametrize(("first", "second", "other"), [(A1, A2, V6), (V6, V6B, A1)],
                                   ids=["ipv4", "ipv6"])


@FAMILIES
def test_express_refuses_unwatched_silent_and_confirming_groups(
        first: Address, second: Address, other: Address) -> None:
    """Not watched, no packets on takeover, or gateways to confirm (the neighbour
    listener must be open before the first frame leaves); one packet is enough."""
    watches = {first: Watch("quiet", Timing(master_repeat=0)),
               second: Watch("gw", Timing(gateways=(GW,))),
               other: Watch("one", Timing(master_repeat=1))}
    c = Announcer(ByAddress(watches))
    c.handle(up(mac=MAC), 0.0)
    for address in (first, second, ipaddress.ip_address("192.0.2.103"),
                    ipaddress.ip_address("2001:db8::103")):
        assert c.express(AddressChanged("eth0", address), 1.0) is None, address
    assert c.express(AddressChanged("eth0", other), 1.0) is not None


@FAMILIES
def test_express_asks_the_policy_about_this_interface(
        first: Address, second: Address, other: Address) -> None:
    """The same address on another usable interface: not watched there."""
    c = Announcer(OnlyOn("eth0", first))
    c.handle(up(mac=MAC), 0.0)
    c.handle(up("eth1", 3, MAC), 0.0)
    assert c.express(AddressChanged("eth0", first), 1.0) is not None
    assert c.express(AddressChanged("eth1", first), 1.0) is None


@FAMILIES
def test_express_refuses_while_the_pacer_is_busy_or_spacing(
        first: Address, second: Address, other: Address) -> None:
    """Paced: another address still queued, or the last frame left less than an interval
    ago: the first frame would wait, so it is not named; the other family's pacer is its
    own."""
    c = core(interval=1.0, master_repeat=2, master_delay=0.0)
    c.handle(AddressChanged("eth0", first), 0.0)
    assert frames_of(c.poll(0.0).frames) == [("eth0", str(first))]
    assert c.express(AddressChanged("eth0", second), 0.5) is None  # first queued
    assert c.express(AddressChanged("eth0", second), 1.0) is None  # its slot, not polled yet
    assert c.express(AddressChanged("eth0", other), 0.5) is not None  # its own pacer
    assert frames_of(c.poll(1.0).frames) == [("eth0", str(first))]
    assert c.express(AddressChanged("eth0", second), 1.5) is None  # spacing: next at 2.0
    assert c.express(AddressChanged("eth0", other), 1.5) is not None
    assert c.express(AddressChanged("eth0", second), 2.0) is not None


@FAMILIES
def test_express_at_the_edges_of_due(first: Address, second: Address, other: Address) -> None:
    """``poll`` takes what is due within EPSILON of ``now``: a timer or a refresh due
    exactly EPSILON later already refuses; a pacer's slot exactly EPSILON later is free."""
    now = 1.0 - EPSILON
    assert now + EPSILON == 1.0  # the edge is exact in binary floating point
    c = core(master_repeat=1, master_delay=1.0, master_refresh=0.0)
    c.handle(AddressChanged("eth0", first), 0.0)
    c.poll(0.0)
    assert c.express(AddressChanged("eth0", second), now) is None  # the delay timer at 1.0
    assert c.express(AddressChanged("eth0", second), now - 2 * EPSILON) is not None
    c = core(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    c.handle(AddressChanged("eth0", first), 0.0)
    c.poll(0.0)
    assert c.express(AddressChanged("eth0", second), now) is None  # the refresh at 1.0
    assert c.express(AddressChanged("eth0", second), now - 2 * EPSILON) is not None
    c = core(interval=1.0, master_repeat=1, master_delay=0.0)
    c.handle(AddressChanged("eth0", first), 0.0)
    c.poll(0.0)
    assert c.express(AddressChanged("eth0", second), now) is not None  # the slot at 1.0
    assert c.express(AddressChanged("eth0", second), now - EPSILON) is None


@FAMILIES
def test_express_refuses_while_a_timer_or_a_refresh_is_due(
        first: Address, second: Address, other: Address) -> None:
    """Something else due at ``now`` (a delayed burst, a refresh round, of either family)
    goes first."""
    c = core(master_repeat=1, master_delay=1.0, master_refresh=10.0)
    c.handle(AddressChanged("eth0", other), 0.0)
    c.poll(0.0)
    assert c.express(AddressChanged("eth0", second), 0.5) is not None
    assert c.express(AddressChanged("eth0", second), 1.0) is None  # the delayed burst
    c.poll(1.0)
    assert c.express(AddressChanged("eth0", second), 1.0) is not None
    assert c.express(AddressChanged("eth0", second), 11.0) is None  # the refresh
    c.poll(11.0)
    assert c.express(AddressChanged("eth0", second), 11.0) is not None


# --- what the core does with an expressed frame ---------------------------------------


def test_an_expressed_frame_is_left_out_of_the_burst_and_counted() -> None:
    """Unpaced, three packets: the poll sends the other two; the frame counters, the
    announce record and the first-frame histogram count all three."""
    c = core(master_repeat=3, master_delay=0.0)
    event = AddressChanged("eth0", A1)
    assert c.express(event, 1.0) is not None
    c.handle(event, 1.0, expressed=True)
    out = c.poll(1.0)
    assert frames_of(out.frames) == [("eth0", str(A1))] * 2
    assert [(r.event, r.fields.get("packets")) for r in out.records] == [
        ("vip_acquired", None), ("announce", 3)]
    assert c.counters["frames"] == 3
    assert c.first_frame.count == 1
    assert c.status()[0].sent == 3


def test_an_expressed_single_packet_leaves_no_batch() -> None:
    """One packet per takeover, expressed: nothing is left to send, yet it is announced."""
    c = core(master_repeat=1, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    out = c.poll(1.0)
    assert out.frames == {}
    assert [(r.event, r.fields.get("packets")) for r in out.records][-1] == ("announce", 1)


def test_round_robin_skips_only_the_expressed_first_frame() -> None:
    """Two bursts in one unpaced poll, the first expressed: round 0 has only the other."""
    c = core(master_repeat=3, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    c.handle(AddressChanged("eth0", A2), 1.0)
    out = c.poll(1.0)
    assert [a for _, a in frames_of(out.frames)] == [str(A2), str(A1), str(A2),
                                                     str(A1), str(A2)]
    assert out.frames["eth0"].owners == [("eth0", a) for a in (A2, A1, A2, A1, A2)]


def test_a_paced_expressed_frame_keeps_the_others_on_their_slots() -> None:
    """Paced: the expressed frame takes the first slot; the next leaves an interval
    later, as it would have."""
    c = core(interval=0.5, master_repeat=2, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    assert c.poll(1.0).frames == {}
    assert c.next_deadline() == 1.5
    assert frames_of(c.poll(1.5).frames) == [("eth0", str(A1))]


def test_an_expressed_mark_lasts_one_poll() -> None:
    """A mark the first poll did not use (the driver sent a frame the core did not name)
    is forgotten: the address's first frame still leaves on its slot."""
    c = core(interval=1.0, master_repeat=1, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 0.0)
    c.poll(0.0)
    c.handle(AddressChanged("eth0", A2), 0.5, expressed=True)
    assert c.poll(0.5).frames == {}
    assert frames_of(c.poll(1.0).frames) == [("eth0", str(A2))]


def test_a_release_before_the_poll_forgets_the_mark() -> None:
    """Expressed, then removed before the poll: nothing more leaves; added again later
    without express, its whole burst does."""
    c = core(master_repeat=2, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    c.handle(AddressRemoved("eth0", A1), 1.0)
    assert c.poll(1.0).frames == {}
    c.handle(AddressChanged("eth0", A1), 2.0)
    assert frames_of(c.poll(2.0).frames) == [("eth0", str(A1))] * 2


def test_a_release_and_reacquire_before_the_poll_forget_the_mark() -> None:
    """Expressed, then the carrier goes and comes back before the poll: the link_up
    takeover that follows is a new schedule and sends every one of its frames."""
    c = core(master_repeat=2, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    c.handle(up(mac=MAC, carrier=False), 1.0)
    c.handle(up(mac=MAC), 1.0)
    out = c.poll(1.0)
    assert frames_of(out.frames) == [("eth0", str(A1))] * 2
    assert [(r.event, r.fields.get("reason")) for r in out.records][-1] == (
        "announce", "link_up")


def test_a_trigger_after_an_expressed_takeover_is_not_shortened() -> None:
    """Only the takeover's first frame is skipped: a notify merged into it right after
    keeps its own packets."""
    c = core(master_repeat=2, master_delay=0.0)
    c.handle(AddressChanged("eth0", A1), 1.0, expressed=True)
    assert frames_of(c.poll(1.0).frames) == [("eth0", str(A1))]
    c.handle(Trigger("notify", None), 3.0)
    assert frames_of(c.poll(3.0).frames) == [("eth0", str(A1))] * 2


# --- the twins: expressing changes nothing else ----------------------------------------

IFACES = {"eth0": 2, "eth1": 3}
ADDRESSES = [A1, A2, V6, ipaddress.ip_address("2001:db8::101")]


def _event(kind: int, ifname: str, address: Address, flag: bool) -> Event:
    if kind == 0:
        return AddressChanged(ifname, address, tentative=flag)
    if kind == 1:
        return AddressRemoved(ifname, address)
    if kind == 2:
        return LinkChanged(ifname, IFACES[ifname], MAC if flag else mac_bytes(
            "02:00:00:00:00:0b"), True, True)
    if kind == 3:
        return LinkChanged(ifname, IFACES[ifname], MAC, True, flag)
    return Trigger("notify", None)


history = st.lists(st.tuples(
    st.floats(0.0, 3.0).map(lambda x: round(x, 2)),  # time step
    st.integers(0, 4),  # event kind (address events twice as likely: see below)
    st.sampled_from(sorted(IFACES)),
    st.sampled_from(ADDRESSES),
    st.booleans()), max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=history, repeat=st.integers(0, 3), delay=st.sampled_from([0.0, 0.5, 2.0]),
       refresh=st.sampled_from([0.0, 1.0, 4.0]), interval=st.sampled_from([0.0, 0.3, 1.0]),
       mode=st.sampled_from(["request", "reply", "both"]))
def test_expressing_changes_no_frame_no_time_and_no_record(
        history: list[tuple[float, int, str, Address, bool]], repeat: int, delay: float,
        refresh: float, interval: float, mode: str) -> None:
    """Whatever happens, the expressing twin sends the same frames at the same times,
    in the same order per interface and family, and writes the same records."""
    plain, fast = twins(interval, master_repeat=repeat, master_delay=delay,
                        master_refresh=refresh, mode=mode)
    t = 0.0
    for sim in (plain, fast):
        sim.at(0.0, up("eth0", 2, MAC), up("eth1", 3, MAC))
    for step, kind, ifname, address, flag in history:
        t += step
        event = _event(kind if kind < 4 or flag else 0, ifname, address, flag)
        for sim in (plain, fast):
            sim.at(t, event)
    for sim in (plain, fast):
        sim.advance(t + 30.0)

    def wire(sim: Sim) -> dict[tuple[str, bool], list[tuple[float, str, str]]]:
        out: dict[tuple[str, bool], list[tuple[float, str, str]]] = {}
        for s in sim.sent:
            out.setdefault((s.ifname, s.kind == "na"), []).append((s.t, s.kind, s.address))
        return out

    assert wire(fast) == wire(plain)
    assert fast.records == plain.records
    assert fast.core.counters == plain.core.counters
    assert fast.core.first_frame.count == plain.core.first_frame.count
    assert [s.sent for s in fast.core.status()] == [s.sent for s in plain.core.status()]


def test_the_twins_do_express() -> None:
    """The twin test's histories do reach the express path (the check is not vacuous)."""
    plain, fast = twins(0.3, master_repeat=2, master_delay=0.5, master_refresh=1.0)
    for sim in (plain, fast):
        sim.at(0.0, up("eth0", 2, MAC))
        sim.at(1.0, AddressChanged("eth0", A1))
        sim.at(1.1, AddressChanged("eth0", A2))  # A1's second packet still queued
        sim.at(5.0, AddressChanged("eth0", V6))
        sim.advance(10.0)
    assert fast.expressed == 2
    assert fast.timeline() == plain.timeline()


# --- express_v4: the same answer from the address's bytes --------------------------------


def test_express_v4_is_express_of_the_ipv4_address() -> None:
    """From its 4 bytes: the same (ifindex, frame) as express of the event; None for a
    length that is no IPv4 address."""
    c = core(master_repeat=2)
    assert c.express_v4("eth0", A1.packed, 1.0) == c.express(AddressChanged("eth0", A1), 1.0)
    assert c.express_v4("eth0", A1.packed, 1.0) is not None
    assert c.express_v4("eth0", A1.packed + b"\0", 1.0) is None
    assert c.express_v4("eth0", V6.packed, 1.0) is None


def test_express_v4_knows_the_addresses_the_core_knows_until_they_go() -> None:
    """Held, or on the interface and watched by no group: no frame; removed (or its link
    removed), it is new again; the same address on another interface is another one."""
    c = Announcer(OnlyOn("eth0", A1))
    c.handle(up(mac=MAC), 0.0)
    c.handle(up("eth1", 3, MAC), 0.0)
    c.handle(AddressChanged("eth0", A1), 1.0)
    c.poll(1.0)
    assert c.express_v4("eth0", A1.packed, 2.0) is None  # held
    c.handle(AddressRemoved("eth0", A1), 2.0)
    assert c.express_v4("eth0", A1.packed, 3.0) is not None
    c.handle(AddressChanged("eth0", A1), 3.0)
    c.handle(LinkRemoved("eth0", 2), 3.0)
    c.poll(3.0)
    c.handle(up(mac=MAC), 3.0)
    assert c.express_v4("eth0", A1.packed, 4.0) is not None
    # Not watched on eth1 (known or not); watched there after a reload: held at once.
    c.handle(AddressChanged("eth1", A1), 4.0)
    assert c.express_v4("eth1", A1.packed, 5.0) is None
    c.reconfigure(StaticPolicy(Timing()), 5.0)
    assert c.held() == [("eth1", A1)]
    assert c.express_v4("eth1", A1.packed, 6.0) is None


def test_removing_one_address_leaves_the_others_known() -> None:
    """Two IPv4 addresses held on eth0: removing one leaves the other held, not new; so
    does removing the IPv6 address whose value is the same number (::c000:265 is
    192.0.2.101's bits)."""
    c = core()
    same_bits = ipaddress.ip_address("::c000:265")
    assert int(same_bits) == int(A1)
    for address in (A1, A2, same_bits):
        c.handle(AddressChanged("eth0", address), 1.0)
    c.poll(1.0)
    c.handle(AddressRemoved("eth0", A2), 2.0)
    c.handle(AddressRemoved("eth0", same_bits), 2.0)
    c.poll(2.0)
    assert c.held() == [("eth0", A1)]
    assert c.express_v4("eth0", A1.packed, 3.0) is None
    assert c.express_v4("eth0", A2.packed, 3.0) is not None


def test_express_v4_follows_the_link_s_mac_and_usability() -> None:
    """The frame is from the link's MAC of now; a link without carrier, or ARP off, or not
    Ethernet, names none until it is usable again."""
    c = core()
    other = mac_bytes("02:00:00:00:00:0b")
    c.handle(LinkChanged("eth0", 2, other, True, True), 1.0)
    c.poll(1.0)
    express = c.express_v4("eth0", A1.packed, 2.0)
    assert express is not None
    assert describe(express[1])[2] == "02:00:00:00:00:0b"
    for link in (LinkChanged("eth0", 2, other, True, False),
                 LinkChanged("eth0", 2, other, True, True, noarp=True),
                 LinkChanged("eth0", 2, other, True, True, ethernet=False)):
        c.handle(link, 2.0)
        assert c.express_v4("eth0", A1.packed, 2.0) is None, link
    c.handle(LinkChanged("eth0", 2, MAC, True, True), 3.0)
    express = c.express_v4("eth0", A1.packed, 3.0)
    assert express is not None
    assert describe(express[1])[2] == "02:00:00:00:00:0a"


@dataclass(frozen=True)
class Member:
    """A group of a GroupPolicy: an interface, its own addresses and networks."""

    interface: str
    addresses: tuple[Address, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def _groups(*members: tuple[Member, Timing]) -> GroupPolicy:
    return GroupPolicy([(m, Watch(f"g{k}", t), (0.0, 0.0)) for k, (m, t) in enumerate(members)],
                       Watch("default", Timing()), (0.0, 0.0))


NET = ipaddress.ip_network("192.0.2.96/28")
GROUP_POLICIES = [
    _groups((Member("eth0", (A1,)), Timing(master_repeat=2, master_delay=0.5)),
            (Member("eth1", (), (NET,)), Timing(master_repeat=1, mode="reply"))),
    _groups((Member("eth0", (), (NET,)), Timing(master_repeat=3, master_delay=0.0,
                                                master_refresh=1.0)),
            (Member("eth1", (A2, V6)), Timing(master_repeat=1, master_delay=1.0))),
    _groups(),  # no groups: everything watched by default
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(st.tuples(
    st.floats(0.0, 3.0).map(lambda x: round(x, 2)),
    st.integers(0, 5),  # 5: a reload
    st.sampled_from(sorted(IFACES)),
    st.sampled_from(ADDRESSES),
    st.booleans(),
    st.integers(0, len(GROUP_POLICIES) - 1)), max_size=30))
def test_expressing_under_group_policies_and_reloads_changes_nothing(
        history: list[tuple[float, int, str, Address, bool, int]]) -> None:
    """The daemon's policy (GroupPolicy, answering watch_v4 from its own index) and
    reloads between group sets: the expressing twin still sends the same frames at the
    same times and writes the same records (an address a reload made watched is held, not
    expressed; one it unwatched is known, not expressed)."""
    plain, fast = Sim(GROUP_POLICIES[0]), Sim(GROUP_POLICIES[0], express=True)
    for sim in (plain, fast):
        sim.at(0.0, up("eth0", 2, MAC), up("eth1", 3, MAC))
    t = 0.0
    for step, kind, ifname, address, flag, policy in history:
        t += step
        for sim in (plain, fast):
            if kind == 5:
                sim.advance(t)
                sim.core.reconfigure(GROUP_POLICIES[policy], t)
                sim.at(t)
            else:
                sim.at(t, _event(kind if kind < 4 or flag else 0, ifname, address, flag))
    for sim in (plain, fast):
        sim.advance(t + 30.0)
    assert fast.timeline() == plain.timeline()
    assert fast.records == plain.records
    assert fast.core.counters == plain.core.counters


def test_the_group_twins_do_express() -> None:
    """Under the group policies the twin test uses, addresses of either kind of group (an
    address of its own, a network's) are expressed, and a reload leaves them held."""
    plain, fast = Sim(GROUP_POLICIES[0]), Sim(GROUP_POLICIES[0], express=True)
    in_net, outside = ipaddress.ip_address("192.0.2.100"), ipaddress.ip_address("192.0.2.200")
    for sim in (plain, fast):
        sim.at(0.0, up("eth0", 2, MAC), up("eth1", 3, MAC))
        sim.at(1.0, AddressChanged("eth0", A1))  # its group's own address
        sim.at(2.0, AddressChanged("eth1", in_net))  # in its group's network
        sim.at(3.0, AddressChanged("eth1", outside))  # watched by no group
        sim.advance(4.0)
        sim.core.reconfigure(GROUP_POLICIES[2], 4.0)  # no groups: held, a takeover
        sim.at(4.0)
        sim.at(5.0, AddressChanged("eth1", outside))  # held already
        sim.advance(10.0)
    assert fast.expressed == 2
    assert fast.core.held() == plain.core.held()
    assert ("eth1", outside) in fast.core.held()
    assert fast.timeline() == plain.timeline()
