"""Exact timelines of the pure announcer core, driven with literal times."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from garpd.core import Announcer
from garpd.events import (
    AddressChanged,
    AddressRemoved,
    LinkChanged,
    LinkRemoved,
    LowerPriority,
    Trigger,
)
from garpd.frames import Address
from garpd.policy import StaticPolicy, Timing, Watch, WatchV4ByAddress
from tests.sim import Sim

MAC_A = bytes.fromhex("020000000002")
MAC_B = bytes.fromhex("020000000009")
A1, A2, A3 = (ipaddress.ip_address(f"192.0.2.{n}") for n in (101, 102, 103))
V6 = ipaddress.ip_address("2001:db8::100")


def link(mac: bytes = MAC_A, up: bool = True, carrier: bool = True, ifindex: int = 2,
         ifname: str = "eth0", forwarding: bool = False, running: bool | None = None
         ) -> LinkChanged:
    """An Ethernet interface in the given state (operational iff up with carrier, unless
    ``running`` says otherwise)."""
    if running is None:
        running = up and carrier
    return LinkChanged(ifname, ifindex, mac, up, carrier, forwarding=forwarding,
                       running=running)


def add(address: Address, ifname: str = "eth0", **flags: bool) -> AddressChanged:
    """The address appears on the interface."""
    return AddressChanged(ifname, address, **flags)


def sim(**timing: object) -> Sim:
    """A simulation where every address is watched with ``timing``, interval from kwargs."""
    interval = float(timing.pop("interval", 0.0))  # type: ignore[arg-type]
    na_interval = float(timing.pop("na_interval", 0.0))  # type: ignore[arg-type]
    policy = StaticPolicy(Timing(**timing), interval=interval,  # type: ignore[arg-type]
                          na_interval=na_interval)
    return Sim(policy)


def test_default_takeover_is_five_now_and_five_after_five_seconds() -> None:
    """keepalived's defaults: 5 packets at t0 and 5 more at t0 + 5 s, then silence."""
    s = sim()
    s.at(10.0, link(), add(A1))
    s.advance(100.0)
    assert s.timeline() == [(10.0, "192.0.2.101")] * 5 + [(15.0, "192.0.2.101")] * 5
    assert s.core.next_deadline() is None
    assert [f["reason"] for _, f in s.events("announce")] == ["master", "master_delay"]
    assert [f["packets"] for _, f in s.events("announce")] == [5, 5]


def test_burst_is_round_robin_across_addresses() -> None:
    """Within a burst packets go a1 a2 a3 a1 a2 a3, for the first and the delayed burst."""
    s = sim(master_repeat=2, master_delay=1.0)
    s.at(0.0, link(), add(A1), add(A2), add(A3))
    s.advance(10.0)
    order = ["192.0.2.101", "192.0.2.102", "192.0.2.103"] * 2
    assert s.timeline() == [(0.0, a) for a in order] + [(1.0, a) for a in order]


def test_zero_delay_means_a_single_burst() -> None:
    """master_delay = 0 sends only the first burst."""
    s = sim(master_repeat=3, master_delay=0.0)
    s.at(1.0, link(), add(A1))
    s.advance(60.0)
    assert s.timeline() == [(1.0, "192.0.2.101")] * 3
    assert s.core.next_deadline() is None


def test_refresh_starts_after_delay_plus_refresh_and_repeats_exactly() -> None:
    """Refresh bursts at t0 + delay + k*refresh, k = 1, 2, ..., without drift."""
    s = sim(master_repeat=1, master_delay=2.0, master_refresh=3.0, master_refresh_repeat=2)
    s.at(0.5, link(), add(A1))
    s.advance(12.0)
    times = [t for t, _ in s.timeline()]
    assert times == [0.5, 2.5, 5.5, 5.5, 8.5, 8.5, 11.5, 11.5]
    reasons = [f["reason"] for _, f in s.events("announce")]
    assert reasons == ["master", "master_delay", "refresh", "refresh", "refresh"]
    assert s.core.next_deadline() == 14.5


def test_refresh_with_zero_delay_starts_one_period_after_takeover() -> None:
    """With master_delay 0 the first refresh is at t0 + refresh."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=10.0)
    s.at(0.0, link(), add(A1))
    s.advance(35.0)
    assert [t for t, _ in s.timeline()] == [0.0, 10.0, 20.0, 30.0]


def test_release_cancels_delayed_burst_and_refresh() -> None:
    """Removing the address cancels its delayed burst and refresh; nothing is sent after."""
    s = sim(master_repeat=2, master_delay=5.0, master_refresh=1.0)
    s.at(0.0, link(), add(A1), add(A2))
    s.at(3.0, AddressRemoved("eth0", A1))
    s.advance(7.5)
    assert [x for x in s.timeline() if x[0] > 0] == [
        (5.0, "192.0.2.102"), (5.0, "192.0.2.102"), (6.0, "192.0.2.102"), (7.0, "192.0.2.102")]
    released = s.events("vip_released")
    assert released == [(3.0, {"interface": "eth0", "address": "192.0.2.101",
                               "group": "default", "why": "address_removed",
                               "cancelled": 0})]


def test_pacing_spaces_every_packet_round_robin() -> None:
    """interval 0.5 s: one packet per interval, round-robin, pending counts kept."""
    s = sim(master_repeat=3, master_delay=0.0, interval=0.5)
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(10.0)
    assert s.timeline() == [
        (0.0, "192.0.2.101"), (0.5, "192.0.2.102"), (1.0, "192.0.2.101"),
        (1.5, "192.0.2.102"), (2.0, "192.0.2.101"), (2.5, "192.0.2.102"),
    ]
    # The announce record of each burst comes with its last frame.
    assert [(t, f["address"], f["packets"]) for t, f in s.events("announce")] == [
        (2.0, "192.0.2.101", 3), (2.5, "192.0.2.102", 3)]


def test_pacing_keeps_every_repeat_unlike_keepalived_1760() -> None:
    """5 repeats with a 10 ms interval are 5 packets, not 2 (keepalived issue #1760)."""
    s = sim(master_repeat=5, master_delay=0.0, interval=0.01)
    s.at(0.0, link(), add(A1))
    s.advance(1.0)
    assert [t for t, _ in s.timeline()] == [0.0, 0.01, 0.02, 0.03, 0.04]


def test_cancel_mid_burst_drops_queued_packets() -> None:
    """A VIP removed while queued in the pacer sends nothing more; the others go on."""
    s = sim(master_repeat=3, master_delay=0.0, interval=0.5)
    s.at(0.0, link(), add(A1), add(A2))
    s.at(1.2, AddressRemoved("eth0", A1))
    s.advance(10.0)
    assert s.timeline() == [
        (0.0, "192.0.2.101"), (0.5, "192.0.2.102"), (1.0, "192.0.2.101"),
        (1.5, "192.0.2.102"), (2.0, "192.0.2.102"),
    ]
    assert s.events("vip_released")[0][1]["cancelled"] == 1
    assert [f["address"] for _, f in s.events("announce")] == ["192.0.2.102"]


def test_overlapping_bursts_merge_pending_counts() -> None:
    """A burst due while the address is still queued tops its pending count up to repeat."""
    s = sim(master_repeat=3, master_delay=2.0, interval=1.0)
    s.at(0.0, link(), add(A1))
    s.advance(20.0)
    # 0, 1 from the first burst; at 2 the delayed burst (3) merges with the 1 left.
    assert [t for t, _ in s.timeline()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    (_, rec), = s.events("announce")
    assert rec["reason"] == "master"
    assert rec["merged"] == ["master_delay"]


def test_pacing_is_per_interface_and_family() -> None:
    """IPv4 and IPv6 have their own queues; another interface is not slowed down."""
    s = sim(master_repeat=2, master_delay=0.0, interval=1.0, na_interval=0.25)
    s.at(0.0, link(), link(ifname="eth1", ifindex=3, mac=MAC_B),
         add(A1), add(V6), add(A2, ifname="eth1"))
    s.advance(10.0)
    got = sorted((t, s_.ifname, s_.address) for s_ in s.sent for t in [s_.t])
    assert got == [
        (0.0, "eth0", "192.0.2.101"), (0.0, "eth0", "2001:db8::100"),
        (0.0, "eth1", "192.0.2.102"), (0.25, "eth0", "2001:db8::100"),
        (1.0, "eth0", "192.0.2.101"), (1.0, "eth1", "192.0.2.102"),
    ]


def test_many_addresses_burst_in_one_poll() -> None:
    """2,000 addresses x 5: 10,000 frames in the first poll, in round-robin order."""
    addrs = [ipaddress.ip_address(f"198.18.{i // 250}.{i % 250 + 1}") for i in range(2000)]
    s = sim(master_delay=0.0)
    s.at(0.0, link(), *(add(a) for a in addrs))
    assert len(s.sent) == 10_000
    assert [x.address for x in s.sent[:2000]] == [str(a) for a in addrs]
    assert [x.address for x in s.sent[2000:4000]] == [str(a) for a in addrs]
    assert len(s.events("announce")) == 2000


def test_link_down_releases_and_link_up_is_a_new_takeover() -> None:
    """Carrier loss cancels everything; carrier back starts a link_up takeover."""
    s = sim(master_repeat=1, master_delay=1.0)
    s.at(0.0, link(), add(A1))
    s.at(0.5, link(carrier=False))
    s.at(3.0, link())
    s.advance(10.0)
    assert s.timeline() == [(0.0, "192.0.2.101"), (3.0, "192.0.2.101"), (4.0, "192.0.2.101")]
    reasons = [f["reason"] for _, f in s.events("announce")]
    assert reasons == ["master", "link_up", "link_up_delay"]
    assert s.events("vip_released")[0][1]["why"] == "link_down"


# --- FRR's vrrpd: a backup is a macvlan without carrier, the VIP kept on it -----------
#
# The messages below are those the kernel sends when vrrpd (through zebra) sets protodown
# on the macvlan vrrp4-2-5 and clears it (seen with `ip monitor link`, kernel 6.x):
#   protodown on:  <UP,RUNNING> (LOWER_UP off), then <UP> (operstate DOWN);
#   protodown off: <UP,LOWER_UP> with operstate still DOWN (RUNNING off), then, once the
#                  link watcher ran, <UP,LOWER_UP,RUNNING>.

MVL = "vrrp4-2-5"
VMAC = bytes.fromhex("00005e000105")


def mvl(carrier: bool, running: bool) -> LinkChanged:
    """FRR's macvlan for VRID 5 on ifindex 2, admin up."""
    return link(VMAC, True, carrier, ifindex=3, ifname=MVL, running=running)


def test_frr_backup_macvlan_without_carrier_is_never_held() -> None:
    """A VIP kept on a carrier-less macvlan (FRR backup) is not held and never announced,
    however often its address is restated."""
    s = sim(master_repeat=2, master_delay=1.0, master_refresh=2.0)
    s.at(0.0, mvl(carrier=False, running=False), add(A1, ifname=MVL, initial=True))
    s.at(3.0, add(A1, ifname=MVL))
    s.at(4.0, mvl(carrier=False, running=True))  # the first half of a protodown-on pair
    s.advance(20.0)
    assert s.sent == []
    assert s.core.held() == []
    assert s.events("vip_acquired") == []
    (status,) = s.core.status()
    assert (status.held, status.sent, status.next_send) == (False, 0, None)


def test_frr_carrier_back_waits_until_the_link_is_operational() -> None:
    """Carrier back (LOWER_UP) while operstate is still down starts nothing: frames sent
    then are dropped by the kernel. The takeover starts at the RUNNING message, with the
    master timing from there."""
    s = sim(master_repeat=2, master_delay=1.0, master_refresh=3.0)
    s.at(0.0, mvl(carrier=False, running=False), add(A1, ifname=MVL, initial=True))
    s.at(5.0, mvl(carrier=True, running=False))
    s.advance(5.004)
    assert s.sent == []
    s.at(5.004, mvl(carrier=True, running=True))
    s.advance(13.0)
    a1 = "192.0.2.101"
    assert s.timeline() == [(5.004, a1)] * 2 + [(6.004, a1)] * 2 + [(9.004, a1), (12.004, a1)]
    assert {x.mac for x in s.sent} == {"00:00:5e:00:01:05"}
    assert [(t, f["reason"]) for t, f in s.events("announce")] == [
        (5.004, "link_up"), (6.004, "link_up_delay"), (9.004, "refresh"), (12.004, "refresh")]
    assert s.events("vip_acquired") == [(5.004, {"interface": MVL, "address": a1,
                                                 "group": "default", "announce": True})]


def test_frr_failover_and_back_is_a_fresh_takeover_each_time() -> None:
    """Master, backup (protodown on: released at once, the delayed burst cancelled), master
    again (protodown off): every return of carrier with the address kept is a takeover with
    the full master timing, as for a new address."""
    s = sim(master_repeat=2, master_delay=1.0, master_refresh=5.0)
    s.at(0.0, mvl(carrier=True, running=True), add(A1, ifname=MVL))
    s.at(0.5, mvl(carrier=False, running=True))
    s.at(0.5, mvl(carrier=False, running=False))
    s.at(4.0, mvl(carrier=True, running=False))
    s.at(4.001, mvl(carrier=True, running=True))
    s.at(4.5, mvl(carrier=False, running=True), mvl(carrier=False, running=False))
    s.at(10.0, mvl(carrier=True, running=False), mvl(carrier=True, running=True))
    s.advance(16.5)
    a1 = "192.0.2.101"
    assert s.timeline() == ([(0.0, a1)] * 2 + [(4.001, a1)] * 2 + [(10.0, a1)] * 2
                            + [(11.0, a1)] * 2 + [(16.0, a1)])
    assert [(t, f["why"], f["cancelled"]) for t, f in s.events("vip_released")] == [
        (0.5, "link_down", 0), (4.5, "link_down", 0)]
    assert [t for t, _ in s.events("vip_acquired")] == [0.0, 4.001, 10.0]
    assert [f["reason"] for _, f in s.events("announce")] == [
        "master", "link_up", "link_up", "link_up_delay", "refresh"]
    assert s.core.next_deadline() == 21.0


def test_admin_down_noarp_and_non_ethernet_are_never_announced() -> None:
    """Nothing is sent on a down, NOARP or non-Ethernet (e.g. loopback) interface."""
    s = sim()
    s.at(0.0, link(up=False), add(A1),
         LinkChanged("lo", 1, b"\0" * 6, True, True, ethernet=False), add(A2, ifname="lo"),
         LinkChanged("tun0", 4, MAC_B, True, True, noarp=True), add(A3, ifname="tun0"))
    s.advance(60.0)
    assert s.sent == []
    assert s.core.next_deadline() is None


def test_mac_change_sends_burst_with_new_mac_and_queue_follows() -> None:
    """A MAC change bursts master_repeat at once from the new MAC; later frames use it."""
    s = sim(master_repeat=3, master_delay=2.0, interval=0.5)
    s.at(0.0, link(), add(A1))
    s.at(0.7, link(mac=MAC_B))
    s.advance(10.0)
    got = [(x.t, x.mac) for x in s.sent]
    old, new = "02:00:00:00:00:02", "02:00:00:00:00:09"
    # 0.0 and 0.5 from the old MAC; at 0.7 the queue holds 1 more, topped up to 3.
    assert got == [(0.0, old), (0.5, old), (1.0, new), (1.5, new), (2.0, new),
                   (2.5, new), (3.0, new)]
    assert s.events("announce")[-1][1]["mac"] == new


def test_repeated_newaddr_starts_nothing() -> None:
    """An RTM_NEWADDR for an address already held (lifetime refresh) sends nothing."""
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, link(), add(A1))
    s.at(1.0, add(A1))
    s.at(2.0, link())
    s.advance(10.0)
    assert s.timeline() == [(0.0, "192.0.2.101")]


def test_ipv6_waits_for_dad_and_never_announces_dadfailed() -> None:
    """No NA while tentative; NA when DAD completes; dadfailed is recorded, not announced."""
    other = ipaddress.ip_address("2001:db8::200")
    s = sim(master_repeat=1, master_delay=0.0)
    s.at(0.0, link(), add(V6, tentative=True), add(other, tentative=True))
    s.at(1.0, add(V6))
    s.at(1.5, add(other, tentative=True, dadfailed=True))
    s.advance(10.0)
    assert s.timeline() == [(1.0, "2001:db8::100")]
    assert s.sent[0].kind == "na"
    assert s.events("dad_failed") == [(1.5, {"interface": "eth0", "address": "2001:db8::200",
                                             "group": "default"})]


def test_initial_addresses_follow_announce_on_start() -> None:
    """Addresses found at start get the master schedule only with announce_on_start."""
    quiet = sim(master_delay=0.0, announce_on_start=False)
    quiet.at(0.0, link(), add(A1, initial=True))
    quiet.at(1.0, add(A2))
    assert {x.address for x in quiet.sent} == {"192.0.2.102"}
    loud = sim(master_delay=0.0, announce_on_start=True)
    loud.at(0.0, link(), add(A1, initial=True))
    assert {x.address for x in loud.sent} == {"192.0.2.101"}


def test_notify_merges_within_one_second_and_restarts_later() -> None:
    """MASTER within 1 s of the takeover is merged; later it restarts the master schedule."""
    s = sim(master_repeat=1, master_delay=2.0)
    s.at(0.0, link(), add(A1))
    s.at(0.4, Trigger("notify", group="default", merge=True))
    s.at(5.0, Trigger("notify", group="default", merge=True))
    s.advance(20.0)
    assert s.timeline() == [(0.0, "192.0.2.101"), (2.0, "192.0.2.101"),
                            (5.0, "192.0.2.101"), (7.0, "192.0.2.101")]
    notes = s.events("notify_received")
    assert [(t, f["merged"], f["started"]) for t, f in notes] == [(0.4, True, 0), (5.0, False, 1)]
    assert [f["reason"] for _, f in s.events("announce")] == [
        "master", "master_delay", "notify", "notify_delay"]


def test_notify_replaces_pending_delayed_burst() -> None:
    """A new takeover replaces the old schedule's delayed burst instead of adding one."""
    s = sim(master_repeat=1, master_delay=5.0)
    s.at(0.0, link(), add(A1))
    s.at(2.0, Trigger("notify", group="default", merge=True))
    s.advance(20.0)
    assert [t for t, _ in s.timeline()] == [0.0, 2.0, 7.0]


def test_oneshot_trigger_selects_keys() -> None:
    """A Trigger with keys starts the schedule only for those held addresses."""
    s = sim(master_repeat=2, master_delay=0.0, announce_on_start=False)
    s.at(0.0, link(), add(A1, initial=True), add(A2, initial=True))
    s.at(1.0, Trigger("oneshot", keys=(("eth0", A2),)))
    assert s.timeline() == [(1.0, "192.0.2.102")] * 2
    assert s.events("announce")[0][1]["reason"] == "oneshot"


def test_lower_priority_bursts_and_rate_limit() -> None:
    """Lower-prio: repeat now and after delay; a second advert within 1 s is ignored."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=2, lower_prio_delay=1.5)
    s.at(0.0, link(), add(A1))
    s.at(10.0, LowerPriority("default"))
    s.at(10.5, LowerPriority("default"))
    s.at(11.2, LowerPriority("default"))
    s.advance(20.0)
    assert [t for t, _ in s.timeline()] == [0.0, 10.0, 10.0, 11.2, 11.2, 11.5, 11.5,
                                            12.7, 12.7]
    assert s.core.counters["lower_prio_limited"] == 1
    assert [f["reason"] for _, f in s.events("announce")] == [
        "master", "lower_prio", "lower_prio", "lower_prio_delay", "lower_prio_delay"]


def test_lower_priority_ignored_when_repeat_zero_or_not_held() -> None:
    """lower_prio_repeat = 0 ignores adverts; a group holding nothing sends nothing."""
    s = sim(master_repeat=1, master_delay=0.0, lower_prio_repeat=0)
    s.at(0.0, link(), add(A1))
    s.at(5.0, LowerPriority("default"), LowerPriority("other"))
    s.advance(20.0)
    assert [t for t, _ in s.timeline()] == [0.0]


def test_reply_and_both_modes() -> None:
    """mode reply sends replies; both sends request then reply per repeat."""
    s = sim(master_repeat=2, master_delay=0.0, mode="both")
    s.at(0.0, link(), add(A1))
    assert [x.kind for x in s.sent] == ["request", "reply", "request", "reply"]
    assert s.events("announce")[0][1]["packets"] == 4
    r = sim(master_repeat=1, master_delay=0.0, mode="reply")
    r.at(0.0, link(), add(A1), add(V6))
    assert sorted(x.kind for x in r.sent) == ["na", "reply"]


def test_interface_recreated_under_same_name() -> None:
    """Deleted then re-created with a new ifindex: addresses on it start a new takeover."""
    s = sim(master_repeat=1, master_delay=3.0)
    s.at(0.0, link(), add(A1))
    s.at(1.0, LinkRemoved("eth0", 2))
    s.at(2.0, link(ifindex=7, mac=MAC_B), add(A1))
    s.advance(10.0)
    assert [(x.t, x.mac) for x in s.sent] == [
        (0.0, "02:00:00:00:00:02"), (2.0, "02:00:00:00:00:09"), (5.0, "02:00:00:00:00:09")]
    assert s.core.ifindex("eth0") == 7


def test_new_ifindex_without_removal_releases_old_addresses() -> None:
    """A LinkChanged with a new ifindex for a known name drops the old link's addresses."""
    s = sim(master_repeat=1, master_delay=3.0)
    s.at(0.0, link(), add(A1))
    s.at(1.0, link(ifindex=9))
    s.advance(10.0)
    assert s.timeline() == [(0.0, "192.0.2.101")]
    assert s.events("vip_released")[0][1]["why"] == "link_removed"


def test_groups_share_the_interface_pacer() -> None:
    """Two groups on one interface are paced by one queue."""

    class TwoGroups(WatchV4ByAddress):
        def watch(self, ifname: str, address: Address) -> Watch | None:
            group = "g1" if address == A1 else "g2"
            return Watch(group, Timing(master_repeat=2, master_delay=0.0))

        def pacing(self, ifname: str) -> tuple[float, float]:
            return (1.0, 0.0)

    s = Sim(TwoGroups())
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(10.0)
    assert [t for t, _ in s.timeline()] == [0.0, 1.0, 2.0, 3.0]
    s.at(20.0, LowerPriority("g2"))
    assert s.sent[-1].address == "192.0.2.102"


def test_unwatched_addresses_are_ignored() -> None:
    """An address the policy does not watch is never announced nor reported."""
    policy = StaticPolicy(Timing(master_delay=0.0), only=frozenset({("eth0", A1)}))
    s = Sim(policy)
    s.at(0.0, link(), add(A1), add(A2))
    assert {x.address for x in s.sent} == {"192.0.2.101"}
    assert [st.address for st in s.core.status()] == ["192.0.2.101"]


def test_status_shows_next_send_and_counts() -> None:
    """status() reports held state, sent counts and the next scheduled send."""
    s = sim(master_repeat=2, master_delay=5.0)
    s.at(1.0, link(), add(A1))
    (st,) = s.core.status()
    assert (st.held, st.sent, st.since, st.next_send, st.pending) == (True, 2, 1.0, 6.0, 0)


def test_idle_core_has_no_deadline() -> None:
    """With nothing scheduled the driver never needs to wake up."""
    core = Announcer(StaticPolicy())
    assert core.next_deadline() is None
    assert not core.poll(0.0)


@pytest.mark.parametrize("t", [0.0, 1e9])
def test_poll_tolerates_waking_a_hair_early(t: float) -> None:
    """A driver woken 0.1 us before the deadline still gets the due frames."""
    s = sim(master_repeat=1, master_delay=1.0)
    s.at(t, link(), add(A1))
    deadline = s.core.next_deadline()
    assert deadline == t + 1.0
    out = s.core.poll(deadline - 1e-7)
    assert sum(len(f) for f in out.frames.values()) == 1


# --- refresh cohorts: addresses taken over together share one refresh timer ------------


def refresh_times(s: Sim, address: str) -> list[float]:
    """When ``address`` got a refresh burst (its announce records with reason refresh)."""
    return [t for t, f in s.events("announce")
            if f["address"] == address and f["reason"] == "refresh"]


def test_refresh_grids_stay_apart_for_addresses_taken_over_at_different_times() -> None:
    """A1 and A2 start together, A3 later; a notify restarts A2: each keeps its own grid."""
    s = sim(master_repeat=1, master_delay=1.0, master_refresh=2.0)
    s.at(0.0, link(), add(A1), add(A2))
    s.at(0.5, add(A3))
    s.at(4.25, Trigger("notify", keys=(("eth0", A2),)))
    s.advance(10.0)
    assert refresh_times(s, "192.0.2.101") == [3.0, 5.0, 7.0, 9.0]
    assert refresh_times(s, "192.0.2.103") == [3.5, 5.5, 7.5, 9.5]
    assert refresh_times(s, "192.0.2.102") == [3.0, 7.25, 9.25]
    # Frames of one round go together, in the order the addresses joined the round.
    assert [a for t, a in s.timeline() if t == 3.0] == ["192.0.2.101", "192.0.2.102"]


def test_released_member_leaves_the_round_and_a_rejoin_starts_afresh() -> None:
    """An address removed between rounds gets no more refreshes; the others keep theirs;
    added back, it starts a takeover and a refresh grid of its own."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    s.at(0.0, link(), add(A1), add(A2), add(A3))
    s.at(1.5, AddressRemoved("eth0", A2))
    s.at(2.25, add(A2))
    s.advance(4.0)
    assert refresh_times(s, "192.0.2.101") == [1.0, 2.0, 3.0, 4.0]
    assert refresh_times(s, "192.0.2.103") == [1.0, 2.0, 3.0, 4.0]
    assert refresh_times(s, "192.0.2.102") == [1.0, 3.25]
    assert [a for t, a in s.timeline() if t == 2.0] == ["192.0.2.101", "192.0.2.103"]


def test_two_takeovers_at_the_same_moment_refresh_once() -> None:
    """A second takeover of the same address at the same time does not double its refresh."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    s.at(0.0, link(), add(A1), Trigger("notify"), Trigger("notify"))
    s.advance(3.0)
    assert [t for t, _ in s.timeline()] == [0.0, 1.0, 2.0, 3.0]


def test_missed_refresh_rounds_are_skipped_keeping_the_grid() -> None:
    """After a long stall (the host slept) a late poll sends one refresh, not one per
    missed round, and the next refresh is back on the grid t0 + k * refresh."""
    s = sim(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(1.0)
    # The stall: nothing polled between 1.0 and 500.3 (Sim.advance would poll each round).
    s.now = 500.3
    s.at(500.3)
    s.advance(502.0)
    assert [t for t, _ in s.timeline()] == [0.0] * 2 + [1.0] * 2 + [500.3] * 2 + \
        [501.0] * 2 + [502.0] * 2
    assert s.core.next_deadline() == 503.0


class TwoGroups(WatchV4ByAddress):
    """A1 in group "a" with ``first``; every other address in group "b" with ``second``."""

    def __init__(self, first: Timing, second: Timing) -> None:
        self.first = first
        self.second = second

    def watch(self, ifname: str, address: Address) -> Watch | None:
        return Watch("a", self.first) if address == A1 else Watch("b", self.second)

    def pacing(self, ifname: str) -> tuple[float, float]:
        return (0.0, 0.0)


def test_reload_changing_the_period_moves_only_that_group() -> None:
    """Reconfigure: the group whose period changed restarts its refresh from the reload,
    the other keeps its grid; both were in one round before."""
    fast = Timing(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    slow = Timing(master_repeat=1, master_delay=0.0, master_refresh=3.0)
    s = Sim(TwoGroups(fast, fast))
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(2.5)
    s.core.reconfigure(TwoGroups(fast, slow), 2.5)
    s.advance(9.0)
    assert refresh_times(s, "192.0.2.101") == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert refresh_times(s, "192.0.2.102") == [1.0, 2.0, 5.5, 8.5]


def test_status_lists_the_next_refresh_of_every_member() -> None:
    """status() shows each held address's next refresh (one cohort timer behind them)."""
    s = sim(master_repeat=1, master_delay=1.0, master_refresh=2.0, master_refresh_repeat=3)
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(3.5)
    upcoming = {st.address: st.upcoming for st in s.core.status()}
    assert upcoming == {"192.0.2.101": ((5.0, "refresh", 3),),
                        "192.0.2.102": ((5.0, "refresh", 3),)}


def test_reload_changing_mode_or_repeat_reaches_the_next_refresh_round() -> None:
    """Same period, new packet mode then new refresh repeat: the round after each reload
    sends the new count for the address whose watch changed, the old for the other."""
    base = Timing(master_repeat=1, master_delay=0.0, master_refresh=1.0)
    s = Sim(TwoGroups(base, base))
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(1.0)
    s.core.reconfigure(TwoGroups(base, replace(base, mode="both")), 1.5)
    s.advance(2.0)
    s.core.reconfigure(TwoGroups(base, replace(base, mode="both", master_refresh_repeat=3)), 2.5)
    s.advance(3.0)
    per_round = {t: [(x.address, x.kind) for x in s.sent if x.t == t] for t in (1.0, 2.0, 3.0)}
    a1, a2 = "192.0.2.101", "192.0.2.102"
    assert per_round[1.0] == [(a1, "request"), (a2, "request")]
    assert per_round[2.0] == [(a1, "request"), (a2, "request"), (a2, "reply")]
    assert per_round[3.0] == [(a1, "request")] + [(a2, "request"), (a2, "reply")] * 3


def test_lower_priority_for_several_groups_writes_one_record() -> None:
    """One advert for two groups starts both schedules and writes one record, with context."""
    timing = Timing(master_repeat=1, master_delay=0.0, lower_prio_repeat=1,
                    lower_prio_delay=0.0)
    sim = Sim(TwoGroups(timing, timing))
    sim.at(0.0, link(), add(A1), add(A2))
    sim.at(2.0, LowerPriority(("a", "b"), record="lower_prio_advert",
                              context=(("vrid", 51), ("priority", 100))))
    assert sim.events("lower_prio_advert") == [
        (2.0, {"vrid": 51, "priority": 100, "started": 2})]
    assert [t for t, _ in sim.timeline()] == [0.0, 0.0, 2.0, 2.0]
    # Within a second both groups are limited: no schedule, no record.
    sim.at(2.5, LowerPriority(("a", "b"), record="lower_prio_advert"))
    assert len(sim.events("lower_prio_advert")) == 1
    # ``always`` writes the record even when nothing started.
    sim.at(2.6, LowerPriority("a", record="notify_received", context=(("state", "x"),),
                              always=True))
    assert sim.events("notify_received") == [(2.6, {"state": "x", "started": 0})]
