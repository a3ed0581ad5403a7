"""Who may claim an address on the LAN: the pure rule behind ``conflict``, ``ours`` and
``gateway`` (SPEC: *Seeing the LAN*). No socket, no clock: the caller says what this host
has (:class:`Known`) and what a frame claimed.

A frame *claims* an address when a neighbour cache would learn "address is at MAC" from
it: an ARP frame claims its sender protocol address with its sender hardware address
(RFC 826's merge; a probe, sender 0.0.0.0, claims nothing), a neighbour advertisement its
target with its target link-layer address, a solicitation its source with its source
link-layer address. SPEC: "A frame from a MAC that is not one of this host's interface
MACs whose ARP sender protocol address, or NA target address, is the held address is a
*conflict*"; ``garpd watch`` also counts a configured address ("a configured or held
address from another MAC"). The daemon passes only what it holds; watch passes both.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Final

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

OURS: Final = "ours"
CONFLICT: Final = "conflict"
GATEWAY: Final = "gateway"


def is_conflict(address: Address, mac: bytes, *, ours: Container[bytes],
                watched: Container[Address]) -> bool:
    """Whether ``mac`` claiming ``address`` is a conflict: the address is one we watch
    (held, or configured), it is a real address (not a probe's 0.0.0.0 or ``::``) and the
    MAC is none of this host's interface MACs."""
    return not address.is_unspecified and address in watched and mac not in ours


@dataclass(frozen=True, slots=True)
class Known:
    """What this host is: its interface MACs (macvlans included), the addresses it holds,
    and from the configuration the addresses, networks, VRIDs and gateways it watches."""

    ours: frozenset[bytes] = frozenset()
    held: frozenset[Address] = frozenset()
    configured: frozenset[Address] = frozenset()
    networks: tuple[Network, ...] = ()
    vrids: frozenset[int] = frozenset()
    gateways: frozenset[Address] = frozenset()
    watched: frozenset[Address] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "watched", self.held | self.configured)

    def with_host(self, ours: Iterable[bytes], held: Iterable[Address]) -> Known:
        """The same configuration with a fresh view of this host's MACs and addresses."""
        return Known(frozenset(ours), frozenset(held), self.configured, self.networks,
                     self.vrids, self.gateways)

    def is_configured(self, address: Address) -> bool:
        """Whether ``address`` is a configured address or inside a configured network."""
        return address in self.configured or any(
            address.version == net.version and address in net for net in self.networks)

    def concerns(self, addresses: Iterable[Address], vrid: int | None = None) -> bool:
        """Whether a frame naming ``addresses`` (and VRRP ``vrid``) concerns the
        configuration: ``watch -c`` shows only such frames unless ``--all``."""
        if vrid is not None and vrid in self.vrids:
            return True
        return any(self.is_configured(a) for a in addresses)

    def notes(self, mac: bytes, claimed: Address | None) -> tuple[str, ...]:
        """The notes of a frame from ``mac`` that claims ``claimed`` (None: claims nothing):
        ``ours`` (from this host), else ``conflict``; ``gateway`` when a configured
        gateway is the claimer."""
        out: list[str] = []
        if mac in self.ours:
            out.append(OURS)
        elif claimed is not None and is_conflict(claimed, mac, ours=self.ours,
                                                 watched=self.watched):
            out.append(CONFLICT)
        if claimed is not None and claimed in self.gateways:
            out.append(GATEWAY)
        return tuple(out)
