"""Lab tests of the real ``garpd announce`` command: it runs in namespace "a" on a bridge
with namespace "peer", which captures what arrives and whose neighbour table must follow.

Every test drives the CLI as a user would (``python -m garpd --log-format json announce``),
decodes the captured frames field by field and parses the JSON log lines on stderr.
Timing checks are deliberately generous: they catch a missing or doubled burst, not jitter.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import itertools
import json
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.lab import (
    BROADCAST_MAC,
    ETH_P_ARP,
    ETH_P_IPV6,
    Decoded,
    Frame,
    Lab,
    LabFactory,
    wait_for,
)

pytestmark = pytest.mark.lab

WRONG_MAC = "02:00:00:00:00:99"
VIP4 = "192.0.2.10"
VIP6 = "2001:db8::10"
PEER4 = "192.0.2.20"
PEER6 = "2001:db8::20"
ALL_NODES_MAC = "33:33:00:00:00:01"
#: How long any single garpd run may take before the test gives up on it.
RUN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Run:
    """One finished ``garpd announce``: exit code, output, and when it ran (monotonic)."""

    returncode: int
    stdout: str
    stderr: str
    started: float
    ended: float

    @property
    def logs(self) -> list[dict[str, Any]]:
        """stderr parsed as JSON lines (every non-empty line must be one JSON object)."""
        return json_lines(self.stderr)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse every non-empty line of ``text`` as a JSON object; fail on anything else."""
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"stderr line is not JSON: {line!r}\nfull stderr:\n{text}")
        assert isinstance(record, dict), f"stderr line is not a JSON object: {line!r}"
        records.append(record)
    return records


def announce(lab: Lab, garpd_cmd: Sequence[str], *args: str) -> Run:
    """Run ``garpd --log-format json announce -i eth0 ARGS...`` in "a" and wait for it."""
    started = time.monotonic()
    proc = lab.run("a", *garpd_cmd, "--log-format", "json", "announce", "-i", "eth0", *args,
                   check=False, timeout=RUN_TIMEOUT)
    ended = time.monotonic()
    return Run(proc.returncode, proc.stdout, proc.stderr, started, ended)


def make_pair(make_lab: LabFactory, *, accept_dad: int = 0, **options: Any) -> Lab:
    """Hosts "a" (announcer) and "peer" (capture); neighbour updates never locked out."""
    lab = make_lab(["a", "peer"], accept_dad=accept_dad, locktime=0, **options)
    lab.add_address("peer", f"{PEER4}/24")
    if accept_dad == 0:
        lab.add_address("peer", f"{PEER6}/64")
    return lab


def arps(frames: Iterable[Frame], addresses: Iterable[str] | None = None) -> list[Decoded]:
    """The decoded ARP frames (about ``addresses`` as sender IP, if given), in order."""
    wanted = None if addresses is None else set(addresses)
    out = []
    for frame in frames:
        d = frame.decode()
        if d["ethertype"] == ETH_P_ARP and (wanted is None or d["spa"] in wanted):
            out.append(d)
    return out


def is_na(d: Decoded) -> bool:
    """True for an ICMPv6 neighbour advertisement."""
    return d["ethertype"] == ETH_P_IPV6 and d.get("icmp_type") == 136


def nas(frames: Iterable[Frame], addresses: Iterable[str] | None = None) -> list[Decoded]:
    """The decoded NAs (for ``addresses`` as target, if given), in order."""
    wanted = None if addresses is None else {str(ipaddress.ip_address(a)) for a in addresses}
    return [d for d in (f.decode() for f in frames)
            if is_na(d) and (wanted is None or d["target"] in wanted)]


def announcements(frames: Iterable[Frame]) -> list[tuple[Frame, Decoded]]:
    """Every captured ARP or NA, with its decoding: what an announcer could have sent."""
    out = []
    for frame in frames:
        d = frame.decode()
        if d["ethertype"] == ETH_P_ARP or is_na(d):
            out.append((frame, d))
    return out


def subject(d: Decoded) -> str:
    """The address a captured ARP (sender IP) or NA (target) announces."""
    return d["spa"] if d["ethertype"] == ETH_P_ARP else d["target"]


def events(run: Run, event: str, address: str | None = None) -> list[dict[str, Any]]:
    """The log records named ``event`` (about ``address``, if given), in order."""
    return [r for r in run.logs
            if r.get("event") == event and (address is None or r.get("address") == address)]


def check_announce_record(record: dict[str, Any], *, address: str, mac: str, reason: str,
                          packets: int) -> None:
    """One ``announce`` record: the fields SPEC "Logs" promises, with sane values."""
    assert record["event"] == "announce"
    assert record["level"] == "info"
    assert record["interface"] == "eth0"
    assert record["address"] == address
    assert record["mac"] == mac
    assert record["mac"] == record["mac"].lower()
    assert record["reason"] == reason
    assert record["packets"] == packets
    stamp = record["timestamp"]
    assert isinstance(stamp, str)
    assert stamp.endswith(("Z", "+00:00")), stamp
    when = datetime.fromisoformat(stamp)
    assert when.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=5), stamp


def check_two_bursts(times: Sequence[float], repeat: int, delay: float) -> None:
    """``repeat`` frames at once, then ``repeat`` more about ``delay`` s later (generously)."""
    assert len(times) == 2 * repeat
    first, second = times[:repeat], times[repeat:]
    assert first[-1] - first[0] < 0.5, "the first burst is spread out"
    assert second[-1] - second[0] < 0.5, "the delayed burst is spread out"
    gap = second[0] - first[0]
    assert delay - 0.05 <= gap <= delay + 0.5, f"delayed burst {gap:.3f}s after the first"


def neighbour_mac(lab: Lab, address: str) -> str | None:
    """The peer's current lladdr for ``address`` (None if it has no entry)."""
    entry = lab.neighbours("peer").get(address)
    return None if entry is None else entry[0]


def plant_wrong_neighbour(lab: Lab, address: str) -> None:
    """Give the peer a STALE entry for ``address`` pointing at a MAC nobody has."""
    lab.set_neighbour("peer", address, WRONG_MAC)
    assert lab.neighbours("peer")[address] == (WRONG_MAC, "STALE")


def wait_neighbour_moved(lab: Lab, address: str) -> None:
    """The peer's entry for ``address`` now points at a's MAC."""
    mac = lab.mac("a")
    wait_for(lambda: neighbour_mac(lab, address) == mac, 5.0,
             message=f"peer's neighbour entry for {address} moved to {mac} "
                     f"(now {lab.neighbours('peer').get(address)})")


def addr_flags(lab: Lab, address: str) -> dict[str, Any] | None:
    """``ip -j addr`` info for ``address`` on a's eth0 (None if it is not there)."""
    out = lab.run("a", "ip", "-j", "addr", "show", "dev", "eth0").stdout
    for link in json.loads(out):
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return dict(info)
    return None


# --------------------------------------------------------------------------- GARP


def test_garp_request_frames_bursts_and_neighbour(make_lab: LabFactory,
                                                  garpd_cmd: list[str]) -> None:
    """Request mode: exact GARP fields, two bursts of --repeat, the peer's entry moves."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    plant_wrong_neighbour(lab, VIP4)
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--repeat", "3", "--delay", "1", VIP4)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    garps = [f for f in frames if f.decode()["ethertype"] == ETH_P_ARP]
    assert len(garps) == 6
    for frame in garps:
        assert frame.decode() == {
            "eth_dst": BROADCAST_MAC, "eth_src": mac, "ethertype": 0x0806,
            "op": 1, "sha": mac, "spa": VIP4, "tha": BROADCAST_MAC, "tpa": VIP4,
        }
        assert frame.data[:42] == garps[0].data[:42]
    check_two_bursts([f.t for f in garps], 3, 1.0)
    assert not nas(frames)
    wait_neighbour_moved(lab, VIP4)

    records = events(run, "announce")
    assert [r["reason"] for r in records] == ["oneshot", "oneshot_delay"]
    check_announce_record(records[0], address=VIP4, mac=mac, reason="oneshot", packets=3)
    check_announce_record(records[1], address=VIP4, mac=mac, reason="oneshot_delay", packets=3)


def test_garp_reply_mode(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """Reply mode: op 2 with tha = the sender's MAC; the peer's entry moves too."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    plant_wrong_neighbour(lab, VIP4)
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--mode", "reply", "--repeat", "2", "--delay", "0", VIP4)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    replies = arps(frames)
    assert len(replies) == 2
    for d in replies:
        assert d == {
            "eth_dst": BROADCAST_MAC, "eth_src": mac, "ethertype": ETH_P_ARP,
            "op": 2, "sha": mac, "spa": VIP4, "tha": mac, "tpa": VIP4,
        }
    wait_neighbour_moved(lab, VIP4)
    (record,) = events(run, "announce")
    check_announce_record(record, address=VIP4, mac=mac, reason="oneshot", packets=2)


def test_garp_both_mode_request_then_reply(make_lab: LabFactory,
                                           garpd_cmd: list[str]) -> None:
    """Both mode: a request then a reply for every repeat, in both bursts."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    plant_wrong_neighbour(lab, VIP4)
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--mode", "both", "--repeat", "3", "--delay", "0.5", VIP4)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    got = arps(frames, [VIP4])
    assert [d["op"] for d in got] == [1, 2] * 6
    for d in got:
        assert d["sha"] == mac
        assert d["tha"] == (BROADCAST_MAC if d["op"] == 1 else mac)
        assert d["tpa"] == VIP4
    times = [f.t for f in frames if f.decode()["ethertype"] == ETH_P_ARP]
    check_two_bursts(times, 6, 0.5)
    wait_neighbour_moved(lab, VIP4)
    records = events(run, "announce", VIP4)
    assert [r["reason"] for r in records] == ["oneshot", "oneshot_delay"]
    # `packets` counts what left for the address: a request and a reply per repeat.
    for record in records:
        check_announce_record(record, address=VIP4, mac=mac, reason=record["reason"],
                              packets=6)


# --------------------------------------------------------------------------- IPv6 NA


@pytest.mark.parametrize("forwarding", [False, True], ids=["host", "router"])
def test_unsolicited_na(make_lab: LabFactory, garpd_cmd: list[str], forwarding: bool) -> None:
    """IPv6: exact NA fields, Router flag = eth0 forwarding, the peer's entry moves."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    if forwarding:
        lab.sysctl("a", {"net.ipv6.conf.eth0.forwarding": 1})
    lab.add_address("a", f"{VIP6}/64")
    plant_wrong_neighbour(lab, VIP6)
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--repeat", "2", "--delay", "0.5", VIP6)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    got = [(f, f.decode()) for f in frames if is_na(f.decode())]
    assert len(got) == 4
    for _frame, d in got:
        assert d == {
            "eth_dst": ALL_NODES_MAC, "eth_src": mac, "ethertype": ETH_P_IPV6,
            "src": VIP6, "dst": "ff02::1", "hop_limit": 255, "next_header": 58,
            "icmp_type": 136, "icmp_code": 0, "icmp_checksum_ok": True,
            "flag_r": forwarding, "flag_s": False, "flag_o": True,
            "target": VIP6, "tlla": mac,
        }
    check_two_bursts([f.t for f, _d in got], 2, 0.5)
    assert not arps(frames)
    wait_neighbour_moved(lab, VIP6)
    records = events(run, "announce")
    assert [r["reason"] for r in records] == ["oneshot", "oneshot_delay"]
    for record in records:
        check_announce_record(record, address=VIP6, mac=mac, reason=record["reason"],
                              packets=2)


# --------------------------------------------------------------------------- several


def test_ipv4_and_ipv6_round_robin(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """Several IPv4 and IPv6 addresses in one call: round-robin per burst, counts right."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    v4 = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
    v6 = ["2001:db8::11", "2001:db8::12"]
    for address in v4:
        lab.add_address("a", f"{address}/24")
    for address in v6:
        lab.add_address("a", f"{address}/64")
    for address in (*v4, *v6):
        plant_wrong_neighbour(lab, address)
    cap = lab.capture("peer")
    # Interleave the families on the command line; each family keeps its argument order.
    run = announce(lab, garpd_cmd, "--repeat", "2", "--delay", "0",
                   v4[0], v6[0], v4[1], v6[1], v4[2])
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    assert [d["spa"] for d in arps(frames)] == v4 * 2
    assert [d["target"] for d in nas(frames)] == v6 * 2
    for d in arps(frames):
        assert (d["op"], d["sha"], d["tpa"]) == (1, mac, d["spa"])
    for d in nas(frames):
        assert (d["src"], d["tlla"], d["icmp_checksum_ok"]) == (d["target"], mac, True)
    for address in (*v4, *v6):
        wait_neighbour_moved(lab, address)
    records = events(run, "announce")
    assert sorted(r["address"] for r in records) == sorted([*v4, *v6])
    for record in records:
        check_announce_record(record, address=record["address"], mac=mac, reason="oneshot",
                              packets=2)


def test_interval_spaces_packets(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """--interval 0.2 spaces every GARP by at least ~0.2 s; the count stays repeat x addrs."""
    lab = make_pair(make_lab)
    addresses = ["192.0.2.11", "192.0.2.12"]
    for address in addresses:
        lab.add_address("a", f"{address}/24")
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--repeat", "3", "--delay", "0", "--interval", "0.2",
                   *addresses)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    garps = [f for f in frames if f.decode()["ethertype"] == ETH_P_ARP]
    assert [f.decode()["spa"] for f in garps] == addresses * 3
    gaps = [b.t - a.t for a, b in itertools.pairwise(garps)]
    assert all(gap >= 0.15 for gap in gaps), gaps
    assert [r["packets"] for r in events(run, "announce")] == [3, 3]


def test_delay_zero_single_burst_exits_promptly(make_lab: LabFactory,
                                                garpd_cmd: list[str]) -> None:
    """--delay 0: exactly one burst, and the command ends long before the default 5 s."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--repeat", "4", "--delay", "0", VIP4)
    time.sleep(0.3)  # anything still in flight would land now
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    assert run.ended - run.started < 4.0, f"took {run.ended - run.started:.2f}s"
    assert len(arps(frames, [VIP4])) == 4
    assert [r["reason"] for r in events(run, "announce")] == ["oneshot"]


# --------------------------------------------------------------------------- state changes


def test_tentative_ipv6_announced_after_dad(make_lab: LabFactory,
                                            garpd_cmd: list[str]) -> None:
    """An IPv6 address still in DAD is announced only once DAD completes, exit 0."""
    # Two DAD probes a second apart: the address stays tentative for 2-3 s, well past the
    # command's start-up, so the command really does find it tentative.
    lab = make_pair(make_lab, accept_dad=1, sysctls={"net.ipv6.conf.eth0.dad_transmits": 2})
    mac = lab.mac("a")
    cap = lab.capture("peer")
    added = time.monotonic()
    lab.run("a", "ip", "-6", "addr", "add", f"{VIP6}/64", "dev", "eth0")
    flags = addr_flags(lab, VIP6)
    assert flags is not None
    assert flags.get("tentative"), f"{VIP6} not tentative right after adding it: {flags}"
    run = announce(lab, garpd_cmd, "--repeat", "2", "--delay", "0", VIP6)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    flags = addr_flags(lab, VIP6)
    assert flags is not None
    assert not flags.get("tentative")
    assert not flags.get("dadfailed")
    sent = [f for f in frames if is_na(f.decode()) and f.decode()["target"] == VIP6]
    assert len(sent) == 2
    assert all(f.decode()["tlla"] == mac for f in sent)
    probes = [f for f in frames
              if f.decode().get("icmp_type") == 135 and f.decode().get("target") == VIP6
              and f.decode()["src"] == "::"]
    assert len(probes) == 2, "expected the kernel's two DAD probes"
    # DAD ends one retransmit timer (1 s) after the last probe; nothing may precede that.
    assert sent[0].t >= probes[-1].t + 0.5, (
        f"NA {sent[0].t - probes[-1].t:.3f}s after the last DAD probe")
    assert sent[0].t >= added + 1.0
    assert sent[0].t - run.started >= 0.5
    assert run.ended - run.started < 8.0
    (record,) = events(run, "announce")
    check_announce_record(record, address=VIP6, mac=mac, reason="oneshot", packets=2)


def test_address_removed_before_delayed_burst(make_lab: LabFactory,
                                              garpd_cmd: list[str]) -> None:
    """An address removed while waiting for its delayed burst gets no more frames; exit 1."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    cap = lab.capture("peer")
    started = time.monotonic()
    proc = lab.popen("a", *garpd_cmd, "--log-format", "json", "announce", "-i", "eth0",
                     "--repeat", "2", "--delay", "2", VIP4,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cap.wait_until(lambda got: len(arps(got, [VIP4])) >= 2, timeout=15.0)
    time.sleep(0.5)
    removed = time.monotonic()
    lab.del_address("a", f"{VIP4}/24")
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("garpd announce did not exit after its address was removed")
    ended = time.monotonic()
    # Linger past where the delayed burst would have been due.
    time.sleep(max(0.0, removed + 2.5 - time.monotonic()))
    frames = cap.stop()
    run = Run(proc.returncode, stdout, stderr, started, ended)

    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    garp_times = [f.t for f in frames
                  if f.decode()["ethertype"] == ETH_P_ARP and f.decode()["spa"] == VIP4]
    assert len(garp_times) == 2
    assert all(t < removed for t in garp_times)
    assert [r["reason"] for r in events(run, "announce", VIP4)] == ["oneshot"]
    assert events(run, "vip_released", VIP4), run.stderr
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- refusals

BAD_INPUT: list[tuple[str, list[str], list[str]]] = [
    # (id, arguments after `announce`, words the one-line message must contain)
    ("unknown-interface", ["-i", "nosuch0", VIP4], ["nosuch0"]),
    ("not-held", ["-i", "eth0", "192.0.2.50"], ["192.0.2.50", "--force"]),
    ("malformed-address", ["-i", "eth0", "192.0.2.300"], ["192.0.2.300"]),
    ("repeat-zero", ["-i", "eth0", "--repeat", "0", VIP4], ["--repeat"]),
    ("negative-delay", ["-i", "eth0", "--delay", "-1", VIP4], ["--delay"]),
    ("interval-not-a-number", ["-i", "eth0", "--interval", "abc", VIP4], ["--interval", "abc"]),
    ("bad-mode", ["-i", "eth0", "--mode", "bogus", VIP4], ["--mode", "bogus"]),
    ("loopback-address", ["-i", "eth0", "127.0.0.1"], ["127.0.0.1"]),
    ("loopback-interface", ["-i", "lo", VIP4], ["lo"]),
]


def check_refused(lab: Lab, garpd_cmd: Sequence[str], args: Sequence[str],
                  words: Sequence[str]) -> None:
    """Exit 2, one clear stderr line naming the problem, empty stdout, nothing on the wire."""
    cap = lab.capture("peer")
    started = time.monotonic()
    proc = lab.run("a", *garpd_cmd, "--log-format", "json", "announce", *args,
                   check=False, timeout=RUN_TIMEOUT)
    time.sleep(0.2)
    frames = cap.stop()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert time.monotonic() - started < 20.0
    assert not announcements(frames), [d for _f, d in announcements(frames)]


@pytest.mark.parametrize(("args", "words"), [(a, w) for _i, a, w in BAD_INPUT],
                         ids=[i for i, _a, _w in BAD_INPUT])
def test_bad_input_refused(make_lab: LabFactory, garpd_cmd: list[str], args: list[str],
                           words: list[str]) -> None:
    """Bad input: exit 2, exactly one stderr line naming the problem, nothing sent."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    check_refused(lab, garpd_cmd, args, words)


def test_interface_down_refused(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """An interface that is administratively down: exit 2 with a message saying so."""
    lab = make_pair(make_lab)
    lab.add_address("a", f"{VIP4}/24")
    lab.run("a", "ip", "link", "set", "eth0", "down")
    check_refused(lab, garpd_cmd, ["-i", "eth0", VIP4], ["eth0", "down"])


def test_force_announces_address_not_held(make_lab: LabFactory,
                                          garpd_cmd: list[str]) -> None:
    """--force announces an address eth0 does not hold: frames go out, exit 0."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    lab.add_address("a", f"{VIP4}/24")
    other = "192.0.2.50"
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--force", "--repeat", "2", "--delay", "0", other)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr
    got = arps(frames, [other])
    assert len(got) == 2
    assert all((d["op"], d["sha"], d["tpa"]) == (1, mac, other) for d in got)
    assert not arps(frames, [VIP4])
    (record,) = events(run, "announce")
    check_announce_record(record, address=other, mac=mac, reason="oneshot", packets=2)


# --------------------------------------------------------------------------- scale


def test_thousand_addresses_nothing_lost(make_lab: LabFactory, garpd_cmd: list[str]) -> None:
    """1,000 addresses x --repeat 5: all 5,000 GARPs arrive, each address exactly 5 times."""
    lab = make_pair(make_lab)
    mac = lab.mac("a")
    base = ipaddress.IPv4Address("198.18.0.0")
    addresses = [str(base + 1 + i) for i in range(1000)]
    batch = "".join(f"address add {a}/15 dev eth0\n" for a in addresses)
    lab.run("a", "ip", "-batch", "-", input_text=batch)
    cap = lab.capture("peer")
    run = announce(lab, garpd_cmd, "--repeat", "5", "--delay", "0", *addresses)
    with contextlib.suppress(TimeoutError):  # the counts below say what is missing
        cap.wait_until(lambda got: len(arps(got, addresses)) >= 5000, timeout=20.0)
    time.sleep(0.2)
    frames = cap.stop()

    assert run.returncode == 0, run.stderr[-2000:]
    got = arps(frames, addresses)
    counts = collections.Counter(d["spa"] for d in got)
    assert len(got) == 5000, f"{len(got)} of 5000 GARPs arrived (capture drops: {cap.drops})"
    assert counts == dict.fromkeys(addresses, 5)
    assert all(d["sha"] == mac for d in got)
    assert cap.drops == 0
    records = events(run, "announce")
    assert len(records) == 1000
    assert {r["address"] for r in records} == set(addresses)
    assert all(r["packets"] == 5 and r["reason"] == "oneshot" for r in records)
