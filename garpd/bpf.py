"""Classic BPF programs for AF_PACKET sockets: pure code, one module for every listener.

Owns the instruction encoding (``struct sock_filter``: u16 code, u8 jt, u8 jf, u32 k), a
label-resolving assembler (conditional jumps are forward-only with 8-bit offsets, so a
program is written top-down and each jump names a label below it), and the programs:

- :func:`watch_filter`, ``garpd watch``'s: ARP, ICMPv6 NS/NA and VRRP, tagged or not;
- :func:`neighbour_filter`, the conflict/confirmation listener's: only ARP and NS/NA that
  name the addresses it cares about (see its docstring);
- :data:`VRRP_FILTER`, the VRRP listener's: IPv4 or IPv6 protocol 112, untagged.

The one socket call here is :func:`attach` (``SO_ATTACH_FILTER`` with :func:`sock_fprog`);
opening, binding and reading the socket is its owner's job. The opcodes are the kernel's
(include/uapi/linux/filter.h).
"""

from __future__ import annotations

import ctypes
import ipaddress
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

LD_H_ABS: Final = 0x28   # BPF_LD | BPF_H | BPF_ABS: A = u16 at packet[k]
LD_B_ABS: Final = 0x30   # BPF_LD | BPF_B | BPF_ABS: A = u8 at packet[k]
JEQ_K: Final = 0x15      # BPF_JMP | BPF_JEQ | BPF_K: A == k ? jt : jf
RET_K: Final = 0x06      # BPF_RET | BPF_K: keep k bytes (0 = drop)
LD_W_ABS: Final = 0x20   # BPF_LD | BPF_W | BPF_ABS: A = u32 at packet[k]
JA_K: Final = 0x05       # BPF_JMP | BPF_JA: jump k forward

Insn = tuple[int, int, int, int]
"""One assembled instruction: (code, jt, jf, k)."""

ACCEPT_BYTES: Final = 0x40000  # keep the whole frame (jumbo frames included)
ETH_P_IP: Final = 0x0800
ETH_P_ARP: Final = 0x0806
ETH_P_IPV6: Final = 0x86DD
ETH_P_8021Q: Final = 0x8100
ETH_P_8021AD: Final = 0x88A8
IPPROTO_ICMPV6: Final = 58
IPPROTO_VRRP: Final = 112
ND_NEIGHBOR_SOLICIT: Final = 135
ND_NEIGHBOR_ADVERT: Final = 136


@dataclass(frozen=True, slots=True)
class Label:
    """A jump target: the next instruction after it."""

    name: str


@dataclass(frozen=True, slots=True)
class Op:
    """An instruction whose jump targets are label names (None: fall through)."""

    code: int
    k: int
    yes: str | None = None
    no: str | None = None


Item = Label | Op


def ldh(offset: int) -> Op:
    """A = the 16-bit big-endian word at ``offset``."""
    return Op(LD_H_ABS, offset)


def ldb(offset: int) -> Op:
    """A = the byte at ``offset``."""
    return Op(LD_B_ABS, offset)


def jeq(value: int, yes: str | None = None, no: str | None = None) -> Op:
    """If A == ``value`` go to label ``yes``, else to ``no`` (None: the next instruction)."""
    return Op(JEQ_K, value, yes, no)


def ret(size: int) -> Op:
    """Accept ``size`` bytes of the packet (0: drop it)."""
    return Op(RET_K, size)


class BpfError(ValueError):
    """A program that cannot be assembled (unknown or backward label, jump too far)."""


def assemble(items: Iterable[Item]) -> tuple[Insn, ...]:
    """Resolve labels into relative jump offsets; raise :class:`BpfError` if impossible."""
    ops: list[Op] = []
    where: dict[str, int] = {}
    for item in items:
        if isinstance(item, Label):
            if item.name in where:
                raise BpfError(f"label {item.name!r} defined twice")
            where[item.name] = len(ops)
        else:
            ops.append(item)
    if not ops or ops[-1].code != RET_K:
        raise BpfError("a program must end with a return")
    if len(ops) > 4096:  # BPF_MAXINSNS
        raise BpfError(f"{len(ops)} instructions; the kernel takes at most 4096")

    def offset(pc: int, name: str | None) -> int:
        if name is None:
            return 0
        if name not in where:
            raise BpfError(f"unknown label {name!r}")
        delta = where[name] - pc - 1
        if delta < 0:
            raise BpfError(f"jump to {name!r} goes backwards")
        if delta > 255:
            raise BpfError(f"jump to {name!r} is {delta} instructions away (at most 255)")
        return delta

    out: list[Insn] = []
    for pc, op in enumerate(ops):
        if op.code == JEQ_K:
            out.append((op.code, offset(pc, op.yes), offset(pc, op.no), op.k))
        else:
            if op.yes is not None or op.no is not None:
                raise BpfError(f"instruction {pc} is not a jump but has a target")
            out.append((op.code, 0, 0, op.k))
    return tuple(out)


def pack(program: Sequence[Insn]) -> bytes:
    """The program as the kernel's array of ``struct sock_filter`` (native byte order)."""
    return b"".join(struct.pack("=HBBI", *insn) for insn in program)


def _watch_body(base: int, tag: str) -> list[Item]:
    """ARP, IPv4 proto 112, IPv6 next header 112 or ICMPv6 135/136, with the Ethernet
    type in A and the network header at ``14 + base``. IPv6 extension headers are not
    walked: NS/NA and VRRP follow the fixed header directly (RFC 4861 and 5798 packets
    carry none in practice), so one behind an extension header is not passed."""
    net = 14 + base
    return [
        jeq(ETH_P_ARP, "accept"),
        jeq(ETH_P_IP, f"ip4{tag}"),
        jeq(ETH_P_IPV6, f"ip6{tag}", "drop"),
        Label(f"ip4{tag}"),
        ldb(net + 9),  # IPv4 protocol
        jeq(IPPROTO_VRRP, "accept", "drop"),
        Label(f"ip6{tag}"),
        ldb(net + 6),  # IPv6 next header
        jeq(IPPROTO_VRRP, "accept"),
        jeq(IPPROTO_ICMPV6, None, "drop"),
        ldb(net + 40),  # ICMPv6 type
        jeq(ND_NEIGHBOR_SOLICIT, "accept"),
        jeq(ND_NEIGHBOR_ADVERT, "accept", "drop"),
    ]


def watch_items() -> list[Item]:
    """The source of :func:`watch_filter` (labels unresolved)."""
    return [
        ldh(12),
        jeq(ETH_P_8021Q, "tagged"),
        jeq(ETH_P_8021AD, "tagged"),
        *_watch_body(0, ""),
        Label("tagged"),  # a tag still in the data (most are moved to metadata first)
        ldh(16),
        *_watch_body(4, "_q"),
        Label("accept"),
        ret(ACCEPT_BYTES),
        Label("drop"),
        ret(0),
    ]


def watch_filter() -> tuple[Insn, ...]:
    """Pass only ARP, ICMPv6 NS/NA and IP protocol 112 (VRRP, IPv4 and IPv6), untagged
    or behind one 802.1Q/802.1ad tag left in the frame; drop everything else."""
    return assemble(watch_items())


# --- the neighbour listener's program (conflicts and confirmation) -------------------

SKF_AD_OFF: Final = -0x1000
SKF_AD_PKTTYPE: Final = 4
SKF_AD_VLAN_TAG_PRESENT: Final = 48
PACKET_OUTGOING: Final = 4
MAX_INSNS: Final = 4096
#: Bytes of a frame handed to the socket: any ARP or ND message garpd parses fits.
SNAPLEN: Final = 0xFFFF


def _ancillary(offset: int) -> int:
    return (SKF_AD_OFF + offset) & 0xFFFFFFFF


def _word(data: bytes) -> int:
    return int.from_bytes(data, "big")


def neighbour_filter(v4: Sequence[ipaddress.IPv4Address] | None = None,
                     v6: Sequence[ipaddress.IPv6Address] | None = None, *,
                     drop_outgoing: bool = True, drop_tagged: bool = True,
                     snaplen: int = SNAPLEN) -> tuple[Insn, ...]:
    """The neighbour listener's program; None passes a whole family.

    The program passes a frame when all of these hold:

    - it was not sent by this host (packet type PACKET_OUTGOING is dropped in the kernel,
      so garpd's own bursts never come back to it): ``drop_outgoing``;
    - it carries no VLAN tag (a tagged frame on a parent interface belongs to its VLAN
      interface, which gets its own listener): ``drop_tagged``;
    - it is ARP whose *sender protocol address* is one of ``v4``, or ICMPv6 NS (135) /
      NA (136) right after the IPv6 header whose *target* is one of ``v6``.

    ``v4`` / ``v6`` of None pass every ARP / every NS and NA; lists that would make the
    program longer than :data:`MAX_INSNS` fall back to None. Every conditional jump is
    short (8-bit offsets); long jumps use ``ja``. Cost in the kernel: one compare per IPv4
    address, up to eight instructions per IPv6 address, for ARP/ND frames only; other
    traffic leaves after three to five instructions.
    """
    v4 = list(dict.fromkeys(v4)) if v4 is not None else None
    v6 = list(dict.fromkeys(v6)) if v6 is not None else None
    fixed = 24
    if v6 is not None and fixed + 2 * len(v4 or ()) + 9 * len(v6) > MAX_INSNS:
        v6 = None
    if v4 is not None and fixed + 2 * len(v4) + 9 * len(v6 or ()) > MAX_INSNS:
        v4 = None
    prog: list[Insn] = []
    if drop_outgoing:
        prog += [(LD_W_ABS, 0, 0, _ancillary(SKF_AD_PKTTYPE)),
                 (JEQ_K, 0, 1, PACKET_OUTGOING),
                 (RET_K, 0, 0, 0)]
    if drop_tagged:
        prog += [(LD_W_ABS, 0, 0, _ancillary(SKF_AD_VLAN_TAG_PRESENT)),
                 (JEQ_K, 1, 0, 0),
                 (RET_K, 0, 0, 0)]
    prog += [(LD_H_ABS, 0, 0, 12),
             (JEQ_K, 0, 1, 0x0806)]
    arp_jump = len(prog)
    prog += [(JA_K, 0, 0, 0),  # to the ARP part; patched below
             (JEQ_K, 1, 0, 0x86DD),
             (RET_K, 0, 0, 0),
             (LD_B_ABS, 0, 0, 20),
             (JEQ_K, 1, 0, 58),
             (RET_K, 0, 0, 0),
             (LD_B_ABS, 0, 0, 54),
             (JEQ_K, 2, 0, 135),
             (JEQ_K, 1, 0, 136),
             (RET_K, 0, 0, 0)]
    if v6 is None:
        prog.append((RET_K, 0, 0, snaplen))
    else:
        for address in v6:
            words = [_word(address.packed[i:i + 4]) for i in range(0, 16, 4)]
            block: list[Insn] = []
            for n, word in enumerate(words):
                remaining = 2 * (3 - n)  # instructions left in the block after this jeq
                block += [(LD_W_ABS, 0, 0, 62 + 4 * n), (JEQ_K, 0, remaining + 1, word)]
            block.append((RET_K, 0, 0, snaplen))
            prog += block
        prog.append((RET_K, 0, 0, 0))
    prog[arp_jump] = (JA_K, 0, 0, len(prog) - arp_jump - 1)
    if v4 is None:
        prog.append((RET_K, 0, 0, snaplen))
    else:
        prog.append((LD_W_ABS, 0, 0, 28))
        for address4 in v4:
            prog += [(JEQ_K, 0, 1, _word(address4.packed)), (RET_K, 0, 0, snaplen)]
        prog.append((RET_K, 0, 0, 0))
    return tuple(prog)


#: ldh [12]; jeq 0x800 ? ldb [23] : (jeq 0x86dd ? ldb [20] : drop); jeq 112 ? accept : drop
VRRP_FILTER: Final[tuple[Insn, ...]] = (
    (LD_H_ABS, 0, 0, 12),
    (JEQ_K, 0, 2, ETH_P_IP),
    (LD_B_ABS, 0, 0, 23),
    (JEQ_K, 3, 4, IPPROTO_VRRP),
    (JEQ_K, 0, 3, ETH_P_IPV6),
    (LD_B_ABS, 0, 0, 20),
    (JEQ_K, 0, 1, IPPROTO_VRRP),
    (RET_K, 0, 0, 0xFFFF),
    (RET_K, 0, 0, 0),
)
SO_ATTACH_FILTER: Final = 26


def attach(sock: socket.socket, program: Sequence[Insn]) -> None:
    """Attach ``program`` to ``sock`` (``setsockopt(SOL_SOCKET, SO_ATTACH_FILTER)``)."""
    fprog, _buffer = sock_fprog(program)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def sock_fprog(program: Sequence[Insn]) -> tuple[bytes, ctypes.Array[ctypes.c_char]]:
    """``struct sock_fprog`` for ``setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, ...)``.

    Returns the fprog bytes and the buffer it points into; keep the buffer alive until
    ``setsockopt`` returns.
    """
    buffer = ctypes.create_string_buffer(pack(program))
    return struct.pack("HL", len(program), ctypes.addressof(buffer)), buffer
