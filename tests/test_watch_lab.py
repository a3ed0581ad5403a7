"""Lab tests of ``garpd watch`` on the real kernel: its BPF filter on a real AF_PACKET socket
(the right frames pass, IPv4 UDP / ICMP echo and the like do not, 802.1Q-tagged frames
too); a real keepalived failover between nodes "a" (priority 150) and "b" (priority 100),
each with garpd running, seen from the "router" (VRRP adverts with their priorities, the
new holder's GARPs with its MAC, the old holder quiet, the same fields in ``--json``, a
``--pcap`` that tshark and scapy read back frame for frame) and from "b" with ``-c`` (a
rogue host's GARP for the VIP is a ``conflict`` and the closing table lists both MACs);
``--count`` / ``--timeout`` / Ctrl-C end it with exit 0; garbage on the wire gives lines,
not tracebacks; without CAP_NET_RAW (privileges dropped with setpriv) exit 2, one line.

Every watch runs as ``python -m garpd watch`` through ``Lab.popen`` (own session, stopped by
PID: SIGINT, as Ctrl-C would); its stdout and stderr go to files under tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.keepalived_helpers import Garpd, Instance, Keepalived, keepalived_conf, poll_until
from tests.lab import Lab, LabFactory, arp_frame, wait_for
from tests.test_watch import frames, garbage

pytestmark = [pytest.mark.lab]

VIP = "192.0.2.100"
ADDRESSES = {"a": "192.0.2.11/24", "b": "192.0.2.12/24", "router": "192.0.2.1/24",
             "rogue": "192.0.2.66/24"}
GROUP: dict[str, object] = {"name": "VI_1", "interface": "eth0", "addresses": [VIP],
                            "vrid": 51}
TIMING: dict[str, object] = {"master_repeat": 3, "master_delay": 1.0, "mode": "reply"}
LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3})  (\S+)\s+(\S+)  (.*)$")
VRRP_DETAIL = re.compile(r"vrid (\d+) priority (\d+) v(\d)")
TSHARK = shutil.which("tshark")


@dataclass
class Watch:
    """One running ``garpd watch`` and its output files."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def text(self) -> str:
        """Its stdout so far."""
        return self.out.read_text(errors="replace")

    def lines(self) -> list[str]:
        """Its frame lines so far (text mode: everything before the closing table)."""
        lines = self.text().splitlines()
        end = next((i for i, x in enumerate(lines) if x.startswith("who claimed what")),
                   len(lines))
        return lines[:end]

    def records(self) -> list[dict[str, Any]]:
        """Its JSON objects so far (--json)."""
        return [json.loads(x) for x in self.text().splitlines() if x.strip()]

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C (SIGINT by PID) and wait; the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        """Its stderr."""
        return self.err.read_text(errors="replace")


def start_watch(lab: Lab, host: str, garpd_cmd: list[str], tmp_path: Path, tag: str,
                *args: str) -> Watch:
    """Start ``garpd watch -i eth0 ARGS`` on ``host``; return once its socket is open."""
    out, err = tmp_path / f"watch-{tag}.out", tmp_path / f"watch-{tag}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = lab.popen(host, *garpd_cmd, "watch", "-i", "eth0", *args,
                         stdin=subprocess.DEVNULL, stdout=o, stderr=e)
    watch = Watch(proc, out, err)
    wait_for(lambda: "listening on eth0" in watch.stderr() or proc.poll() is not None, 60.0,
             message=f"watch {tag} listening")
    assert proc.poll() is None, f"watch {tag} exited: {watch.stderr()}"
    return watch


def parse(line: str) -> tuple[str, str, str, str]:
    """(time, kind, mac, rest) of one text line."""
    m = LINE.match(line)
    assert m, f"not a watch line: {line!r}"
    return m.group(1), m.group(2), m.group(3), m.group(4)


# --------------------------------------------------------------------------- the filter


RECEIVER = """
import sys, time
from garpd.commands.watch import open_socket, receive
sock = open_socket("eth0")
print("ready", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        frame, _t = receive(sock)
    except BlockingIOError:
        time.sleep(0.01)
        continue
    print(frame.hex(), flush=True)
    if frame.endswith(bytes.fromhex("c00002fe")):  # the marker: an ARP for 192.0.2.254
        break
"""


def test_filter_on_a_real_socket(make_lab: LabFactory, tmp_path: Path,
                                 garpd_cmd: list[str]) -> None:
    """On a real AF_PACKET socket the watch filter lets ARP, NS, NA and VRRP (IPv4, IPv6,
    802.1Q-tagged) through, byte for byte with the tag restored, and keeps IPv4 UDP, ICMP
    echo, ICMPv6 echo and router solicitations out."""
    lab = make_lab(["tx", "rx"], accept_dad=0)
    out = tmp_path / "rx.out"
    with out.open("wb") as o:
        proc = lab.popen("rx", garpd_cmd[0], "-c", RECEIVER, stdout=o,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for(lambda: "ready" in out.read_text() or proc.poll() is not None, 60.0)
    table = frames()
    marker = arp_frame(op=1, sha="02:00:00:00:00:02", spa="192.0.2.1", tpa="192.0.2.254")
    lab.send_raw("tx", [frame for frame, _ok in table.values()] + [marker])
    proc.wait(90)
    got = {bytes.fromhex(x) for x in out.read_text().split()[1:]}
    passed = {name for name, (frame, _ok) in table.items() if frame in got}
    assert passed == {name for name, (_f, ok) in table.items() if ok}, out.read_text()


# --------------------------------------------------------------------------- failover


def build(make_lab: LabFactory) -> Lab:
    """Nodes a and b, the router, a rogue host; IPv4 addresses; DAD off; no lock time."""
    lab = make_lab(["a", "b", "router", "rogue"], accept_dad=0, locktime=0)
    for host in lab.hosts:
        lab.add_address(host, ADDRESSES[host])
    return lab


@pytest.mark.keepalived
def test_failover_and_rogue_seen_by_watch(make_lab: LabFactory, tmp_path: Path,
                                          garpd_cmd: list[str]) -> None:
    """keepalived moves the VIP from a to b (garpd running on both) and a rogue host then
    GARPs the VIP: the router's watch shows a's and b's adverts with their priorities,
    b's GARPs with b's MAC and nothing from a after its goodbye advert; --json carries the
    same fields and --pcap reads back in tshark and scapy frame for frame; b's ``watch -c``
    marks the rogue GARP ``conflict``, its own ``ours``, and its table lists both MACs."""
    from tests.keepalived_helpers import require_keepalived  # noqa: PLC0415

    require_keepalived()
    lab = build(make_lab)
    mac_a, mac_b, mac_rogue = lab.mac("a"), lab.mac("b"), lab.mac("rogue")
    daemons = {h: Garpd.create(lab, h, garpd_cmd, tmp_path, h, groups=[GROUP], announce=TIMING)
               for h in ("a", "b")}
    for daemon in daemons.values():
        daemon.start()
    ka = {h: Keepalived(lab, h, keepalived_conf(h, [Instance("VI_1", 51, prio, (f"{VIP}/24",))]),
                        tmp_path, h) for h, prio in (("a", 150), ("b", 100))}
    ka["a"].start()
    ka["a"].wait_state("VI_1", "MASTER")
    ka["b"].start()
    ka["b"].wait_state("VI_1", "BACKUP")
    pcap = tmp_path / "router.pcap"
    router = start_watch(lab, "router", garpd_cmd, tmp_path, "router")
    router_json = start_watch(lab, "router", garpd_cmd, tmp_path, "router-json", "--json",
                              "--pcap", str(pcap))
    on_b = start_watch(lab, "b", garpd_cmd, tmp_path, "b", "-c", str(daemons["b"].config))

    def vrrp_from(mac: str, priority: int) -> bool:
        return any(k == "vrrp" and m == mac and f"priority {priority} " in rest
                   for _t, k, m, rest in map(parse, router.lines()))

    poll_until(lambda: vrrp_from(mac_a, 150), 30.0, "router sees a's adverts")
    assert ka["a"].stop() == 0  # keepalived says goodbye (priority 0) and drops the VIP
    ka["b"].wait_state("VI_1", "MASTER")
    poll_until(lambda: sum(k == "garp" and m == mac_b and rest.startswith(VIP)
                           for _t, k, m, rest in map(parse, router.lines())) >= 7,
               30.0, "router sees b's GARPs (keepalived's 1, garpd's 3 + 3)")
    poll_until(lambda: vrrp_from(mac_b, 100), 30.0, "b's adverts")
    lab.send_raw("rogue", arp_frame(op=1, sha=mac_rogue, spa=VIP, tpa=VIP,
                                    tha="ff:ff:ff:ff:ff:ff"))
    def rogue_seen(w: Watch) -> bool:
        return any(m == mac_rogue for _t, _k, m, _r in map(parse, w.lines()))

    poll_until(lambda: rogue_seen(router) and rogue_seen(on_b), 30.0, "the rogue GARP seen")
    poll_until(lambda: any(r.get("mac") == mac_rogue for r in router_json.records()), 30.0,
               "the rogue GARP in JSON")
    assert [w.interrupt() for w in (router, router_json, on_b)] == [0, 0, 0]
    for w in (router, router_json, on_b):
        assert "Traceback" not in w.stderr(), w.stderr()

    # The router's text view.
    seen = [parse(x) for x in router.lines()]
    adverts = [(m, *map(int, VRRP_DETAIL.findall(rest)[0])) for _t, k, m, rest in seen
               if k == "vrrp"]
    assert (mac_a, 51, 150, 2) in adverts
    assert (mac_a, 51, 0, 2) in adverts, adverts  # the goodbye
    assert (mac_b, 51, 100, 2) in adverts
    goodbye = next(i for i, (_t, k, m, rest) in enumerate(seen)
                   if k == "vrrp" and m == mac_a and "priority 0 " in rest)
    assert [x for x in seen[goodbye + 1:] if x[2] == mac_a] == [], "a went quiet"
    garps_b = [rest for _t, k, m, rest in seen if k == "garp" and m == mac_b]
    assert sum(r == f"{VIP} (reply)" for r in garps_b) >= 6  # garpd: mode reply
    assert f"{VIP}" in garps_b  # keepalived's request

    # The same frames, the same fields, in JSON; the pcap frame for frame.
    records = router_json.records()
    *shown, closing = records
    assert closing["kind"] == "claims"
    assert {(r["mac"], r["vrid"], r["priority"], r["version"]) for r in shown
            if r["kind"] == "vrrp"} >= {(mac_a, 51, 150, 2), (mac_a, 51, 0, 2),
                                        (mac_b, 51, 100, 2)}
    assert all(r["addresses"] == [VIP] for r in shown if r["kind"] == "vrrp")
    assert sum(r["kind"] == "garp" and r["mac"] == mac_b and r["address"] == VIP
               for r in shown) >= 7
    assert {c["mac"] for c in closing["claims"] if c["address"] == VIP} >= {mac_b, mac_rogue}
    check_pcap(pcap, shown)

    # b's configured view: only what concerns VI_1; the rogue is a conflict.
    lines = [parse(x) for x in on_b.lines()]
    assert lines
    for _t, kind, _m, rest in lines:
        assert VIP in rest or (kind == "vrrp" and "vrid 51 " in rest), rest
    rogue = [rest for _t, k, m, rest in lines if m == mac_rogue]
    assert rogue == [f"{VIP}  conflict"], rogue
    assert any(m == mac_b and k == "garp" and rest.endswith("ours")
               for _t, k, m, rest in lines)
    table = on_b.text().split("who claimed what", 1)[1].splitlines()[2:]
    rows = [row.split() for row in table]
    vip_rows = []
    for row in rows:
        if row[0] == VIP:
            vip_rows.append(row[1:])
        elif vip_rows and row[0].count(":") == 5:
            vip_rows.append(row)
    assert {(r[0], r[-1]) for r in vip_rows} >= {(mac_b, "ours"), (mac_rogue, "conflict")}
    for daemon in daemons.values():
        assert daemon.stop() == 0


def check_pcap(pcap: Path, shown: list[dict[str, Any]]) -> None:
    """tshark and scapy read back ``pcap`` with one frame per JSON record, same source MAC,
    length and time."""
    import scapy.layers.l2  # noqa: F401, PLC0415 - registers Ethernet for the reader
    from scapy.utils import rdpcap  # noqa: PLC0415

    expected = [(r["eth_src"], r["length"]) for r in shown]
    packets = rdpcap(str(pcap))
    assert [(p.src, len(p)) for p in packets] == expected
    assert [round(float(p.time), 5) for p in packets] == [round(r["time"], 5) for r in shown]
    if TSHARK is None:
        if os.environ.get("GARPD_REQUIRE_LAB") == "1":
            pytest.fail("GARPD_REQUIRE_LAB=1 but tshark is not installed")
        pytest.skip("tshark not installed")
    proc = subprocess.run([TSHARK, "-r", str(pcap), "-T", "fields", "-e", "eth.src",
                           "-e", "frame.len"], capture_output=True, text=True, check=True,
                          timeout=120)
    rows = [tuple(x.split("\t")) for x in proc.stdout.splitlines()]
    assert [(src, int(n)) for src, n in rows] == expected


# --------------------------------------------------------------------------- endings


def test_count_timeout_and_garbage(make_lab: LabFactory, tmp_path: Path,
                                   garpd_cmd: list[str]) -> None:
    """Garbage frames that pass the filter each give a ``malformed``/``unknown`` line with
    their length (no traceback); --count N ends after N lines and --timeout S after S
    seconds, both with exit 0 and the closing table."""
    lab = make_lab(["tx", "rx"], accept_dad=0)
    names = ["arp_cut", "arp_zero_lengths", "ns_cut", "vrrp_cut", "vrrp_version_7"]
    counted = start_watch(lab, "rx", garpd_cmd, tmp_path, "count", "--count", str(len(names)))
    # Padded to Ethernet's 60-byte minimum, as any real wire delivers them (shorter ones
    # did not reach the other end of the lab's bridge).
    table = garbage()
    lab.send_raw("tx", [table[n][0].ljust(60, b"\0") for n in names])
    assert counted.proc.wait(60) == 0, counted.stderr()
    got = [(k, rest) for _t, k, _m, rest in map(parse, counted.lines())]
    assert [k for k, _rest in got] == [table[n][1] for n in names], got
    for (_k, rest), name in zip(got, names, strict=True):  # padding may be trimmed on the way
        assert int(rest.split(" bytes: ")[0]) in (len(table[name][0]), 60), (name, rest)
    assert f"who claimed what ({len(names)} frames in" in counted.text()
    assert counted.stderr().count("\n") == 1  # only "listening on"

    started = time.monotonic()
    timed = start_watch(lab, "rx", garpd_cmd, tmp_path, "timeout", "--timeout", "1")
    assert timed.proc.wait(60) == 0, timed.stderr()
    assert time.monotonic() - started < 60
    assert "who claimed what" in timed.text()


def test_without_cap_net_raw_exits_2(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """As nobody, with every capability dropped (setpriv), watch exits 2 with one line on
    stderr naming CAP_NET_RAW, and nothing on stdout."""
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is required"
    lab = make_lab(["rx"])
    proc = lab.run("rx", setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", *garpd_cmd, "watch", "-i",
                   "eth0", check=False, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "CAP_NET_RAW" in lines[0]
    assert sys.executable  # the child ran this interpreter (garpd_cmd[0])
