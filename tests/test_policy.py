"""GroupPolicy on its own: the default watch with no groups (every address but IPv6
link-local), the first group on the right interface wins, and an interface's pacing is
the largest of its groups' intervals."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from garpd.frames import Address
from garpd.lean import dataclass
from garpd.policy import GroupPolicy, Timing, Watch, timing_of

DEFAULT = Watch("default", Timing())
A = Watch("a", Timing(master_repeat=1))
B = Watch("b", Timing(master_repeat=2))


@dataclass(frozen=True, slots=True)
class Group:
    """A group member: an interface and a network of addresses."""

    interface: str
    network: str

    def contains(self, address: Address) -> bool:
        """Whether ``address`` is in the network."""
        return address in ip_network(self.network)


def test_no_group_watches_all_but_ipv6_link_local() -> None:
    """With no groups, IPv4 (link-local too) and global IPv6 get the default; fe80:: none."""
    policy = GroupPolicy([], DEFAULT, (0.5, 0.25))
    assert policy.watch("eth0", IPv4Address("192.0.2.1")) is DEFAULT
    assert policy.watch("eth0", IPv4Address("169.254.1.1")) is DEFAULT
    assert policy.watch("eth0", IPv6Address("2001:db8::1")) is DEFAULT
    assert policy.watch("eth0", IPv6Address("fe80::1")) is None
    assert policy.pacing("eth0") == (0.5, 0.25)


def test_first_group_on_the_interface_wins() -> None:
    """Order decides between overlapping groups; another interface or network gets None."""
    policy = GroupPolicy([(Group("eth0", "192.0.2.0/25"), A, (0.0, 0.0)),
                          (Group("eth0", "192.0.2.0/24"), B, (0.0, 0.0))], DEFAULT, (0.0, 0.0))
    assert policy.watch("eth0", IPv4Address("192.0.2.1")) is A
    assert policy.watch("eth0", IPv4Address("192.0.2.200")) is B
    assert policy.watch("eth1", IPv4Address("192.0.2.1")) is None
    assert policy.watch("eth0", IPv4Address("198.51.100.1")) is None
    assert policy.watch("eth0", IPv6Address("fe80::1")) is None


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
