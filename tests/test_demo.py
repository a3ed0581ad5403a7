"""``garpd demo``: the end-to-end failover in its throwaway lab, its clean-up (also after
Ctrl-C), its refusal without privileges, and the pure pieces it is built from (rtnetlink
and ARP parsing, the frame/reason timeline, the verdict, the terminal helpers).

The lab tests run the real command (``python -m garpd demo --json``) as a user would and
judge it from the outside: its exit code, its JSON outcome, ``ip netns list`` and /proc.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from garpd import rtnl, term
from garpd.commands import demo
from garpd.lab import agent
from tests.lab import require_lab
from tests.privileges import unprivileged

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_A_MAC = "02:00:00:00:00:0a"
NODE_B_MAC = "02:00:00:00:00:0b"
VIP = "192.0.2.100"


def _env() -> dict[str, str]:
    existing = os.environ.get("PYTHONPATH")
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), existing) if p)}


def _demo_processes(pid: int) -> list[str]:
    """Command lines of live processes that belong to the demo run ``pid``."""
    tag = re.compile(rf"garpd-demo-{pid}(?!\d)".encode())
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and tag.search(cmdline):
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _namespaces(pid: int) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                         check=False).stdout
    return [line.split()[0] for line in out.splitlines()
            if re.match(rf"garpd-demo-{pid}-", line)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _assert_gone(pid: int, outcome: dict[str, Any]) -> None:
    """Nothing of demo run ``pid`` is left: namespaces, processes, temporary files."""
    assert _namespaces(pid) == [], "lab namespaces survived"
    assert outcome["cleanup"]["ok"] is True, outcome["cleanup"]
    assert outcome["cleanup"]["namespaces_left"] == []
    assert sorted(outcome["cleanup"]["namespaces_removed"]) == sorted(
        outcome["lab"]["namespaces"])
    assert outcome["lab"]["pids"], "the demo reported no processes"
    assert [p for p in outcome["lab"]["pids"] if _alive(p)] == []
    assert _demo_processes(pid) == []
    assert list(Path(tempfile.gettempdir()).glob(f"garpd-demo-{pid}-*")) == []


def _run_demo(*options: str) -> tuple[subprocess.CompletedProcess[str], int, dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "garpd", "demo", "--json", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=REPO_ROOT)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    try:
        outcome = json.loads(stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON document:\n{stdout}\nstderr:\n{stderr}")
    return done, proc.pid, outcome


def _check_outcome(done: subprocess.CompletedProcess[str], outcome: dict[str, Any]) -> None:
    assert done.returncode == 0, done.stderr
    assert outcome["ok"] is True
    assert outcome["entry_before"]["lladdr"] == NODE_A_MAC
    # without garpd: the router kept node a's MAC for the whole window, nothing announced
    assert outcome["stale_held"] is True
    assert outcome["entry_stale"]["lladdr"] == NODE_A_MAC
    assert outcome["entry_stale"]["announcements_seen"] == 0
    assert outcome["entry_stale"]["pings_answered"] == 0
    # with garpd: the entry follows node b, announced by garpd's two bursts
    assert outcome["moved"] is True
    assert outcome["moved_to"] == NODE_B_MAC == outcome["entry_after"]["lladdr"]
    assert outcome["ping_after"]["ok"] is True
    assert 0 <= outcome["moved_ms"] < 1000
    frames = outcome["frames"]
    assert frames
    assert {f["mac"] for f in frames} == {NODE_B_MAC}
    assert {f["type"] for f in frames} == {"GARP request"}
    reasons = [f["reason"] for f in frames]
    repeat = outcome["garpd"]["master_repeat"]
    assert reasons == ["master"] * repeat + ["master_delay"] * repeat
    assert outcome["verdict"].startswith(f"PASS: router's entry for {VIP} moved to {NODE_B_MAC}")
    assert "PASS:" in done.stderr  # the narration goes to stderr with --json
    assert outcome["duration_s"] < 60


# --------------------------------------------------------------------------- end to end


@pytest.mark.lab
def test_demo_moves_the_routers_entry_and_leaves_nothing() -> None:
    """`garpd demo --json` (keepalived when installed): stale without garpd, moved with it,
    and afterwards no namespace, process or file of the run remains."""
    require_lab()
    done, pid, outcome = _run_demo()
    keepalived = shutil.which("keepalived") or os.access("/usr/sbin/keepalived", os.X_OK)
    assert outcome["mode"] == ("keepalived" if keepalived else "plain"), outcome
    _check_outcome(done, outcome)
    _assert_gone(pid, outcome)


@pytest.mark.lab
def test_demo_without_keepalived_uses_plain_moves() -> None:
    """`garpd demo --no-keepalived`: the same outcome with `ip addr del/add` moves."""
    require_lab()
    done, pid, outcome = _run_demo("--no-keepalived")
    assert outcome["mode"] == "plain"
    _check_outcome(done, outcome)
    _assert_gone(pid, outcome)


@pytest.mark.lab
def test_demo_ctrl_c_still_cleans_up() -> None:
    """SIGINT about 2 s in (the lab is up, processes run): exit 130, everything removed."""
    require_lab()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "garpd", "demo", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=REPO_ROOT)
    try:
        deadline = started + 30.0
        while len(_namespaces(proc.pid)) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert len(_namespaces(proc.pid)) == 4, "the lab never came up"
        time.sleep(max(0.0, started + 2.0 - time.monotonic()))
        assert _demo_processes(proc.pid), "no demo process was running when interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr
    outcome = json.loads(stdout)
    assert outcome["ok"] is False
    assert outcome["interrupted"] == "SIGINT"
    _assert_gone(proc.pid, outcome)


def test_demo_refuses_without_privileges() -> None:
    """As an unprivileged user `garpd demo` exits 2 with one clear line and no traceback."""
    argv = unprivileged([sys.executable, "-m", "garpd", "demo"])
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd="/",
                          timeout=60, check=False)
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("garpd: demo needs root"), lines
    assert "sudo garpd demo" in lines[0]


# --------------------------------------------------------------------------- pure pieces


# The test builds its netlink bytes by hand, apart from garpd.rtnl's encoders on purpose:
# the decoder under test must not also write its own input.
def _nlmsg(kind: int, body: bytes) -> bytes:
    data = struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body
    return data + b"\0" * (-len(data) % 4)


def _rtattr(kind: int, value: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(value), kind) + value
    return data + b"\0" * (-len(data) % 4)


def test_parse_rtnetlink_reports_only_the_vip() -> None:
    """Neighbour and address messages for the VIP are decoded; others are skipped."""
    vip = socket.inet_aton(VIP)
    other = socket.inet_aton("192.0.2.1")
    neigh = struct.pack("=BBHiHBB", socket.AF_INET, 0, 0, 2, 0x04, 0, 1)
    addr = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 2)
    mac = bytes.fromhex("02000000000b")
    data = (_nlmsg(rtnl.RTM_NEWNEIGH, neigh + _rtattr(rtnl.NDA_DST, vip)
                   + _rtattr(rtnl.NDA_LLADDR, mac))
            + _nlmsg(rtnl.RTM_NEWNEIGH, neigh + _rtattr(rtnl.NDA_DST, other)
                     + _rtattr(rtnl.NDA_LLADDR, mac))
            + _nlmsg(rtnl.RTM_DELADDR, addr + _rtattr(rtnl.IFA_LOCAL, vip))
            + _nlmsg(rtnl.RTM_NEWADDR, addr + _rtattr(rtnl.IFA_LOCAL, other)))
    assert agent.parse_rtnetlink(data, vip) == [
        {"e": "neigh", "op": "new", "lladdr": NODE_B_MAC, "state": "STALE", "ifindex": 2},
        {"e": "addr", "op": "del", "ifindex": 2},
    ]
    assert agent.parse_rtnetlink(data[:20], vip) == []  # truncated: nothing, no exception


def test_parse_garp_accepts_gratuitous_arp_only() -> None:
    """A GARP request for the VIP is decoded; an ordinary ARP request is not a GARP."""
    mac = bytes.fromhex("02000000000b")
    vip = socket.inet_aton(VIP)

    def arp(op: int, spa: bytes, tpa: bytes, tha: bytes) -> bytes:
        return (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op)
                + mac + spa + tha + tpa).ljust(60, b"\0")

    garp = agent.parse_garp(arp(1, vip, vip, b"\xff" * 6), vip)
    assert garp == {"e": "frame", "op": 1, "sha": NODE_B_MAC, "tha": "ff:ff:ff:ff:ff:ff",
                    "eth_src": NODE_B_MAC, "eth_dst": "ff:ff:ff:ff:ff:ff"}
    assert demo.frame_type(garp) == "GARP request"
    reply = agent.parse_garp(arp(2, vip, vip, mac), vip)
    assert reply is not None
    assert demo.frame_type(reply) == "GARP reply"
    assert agent.parse_garp(arp(1, socket.inet_aton("192.0.2.1"), vip, b"\0" * 6), vip) is None
    assert agent.parse_garp(b"\0" * 20, vip) is None


def test_timeline_pairs_frames_with_reasons_in_time_order() -> None:
    """Frames get garpd's reasons in order, wait for them, and print in time order with the
    router's entry change; the earliest observation becomes the move's time."""
    timeline = demo.Timeline(t0=10.001, garpd_mac=NODE_B_MAC)
    for t in (10.0005, 10.0006):
        timeline.add_frame({"e": "frame", "op": 1, "sha": NODE_B_MAC, "t": t})
    timeline.add_change({"e": "neigh", "lladdr": NODE_B_MAC, "state": "STALE", "t": 10.00055})
    assert timeline.t0 == 10.0005  # b's agent saw the address later than the router a frame
    assert [k for k, _e, _r in timeline.ready(10.001)] == []  # reasons unknown yet
    timeline.add_record({"event": "announce", "address": VIP, "reason": "master", "packets": 2})
    ready = list(timeline.ready(10.001))
    assert [(k, r) for k, _e, r in ready] == [("frame", "master"), ("neigh", None),
                                              ("frame", "master")]
    assert [timeline.ms(e) for _k, e, _r in ready] == [0.0, 0.05, 0.1]
    timeline.add_frame({"e": "frame", "op": 1, "sha": "02:00:00:00:00:99", "t": 10.5})
    assert list(timeline.ready(10.6)) == []
    assert [r for _k, _e, r in timeline.ready(11.1)] == [None]  # not garpd's, after patience


def test_verdict_lines() -> None:
    """PASS names the MAC, the time and the stale window; FAIL names what the entry is."""
    passed = {"moved": True, "moved_to": NODE_B_MAC, "moved_ms": 1.234, "stale_held": True,
              "entry_stale": {"seconds": 3.0}}
    assert demo.verdict(passed) == (
        f"PASS: router's entry for {VIP} moved to {NODE_B_MAC} in 1.2 ms "
        "(without garpd it stayed stale for 3.0 s)")
    failed = {"moved": False, "entry_after": {"lladdr": NODE_A_MAC, "node": "node a"}}
    assert demo.verdict(failed) == (
        f"FAIL: router's entry for {VIP} is {NODE_A_MAC} (node a), not node b's {NODE_B_MAC}")


def test_missing_privileges_names_the_fix() -> None:
    """Not root: the message says so and how to run it; root without caps: names them."""
    message = demo.missing_privileges(euid=1000)
    assert message is not None
    assert "needs root" in message
    assert "sudo garpd demo" in message
    message = demo.missing_privileges(euid=0, caps=1 << 12)
    assert message is not None
    assert "CAP_NET_RAW, CAP_SYS_ADMIN" in message


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_term_plain_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """No escapes off a terminal or with NO_COLOR; milestones only become lines."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    pipe = io.StringIO()
    assert term.style("PASS", term.GREEN, stream=pipe) == "PASS"
    assert term.style("PASS", term.GREEN, stream=_Tty()) == "\x1b[32mPASS\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert term.style("PASS", term.GREEN, stream=_Tty()) == "PASS"
    line = term.StatusLine(pipe)
    line.update("working")
    line.update("\x1b[1mhalf way\x1b[0m", milestone=True)
    line.print("kept")
    line.done("done")
    assert pipe.getvalue() == "half way\nkept\ndone\n"


def test_term_status_line_rewrites_itself_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the live line is redrawn with \\r and erased before permanent lines."""
    monkeypatch.setenv("TERM", "xterm")
    tty = _Tty()
    line = term.StatusLine(tty)
    line.update("step one")
    line.print("kept")
    line.done("finished")
    text = tty.getvalue()
    assert text.count("\r\x1b[2K") >= 4
    assert "step one" in text
    assert text.endswith("\r\x1b[2Kfinished\n")
    assert term.visible_len("\x1b[1mab\x1b[0m") == 2
