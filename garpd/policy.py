"""The core's settings: how each watched address is announced (:class:`Timing`), why it is
watched (:class:`Watch`) and what the configuration tells the core (:class:`Policy`).

The configuration (:mod:`garpd.config`) implements :class:`Policy` for a TOML file;
:class:`StaticPolicy` serves one-shot commands and tests. A new announcement setting is a
field of :class:`Timing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any, Literal, Protocol

from garpd.events import AddrKey
from garpd.frames import Address, Mode
from garpd.lean import dataclass

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network


@dataclass(frozen=True, slots=True)
class Timing:
    """The announcement settings of one group; the defaults are keepalived's."""

    master_repeat: int = 5
    master_delay: float = 5.0
    master_refresh: float = 0.0
    master_refresh_repeat: int = 1
    lower_prio_delay: float = 5.0
    lower_prio_repeat: int = 5
    mode: Mode = "request"
    announce_on_start: bool = True
    conflict: Literal["defend", "log", "off"] = "defend"
    """Another MAC claims a held address: defend it, log it, or do not listen."""
    defend_interval: float = 10.0
    """At most one defence per address per this many seconds."""
    gateways: tuple[Address, ...] | Literal["auto"] = ()
    """Directed announcements and confirmation: these gateways, or the routes' ("auto")."""
    confirm_timeout: float = 1.0
    confirm_retries: int = 3


@dataclass(frozen=True, slots=True)
class Watch:
    """Why an address is watched: the group it belongs to and that group's timing."""

    group: str
    timing: Timing


class Policy(Protocol):
    """What the configuration tells the core: which addresses to watch, how to pace."""

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The group watching ``address`` on ``ifname``, or None to ignore it."""

    def watch_v4(self, ifname: str, ip: int) -> Watch | None:
        """:meth:`watch` of the IPv4 address whose value is ``ip`` (the daemon's express
        first frame asks before any address object is built)."""

    def pacing(self, ifname: str) -> tuple[float, float]:
        """(interval, na_interval) in seconds for ``ifname``."""


class WatchV4ByAddress:
    """A :class:`Policy`'s :meth:`~Policy.watch_v4` answered by its ``watch`` of the
    address object: for every policy but the daemon's (:class:`GroupPolicy`), whose first
    frames do not wait on it."""

    __slots__ = ()

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The subclass's."""
        raise NotImplementedError

    def watch_v4(self, ifname: str, ip: int) -> Watch | None:
        """:meth:`watch` of the IPv4 address whose value is ``ip``."""
        return self.watch(ifname, IPv4Address(ip))


@dataclass(frozen=True, slots=True)
class StaticPolicy(WatchV4ByAddress):
    """One timing for every address (or only for ``only``), one pacing for every interface."""

    timing: Timing = Timing()
    group: str = "default"
    interval: float = 0.0
    na_interval: float = 0.0
    only: frozenset[AddrKey] | None = None

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """Watch everything, or just the addresses in ``only``."""
        if self.only is not None and (ifname, address) not in self.only:
            return None
        return Watch(self.group, self.timing)

    def pacing(self, ifname: str) -> tuple[float, float]:
        """The same spacing on every interface."""
        return (self.interval, self.na_interval)


def timing_of(values: Mapping[str, Any]) -> Timing:
    """The :class:`Timing` of one group's effective settings (every ``[announce]`` key,
    already validated; delays and intervals as seconds), for the daemon's configuration
    and the hook's plain one alike."""
    return Timing(
        master_repeat=values["master_repeat"],
        master_delay=float(values["master_delay"]),
        master_refresh=float(values["master_refresh"]),
        master_refresh_repeat=values["master_refresh_repeat"],
        lower_prio_delay=float(values["lower_prio_delay"]),
        lower_prio_repeat=values["lower_prio_repeat"],
        mode=values["mode"],
        announce_on_start=values["announce_on_start"],
        conflict=values["conflict"],
        defend_interval=float(values["defend_interval"]),
        gateways=values["gateways"],
        confirm_timeout=float(values["confirm_timeout"]),
        confirm_retries=values["confirm_retries"],
    )


class GroupMember(Protocol):
    """What :class:`GroupPolicy` asks of a group."""

    @property
    def interface(self) -> str:
        """The interface the group's addresses live on."""

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The group's own addresses."""

    @property
    def networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The networks whose every address belongs to the group."""


class GroupPolicy:
    """The policy of a list of groups (the daemon's and the notify hook's): an address is
    watched by the first group on its interface holding it, or, with no groups at all, by
    ``default`` (except IPv6 link-local addresses: never VIPs, and the kernel announces them
    itself); an interface is paced by the largest interval of its groups (an interval is the
    *least* spacing between two packets there, shared by every group, so the strictest
    wins), else by ``default_pacing``."""

    def __init__(self, groups: Iterable[tuple[GroupMember, Watch, tuple[float, float]]],
                 default: Watch, default_pacing: tuple[float, float]) -> None:
        self._default = default
        self._default_pacing = default_pacing
        self._pacing: dict[str, tuple[float, float]] = {}
        # Per interface, an index answering watch() as a walk of the groups in order would
        # (the daemon asks for every address the kernel adds, before its first frame):
        # each address's first group (its rank and watch), and every network in group order.
        self._exact: dict[str, dict[Address, tuple[int, Watch]]] = {}
        self._networks: dict[str, list[tuple[int, IPv4Network | IPv6Network, Watch]]] = {}
        # The same for IPv4 by value (watch_v4): the addresses' own ints, and each network
        # as (rank, network value, mask value, watch).
        self._exact_v4: dict[str, dict[int, tuple[int, Watch]]] = {}
        self._networks_v4: dict[str, list[tuple[int, int, int, Watch]]] = {}
        for rank, (group, watch, (interval, na_interval)) in enumerate(groups):
            exact = self._exact.setdefault(group.interface, {})
            exact_v4 = self._exact_v4.setdefault(group.interface, {})
            first = (rank, watch)  # one tuple per group, shared by its addresses
            for address in group.addresses:
                exact.setdefault(address, first)
                if address.version == 4:
                    exact_v4.setdefault(int(address), first)
            self._networks.setdefault(group.interface, []).extend(
                (rank, network, watch) for network in group.networks)
            self._networks_v4.setdefault(group.interface, []).extend(
                (rank, int(network.network_address), int(network.netmask), watch)
                for network in group.networks if network.version == 4)
            old = self._pacing.get(group.interface, (0.0, 0.0))
            self._pacing[group.interface] = (max(old[0], interval), max(old[1], na_interval))

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The first group on ``ifname`` holding ``address``; with no groups, "default"."""
        if not self._exact:  # no groups at all
            if address.version == 6 and address.is_link_local:
                return None
            return self._default
        exact = self._exact.get(ifname)
        if exact is None:
            return None
        found = exact.get(address)
        for rank, network, watch in self._networks[ifname]:
            if found is not None and rank > found[0]:
                break  # the address's own group comes first
            if address in network:
                return watch
        return found[1] if found is not None else None

    def watch_v4(self, ifname: str, ip: int) -> Watch | None:
        """:meth:`watch` of the IPv4 address whose value is ``ip``, from the IPv4 index (an
        IPv6 network never holds an IPv4 address, so skipping them changes nothing)."""
        if not self._exact:  # no groups at all
            return self._default
        exact = self._exact_v4.get(ifname)
        if exact is None:
            return None
        found = exact.get(ip)
        for rank, network, mask, watch in self._networks_v4[ifname]:
            if found is not None and rank > found[0]:
                break  # the address's own group comes first
            if ip & mask == network:
                return watch
        return found[1] if found is not None else None

    def pacing(self, ifname: str) -> tuple[float, float]:
        """(interval, na_interval) of ``ifname``: the largest of its groups, else the
        default."""
        return self._pacing.get(ifname, self._default_pacing)
