"""The kernel's view of links and addresses, over rtnetlink (pyroute2), as core events.

Thin driver. :func:`snapshot` dumps every link and address; :class:`Watcher` subscribes to
RTM_NEWLINK / RTM_DELLINK / RTM_NEWADDR / RTM_DELADDR (and IPv6 netconf, for the NA Router
flag) on a non-blocking netlink socket read from the event loop: no polling. The few fields
garpd reads (a link's index, flags, type, name and MAC; an address, its index and flags) are
decoded with ``struct`` (:func:`parse_link_message`, :func:`parse_addr_message`) and turned
into :mod:`garpd.core` events, on :mod:`garpd.rtnl` (the one rtnetlink codec: message and
attribute walks, layouts). pyroute2's marshal is not imported here at all: importing it
costs ~22 MB of resident memory and ~60 ms per start (measured: a bare CPython 11 MB, with
``MarshalRtnl()`` 33 MB), more than the rest of a one-shot or of the daemon; the tests keep
pyroute2 as the reference encoder these decoders are checked against. When the
kernel reports that the socket overflowed (ENOBUFS), the watcher says so and the runner
re-reads the whole state and reconciles (:func:`reconcile`), losing no takeover.

The express peek: given ``express`` (the runner's
:meth:`~garpd.runner.Runner.express_v4`), when a wake-up reads one datagram and nothing
more, and it holds one IPv4 RTM_NEWADDR of a known interface
(:func:`garpd.rtnl.lone_new_v4`), the watcher offers that interface and address before
decoding anything: the address's first frame may leave before its event exists. Decoding
is then as always, and the event goes on to the runner. A read of more (a removal may be
queued behind the add) offers nothing.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import socket
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from garpd import lean, rtnl
from garpd.events import AddressChanged, AddressRemoved, Event, LinkChanged, LinkRemoved
from garpd.frames import Address
from garpd.lean import dataclass
from garpd.rtnl import (
    IFA_F_DADFAILED,
    IFA_F_TENTATIVE,
    IFLA_ADDRESS,
    IFLA_IFNAME,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_LINK,
)

if TYPE_CHECKING:
    import asyncio

RTM_NEWNETCONF = 80
RTNLGRP_IPV6_NETCONF = 25
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1

IFF_UP, IFF_LOOPBACK, IFF_RUNNING, IFF_NOARP, IFF_LOWER_UP = 0x1, 0x8, 0x40, 0x80, 0x10000
ARPHRD_ETHER = 1
RCVBUF = 8 << 20
#: The most one recv reads (a datagram of a dump or a burst is far smaller).
RECV_SIZE = 1 << 20
SO_RCVBUFFORCE = 33


def read_forwarding(ifname: str) -> bool:
    """Whether ``ifname`` forwards IPv6 (the NA Router flag), from /proc/sys."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding", encoding="ascii") as f:
            return f.read().strip() not in ("", "0")
    except (OSError, ValueError):
        return False


@dataclass(slots=True)
class State:
    """Links and addresses as one dump found them."""

    links: list[LinkChanged]
    addresses: list[AddressChanged]

    def events(self) -> list[Event]:
        """Links first, then addresses: the order the core wants them in."""
        return [*self.links, *self.addresses]


def _dump(kind: int, body: bytes) -> list[tuple[bytes, int, int]]:
    """One rtnetlink dump request; the answer as (datagram, offset, length) per message."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(rtnl.nlmsg(kind, NLM_F_REQUEST | NLM_F_DUMP, 1, body))
        out: list[tuple[bytes, int, int]] = []
        while True:
            data = sock.recv(1 << 20)
            for offset, length, mtype in rtnl.messages(data):
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    code = rtnl.error_code(data, offset)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                elif mtype == kind - 2:  # RTM_GETLINK -> RTM_NEWLINK, GETADDR -> NEWADDR
                    out.append((data, offset, length))
            if not data:
                return out


def snapshot(initial: bool = False, ifname: str | None = None) -> State:
    """Dump the current links and addresses (all, or those of ``ifname``)."""
    raw_links = _dump(RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0))
    links = [ev for ev in (parse_link_message(*m) for m in raw_links)
             if isinstance(ev, LinkChanged)]
    if ifname is not None:
        links = [ev for ev in links if ev.ifname == ifname]
    names = {ev.ifindex: ev.ifname for ev in links}
    raw_addrs = _dump(RTM_GETADDR, struct.pack("=BBBBI", 0, 0, 0, 0, 0)) if names else []
    addresses: list[AddressChanged] = []
    for data, offset, length in raw_addrs:
        ev = parse_addr_message(data, offset, length, names, initial)
        if isinstance(ev, AddressChanged):
            addresses.append(ev)
    return State(links, addresses)


def reconcile(state: State, known_links: dict[str, int],
              known_addresses: Iterable[tuple[str, Address]]) -> list[Event]:
    """Events that bring the core from what it knows to ``state`` (after an overflow)."""
    events: list[Event] = []
    present_links = {ev.ifname: ev.ifindex for ev in state.links}
    present = {(ev.ifname, ev.address) for ev in state.addresses}
    for key in known_addresses:
        if key not in present:
            events.append(AddressRemoved(*key))
    for name, index in known_links.items():
        if present_links.get(name) != index:
            events.append(LinkRemoved(name, index))
    events.extend(state.events())
    return events


def parse_link_message(data: bytes, offset: int, length: int
                       ) -> LinkChanged | LinkRemoved | None:
    """One RTM_NEWLINK / RTM_DELLINK message as a core event (None if not usable).

    Layout: nlmsghdr (16 bytes), ifinfomsg (16 bytes: family u8, pad u8, type u16, index
    i32, flags u32, change u32), then attributes: IFLA_IFNAME (NUL-terminated), IFLA_ADDRESS
    (the hardware address). Checked against pyroute2's encoder in tests/test_netlink.py.
    ``carrier`` is IFF_LOWER_UP and ``running`` IFF_RUNNING (the kernel sets it from the
    operstate): every RTM_NEWLINK, including the two a carrier change brings (LOWER_UP
    first, RUNNING once the link watcher made the link operational), is an event.
    """
    if length < 32:
        return None
    kind = struct.unpack_from("=H", data, offset + 4)[0]
    _family, ifi_type, index, flags = struct.unpack_from("=BxHiI", data, offset + 16)
    name = b""
    mac = b""
    for atype, value in rtnl.walk_attributes(data, offset + 32, offset + length):
        if atype == IFLA_IFNAME:
            name = value.split(b"\0", 1)[0]
        elif atype == IFLA_ADDRESS:
            mac = value
    if not name:
        return None
    try:
        ifname = name.decode()
    except UnicodeDecodeError:
        return None
    if kind == RTM_DELLINK:
        return LinkRemoved(ifname, index)
    return LinkChanged(
        ifname=ifname,
        ifindex=index,
        mac=mac,
        up=bool(flags & IFF_UP),
        carrier=bool(flags & IFF_LOWER_UP),
        running=bool(flags & IFF_RUNNING),
        noarp=bool(flags & IFF_NOARP),
        ethernet=ifi_type == ARPHRD_ETHER and not flags & IFF_LOOPBACK,
        forwarding=read_forwarding(ifname),
    )


def parse_addr_message(data: bytes, offset: int, length: int, names: dict[int, str],
                       initial: bool = False) -> AddressChanged | AddressRemoved | None:
    """One RTM_NEWADDR / RTM_DELADDR message as a core event (None if not usable).

    Decoded by :func:`garpd.rtnl.ifaddr` (layout there): IFA_LOCAL is the local address
    (IFA_ADDRESS the peer's on point-to-point links), IFA_FLAGS the 32-bit flags that
    supersede the 8-bit ones.
    """
    msg = rtnl.ifaddr(data, offset, length)
    if msg is None:
        return None
    kind, family, flags, index, local, peer = msg
    ifname = names.get(index)
    if ifname is None or family not in (socket.AF_INET, socket.AF_INET6):
        return None
    size = 4 if family == socket.AF_INET else 16
    raw = local if local is not None and len(local) == size else peer
    if raw is None or len(raw) != size:
        return None
    address: Address = (ipaddress.IPv4Address(raw) if family == socket.AF_INET
                        else ipaddress.IPv6Address(raw))
    if kind == RTM_DELADDR:
        return AddressRemoved(ifname, address)
    return AddressChanged(ifname, address, tentative=bool(flags & IFA_F_TENTATIVE),
                          dadfailed=bool(flags & IFA_F_DADFAILED), initial=initial)


class Subscription:
    """One rtnetlink socket subscribed to some multicast groups, read from an event loop:
    :meth:`start` adds its reader (``_readable``, the subclass's), :meth:`close` removes it
    and closes the socket. The receive buffer is RCVBUF (forced where CAP_NET_ADMIN allows),
    so a burst of messages overflows (ENOBUFS, then a re-sync) as late as possible."""

    def __init__(self, groups: int, rcvbuf: int = RCVBUF) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                                  socket.NETLINK_ROUTE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            with contextlib.suppress(OSError):  # SO_RCVBUFFORCE needs CAP_NET_ADMIN
                self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            self.sock.bind((0, groups))
        except OSError:
            self.sock.close()
            raise

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading from ``loop``."""
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._loop = None
        self.sock.close()

    def receive(self, limit: int | None = None) -> tuple[list[bytes], bool]:
        """The datagrams queued now (at most ``limit``), and whether the kernel dropped
        some since the last read (ENOBUFS: the caller must re-read the whole state)."""
        datagrams: list[bytes] = []
        overflow = False
        while limit is None or len(datagrams) < limit:
            try:
                data = self.sock.recv(RECV_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    overflow = True
                    continue
                break  # nothing else is expected; the next wake-up tries again
            if not data:
                break
            datagrams.append(data)
        return datagrams, overflow

    def _readable(self) -> None:
        raise NotImplementedError


class Watcher(Subscription):
    """Subscribes to rtnetlink and hands decoded core events to ``on_events``.

    ``on_overflow`` is called when the kernel dropped messages (ENOBUFS): the caller must
    re-read the full state. Start it *before* taking the snapshot so nothing falls between.
    """

    def __init__(self, on_events: Callable[[list[Event]], None],
                 on_overflow: Callable[[], None]) -> None:
        self._on_events = on_events
        self._on_overflow = on_overflow
        self._names: dict[int, str] = {}
        self._links: dict[int, LinkChanged] = {}
        self._resync = False
        #: The runner's :meth:`~garpd.runner.Runner.express_v4`, once set: asked for each
        #: IPv4 address added alone in a read, before anything is decoded.
        self.express: Callable[[str, bytes], bool] | None = None
        super().__init__(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
        # Whether anything is queued behind a datagram read (the express peek's question).
        self._queued = select.poll()
        self._queued.register(self.sock.fileno(), select.POLLIN)
        with contextlib.suppress(OSError):  # no IPv6: no Router flag to follow
            self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV6_NETCONF)

    def learn(self, state: State) -> None:
        """Remember ifindex -> name from a dump, to name addresses of later messages."""
        self._names = {ev.ifindex: ev.ifname for ev in state.links}
        self._links = {ev.ifindex: ev for ev in state.links}

    def read_pending(self) -> None:
        """Read and hand on whatever the kernel has queued now (nothing: one ``recv`` that
        would block); the runner calls it before a deadline's frames."""
        if self._loop is not None:
            self._readable()

    def _readable(self) -> None:
        events: list[Event] = []
        self._resync = False
        express = self.express
        if express is None:
            datagrams, overflow = self.receive()
        else:
            datagrams, overflow = self.receive(1)
            # One datagram and nothing queued behind it (no removal of the same address
            # waiting; asked with poll(), as a last recv raising costs ~12 µs cold): an
            # IPv4 address added alone in it is offered before anything is decoded (every
            # line here is on its first frame's path).
            if datagrams and not overflow and not self._queued.poll(0):
                added = rtnl.lone_new_v4(datagrams[0])
                if added is not None:
                    ifname = self._names.get(added[0])
                    if ifname is not None:
                        express(ifname, added[1])
            if datagrams or overflow:
                more, lost = self.receive()
                datagrams += more
                overflow = overflow or lost
        for data in datagrams:
            events.extend(self.decode(data))
        # Taken now: handing the events on may read again (the runner's between_slices).
        resync, self._resync = self._resync, False
        if overflow:
            # Some messages were lost: those read around the loss may describe a state
            # that is already gone (an add whose delete was dropped). Only the re-read
            # of the whole state is trusted.
            self._on_overflow()
            return
        if events:
            self._on_events(events)
        if resync:
            self._on_overflow()

    def decode(self, data: bytes) -> list[Event]:
        """Core events for one netlink datagram (decoded with ``struct``: see the module
        docstring; pyroute2's generic decoder cost ~0.3 ms an address message, most of
        garpd's first-frame latency, and its import ~22 MB)."""
        out: list[Event] = []
        names = self._names
        for offset, length, kind in rtnl.messages(data):
            if kind in (RTM_NEWADDR, RTM_DELADDR):
                event = parse_addr_message(data, offset, length, names)
                if event is not None:
                    out.append(event)
            elif kind in (RTM_NEWLINK, RTM_DELLINK):
                # In order: a link message names the addresses that follow it.
                self._link(parse_link_message(data, offset, length), out)
            elif kind == RTM_NEWNETCONF:
                self._netconf(out)
        return out

    def _link(self, event: LinkChanged | LinkRemoved | None, out: list[Event]) -> None:
        names = self._names
        if isinstance(event, LinkChanged):
            old = names.get(event.ifindex)
            if old is not None and old != event.ifname:
                # Renamed: the kernel re-announces no address, so the old name's
                # addresses go, and a resync files them under the new one.
                out.append(LinkRemoved(old, event.ifindex))
                self._resync = True
            names[event.ifindex] = event.ifname
            self._links[event.ifindex] = event
            out.append(event)
        elif isinstance(event, LinkRemoved):
            names.pop(event.ifindex, None)
            self._links.pop(event.ifindex, None)
            out.append(event)

    def _netconf(self, out: list[Event]) -> None:
        # IPv6 forwarding may have changed somewhere: re-read it for every link, re-state
        # those that changed.
        for index, last in list(self._links.items()):
            forwarding = read_forwarding(last.ifname)
            if forwarding != last.forwarding:
                self._links[index] = lean.replace(last, forwarding=forwarding)
                out.append(self._links[index])
