"""``garpd demo``: watch a router's neighbour entry follow a failover, without and with garpd.

As root it builds a throwaway lab of network namespaces, ``garpd-demo-<pid>-*``::

    switch : br0, a Linux bridge (STP off, forward delay 0), ports p-router, p-a, p-b
    router : eth0 192.0.2.1/24   02:00:00:00:00:01
    a      : eth0 192.0.2.10/24  02:00:00:00:00:0a   node a, holds the VIP first
    b      : eth0 192.0.2.11/24  02:00:00:00:00:0b   node b, takes it over
    VIP      192.0.2.100/24

and runs one scenario, narrated live (a spinner and colours on a terminal, plain lines
otherwise; ``--json`` prints the outcome as one JSON document on stdout and the narration
on stderr):

1. the VIP is on node a; the router pings it and so learns a's MAC;
2. *without garpd*: the VIP moves to node b; for a few seconds the router's entry keeps
   pointing at node a and its pings go unanswered (nothing announced the move);
3. the VIP goes back to node a (the router's entry never left it);
4. *with garpd*: ``garpd run`` (the real daemon, short demo timing) runs on node b and the
   same move happens again; every frame garpd sends is captured on the router and shown
   with its reason from garpd's log, then the router's entry, now node b's MAC.

The move is made by keepalived when it is installed (VRRP elects the master; the
instance's ``notify`` script moves the VIP with ``ip addr``, so keepalived itself announces
nothing for it: keepalived cannot be told to send no GARP for a ``virtual_ipaddress``, and
its own GARP would hide what garpd does; its required ``virtual_ipaddress`` is a placeholder
on ``lo`` that never reaches the LAN), and by plain ``ip addr del`` / ``ip addr add``
otherwise or with ``--no-keepalived``.

Everything it starts is stopped by PID, and every namespace and temporary file removed, on
success, failure, Ctrl-C, SIGTERM or SIGHUP; namespaces left by a demo that was killed
outright are removed by the next run. Exit codes: 0 the router's entry moved with garpd,
1 it did not (or the lab failed), 2 not enough privileges (one line, no traceback),
128 + the signal number when interrupted.

The lab is garpd's namespace lab (:mod:`garpd.lab`); this module holds the demo's own story:
the scenario, the narration, the timeline and the verdict. Inside the namespaces the lab's
agent watches (``python -m garpd.lab.agent watch``): it reports, with CLOCK_MONOTONIC times,
the VIP's address and neighbour changes (rtnetlink) and gratuitous ARP frames (AF_PACKET),
and pings on request; the times of the VIP appearing on node b and of the router's entry
changing come from those reports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final, TextIO

from garpd import term
from garpd.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, RuntimeFailureError, UsageError
from garpd.lab.common import HOST_DEV, SWITCH, CommandFailed, LabError, run
from garpd.lab.netns import Lab, sweep_leftovers
from garpd.lab.watch import Agents

# --------------------------------------------------------------------------- the lab's plan

VIP: Final = "192.0.2.100"
PREFIXLEN: Final = 24
#: keepalived insists on one virtual_ipaddress; this one lives on lo and never leaves it.
PLACEHOLDER: Final = "192.0.2.250"
DEV: Final = HOST_DEV
NS_PREFIX: Final = "garpd-demo-"
#: How long the demo watches the router's wrong entry without garpd.
STALE_WINDOW: Final = 3.0
#: garpd's timing in the demo (the defaults, 5 and 5 s, would only make it longer).
MASTER_REPEAT: Final = 3
MASTER_DELAY: Final = 1.0
VRID: Final = 51
ADVERT_INT: Final = 0.2
GROUP: Final = "VI_1"

_TERM_TIMEOUT: Final = 3.0
_CAPS: Final = {"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21}


@dataclass(frozen=True, slots=True)
class Host:
    """One namespace of the lab with an interface on the bridge."""

    name: str
    label: str
    ip: str
    mac: str


ROUTER: Final = Host("router", "router", "192.0.2.1", "02:00:00:00:00:01")
NODE_A: Final = Host("a", "node a", "192.0.2.10", "02:00:00:00:00:0a")
NODE_B: Final = Host("b", "node b", "192.0.2.11", "02:00:00:00:00:0b")
HOSTS: Final = (ROUTER, NODE_A, NODE_B)


def who(mac: str | None) -> str:
    """The lab host a MAC belongs to ("node a"), or "unknown"."""
    for host in HOSTS:
        if host.mac == mac:
            return host.label
    return "unknown"


# --------------------------------------------------------------------------- privileges


def _effective_caps() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def missing_privileges(euid: int | None = None, caps: int | None = None) -> str | None:
    """Why this process cannot build the lab (one line), or None if it can; ``euid`` and
    ``caps`` (the effective capability mask) default to this process's."""
    if not sys.platform.startswith("linux"):
        return f"demo needs Linux network namespaces; this is {sys.platform}"
    if (os.geteuid() if euid is None else euid) != 0:
        return ("demo needs root: it builds network namespaces and opens raw sockets "
                "(run: sudo garpd demo)")
    caps = _effective_caps() if caps is None else caps
    missing = [name for name, bit in _CAPS.items() if not caps >> bit & 1]
    if missing:
        return (f"demo needs {', '.join(missing)} to build network namespaces and open raw "
                "sockets; this process runs without them (a container without "
                "--privileged or --cap-add?)")
    if shutil.which("ip") is None:
        return "demo needs the `ip` command (Debian package iproute2)"
    return None


def _command_failed(exc: CommandFailed) -> tuple[str, int]:
    """The one-line error and exit code for a lab command that failed: exit 2 if the kernel
    refused it (EPERM: not enough privileges), else 1."""
    argv = exc.cmd if isinstance(exc.cmd, list) else [str(exc.cmd)]
    err = str(exc.stderr or exc.stdout or "").strip()
    if "Operation not permitted" in err or "Permission denied" in err:
        return (f"demo: `{' '.join(argv)}` was refused: {err} "
                "(root with CAP_SYS_ADMIN and CAP_NET_ADMIN is needed)"), EXIT_USAGE
    return f"demo: `{' '.join(argv)}` failed: {err}", EXIT_RUNTIME


def frame_type(event: dict[str, Any]) -> str:
    """"GARP request" / "GARP reply" for a GARP event of the lab's watcher."""
    return {1: "GARP request", 2: "GARP reply"}.get(int(event.get("op", 0)), "ARP")


# --------------------------------------------------------------------------- observing


@dataclass(frozen=True, slots=True)
class Entry:
    """The router's neighbour entry for the VIP."""

    lladdr: str | None
    state: str

    def as_json(self) -> dict[str, Any]:
        """lladdr, state and which host that MAC is."""
        return {"lladdr": self.lladdr, "state": self.state, "node": who(self.lladdr)}


class GarpdDaemon:
    """``garpd run`` in a node namespace with a demo configuration and a JSON log file."""

    def __init__(self, lab: Lab, host: Host) -> None:
        self.lab = lab
        self.host = host
        self.config = lab.workdir / "garpd.toml"
        self.log = lab.workdir / "garpd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._offset = 0
        self._partial = b""

    def config_text(self) -> str:
        """The demo's garpd.toml: one group with the VIP, short timing, no start burst."""
        return "\n".join([
            "# garpd demo: the daemon on " + self.host.label,
            "[announce]",
            f"master_repeat = {MASTER_REPEAT}",
            f"master_delay = {MASTER_DELAY}",
            "announce_on_start = false",
            "",
            "[log]",
            'format = "json"',
            "",
            "[control]",
            f"socket = {json.dumps(str(self.lab.workdir / 'run' / 'garpd.sock'))}",
            "",
            "[[group]]",
            f'name = "{GROUP}"',
            f'interface = "{DEV}"',
            f'addresses = ["{VIP}"]',
            "",
        ])

    def start(self, timeout: float = 30.0) -> float:
        """Start it and wait for READY=1 (sd_notify); seconds it took."""
        self.config.write_text(self.config_text())
        notify_path = self.lab.workdir / "notify.sock"
        started = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, \
                self.log.open("wb") as log:
            notify.bind(str(notify_path))
            env = {**self.lab.env, "NOTIFY_SOCKET": str(notify_path)}
            self.proc = self.lab.popen(
                self.host.name, sys.executable, "-m", "garpd", "--log-format", "json",
                "--log-level", "info", "run", "-c", str(self.config),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=self.lab.workdir)
            deadline = started + timeout
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeFailureError(
                        f"demo: garpd run exited with {self.proc.returncode}: {self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeFailureError(f"demo: garpd run not ready after {timeout:.0f} s:"
                                              f" {self.tail()}")
                notify.settimeout(min(left, 0.2))
                with contextlib.suppress(TimeoutError):
                    if b"READY=1" in notify.recv(4096).split(b"\n"):
                        return time.monotonic() - started

    def tail(self) -> str:
        """The last lines garpd logged, for error messages."""
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(nothing logged)"

    def records(self) -> list[dict[str, Any]]:
        """Log records written since the last call."""
        try:
            with self.log.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out: list[dict[str, Any]] = []
        for line in lines:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    out.append(record)
        return out


def keepalived_binary() -> tuple[str, str] | None:
    """(path, version) of keepalived if it is installed and runs, else None."""
    path = shutil.which("keepalived") or next(
        (p for p in ("/usr/sbin/keepalived", "/usr/local/sbin/keepalived")
         if os.access(p, os.X_OK)), None)
    if path is None:
        return None
    try:
        proc = run([path, "--version"], check=False, timeout=5.0)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Keepalived v(\S+)", proc.stderr + proc.stdout)
    return path, match.group(1) if match else "?"


class Keepalived:
    """keepalived (VRRP only, in the foreground) in one node namespace.

    The VIP is moved by the instance's notify script, not listed in virtual_ipaddress:
    keepalived announces its virtual addresses itself (at least one GARP, it cannot be set
    to none), which would hide whether garpd did anything. keepalived requires one
    virtual_ipaddress, so it gets a placeholder on lo, whose GARPs never reach the bridge.
    """

    def __init__(self, lab: Lab, binary: str, host: Host, priority: int) -> None:
        self.lab = lab
        self.binary = binary
        self.host = host
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = lab.workdir / f"keepalived-{host.name}.conf"
        self.log = lab.workdir / f"keepalived-{host.name}.log"
        script = lab.workdir / "notify.sh"
        if not script.exists():
            ip = shutil.which("ip") or "ip"
            script.write_text(
                "#!/bin/sh\n"
                "# garpd demo: keepalived's notify hook (TYPE NAME STATE PRIORITY) moves the\n"
                "# VIP with `ip addr`, which announces nothing.\n"
                'case "$3" in\n'
                f"  MASTER) {ip} addr add {VIP}/{PREFIXLEN} dev {DEV} 2>/dev/null ;;\n"
                f"  *) {ip} addr del {VIP}/{PREFIXLEN} dev {DEV} 2>/dev/null ;;\n"
                "esac\n"
                "exit 0\n")
            script.chmod(0o700)
        self.conf.write_text("\n".join([
            "global_defs {",
            f"  router_id demo_{host.name}",
            "  script_user root",
            "  vrrp_garp_master_delay 0",
            "  vrrp_garp_master_repeat 1",
            "  vrrp_garp_master_refresh 0",
            "  vrrp_garp_lower_prio_repeat 0",
            "}",
            f"vrrp_instance {GROUP} {{",
            "  state BACKUP",
            f"  interface {DEV}",
            f"  virtual_router_id {VRID}",
            f"  priority {priority}",
            "  version 3",
            f"  advert_int {ADVERT_INT}",
            f"  notify {script}",
            "  virtual_ipaddress {",
            f"    {PLACEHOLDER}/32 dev lo  # required placeholder; the VIP moves by notify",
            "  }",
            "}",
            "",
        ]))

    def start(self) -> None:
        """Start it (again, once the previous run has exited), with fresh pid files."""
        self.stop()
        self.runs += 1
        base = self.lab.workdir / f"keepalived-{self.host.name}-{self.runs}"
        with self.log.open("ab") as log:
            self.proc = self.lab.popen(
                self.host.name,
                self.binary, "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
                "--vrrp", "--use-file", str(self.conf), "--pid", f"{base}.pid",
                "--vrrp_pid", f"{base}-vrrp.pid", "--checkers_pid", f"{base}-checkers.pid",
                "--bfd_pid", f"{base}-bfd.pid", stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=self.lab.env, cwd=self.lab.workdir)

    def terminate(self) -> None:
        """SIGTERM by PID: keepalived sends a priority-0 advert (the backup takes over at
        once) and runs its STOP notify, which removes the VIP."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate and wait for the exit (SIGKILL to its group after ``timeout``)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)

    def tail(self) -> str:
        """keepalived's last log lines, for error messages."""
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- narration


class Narrator:
    """The human side: steps, live lines and a verdict on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = term.StatusLine(stream)
        self.unicode = term.unicode_ok(stream)

    def s(self, text: str, *codes: str) -> str:
        """``text`` styled for this stream (plain when it is not a terminal)."""
        return term.style(text, *codes, stream=self.stream)

    @property
    def good(self) -> str:
        """The mark of a step that went as it should."""
        return self.s("✓" if self.unicode else "+", term.GREEN, term.BOLD)

    @property
    def bad(self) -> str:
        """The mark of something wrong (the stale entry)."""
        return self.s("✗" if self.unicode else "x", term.RED, term.BOLD)

    @property
    def arrow(self) -> str:
        """An arrow, ASCII if need be."""
        return "→" if self.unicode else "->"

    def line(self, text: str = "") -> None:
        """A permanent line."""
        self.live.print(text)

    def step(self, text: str) -> None:
        """Announce a step in progress (the spinner line on a terminal)."""
        self.live.update(text)

    def done(self, mark: str, text: str) -> None:
        """End the current step with a permanent line."""
        self.live.done(f"{mark} {text}")

    def entry(self, entry: Entry | None, *, expect: Host | None = None) -> str:
        """The router's entry as a phrase, coloured by whether it points at ``expect``."""
        if entry is None or entry.lladdr is None:
            return self.s("no entry", term.YELLOW)
        text = f"{entry.lladdr} ({who(entry.lladdr)}, {entry.state})"
        if expect is None:
            return self.s(text, term.BOLD)
        return self.s(text, term.GREEN if entry.lladdr == expect.mac else term.RED, term.BOLD)


# --------------------------------------------------------------------------- the scenario


@dataclass
class Timeline:
    """Frames and router-entry changes after a move, printed in time order.

    A frame is printed once garpd's log has named its reason (the ``announce`` record is
    written just after the frames leave), or after ``patience`` seconds as "not garpd".
    """

    t0: float
    garpd_mac: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    printed: int = 0
    patience: float = 0.5
    _items: list[tuple[float, str, int]] = field(default_factory=list)

    def _observed(self, event: dict[str, Any]) -> None:
        # The move's time comes from node b's agent, the frames' from the router's: if the
        # former woke up late, the first frame marks the move instead (never a negative time).
        self.t0 = min(self.t0, float(event["t"]))

    def add_frame(self, event: dict[str, Any]) -> None:
        """A GARP the router received."""
        self._observed(event)
        self.frames.append(event)
        self._items.append((float(event["t"]), "frame", len(self.frames) - 1))

    def add_change(self, event: dict[str, Any]) -> None:
        """A neighbour-table change on the router."""
        self._observed(event)
        self.changes.append(event)
        self._items.append((float(event["t"]), "neigh", len(self.changes) - 1))

    def add_record(self, record: dict[str, Any]) -> None:
        """A garpd log record; announce records name the next frames' reason."""
        if record.get("event") == "announce" and record.get("address") == VIP:
            self.reasons += [str(record.get("reason"))] * int(record.get("packets", 1))

    def reason(self, index: int) -> str | None:
        """The reason of garpd frame ``index`` (garpd's frames counted in order)."""
        mine = [i for i, f in enumerate(self.frames) if f.get("sha") == self.garpd_mac]
        if index not in mine:
            return None
        position = mine.index(index)
        return self.reasons[position] if position < len(self.reasons) else None

    def ready(self, now: float) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        """What can be printed now, in time order: (kind, event, reason)."""
        self._items.sort()
        while self._items:
            t, kind, index = self._items[0]
            if kind == "neigh":
                yield kind, self.changes[index], None
            else:
                reason = self.reason(index)
                if reason is None and now - t < self.patience:
                    return
                self.frames[index]["reason"] = reason
                yield kind, self.frames[index], reason
            self._items.pop(0)

    def ms(self, event: dict[str, Any]) -> float:
        """Milliseconds from the move to ``event``."""
        return round((float(event["t"]) - self.t0) * 1000, 3)


class Demo:
    """The scenario of the module docstring, step by step."""

    def __init__(self, lab: Lab, out: Narrator, keepalived: tuple[str, str] | None) -> None:
        self.lab = lab
        self.out = out
        self.agents = Agents(lab, VIP, DEV)
        self.keepalived = keepalived
        self.nodes: dict[str, Keepalived] = {}
        self.result: dict[str, Any] = {
            "ok": False, "mode": "keepalived" if keepalived else "plain",
            "keepalived": keepalived[1] if keepalived else None, "vip": VIP,
            "router": {"ip": ROUTER.ip, "mac": ROUTER.mac},
            "nodes": {h.name: {"ip": h.ip, "mac": h.mac} for h in (NODE_A, NODE_B)},
            "garpd": {"master_repeat": MASTER_REPEAT, "master_delay": MASTER_DELAY},
            "lab": {"prefix": lab.prefix, "namespaces": [], "pids": []},
        }

    # ---- reading the router

    def entry(self) -> Entry | None:
        """The router's neighbour entry for the VIP (``ip -j neigh``), None if none."""
        found = self.lab.neighbours(ROUTER.name, DEV).get(VIP)
        return None if found is None else Entry(*found)

    def ping(self, timeout: float) -> dict[str, Any]:
        """Ping the VIP from the router and wait: ``{"ok": bool, "rtt_ms": float|None}``."""
        tag = self.agents.ping(ROUTER.name, VIP, timeout)
        answer = self.agents.ping_result(tag, timeout + 5.0)
        return {"ok": bool(answer.get("ok")), "rtt_ms": answer.get("rtt_ms")}

    # ---- moving the VIP

    def _vip_event(self, host: Host, op: str, after: float) -> Callable[[str, dict[str, Any]],
                                                                      bool]:
        return lambda h, e: (h == host.name and e.get("e") == "addr" and e.get("op") == op
                             and float(e["t"]) >= after)

    def move(self, src: Host, dst: Host) -> float:
        """Move the VIP from ``src`` to ``dst``; the time it appeared on ``dst``."""
        start = time.monotonic()
        if self.keepalived and src.name in self.nodes:
            if dst.name == NODE_A.name:  # back to the preferred node: restart it, it preempts
                self.nodes[dst.name].start()
            else:                        # fail over: stop keepalived on the master
                self.nodes[src.name].terminate()
        else:
            self.lab.del_address(src.name, f"{VIP}/{PREFIXLEN}", DEV)
            self.lab.add_address(dst.name, f"{VIP}/{PREFIXLEN}", DEV)
        event = self.agents.wait(self._vip_event(dst, "add", start), 15.0,
                                 f"the VIP appearing on {dst.label}")
        deadline = time.monotonic() + 5.0
        while VIP in self.lab.addresses(src.name, DEV):
            if time.monotonic() > deadline:
                raise RuntimeFailureError(f"demo: the VIP stayed on {src.label}")
            time.sleep(0.02)
        return float(event["t"])

    # ---- the steps

    def run(self) -> dict[str, Any]:
        """Run every step; the outcome document (see main)."""
        started = time.monotonic()
        self.intro()
        self.build()
        self.before()
        self.without_garpd()
        self.restore()
        self.with_garpd()
        self.result["duration_s"] = round(time.monotonic() - started, 2)
        return self.result

    def intro(self) -> None:
        """Say what is about to happen."""
        out, s = self.out, self.out.s
        out.line(s("garpd demo", term.BOLD) + ": a VIP fails over from node a to node b, "
                 "first without garpd, then with it")
        out.line(f"  lab     network namespaces {self.lab.prefix}-{{switch,router,a,b}}, "
                 "removed at the end")
        for host in HOSTS:
            out.line(f"  {host.label:<7} {host.ip:<12} {host.mac}")
        out.line(f"  VIP     {VIP}/{PREFIXLEN}")
        if self.keepalived:
            out.line(f"  mover   keepalived {self.keepalived[1]} (VRRP elects the master; its "
                     "notify script moves the VIP")
            out.line("          with `ip addr`, so keepalived sends no GARP for it: the only "
                     "announcements")
            out.line("          on the wire are garpd's; --no-keepalived moves it with plain "
                     "`ip addr`)")
        else:
            out.line("  mover   plain `ip addr del` on one node, `ip addr add` on the other "
                     "(like a script or")
            out.line("          an operator would: nothing announces the move)")
        out.line()

    def build(self) -> None:
        """The namespaces, the bridge, the agents."""
        self.out.step("building the lab…" if self.out.unicode else "building the lab...")
        started = time.monotonic()
        self.result["lab"]["namespaces"] = [self.lab.ns(h) for h in
                                            (SWITCH, *self.lab.hosts)]
        self.lab.open()
        for host in HOSTS:
            self.lab.add_address(host.name, f"{host.ip}/{PREFIXLEN}", DEV)
        self.agents.start(ROUTER.name, capture=True)
        self.agents.start(NODE_A.name, capture=False)
        self.agents.start(NODE_B.name, capture=False)
        self.agents.wait_ready()
        self.out.done(self.out.good, f"lab built in {time.monotonic() - started:.1f} s")

    def _start_keepalived(self) -> bool:
        assert self.keepalived is not None
        self.out.step(f"starting keepalived on node a (priority 150) and node b (priority 100)"
                      f"{'…' if self.out.unicode else '...'}")
        self.nodes = {NODE_A.name: Keepalived(self.lab, self.keepalived[0], NODE_A, 150),
                      NODE_B.name: Keepalived(self.lab, self.keepalived[0], NODE_B, 100)}
        start = time.monotonic()
        for node in self.nodes.values():
            node.start()
        try:
            self.agents.wait(self._vip_event(NODE_A, "add", start), 15.0,
                             "keepalived making node a master")
        except LabError as error:
            exc = f"demo: {error}"
            for node in self.nodes.values():
                node.stop()
            for host in (NODE_A, NODE_B):
                if VIP in self.lab.addresses(host.name, DEV):
                    self.lab.del_address(host.name, f"{VIP}/{PREFIXLEN}", DEV)
            self.out.done(self.out.bad, f"keepalived did not elect node a ({exc}; keepalived "
                          f"said: {self.nodes[NODE_A.name].tail()}); moving the VIP with "
                          "plain `ip addr` instead")
            self.nodes = {}
            self.keepalived = None
            self.result["mode"] = "plain"
            self.result["keepalived_failed"] = exc
            return False
        self.out.done(self.out.good, f"keepalived elected node a in "
                      f"{time.monotonic() - start:.1f} s; its notify script added the VIP")
        return True

    def before(self) -> None:
        """The VIP on node a; the router learns a's MAC by pinging it."""
        if not (self.keepalived and self._start_keepalived()):
            self.lab.add_address(NODE_A.name, f"{VIP}/{PREFIXLEN}", DEV)
        self.out.step("the router pings the VIP…" if self.out.unicode
                      else "the router pings the VIP...")
        reply = self.ping(3.0)
        entry = self.entry()
        self.result["entry_before"] = entry.as_json() if entry else None
        self.result["ping_before"] = reply
        if not reply["ok"] or entry is None or entry.lladdr != NODE_A.mac:
            raise RuntimeFailureError(f"demo: the router could not reach the VIP on node a "
                                      f"(ping ok={reply['ok']}, entry {entry}); the lab's "
                                      "network does not work here")
        self.out.done(self.out.good, self.out.s("1. before", term.BOLD) +
                      f": the VIP is on node a; the router pinged it (reply in "
                      f"{reply['rtt_ms']:.2f} ms) and learned")
        self.out.line(f"     router's entry  {VIP} {self.out.arrow} "
                      f"{self.out.entry(entry, expect=NODE_A)}")

    def without_garpd(self) -> None:
        """Move the VIP to node b with nothing announcing it; watch the router's entry."""
        out, s = self.out, self.out.s
        how = ("keepalived failover: stop keepalived on node a" if self.keepalived
               else "`ip addr del` on node a, `ip addr add` on node b")
        out.line(s("2. without garpd", term.BOLD) + f": move the VIP to node b ({how})")
        cursor = begin = len(self.agents.events)
        t0 = self.move(NODE_A, NODE_B)
        pings: list[dict[str, Any]] = []
        sent: dict[str, float] = {}
        tag: str | None = None
        entry = self.entry()
        while True:
            elapsed = time.monotonic() - t0
            if tag is None and len(sent) < round(STALE_WINDOW) and elapsed >= len(sent):
                tag = self.agents.ping(ROUTER.name, VIP, 0.8)
                sent[tag] = elapsed
            news, cursor = self.agents.read(cursor, 0.05)
            for _host, event in news:
                if tag is not None and event.get("e") == "ping" and event.get("tag") == tag:
                    pings.append(event)
                    answer = (s("answered", term.GREEN) if event["ok"]
                              else s("no reply", term.RED))
                    wrong = (f"  {out.bad} node b has the VIP" if entry is not None
                             and entry.lladdr != NODE_B.mac else "")
                    out.line(f"     +{sent[tag]:3.1f} s  router's entry {out.arrow} "
                             f"{out.entry(entry, expect=NODE_B)}{wrong}  ping: {answer}")
                    tag = None
            entry = self.entry()
            if elapsed >= STALE_WINDOW and tag is None:
                break
            left = max(0.0, STALE_WINDOW - elapsed)
            mac = entry.lladdr if entry is not None else None
            out.step(f"without garpd: {left:3.1f} s left; router's entry {out.arrow} "
                     + out.s(f"{mac} ({who(mac)})", term.BOLD,
                             term.GREEN if mac == NODE_B.mac else term.RED))
        self.agents.pump()
        frames = self.agents.after(begin, "frame", ROUTER.name)
        answered = sum(1 for p in pings if p["ok"])
        self.result["entry_stale"] = {
            **(entry.as_json() if entry else {"lladdr": None, "state": None, "node": None}),
            "seconds": STALE_WINDOW, "pings_sent": len(pings), "pings_answered": answered,
            "announcements_seen": len(frames)}
        stayed = entry is not None and entry.lladdr == NODE_A.mac
        self.result["stale_held"] = stayed
        if stayed:
            out.done(out.bad, f"after {STALE_WINDOW:.1f} s the router still sends the VIP's "
                     f"traffic to node a: {answered} of {len(pings)} pings answered, "
                     f"{len(frames)} announcements seen")
            out.line("     (it stays wrong until the entry expires: 15-45 s on Linux, "
                     "minutes to hours on many switches and routers)")
        else:
            out.done(out.good, f"the router's entry changed without garpd "
                     f"({out.entry(entry, expect=NODE_B)}): something else announced the move")

    def restore(self) -> None:
        """Put the VIP back on node a (the router's entry never left it)."""
        out = self.out
        out.step("putting the VIP back on node a…" if out.unicode
                 else "putting the VIP back on node a...")
        self.move(NODE_B, NODE_A)
        reply = self.ping(3.0)
        entry = self.entry()
        if not reply["ok"] or entry is None or entry.lladdr != NODE_A.mac:
            raise RuntimeFailureError(f"demo: after moving the VIP back to node a the router "
                                      f"cannot reach it (entry {entry})")
        how = ("keepalived on node a restarted and took over" if self.keepalived
               else "`ip addr del` on b, `ip addr add` on a")
        out.done(self.out.s("↺" if out.unicode else "<-", term.CYAN),
                 f"the VIP is back on node a ({how}); the router reaches it again")

    def with_garpd(self) -> None:
        """Start garpd on node b and make the same move; show its frames and the entry."""
        out, s = self.out, self.out.s
        out.step("starting `garpd run` on node b…" if out.unicode
                 else "starting `garpd run` on node b...")
        daemon = GarpdDaemon(self.lab, NODE_B)
        ready = daemon.start()
        out.done(out.good, s("3. with garpd", term.BOLD) + f": `garpd run` on node b, ready in "
                 f"{ready:.1f} s (demo timing: master_repeat {MASTER_REPEAT}, master_delay "
                 f"{MASTER_DELAY:g} s); the same move")
        out.line(f"     {'time since move':>16}  {'frame':<13} {'sender MAC':<17}  reason")
        cursor = len(self.agents.events)
        t0 = self.move(NODE_A, NODE_B)
        timeline = Timeline(t0, NODE_B.mac)
        moved: dict[str, Any] | None = None

        def show(now: float) -> None:
            nonlocal moved
            for kind, event, reason in timeline.ready(now):
                if kind == "frame":
                    label = reason or s("not from garpd", term.YELLOW)
                    out.line(f"     {timeline.ms(event):>13.3f} ms  {frame_type(event):<13} "
                             f"{event['sha']:<17}  {s(label, term.CYAN)}")
                elif event.get("lladdr") is not None:
                    if moved is None and event["lladdr"] == NODE_B.mac:
                        moved = event
                    change = out.entry(Entry(event["lladdr"], event["state"]), expect=NODE_B)
                    out.line(f"     {timeline.ms(event):>13.3f} ms  router's entry "
                             f"{out.arrow} {change}")

        deadline = t0 + MASTER_DELAY + 4.0
        while True:
            news, cursor = self.agents.read(cursor, 0.05)
            for host, event in news:
                if host != ROUTER.name:
                    continue
                if event.get("e") == "frame":
                    timeline.add_frame(event)
                elif event.get("e") == "neigh":
                    timeline.add_change(event)
            for record in daemon.records():
                timeline.add_record(record)
            now = time.monotonic()
            show(now)
            named = sum(1 for f in timeline.frames if f.get("reason"))
            if (named >= 2 * MASTER_REPEAT and moved is not None) or now > deadline:
                break
            out.step(f"with garpd: +{now - t0:.1f} s, {len(timeline.frames)} frames; the "
                     f"master_delay burst is due at +{MASTER_DELAY:g} s")
        show(float("inf"))
        entry = self.entry()  # before the ping, which starts the kernel's own confirmation
        reply = self.ping(3.0)
        self.result["frames"] = [
            {"t_ms": timeline.ms(f), "type": frame_type(f), "mac": f["sha"],
             "reason": f.get("reason")} for f in timeline.frames]
        self.result["entry_after"] = entry.as_json() if entry else None
        self.result["ping_after"] = reply
        ok = entry is not None and entry.lladdr == NODE_B.mac
        self.result["moved"] = ok
        self.result["moved_to"] = entry.lladdr if entry else None
        first = timeline.frames[0] if timeline.frames else None
        self.result["moved_ms"] = (timeline.ms(moved) if moved is not None
                                   else timeline.ms(first) if ok and first is not None else None)
        self.result["ok"] = ok
        answer = (f"answered by node b in {reply['rtt_ms']:.2f} ms" if reply["ok"]
                  else s("no reply", term.RED))
        out.done(out.good if ok else out.bad,
                 f"router's entry  {VIP} {out.arrow} {out.entry(entry, expect=NODE_B)}; "
                 f"ping {answer}")
        if ok and entry is not None and entry.state == "STALE":
            out.line("     (STALE is how Linux files an address learned from an announcement: "
                     "it is used at once and confirmed on first use)")


def verdict(result: dict[str, Any]) -> str:
    """The one-line PASS/FAIL summary of an outcome document."""
    stale = result.get("entry_stale") or {}
    without = (f"without garpd it stayed stale for {stale.get('seconds', STALE_WINDOW):.1f} s"
               if result.get("stale_held") else "without garpd it moved too")
    if result.get("moved"):
        ms = result.get("moved_ms")
        when = f" in {ms:.1f} ms" if isinstance(ms, int | float) else ""
        return (f"PASS: router's entry for {VIP} moved to {result.get('moved_to')}{when} "
                f"({without})")
    after = result.get("entry_after") or {}
    return (f"FAIL: router's entry for {VIP} is {after.get('lladdr')} ({after.get('node')}), "
            f"not node b's {NODE_B.mac}")


# --------------------------------------------------------------------------- entry point


class _Signalled(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so that the lab is removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum: int, _frame: FrameType | None) -> None:
    raise _Signalled(signum)


_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(args: argparse.Namespace) -> int:
    """Run ``garpd demo``; see the module docstring for the exit codes."""
    problem = missing_privileges()
    if problem is not None:
        raise UsageError(problem)
    as_json = bool(getattr(args, "json", False))
    out = Narrator(sys.stderr if as_json else sys.stdout)
    keepalived = None if getattr(args, "no_keepalived", False) else keepalived_binary()
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_signalled)
    if previous[signal.SIGINT] in (signal.SIG_IGN, None):  # e.g. started with `nohup ... &`
        signal.signal(signal.SIGINT, _raise_signalled)
    try:
        leftovers = sweep_leftovers(NS_PREFIX)
    except (OSError, subprocess.SubprocessError) as exc:
        leftovers = []
        out.line(f"(could not look for leftovers of earlier demos: {exc})")
    lab = Lab([h.name for h in HOSTS], macs={h.name: h.mac for h in HOSTS},
              prefix=f"{NS_PREFIX}{os.getpid()}", link_local=False, term_timeout=_TERM_TIMEOUT)
    if leftovers:
        out.line(f"removed {len(leftovers)} namespaces left by an earlier demo that was "
                 f"killed: {', '.join(leftovers)}")
    demo = Demo(lab, out, keepalived)
    code = EXIT_RUNTIME
    error: str | None = None
    interrupted: int | None = None
    try:
        result = demo.run()
        code = EXIT_OK if result.get("moved") else EXIT_RUNTIME
    except KeyboardInterrupt:
        interrupted = signal.SIGINT
    except _Signalled as exc:
        interrupted = exc.signum
    except CommandFailed as exc:
        error, code = _command_failed(exc)
    except LabError as exc:
        error = f"demo: {exc}"
    except (RuntimeFailureError, OSError, subprocess.SubprocessError) as exc:
        error = str(exc)
    except Exception as exc:  # a bug: still clean up, and say what broke in one line
        error = f"demo failed unexpectedly: {type(exc).__name__}: {exc}"
    finally:
        for sig in _SIGNALS:  # a second Ctrl-C must not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        out.live.done()
        if interrupted is not None:
            out.line(f"interrupted ({signal.Signals(interrupted).name}): removing the lab…"
                     if out.unicode else "interrupted: removing the lab...")
        report = lab.teardown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    result = demo.result
    result["lab"]["pids"] = report.pids
    result["cleanup"] = report.as_json()
    if interrupted is not None:
        result.update(ok=False, interrupted=signal.Signals(interrupted).name)
        code = 128 + interrupted
    if error is not None:
        result.update(ok=False, error=error)
    mark = out.good if report.ok else out.bad
    out.line(f"{mark} cleaned up: removed {len(report.namespaces)} namespaces, stopped "
             f"{len(report.pids)} processes, deleted the temporary files"
             + ("" if report.ok else f"; LEFT: {report.namespaces_left} "
                f"{report.processes_left}"))
    if not report.ok and code == EXIT_OK:
        code = EXIT_RUNTIME
    if interrupted is None and error is None:
        line = verdict(result)
        result["verdict"] = line
        out.line(out.s(line, term.BOLD, term.GREEN if result.get("moved") else term.RED))
    if as_json:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
    if error is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"garpd: {error}\n")
    return code
