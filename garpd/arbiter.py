"""Which VRRP adverts show a split brain: the lower-priority decision, pure.

For every group with a ``vrid`` the arbiter knows the local priority (configured, or
learned from this host's own outgoing adverts for that VRID on that interface and family)
and the local advert source (learned likewise). An incoming advert for the VRID is *lower*
when its priority is lower than the local one, or equal with a lower source address, and
never when its priority is 0 (a router leaving). A lower advert becomes a
:class:`~garpd.core.LowerPriority` event for the group; the core then checks that the group
holds an address and applies the one-schedule-per-second limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from garpd.events import LowerPriority
from garpd.frames import Address
from garpd.vrrp import Advert, is_lower


@dataclass(frozen=True, slots=True)
class VrrpGroup:
    """What the arbiter needs of one configured group."""

    name: str
    interface: str
    vrid: int
    families: frozenset[int]
    priority: int | None = None


@dataclass(slots=True)
class _Local:
    priority: int | None
    source: Address | None = None
    configured: int | None = None
    """The first configured priority among the VRID's groups: it wins over an own advert's."""


@dataclass(slots=True)
class Arbiter:
    """Turns parsed adverts into LowerPriority events."""

    groups: list[VrrpGroup]
    counters: dict[str, int] = field(default_factory=lambda: {
        "vrrp_adverts": 0, "vrrp_own_adverts": 0, "vrrp_lower": 0, "vrrp_not_lower": 0,
        "vrrp_unmatched": 0, "vrrp_bad_checksum": 0})
    _local: dict[tuple[str, int, int], _Local] = field(default_factory=dict)
    _by_key: dict[tuple[str, int, int], list[VrrpGroup]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for group in self.groups:
            for family in group.families:
                key = (group.interface, group.vrid, family)
                self._by_key.setdefault(key, []).append(group)
                local = self._local.setdefault(key, _Local(group.priority, None,
                                                           group.priority))
                if local.configured is None:
                    local.priority = local.configured = group.priority

    def interfaces(self) -> set[str]:
        """The interfaces to listen on."""
        return {g.interface for g in self.groups}

    def local(self, ifname: str, vrid: int, family: int) -> tuple[int | None, Address | None]:
        """(local priority, local advert source) as known now."""
        local = self._local.get((ifname, vrid, family))
        return (None, None) if local is None else (local.priority, local.source)

    def advert(self, ifname: str, advert: Advert, outgoing: bool
               ) -> tuple[list[LowerPriority], dict[str, object] | None]:
        """Events for one advert seen on ``ifname``, and the log fields if it was lower."""
        if not advert.checksum_ok:
            self.counters["vrrp_bad_checksum"] += 1
            return [], None  # never trusted: not for learning, not for a schedule
        key = (ifname, advert.vrid, advert.family)
        groups = self._by_key.get(key)
        if groups is None:
            self.counters["vrrp_unmatched"] += 1
            return [], None
        local = self._local[key]
        if outgoing:
            self.counters["vrrp_own_adverts"] += 1
            if advert.priority != 0:
                configured = local.configured
                local.priority = configured if configured is not None else advert.priority
                local.source = advert.source
            return [], None
        self.counters["vrrp_adverts"] += 1
        if local.priority is None:
            lower = False  # no local priority known yet: nothing to compare with
        elif local.source is None:
            # A tie cannot be broken without our own source: only strictly lower counts.
            lower = 0 < advert.priority < local.priority
        else:
            lower = is_lower(advert.priority, advert.source, local.priority, local.source)
        if not lower:
            self.counters["vrrp_not_lower"] += 1
            return [], None
        self.counters["vrrp_lower"] += 1
        fields: dict[str, object] = {
            "interface": ifname, "vrid": advert.vrid, "priority": advert.priority,
            "source": str(advert.source), "local_priority": local.priority,
            "groups": [g.name for g in groups]}
        event = LowerPriority(tuple(g.name for g in groups), record="lower_prio_advert",
                              context=tuple(fields.items()))
        return [event], fields
