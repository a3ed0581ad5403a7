"""GroupPolicy on its own: the default watch with no groups (every address but IPv6
link-local), the first group on the right interface wins, and an interface's pacing is
the largest of its groups' intervals."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from garpd.frames import Address
from garpd.lean import dataclass
from garpd.policy import GroupPolicy, StaticPolicy, Timing, Watch, timing_of

DEFAULT = Watch("default", Timing())
A = Watch("a", Timing(master_repeat=1))
B = Watch("b", Timing(master_repeat=2))


@dataclass(frozen=True, slots=True)
class Group:
    """A group member: an interface, a network of addresses, and addresses of its own."""

    interface: str
    network: str | None
    own: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The group's own addresses."""
        return tuple(ip_address(a) for a in self.own)

    @property
    def networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The one network, if any."""
        return (ip_network(self.network),) if self.network else ()

    def contains(self, address: Address) -> bool:
        """The reference: one of its addresses, or in its network."""
        return address in self.addresses or any(address in n for n in self.networks)


def test_no_group_watches_all_but_ipv6_link_local() -> None:
    """With no groups, IPv4 (link-local too) and global IPv6 get the default; fe80:: none."""
    policy = GroupPolicy([], DEFAULT, (0.5, 0.25))
    assert policy.watch("eth0", IPv4Address("192.0.2.1")) is DEFAULT
    assert policy.watch("eth0", IPv4Address("169.254.1.1")) is DEFAULT
    assert policy.watch("eth0", IPv6Address("2001:db8::1")) is DEFAULT
    assert policy.watch("eth0", IPv6Address("fe80::1")) is None
    assert policy.watch_v4("eth0", int(IPv4Address("169.254.1.1"))) is DEFAULT
    assert policy.pacing("eth0") == (0.5, 0.25)


def test_other_policies_answer_watch_v4_with_watch() -> None:
    """StaticPolicy (one-shots, tests) answers watch_v4 with its watch of the address: on
    this interface, this address only."""
    only = StaticPolicy(Timing(), only=frozenset({("eth0", IPv4Address("192.0.2.1"))}))
    assert only.watch_v4("eth0", int(IPv4Address("192.0.2.1"))) == Watch("default", Timing())
    assert only.watch_v4("eth1", int(IPv4Address("192.0.2.1"))) is None
    assert only.watch_v4("eth0", int(IPv4Address("192.0.2.2"))) is None


def test_first_group_on_the_interface_wins() -> None:
    """Order decides between overlapping groups; another interface or network gets None."""
    policy = GroupPolicy([(Group("eth0", "192.0.2.0/25"), A, (0.0, 0.0)),
                          (Group("eth0", "192.0.2.0/24"), B, (0.0, 0.0))], DEFAULT, (0.0, 0.0))
    assert policy.watch("eth0", IPv4Address("192.0.2.1")) is A
    assert policy.watch("eth0", IPv4Address("192.0.2.200")) is B
    assert policy.watch("eth1", IPv4Address("192.0.2.1")) is None
    assert policy.watch("eth0", IPv4Address("198.51.100.1")) is None
    assert policy.watch("eth0", IPv6Address("fe80::1")) is None


def test_a_group_s_own_address_and_an_earlier_network_keep_group_order() -> None:
    """An address listed by a later group is still the earlier network's; one listed by
    an earlier group is its own, whatever network follows; twice listed, the first."""
    policy = GroupPolicy([(Group("eth0", "192.0.2.0/25"), A, (0.0, 0.0)),
                          (Group("eth0", None, ("192.0.2.1", "192.0.2.200")), B, (0.0, 0.0)),
                          (Group("eth0", None, ("192.0.2.200", "2001:db8::1")), A,
                           (0.0, 0.0))], DEFAULT, (0.0, 0.0))
    assert policy.watch("eth0", IPv4Address("192.0.2.1")) is A
    assert policy.watch("eth0", IPv4Address("192.0.2.200")) is B
    assert policy.watch("eth0", IPv6Address("2001:db8::1")) is A
    assert policy.watch("eth0", IPv4Address("192.0.2.201")) is None


POOL = ["192.0.2.1", "192.0.2.130", "198.51.100.7", "2001:db8::1", "2001:db8:0:1::9",
        "::c000:201"]  # the last is 192.0.2.1's bits in IPv6: no IPv4 network holds it
NETS = [None, "192.0.2.0/24", "192.0.2.128/25", "0.0.0.0/0", "2001:db8::/64", "::/0",
        "::c000:200/120"]
WATCHES = [Watch(f"g{i}", Timing(master_repeat=i)) for i in range(6)]


@given(st.lists(st.tuples(st.sampled_from(["eth0", "eth1"]), st.sampled_from(NETS),
                          st.lists(st.sampled_from(POOL), max_size=3)),
                min_size=1, max_size=6),
       st.sampled_from(["eth0", "eth1", "eth2"]), st.sampled_from(POOL))
def test_watch_answers_as_a_walk_of_the_groups_in_order(
        spec: list[tuple[str, str | None, list[str]]], ifname: str, text: str) -> None:
    """Whatever the groups, the index answers as the first group on the interface whose
    addresses or network hold the address (the definition), watch for watch."""
    groups = [Group(i, n, tuple(own)) for i, n, own in spec]
    policy = GroupPolicy([(g, WATCHES[k], (0.0, 0.0)) for k, g in enumerate(groups)],
                         DEFAULT, (0.0, 0.0))
    address = ip_address(text)
    expected = next((WATCHES[k] for k, g in enumerate(groups)
                     if g.interface == ifname and g.contains(address)), None)
    assert policy.watch(ifname, address) is expected
    if address.version == 4:  # the daemon's express path asks by value: the same answer
        assert policy.watch_v4(ifname, int(address)) is expected


@given(st.lists(st.tuples(st.sampled_from(["eth0", "eth1"]),
                          st.sampled_from([n for n in NETS if n is None or ":" not in n]),
                          st.lists(st.sampled_from(POOL), max_size=3)),
                max_size=6),
       st.sampled_from(["eth0", "eth1", "eth2"]), st.integers(0, 2**32 - 1))
def test_watch_v4_answers_as_watch_for_any_ipv4_value(
        spec: list[tuple[str, str | None, list[str]]], ifname: str, value: int) -> None:
    """watch_v4 of any 32-bit value is watch of that IPv4 address, with groups or with
    none (the default, link-local or not)."""
    policy = GroupPolicy([(Group(i, n, tuple(own)), WATCHES[k], (0.0, 0.0))
                          for k, (i, n, own) in enumerate(spec)], DEFAULT, (0.0, 0.0))
    assert policy.watch_v4(ifname, value) is policy.watch(ifname, IPv4Address(value))


def test_pacing_is_the_largest_interval_per_interface() -> None:
    """Each of the two intervals is the max over the interface's groups; others: default."""
    policy = GroupPolicy([(Group("eth0", "192.0.2.0/25"), A, (0.5, 0.01)),
                          (Group("eth0", "192.0.2.128/25"), B, (0.1, 0.02)),
                          (Group("eth1", "198.51.100.0/24"), A, (0.003, 0.0))],
                         DEFAULT, (7.0, 8.0))
    assert policy.pacing("eth0") == (0.5, 0.02)
    assert policy.pacing("eth1") == (0.003, 0.0)
    assert policy.pacing("eth2") == (7.0, 8.0)


def test_timing_of_takes_every_key_and_makes_durations_floats() -> None:
    """Every ``[announce]`` key lands in its own field (each value unlike the default, so
    a key dropped or swapped shows); delays, intervals and timeouts become floats."""
    gateways = (IPv4Address("192.0.2.254"),)
    timing = timing_of({
        "master_repeat": 2, "master_delay": 3, "master_refresh": 60,
        "master_refresh_repeat": 4, "lower_prio_delay": 7, "lower_prio_repeat": 8,
        "mode": "both", "announce_on_start": False, "conflict": "log",
        "defend_interval": 11, "gateways": gateways, "confirm_timeout": 2,
        "confirm_retries": 9, "interval": 0.5})
    assert timing == Timing(
        master_repeat=2, master_delay=3.0, master_refresh=60.0, master_refresh_repeat=4,
        lower_prio_delay=7.0, lower_prio_repeat=8, mode="both", announce_on_start=False,
        conflict="log", defend_interval=11.0, gateways=gateways, confirm_timeout=2.0,
        confirm_retries=9)
    durations = (timing.master_delay, timing.master_refresh, timing.lower_prio_delay,
                 timing.defend_interval, timing.confirm_timeout)
    assert [type(value) for value in durations] == [float] * 5
    assert timing_of({**{f: getattr(Timing(), f) for f in (
        "master_repeat", "master_delay", "master_refresh", "master_refresh_repeat",
        "lower_prio_delay", "lower_prio_repeat", "mode", "announce_on_start", "conflict",
        "defend_interval", "gateways", "confirm_timeout", "confirm_retries")},
        "gateways": "auto"}) == Timing(gateways="auto")
