"""Seeing the LAN with the real daemon: conflicts and defences, directed requests and their
confirmation, against real Linux neighbour tables (namespaces "a" runs garpd, "router",
"rogue"), observed on the wire and through the daemon's JSON records.

Timing checks are generous (a loaded machine): they catch a missing, doubled or
mis-scheduled frame, not jitter.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from garpd.drivers.neighbour_listener import NeighbourListener
from garpd.frames import FrameCache, mac_bytes
from garpd.lab.netns import inside
from garpd.neighbour_wire import Claim, parse
from tests.daemon_helpers import (
    DaemonFactory,
    TomlValue,
    config_text,
    control_request,
    status_rows,
)
from tests.lab import Frame, Lab, LabFactory, wait_for
from tests.test_neighbour_wire import arp, na

pytestmark = pytest.mark.lab

VIP = "192.0.2.10"
VIP_B = "192.0.2.11"
GW = "192.0.2.1"
SILENT_GW = "192.0.2.254"
NOT_HELD = "192.0.2.77"
VIP6 = "2001:db8::10"
GW6 = "2001:db8::1"
OLD = "02:00:00:00:00:66"
VMAC = "00:00:5e:00:01:33"
FLOOD = Path(__file__).with_name("flood_helper.py")
DROP_BROADCAST_ARP = """
table netdev garpd_test {
  chain ingress {
    type filter hook ingress device eth0 priority 0;
    ether type arp ether daddr ff:ff:ff:ff:ff:ff drop
  }
}
"""


def lan(make_lab: LabFactory) -> Lab:
    """a (garpd), router (192.0.2.1, 2001:db8::1), rogue; no neighbour lock-out, no DAD."""
    lab = make_lab(["a", "router", "rogue"], locktime=0, accept_dad=0)
    lab.add_address("router", f"{GW}/24")
    lab.add_address("router", f"{GW6}/64")
    return lab


def write(tmp_path: Path, announce: Mapping[str, TomlValue],
          *groups: Mapping[str, TomlValue]) -> Path:
    """tmp_path/garpd.toml with these [announce] keys and groups (default: VI_1 = VIP)."""
    path = tmp_path / "garpd.toml"
    path.write_text(config_text(tmp_path / "run" / "garpd.sock",
                                {"master_repeat": 1, "master_delay": 0.0, **announce},
                                groups or [group(VIP)]))
    return path


def group(*addresses: str, name: str = "VI_1", **keys: TomlValue) -> dict[str, TomlValue]:
    """A [[group]] on eth0."""
    return {"name": name, "interface": "eth0", "addresses": list(addresses), **keys}


def garp(mac: str, address: str = VIP) -> bytes:
    """A gratuitous ARP request for ``address`` from ``mac``."""
    return FrameCache().slot(mac_bytes(mac), ipaddress.ip_address(address), "request",
                             False)[0]


def claims(frames: Sequence[Frame]) -> list[tuple[float, Claim]]:
    """The frames that parse as ARP/ND, with their capture time."""
    out = []
    for frame in frames:
        c = parse(frame.data)
        if isinstance(c, Claim):
            out.append((frame.t, c))
    return out


def requests_for(frames: Sequence[Frame], gateway: str, source: str = VIP) -> list[float]:
    """Capture times of the directed requests (ARP request or NS) from ``source`` to
    ``gateway``."""
    gw, src = ipaddress.ip_address(gateway), ipaddress.ip_address(source)
    return [t for t, c in claims(frames)
            if c.kind in ("arp_request", "ns") and c.target == gw and c.sender == src]


def router_mac_of(lab: Lab, address: str) -> str | None:
    """The router's neighbour entry for ``address``."""
    return lab.neighbours("router").get(address, (None, ""))[0]


# --------------------------------------------------------------------------- conflicts


def test_rogue_garps_are_conflicts_defended_once_per_interval(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """A rogue's GARPs: conflict records naming its MAC, one defend burst per interval,
    and the router's entry back on the holder each time."""
    lab = lan(make_lab)
    lab.add_address("a", f"{VIP}/24")
    daemon = daemons(lab, write(tmp_path, {"defend_interval": 3.0}))
    rogue, holder = lab.mac("rogue"), lab.mac("a")
    lab.set_neighbour("router", VIP, holder)
    lab.send_raw("rogue", garp(rogue))
    [record] = daemon.wait_records("conflict")
    assert {k: record[k] for k in ("level", "interface", "address", "mac", "other_mac",
                                   "frame", "policy", "defended", "group")} == {
        "level": "warning", "interface": "eth0", "address": VIP, "mac": holder,
        "other_mac": rogue, "frame": "arp_request", "policy": "defend", "defended": True,
        "group": "VI_1"}
    [defend] = daemon.wait_records("announce", reason="defend")
    assert defend["packets"] == 1
    first = time.monotonic()
    wait_for(lambda: router_mac_of(lab, VIP) == holder, message="router back on the holder")
    lab.send_raw("rogue", garp(rogue), count=20)  # inside the interval: counted only
    time.sleep(max(0.0, first + 2.0 - time.monotonic()))
    assert len(daemon.records("announce", reason="defend")) == 1
    assert router_mac_of(lab, VIP) == rogue  # the claimant's last word, until the interval
    time.sleep(max(0.0, first + 3.2 - time.monotonic()))
    lab.send_raw("rogue", garp(rogue))
    records = daemon.wait_records("conflict", count=2)
    assert records[1]["suppressed"] == 20
    assert len(daemon.wait_records("announce", count=2, reason="defend")) == 2
    wait_for(lambda: router_mac_of(lab, VIP) == holder, message="router back on the holder")
    status = json.loads(json.dumps(status_rows(tmp_path / "run" / "garpd.sock")[VIP]))
    assert status["conflicts"]["count"] == 22
    assert status["conflicts"]["defences"] == 2
    assert status["conflicts"]["last_mac"] == rogue


@pytest.mark.parametrize("policy", ["log", "off"])
def test_log_and_off_and_what_is_never_a_conflict(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path,
        policy: str) -> None:
    """log: a record, no defence; off: nothing. Never a conflict: this host's MACs (a
    VMAC interface on "a"), ARP probes, addresses not held."""
    lab = lan(make_lab)
    lab.run("a", "ip", "link", "add", "vmac0", "link", "eth0", "address", VMAC, "type",
            "macvlan", "mode", "private")
    lab.run("a", "ip", "link", "set", "vmac0", "up")
    lab.add_address("a", f"{VIP}/24")
    daemon = daemons(lab, write(tmp_path, {"conflict": policy}))
    rogue = lab.mac("rogue")
    probe = arp(1, rogue, str(ipaddress.IPv4Address(0)), VIP)
    lab.send_raw("rogue", [garp(VMAC), probe, garp(rogue, NOT_HELD), garp(lab.mac("a"))])
    lab.send_raw("rogue", garp(rogue))
    if policy == "log":
        [record] = daemon.wait_records("conflict")
        assert (record["other_mac"], record["policy"], record["defended"]) == (
            rogue, "log", False)
    time.sleep(1.5)
    records = daemon.records("conflict")
    assert len(records) == (1 if policy == "log" else 0), records
    assert daemon.records("announce", reason="defend") == []


# --------------------------------------------------------------------------- confirmation


def test_router_dropping_broadcast_arp_confirms_through_the_directed_request(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """The router drops broadcast ARP (the GARP never lands); the unicast directed
    request moves its entry, and garpd records confirmed with its MAC and after_ms."""
    lab = lan(make_lab)
    lab.run("router", "nft", "-f", "-", input_text=DROP_BROADCAST_ARP)
    # "a" knows the router's MAC (its neighbour table; the request goes unicast).
    lab.set_neighbour("a", GW, lab.mac("router"))
    daemon = daemons(lab, write(tmp_path, {"gateways": [GW]}))
    lab.set_neighbour("router", VIP, OLD)
    lab.add_address("a", f"{VIP}/24")
    [record] = daemon.wait_records("confirmed")
    assert {k: record[k] for k in ("level", "interface", "address", "gateway",
                                   "gateway_mac", "attempts", "group")} == {
        "level": "info", "interface": "eth0", "address": VIP, "gateway": GW,
        "gateway_mac": lab.mac("router"), "attempts": 1, "group": "VI_1"}
    assert isinstance(record["after_ms"], int)
    assert 0 <= record["after_ms"] < 2000
    assert router_mac_of(lab, VIP) == lab.mac("a")
    [row] = status_rows(tmp_path / "run" / "garpd.sock")[VIP]["gateways"]
    assert (row["state"], row["gateway_mac"]) == ("confirmed", lab.mac("router"))


def test_silent_gateway_retries_at_doubled_timeouts_then_unconfirmed(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """Nobody answers: requests at +0, +0.4, +1.2 (doubling), one unconfirmed at +2.8."""
    lab = lan(make_lab)
    cap = lab.capture("router")
    daemon = daemons(lab, write(tmp_path, {"gateways": [SILENT_GW], "confirm_timeout": 0.4,
                                           "confirm_retries": 2}))
    lab.add_address("a", f"{VIP}/24")
    [record] = daemon.wait_records("unconfirmed")
    assert (record["level"], record["gateway"], record["attempts"]) == (
        "warning", SILENT_GW, 3)
    assert 2500 <= int(record["waited_ms"]) <= 3600
    times = requests_for(cap.frames_so_far(), SILENT_GW)
    assert len(times) == 3, times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert abs(gaps[0] - 0.4) < 0.2, gaps
    assert abs(gaps[1] - 0.8) < 0.25, gaps
    time.sleep(1.0)
    assert len(daemon.records("unconfirmed")) == 1
    assert len(requests_for(cap.frames_so_far(), SILENT_GW)) == 3


def test_release_mid_way_cancels_what_is_pending(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """The VIP leaves after the second request: no more requests, no unconfirmed."""
    lab = lan(make_lab)
    cap = lab.capture("router")
    daemon = daemons(lab, write(tmp_path, {"gateways": [SILENT_GW], "confirm_timeout": 0.5,
                                           "confirm_retries": 3}))
    lab.add_address("a", f"{VIP}/24")
    cap.wait_until(lambda fs: len(requests_for(fs, SILENT_GW)) >= 2)
    lab.del_address("a", f"{VIP}/24")
    daemon.wait_records("vip_released")
    time.sleep(4.0)  # the last retry would have been at +3.5, unconfirmed at +7.5
    assert len(requests_for(cap.frames_so_far(), SILENT_GW)) == 2
    assert daemon.records("unconfirmed") == []


def test_ipv6_confirmation_with_ns_and_na(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """IPv6: an NS from the VIP to the router; its solicited NA confirms with its MAC, and
    its neighbour entry for the VIP names the holder."""
    lab = lan(make_lab)
    daemon = daemons(lab, write(tmp_path, {"gateways": [GW6]},
                                group(VIP6)))
    lab.add_address("a", f"{VIP6}/64")
    [record] = daemon.wait_records("confirmed")
    assert (record["gateway"], record["gateway_mac"]) == (GW6, lab.mac("router"))
    wait_for(lambda: router_mac_of(lab, VIP6) == lab.mac("a"), message="router entry moved")


def test_auto_picks_up_a_default_route_added_after_start(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """gateways = ["auto"]: held before any route; `ip route add default via` later starts
    the confirmation with that gateway."""
    lab = lan(make_lab)
    daemon = daemons(lab, write(tmp_path, {"gateways": ["auto"]}))
    lab.add_address("a", f"{VIP}/24")
    daemon.wait_records("announce", reason="master")
    time.sleep(0.5)
    assert daemon.records("confirmed") == []
    lab.run("a", "ip", "route", "add", "default", "via", GW, "dev", "eth0")
    [record] = daemon.wait_records("confirmed")
    assert (record["gateway"], record["gateway_mac"]) == (GW, lab.mac("router"))
    assert router_mac_of(lab, VIP) == lab.mac("a")


def test_check_lists_the_auto_gateways_it_would_use(
        make_lab: LabFactory, garpd_cmd: list[str], tmp_path: Path) -> None:
    """`garpd check` with gateways = ["auto"] reads the routes: none before a default route,
    the route's gateway after it."""
    lab = lan(make_lab)
    lab.add_address("a", f"{VIP}/24")
    cfg = write(tmp_path, {"gateways": ["auto"]})
    argv = (*garpd_cmd, "check", "-c", str(cfg))
    before = lab.run("a", *argv)
    assert "gateways: auto (" in before.stdout
    assert "; now: none)" in before.stdout
    lab.run("a", "ip", "route", "add", "default", "via", GW, "dev", "eth0")
    after = lab.run("a", *argv)
    assert f"; now: {GW})" in after.stdout
    doc = json.loads(lab.run("a", *argv, "--json").stdout)
    assert any(f"now: {GW}" in note for g in doc["groups"] for note in g["notes"])


# --------------------------------------------------------------------------- flood


def test_flood_of_conflicting_frames_leaves_other_schedules_on_time(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """10,000 rogue GARPs a second for 5 s: another group's refresh keeps its 0.5 s grid,
    and the flooded VIP is defended at most once per defend_interval (2 s)."""
    lab = lan(make_lab)
    lab.add_address("a", f"{VIP}/24")
    lab.add_address("a", f"{VIP_B}/24")
    cfg = write(tmp_path, {"defend_interval": 2.0},
                group(VIP), group(VIP_B, name="VI_2", master_refresh=0.5, conflict="off"))
    daemon = daemons(lab, cfg)
    cap = lab.capture("router")
    frame = garp(lab.mac("rogue"))
    proc = lab.run("rogue", sys.executable, str(FLOOD), frame.hex(), "10000", "5",
                   timeout=60.0)
    report = json.loads(proc.stdout)
    assert report["sent"] >= 30000, report  # the flood really happened
    time.sleep(0.6)
    frames = cap.frames_so_far()
    vip_b = ipaddress.ip_address(VIP_B)
    refresh = [t for t, c in claims(frames)
               if c.kind == "garp" and c.sender == vip_b and c.eth_src == mac_bytes(lab.mac("a"))]
    assert len(refresh) >= 10, refresh
    gaps = [b - a for a, b in itertools.pairwise(refresh)]
    assert all(0.3 < gap < 0.75 for gap in gaps), gaps
    defences = daemon.records("announce", reason="defend", address=VIP)
    assert 1 <= len(defences) <= 4, defences  # 5 s / 2 s: at most 3, +1 for edges
    counters = status_rows(tmp_path / "run" / "garpd.sock")[VIP]["conflicts"]
    assert counters["count"] >= 1000


def test_malformed_frames_are_counted_and_dropped_and_metrics_count(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """An ARP with op 3 and an NA with hop limit 64 for held addresses: counted, logged
    once, dropped; the daemon goes on and still defends; the metrics count conflicts and
    defences."""
    lab = lan(make_lab)
    lab.add_address("a", f"{VIP}/24")
    lab.add_address("a", f"{VIP6}/64")
    daemon = daemons(lab, write(tmp_path, {}, group(VIP, VIP6)))
    rogue = lab.mac("rogue")
    bad_op = bytearray(arp(1, rogue, VIP, VIP))
    bad_op[21] = 3
    bad_hop = na("2001:db8::66", "ff02::1", VIP6, hlim=64)
    lab.send_raw("rogue", [bytes(bad_op), bad_hop] * 5)
    [warning] = daemon.wait_records("neighbour_malformed")
    assert warning["level"] == "warning"
    sock = tmp_path / "run" / "garpd.sock"
    counters = wait_for(lambda: (c := control_request(sock, {"command": "status"})["counters"])
                        and c["neighbour_malformed"] >= 10 and c, message="10 malformed")
    assert counters["neighbour_malformed"] == 10
    lab.send_raw("rogue", garp(rogue))
    daemon.wait_records("announce", reason="defend")
    assert len(daemon.records("neighbour_malformed")) == 1
    text = str(control_request(sock, {"command": "metrics"})["text"])
    assert 'garpd_conflicts_total{interface="eth0"} 1.0' in text
    assert 'garpd_defences_total{interface="eth0"} 1.0' in text


def test_listener_is_narrowed_once_the_first_frames_are_out(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """Before a takeover's first frame the listener is only widened (a constant program);
    the exact filter follows at once: afterwards the rogue's ARP about other addresses never
    reaches garpd (not even counted as read), while a GARP for a held one still does."""
    lab = lan(make_lab)
    lab.add_address("a", f"{VIP}/24")
    daemon = daemons(lab, write(tmp_path, {}, group(VIP, VIP_B)))
    daemon.wait_records("announce", address=VIP)
    sock = tmp_path / "run" / "garpd.sock"
    lab.add_address("a", f"{VIP_B}/24")  # a second takeover: widened, then narrowed again
    daemon.wait_records("announce", address=VIP_B)
    time.sleep(0.3)
    before = control_request(sock, {"command": "status"})["counters"]["neighbour_frames"]
    rogue = lab.mac("rogue")
    lab.send_raw("rogue", [garp(rogue, NOT_HELD), arp(1, rogue, SILENT_GW, GW)] * 20)
    lab.send_raw("rogue", garp(rogue, VIP_B))
    daemon.wait_records("announce", reason="defend", address=VIP_B)
    counters = control_request(sock, {"command": "status"})["counters"]
    assert counters["neighbour_frames"] - before == 1, (before, counters)


def test_parked_listener_reads_nothing_and_listens_again_on_reacquire(
        make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path) -> None:
    """The last watched address goes: the listener is parked (kept open, closing costs the
    loop an RCU grace period), reads nothing; the address comes back: it listens again (what
    the parked socket queued is thrown away unread) and defends, three times over."""
    lab = lan(make_lab)
    daemon = daemons(lab, write(tmp_path, {"defend_interval": 0.1}, group(VIP)))
    sock = tmp_path / "run" / "garpd.sock"
    rogue = lab.mac("rogue")

    def frames_read() -> int:
        return int(control_request(sock, {"command": "status"})["counters"]["neighbour_frames"])

    for round_ in range(1, 4):
        lab.add_address("a", f"{VIP}/24")
        daemon.wait_records("announce", count=round_, address=VIP, reason="master")
        time.sleep(0.2)
        # The rogue's GARPs sent while it was parked (the kernel may have queued a few)
        # are thrown away, never read as claims.
        assert len(daemon.records("conflict")) == round_ - 1, "read what came while parked"
        lab.send_raw("rogue", garp(rogue, VIP))
        daemon.wait_records("announce", count=round_, address=VIP, reason="defend")
        lab.del_address("a", f"{VIP}/24")
        daemon.wait_records("vip_released", count=round_, address=VIP)
        time.sleep(0.2)
        before = frames_read()
        lab.send_raw("rogue", [garp(rogue, VIP)] * 5)
        time.sleep(0.3)
        assert frames_read() == before, "a parked listener read frames"


class _Errors:
    """A log that keeps what the listener reports (it logs only errors and warnings)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def error(self, event: str, **fields: object) -> None:
        self.seen.append((event, fields))

    warning = error


def test_widened_parked_listener_reads_what_comes_after_the_widen_only(
        make_lab: LabFactory) -> None:
    """A parked listener widened before a takeover's frames: what the kernel queued while it
    was parked is thrown away; what comes after the widen is read, though the reader is
    added only on the loop's next round (after the frames)."""
    lab = lan(make_lab)
    rogue = lab.mac("rogue")
    got: list[Claim] = []
    log = _Errors()
    loop = asyncio.new_event_loop()
    try:
        with inside(lab.ns("a")):
            index = socket.if_nametoindex("eth0")
            listener = NeighbourListener(lambda _ifname, claims: got.extend(claims), log, loop)
            listener.watch("eth0", index, [ipaddress.IPv4Address(VIP)], [])
        listener.park("eth0")
        assert listener.listening() == {}
        lab.send_raw("rogue", [garp(rogue, NOT_HELD)] * 3)  # parked: queued, never read
        time.sleep(0.1)
        assert listener.widen("eth0")
        lab.send_raw("rogue", garp(rogue, VIP_B))  # after the widen, before the reader
        time.sleep(0.1)
        loop.run_until_complete(asyncio.sleep(0.2))
        assert [str(c.sender) for c in got] == [VIP_B]
        assert listener.listening() == {"eth0": index}
        assert listener.counters["neighbour_frames"] == 1
        listener.close()
    finally:
        loop.close()
    assert log.seen == []
