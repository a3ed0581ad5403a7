"""Lab tests of garpd next to a real keepalived (2.2.7): keepalived nodes "a" (priority 150)
and "b" (priority 100) and a "router" that captures what arrives and whose neighbour table
must follow the VIP, all on one lab bridge.

keepalived runs in the foreground, VRRP only, one instance per namespace with its own
configuration, pid files and log under tmp_path; it is stopped by PID. garpd runs as
``garpd run`` (JSON log to a file), as keepalived's generic ``notify`` hook (through a small
wrapper script), or reads keepalived's ``notify_fifo``.

Who sent a GARP: keepalived is configured for one GARP *request* per VIP at takeover and no
other GARPs (``vrrp_garp_master_repeat 1``, ``vrrp_garp_master_delay 0``,
``vrrp_garp_lower_prio_repeat 0``); garpd runs with ``mode = "reply"`` and 3 per burst, so
every garpd GARP is an ARP reply (op 2, target MAC = sender MAC). The opcode is the
discriminator (see tests/keepalived_helpers.py); counts only back it up. IPv6 NAs from the
two are identical, so the IPv6 test uses garpd's delayed burst, which keepalived never sends.

Timing checks are generous: they catch a missing or doubled burst, not jitter.
"""

from __future__ import annotations

import itertools
import os
import stat
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.keepalived_helpers import (
    Garpd,
    Instance,
    Keepalived,
    by_garpd,
    by_keepalived,
    clusters,
    json_records,
    keepalived_conf,
    nft,
    notify_wrapper,
    poll_until,
    require_keepalived,
    select,
    unsolicited_nas,
    vrrp_v2_frame,
    wait_neighbour,
    write_fifo,
)
from tests.lab import ETH_P_ARP, ETH_P_IPV6, Lab, LabFactory

pytestmark = [pytest.mark.lab, pytest.mark.keepalived]

VIP = "192.0.2.100"
VIP6 = "2001:db8::100"
WRONG_MAC = "02:00:00:00:00:99"
ADDRESSES = {"a": "192.0.2.11/24", "b": "192.0.2.12/24", "router": "192.0.2.1/24"}
PRIORITY = {"a": 150, "b": 100}
#: garpd's timing in every test: 3 replies per burst, a second burst 1 s later, and
#: lower-priority bursts of 2 (then 2 more after 0.5 s) to tell them apart.
MASTER_DELAY = 1.0
TIMING: dict[str, object] = {
    "master_repeat": 3, "master_delay": MASTER_DELAY, "mode": "reply",
    "lower_prio_repeat": 2, "lower_prio_delay": 0.5,
}
GROUP: dict[str, object] = {"name": "VI_1", "interface": "eth0", "addresses": [VIP],
                            "vrid": 51}
SPLIT_BRAIN_NFT = """
table inet garpdtest {
    chain input {
        type filter hook input priority 0; policy accept;
        meta l4proto 112 drop
    }
}
"""


@pytest.fixture(autouse=True)
def _keepalived_available() -> None:
    require_keepalived()


def build_lab(make_lab: LabFactory, hosts: tuple[str, ...] = ("a", "b", "router"),
              *, ipv6: bool = False) -> Lab:
    """The hosts with their IPv4 addresses (and the router's IPv6 one); DAD off, neighbour
    entries never locked against updates."""
    lab = make_lab(list(hosts), accept_dad=0, locktime=0)
    for host in hosts:
        lab.add_address(host, ADDRESSES[host])
    if ipv6:
        lab.add_address("router", "2001:db8::1/64")
    return lab


def keepalived(lab: Lab, host: str, tmp_path: Path, *, notify: Path | None = None,
               notify_fifo: Path | None = None, instances: list[Instance] | None = None
               ) -> Keepalived:
    """keepalived on ``host`` with instance VI_1 (VRID 51, v2, VIP/24) unless told."""
    if instances is None:
        instances = [Instance("VI_1", 51, PRIORITY[host], (f"{VIP}/24",),
                              notify=None if notify is None else str(notify))]
    conf = keepalived_conf(host, instances, notify_fifo=notify_fifo)
    return Keepalived(lab, host, conf, tmp_path, host)


def check_announce(record: dict[str, Any], *, address: str, mac: str, reason: str,
                   packets: int) -> None:
    """One garpd ``announce`` record."""
    assert record["level"] == "info"
    assert record["interface"] == "eth0"
    assert (record["address"], record["mac"], record["reason"], record["packets"]) == (
        address, mac, reason, packets), record


def reasons(records: list[dict[str, Any]]) -> list[str]:
    """The ``reason`` of every record, in order."""
    return [str(r["reason"]) for r in records]


def vip_on(lab: Lab, host: str, address: str = VIP) -> bool:
    """Whether ``host``'s eth0 holds ``address`` now."""
    return f" {address}/" in lab.run(host, "ip", "addr", "show", "dev", "eth0").stdout


# --------------------------------------------------------------------------- failover


def test_failover_garpd_on_backup_announces(make_lab: LabFactory, garpd_cmd: list[str],
                                            tmp_path: Path) -> None:
    """keepalived fails over from a to b; garpd on b announces and the router follows."""
    lab = build_lab(make_lab)
    mac_a, mac_b = lab.mac("a"), lab.mac("b")
    daemons = {h: Garpd.create(lab, h, garpd_cmd, tmp_path, h, groups=[GROUP],
                               announce=TIMING) for h in ("a", "b")}
    for daemon in daemons.values():
        daemon.start()
    cap = lab.capture("router", ethertypes=(ETH_P_ARP,))
    lab.set_neighbour("router", VIP, WRONG_MAC)
    nodes = {h: keepalived(lab, h, tmp_path) for h in ("a", "b")}
    for node in nodes.values():
        node.start()

    nodes["a"].wait_state("VI_1", "MASTER")
    nodes["b"].wait_state("VI_1", "BACKUP")
    wait_neighbour(lab, "router", VIP, mac_a)
    daemons["a"].wait_event("announce", address=VIP, reason="master_delay")
    records = daemons["a"].events("announce", address=VIP)
    assert reasons(records) == ["master", "master_delay"]
    for record in records:
        check_announce(record, address=VIP, mac=mac_a, reason=record["reason"], packets=3)
    assert len(by_garpd(cap.frames_so_far(), VIP, mac_a)) == 6
    assert not daemons["b"].events("announce")

    stopped_at = time.monotonic()
    assert nodes["a"].stop() == 0
    nodes["b"].wait_state("VI_1", "MASTER")
    daemons["a"].wait_event("vip_released", address=VIP)
    daemons["b"].wait_event("vip_acquired", address=VIP)
    daemons["b"].wait_event("announce", address=VIP, reason="master_delay")
    wait_neighbour(lab, "router", VIP, mac_b)

    records = daemons["b"].events("announce", address=VIP)
    assert reasons(records) == ["master", "master_delay"]
    for record in records:
        check_announce(record, address=VIP, mac=mac_b, reason=record["reason"], packets=3)
    frames = cap.frames_so_far()
    from_b = by_garpd(frames, VIP, mac_b)
    assert len(from_b) == 6, "garpd's 3 + 3 replies from b reached the router"
    assert all(s.t > stopped_at for s in from_b)
    bursts = clusters([s.t for s in from_b])
    assert [len(b) for b in bursts] == [3, 3]
    assert 0.7 <= bursts[1][0] - bursts[0][0] <= 2.0
    assert by_keepalived(frames, VIP, mac_b), "keepalived's own request from b is visible too"
    assert not [s for s in by_garpd(frames, VIP, mac_a) if s.t > stopped_at]
    for daemon in daemons.values():
        assert daemon.stop() == 0


# --------------------------------------------------------------------------- notify hook


def test_notify_hook_hands_off_to_daemon(make_lab: LabFactory, garpd_cmd: list[str],
                                         tmp_path: Path) -> None:
    """The notify hook hands MASTER to the daemon, which merges it into the takeover."""
    lab = build_lab(make_lab, ("a", "router"))
    mac = lab.mac("a")
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP], announce=TIMING)
    hook, hook_log = notify_wrapper(tmp_path, daemon.config, "a")
    daemon.start()
    cap = lab.capture("router", ethertypes=(ETH_P_ARP,))
    node = keepalived(lab, "a", tmp_path, notify=hook)
    node.start()
    node.wait_state("VI_1", "MASTER")

    poll_until(lambda: bool(select(json_records(hook_log), "hook_exit",
                                   args="INSTANCE VI_1 MASTER 150")),
               15.0, "the MASTER hook ran")
    hooks = json_records(hook_log)
    assert all(r["rc"] == 0 for r in select(hooks, "hook_exit"))
    (handed,) = select(hooks, "notify_handed_off", state="MASTER")
    assert handed["action"] == "master"
    assert handed["groups"] == ["VI_1"]
    assert select(hooks, "notify_handed_off", state="BACKUP")

    daemon.wait_event("announce", address=VIP, reason="master_delay")
    time.sleep(MASTER_DELAY + 1.0)
    masters = [r for r in daemon.events("notify_received") if "merged" in r]
    assert len(masters) == 1, daemon.events("notify_received")
    assert masters[0]["merged"] is True
    assert masters[0]["started"] == 0
    assert masters[0]["group"] == "VI_1"
    assert (masters[0]["source"], masters[0]["state"], masters[0]["name"]) == (
        "control", "MASTER", "VI_1")
    assert daemon.events("notify_received", state="BACKUP", source="control")
    records = daemon.events("announce", address=VIP)
    assert reasons(records) == ["master", "master_delay"], "no doubled burst"
    sent = by_garpd(cap.frames_so_far(), VIP, mac)
    assert len(sent) == 6, "3 + 3 replies, not doubled"
    assert daemon.status()["counters"]["notify_merged"] == 1
    assert node.states("VI_1")[-1] == "MASTER"
    assert daemon.stop() == 0


def test_notify_hook_without_daemon_runs_schedule(make_lab: LabFactory, garpd_cmd: list[str],
                                                  tmp_path: Path) -> None:
    """With no daemon the hook announces itself (reason notify); keepalived stays MASTER."""
    lab = build_lab(make_lab, ("a", "router"))
    mac = lab.mac("a")
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP], announce=TIMING)
    hook, hook_log = notify_wrapper(tmp_path, daemon.config, "a")  # the daemon never starts
    lab.set_neighbour("router", VIP, WRONG_MAC)
    cap = lab.capture("router", ethertypes=(ETH_P_ARP,))
    node = keepalived(lab, "a", tmp_path, notify=hook)
    node.start()
    node.wait_state("VI_1", "MASTER")
    entered = time.monotonic()

    poll_until(lambda: bool(select(json_records(hook_log), "hook_exit",
                                   args="INSTANCE VI_1 MASTER 150")),
               15.0, "the MASTER hook finished")
    hooks = json_records(hook_log)
    assert select(hooks, "hook_exit", args="INSTANCE VI_1 MASTER 150", rc=0)
    (received,) = select(hooks, "notify_received", state="MASTER")
    assert received["daemon"] == "unreachable"
    assert received["merged"] is False
    records = select(hooks, "announce", address=VIP)
    assert reasons(records) == ["notify", "notify_delay"]
    for record in records:
        check_announce(record, address=VIP, mac=mac, reason=record["reason"], packets=3)
    sent = by_garpd(cap.frames_so_far(), VIP, mac)
    assert len(sent) == 6
    assert [len(b) for b in clusters([s.t for s in sent])] == [3, 3]
    wait_neighbour(lab, "router", VIP, mac)

    time.sleep(max(0.0, entered + 3.0 - time.monotonic()))
    assert node.running()
    assert node.states("VI_1") == ["BACKUP", "MASTER"], "keepalived was not disturbed"
    assert vip_on(lab, "a")
    assert node.stop() == 0
    poll_until(lambda: bool(select(json_records(hook_log), "hook_exit",
                                   args="INSTANCE VI_1 STOP 150")),
               10.0, "the STOP hook ran")
    assert all(r["rc"] == 0 for r in select(json_records(hook_log), "hook_exit"))


# --------------------------------------------------------------------------- notify FIFO


def test_notify_fifo_survives_keepalived_restart(make_lab: LabFactory, garpd_cmd: list[str],
                                                 tmp_path: Path) -> None:
    """garpd reads keepalived's notify_fifo across a keepalived restart and bad lines."""
    lab = build_lab(make_lab, ("a", "router"))
    mac = lab.mac("a")
    fifo = tmp_path / "run" / "keepalived.fifo"
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP], announce=TIMING,
                          notify_fifo=fifo)
    daemon.start()
    mode = os.lstat(fifo).st_mode
    assert stat.S_ISFIFO(mode)
    assert stat.S_IMODE(mode) == 0o600
    cap = lab.capture("router", ethertypes=(ETH_P_ARP,))
    node = keepalived(lab, "a", tmp_path, notify_fifo=fifo)

    node.start()
    node.wait_state("VI_1", "MASTER")
    (first,) = daemon.wait_event("notify_received", group="VI_1")
    # keepalived writes MASTER right after adding the VIP: merged into that takeover. (If
    # the FIFO line were read before the address event, nothing would be held yet; either
    # way no notify schedule starts on top of the takeover.)
    assert first["started"] == 0
    assert (first["source"], first["state"], first["priority"]) == ("fifo", "MASTER", 150)
    assert daemon.status()["counters"]["fifo_lines"] >= 2  # BACKUP (init), MASTER
    assert daemon.events("notify_received", state="BACKUP", source="fifo")

    assert node.stop() == 0
    daemon.wait_event("vip_released", address=VIP)
    assert fifo.exists(), "keepalived left the FIFO in place"
    sent = len(by_garpd(cap.frames_so_far(), VIP, mac))
    cpu = daemon.cpu_seconds()
    time.sleep(MASTER_DELAY + 0.5)
    assert daemon.cpu_seconds() - cpu < 0.3, "no busy loop once keepalived closed the FIFO"
    # The VIP left (usually well before its master_delay burst): nothing more is sent.
    assert len(by_garpd(cap.frames_so_far(), VIP, mac)) == sent

    node.start()
    node.wait_state("VI_1", "MASTER", count=2)
    daemon.wait_event("notify_received", count=2, group="VI_1")
    # (the first run was stopped before its master_delay burst: that one was cancelled)
    daemon.wait_event("announce", address=VIP, reason="master_delay")

    sent_before = len(by_garpd(cap.frames_so_far(), VIP, mac))
    write_fifo(fifo, 'INSTANCE "VI_1" MASTER 150\n')  # long after the takeover: not merged
    records = daemon.wait_event("announce", address=VIP, reason="notify_delay")
    assert reasons(daemon.events("announce", address=VIP))[-2:] == ["notify", "notify_delay"]
    for record in records:
        check_announce(record, address=VIP, mac=mac, reason="notify_delay", packets=3)
    masters = daemon.events("notify_received", group="VI_1")
    assert [r["started"] for r in masters] == [0, 0, 1]
    assert masters[-1]["merged"] is False
    poll_until(lambda: len(by_garpd(cap.frames_so_far(), VIP, mac)) >= sent_before + 6,
               5.0, "the notify schedule's 6 replies")

    write_fifo(fifo, 'INSTANCE VI_1 MASTER 150\nbogus words here\n')
    daemon.wait_event("fifo_malformed", count=2)
    write_fifo(fifo, 'INSTANCE "VI_1" BACKUP 150\n')
    daemon.wait_event("notify_received", state="BACKUP", source="fifo", count=3)
    counters = daemon.status()["counters"]
    assert counters["fifo_malformed"] == 2
    assert node.running()
    assert node.stop() == 0
    assert daemon.stop() == 0


@pytest.mark.parametrize(("state", "reason"), [
    ("MASTER", "notify"),
    ("MASTER_RX_LOWER_PRI", "lower_prio"),
])
def test_fifo_notify_logged_with_source(make_lab: LabFactory, garpd_cmd: list[str],
                                        tmp_path: Path, state: str, reason: str) -> None:
    """MASTER and MASTER_RX_LOWER_PRI from the FIFO are logged with their state and source."""
    lab = build_lab(make_lab, ("a",))
    fifo = tmp_path / "keepalived.fifo"
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP],
                          announce={**TIMING, "announce_on_start": False}, notify_fifo=fifo)
    lab.add_address("a", f"{VIP}/24")
    daemon.start()
    write_fifo(fifo, f'INSTANCE "VI_1" {state} 150\n')
    daemon.wait_event("announce", address=VIP, reason=reason)  # the line was acted on
    try:
        records = daemon.events("notify_received")
        assert [(r.get("state"), r.get("source"), r.get("name"), r.get("type"))
                for r in records] == [(state, "fifo", "VI_1", "INSTANCE")], records
    finally:
        assert daemon.stop() == 0


# --------------------------------------------------------------------------- split brain


def test_split_brain_lower_priority_bursts(make_lab: LabFactory, garpd_cmd: list[str],
                                           tmp_path: Path) -> None:
    """b claims MASTER while a holds the VIP; garpd on a answers with lower_prio bursts."""
    lab = build_lab(make_lab)
    mac_a = lab.mac("a")
    # garpd hears of b twice: b's adverts (listener) and a's keepalived writing
    # MASTER_RX_LOWER_PRI into the FIFO; the limit keeps it to one schedule a second.
    fifo = tmp_path / "keepalived-a.fifo"
    daemon = Garpd.create(lab, "a", garpd_cmd, tmp_path, "a", groups=[GROUP], announce=TIMING,
                          notify_fifo=fifo)
    daemon.start()
    nodes = {h: keepalived(lab, h, tmp_path, notify_fifo=fifo if h == "a" else None)
             for h in ("a", "b")}
    for node in nodes.values():
        node.start()
    nodes["a"].wait_state("VI_1", "MASTER")
    nodes["b"].wait_state("VI_1", "BACKUP")
    daemon.wait_event("announce", address=VIP, reason="master_delay")
    cap = lab.capture("router", ethertypes=(ETH_P_ARP,))
    lab.set_neighbour("router", VIP, WRONG_MAC)

    nft(lab, "b", SPLIT_BRAIN_NFT)
    nodes["b"].wait_state("VI_1", "MASTER", timeout=15.0)
    daemon.wait_event("lower_prio_advert")
    # b's own adverts come once a second; add a flood of lower-priority adverts (as if from
    # b, sent by the router) to show the one-schedule-per-second limit.
    flood = vrrp_v2_frame(src_mac=lab.mac("router"), source="192.0.2.12", vrid=51,
                          priority=100, vips=[VIP])
    for _ in range(10):
        lab.send_raw("router", flood, count=2)
        time.sleep(0.1)
    time.sleep(1.0)
    nft(lab, "b", "delete table inet garpdtest\n")
    nodes["b"].wait_state("VI_1", "BACKUP", count=2, timeout=15.0)
    poll_until(lambda: not vip_on(lab, "b"), 10.0, "b released the VIP")
    time.sleep(2.0)  # the last lower_prio_delay burst

    adverts = daemon.events("lower_prio_advert")
    assert adverts
    for advert in adverts:
        assert (advert["vrid"], advert["priority"], advert["source"]) == (51, 100, "192.0.2.12")
        assert advert["local_priority"] == 150  # learned from a's own adverts
        assert advert["groups"] == ["VI_1"]
    counters = daemon.status()["counters"]
    started = counters["lower_prio_started"]
    assert started >= 2
    assert len(adverts) <= started  # the rest were started by the FIFO's MASTER_RX_LOWER_PRI
    assert counters["lower_prio_limited"] >= 10, counters
    assert counters["fifo_lines"] >= 12, counters  # BACKUP, MASTER, MASTER_RX_LOWER_PRI...

    records = [r for r in daemon.events("announce", address=VIP)
               if str(r["reason"]).startswith("lower_prio")]
    assert reasons(records).count("lower_prio") == started
    assert reasons(records).count("lower_prio_delay") == started
    for record in records:
        check_announce(record, address=VIP, mac=mac_a, reason=record["reason"], packets=2)
    stamps = [datetime.fromisoformat(r["timestamp"]).timestamp() for r in records
              if r["reason"] == "lower_prio"]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(g >= 0.9 for g in gaps), f"at most one lower_prio schedule per second: {gaps}"
    frames = cap.frames_so_far()
    # b's takeover GARP is also a conflict for a (SPEC *Seeing the LAN*, conflict =
    # "defend" by default): one defence packet each, at most one per defend_interval.
    defences = daemon.events("announce", address=VIP, reason="defend")
    assert len(defences) <= 1
    assert len(by_garpd(frames, VIP, mac_a)) == 4 * started + len(defences)
    assert not by_keepalived(frames, VIP, mac_a), "keepalived's lower-prio GARPs are off"
    assert by_keepalived(frames, VIP, lab.mac("b")), "b's takeover GARP (split brain)"
    wait_neighbour(lab, "router", VIP, mac_a)
    assert nodes["a"].states("VI_1") == ["BACKUP", "MASTER"]
    assert daemon.stop() == 0


# --------------------------------------------------------------------------- IPv6


def test_ipv6_failover_unsolicited_na(make_lab: LabFactory, garpd_cmd: list[str],
                                      tmp_path: Path) -> None:
    """VRRPv3 over IPv6 fails over to b; garpd's NAs move the router's entry to b."""
    lab = build_lab(make_lab, ipv6=True)
    mac_a, mac_b = lab.mac("a"), lab.mac("b")
    group = {"name": "VI_6", "interface": "eth0", "addresses": [VIP6], "vrid": 53}
    timing = {**TIMING, "master_delay": 2.0}
    daemons = {h: Garpd.create(lab, h, garpd_cmd, tmp_path, h, groups=[group],
                               announce=timing) for h in ("a", "b")}
    for daemon in daemons.values():
        daemon.start()
    cap = lab.capture("router", ethertypes=(ETH_P_IPV6,))
    lab.set_neighbour("router", VIP6, WRONG_MAC)
    nodes = {h: keepalived(lab, h, tmp_path, instances=[
        Instance("VI_6", 53, PRIORITY[h], (f"{VIP6}/64",), version=3)]) for h in ("a", "b")}
    for node in nodes.values():
        node.start()
    nodes["a"].wait_state("VI_6", "MASTER")
    nodes["b"].wait_state("VI_6", "BACKUP")
    wait_neighbour(lab, "router", VIP6, mac_a)
    daemons["a"].wait_event("announce", address=VIP6, reason="master")

    stopped_at = time.monotonic()
    assert nodes["a"].stop() == 0
    nodes["b"].wait_state("VI_6", "MASTER")
    (first,) = daemons["b"].wait_event("announce", address=VIP6, reason="master")
    check_announce(first, address=VIP6, mac=mac_b, reason="master", packets=3)
    wait_neighbour(lab, "router", VIP6, mac_b)
    # From here on only garpd's delayed burst is due: plant the wrong MAC again and let
    # that burst alone move the entry back.
    lab.set_neighbour("router", VIP6, WRONG_MAC)
    (delayed,) = daemons["b"].wait_event("announce", address=VIP6, reason="master_delay")
    check_announce(delayed, address=VIP6, mac=mac_b, reason="master_delay", packets=3)
    wait_neighbour(lab, "router", VIP6, mac_b)

    nas = [s for s in unsolicited_nas(cap.frames_so_far(), VIP6, mac_b) if s.t > stopped_at]
    bursts = clusters([s.t for s in nas])
    # keepalived's 1 NA and garpd's 3 at takeover, then garpd's 3 alone ~2 s later.
    assert [len(b) for b in bursts] == [4, 3], bursts
    assert 1.5 <= bursts[1][0] - bursts[0][0] <= 3.0
    for seen in nas:
        assert seen.d["eth_src"] == mac_b
        assert seen.d["src"] == VIP6
        assert seen.d["dst"] == "ff02::1"
        assert seen.d["hop_limit"] == 255
        assert seen.d["flag_o"]
        assert seen.d["icmp_checksum_ok"]
    assert not [s for s in unsolicited_nas(cap.frames_so_far(), VIP6, mac_a)
                if s.t > stopped_at + 0.5]
    for daemon in daemons.values():
        assert daemon.stop() == 0
