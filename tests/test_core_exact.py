"""Exact core behaviours the mutation run found unchecked: the status snapshot, what the
neighbour listener is told, removals and their bookkeeping, releases, reloads, the
lower-priority limit's edge, and confirmation's counters. Literal times throughout."""

from __future__ import annotations

import ipaddress

import pytest

from garpd.core import AddressStatus, Announcer
from garpd.events import (
    AddressChanged,
    AddressRemoved,
    GatewaysChanged,
    LinkChanged,
    LinkRemoved,
    LowerPriority,
    NeighbourFrames,
    Trigger,
)
from garpd.frames import Address, FrameCache, Mode, describe, mac_bytes
from garpd.pacing import EPSILON
from garpd.policy import StaticPolicy, Timing, Watch, WatchV4ByAddress
from tests.sim import Sim
from tests.test_core_lan import GW, GW6, OURS, VIP, claim, router_reply, wire
from tests.test_neighbour_wire import arp

MAC = mac_bytes(OURS)
A1, A2 = ipaddress.ip_address("192.0.2.101"), ipaddress.ip_address("192.0.2.102")
V6 = ipaddress.ip_address("2001:db8::100")


def up(ifname: str = "eth0", ifindex: int = 2, mac: bytes = MAC,
       carrier: bool = True) -> LinkChanged:
    """An Ethernet interface, up with carrier (or not)."""
    return LinkChanged(ifname, ifindex, mac, True, carrier)


def sim(interval: float = 0.0, group: str = "VI_1", **timing: object) -> Sim:
    """Every address watched by ``group`` with ``timing``, both families paced alike."""
    return Sim(StaticPolicy(Timing(**timing), group=group,  # type: ignore[arg-type]
                            interval=interval, na_interval=interval))


class ByAddress(WatchV4ByAddress):
    """A policy that watches each address with its own group and timing (or not at all),
    and paces each interface on its own."""

    def __init__(self, watches: dict[Address, Watch],
                 pacing: dict[str, tuple[float, float]] | None = None) -> None:
        self.watches = watches
        self.pacings = pacing or {}

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The address's own watch."""
        return self.watches.get(address)

    def pacing(self, ifname: str) -> tuple[float, float]:
        """The interface's own pacing, none by default."""
        return self.pacings.get(ifname, (0.0, 0.0))


# --- status -----------------------------------------------------------------------------


def test_status_is_exact_mid_burst_with_a_refresh_planned() -> None:
    """Mid-burst, paced: pending, the pacer's next slot, the delayed burst and the refresh
    (packets counted in frames: two per repeat in "both" mode), refresh period."""
    s = sim(interval=10.0, master_repeat=2, master_delay=5.0, master_refresh=60.0,
            master_refresh_repeat=1, mode="both")
    s.at(100.0, up(), AddressChanged("eth0", A1))
    assert s.core.status() == [AddressStatus(
        "eth0", "192.0.2.101", "VI_1", True, False, 100.0, 1, 100.0, 3,
        105.0, ((105.0, "master_delay", 4), (165.0, "refresh", 2)), 60.0)]


def test_status_next_send_is_the_queued_slot_when_nothing_is_planned() -> None:
    """No delayed burst, no refresh: next_send is when the pacer lets the next packet go."""
    s = sim(interval=10.0, master_repeat=3, master_delay=0.0)
    s.at(100.0, up(), AddressChanged("eth0", A1))
    [st] = s.core.status()
    assert (st.pending, st.next_send, st.upcoming, st.refresh_every) == (2, 110.0, (), 0.0)


def test_status_of_a_released_address_and_unwatched_ones() -> None:
    """Released: not held, no since, nothing pending or planned, no refresh period, but
    its counts stay; an unwatched address has no row; the interface is the key's."""
    watches = {A1: Watch("VI_1", Timing(master_repeat=1, master_delay=0.0,
                                        master_refresh=30.0))}
    s = Sim(ByAddress(watches))
    s.at(10.0, up("eth1"), AddressChanged("eth1", A1), AddressChanged("eth1", A2))
    s.at(12.0, up("eth1", carrier=False))
    # held without a takeover (announce_on_start off): no pacer exists for it
    a3 = ipaddress.ip_address("192.0.2.103")
    watches[a3] = Watch("Q", Timing(announce_on_start=False, master_refresh=30.0))
    s.at(13.0, up("eth2", ifindex=4), AddressChanged("eth2", a3, initial=True))
    assert s.core.status()[1:] == [AddressStatus(
        "eth2", "192.0.2.103", "Q", True, False, None, 0, None, 0, None, (), 30.0)]
    assert s.core.status()[:1] == [AddressStatus(
        "eth1", "192.0.2.101", "VI_1", False, False, None, 1, 10.0, 0, None, (), 0.0)]
    assert s.core.held() == [("eth2", a3)]


def test_status_skips_stale_timers_before_live_ones() -> None:
    """A flap within one poll leaves the old schedule's timer ahead of the new one in the
    heap: status lists only the new schedule."""
    s = sim(master_repeat=1, master_delay=5.0)
    s.at(10.0, up(), AddressChanged("eth0", A1))
    s.at(11.0, up(carrier=False), up())
    [st] = s.core.status()
    assert st.upcoming == ((16.0, "link_up_delay", 1),)
    assert st.tentative is False


def test_status_shows_a_tentative_address() -> None:
    """An IPv6 address in DAD is listed, tentative and not held."""
    s = sim()
    s.at(1.0, up(), AddressChanged("eth0", V6, tentative=True))
    [st] = s.core.status()
    assert (st.address, st.held, st.tentative, st.since) == ("2001:db8::100", False, True,
                                                             None)


def test_queries_held_ifindex_and_known() -> None:
    """held() lists held watched addresses only; ifindex() of an unknown link is None."""
    watches = {A1: Watch("VI_1", Timing())}
    s = Sim(ByAddress(watches))
    s.at(1.0, up(ifindex=7), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    s.at(2.0, up("eth1", ifindex=8, carrier=False), AddressChanged("eth1", A1))
    assert s.core.held() == [("eth0", A1)]
    assert (s.core.ifindex("eth0"), s.core.ifindex("eth1"), s.core.ifindex("eth9")) == (
        7, 8, None)
    assert s.core.addresses_known() == [("eth0", A1), ("eth0", A2), ("eth1", A1)]
    assert s.core.links_known() == {"eth0": 7, "eth1": 8}


# --- what the neighbour listener is told -------------------------------------------------


def test_neighbour_watch_lists_exactly_what_must_be_heard() -> None:
    """A conflict-off address without gateways (listed first) is skipped; a
    conflict-guarded address is heard; a gateway address adds its gateways; the link's
    "auto" gateways are not added unless some address uses auto; a removed address is
    gone."""
    g4 = ipaddress.ip_address("192.0.2.1")
    v6a = ipaddress.ip_address("2001:db8::1")
    unheld = ipaddress.ip_address("192.0.2.50")
    quiet = ipaddress.ip_address("192.0.2.51")
    watches = {
        unheld: Watch("A", Timing(master_repeat=1, master_delay=0.0)),
        quiet: Watch("Q", Timing(master_repeat=1, master_delay=0.0, conflict="off")),
        A1: Watch("G", Timing(master_repeat=1, master_delay=0.0, conflict="off",
                              gateways=(g4, v6a))),
        V6: Watch("D", Timing(master_repeat=1, master_delay=0.0, conflict="log")),
    }
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), AddressChanged("eth0", unheld, tentative=True))
    s.at(0.0, AddressChanged("eth0", quiet), AddressChanged("eth0", A1),
         AddressChanged("eth0", V6),
         GatewaysChanged("eth0", 4, frozenset({ipaddress.ip_address("192.0.2.9")})))
    s.at(0.5, AddressRemoved("eth0", unheld))
    assert s.core.neighbour_watch("eth0") == ([A1, g4], [v6a, V6])
    assert s.core.neighbour_watch("eth9") is None


def test_neighbour_watch_skips_unheld_addresses_listed_first() -> None:
    """An unwatched address and an IPv6 one in DAD, first on the link, are not heard; the
    held one after them is."""
    watches = {A2: Watch("D", Timing()), V6: Watch("D", Timing())}
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", V6, tentative=True),
         AddressChanged("eth0", A2))
    assert s.core.neighbour_watch("eth0") == ([A2], [])
    s.at(1.0, up("eth1", ifindex=3, carrier=False), AddressChanged("eth1", A2))
    assert s.core.neighbour_watch("eth1") is None


def test_neighbour_watch_skips_a_quiet_address_listed_first() -> None:
    """conflict off and no gateways first on the link, a guarded one after it."""
    watches = {A1: Watch("Q", Timing(conflict="off")), A2: Watch("D", Timing())}
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    assert s.core.neighbour_watch("eth0") == ([A2], [])


def test_neighbour_watch_with_auto_takes_both_families_gateways() -> None:
    """gateways = "auto": the route's next hops of IPv4 and of IPv6."""
    s = sim(master_repeat=1, master_delay=0.0, gateways="auto")
    s.at(0.0, up(), AddressChanged("eth0", A1), GatewaysChanged("eth0", 4, frozenset({GW})),
         GatewaysChanged("eth0", 6, frozenset({GW6})))
    assert s.core.neighbour_watch("eth0") == ([A1, GW], [GW6])


def test_neighbour_watch_of_a_gateway_only_group() -> None:
    """conflict off with gateways: the address and its gateways are heard."""
    s = sim(master_repeat=1, master_delay=0.0, conflict="off", gateways=(GW,))
    s.at(0.0, up(), AddressChanged("eth0", A1))
    assert s.core.neighbour_watch("eth0") == ([A1, GW], [])


# --- removals -----------------------------------------------------------------------


def test_removing_an_unknown_address_or_link_changes_nothing() -> None:
    """An AddressRemoved or LinkRemoved for something never seen is ignored."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(1.0, AddressRemoved("eth0", A2), AddressRemoved("eth9", A1), LinkRemoved("eth9", 5),
         LinkRemoved("eth0", 99))
    assert s.core.held() == [("eth0", A1)]
    assert s.core.links_known() == {"eth0": 2}


def test_a_removed_address_is_not_announced_when_its_link_comes_back() -> None:
    """Remove one of two addresses: a link flap announces only the one left."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    s.at(1.0, AddressRemoved("eth0", A1))
    s.at(2.0, up(carrier=False))
    s.at(3.0, up())
    assert s.timeline() == [(0.0, "192.0.2.101"), (0.0, "192.0.2.102"), (3.0, "192.0.2.102")]
    assert [(t, f["address"]) for t, f in s.events("vip_acquired")] == [
        (0.0, "192.0.2.101"), (0.0, "192.0.2.102"), (3.0, "192.0.2.102")]
    s.at(4.0, AddressRemoved("eth0", A2))
    s.at(5.0, up(carrier=False))
    s.at(6.0, up())
    assert s.timeline()[-1] == (3.0, "192.0.2.102")
    assert s.core.addresses_known() == []


def test_group_triggers_after_a_member_left() -> None:
    """Remove one of a group's two addresses: notify and lower priority for the group
    still reach the other; remove both and the group is gone."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=1, lower_prio_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    s.at(1.0, AddressRemoved("eth0", A1))
    s.at(2.0, Trigger("notify", group="VI_1"))
    s.at(3.0, LowerPriority("VI_1"))
    assert s.timeline()[2:] == [(2.0, "192.0.2.102"), (3.0, "192.0.2.102")]
    s.at(4.0, AddressRemoved("eth0", A2))
    s.at(5.0, Trigger("notify", group="VI_1"), LowerPriority("VI_1", record="lp", always=True))
    assert len(s.timeline()) == 4
    assert s.events("lp") == [(5.0, {"started": 0})]


def test_link_removal_drops_its_pacers_and_marks_the_link() -> None:
    """A link removed and re-created starts with fresh pacers (both families): the first
    packet is not spaced from the old link's last one; the listener hears of it."""
    s = sim(interval=10.0, master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", V6))
    s.core.take_listen_changes()
    s.at(1.0, LinkRemoved("eth0", 2))
    assert s.core.take_listen_changes() == {"eth0"}
    s.at(2.0, up(ifindex=4), AddressChanged("eth0", A1), AddressChanged("eth0", V6))
    assert s.timeline() == [(0.0, "192.0.2.101"), (0.0, "2001:db8::100"),
                            (2.0, "192.0.2.101"), (2.0, "2001:db8::100")]


def test_link_removal_forgets_the_links_conflict_state() -> None:
    """After a link is removed and re-created, a rogue claim is a new conflict."""
    s = sim(master_repeat=1, master_delay=0.0, defend_interval=100.0)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    rogue = claim(arp(1, "02:00:00:00:00:66", str(VIP), str(VIP)))
    s.at(1.0, NeighbourFrames("eth0", (rogue,)))
    s.at(2.0, LinkRemoved("eth0", 2))
    s.at(3.0, up(ifindex=5), AddressChanged("eth0", VIP))
    s.at(4.0, NeighbourFrames("eth0", (rogue,)))
    assert [t for t, _ in s.events("conflict")] == [1.0, 4.0]


# --- releases -----------------------------------------------------------------------


def test_release_record_and_counter_without_a_pacer() -> None:
    """An address held without announcing (announce_on_start off) has no pacer yet: its
    release cancels 0 packets; each release counts once."""
    s = sim(announce_on_start=False)
    s.at(0.0, up(), AddressChanged("eth0", A1, initial=True),
         AddressChanged("eth0", A2, initial=True))
    s.at(1.0, up(carrier=False))
    assert [f for _, f in s.events("vip_released")] == [
        {"interface": "eth0", "address": a, "group": "VI_1", "why": "link_down",
         "cancelled": 0} for a in ("192.0.2.101", "192.0.2.102")]
    assert s.core.counters["released"] == 2
    assert s.timeline() == []


def test_flap_never_revives_the_old_schedule() -> None:
    """Takeover at 10 (second burst due at 15), down at 11, up at 12: the second burst
    comes at 17 from the new takeover; nothing at 15."""
    s = sim(master_repeat=1, master_delay=5.0)
    s.at(10.0, up(), AddressChanged("eth0", A1))
    s.at(11.0, up(carrier=False))
    s.at(12.0, up())
    s.advance(30.0)
    assert s.timeline() == [(10.0, "192.0.2.101"), (12.0, "192.0.2.101"),
                            (17.0, "192.0.2.101")]


def test_dad_release_then_quiet_reacquire_never_revives_the_old_schedule() -> None:
    """IPv6: takeover at 10, tentative at 11 (released) and back in the same poll as an
    initial address with announce_on_start off (held, no takeover): the old burst at 15
    stays cancelled, and no first-frame latency is measured for the quiet hold."""
    s = sim(master_repeat=1, master_delay=5.0, announce_on_start=False)
    s.at(10.0, up(), AddressChanged("eth0", V6))
    # both within one poll: the old timer is still in the heap when it is held again
    s.at(11.0, AddressChanged("eth0", V6, tentative=True),
         AddressChanged("eth0", V6, initial=True))
    s.advance(30.0)
    assert s.timeline() == [(10.0, "2001:db8::100")]
    assert s.core.held() == [("eth0", V6)]
    count = s.core.first_frame.count
    s.at(40.0, Trigger("notify"))
    assert s.timeline()[-1] == (40.0, "2001:db8::100")
    assert s.core.first_frame.count == count


# --- reloads --------------------------------------------------------------------------


def test_reload_uses_the_new_policy_for_new_addresses_and_pacers() -> None:
    """After reconfigure, a new address is watched and paced by the new policy, per
    interface."""
    s = sim(master_repeat=1, master_delay=0.0)
    new = ByAddress({A2: Watch("NEW", Timing(master_repeat=2, master_delay=0.0))},
                    pacing={"eth1": (3.0, 0.0)})
    s.at(0.0, up(), up("eth1", ifindex=3), AddressChanged("eth1", A1))
    s.core.reconfigure(new, 0.0)
    s.at(1.0, AddressChanged("eth1", A2), AddressChanged("eth0", A1))
    s.advance(10.0)
    # eth1's pacer takes the new spacing from its last packet (0.0)
    assert s.timeline() == [(0.0, "192.0.2.101"), (3.0, "192.0.2.102"), (6.0, "192.0.2.102")]
    assert [st.group for st in s.core.status()] == ["NEW"]


def test_reload_with_the_same_policy_touches_nothing() -> None:
    """The same watch before and after: no listener change, no new burst, no record."""
    policy = StaticPolicy(Timing(master_repeat=1, master_delay=0.0), group="VI_1")
    s = Sim(policy)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.core.take_listen_changes()
    records = len(s.records)
    s.core.reconfigure(StaticPolicy(Timing(master_repeat=1, master_delay=0.0),
                                    group="VI_1"), 5.0)
    s.at(5.0)
    assert s.core.take_listen_changes() == set()
    assert len(s.records) == records
    assert s.timeline() == [(0.0, "192.0.2.101")]


def test_reload_watching_a_held_address_records_nothing_but_its_takeover() -> None:
    """An address that becomes watched by a reload is acquired with a takeover."""
    s = Sim(ByAddress({}))
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.core.reconfigure(ByAddress({A1: Watch("G", Timing(master_repeat=1,
                                                         master_delay=0.0))}), 3.0)
    s.at(3.0)
    assert s.timeline() == [(3.0, "192.0.2.101")]
    assert [e for _, e in s.events("vip_released")] == []


# --- lower priority ---------------------------------------------------------------------


def test_lower_priority_limit_is_strictly_less_than_a_second() -> None:
    """Adverts 1 s apart both start a schedule; 0.5 s apart the second is limited, and
    every limited one counts."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=1, lower_prio_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(10.0, LowerPriority("VI_1"))
    s.at(11.0, LowerPriority("VI_1"))
    s.at(11.5, LowerPriority("VI_1"))
    s.at(11.7, LowerPriority("VI_1"))
    assert [t for t, _ in s.timeline()] == [0.0, 10.0, 11.0]
    assert (s.core.counters["lower_prio_started"], s.core.counters["lower_prio_limited"]) == (
        2, 2)


def test_lower_priority_of_a_dual_stack_group_sorts_families() -> None:
    """A group with IPv4 and IPv6 addresses is ordered by family then value (each family
    has its own pacer, the IPv6 one here created first), as notify orders it."""
    v6b = ipaddress.ip_address("2001:db8::9")
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=1, lower_prio_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", v6b), AddressChanged("eth0", A2),
         AddressChanged("eth0", V6), AddressChanged("eth0", A1))
    s.at(5.0, LowerPriority("VI_1"))
    s.at(6.0, Trigger("notify", group="VI_1"))
    at5 = [a for t, a in s.timeline() if t == 5.0]
    at6 = [a for t, a in s.timeline() if t == 6.0]
    assert at5 == at6 == ["2001:db8::9", "2001:db8::100", "192.0.2.101", "192.0.2.102"]


# --- confirmation's counters ---------------------------------------------------------------


def test_unconfirmed_counts_per_interface() -> None:
    """Each unconfirmed gateway adds one to its interface's count."""
    s = sim(master_repeat=1, master_delay=0.0, gateways=(GW, ipaddress.ip_address(
        "192.0.2.2")), confirm_timeout=1.0, confirm_retries=0)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.advance(100.0)
    assert s.core.unconfirmed == {"eth0": 2}
    s.at(200.0, Trigger("notify"))
    s.advance(300.0)
    assert s.core.unconfirmed == {"eth0": 4}


def test_confirm_retries_come_from_the_timing() -> None:
    """confirm_retries 1: two requests, then unconfirmed after the doubled timeout."""
    s = sim(master_repeat=1, master_delay=0.0, gateways=(GW,), confirm_timeout=1.0,
            confirm_retries=1)
    frames = wire(s)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.advance(100.0)
    assert [t for t, name in frames if name.startswith("ask")] == [0.0, 1.0]
    assert [(t, f["attempts"]) for t, f in s.events("unconfirmed")] == [(3.0, 2)]


def test_confirmed_answers_fill_the_interface_histogram() -> None:
    """A reply 250 ms after the schedule began is observed as 0.25 s on its interface."""
    s = sim(master_repeat=1, master_delay=0.0, gateways=(GW,))
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.at(0.25, router_reply())
    hist = s.core.confirm_seconds["eth0"]
    assert (hist.count, hist.total) == (1, 0.25)
    s.at(30.0, Trigger("notify"))
    s.at(30.5, router_reply())
    assert (hist.count, hist.total) == (2, 0.75)


def test_confirmation_counts_from_the_schedule_start_when_paced() -> None:
    """Paced: the first burst of three ends 2 s after the takeover; after_ms counts from
    the takeover, not from the end of the burst."""
    s = sim(interval=1.0, master_repeat=3, master_delay=0.0, gateways=(GW,))
    s.at(10.0, up(), AddressChanged("eth0", VIP))
    s.advance(12.0)
    s.at(12.5, router_reply())
    assert [f["after_ms"] for _, f in s.events("confirmed")] == [2500]


def test_confirmation_starts_for_each_address_whose_first_burst_ends_in_a_poll() -> None:
    """One poll finishes a delayed burst of one address and first bursts of two others,
    the first without gateways: the two with gateways each get a request."""
    gw_timing = Timing(master_repeat=1, master_delay=5.0, gateways=(GW,), confirm_timeout=10.0,
                       confirm_retries=0)
    watches = {
        A1: Watch("G", gw_timing),
        A2: Watch("N", Timing(master_repeat=1, master_delay=0.0)),
        VIP: Watch("G", gw_timing),
    }
    s = Sim(ByAddress(watches))
    frames = wire(s)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.advance(4.0)
    s.core.handle(AddressChanged("eth0", A2), 5.0)  # due in the same poll as A1's second
    s.core.handle(AddressChanged("eth0", VIP), 5.0)
    s.advance(6.0)
    assert [t for t, name in frames if name == "garp"] == [0.0, 5.0, 5.0, 5.0]
    asks = [(t, name) for t, name in frames if name.startswith("ask")]
    assert asks == [(0.0, f"ask {GW} via ff:ff:ff:ff:ff:ff"),
                    (5.0, f"ask {GW} via ff:ff:ff:ff:ff:ff")]
    assert sorted(st.address for st in s.core.confirm_status()) == ["192.0.2.100",
                                                                    "192.0.2.101"]


def test_a_directed_request_is_owned_by_its_address() -> None:
    """The batch names the address each directed request is for."""
    core = Announcer(StaticPolicy(Timing(master_repeat=1, master_delay=0.0, gateways=(GW,))))
    core.handle(up(), 0.0)
    core.handle(AddressChanged("eth0", VIP), 0.0)
    out = core.poll(0.0)
    assert out.frames["eth0"].owners == [("eth0", VIP), ("eth0", VIP)]
    assert out.frames["eth0"].ifindex == 2


@pytest.mark.parametrize("repeat", [1, 3])
def test_no_gateways_no_confirmation(repeat: int) -> None:
    """A group without gateways never confirms, whatever its bursts."""
    s = sim(master_repeat=repeat, master_delay=0.0)
    frames = wire(s)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.advance(50.0)
    assert [name for _, name in frames] == ["garp"] * repeat
    assert s.core.confirm_status() == []


# --- refresh rounds and cohorts -------------------------------------------------------------


def refreshes(s: Sim) -> list[tuple[float, object]]:
    """(time, address) of every refresh burst."""
    return [(t, f["address"]) for t, f in s.events("announce") if f["reason"] == "refresh"]


def test_refresh_round_polled_a_hair_early_is_sent_once() -> None:
    """A poll 0.5 us before a refresh round sends it, and the next round stays a period
    later (not due again at once)."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.core.poll(10.0 - EPS_HALF)
    assert s.core.next_deadline() == 20.0


EPS_HALF = 0.5e-6


def test_refresh_exactly_one_period_late_skips_that_round() -> None:
    """Polled first at 30 for the round due at 20: one refresh at 30, the next at 40."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.advance(15.0)
    s.now = 30.0  # the stall: nothing polled at 20
    s.at(30.0)
    s.advance(45.0)
    assert refreshes(s) == [(10.0, "192.0.2.101"), (30.0, "192.0.2.101"),
                            (40.0, "192.0.2.101")]


def test_a_round_joining_a_cohort_due_then_keeps_both_and_releases_cleanly() -> None:
    """A2 taken over at 10 (first refresh at 20) just before A1's round at 10 moves A1 to
    20: A1 joins A2's cohort; they share the round at 20; A1 removed at 25 is refreshed no
    more, A2 keeps its grid."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.advance(9.0)
    s.core.handle(AddressChanged("eth0", A2), 10.0)  # before the poll at 10
    s.advance(24.0)
    s.at(25.0, AddressRemoved("eth0", A1))
    s.advance(41.0)
    assert refreshes(s) == [(10.0, "192.0.2.101"), (20.0, "192.0.2.102"),
                            (20.0, "192.0.2.101"), (30.0, "192.0.2.102"),
                            (40.0, "192.0.2.102")]


def test_cohorts_due_together_with_different_periods() -> None:
    """Two groups whose refreshes fall due at the same moment with different periods each
    keep their own period."""
    watches = {A1: Watch("a", Timing(master_repeat=1, master_delay=0.0, master_refresh=10.0)),
               A2: Watch("b", Timing(master_repeat=1, master_delay=0.0, master_refresh=5.0))}
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(5.0, AddressChanged("eth0", A2))
    s.advance(21.0)
    assert refreshes(s) == [(10.0, "192.0.2.101"), (10.0, "192.0.2.102"),
                            (15.0, "192.0.2.102"), (20.0, "192.0.2.101"),
                            (20.0, "192.0.2.102")]


def test_an_emptied_cohort_is_not_joined_again() -> None:
    """A1's refresh cohort empties (A1 removed) and is dropped; A2 taken over the same
    moment with the same period gets its refresh."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(0.0, AddressRemoved("eth0", A1))
    s.at(0.0, AddressChanged("eth0", A2))
    s.advance(21.0)
    assert refreshes(s) == [(10.0, "192.0.2.102"), (20.0, "192.0.2.102")]


# --- what is listened for, and the frame counter ------------------------------------------


def test_listen_changes_only_when_something_must_be_heard() -> None:
    """Acquiring a quiet address (conflict off, no gateways) changes nothing to listen
    for; a guarded or gateway address marks its link; a release always does."""
    watches = {A1: Watch("Q", Timing(master_repeat=1, master_delay=0.0, conflict="off")),
               A2: Watch("D", Timing(master_repeat=1, master_delay=0.0)),
               VIP: Watch("G", Timing(master_repeat=1, master_delay=0.0, conflict="off",
                                      gateways=(GW,)))}
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), up("eth1", ifindex=3), up("eth2", ifindex=4))
    s.core.take_listen_changes()
    s.at(1.0, AddressChanged("eth0", A1))
    assert s.core.take_listen_changes() == set()
    assert s.core.conflict_status() == []
    s.at(2.0, AddressChanged("eth1", A2), AddressChanged("eth2", VIP))
    assert s.core.take_listen_changes() == {"eth1", "eth2"}
    assert [c.address for c in s.core.conflict_status()] == ["192.0.2.102"]
    s.at(3.0, AddressRemoved("eth0", A1))
    assert s.core.take_listen_changes() == {"eth0"}


def test_reload_turning_conflict_off_stops_guarding() -> None:
    """defend -> off on reload: the address leaves the conflict guard."""
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0), group="VI_1"))
    s.at(0.0, up(), AddressChanged("eth0", A1))
    assert [c.address for c in s.core.conflict_status()] == ["192.0.2.101"]
    s.core.reconfigure(StaticPolicy(Timing(master_repeat=1, master_delay=0.0, conflict="off"),
                                    group="VI_1"), 1.0)
    assert s.core.conflict_status() == []


def test_reload_keeps_or_stops_a_pending_confirmation() -> None:
    """A reload that keeps the gateways keeps confirming (the retry still leaves); one that
    drops them stops it."""
    keep = Timing(master_repeat=1, master_delay=0.0, gateways=(GW,), confirm_timeout=2.0,
                  confirm_retries=1)
    s = Sim(StaticPolicy(keep, group="VI_1"))
    frames = wire(s)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.core.reconfigure(StaticPolicy(Timing(master_repeat=2, master_delay=0.0, gateways=(GW,),
                                           confirm_timeout=2.0, confirm_retries=1),
                                    group="VI_1"), 1.0)
    s.advance(10.0)
    assert [t for t, name in frames if name.startswith("ask")] == [0.0, 2.0]
    s.at(20.0, Trigger("notify"))
    s.core.reconfigure(StaticPolicy(Timing(master_repeat=2, master_delay=0.0),
                                    group="VI_1"), 21.0)
    s.advance(40.0)
    assert [t for t, name in frames if name.startswith("ask")] == [0.0, 2.0, 20.0]
    assert s.core.confirm_status() == []


def test_next_deadline_skips_a_stale_timer_of_a_held_address() -> None:
    """After a flap within one poll the old schedule's timer (15) is not a deadline; the
    new one's (16) is."""
    s = sim(master_repeat=1, master_delay=5.0)
    s.at(10.0, up(), AddressChanged("eth0", A1))
    s.at(11.0, up(carrier=False), up())
    assert s.core.next_deadline() == 16.0


def test_flap_with_refresh_restarts_the_grid() -> None:
    """Refresh on: down at 2.5 and up at 3 leaves the first grid and starts a new one."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=2.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(2.5, up(carrier=False))
    s.at(3.0, up())
    s.at(3.5, up(carrier=False))
    s.at(4.0, up())
    s.advance(8.5)
    assert refreshes(s) == [(2.0, "192.0.2.101"), (6.0, "192.0.2.101"), (8.0, "192.0.2.101")]


def test_frame_counter_counts_every_frame_unpaced_and_paced() -> None:
    """The frames counter adds every frame handed out, across polls and both paths."""
    s = sim(master_repeat=3, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    assert s.core.counters["frames"] == 6
    s.at(1.0, Trigger("notify"))
    assert s.core.counters["frames"] == 12
    assert s.core.counters["bursts"] == 4


def test_a_burst_half_sent_when_a_reload_removes_pacing_counts_all_its_packets() -> None:
    """Paced at 1 s, a 4-packet burst sends 2; a reload to no spacing sends the other 2 at
    once; its announce record counts 4 packets, the frame counter 4."""
    s = sim(interval=1.0, master_repeat=4, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.advance(1.5)
    s.core.reconfigure(StaticPolicy(Timing(master_repeat=4, master_delay=0.0)), 1.5)
    s.at(1.5)
    s.advance(10.0)
    assert [t for t, _ in s.timeline()] == [0.0, 1.0, 1.5, 1.5]
    assert [f["packets"] for _, f in s.events("announce")] == [4]
    assert s.core.counters["frames"] == 4


# --- start-up state, address flags, links seen late, forwarding -----------------------------


def test_a_fresh_core_counts_nothing_and_uses_the_given_frame_cache() -> None:
    """Every counter starts at 0; the frame cache passed in is the one used."""
    cache = FrameCache()
    core = Announcer(StaticPolicy(), cache)
    assert core.frames is cache
    assert set(core.counters.values()) == {0}
    assert len(core.counters) == 7


def test_a_release_before_the_first_poll_is_reported() -> None:
    """Acquired and released before any poll: the first poll names the release."""
    core = Announcer(StaticPolicy(Timing(announce_on_start=False)))
    core.handle(up(), 0.0)
    core.handle(AddressChanged("eth0", A1, initial=True), 0.0)
    core.handle(AddressRemoved("eth0", A1), 0.0)
    out = core.poll(0.0)
    assert out.released == [("eth0", A1)]
    assert [r.event for r in out.records] == ["vip_acquired", "vip_released"]


def test_dad_failure_is_recorded_once_and_releases_name_their_cause() -> None:
    """Tentative releases with why=tentative; dadfailed, reported twice, records one
    dad_failed and releases with why=dad_failed."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", V6), AddressChanged("eth0", V6B))
    s.at(1.0, AddressChanged("eth0", V6, tentative=True))
    s.at(2.0, AddressChanged("eth0", V6B, dadfailed=True))
    s.at(3.0, AddressChanged("eth0", V6B, dadfailed=True))
    assert [(t, f["address"], f["why"]) for t, f in s.events("vip_released")] == [
        (1.0, "2001:db8::100", "tentative"), (2.0, "2001:db8::9", "dad_failed")]
    assert [t for t, _ in s.events("dad_failed")] == [2.0]


V6B = ipaddress.ip_address("2001:db8::9")


def test_addresses_seen_before_their_link_are_taken_over_when_it_appears() -> None:
    """The address event comes first; the link's arrival starts the master schedule."""
    s = sim(master_repeat=1, master_delay=2.0)
    s.at(0.0, AddressChanged("eth0", A1))
    s.at(1.0, up())
    s.advance(10.0)
    assert s.timeline() == [(1.0, "192.0.2.101"), (3.0, "192.0.2.101")]
    assert [f["reason"] for _, f in s.events("announce")] == ["master", "master_delay"]


def r_flags(out_frames: list[bytes]) -> list[bool]:
    """The NA Router flag of each frame."""
    return [bool(frame[58] & 0x80) for frame in out_frames]


def test_na_router_flag_follows_forwarding_from_the_start_and_on_change() -> None:
    """A forwarding link's NAs carry R from the first one; turning forwarding off and on
    changes the flag of the next NAs."""
    core = Announcer(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
    core.handle(LinkChanged("eth0", 2, MAC, True, True, forwarding=True), 0.0)
    core.handle(AddressChanged("eth0", V6), 0.0)
    assert r_flags(core.poll(0.0).frames["eth0"].frames) == [True]
    core.handle(LinkChanged("eth0", 2, MAC, True, True, forwarding=False), 1.0)
    core.handle(Trigger("notify"), 1.0)
    assert r_flags(core.poll(1.0).frames["eth0"].frames) == [False]
    core.handle(LinkChanged("eth0", 2, MAC, True, True, forwarding=True), 2.0)
    core.handle(Trigger("notify"), 2.0)
    assert r_flags(core.poll(2.0).frames["eth0"].frames) == [True]


def test_after_a_mac_change_the_new_mac_is_ours_and_the_old_one_is_not() -> None:
    """A frame from our new MAC claiming the VIP is ours; one from the old MAC is a
    conflict."""
    new = "02:00:00:00:00:77"
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.at(1.0, up(mac=mac_bytes(new)))
    s.at(2.0, NeighbourFrames("eth0", (claim(arp(1, new, str(VIP), str(VIP))),)))
    assert s.events("conflict") == []
    s.at(3.0, NeighbourFrames("eth0", (claim(arp(1, OURS, str(VIP), str(VIP))),)))
    assert [t for t, _ in s.events("conflict")] == [3.0]


def test_paced_mac_change_confirmation_counts_from_the_change() -> None:
    """Paced 1 s: the MAC change at 30 sends 2 packets by 31; a reply at 31.5 is 1500 ms
    after the change."""
    new = "02:00:00:00:00:77"
    s = sim(interval=1.0, master_repeat=2, master_delay=0.0, gateways=(GW,))
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.at(1.5, router_reply())
    s.at(30.0, up(mac=mac_bytes(new)))
    s.advance(31.0)
    s.at(31.5, router_reply(to=new))
    assert [(t, f["after_ms"]) for t, f in s.events("confirmed")] == [(1.5, 1500),
                                                                      (31.5, 1500)]


def test_a_stale_timer_never_fires_for_a_held_address() -> None:
    """Flap within one poll at 11: the old schedule's 15 s burst is not sent, the new
    one's at 16 is; a poll exactly EPSILON early is on time."""
    s = sim(master_repeat=1, master_delay=5.0)
    s.at(10.0, up(), AddressChanged("eth0", A1))
    s.at(11.0, up(carrier=False), up())
    out = s.core.poll(16.0 - EPSILON)
    assert sum(len(b) for b in out.frames.values()) == 1
    [announce] = out.records
    assert (announce.fields["reason"], "merged" in announce.fields) == ("link_up_delay", False)
    s.advance(30.0)
    assert [t for t, _ in s.timeline()] == [10.0, 11.0]


# --- notify and lower priority, exactly ------------------------------------------------------


def test_notify_record_counts_merged_and_started_addresses_exactly() -> None:
    """Three held addresses, two taken over 0.5 s ago and one 1.0 s ago (the window is
    strictly under 1 s): two merged, one started; the record carries the context, the
    group and both counts; the counters agree."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(0.5, AddressChanged("eth0", A2), AddressChanged("eth0", VIP))
    s.at(1.0, Trigger("notify", group="VI_1", merge=True,
                      context=(("source", "fifo"), ("state", "MASTER"))))
    assert s.events("notify_received") == [(1.0, {
        "source": "fifo", "state": "MASTER", "group": "VI_1", "started": 1,
        "merged": True, "merged_addresses": 2})]
    assert (s.core.counters["notify_merged"], s.core.counters["takeovers"]) == (2, 4)
    s.at(1.2, Trigger("notify", group="VI_1", merge=True))
    assert s.core.counters["notify_merged"] == 5
    assert s.events("notify_received")[-1][1]["merged_addresses"] == 3


def test_notify_without_merge_restarts_every_held_address() -> None:
    """merge off: every held address restarts, however recent its takeover."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2))
    s.at(0.1, Trigger("notify", group="VI_1"))
    assert [t for t, _ in s.timeline()] == [0.0, 0.0, 0.1, 0.1]
    assert s.events("notify_received")[0][1]["started"] == 2
    assert s.core.counters["takeovers"] == 4


def test_triggers_skip_unheld_and_unwatched_addresses() -> None:
    """By keys or for everything: addresses not held (link down) or not watched start
    nothing."""
    watches = {A1: Watch("G", Timing(master_repeat=1, master_delay=0.0))}
    s = Sim(ByAddress(watches))
    s.at(0.0, up(), up("eth1", ifindex=3), AddressChanged("eth0", A1),
         AddressChanged("eth0", A2), AddressChanged("eth1", A1))
    s.at(0.5, up("eth1", ifindex=3, carrier=False))
    s.at(1.0, Trigger("oneshot", keys=(("eth0", A1), ("eth0", A2), ("eth1", A1))))
    s.at(2.0, Trigger("oneshot"))
    assert [(x.t, x.ifname, x.address) for x in s.sent] == [
        (0.0, "eth0", "192.0.2.101"), (0.0, "eth1", "192.0.2.101"),
        (1.0, "eth0", "192.0.2.101"), (2.0, "eth0", "192.0.2.101")]
    assert s.core.counters["takeovers"] == 4


def test_lower_priority_for_a_group_with_nothing_held_starts_nothing() -> None:
    """Its addresses are down: no schedule, not counted as started, and no rate limit
    set (an advert right after the link returns starts one)."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=1, lower_prio_delay=0.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(1.0, up(carrier=False))
    s.at(2.0, LowerPriority("VI_1", record="lp", always=True))
    assert s.events("lp") == [(2.0, {"started": 0})]
    assert s.core.counters["lower_prio_started"] == 0
    s.at(2.2, up())
    s.at(2.5, LowerPriority("VI_1"))
    assert [t for t, _ in s.timeline()] == [0.0, 2.2, 2.5]


def test_lower_priority_delay_under_a_second() -> None:
    """lower_prio_delay 0.5: the second burst half a second later."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=1, lower_prio_delay=0.5)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    s.at(10.0, LowerPriority("VI_1"))
    s.advance(20.0)
    assert [t for t, _ in s.timeline()] == [0.0, 10.0, 10.5]


def test_paced_lower_priority_confirmation_counts_from_the_advert() -> None:
    """Paced 1 s, lower_prio_repeat 2: the burst ends 1 s after the advert; a reply 1.5 s
    after the advert is 1500 ms."""
    s = sim(interval=1.0, master_repeat=1, master_delay=0.0, lower_prio_repeat=2,
            lower_prio_delay=0.0, gateways=(GW,))
    s.at(0.0, up(), AddressChanged("eth0", VIP))
    s.at(0.5, router_reply())
    s.at(30.0, LowerPriority("VI_1"))
    s.advance(31.0)
    s.at(31.5, router_reply())
    assert [(t, f["after_ms"]) for t, f in s.events("confirmed")] == [(0.5, 500),
                                                                      (31.5, 1500)]


def test_a_poll_exactly_epsilon_early_sends_a_refresh_round_and_a_paced_slot() -> None:
    """Woken exactly EPSILON before a refresh round, or before a paced slot: both go."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, up(), AddressChanged("eth0", A1))
    out = s.core.poll(10.0 - EPSILON)
    assert [r.fields["reason"] for r in out.records] == ["refresh"]
    core = Announcer(StaticPolicy(Timing(master_repeat=2, master_delay=0.0), interval=1.0))
    core.handle(up(), 0.0)
    core.handle(AddressChanged("eth0", A1), 0.0)
    first = core.poll(0.0)
    assert first.frames["eth0"].owners == [("eth0", A1)]
    second = core.poll(1.0 - EPSILON)
    assert second.frames["eth0"].owners == [("eth0", A1)]
    [st] = core.status()
    assert (st.sent, st.last_sent) == (2, 1.0 - EPSILON)


def test_due_timers_keep_their_order_across_runs_of_pacer_packets_and_reason() -> None:
    """Timers due together are requested in runs of the same (pacer, packets, reason): the
    runs split where any of the three changes, a stale timer (an address released) in the
    middle is skipped, and the frames and records come out exactly as one request per
    timer gave them (round-robin per pacer, pacers in order of first use)."""
    a3, a4 = ipaddress.ip_address("192.0.2.103"), ipaddress.ip_address("192.0.2.104")
    twice = Timing(master_repeat=2, master_delay=0.5)
    once = Timing(master_repeat=1, master_delay=0.5)
    watches = {V6: Watch("G", once), A1: Watch("G", twice), A2: Watch("G", once),
               a3: Watch("G", once), a4: Watch("G", twice)}
    core = Announcer(ByAddress(watches))
    core.handle(up(), 10.0)
    for address in (V6, A1, A2, a3, a4):
        core.handle(AddressChanged("eth0", address), 10.0)
    core.poll(10.0)
    core.handle(AddressRemoved("eth0", A2), 10.2)
    core.poll(10.2)
    assert core.next_deadline() == 10.5
    out = core.poll(10.5)
    assert [describe(f)[1] for f in out.frames["eth0"].frames] == [
        str(V6), str(A1), str(a3), str(a4), str(A1), str(a4)]
    assert [(r.fields["address"], r.fields["reason"], r.fields["packets"])
            for r in out.records if r.event == "announce"] == [
        (str(V6), "master_delay", 1), (str(A1), "master_delay", 2),
        (str(a3), "master_delay", 1), (str(a4), "master_delay", 2)]
    assert core.next_deadline() is None


# --- records one at a time, frames kept per address ------------------------------------------


def test_iter_records_gives_each_record_once_built_or_not() -> None:
    """The events, then one ``announce`` per finished burst, as :attr:`records` lists them;
    once :attr:`records` was read, those very records (not the events and bursts again)."""
    core = Announcer(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
    for event in (up(), AddressChanged("eth0", A1), AddressChanged("eth0", A2),
                  AddressChanged("eth0", V6, dadfailed=True)):
        core.handle(event, 0.0)
    out = core.poll(0.0)
    records = list(out.iter_records())
    assert [(r.event, r.fields["address"]) for r in records] == [
        ("vip_acquired", "192.0.2.101"), ("vip_acquired", "192.0.2.102"),
        ("dad_failed", "2001:db8::100"), ("announce", "192.0.2.101"),
        ("announce", "192.0.2.102")]
    assert out.records == records
    assert [id(r) for r in out.iter_records()] == [id(r) for r in out.records]


class CountingCache(FrameCache):
    """A frame cache that notes every slot asked of it."""

    def __init__(self) -> None:
        super().__init__(limit=0)
        self.asked: list[tuple[str, str, str, bool]] = []

    def slot(self, mac: bytes, address: Address, mode: Mode,
             router: bool) -> tuple[bytes, ...]:
        self.asked.append((mac.hex(), str(address), mode, router))
        return super().slot(mac, address, mode, router)


def test_an_address_keeps_its_frames_until_mac_router_flag_or_mode_change() -> None:
    """Frames are built when an address is first held and again only when the MAC, the
    forwarding (R flag) or the mode they were built with changes: not on a re-acquire
    after a flap, nor on a reload that changes something else."""
    cache = CountingCache()
    request, reply = Timing(master_repeat=1, master_delay=0.0), Timing(
        master_repeat=1, master_delay=0.0, mode="reply")
    core = Announcer(StaticPolicy(request), cache)
    core.handle(up(), 0.0)
    core.handle(AddressChanged("eth0", A1), 0.0)
    core.poll(0.0)
    core.handle(up(carrier=False), 1.0)
    core.handle(up(), 2.0)
    core.poll(2.0)
    assert core.held() == [("eth0", A1)]
    core.handle(LinkChanged("eth0", 2, MAC, True, True, forwarding=True), 3.0)
    core.reconfigure(StaticPolicy(request, group="other"), 4.0)
    core.reconfigure(StaticPolicy(reply, group="other"), 5.0)
    core.handle(LinkChanged("eth0", 2, bytes(5) + b"\x01", True, True, forwarding=True), 6.0)
    core.handle(AddressChanged("eth0", A2), 7.0)
    out = core.poll(7.0)
    ours = MAC.hex()
    assert cache.asked == [
        (ours, "192.0.2.101", "request", False), (ours, "192.0.2.101", "request", True),
        (ours, "192.0.2.101", "reply", True), ("000000000001", "192.0.2.101", "reply", True),
        ("000000000001", "192.0.2.102", "reply", True)]
    assert [describe(f) for f in out.frames["eth0"].frames] == [
        ("reply", "192.0.2.101", "00:00:00:00:00:01"),
        ("reply", "192.0.2.102", "00:00:00:00:00:01")]


def test_the_cores_own_frame_cache_memoizes_no_slot() -> None:
    """Each address keeps its frames, so the core's default cache builds a slot anew each
    time (equal frames, another tuple); a cache handed to the core is the one used."""
    core = Announcer(StaticPolicy())
    one = core.frames.slot(MAC, A1, "both", False)
    again = core.frames.slot(MAC, A1, "both", False)
    assert again == one
    assert again is not one
    cache = FrameCache()
    assert Announcer(StaticPolicy(), cache).frames is cache


def test_unpaced_bursts_add_up_in_the_addresses_sent_count() -> None:
    """Unpaced, a takeover's two bursts of two: the status counts all four frames."""
    core = Announcer(StaticPolicy(Timing(master_repeat=2, master_delay=1.0)))
    core.handle(up(), 0.0)
    core.handle(AddressChanged("eth0", A1), 0.0)
    core.poll(0.0)
    core.poll(1.0)
    [st] = core.status()
    assert (st.sent, st.last_sent) == (4, 1.0)


def test_a_new_pacer_takes_its_own_interfaces_spacing() -> None:
    """eth1 paced at 2 s, eth0 not: each interface's pacer asks the policy for its own."""
    watches = {A1: Watch("G", Timing(master_repeat=2, master_delay=0.0)),
               A2: Watch("G", Timing(master_repeat=2, master_delay=0.0))}
    s = Sim(ByAddress(watches, {"eth1": (2.0, 2.0)}))
    s.at(0.0, up(), AddressChanged("eth0", A1), up("eth1", ifindex=3),
         AddressChanged("eth1", A2))
    s.advance(10.0)
    assert s.timeline() == [(0.0, "192.0.2.101"), (0.0, "192.0.2.101"),
                            (0.0, "192.0.2.102"), (2.0, "192.0.2.102")]
