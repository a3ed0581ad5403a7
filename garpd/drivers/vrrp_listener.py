"""Passive VRRP listening: one AF_PACKET socket per interface, filtered to VRRP in-kernel.

Thin driver. Each socket is bound to its interface with ETH_P_ALL, so it sees adverts
arriving (multicast 224.0.0.18 / ff02::12 and unicast) *and* this host's own outgoing
adverts (packet type PACKET_OUTGOING), from which the local priority is learned. A classic
BPF filter, attached before the socket is bound, passes only IPv4 protocol 112 and IPv6
next-header 112, so nothing else ever reaches Python. The interface is made to accept the
VRRP multicast MACs (PACKET_ADD_MEMBERSHIP) even when no VRRP daemon runs here. Parsing is
:mod:`garpd.vrrp`'s; malformed packets are counted and logged at most every 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Any

from garpd import bpf
from garpd.vrrp import Advert, VrrpError, parse_frame

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0
PACKET_MR_PROMISC = 1
VRRP_MACS = (bytes.fromhex("01005e000012"), bytes.fromhex("333300000012"))
MALFORMED_LOG_EVERY = 10.0


def join_vrrp_groups(sock: socket.socket, ifindex: int, *, promisc: bool = False) -> None:
    """Make the interface accept the VRRP multicast MACs (and every frame if ``promisc``)
    while ``sock`` is open; a membership the interface refuses is skipped."""
    memberships = [struct.pack("iHH8s", ifindex, PACKET_MR_MULTICAST, 6, mac)
                   for mac in VRRP_MACS]
    if promisc:  # dropped by the kernel when the socket closes
        memberships.append(struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b""))
    for mreq in memberships:
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)


def open_socket(ifname: str) -> socket.socket:
    """A non-blocking AF_PACKET socket on ``ifname`` that receives only VRRP frames."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
    try:
        bpf.attach(sock, bpf.VRRP_FILTER)
        sock.bind((ifname, ETH_P_ALL))
        join_vrrp_groups(sock, socket.if_nametoindex(ifname))
    except OSError:
        sock.close()
        raise
    return sock


class VrrpListener:
    """Reads VRRP adverts on some interfaces and hands them to ``on_advert``."""

    def __init__(self, on_advert: Callable[[str, Advert, bool], None], log: Any,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._on_advert = on_advert
        self.log = log
        self._loop = loop
        self._socks: dict[str, tuple[int, socket.socket]] = {}
        # vrrp_result_*: one counter per result (ok, bad_checksum, auth_hmac, malformed),
        # to become garpd_vrrp_adverts_total{result}.
        self.counters = {"vrrp_received": 0, "vrrp_malformed": 0, "vrrp_result_ok": 0,
                         "vrrp_result_bad_checksum": 0, "vrrp_result_auth_hmac": 0,
                         "vrrp_result_malformed": 0}
        self._malformed_logged: dict[str, float] = {}

    def listening(self) -> dict[str, int]:
        """Interfaces listened on now, name -> ifindex."""
        return {name: index for name, (index, _sock) in self._socks.items()}

    def open(self, ifname: str, ifindex: int) -> None:
        """Listen on ``ifname`` (re-opening if it was re-created with a new ifindex)."""
        entry = self._socks.get(ifname)
        if entry is not None and entry[0] == ifindex:
            return
        self.close_interface(ifname)
        try:
            sock = open_socket(ifname)
        except OSError as exc:
            self.log.error("vrrp_listen_failed", interface=ifname, error=exc.strerror)
            return
        self._socks[ifname] = (ifindex, sock)
        self._loop.add_reader(sock.fileno(), self._readable, ifname, sock)

    def close_interface(self, ifname: str) -> None:
        """Stop listening on ``ifname``."""
        entry = self._socks.pop(ifname, None)
        if entry is not None:
            self._loop.remove_reader(entry[1].fileno())
            entry[1].close()

    def close(self) -> None:
        """Stop listening everywhere."""
        for ifname in list(self._socks):
            self.close_interface(ifname)

    def _readable(self, ifname: str, sock: socket.socket) -> None:
        for _ in range(256):  # bounded: a flood cannot starve the loop
            try:
                data, address = sock.recvfrom(65535)
            except BlockingIOError:
                return
            except OSError as exc:
                self.log.error("vrrp_receive_failed", interface=ifname, error=exc.strerror)
                self.close_interface(ifname)
                return
            self.counters["vrrp_received"] += 1
            try:
                advert = parse_frame(data)
            except VrrpError as exc:
                self.counters["vrrp_result_malformed"] += 1
                self._malformed(ifname, exc.reason)
                continue
            self.counters[f"vrrp_result_{advert.result}"] += 1
            # A bad checksum never reaches the arbiter (it could start a lower_prio
            # schedule); the arbiter refuses one too.
            if advert.checksum_ok:
                self._on_advert(ifname, advert, address[2] == PACKET_OUTGOING)

    def _malformed(self, ifname: str, reason: str) -> None:
        self.counters["vrrp_malformed"] += 1
        now = self._loop.time()
        last = self._malformed_logged.get(ifname)
        if last is None or now - last >= MALFORMED_LOG_EVERY:
            self._malformed_logged[ifname] = now
            self.log.warning("vrrp_malformed", interface=ifname, reason=reason,
                             total=self.counters["vrrp_malformed"])
