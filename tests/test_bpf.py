"""The neighbour listener's BPF program: its layout, and on a real socket in a namespace
exactly the right frames get through."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Dot1Q, Ether

from garpd.bpf import JA_K, JEQ_K, MAX_INSNS, neighbour_filter, pack
from tests.lab import LabFactory
from tests.test_neighbour_wire import ANY, arp, na, ns

HELPER = Path(__file__).resolve().with_name("bpf_helper.py")
HELD4, GW4, OTHER4, END4 = "192.0.2.100", "192.0.2.1", "192.0.2.200", "192.0.2.254"
HELD6, GW6, OTHER6 = "2001:db8::100", "fe80::1", "2001:db8::200"
ROGUE = "02:00:00:00:00:66"


def v4(*texts: str) -> list[ipaddress.IPv4Address]:
    """IPv4 address objects."""
    return [ipaddress.IPv4Address(t) for t in texts]


def v6(*texts: str) -> list[ipaddress.IPv6Address]:
    """IPv6 address objects."""
    return [ipaddress.IPv6Address(t) for t in texts]


def test_jumps_stay_short_and_long_lists_fall_back() -> None:
    """Every jump lands inside the program and fits 8 bits; past MAX_INSNS a family passes
    whole."""
    many4 = [ipaddress.IPv4Address(0xC6120000 + n) for n in range(1500)]
    many6 = [ipaddress.IPv6Address(0x20010DB8 << 96 | n) for n in range(300)]
    program = neighbour_filter(many4, many6)
    assert len(program) <= MAX_INSNS
    for index, (code, jt, jf, k) in enumerate(program):
        targets = [k] if code == JA_K else [jt, jf] if code == JEQ_K else []
        for offset in targets:
            assert index + 1 + offset < len(program)  # inside the program
        if code == JEQ_K:
            assert max(jt, jf) <= 255
    assert len(pack(program)) == 8 * len(program)
    huge = neighbour_filter([ipaddress.IPv4Address(0xC6120000 + n) for n in range(5000)], [])
    assert len(huge) < 40  # ARP passes whole: no compare per address
    assert sum(1 for code, *_ in neighbour_filter(v4(HELD4, HELD4), []) if code == JEQ_K) == \
        sum(1 for code, *_ in neighbour_filter(v4(HELD4), []) if code == JEQ_K)


ROGUE2 = "02:00:00:00:00:67"
UNTAGGED_GARP = arp(1, ROGUE2, HELD4, HELD4)
TAGGED_GARP = bytes(Ether(src=ROGUE2, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=7)
                    / Ether(UNTAGGED_GARP).payload)
FRAMES = {
    "garp held": arp(1, ROGUE, HELD4, HELD4),
    "garp other": arp(1, ROGUE, OTHER4, OTHER4),
    "reply from gateway": arp(2, "02:00:00:00:00:01", GW4, HELD4, tha="02:00:00:00:00:02"),
    "probe for held": arp(1, ROGUE, ANY, HELD4),
    "na held": na(HELD6, "ff02::1", HELD6),
    "na other": na(OTHER6, "ff02::1", OTHER6),
    "na gateway": na(GW6, HELD6, GW6, flags="RSO"),
    "ns for held": ns(GW6, HELD6, HELD6, eth_dst="02:00:00:00:00:02"),
    "ns for other": ns(GW6, OTHER6, OTHER6, eth_dst="02:00:00:00:00:02"),
    "echo6": bytes(Ether(src=ROGUE, dst="33:33:00:00:00:01")
                   / IPv6(src=GW6, dst="ff02::1") / ICMPv6EchoRequest()),
    "udp4": bytes(Ether(src=ROGUE, dst="ff:ff:ff:ff:ff:ff")
                  / IP(src=OTHER4, dst="255.255.255.255") / UDP(dport=9) / (b"x" * 20)),
    "tagged garp held": TAGGED_GARP,
}
EVERY_NEIGHBOUR = {"garp held", "garp other", "reply from gateway", "probe for held", "na held",
                   "na other", "na gateway", "ns for held", "ns for other"}


@pytest.mark.lab
@pytest.mark.parametrize(("family4", "family6", "drop", "expected"), [
    ([HELD4, GW4], [HELD6, GW6], True, {"garp held", "reply from gateway", "na held",
                                        "na gateway", "ns for held"}),
    (None, None, True, EVERY_NEIGHBOUR),
    ([], [], True, set()),
    ([HELD4], [], False, {"garp held", "own", "tagged (untagged by the kernel)"}),
])
def test_filter_on_a_real_socket(make_lab: LabFactory, family4: list[str] | None,
                                 family6: list[str] | None, drop: bool,
                                 expected: set[str]) -> None:
    """Frames sent from a peer reach the filtered socket exactly when the filter says;
    without the outgoing and VLAN checks, this host's own frame and a tagged one do too."""
    lab = make_lab(["a", "b"])
    end = arp(1, "02:00:00:00:00:fe", END4, END4)  # the last frame: END4 always passes
    own = arp(1, lab.mac("a"), HELD4, HELD4)  # sent by host a itself: outgoing
    spec = {"v4": family4 if family4 is None else [*family4, END4], "v6": family6,
            "end": end.hex(), "drop_outgoing": drop, "drop_tagged": drop}
    proc = lab.popen("a", sys.executable, str(HELPER), "eth0", json.dumps(spec),
                     stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    names = list(FRAMES)
    lab.send_raw("a", own)
    lab.send_raw("b", [FRAMES[n] for n in names] + [end])
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "the end marker never arrived"
    # The hosts' kernels may send ND of their own (DAD, MLD): not part of the experiment.
    kernels = {bytes.fromhex(lab.mac(h).replace(":", "")) for h in ("a", "b")}
    seen = {frame for frame in map(bytes.fromhex, out.split())
            if frame == own or frame[6:12] not in kernels}
    by_frame = {frame: name for name, frame in FRAMES.items()}
    by_frame[own] = "own"
    by_frame[UNTAGGED_GARP] = "tagged (untagged by the kernel)"
    assert {by_frame.get(frame, frame.hex()) for frame in seen} == expected
