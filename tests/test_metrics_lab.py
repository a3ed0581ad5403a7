"""Lab test of the metrics: a real daemon in namespace "a" with ``[metrics] listen`` set,
a scripted failover (add a VIP, remove it, add it again, add an IPv6 VIP), and the counts
read back over HTTP and over ``garpd metrics`` compared with the frames a peer captured."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_helpers import DaemonFactory, announcements, config_text
from tests.lab import LabFactory, wait_for
from tests.test_daemon_lab import (
    PEER4,
    PEER6,
    VIP4,
    VIP6,
    add_vip,
    check_stopped,
    control_socket,
    group,
    ip,
    run_cli,
)

pytestmark = pytest.mark.lab

LISTEN = "127.0.0.1:9477"
SCRAPE = ("import sys, urllib.request; "
          "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:9477/metrics', "
          "timeout=10).read().decode())")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, parsed by Prometheus's own text parser."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_scrape_after_failover_matches_the_wire(make_lab: LabFactory, daemons: DaemonFactory,
                                                garpd_cmd: list[str], tmp_path: Path) -> None:
    """Frames, announcements by reason, addresses held and the first-frame count equal what
    the peer saw and the log said; /metrics and `garpd metrics` agree."""
    lab = make_lab(["a", "peer"], locktime=0)
    lab.add_address("peer", f"{PEER4}/24")
    lab.add_address("peer", f"{PEER6}/64")
    cfg = tmp_path / "garpd.toml"
    cfg.write_text(config_text(control_socket(tmp_path),
                               {"master_repeat": 2, "master_delay": 0.5},
                               [group(VIP4, VIP6)]) + f'\n[metrics]\nlisten = "{LISTEN}"\n')
    mac = lab.mac("a")
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg)

    def ours(address: str) -> int:
        return len([f for f in announcements(cap.frames_so_far(), address)
                    if f.decode()["eth_src"] == mac])

    add_vip(lab, VIP4)
    daemon.wait_records("announce", 2, address=VIP4)
    ip(lab, "addr", "del", f"{VIP4}/24", "dev", "eth0")
    daemon.wait_records("vip_released", address=VIP4)
    add_vip(lab, VIP4)
    daemon.wait_records("announce", 4, address=VIP4)
    add_vip(lab, VIP6)
    daemon.wait_records("announce", 2, address=VIP6)
    wait_for(lambda: ours(VIP4) >= 8 and ours(VIP6) >= 4, 10.0)
    time.sleep(0.5)  # nothing more is scheduled: a late extra frame would show here

    scraped = lab.run("a", sys.executable, "-c", SCRAPE).stdout
    via_control = run_cli(lab, garpd_cmd, "metrics", "-c", str(cfg))
    assert via_control.returncode == 0, via_control.stderr
    wire4, wire6 = ours(VIP4), ours(VIP6)
    assert (wire4, wire6) == (8, 4)

    records = daemon.records("announce")
    for text in (scraped, via_control.stdout):
        s = samples(text)
        assert s[("garpd_frames_sent_total", (("interface", "eth0"),))] == wire4 + wire6
        for reason in ("master", "master_delay"):
            logged = len([r for r in records if r["reason"] == reason])
            assert logged == 3
            assert s[("garpd_announcements_total",
                      (("interface", "eth0"), ("reason", reason)))] == logged
        assert s[("garpd_addresses_held", (("family", "ipv4"), ("interface", "eth0")))] == 1
        assert s[("garpd_addresses_held", (("family", "ipv6"), ("interface", "eth0")))] == 1
        assert s[("garpd_send_errors_total", (("interface", "eth0"),))] == 0
        assert s[("garpd_conflicts_total", (("interface", "eth0"),))] == 0
        # Three times an address became held: VIP4 twice, VIP6 once.
        assert s[("garpd_first_frame_seconds_count", ())] == 3
        assert s[("garpd_first_frame_seconds_bucket", (("le", "+Inf"),))] == 3
        assert s[("garpd_config_reloads_total", (("result", "ok"),))] == 0
        assert ("garpd_build_info", (("version", _version()),)) in s
    check_stopped(daemon)


def _version() -> str:
    from garpd import __version__  # noqa: PLC0415

    return __version__
