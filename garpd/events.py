"""The core's inputs: what the kernel, keepalived and the operator tell the announcer.

Drivers turn netlink messages, VRRP adverts, notify hooks, FIFO lines and commands into
these plain values and hand them to :meth:`garpd.core.Announcer.handle` with the time they
happened. A new kind of input (a new trigger, a new kernel fact) starts here.
"""

from __future__ import annotations

from garpd.frames import Address
from garpd.lean import dataclass
from garpd.neighbour_wire import Claim

AddrKey = tuple[str, Address]
"""An address is known by (interface name, address); interfaces are followed by name."""


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """The full current state of an interface (new, or changed in any way).

    ``up`` is IFF_UP (administratively up), ``carrier`` IFF_LOWER_UP (the kernel's carrier
    bit), ``running`` IFF_RUNNING (RFC 2863 operstate up, or unknown for drivers that keep
    none). The kernel reports carrier back *before* the link is operational: a message with
    LOWER_UP and operstate still down comes first (the device's queue is not active yet, and
    frames sent then are dropped without an error), the one with RUNNING follows once the
    kernel's link watcher has run. FRR's vrrpd turns a backup's macvlan off and on this way.
    """

    ifname: str
    ifindex: int
    mac: bytes
    up: bool
    carrier: bool
    noarp: bool = False
    ethernet: bool = True
    forwarding: bool = False
    running: bool = True


@dataclass(frozen=True, slots=True)
class LinkRemoved:
    """An interface is gone."""

    ifname: str
    ifindex: int


@dataclass(frozen=True, slots=True)
class AddressChanged:
    """An address is on an interface, with its current flags (new or changed)."""

    ifname: str
    address: Address
    tentative: bool = False
    dadfailed: bool = False
    initial: bool = False
    """True while the driver replays the state found at start-up."""


@dataclass(frozen=True, slots=True)
class AddressRemoved:
    """An address left an interface."""

    ifname: str
    address: Address


@dataclass(frozen=True, slots=True)
class Trigger:
    """Start the master schedule for held addresses (notify, oneshot, ...).

    ``group`` selects the group's held addresses; ``keys`` selects addresses directly;
    with neither, every held watched address. ``merge`` merges addresses whose takeover
    began less than :data:`NOTIFY_MERGE_WINDOW` ago instead of starting a new one.
    """

    trigger: str
    group: str | None = None
    keys: tuple[AddrKey, ...] | None = None
    merge: bool = False
    context: tuple[tuple[str, object], ...] = ()
    """Extra fields for the ``notify_received`` record (source, type, name, state)."""


@dataclass(frozen=True, slots=True)
class LowerPriority:
    """A lower-priority VRRP advert (or keepalived's MASTER_RX_LOWER_PRI) for a group, or
    for several at once (one advert can concern every group of a VRID).

    With ``record``, the core writes one record of that name with ``context`` and
    ``started`` (how many groups started a schedule): when one started, or always with
    ``always``.
    """

    group: str | tuple[str, ...]
    record: str | None = None
    context: tuple[tuple[str, object], ...] = ()
    always: bool = False


@dataclass(frozen=True, slots=True)
class NeighbourFrames:
    """ARP / NS / NA frames the neighbour listener read on an interface, parsed, in order
    (one event per wake-up of the listener, not per frame)."""

    ifname: str
    claims: tuple[Claim, ...]


@dataclass(frozen=True, slots=True)
class GatewaysChanged:
    """``["auto"]``: the main table's next hops out of ``ifname`` of IP ``family`` (4|6)."""

    ifname: str
    family: int
    gateways: frozenset[Address]


@dataclass(frozen=True, slots=True)
class NeighbourChanged:
    """The kernel's neighbour entry for ``ip`` on ``ifname``: its MAC, or None when gone or
    not valid (directed requests then go to broadcast / solicited-node multicast)."""

    ifname: str
    ip: Address
    mac: bytes | None


Event = (LinkChanged | LinkRemoved | AddressChanged | AddressRemoved | Trigger | LowerPriority
         | NeighbourFrames | GatewaysChanged | NeighbourChanged)
