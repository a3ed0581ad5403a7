"""Tests of the namespace lab itself (garpd.lab through tests/lab.py, and its agent): building and
tearing down namespaces, connectivity over the bridge, capture, neighbour helpers, process
cleanup, and the frame decoder."""

from __future__ import annotations

import itertools
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import (
    BROADCAST_MAC,
    ETH_P_ARP,
    Lab,
    LabError,
    LabFactory,
    arp_frame,
    decode,
    require_lab,
    wait_for,
)

BURST_ETHERTYPE = 0x88B5  # IEEE 802 local experimental: no stack in the lab reacts to it


def _netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.lab
def test_namespaces_created_and_removed() -> None:
    """Entering creates switch + host namespaces; exiting removes every one of them."""
    require_lab()
    with Lab(["a", "b"]) as lab:
        names = lab.namespaces
        assert names == [lab.ns("switch"), lab.ns("a"), lab.ns("b")]
        assert set(names) <= _netns_list()
        assert lab.run("a", "ip", "-j", "link", "show", "eth0").returncode == 0
        assert lab.mac("a") == "02:00:00:00:00:02"
        assert lab.mac("b") == "02:00:00:00:00:03"
    assert not set(names) & _netns_list()


@pytest.mark.lab
def test_namespaces_removed_when_body_raises() -> None:
    """A body that raises still leaves no namespace behind, and the error propagates."""
    require_lab()
    names: list[str] = []

    def body() -> None:
        with Lab(["a"]) as lab:
            names.extend(lab.namespaces)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert names
    assert not set(names) & _netns_list()


@pytest.mark.lab
def test_ipv4_ping_over_bridge(make_lab: LabFactory) -> None:
    """Two hosts reach each other over br0 with 192.0.2.0/24 addresses."""
    lab = make_lab(["a", "b"])
    lab.add_address("a", "192.0.2.11/24")
    lab.add_address("b", "192.0.2.12/24")
    assert lab.ping("a", "192.0.2.12")
    assert lab.ping("b", "192.0.2.11")
    assert lab.neighbours("a")["192.0.2.12"][0] == lab.mac("b")


@pytest.mark.lab
def test_ipv6_ping_over_bridge(make_lab: LabFactory) -> None:
    """Two hosts reach each other over br0 with 2001:db8::/64 addresses (DAD off)."""
    lab = make_lab(["a", "b"], accept_dad=0)
    lab.add_address("a", "2001:db8::11/64")
    lab.add_address("b", "2001:db8::12/64")
    assert lab.ping("a", "2001:db8::12")
    assert lab.ping("b", "2001:db8::11")
    assert lab.neighbours("a")["2001:db8::12"][0] == lab.mac("b")


@pytest.mark.lab
def test_addresses_outside_lab_ranges_are_refused(make_lab: LabFactory) -> None:
    """add_address/set_neighbour refuse anything but documentation/benchmark ranges."""
    lab = make_lab(["a"])
    with pytest.raises(LabError):
        lab.add_address("a", "10.1.2.3/8")
    with pytest.raises(LabError):
        lab.set_neighbour("a", "2001:4860::1", "02:00:00:00:00:99")


@pytest.mark.lab
def test_capture_sees_arp_request_from_other_host(make_lab: LabFactory) -> None:
    """A capture on a third host sees the broadcast ARP request that a ping triggers."""
    lab = make_lab(["a", "b", "peer"])
    lab.add_address("a", "192.0.2.11/24")
    lab.add_address("b", "192.0.2.12/24")
    cap = lab.capture("peer")
    assert lab.ping("a", "192.0.2.12")

    def is_request(f: bytes) -> bool:
        d = decode(f)
        return d["ethertype"] == ETH_P_ARP and d["op"] == 1 and d["tpa"] == "192.0.2.12"

    cap.wait_until(lambda frames: any(is_request(f.data) for f in frames))
    frames = cap.stop()
    request = next(decode(f.data) for f in frames if is_request(f.data))
    assert request["eth_dst"] == BROADCAST_MAC
    assert request["eth_src"] == lab.mac("a")
    assert request["sha"] == lab.mac("a")
    assert request["spa"] == "192.0.2.11"
    assert cap.drops == 0


@pytest.mark.lab
def test_capture_decodes_injected_garp_and_skips_outgoing(make_lab: LabFactory) -> None:
    """An injected gratuitous ARP is seen exactly by the peer, not by the sender's capture;
    the sender's outgoing capture sees it once, timed inside the send, and the peer's
    outgoing capture does not see it."""
    lab = make_lab(["a", "peer"])
    on_peer = lab.capture("peer")
    on_sender = lab.capture("a")
    sent_by_sender = lab.capture("a", outgoing=True)
    sent_by_peer = lab.capture("peer", outgoing=True)
    garp = arp_frame(op=1, sha=lab.mac("a"), spa="192.0.2.50", tpa="192.0.2.50")
    before = time.monotonic()
    lab.send_raw("a", garp)
    after = time.monotonic()
    on_peer.wait_until(lambda frames: any(f.data == garp for f in frames))
    received = [f for f in on_peer.stop() if f.data == garp]
    assert len(received) == 1
    # The kernel's receive time: while the sender ran, and before the agent read it.
    kernel = received[0].k
    assert kernel is not None
    assert before <= kernel <= after, (before, kernel, after)
    assert kernel <= received[0].t
    assert received[0].decode() == {
        "eth_dst": BROADCAST_MAC,
        "eth_src": "02:00:00:00:00:02",
        "ethertype": ETH_P_ARP,
        "op": 1,
        "sha": "02:00:00:00:00:02",
        "spa": "192.0.2.50",
        "tha": "00:00:00:00:00:00",
        "tpa": "192.0.2.50",
    }
    assert not [f for f in on_sender.stop() if f.data == garp]
    sent_by_sender.wait_until(lambda frames: any(f.data == garp for f in frames))
    departed = [f for f in sent_by_sender.stop() if f.data == garp]
    assert len(departed) == 1
    assert departed[0].k is not None
    assert before <= departed[0].k <= kernel, (before, departed[0].k, kernel)
    assert not [f for f in sent_by_peer.stop() if f.data == garp]


@pytest.mark.lab
@pytest.mark.parametrize("outgoing", [False, True], ids=["incoming", "outgoing"])
def test_capture_survives_its_link_going_down(make_lab: LabFactory, outgoing: bool) -> None:
    """A capture whose own device goes down and up (ENETDOWN on its socket) keeps
    capturing: a frame sent after the link is back is seen."""
    lab = make_lab(["a", "peer"])
    watched, sender = ("a", "a") if outgoing else ("a", "peer")
    cap = lab.capture(watched, outgoing=outgoing)
    garp = arp_frame(op=1, sha=lab.mac(sender), spa="192.0.2.51", tpa="192.0.2.51")
    lab.send_raw(sender, garp)
    cap.wait_until(lambda frames: any(f.data == garp for f in frames))
    lab.ip("a", "link", "set", "eth0", "down")
    time.sleep(0.2)  # the agent polls every 100 ms: it reads the pending ENETDOWN
    lab.ip("a", "link", "set", "eth0", "up")
    after = arp_frame(op=1, sha=lab.mac(sender), spa="192.0.2.52", tpa="192.0.2.52")
    deadline = time.monotonic() + 10.0
    while not any(f.data == after for f in cap.frames_so_far()) and time.monotonic() < deadline:
        lab.send_raw(sender, after)  # until the link is up again on both sides
        time.sleep(0.1)
    frames = cap.stop()
    assert any(f.data == after for f in frames)
    assert cap.stats is not None


@pytest.mark.lab
def test_an_idle_capture_runs_under_sched_idle_and_still_captures(make_lab: LabFactory) -> None:
    """capture(idle=True): the agent's scheduling policy is SCHED_IDLE (a plain one's is
    not), and it sees what it is there to see."""
    lab = make_lab(["a", "peer"])
    idle = lab.capture("peer", idle=True)
    plain = lab.capture("peer")
    garp = arp_frame(op=1, sha=lab.mac("a"), spa="192.0.2.53", tpa="192.0.2.53")
    lab.send_raw("a", garp)
    idle.wait_until(lambda frames: any(f.data == garp for f in frames))
    policies = [os.sched_getscheduler(c.pid) for c in (idle, plain)]
    idle.stop()
    plain.stop()
    assert policies == [os.SCHED_IDLE, os.SCHED_OTHER]


@pytest.mark.lab
def test_a_capture_with_drain_after_reads_late_but_keeps_the_kernel_times(
        make_lab: LabFactory) -> None:
    """capture(drain_after=S): what is queued is read S seconds after the frame that woke the
    agent (every frame of a burst at once), each frame still timed by the kernel as it
    arrived; a plain capture reads at once."""
    lab = make_lab(["a", "peer"], link_local=False)  # no IPv6 chatter to wake the agent
    lazy = lab.capture("peer", ethertypes=None, drain_after=1.0)  # every frame it reads
    eager = lab.capture("peer")
    burst = [arp_frame(op=1, sha=lab.mac("a"), spa=f"192.0.2.{60 + i}", tpa=f"192.0.2.{60 + i}")
             for i in range(20)]
    before = time.monotonic()
    lab.send_raw("a", burst)
    after = time.monotonic()
    for cap in (lazy, eager):
        cap.wait_until(lambda frames: sum(f.data in burst for f in frames) == len(burst))
    everything = lazy.stop()
    read_late = [f for f in everything if f.data in burst]
    read_at_once = [f for f in eager.stop() if f.data in burst]
    assert [f.data for f in read_late] == burst
    stamps = [f.k for f in read_late if f.k is not None]
    assert len(stamps) == len(burst)
    assert all(before <= k <= after for k in stamps)
    for frame in read_late:
        # Its drain: the frames read with it (drains are >= 1 s apart), the earliest of
        # them the one that woke the agent (the burst's first, or a stray frame before it).
        drain = [f.k for f in everything if f.k is not None and abs(f.t - frame.t) < 0.1]
        assert frame.t >= min(drain) + 1.0
    assert all(f.k is not None and f.t < f.k + 1.0 for f in read_at_once)

@pytest.mark.lab
def test_capture_keeps_a_large_burst(make_lab: LabFactory) -> None:
    """50,000 back-to-back frames all reach the capture, in order, with no kernel drops."""
    lab = make_lab(["a", "b"])
    total = 50_000
    header = bytes.fromhex(lab.mac("b").replace(":", "") + lab.mac("a").replace(":", ""))
    header += struct.pack("!H", BURST_ETHERTYPE)
    frames = [header + struct.pack("!I", seq) + bytes(42) for seq in range(total)]
    cap = lab.capture("b", ethertypes=[BURST_ETHERTYPE])
    lab.send_raw("a", frames)
    cap.wait_until(lambda got: len(got) >= total, timeout=120.0)
    got = cap.stop()
    assert cap.drops == 0
    assert [struct.unpack("!I", f.data[14:18])[0] for f in got] == list(range(total))
    assert all(x.t <= y.t for x, y in itertools.pairwise(got))


@pytest.mark.lab
def test_neighbour_round_trip(make_lab: LabFactory) -> None:
    """set_neighbour plants STALE entries that neighbours() reports back, v4 and v6."""
    lab = make_lab(["a"], locktime=0)
    lab.set_neighbour("a", "192.0.2.50", "02:00:00:00:00:AA")
    lab.set_neighbour("a", "2001:db8::50", "02:00:00:00:00:bb")
    table = lab.neighbours("a")
    assert table["192.0.2.50"] == ("02:00:00:00:00:aa", "STALE")
    assert table["2001:db8::50"] == ("02:00:00:00:00:bb", "STALE")
    locktime = lab.run("a", "sysctl", "-n", "net.ipv4.neigh.eth0.locktime").stdout.strip()
    assert locktime == "0"
    lab.flush_neighbours("a")
    assert "192.0.2.50" not in lab.neighbours("a")


@pytest.mark.lab
def test_popen_processes_killed_at_exit() -> None:
    """Everything started in the lab dies at exit: plain, SIGTERM-ignoring, and escaped."""
    require_lab()
    with Lab(["a"], term_timeout=1.0) as lab:
        sleeper = lab.popen("a", "sleep", "1000")
        stubborn = lab.popen(
            "a", sys.executable, "-c",
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('armed', flush=True)\n"
            "time.sleep(1000)\n",
            stdout=subprocess.PIPE, text=True,
        )
        assert stubborn.stdout is not None
        assert stubborn.stdout.readline().strip() == "armed"
        group = lab.popen("a", "sh", "-c", "sleep 1000 & echo $!; wait",
                          stdout=subprocess.PIPE, text=True)
        assert group.stdout is not None
        grandchild = int(group.stdout.readline())
        escaped = int(lab.run(
            "a", sys.executable, "-c",
            "import subprocess\n"
            "p = subprocess.Popen(['sleep', '1000'], start_new_session=True,\n"
            "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(p.pid)\n",
        ).stdout)
        for pid in (sleeper.pid, stubborn.pid, grandchild, escaped):
            assert _alive(pid)
    assert sleeper.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    wait_for(lambda: not _alive(grandchild) and not _alive(escaped), 10.0)


def test_decode_matches_scapy_for_arp_and_na() -> None:
    """decode() agrees with frames built independently by scapy (ARP reply, unsolicited NA)."""
    from scapy.layers.inet6 import (  # noqa: PLC0415 - heavy import, only this test needs it
        ICMPv6ND_NA,
        ICMPv6NDOptDstLLAddr,
        IPv6,
    )
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415

    arp = bytes(
        Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:03")
        / ARP(op=2, hwsrc="02:00:00:00:00:02", psrc="198.51.100.7",
              hwdst="02:00:00:00:00:03", pdst="198.51.100.8")
    )
    assert decode(arp) == {
        "eth_dst": "02:00:00:00:00:03",
        "eth_src": "02:00:00:00:00:02",
        "ethertype": ETH_P_ARP,
        "op": 2,
        "sha": "02:00:00:00:00:02",
        "spa": "198.51.100.7",
        "tha": "02:00:00:00:00:03",
        "tpa": "198.51.100.8",
    }
    na = bytes(
        Ether(src="02:00:00:00:00:02", dst="33:33:00:00:00:01")
        / IPv6(src="2001:db8::11", dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(R=0, S=0, O=1, tgt="2001:db8::11")
        / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:02")
    )
    assert decode(na) == {
        "eth_dst": "33:33:00:00:00:01",
        "eth_src": "02:00:00:00:00:02",
        "ethertype": 0x86DD,
        "src": "2001:db8::11",
        "dst": "ff02::1",
        "hop_limit": 255,
        "next_header": 58,
        "icmp_type": 136,
        "icmp_code": 0,
        "icmp_checksum_ok": True,
        "flag_r": False,
        "flag_s": False,
        "flag_o": True,
        "target": "2001:db8::11",
        "tlla": "02:00:00:00:00:02",
    }
    corrupted = na[:-1] + bytes([na[-1] ^ 0xFF])
    assert decode(corrupted)["icmp_checksum_ok"] is False
    with pytest.raises(ValueError, match="truncated"):
        decode(na[:-4])


def test_require_lab_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """require_lab skips with the reason, or fails when GARPD_REQUIRE_LAB=1."""
    import tests.lab as lab_module  # noqa: PLC0415

    monkeypatch.setattr(lab_module, "lab_unavailable_reason", lambda: "no netns here")
    monkeypatch.delenv("GARPD_REQUIRE_LAB", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no netns here"):
        lab_module.require_lab()
    monkeypatch.setenv("GARPD_REQUIRE_LAB", "1")
    with pytest.raises(pytest.fail.Exception, match="no netns here"):
        lab_module.require_lab()
