"""Reloads applied to the pure core (Announcer.reconfigure), driven with literal times."""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from garpd.events import AddressChanged, LinkChanged, Trigger
from garpd.frames import Address
from garpd.policy import Policy, StaticPolicy, Timing, Watch, WatchV4ByAddress
from tests.sim import Sim

MAC = bytes.fromhex("020000000002")
A1, A2 = ipaddress.ip_address("192.0.2.101"), ipaddress.ip_address("192.0.2.102")
V6 = ipaddress.ip_address("2001:db8::100")


@dataclass(frozen=True)
class Groups(WatchV4ByAddress):
    """Watches exactly the listed addresses, each with its own group and timing."""

    members: Mapping[Address, Watch] = field(default_factory=dict)
    interval: float = 0.0
    na_interval: float = 0.0

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The listed watch, on any interface."""
        return self.members.get(address)

    def pacing(self, ifname: str) -> tuple[float, float]:
        """The same spacing on every interface."""
        return (self.interval, self.na_interval)


def link() -> LinkChanged:
    """eth0, up with carrier."""
    return LinkChanged("eth0", 2, MAC, True, True)


def add(address: Address) -> AddressChanged:
    """``address`` appears on eth0."""
    return AddressChanged("eth0", address)


def reload(s: Sim, t: float, policy: Policy) -> None:
    """Run the simulation to ``t``, apply ``policy`` there, and poll once (as the runner)."""
    s.advance(t)
    s.core.reconfigure(policy, t)
    s.at(t)


def times(s: Sim, address: Address | None = None) -> list[float]:
    """Send times of every frame (of ``address`` only, if given)."""
    return [t for t, a in s.timeline() if address is None or a == str(address)]


def reasons(s: Sim, address: Address) -> list[str]:
    """The reasons of the announce records of ``address``, in order."""
    return [str(f["reason"]) for _, f in s.events("announce") if f["address"] == str(address)]


def test_reload_adding_a_group_for_a_held_address_starts_a_takeover() -> None:
    """An address on the interface that a reload starts watching gets the master schedule."""
    timing = Timing(master_repeat=2, master_delay=3.0)
    s = Sim(Groups({A2: Watch("g2", timing)}))
    s.at(0.0, link(), add(A1), add(A2))
    s.advance(9.0)
    assert times(s, A1) == []
    reload(s, 10.0, Groups({A1: Watch("g1", timing), A2: Watch("g2", timing)}))
    s.advance(30.0)
    assert times(s, A1) == [10.0, 10.0, 13.0, 13.0]
    assert times(s, A2) == [0.0, 0.0, 3.0, 3.0]  # the held one keeps its finished schedule
    assert reasons(s, A1) == ["master", "master_delay"]
    acquired = [(t, f) for t, f in s.events("vip_acquired") if f["address"] == str(A1)]
    assert acquired == [(10.0, {"interface": "eth0", "address": str(A1), "group": "g1",
                                "announce": True})]
    assert [(st.address, st.group, st.held, st.since) for st in s.core.status()
            if st.address == str(A1)] == [(str(A1), "g1", True, 10.0)]
    # The new group is known to notify.
    s.at(20.0, Trigger("notify", group="g1", merge=True))
    assert times(s, A1)[-2:] == [20.0, 20.0]


def test_reload_removing_the_watch_releases_and_cancels_everything() -> None:
    """No longer watched: released, queued packets, the delayed burst and refresh cancelled."""
    timing = Timing(master_repeat=3, master_delay=5.0, master_refresh=2.0)
    s = Sim(Groups({A1: Watch("g", timing), A2: Watch("g", timing)}, interval=0.5))
    s.at(0.0, link(), add(A1), add(A2))
    reload(s, 0.7, Groups({A2: Watch("g", timing)}, interval=0.5))
    s.advance(12.0)
    assert times(s, A1) == [0.0]
    assert times(s, A2) == [0.5, 1.0, 1.5, 5.0, 5.5, 6.0, 7.0, 9.0, 11.0]
    assert s.events("vip_released") == [(0.7, {
        "interface": "eth0", "address": str(A1), "group": "g", "why": "unwatched",
        "cancelled": 2})]
    assert reasons(s, A1) == []
    assert ("eth0", A1) not in s.core.held()
    assert [st.address for st in s.core.status()] == [str(A2)]


def test_reload_removing_the_only_watch_leaves_nothing_scheduled() -> None:
    """With its only address unwatched the core has no deadline left."""
    timing = Timing(master_repeat=1, master_delay=5.0, master_refresh=2.0)
    s = Sim(Groups({A1: Watch("g", timing)}))
    s.at(0.0, link(), add(A1))
    reload(s, 1.0, Groups({}))
    assert s.core.next_deadline() is None
    s.advance(100.0)
    assert times(s) == [0.0]


def test_reload_changing_master_refresh_restarts_it_from_the_reload_time() -> None:
    """Turning refresh on mid-takeover keeps the pending master_delay burst."""
    before = Timing(master_repeat=1, master_delay=5.0, master_refresh=0.0)
    s = Sim(StaticPolicy(before))
    s.at(0.0, link(), add(A1))
    reload(s, 1.0, StaticPolicy(dataclasses.replace(before, master_refresh=10.0)))
    s.advance(40.0)
    assert times(s) == [0.0, 5.0, 11.0, 21.0, 31.0]
    assert reasons(s, A1) == ["master", "master_delay", "refresh", "refresh", "refresh"]


def test_reload_changing_the_refresh_period_drops_the_old_period() -> None:
    """A new period restarts refresh at reload + period; the old period's timer is void."""
    before = Timing(master_repeat=1, master_delay=2.0, master_refresh=3.0)
    s = Sim(StaticPolicy(before))
    s.at(0.0, link(), add(A1))
    reload(s, 6.0, StaticPolicy(dataclasses.replace(before, master_refresh=10.0)))
    s.advance(30.0)
    assert times(s) == [0.0, 2.0, 5.0, 16.0, 26.0]


def test_reload_turning_refresh_off_stops_it() -> None:
    """master_refresh 0 after a reload: no refresh is sent any more."""
    before = Timing(master_repeat=1, master_delay=2.0, master_refresh=3.0)
    s = Sim(StaticPolicy(before))
    s.at(0.0, link(), add(A1))
    reload(s, 6.0, StaticPolicy(dataclasses.replace(before, master_refresh=0.0)))
    s.advance(60.0)
    assert times(s) == [0.0, 2.0, 5.0]
    assert s.core.next_deadline() is None


@pytest.mark.parametrize("new_refresh", [10.0, 0.0])
def test_status_and_deadline_forget_a_voided_refresh(new_refresh: float) -> None:
    """After a reload changes master_refresh, status and next_deadline show the new plan."""
    before = Timing(master_repeat=1, master_delay=2.0, master_refresh=3.0)
    s = Sim(StaticPolicy(before))
    s.at(0.0, link(), add(A1))
    reload(s, 6.0, StaticPolicy(dataclasses.replace(before, master_refresh=new_refresh)))
    expected = 16.0 if new_refresh else None
    (st,) = s.core.status()
    assert st.next_send == expected
    assert s.core.next_deadline() == expected


def test_reload_changing_interval_repaces_queued_packets() -> None:
    """A smaller interval spaces the rest of a queued burst at the new interval."""
    timing = Timing(master_repeat=6, master_delay=0.0)
    s = Sim(StaticPolicy(timing, interval=1.0))
    s.at(0.0, link(), add(A1))
    reload(s, 1.5, StaticPolicy(timing, interval=0.25))
    s.advance(10.0)
    sent = times(s)
    assert len(sent) == 6
    assert sent[:2] == [0.0, 1.0]
    after = sent[2:]
    assert 1.5 <= after[0] <= 2.0  # no later than the old pace would have sent it
    assert [round(b - a, 6) for a, b in itertools.pairwise(after)] == [0.25] * 3
    (rec,) = s.events("announce")
    assert rec[1]["packets"] == 6


def test_reload_to_no_interval_sends_the_queue_at_once() -> None:
    """interval 0 after a reload: what is still queued leaves together."""
    timing = Timing(master_repeat=5, master_delay=0.0)
    s = Sim(StaticPolicy(timing, interval=1.0))
    s.at(0.0, link(), add(A1), add(A2))
    reload(s, 1.5, StaticPolicy(timing, interval=0.0))
    s.advance(10.0)
    sent = times(s)
    assert sent[:2] == [0.0, 1.0]
    assert len(sent) == 10
    assert len(set(sent[2:])) == 1
    assert 1.5 <= sent[2] <= 2.0
    # Round-robin is kept for the rest: a1 a2 a1 a2 ... after a1 (t=0), a2 (t=1).
    assert [a for _, a in s.timeline()][2:] == [str(A1), str(A2)] * 4


def test_reload_changing_na_interval_leaves_ipv4_pacing_alone() -> None:
    """na_interval paces only IPv6; the IPv4 queue keeps its interval."""
    timing = Timing(master_repeat=3, master_delay=0.0)
    s = Sim(StaticPolicy(timing, interval=1.0, na_interval=1.0))
    s.at(0.0, link(), add(A1), add(V6))
    reload(s, 0.5, StaticPolicy(timing, interval=1.0, na_interval=0.0))
    s.advance(10.0)
    assert times(s, A1) == [0.0, 1.0, 2.0]
    v6 = times(s, V6)
    assert v6[0] == 0.0
    assert len(v6) == 3
    assert v6[1] == v6[2] <= 1.0


def test_reload_widening_interval_spaces_from_the_last_packet() -> None:
    """After interval 0.25 -> 1.0, no two packets are closer than 1.0 from then on."""
    timing = Timing(master_repeat=5, master_delay=0.0)
    s = Sim(StaticPolicy(timing, interval=0.25))
    s.at(0.0, link(), add(A1))
    reload(s, 0.3, StaticPolicy(timing, interval=1.0))
    s.advance(10.0)
    sent = times(s)
    assert sent[:2] == [0.0, 0.25]
    assert len(sent) == 5
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(sent[1:]))


def test_reload_changing_mode_changes_the_frames() -> None:
    """request -> reply between the bursts: the delayed burst sends replies; NA unchanged."""
    before = Timing(master_repeat=2, master_delay=3.0, mode="request")
    s = Sim(StaticPolicy(before))
    s.at(0.0, link(), add(A1), add(V6))
    reload(s, 1.0, StaticPolicy(dataclasses.replace(before, mode="reply")))
    s.advance(10.0)
    got = [(x.t, x.address, x.kind) for x in s.sent if x.address == str(A1)]
    assert got == [(0.0, str(A1), "request")] * 2 + [(3.0, str(A1), "reply")] * 2
    assert {x.kind for x in s.sent if x.address == str(V6)} == {"na"}
    assert all(x.mac == "02:00:00:00:00:02" for x in s.sent)


def test_reload_changing_mode_applies_to_queued_packets() -> None:
    """Packets still queued in the interval pacer go out in the new mode."""
    before = Timing(master_repeat=3, master_delay=0.0, mode="request")
    s = Sim(StaticPolicy(before, interval=0.5))
    s.at(0.0, link(), add(A1))
    reload(s, 0.7, StaticPolicy(dataclasses.replace(before, mode="reply"), interval=0.5))
    s.advance(10.0)
    assert [(x.t, x.kind) for x in s.sent] == [(0.0, "request"), (0.5, "request"),
                                               (1.0, "reply")]


def test_reload_with_an_equal_policy_changes_nothing() -> None:
    """Reloading the same settings leaves the timeline exactly as it was."""
    timing = Timing(master_repeat=2, master_delay=2.0, master_refresh=3.0)
    plain = Sim(StaticPolicy(timing, interval=0.5))
    plain.at(0.0, link(), add(A1), add(A2))
    plain.advance(20.0)
    reloaded = Sim(StaticPolicy(timing, interval=0.5))
    reloaded.at(0.0, link(), add(A1), add(A2))
    reload(reloaded, 0.7, StaticPolicy(timing, interval=0.5))
    reload(reloaded, 6.2, StaticPolicy(timing, interval=0.5))
    reloaded.advance(20.0)
    assert reloaded.timeline() == plain.timeline()
    assert reloaded.events("vip_released") == []


def test_reload_moving_an_address_to_another_group() -> None:
    """After a reload moves A1 from g1 to g2, notify for g2 selects it and g1 does not."""
    timing = Timing(master_repeat=1, master_delay=0.0)
    s = Sim(Groups({A1: Watch("g1", timing)}))
    s.at(0.0, link(), add(A1))
    reload(s, 5.0, Groups({A1: Watch("g2", timing)}))
    s.at(10.0, Trigger("notify", group="g1", merge=True))
    s.at(12.0, Trigger("notify", group="g2", merge=True))
    assert times(s) == [0.0, 12.0]
    assert s.events("vip_released") == []
    assert [f["group"] for _, f in s.events("announce")] == ["g1", "g2"]
