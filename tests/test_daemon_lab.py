"""Lab tests of the real daemon, ``garpd --log-format json run -c FILE``, in namespace "a".

Namespace "peer" on the same bridge captures what arrives and keeps a neighbour table that
must follow the VIP. The daemon is driven as systemd and an operator drive it: readiness
over NOTIFY_SOCKET, SIGHUP / SIGTERM, ``ip`` commands, ``garpd status`` / ``notify`` /
``check``; it is observed through its JSON log lines and the captured frames only.
Timing checks are generous (a burst within 0.3 s of its due time): they catch a missing,
doubled or mis-scheduled burst, not jitter.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_helpers import (
    Daemon,
    DaemonFactory,
    Record,
    TomlValue,
    announcements,
    check_timeline,
    config_text,
    garps,
    neighbour_mac,
    parse_json_lines,
    select_records,
    status_rows,
    wait_neighbour,
)
from tests.lab import BROADCAST_MAC, Capture, Frame, Lab, LabFactory, wait_for

pytestmark = pytest.mark.lab

VIP4 = "192.0.2.10"
VIP4B = "192.0.2.11"
VIP4C = "192.0.2.12"
VIP6 = "2001:db8::10"
PEER4 = "192.0.2.20"
PEER6 = "2001:db8::20"
WRONG_MAC = "02:00:00:00:00:99"
NEW_MAC = "02:00:00:00:00:42"
ALL_NODES_MAC = "33:33:00:00:00:01"
#: How long a one-shot garpd command (notify, status, check, run --oneshot) may take.
CMD_TIMEOUT = 60.0


# --------------------------------------------------------------------------- fixtures


def make_pair(make_lab: LabFactory, *, accept_dad: int = 0) -> Lab:
    """Hosts "a" (runs garpd) and "peer" (captures); neighbour updates are never locked out.

    The peer never runs DAD, so its own addresses are usable at once whatever ``accept_dad``
    says for "a".
    """
    lab = make_lab(["a", "peer"], accept_dad=accept_dad, locktime=0)
    if accept_dad:
        lab.sysctl("peer", {"net.ipv6.conf.all.accept_dad": 0,
                            "net.ipv6.conf.eth0.accept_dad": 0})
    lab.add_address("peer", f"{PEER4}/24")
    lab.add_address("peer", f"{PEER6}/64")
    return lab


def write_config(tmp_path: Path, announce: Mapping[str, TomlValue] | None = None,
                 groups: Sequence[Mapping[str, TomlValue]] = ()) -> Path:
    """Write tmp_path/garpd.toml; its control socket is tmp_path/run/garpd.sock."""
    path = tmp_path / "garpd.toml"
    path.write_text(config_text(control_socket(tmp_path), announce, groups))
    return path


def control_socket(tmp_path: Path) -> Path:
    """The control socket every configuration here names (its directory is left to garpd)."""
    return tmp_path / "run" / "garpd.sock"


def group(*addresses: str, interface: str = "eth0") -> dict[str, TomlValue]:
    """A ``[[group]]`` table named VI_1."""
    return {"name": "VI_1", "interface": interface, "addresses": list(addresses)}


def ip(lab: Lab, *args: str, host: str = "a") -> None:
    """``ip ARGS`` in ``host`` (checked)."""
    lab.run(host, "ip", *args)


def add_vip(lab: Lab, address: str, dev: str = "eth0") -> float:
    """``ip addr add`` the VIP (no waiting for DAD); the monotonic time just before."""
    prefix = 24 if ipaddress.ip_address(address).version == 4 else 64
    before = time.monotonic()
    ip(lab, "addr", "add", f"{address}/{prefix}", "dev", dev)
    return before


def plant_wrong_neighbour(lab: Lab, address: str, dev: str = "eth0") -> None:
    """Give the peer a STALE entry for ``address`` pointing at a MAC nobody has."""
    lab.set_neighbour("peer", address, WRONG_MAC, dev=dev)
    assert neighbour_mac(lab, address, dev=dev) == WRONG_MAC


def wait_frames(cap: Capture, address: str, count: int, timeout: float = 10.0) -> list[Frame]:
    """Wait until ``cap`` has ``count`` announcements for ``address``; return them all."""
    frames = cap.wait_until(lambda fs: len(announcements(fs, address)) >= count, timeout)
    return announcements(frames, address)


def settle(cap: Capture, address: str, seconds: float) -> list[Frame]:
    """Let ``seconds`` pass, then every announcement for ``address`` captured so far."""
    time.sleep(seconds)
    return announcements(cap.frames_so_far(), address)


def check_stopped(daemon: Daemon) -> None:
    """SIGTERM ends the daemon with exit 0 within 5 s, with no error logged on the way."""
    code, took = daemon.stop(5.0)
    assert code == 0, daemon.log_text()
    assert took < 5.0
    assert daemon.errors() == [], daemon.errors()


def check_announce(record: Record, *, address: str, mac: str, reason: str, packets: int,
                   interface: str = "eth0") -> None:
    """One ``announce`` record has the fields SPEC "Logs" promises, with these values."""
    assert record["event"] == "announce"
    assert record["level"] == "info"
    assert record["interface"] == interface
    assert record["address"] == address
    assert record["mac"] == mac
    assert record["reason"] == reason
    assert record["packets"] == packets
    when = datetime.fromisoformat(str(record["timestamp"]))
    assert when.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)


def reasons(daemon: Daemon, address: str) -> list[tuple[str, int]]:
    """(reason, packets) of every ``announce`` record about ``address``, in order."""
    return [(r["reason"], r["packets"]) for r in daemon.records("announce", address=address)]


def run_cli(lab: Lab, garpd_cmd: Sequence[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``garpd --log-format json ARGS`` in "a", waited for (never checked)."""
    return lab.run("a", *garpd_cmd, "--log-format", "json", *args, check=False,
                   timeout=CMD_TIMEOUT)


# --------------------------------------------------------------------------- systemd


def test_ready_watchdog_and_sigterm(make_lab: LabFactory, daemons: DaemonFactory,
                                    tmp_path: Path) -> None:
    """READY=1 with STATUS= after the dump; WATCHDOG=1 pings; SIGTERM: STOPPING=1, exit 0."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    cfg = write_config(tmp_path, {"master_repeat": 1, "master_delay": 0.0}, [group(VIP4)])
    daemon = daemons(lab, cfg, env={"WATCHDOG_USEC": "400000"})

    (ready,) = [m for m in daemon.messages if "READY=1" in m]
    status = [line for line in ready if line.startswith("STATUS=")]
    assert len(status) == 1
    assert status[0] != "STATUS="
    # READY=1 comes after the initial dump: the VIP found at start is already held, and the
    # control socket already answers.
    assert status_rows(control_socket(tmp_path))[VIP4]["held"] is True
    daemon.wait_message("WATCHDOG=1", 5.0)
    daemon.wait_message("WATCHDOG=1", 5.0)

    code, took = daemon.stop(5.0)
    assert code == 0, daemon.log_text()
    assert took < 5.0
    messages = daemon.drain_messages()
    assert ["STOPPING=1"] in messages[messages.index(ready):]
    assert daemon.errors() == []


# --------------------------------------------------------------------------- takeover


def test_takeover_timeline_with_refresh(make_lab: LabFactory, daemons: DaemonFactory,
                                        tmp_path: Path) -> None:
    """`ip addr add`: 2 GARPs at 0, 2 at 1.0 s, then 1 per second; the peer's entry moves."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 1.0,
                                  "master_refresh": 1.0, "master_refresh_repeat": 1},
                       [group(VIP4)])
    plant_wrong_neighbour(lab, VIP4)
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    added = add_vip(lab, VIP4)

    got = wait_frames(cap, VIP4, 7, timeout=15.0)
    t0 = got[0].t
    assert added <= t0 <= added + 1.0
    check_timeline(got, t0, [(0.0, 2), (1.0, 2), (2.0, 1), (3.0, 1), (4.0, 1)])
    for frame in got:
        assert frame.decode() == {
            "eth_dst": BROADCAST_MAC, "eth_src": mac, "ethertype": 0x0806,
            "op": 1, "sha": mac, "spa": VIP4, "tha": BROADCAST_MAC, "tpa": VIP4,
        }
    wait_neighbour(lab, VIP4, mac)

    records = daemon.wait_records("announce", 5, address=VIP4)
    expected = [("master", 2), ("master_delay", 2), ("refresh", 1), ("refresh", 1),
                ("refresh", 1)]
    assert [(r["reason"], r["packets"]) for r in records[:5]] == expected
    for record, (reason, packets) in zip(records, expected, strict=False):
        check_announce(record, address=VIP4, mac=mac, reason=reason, packets=packets)
        assert record["group"] == "VI_1"
    (acquired,) = daemon.records("vip_acquired", address=VIP4)
    assert acquired["interface"] == "eth0"
    check_stopped(daemon)


def test_release_cancels_delayed_burst_and_refresh(make_lab: LabFactory,
                                                   daemons: DaemonFactory,
                                                   tmp_path: Path) -> None:
    """Removing the VIP 0.5 s after takeover cancels its delayed burst and its refresh."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 1.5,
                                  "master_refresh": 1.0}, [group(VIP4)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    first = wait_frames(cap, VIP4, 2)
    time.sleep(max(0.0, first[0].t + 0.5 - time.monotonic()))
    removed = time.monotonic()
    ip(lab, "addr", "del", f"{VIP4}/24", "dev", "eth0")

    (released,) = daemon.wait_records("vip_released", address=VIP4)
    assert released["interface"] == "eth0"
    got = settle(cap, VIP4, max(0.0, removed + 3.0 - time.monotonic()))
    assert len(got) == 2
    assert all(f.t < removed for f in got)
    assert reasons(daemon, VIP4) == [("master", 2)]
    row = status_rows(control_socket(tmp_path)).get(VIP4)
    assert row is None or row["held"] is False
    check_stopped(daemon)


def test_release_cancels_frames_in_interval_queue(make_lab: LabFactory,
                                                   daemons: DaemonFactory,
                                                   tmp_path: Path) -> None:
    """Removing the VIP mid-burst with interval pacing drops the frames still queued."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 6, "master_delay": 0.0, "interval": 0.3},
                       [group(VIP4)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    first = wait_frames(cap, VIP4, 2)
    assert first[1].t - first[0].t >= 0.2  # paced, not one burst
    ip(lab, "addr", "del", f"{VIP4}/24", "dev", "eth0")
    gone = time.monotonic()  # the address is gone; garpd hears of it within milliseconds

    daemon.wait_records("vip_released", address=VIP4)
    got = settle(cap, VIP4, 2.5)
    assert len(got) < 6
    assert all(f.t < gone + 0.1 for f in got), [round(f.t - gone, 3) for f in got]
    check_stopped(daemon)


def test_renamed_interface_releases_removed_vip(make_lab: LabFactory, daemons: DaemonFactory,
                                               tmp_path: Path) -> None:
    """eth0 renamed while up, then its VIP removed: released, and no frame for it after."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 1, "master_delay": 0.0,
                                  "master_refresh": 0.5})  # no groups: every interface
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    wait_frames(cap, VIP4, 2)  # the takeover and the first refresh
    ip(lab, "link", "set", "eth0", "name", "lan0")
    removed = time.monotonic()
    ip(lab, "addr", "del", f"{VIP4}/24", "dev", "lan0")

    got = settle(cap, VIP4, 2.0)
    assert [round(f.t - removed, 3) for f in got if f.t > removed + 0.1] == []
    daemon.wait_records("vip_released", address=VIP4, timeout=1.0)
    check_stopped(daemon)


def test_link_flap_starts_link_up_takeover(make_lab: LabFactory, daemons: DaemonFactory,
                                           tmp_path: Path) -> None:
    """eth0 down then up with the VIP kept: a new takeover, reasons link_up, link_up_delay."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.5}, [group(VIP4)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    wait_frames(cap, VIP4, 4)

    ip(lab, "link", "set", "eth0", "down")
    daemon.wait_records("vip_released", address=VIP4)
    plant_wrong_neighbour(lab, VIP4)
    up = time.monotonic()
    ip(lab, "link", "set", "eth0", "up")

    got = wait_frames(cap, VIP4, 8)
    after = [f for f in got if f.t > up]
    assert len(after) == 4
    assert after[0].t - up < 3.0  # carrier comes back, then the takeover starts at once
    check_timeline(after, after[0].t, [(0.0, 2), (0.5, 2)])
    assert all(f.decode()["sha"] == mac for f in after)
    wait_neighbour(lab, VIP4, mac)
    daemon.wait_records("announce", 4, address=VIP4)
    assert reasons(daemon, VIP4) == [("master", 2), ("master_delay", 2), ("link_up", 2),
                                     ("link_up_delay", 2)]
    assert len(daemon.records("vip_acquired", address=VIP4)) == 2
    assert len(settle(cap, VIP4, 0.5)) == 8
    check_stopped(daemon)


def test_mac_change_burst_and_new_mac_afterwards(make_lab: LabFactory,
                                                 daemons: DaemonFactory,
                                                 tmp_path: Path) -> None:
    """A live MAC change: a mac_change burst from the new MAC; every later frame uses it.

    veth accepts a MAC change while up (IFF_LIVE_ADDR_CHANGE), so carrier stays and the
    change arrives alone, as on a bond failover.
    """
    lab = make_pair(make_lab)
    old = lab.mac("a")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.5,
                                  "master_refresh": 1.0}, [group(VIP4)])
    plant_wrong_neighbour(lab, VIP4)
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    t0 = wait_frames(cap, VIP4, 4)[0].t
    wait_neighbour(lab, VIP4, old)
    changed = time.monotonic()
    ip(lab, "link", "set", "eth0", "address", NEW_MAC)
    assert changed < t0 + 1.4, "the MAC change came after the first refresh was due"

    got = wait_frames(cap, VIP4, 8)  # 2 + 2, mac_change 2, refresh at 1.5 and 2.5
    before = [f for f in got if f.t < changed]
    after = [f for f in got if f.t >= changed]
    assert len(before) == 4
    assert all(f.decode()["sha"] == f.decode()["eth_src"] == old for f in before)
    assert all(f.decode()["sha"] == f.decode()["eth_src"] == NEW_MAC for f in after)
    assert after[0].t - changed < 1.0
    check_timeline(after, after[0].t, [(0.0, 2)])
    check_timeline(after[2:], t0, [(1.5, 1), (2.5, 1)])
    wait_neighbour(lab, VIP4, NEW_MAC)

    records = daemon.wait_records("announce", 5, address=VIP4)
    assert [(r["reason"], r["packets"]) for r in records[:5]] == [
        ("master", 2), ("master_delay", 2), ("mac_change", 2), ("refresh", 1), ("refresh", 1)]
    check_announce(records[2], address=VIP4, mac=NEW_MAC, reason="mac_change", packets=2)
    assert records[3]["mac"] == records[4]["mac"] == NEW_MAC
    check_stopped(daemon)


@pytest.mark.parametrize("kind", ["vlan", "macvlan"])
def test_interface_recreated_under_same_name(make_lab: LabFactory, daemons: DaemonFactory,
                                             tmp_path: Path, kind: str) -> None:
    """An interface deleted and re-created by name: its VIP is announced again (master).

    VLAN needs the kernel's 8021q; without it that case is skipped and the macvlan case
    (a keepalived VMAC-like interface on eth0) covers the same path.
    """
    vip, peer_vip = "198.51.100.10", "198.51.100.20"
    macs = ("02:00:00:00:00:51", "02:00:00:00:00:52")
    lab = make_pair(make_lab)
    if kind == "vlan":
        ifname = "eth0.100"
        spec = ["type", "vlan", "id", "100"]
        peer_dev = ifname
        made = lab.run("peer", "ip", "link", "add", "link", "eth0", "name", ifname, *spec,
                       check=False)
        if made.returncode != 0:
            pytest.skip(f"no VLAN interfaces in this kernel: {made.stderr.strip()}")
        ip(lab, "link", "set", ifname, "up", host="peer")
    else:
        ifname = "mv0"
        spec = ["type", "macvlan", "mode", "bridge"]
        peer_dev = "eth0"
    lab.add_address("peer", f"{peer_vip}/24", dev=peer_dev)

    def create(mac: str) -> None:
        ip(lab, "link", "add", "link", "eth0", "name", ifname, "address", mac, *spec)
        ip(lab, "link", "set", ifname, "up")

    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0},
                       [group(vip, interface=ifname)])
    cap = lab.capture("peer", dev=peer_dev)
    daemon = daemons(lab, cfg)
    create(macs[0])
    add_vip(lab, vip, dev=ifname)
    first = wait_frames(cap, vip, 2)
    assert all(f.decode()["sha"] == macs[0] for f in first)
    daemon.wait_records("announce", address=vip)

    ip(lab, "link", "del", ifname)
    daemon.wait_records("vip_released", address=vip)
    plant_wrong_neighbour(lab, vip, dev=peer_dev)
    create(macs[1])
    add_vip(lab, vip, dev=ifname)

    got = wait_frames(cap, vip, 4)
    assert len(got) == 4
    assert all(f.decode()["sha"] == f.decode()["eth_src"] == macs[1] for f in got[2:])
    wait_neighbour(lab, vip, macs[1], dev=peer_dev)
    records = daemon.wait_records("announce", 2, address=vip)
    check_announce(records[0], address=vip, mac=macs[0], reason="master", packets=2,
                   interface=ifname)
    check_announce(records[1], address=vip, mac=macs[1], reason="master", packets=2,
                   interface=ifname)
    assert len(settle(cap, vip, 0.5)) == 4
    check_stopped(daemon)


def test_ipv6_vip_announced_only_after_dad(make_lab: LabFactory, daemons: DaemonFactory,
                                           tmp_path: Path) -> None:
    """IPv6 with DAD: no NA while the VIP is tentative, NAs (master) once DAD is done."""
    lab = make_pair(make_lab, accept_dad=1)
    mac = lab.mac("a")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0}, [group(VIP6)])
    plant_wrong_neighbour(lab, VIP6)
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP6)

    last_tentative: float | None = None
    ready_seen: float | None = None
    checked = 0
    deadline = time.monotonic() + 10.0
    while ready_seen is None and time.monotonic() < deadline:
        asked = time.monotonic()
        flags = address_flags(lab, VIP6)
        assert flags is not None
        assert not flags.get("dadfailed")
        if flags.get("tentative"):
            last_tentative = asked
            row = status_rows(control_socket(tmp_path)).get(VIP6)
            if (address_flags(lab, VIP6) or {}).get("tentative"):  # still, after asking
                assert row is None or row["held"] is False, row
                checked += 1
        else:
            ready_seen = time.monotonic()
        time.sleep(0.02)
    assert last_tentative is not None, "DAD is off: the VIP was never seen tentative"
    assert ready_seen is not None, "the VIP stayed tentative for 10 s"
    assert checked, "status was never asked while the VIP was tentative"

    got = wait_frames(cap, VIP6, 2)
    assert len(got) == 2
    assert got[0].t > last_tentative
    assert got[0].t - ready_seen < 1.0
    for frame in got:
        assert frame.decode() == {
            "eth_dst": ALL_NODES_MAC, "eth_src": mac, "ethertype": 0x86DD,
            "src": VIP6, "dst": "ff02::1", "hop_limit": 255, "next_header": 58,
            "icmp_type": 136, "icmp_code": 0, "icmp_checksum_ok": True,
            "flag_r": False, "flag_s": False, "flag_o": True, "target": VIP6, "tlla": mac,
        }
    wait_neighbour(lab, VIP6, mac)
    (record,) = daemon.wait_records("announce", address=VIP6)
    check_announce(record, address=VIP6, mac=mac, reason="master", packets=2)
    assert status_rows(control_socket(tmp_path))[VIP6]["held"] is True
    check_stopped(daemon)


def test_ipv6_dad_failure_never_announced(make_lab: LabFactory, daemons: DaemonFactory,
                                          tmp_path: Path) -> None:
    """An IPv6 VIP whose DAD fails (the peer owns it) is never announced: dad_failed logged."""
    lab = make_pair(make_lab, accept_dad=1)
    mac = lab.mac("a")
    lab.add_address("peer", f"{VIP6}/64")  # the peer owns it and answers a's DAD probe
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0}, [group(VIP6)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP6)

    wait_for(lambda: (address_flags(lab, VIP6) or {}).get("dadfailed"), 10.0,
             message=f"DAD of {VIP6} on a fails")
    (failed,) = daemon.wait_records("dad_failed", address=VIP6)
    assert failed["level"] == "warning"
    from_a = [f for f in settle(cap, VIP6, 1.0) if f.decode()["eth_src"] == mac]
    assert from_a == []
    assert daemon.records("announce") == []
    assert daemon.records("vip_acquired") == []
    assert status_rows(control_socket(tmp_path))[VIP6]["held"] is False
    check_stopped(daemon)


def address_flags(lab: Lab, address: str) -> dict[str, Any] | None:
    """``ip -j addr`` info for ``address`` on a's eth0 (None if it is not there)."""
    out = lab.run("a", "ip", "-j", "addr", "show", "dev", "eth0").stdout
    for link in json.loads(out):
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return dict(info)
    return None


def test_storm_of_2000_addresses(make_lab: LabFactory, daemons: DaemonFactory,
                                 tmp_path: Path) -> None:
    """2,000 addresses added in one batch: one GARP and one record each; removed: released."""
    lab = make_pair(make_lab)
    base = ipaddress.ip_address("198.18.0.0")
    addresses = [str(base + 1 + i) for i in range(2000)]
    cfg = write_config(tmp_path, {"master_repeat": 1, "master_delay": 0.0})  # no groups
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)

    lab.run("a", "ip", "-batch", "-",
            input_text="".join(f"address add {a}/32 dev eth0\n" for a in addresses))
    records = daemon.wait_records("announce", 2000, timeout=60.0)
    assert len(records) == 2000
    assert sorted(r["address"] for r in records) == sorted(addresses)
    assert {(r["reason"], r["packets"]) for r in records} == {("master", 1)}
    frames = cap.wait_until(lambda fs: len(garps(fs)) >= 2000, 30.0)
    assert collections.Counter(f.decode()["spa"] for f in garps(frames)) \
        == dict.fromkeys(addresses, 1)

    lab.run("a", "ip", "-batch", "-",
            input_text="".join(f"address del {a}/32 dev eth0\n" for a in addresses))
    released = daemon.wait_records("vip_released", 2000, timeout=60.0)
    assert sorted(r["address"] for r in released) == sorted(addresses)
    time.sleep(0.5)
    frames = cap.stop()
    assert len(garps(frames)) == 2000
    assert cap.drops == 0
    assert len(daemon.records("announce")) == 2000
    check_stopped(daemon)


# --------------------------------------------------------------------------- reload


def test_sighup_reload_valid_then_invalid(make_lab: LabFactory, daemons: DaemonFactory,
                                          tmp_path: Path) -> None:
    """SIGHUP: a valid file applies (held state kept); an invalid one is logged and ignored."""
    lab = make_pair(make_lab)
    groups = [group(VIP4, VIP4B, VIP4C)]
    cfg = write_config(tmp_path, {"master_repeat": 1, "master_delay": 0.0}, groups)
    sock = control_socket(tmp_path)
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    wait_frames(cap, VIP4, 1)
    daemon.wait_records("announce", address=VIP4)

    # A valid new file: master_repeat 1 -> 3.
    write_config(tmp_path, {"master_repeat": 3, "master_delay": 0.0}, groups)
    check_reload(daemon)
    (loaded,) = daemon.wait_records("config_loaded", reload=True)
    assert loaded["level"] == "info"
    row = status_rows(sock)[VIP4]
    assert (row["held"], row["sent"]) == (True, 1)
    add_vip(lab, VIP4B)
    wait_frames(cap, VIP4B, 3)
    assert len(settle(cap, VIP4B, 0.5)) == 3
    assert len(announcements(cap.frames_so_far(), VIP4)) == 1  # no new takeover
    assert reasons(daemon, VIP4B) == [("master", 3)]

    # An invalid file: the running configuration stays.
    cfg.write_text(cfg.read_text().replace("master_repeat = 3", "master_repeat = 0"))
    check_reload(daemon)
    (rejected,) = daemon.wait_records("config_rejected")
    assert rejected["level"] == "error"
    assert "master_repeat" in json.dumps(rejected)
    assert str(cfg) in json.dumps(rejected)
    assert daemon.proc is not None
    assert daemon.proc.poll() is None
    rows = status_rows(sock)
    assert rows[VIP4]["held"] is True
    assert rows[VIP4B]["held"] is True
    add_vip(lab, VIP4C)
    wait_frames(cap, VIP4C, 3)
    assert len(settle(cap, VIP4C, 0.5)) == 3
    assert reasons(daemon, VIP4C) == [("master", 3)]

    code, _took = daemon.stop(5.0)
    assert code == 0
    assert [r["event"] for r in daemon.errors()] == ["config_rejected"]


def check_reload(daemon: Daemon) -> None:
    """SIGHUP, then RELOADING=1 (with MONOTONIC_USEC) and after it READY=1 again."""
    mark = len(daemon.drain_messages())
    daemon.signal(signal.SIGHUP)
    daemon.wait_message("READY=1")
    new = daemon.messages[mark:]
    reloading = [i for i, m in enumerate(new) if "RELOADING=1" in m]
    ready = [i for i, m in enumerate(new) if "READY=1" in m]
    assert reloading, new
    assert reloading[0] < ready[0], new
    assert any(line.startswith("MONOTONIC_USEC=") for line in new[reloading[0]])


# --------------------------------------------------------------------------- status


NOBODY_CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect('/proc/self/fd/' + sys.argv[1])
except PermissionError:
    print('EACCES')
    raise SystemExit(0)
try:
    s.sendall(b'{"command": "status"}\\n')
except OSError:
    pass
data = b''
try:
    while chunk := s.recv(65536):
        data += chunk
except ConnectionResetError:  # the daemon closed without reading the request
    pass
sys.stdout.write(data.decode())
"""


def nobody_connects(lab: Lab, sock: Path) -> str:
    """What uid 65534 gets from the control socket (stdout of a tiny client, or EACCES).

    The client reaches the socket through an O_PATH descriptor (/proc/self/fd/N), so that
    the test's private tmp directory does not stop it: only the socket's own mode and the
    daemon's SO_PEERCRED check decide.
    """
    fd = os.open(sock, os.O_PATH)
    try:
        proc = lab.popen("a", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         sys.executable, "-c", NOBODY_CONNECT, str(fd), pass_fds=(fd,),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=CMD_TIMEOUT)
    finally:
        os.close(fd)
    assert proc.returncode == 0, err
    return str(out)


def test_status_json_text_and_socket_permissions(make_lab: LabFactory, garpd_cmd: list[str],
                                                 daemons: DaemonFactory,
                                                 tmp_path: Path) -> None:
    """`status --json`: one JSON document; text exit 0; socket 0600; others get ok false."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0},
                       [group(VIP4, VIP6)])
    sock = control_socket(tmp_path)
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    add_vip(lab, VIP6)
    wait_frames(cap, VIP4, 2)
    wait_frames(cap, VIP6, 2)
    daemon.wait_records("announce", 2)

    proc = run_cli(lab, garpd_cmd, "status", "--json", "-c", str(cfg))
    assert proc.returncode == 0, proc.stderr
    doc, end = json.JSONDecoder().raw_decode(proc.stdout)
    assert proc.stdout[end:] == "\n"
    assert doc["ok"] is True
    rows = {row["address"]: row for row in doc["addresses"]}
    for address in (VIP4, VIP6):
        row = rows[address]
        assert (row["interface"], row["held"], row["sent"]) == ("eth0", True, 2)
    counters = doc["counters"]
    assert isinstance(counters, dict)
    assert counters
    assert all(isinstance(v, int) for v in counters.values())

    text = run_cli(lab, garpd_cmd, "status", "-c", str(cfg))
    assert text.returncode == 0, text.stderr
    assert VIP4 in text.stdout
    assert VIP6 in text.stdout

    info = os.stat(sock)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == 0
    assert nobody_connects(lab, sock) == "EACCES\n"
    # Even with the mode opened up, SO_PEERCRED turns another user away with nothing else.
    os.chmod(sock, 0o666)  # noqa: S103 - on purpose, to reach the SO_PEERCRED check
    try:
        reply = nobody_connects(lab, sock)
    finally:
        os.chmod(sock, 0o600)
    assert reply == '{"ok": false}\n'
    (denied,) = daemon.wait_records("control_denied")
    assert denied["uid"] == 65534
    check_stopped(daemon)


# --------------------------------------------------------------------------- one-shot


def test_oneshot_runs_master_schedule_and_exits(make_lab: LabFactory, garpd_cmd: list[str],
                                                tmp_path: Path) -> None:
    """`run --oneshot` with the VIP held: oneshot, then oneshot_delay 0.5 s later; exit 0."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    plant_wrong_neighbour(lab, VIP4)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.5}, [group(VIP4)])
    cap = lab.capture("peer")
    proc = run_cli(lab, garpd_cmd, "run", "--oneshot", "-c", str(cfg))
    ended = time.monotonic()

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    got = announcements(cap.stop(), VIP4)
    assert len(got) == 4
    check_timeline(got, got[0].t, [(0.0, 2), (0.5, 2)])
    assert ended - got[-1].t < 5.0
    wait_neighbour(lab, VIP4, mac)
    records = select_records(parse_json_lines(proc.stderr, "oneshot stderr"), "announce")
    assert [(r["reason"], r["packets"]) for r in records] == [("oneshot", 2),
                                                              ("oneshot_delay", 2)]
    check_announce(records[0], address=VIP4, mac=mac, reason="oneshot", packets=2)


@pytest.mark.parametrize("announce_on_start", [None, False], ids=["default", "false"])
def test_announce_on_start(make_lab: LabFactory, daemons: DaemonFactory, tmp_path: Path,
                           announce_on_start: bool | None) -> None:
    """A VIP held at start is announced (master) by default, not with announce_on_start=false."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    overrides: dict[str, TomlValue] = {"master_repeat": 2, "master_delay": 0.0}
    if announce_on_start is not None:
        overrides["announce_on_start"] = announce_on_start
    cfg = write_config(tmp_path, overrides, [group(VIP4, VIP4B)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)

    if announce_on_start is None:
        assert len(wait_frames(cap, VIP4, 2)) == 2
        (record,) = daemon.wait_records("announce", address=VIP4)
        check_announce(record, address=VIP4, mac=lab.mac("a"), reason="master", packets=2)
    else:
        assert settle(cap, VIP4, 1.5) == []
        assert daemon.records("announce") == []
        row = status_rows(control_socket(tmp_path))[VIP4]
        assert (row["held"], row["sent"]) == (True, 0)
        # The setting is about start-up only: an address that appears later is announced.
        add_vip(lab, VIP4B)
        assert len(wait_frames(cap, VIP4B, 2)) == 2
        daemon.wait_records("announce", address=VIP4B)
        assert reasons(daemon, VIP4B) == [("master", 2)]
    assert len(settle(cap, VIP4, 0.3)) == (2 if announce_on_start is None else 0)
    check_stopped(daemon)


# --------------------------------------------------------------------------- notify


def test_notify_hands_off_to_daemon_and_merges(make_lab: LabFactory, garpd_cmd: list[str],
                                               daemons: DaemonFactory, tmp_path: Path) -> None:
    """`garpd notify ... MASTER` starts a notify burst in the daemon; a quick repeat merges."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.5}, [group(VIP4)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)
    add_vip(lab, VIP4)
    t0 = wait_frames(cap, VIP4, 4)[0].t
    time.sleep(max(0.0, t0 + 1.2 - time.monotonic()))  # the takeover is > 1 s old

    asked = time.monotonic()
    first = run_cli(lab, garpd_cmd, "notify", "-c", str(cfg), "INSTANCE", "VI_1", "MASTER", "100")
    second = run_cli(lab, garpd_cmd, "notify", "-c", str(cfg), "INSTANCE", "VI_1", "MASTER",
                     "100")
    second_done = time.monotonic()
    for proc in (first, second):
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
        logs = parse_json_lines(proc.stderr, "notify stderr")
        assert select_records(logs, "notify_handed_off"), logs

    received = daemon.wait_records("notify_received", 2)
    assert received[0]["merged"] is False
    assert received[1]["merged"] is True, (
        f"second notify {second_done - asked:.2f}s after the first was not merged")
    got = wait_frames(cap, VIP4, 8)
    after = [f for f in got if f.t > asked]
    check_timeline(after, after[0].t, [(0.0, 2), (0.5, 2)])
    assert len(settle(cap, VIP4, 1.0)) == 8  # nothing from the merged notify
    assert reasons(daemon, VIP4) == [("master", 2), ("master_delay", 2), ("notify", 2),
                                     ("notify_delay", 2)]
    check_announce(daemon.records("announce", reason="notify")[0], address=VIP4, mac=mac,
                   reason="notify", packets=2)
    check_stopped(daemon)


def test_notify_without_daemon_runs_schedule(make_lab: LabFactory, garpd_cmd: list[str],
                                             tmp_path: Path) -> None:
    """With no daemon, `garpd notify ... MASTER` sends notify and notify_delay itself."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    plant_wrong_neighbour(lab, VIP4)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.5}, [group(VIP4)])
    cap = lab.capture("peer")
    proc = run_cli(lab, garpd_cmd, "notify", "-c", str(cfg), "INSTANCE", "VI_1", "MASTER", "100")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    got = announcements(cap.stop(), VIP4)
    assert len(got) == 4
    check_timeline(got, got[0].t, [(0.0, 2), (0.5, 2)])
    wait_neighbour(lab, VIP4, mac)
    records = select_records(parse_json_lines(proc.stderr, "notify stderr"), "announce")
    assert [(r["reason"], r["packets"]) for r in records] == [("notify", 2),
                                                              ("notify_delay", 2)]


def test_notify_unknown_name_sends_nothing(make_lab: LabFactory, garpd_cmd: list[str],
                                           daemons: DaemonFactory, tmp_path: Path) -> None:
    """An unknown instance name: exit 0, a log line, no frame (with and without a daemon)."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0,
                                  "announce_on_start": False}, [group(VIP4)])
    cap = lab.capture("peer")
    alone = run_cli(lab, garpd_cmd, "notify", "-c", str(cfg), "INSTANCE", "VI_9", "MASTER")
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout == ""
    assert select_records(parse_json_lines(alone.stderr, "notify stderr"), "notify_unknown")

    daemon = daemons(lab, cfg)
    handed = run_cli(lab, garpd_cmd, "notify", "-c", str(cfg), "INSTANCE", "VI_9", "MASTER")
    assert handed.returncode == 0, handed.stderr
    (unknown,) = daemon.wait_records("notify_unknown")
    assert unknown["name"] == "VI_9"
    assert settle(cap, VIP4, 0.5) == []
    assert daemon.records("announce") == []
    check_stopped(daemon)


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("line", "key"), [
    ("master_repat = 3", "master_repat"),
    ("master_repeat = 0", "master_repeat"),
], ids=["unknown-key", "out-of-range"])
def test_bad_config_exits_2_with_one_line(garpd_cmd: list[str], tmp_path: Path, line: str,
                                          key: str) -> None:
    """`run` and `check` on a bad file: exit 2, one line naming file and key, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text(config_text(control_socket(tmp_path), None, [group(VIP4)])
                   .replace("[announce]\n", f"[announce]\n{line}\n"))
    for command in ("run", "check"):
        proc = subprocess.run([*garpd_cmd, command, "-c", str(bad)], capture_output=True,
                              text=True, timeout=CMD_TIMEOUT, check=False)
        assert proc.returncode == 2, (command, proc.stderr)
        assert proc.stdout == ""
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert len(lines) == 1, (command, proc.stderr)
        assert str(bad) in lines[0]
        assert key in lines[0]
        assert "Traceback" not in proc.stderr


def test_check_good_file_prints_timeline(garpd_cmd: list[str], tmp_path: Path) -> None:
    """`check` on a good file: exit 0 and a timeline naming every burst of each trigger."""
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 1.0}, [group(VIP4)])
    proc = subprocess.run([*garpd_cmd, "check", "-c", str(cfg)], capture_output=True,
                          text=True, timeout=CMD_TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "VI_1" in proc.stdout
    assert "timeline" in proc.stdout
    for reason in ("master", "master_delay", "notify", "notify_delay"):
        assert f" {reason} x2" in proc.stdout, proc.stdout
