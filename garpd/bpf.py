"""The classic BPF program of the neighbour listener: only ARP and NS/NA reach Python.

Pure: builds the program as data (``(code, jt, jf, k)`` tuples, ``struct sock_filter``),
:func:`pack` turns it into the bytes ``SO_ATTACH_FILTER`` takes. The listener driver
attaches it before binding its ETH_P_ALL socket, and re-attaches a new one (the kernel
swaps filters atomically) when the set of watched addresses changes.

The program passes a frame when all of these hold:

- it was not sent by this host (packet type PACKET_OUTGOING is dropped in the kernel, so
  garpd's own bursts never come back to it) — ``drop_outgoing``;
- it carries no VLAN tag (the kernel strips a tag into the packet's metadata before
  packet sockets see it; a tagged frame on a parent interface belongs to its VLAN
  interface, which gets its own listener) — ``drop_tagged``;
- it is ARP whose *sender protocol address* is one of ``v4`` (a conflict claims a held
  address, a gateway's answer comes from the gateway), or ICMPv6 NS (135) / NA (136)
  right after the IPv6 header whose *target* is one of ``v6`` (an NA claiming a held
  address or answering from a gateway; a gateway's NS asking for a held address).

``v4`` / ``v6`` of None pass every ARP / every NS and NA (``garpd watch --all``; and the
fallback when the list would not fit :data:`MAX_INSNS`). The addresses to pass are
the held addresses and gateways of the interface. Comparisons are laid out so that every conditional
jump is short (classic BPF jump offsets are 8 bits); long jumps use ``ja``.

Cost in the kernel: one compare per IPv4 address, up to eight instructions per IPv6
address, for ARP/ND frames only; other traffic leaves after three to five instructions.
"""

from __future__ import annotations

import ctypes
import ipaddress
import struct
from collections.abc import Sequence
from typing import Final

Insn = tuple[int, int, int, int]
"""One ``struct sock_filter``: (code, jt, jf, k)."""

# Opcodes (linux/filter.h): BPF_LD|BPF_W|BPF_ABS, ...|BPF_H|..., ...|BPF_B|...,
# BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JA, BPF_RET|BPF_K.
LD_W, LD_H, LD_B, JEQ, JA, RET = 0x20, 0x28, 0x30, 0x15, 0x05, 0x06
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
    """The listener's program (see the module docstring); None passes a whole family.

    Lists that would make the program longer than :data:`MAX_INSNS` fall back to None.
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
        prog += [(LD_W, 0, 0, _ancillary(SKF_AD_PKTTYPE)),
                 (JEQ, 0, 1, PACKET_OUTGOING),
                 (RET, 0, 0, 0)]
    if drop_tagged:
        prog += [(LD_W, 0, 0, _ancillary(SKF_AD_VLAN_TAG_PRESENT)),
                 (JEQ, 1, 0, 0),
                 (RET, 0, 0, 0)]
    prog += [(LD_H, 0, 0, 12),
             (JEQ, 0, 1, 0x0806)]
    arp_jump = len(prog)
    prog += [(JA, 0, 0, 0),  # to the ARP part; patched below
             (JEQ, 1, 0, 0x86DD),
             (RET, 0, 0, 0),
             (LD_B, 0, 0, 20),
             (JEQ, 1, 0, 58),
             (RET, 0, 0, 0),
             (LD_B, 0, 0, 54),
             (JEQ, 2, 0, 135),
             (JEQ, 1, 0, 136),
             (RET, 0, 0, 0)]
    if v6 is None:
        prog.append((RET, 0, 0, snaplen))
    else:
        for address in v6:
            words = [_word(address.packed[i:i + 4]) for i in range(0, 16, 4)]
            block: list[Insn] = []
            for n, word in enumerate(words):
                remaining = 2 * (3 - n)  # instructions left in the block after this jeq
                block += [(LD_W, 0, 0, 62 + 4 * n), (JEQ, 0, remaining + 1, word)]
            block.append((RET, 0, 0, snaplen))
            prog += block
        prog.append((RET, 0, 0, 0))
    prog[arp_jump] = (JA, 0, 0, len(prog) - arp_jump - 1)
    if v4 is None:
        prog.append((RET, 0, 0, snaplen))
    else:
        prog.append((LD_W, 0, 0, 28))
        for address4 in v4:
            prog += [(JEQ, 0, 1, _word(address4.packed)), (RET, 0, 0, snaplen)]
        prog.append((RET, 0, 0, 0))
    return tuple(prog)


def pack(program: Sequence[Insn]) -> bytes:
    """The program as an array of ``struct sock_filter`` (native byte order)."""
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


def sock_fprog(program: Sequence[Insn]) -> tuple[bytes, ctypes.Array[ctypes.c_char]]:
    """``struct sock_fprog`` for ``setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, ...)``.

    Returns the fprog bytes and the buffer it points into; keep the buffer alive until
    ``setsockopt`` returns.
    """
    buffer = ctypes.create_string_buffer(pack(program))
    return struct.pack("HL", len(program), ctypes.addressof(buffer)), buffer
