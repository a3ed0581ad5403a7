"""GroupPolicy on its own: the default watch with no groups (every address but IPv6
link-local), the first group on the right interface wins, and an interface's pacing is
the largest of its groups' intervals."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from garpd.frames import Address
from garpd.lean import dataclass
from garpd.policy import GroupPolicy, Timing, Watch

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
