"""Unit tests of ``garpd watch``'s pure pieces: the BPF assembler and the watch filter (run
by a small classic-BPF interpreter here; the real kernel runs it in tests/test_watch_lab.py),
the claims rule (:mod:`garpd.claims`), the scapy decoder on a table of frames and on
hostile bytes, the text and JSON renderings, the pcap writer, and the import boundary:
scapy never loads on the run, notify or announce paths."""

from __future__ import annotations

import argparse
import ast
import io
import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd import bpf
from garpd.claims import CONFLICT, GATEWAY, OURS, Known, is_conflict
from garpd.commands.watch import (
    KINDS,
    Decoder,
    Pcap,
    Session,
    Sighting,
    Tally,
    render_line,
    render_table,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
A_MAC, R_MAC, ROGUE = "02:00:00:00:00:02", "02:00:00:00:00:04", "02:00:00:00:00:99"
VIP = ipaddress.ip_address("192.0.2.100")


def mac(text: str) -> bytes:
    """MAC text to bytes."""
    return bytes.fromhex(text.replace(":", ""))


# --------------------------------------------------------------------------- BPF


def run_bpf(program: tuple[bpf.Insn, ...], packet: bytes) -> int:
    """Interpret the subset of classic BPF that :mod:`garpd.bpf` emits; the accepted length."""
    a, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == bpf.LD_H_ABS:
            if k + 2 > len(packet):
                return 0  # the kernel drops a packet when a load runs past its end
            a = int.from_bytes(packet[k:k + 2], "big")
        elif code == bpf.LD_B_ABS:
            if k + 1 > len(packet):
                return 0
            a = packet[k]
        elif code == bpf.JEQ_K:
            pc += jt if a == k else jf
        elif code == bpf.RET_K:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        pc += 1


def frames() -> dict[str, tuple[bytes, bool]]:
    """name -> (frame, whether the watch filter must pass it), built with scapy."""
    from scapy.layers.inet import ICMP, IP, UDP  # noqa: PLC0415
    from scapy.layers.inet6 import (  # noqa: PLC0415
        ICMPv6EchoRequest,
        ICMPv6ND_NA,
        ICMPv6ND_NS,
        ICMPv6ND_RS,
        IPv6,
    )
    from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: PLC0415
    from scapy.layers.vrrp import VRRP, VRRPv3  # noqa: PLC0415

    eth = Ether(src=ROGUE, dst="ff:ff:ff:ff:ff:ff")
    table: dict[str, tuple[Any, bool]] = {
        "arp": (eth / ARP(psrc="192.0.2.1", pdst="192.0.2.2"), True),
        "ns": (eth / IPv6(src="fe80::1") / ICMPv6ND_NS(tgt="2001:db8::1"), True),
        "na": (eth / IPv6(src="fe80::1") / ICMPv6ND_NA(tgt="2001:db8::1"), True),
        "vrrp4": (eth / IP(dst="224.0.0.18") / VRRP(vrid=1), True),
        "vrrp6": (eth / IPv6(dst="ff02::12") / VRRPv3(vrid=1), True),
        "arp_vlan": (eth / Dot1Q(vlan=7) / ARP(psrc="192.0.2.1", pdst="192.0.2.2"), True),
        "na_vlan": (eth / Dot1Q(vlan=7) / IPv6() / ICMPv6ND_NA(tgt="2001:db8::1"), True),
        "vrrp4_vlan": (eth / Dot1Q(vlan=7) / IP(dst="224.0.0.18") / VRRP(), True),
        "udp": (eth / IP(dst="192.0.2.255") / UDP(dport=53), False),
        "icmp_echo": (eth / IP(dst="192.0.2.1") / ICMP(), False),
        "icmp6_echo": (eth / IPv6(dst="ff02::1") / ICMPv6EchoRequest(), False),
        "rs": (eth / IPv6(dst="ff02::2") / ICMPv6ND_RS(), False),
        "udp_vlan": (eth / Dot1Q(vlan=7) / IP() / UDP(), False),
    }
    return {name: (bytes(pkt), ok) for name, (pkt, ok) in table.items()}


def test_watch_filter_passes_only_arp_nd_and_vrrp() -> None:
    """The watch filter keeps ARP, NS, NA and VRRP (v4 and v6, untagged or one tag in the
    frame) whole, and drops UDP, ICMP echo, ICMPv6 echo and router solicitations."""
    program = bpf.watch_filter()
    verdicts = {name: run_bpf(program, frame) for name, (frame, _ok) in frames().items()}
    expected = {name: bpf.ACCEPT_BYTES if ok else 0 for name, (_f, ok) in frames().items()}
    assert verdicts == expected


def test_watch_filter_drops_runts() -> None:
    """Frames too short to hold the fields the filter reads are dropped, not misread."""
    program = bpf.watch_filter()
    assert run_bpf(program, bytes(13)) == 0
    assert run_bpf(program, bytes.fromhex("ffffffffffff" "020000000099" "86dd") + bytes(8)) == 0


@pytest.mark.parametrize(("items", "message"), [
    ([bpf.jeq(1, "later"), bpf.ret(0)], "unknown label"),
    ([bpf.Label("top"), bpf.ldb(0), bpf.jeq(1, "top"), bpf.ret(0)], "backwards"),
    ([bpf.ldb(0)], "must end with a return"),
    ([bpf.jeq(1, "far"), *[bpf.ldb(0)] * 256, bpf.Label("far"), bpf.ret(0)], "at most 255"),
    ([bpf.Label("x"), bpf.Label("x"), bpf.ret(0)], "defined twice"),
])
def test_assembler_refuses_impossible_programs(items: list[bpf.Item], message: str) -> None:
    """Unknown, backward or too-far jumps, a missing return and duplicate labels are errors."""
    with pytest.raises(bpf.BpfError, match=message):
        bpf.assemble(items)


def test_assembler_resolves_labels_and_packs() -> None:
    """Labels become relative offsets; pack() writes 8 bytes per instruction."""
    program = bpf.assemble([bpf.ldh(12), bpf.jeq(0x0806, "yes", "no"), bpf.Label("yes"),
                            bpf.ret(100), bpf.Label("no"), bpf.ret(0)])
    assert program == ((0x28, 0, 0, 12), (0x15, 0, 1, 0x0806), (0x06, 0, 0, 100),
                       (0x06, 0, 0, 0))
    assert len(bpf.pack(program)) == 32


# --------------------------------------------------------------------------- claims


HOST = Known(configured=frozenset({VIP}), networks=(ipaddress.ip_network("198.51.100.0/24"),),
             vrids=frozenset({51}), gateways=frozenset({ipaddress.ip_address("192.0.2.1")})
             ).with_host([mac(A_MAC)], [ipaddress.ip_address("192.0.2.11")])


@pytest.mark.parametrize(("mac_text", "claimed", "notes"), [
    (A_MAC, "192.0.2.100", (OURS,)),
    (ROGUE, "192.0.2.100", (CONFLICT,)),           # configured, from another MAC
    (ROGUE, "192.0.2.11", (CONFLICT,)),            # held here, from another MAC
    (ROGUE, "192.0.2.12", ()),                     # neither
    (ROGUE, "198.51.100.7", ()),                   # inside a network: filtered, not owned
    (R_MAC, "192.0.2.1", (GATEWAY,)),
    (A_MAC, "192.0.2.1", (OURS, GATEWAY)),
    (ROGUE, None, ()),                             # claims nothing (a probe)
])
def test_notes(mac_text: str, claimed: str | None, notes: tuple[str, ...]) -> None:
    """ours / conflict / gateway, as SPEC's *Seeing the LAN* defines them."""
    address = None if claimed is None else ipaddress.ip_address(claimed)
    assert HOST.notes(mac(mac_text), address) == notes


def test_probe_address_is_never_a_conflict() -> None:
    """0.0.0.0 and :: (probes) are no conflict even when 'watched'."""
    for text in ("0.0.0.0", "::"):  # noqa: S104 - addresses, no bind
        address = ipaddress.ip_address(text)
        assert not is_conflict(address, mac(ROGUE), ours=set(), watched={address})


def test_concerns_addresses_networks_and_vrids() -> None:
    """-c keeps frames naming a configured address, an address in a configured network, or
    a configured VRID; nothing else."""
    ip = ipaddress.ip_address
    assert HOST.concerns([ip("192.0.2.100")])
    assert HOST.concerns([ip("198.51.100.9")])
    assert HOST.concerns([], vrid=51)
    assert not HOST.concerns([ip("192.0.2.12"), ip("2001:db8::1")], vrid=52)


# --------------------------------------------------------------------------- decoding


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    """One scapy decoder for the module (scapy's import is slow)."""
    return Decoder()


def wire() -> dict[str, Any]:
    """Named frames of every kind, built with scapy."""
    from scapy.layers.inet import IP  # noqa: PLC0415
    from scapy.layers.inet6 import (  # noqa: PLC0415
        ICMPv6ND_NA,
        ICMPv6ND_NS,
        ICMPv6NDOptDstLLAddr,
        ICMPv6NDOptSrcLLAddr,
        IPv6,
    )
    from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: PLC0415
    from scapy.layers.vrrp import VRRP, VRRPv3  # noqa: PLC0415

    bc = Ether(src=ROGUE, dst="ff:ff:ff:ff:ff:ff")
    return {
        "garp": bc / ARP(op=1, hwsrc=ROGUE, psrc="192.0.2.100", pdst="192.0.2.100"),
        "garp_reply": bc / ARP(op=2, hwsrc=ROGUE, psrc="192.0.2.100", pdst="192.0.2.100",
                               hwdst=ROGUE),
        "request": bc / ARP(op=1, hwsrc=ROGUE, psrc="192.0.2.1", pdst="192.0.2.100"),
        "reply": bc / ARP(op=2, hwsrc=ROGUE, psrc="192.0.2.100", pdst="192.0.2.1"),
        "probe": bc / ARP(op=1, hwsrc=ROGUE, psrc="0.0.0.0",  # noqa: S104
                          pdst="192.0.2.100"),
        "vlan_garp": bc / Dot1Q(vlan=10) / ARP(hwsrc=ROGUE, psrc="192.0.2.7", pdst="192.0.2.7"),
        "ns": bc / IPv6(src="fe80::99", dst="ff02::1:ff00:100") / ICMPv6ND_NS(
            tgt="2001:db8::100") / ICMPv6NDOptSrcLLAddr(lladdr=ROGUE),
        "na": bc / IPv6(src="fe80::99", dst="ff02::1") / ICMPv6ND_NA(
            tgt="2001:db8::100", R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=ROGUE),
        "vrrp2": Ether(src=ROGUE) / IP(src="192.0.2.11", dst="224.0.0.18") / VRRP(
            vrid=51, priority=150, addrlist=["192.0.2.100"]),
        "vrrp3": Ether(src=ROGUE) / IPv6(src="fe80::99", dst="ff02::12") / VRRPv3(
            vrid=52, priority=99, adv=50, addrlist=["2001:db8::100"]),
    }


@pytest.mark.parametrize(("name", "fields"), [
    ("garp", {"kind": "garp", "mac": ROGUE, "address": "192.0.2.100", "op": 1,
              "claimed": "192.0.2.100"}),
    ("garp_reply", {"kind": "garp", "address": "192.0.2.100", "op": 2}),
    ("request", {"kind": "arp_request", "address": "192.0.2.100", "sender": "192.0.2.1",
                 "claimed": "192.0.2.1"}),
    ("reply", {"kind": "arp_reply", "address": "192.0.2.100", "sender": "192.0.2.1",
               "claimed": "192.0.2.100"}),
    ("probe", {"kind": "probe", "address": "192.0.2.100", "sender": "0.0.0.0",  # noqa: S104
               "claimed": None}),
    ("vlan_garp", {"kind": "garp", "vlan": 10, "address": "192.0.2.7"}),
    ("ns", {"kind": "ns", "address": "2001:db8::100", "sender": "fe80::99", "mac": ROGUE,
            "claimed": "fe80::99"}),
    ("na", {"kind": "na", "address": "2001:db8::100", "flags": "O", "mac": ROGUE,
            "claimed": "2001:db8::100"}),
    ("vrrp2", {"kind": "vrrp", "vrid": 51, "priority": 150, "version": 2, "interval": 1.0,
               "addresses": ("192.0.2.100",), "sender": "192.0.2.11", "claimed": None}),
    ("vrrp3", {"kind": "vrrp", "vrid": 52, "priority": 99, "version": 3, "interval": 0.5,
               "addresses": ("2001:db8::100",)}),
])
def test_decode_every_kind(decoder: Decoder, name: str, fields: dict[str, Any]) -> None:
    """Each kind of frame decodes to the kind, MAC, addresses and VRRP fields it carries."""
    s = decoder.decode(bytes(wire()[name]), 1.0)
    got = {k: getattr(s, k) for k in fields}
    if "claimed" in got and got["claimed"] is not None:
        got["claimed"] = str(got["claimed"])
    assert got == fields


def garbage() -> dict[str, tuple[bytes, str]]:
    """name -> (frame, kind): frames the filter passes but no decoder should trust. IP
    headers are valid (checksum, lengths), as a bridge with br_netfilter only forwards
    those; what follows them is garbage."""
    from scapy.layers.inet import IP  # noqa: PLC0415
    from scapy.layers.inet6 import IPv6  # noqa: PLC0415
    from scapy.layers.l2 import Ether  # noqa: PLC0415
    from scapy.packet import Raw  # noqa: PLC0415

    eth = bytes.fromhex("ffffffffffff020000000099")
    v4 = Ether(src=ROGUE, dst="01:00:5e:00:00:12") / IP(src="192.0.2.2", dst="224.0.0.18",
                                                        proto=112, ttl=255)
    v6 = Ether(src=ROGUE, dst="33:33:00:00:00:01") / IPv6(src="fe80::99", dst="ff02::1",
                                                          nh=58, hlim=255)
    return {
        "runt": (bytes(10), "malformed"),
        "arp_cut": (eth + bytes.fromhex("0806" "00010800"), "malformed"),
        "arp_zero_lengths": (eth + bytes.fromhex("0806") + bytes(46), "malformed"),
        "arp_other_protocol": (eth + bytes.fromhex("0806" "0006" "86dd0610" "0001")
                               + bytes(44), "unknown"),
        "ns_cut": (bytes(v6 / Raw(bytes([135, 0, 0, 0]))), "malformed"),
        "vrrp_cut": (bytes(v4 / Raw(bytes.fromhex("2133"))), "malformed"),
        "vrrp_version_7": (bytes(v4 / Raw(bytes.fromhex("7133960100010000") + bytes(12))),
                           "unknown"),
        "udp": (bytes(Ether(src=ROGUE) / IP(src="192.0.2.2", proto=17) / Raw(bytes(8))),
                "unknown"),
    }


GARBAGE_NAMES = ("runt", "arp_cut", "arp_zero_lengths", "arp_other_protocol", "ns_cut",
                 "vrrp_cut", "vrrp_version_7", "udp")


@pytest.mark.parametrize("name", GARBAGE_NAMES)
def test_garbage_is_a_line_not_a_traceback(decoder: Decoder, name: str) -> None:
    """Frames scapy cannot dissect are 'malformed' (well formed but foreign: 'unknown'),
    with their length and a reason, and render as a line."""
    frame, kind = garbage()[name]
    s = decoder.decode(frame, 1.0)
    assert (s.kind, s.length) == (kind, len(frame))
    assert s.reason
    assert f"{len(frame)} bytes" in render_line(s, colour=False)
    json.dumps(s.as_json("eth0"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"", b"\x08\x06", b"\x86\xdd", b"\x08\x00",
                                                 b"\x81\x00\x00\x07\x08\x06"]))
def test_decoder_never_raises(payload: bytes, ethertype: bytes) -> None:
    """Any bytes (behind any of the filter's ethertypes) decode to one of the kinds."""
    decoder = _DECODER.get("d") or _DECODER.setdefault("d", Decoder())
    frame = bytes(12) + ethertype + payload
    s = decoder.decode(frame, 1.0)
    assert s.kind in KINDS
    render_line(s, colour=True)
    json.dumps(s.as_json("eth0"))


_DECODER: dict[str, Decoder] = {}


# --------------------------------------------------------------------------- output


def test_text_plain_when_asked_and_coloured_otherwise(decoder: Decoder) -> None:
    """render_line has no escape codes without colour; the kind and notes are painted with."""
    s = decoder.decode(bytes(wire()["garp"]), 1.0)
    s.notes = (CONFLICT,)
    plain, painted = render_line(s, colour=False), render_line(s, colour=True)
    assert "\x1b" not in plain
    assert plain.split()[1:] == ["garp", ROGUE, "192.0.2.100", "conflict"]
    assert "\x1b[1;31mconflict\x1b[0m" in painted


def test_table_lists_each_mac_per_address() -> None:
    """The closing table: per address each MAC, how often, when last, with its note."""
    tally = Tally()
    for t, who, notes in ((1.0, A_MAC, (OURS,)), (2.0, ROGUE, (CONFLICT,)),
                          (3.0, A_MAC, (OURS,))):
        tally.add(Sighting(t, "garp", 42, mac=who, address=str(VIP), claimed=VIP,
                           notes=notes))
    rows = [(str(a), m, s.count, s.last, s.notes) for a, m, s in tally.rows()]
    assert rows == [(str(VIP), A_MAC, 2, 3.0, (OURS,)), (str(VIP), ROGUE, 1, 2.0, (CONFLICT,))]
    text = render_table(tally, 5.0, colour=False)
    assert "3 frames in 5.0 s" in text
    assert [line.split()[-3:-2] for line in text.splitlines()[2:]] == [["2"], ["1"]]
    doc = tally.as_json("eth0", 5.0)
    assert [(c["mac"], c["count"], c["notes"]) for c in doc["claims"]] == [
        (A_MAC, 2, ["ours"]), (ROGUE, 1, ["conflict"])]


def test_pcap_reads_back_with_scapy(decoder: Decoder) -> None:
    """The pcap writer's file reads back with scapy frame for frame, times included."""
    from scapy.utils import rdpcap  # noqa: PLC0415

    buf = io.BytesIO()
    pcap = Pcap(buf)
    sent = [bytes(f) for f in wire().values()]
    for i, frame in enumerate(sent):
        pcap.write(frame, 1700000000.25 + i)
    read = rdpcap(io.BytesIO(buf.getvalue()))
    assert [bytes(p) for p in read] == sent
    assert [float(p.time) for p in read] == [1700000000.25 + i for i in range(len(sent))]


@pytest.mark.parametrize(("show_all", "expected"), [(False, ["garp"]),
                                                     (True, ["garp", "arp_request"])])
def test_config_filters_unless_all(decoder: Decoder, show_all: bool,
                                   expected: list[str]) -> None:
    """With -c only frames about configured addresses/VRIDs are shown (JSON, one object a
    line, the rogue's GARP marked conflict), every frame with --all; the closing object
    tallies what was shown."""
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415

    args = argparse.Namespace(interface="eth0", json=True, config="x.toml", all=show_all)
    out = io.StringIO()
    known = Known(configured=frozenset({VIP}), vrids=frozenset({51}))
    session = Session(args, known, decoder, out, None, colour=False)
    session.frame(bytes(wire()["garp"]), 1.0)
    other = Ether(src=ROGUE) / ARP(hwsrc=ROGUE, psrc="192.0.2.13", pdst="192.0.2.12")
    session.frame(bytes(other), 2.0)
    session.close(2.0)
    *shown, closing = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["kind"] for r in shown] == expected
    assert shown[0]["notes"] == ["conflict"]
    assert closing["kind"] == "claims"
    assert closing["frames"] == len(expected)


# --------------------------------------------------------------------------- imports


def _modules_after(code: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scapy'))"],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert isinstance(result, list)
    return result


def test_scapy_stays_out_of_run_notify_and_announce(tmp_path: Path) -> None:
    """A fresh interpreter that imports the daemon, announce, the watch command module and
    runs the notify hook end to end (no daemon: the fallback path) has not loaded scapy."""
    config = tmp_path / "garpd.toml"
    config.write_text(f'[control]\nsocket = "{tmp_path / "none.sock"}"\n')
    code = (
        "import garpd.commands.run, garpd.commands.announce, garpd.commands.notify\n"
        "import garpd.commands.oneshot, garpd.runner, garpd.drivers.sender\n"
        "import garpd.commands.watch, garpd.argv\n"
        "from garpd.cli import main\n"
        f"for state in ('BACKUP', 'MASTER'):\n"
        f"    assert main(['--log-format', 'json', 'notify', '-c', {str(config)!r},\n"
        f"                 'INSTANCE', 'VI_none', state]) == 0\n"
    )
    assert _modules_after(code) == []


def test_watch_parser_does_not_load_scapy() -> None:
    """Parsing a watch command line loads no scapy (the command imports it when it runs)."""
    code = ("from garpd.argv import build_parser\n"
            "a = build_parser().parse_args(['watch', '-i', 'eth0', '--count', '3'])\n"
            "assert (a.interface, a.count, a.timeout, a.all) == ('eth0', 3, None, False)\n")
    assert _modules_after(code) == []


def test_watch_argument_errors_exit_2() -> None:
    """--count 0 and a negative --timeout are usage errors (exit 2)."""
    from garpd.argv import build_parser  # noqa: PLC0415

    for bad in (["--count", "0"], ["--timeout", "-1"]):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["watch", "-i", "eth0", *bad])
        assert exc.value.code == 2
    args = build_parser().parse_args(["watch", "-i", "eth0", "-c", "x.toml", "--all",
                                      "--json", "--pcap", "p", "--timeout", "2.5"])
    assert isinstance(args, argparse.Namespace)
    assert (args.config, args.all, args.json, args.pcap, args.timeout) == (
        "x.toml", True, True, "p", 2.5)
