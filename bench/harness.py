"""The benchmark's test bench: owns the lab topology, the tools under comparison (garpd, the
C floor, keepalived, arping) and the processes it starts, and stops them all by PID.

Topology (garpd.lab.netns.Lab): a bridge in its own namespace, a *sender* namespace whose eth0
carries the addresses and runs whichever sender is being measured, and a *peer* namespace
where one kernel-timestamped capture socket (bench.netns.ArpCapture) sees every frame as
a neighbour on the LAN would.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.netns import AddressClient, ArpCapture
from garpd.lab.common import BRIDGE, SWITCH, wait_for
from garpd.lab.netns import Lab, inside

REPO_ROOT = Path(__file__).resolve().parent.parent
SENDER = "sender"
PEER = "peer"
DEV = "eth0"
#: The sender's own (unwatched) address, so keepalived has a primary IPv4 address.
PRIMARY = "192.0.2.2/24"
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
ARPING = shutil.which("arping") or "/usr/bin/arping"
GCC = shutil.which("gcc") or shutil.which("cc")


def addresses(first: str, count: int) -> list[str]:
    """``count`` consecutive IPv4 addresses from ``first``."""
    base = ipaddress.IPv4Address(first)
    return [str(base + i) for i in range(count)]


def garpd_argv() -> list[str]:
    """How a hook or an operator starts garpd: the venv's console script, else -m garpd."""
    script = Path(sys.executable).with_name("garpd")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "garpd"]


def child_env() -> dict[str, str]:
    """The environment of every child: this one, with the repository on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH"))
                                        if p)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    return env


def stop_pid(proc: subprocess.Popen[Any], timeout: float = 30.0) -> int | None:
    """SIGTERM ``proc`` by its PID, wait, SIGKILL if it lingers; its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


@dataclass
class Daemon:
    """One ``garpd run`` in the sender namespace with its files."""

    proc: subprocess.Popen[bytes]
    config: Path
    socket: Path
    log: Path

    @property
    def pid(self) -> int:
        """The daemon's PID (``ip netns exec`` execs it)."""
        return self.proc.pid

    def status(self) -> dict[str, Any]:
        """The daemon's status document (over the control socket)."""
        from garpd.control import request  # noqa: PLC0415 - only for running daemons

        return request(self.socket, {"command": "status"}, timeout=10.0)

    def proc_status(self) -> dict[str, str]:
        """/proc/PID/status as a dict."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = value.strip()
        return out

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MiB."""
        st = self.proc_status()
        return int(st["VmRSS"].split()[0]) / 1024, int(st["VmHWM"].split()[0]) / 1024

    def cpu_and_switches(self) -> tuple[float, int, int]:
        """(CPU seconds used so far, context switches of every thread, thread count)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        switches = 0
        tasks = list(Path(f"/proc/{self.pid}/task").iterdir())
        for task in tasks:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split(":")[1])
        return cpu, switches, len(tasks)

    def log_events(self, event: str) -> int:
        """How many log records named ``event`` the daemon wrote so far."""
        needle = f'"event": "{event}"'
        return sum(1 for line in self.log.read_text(errors="replace").splitlines()
                   if needle in line)


class Bench:
    """The lab, the capture, the address client and the scratch directory of one run."""

    def __init__(self, lab: Lab, workdir: Path, log: Any) -> None:
        self.lab = lab
        self.workdir = workdir
        self.say = log
        self.mac = lab.mac(SENDER)
        self.sender_ns = lab.ns(SENDER)
        self.capture = ArpCapture(lab.ns(PEER), DEV)
        self.nl = AddressClient(self.sender_ns, DEV)
        self.floor: Path | None = None
        self.floor_error = ""
        self._daemons: list[Daemon] = []
        self._procs: list[subprocess.Popen[Any]] = []
        lab.run(SENDER, "ip", "addr", "add", PRIMARY, "dev", DEV)

    # ------------------------------------------------------------------ tools

    def build_floor(self) -> Path | None:
        """Compile bench/c/garp_floor.c with gcc -O2 into the scratch directory."""
        if self.floor is not None or self.floor_error:
            return self.floor
        if GCC is None:
            self.floor_error = "no C compiler"
            return None
        out = self.workdir / "garp_floor"
        proc = subprocess.run([GCC, "-O2", "-Wall", "-o", str(out),
                               str(REPO_ROOT / "bench" / "c" / "garp_floor.c")],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            self.floor_error = f"gcc failed: {proc.stderr.strip()[:200]}"
            return None
        self.floor = out
        return out

    @staticmethod
    def have(tool: str) -> bool:
        """Whether an external tool is installed and executable."""
        return os.access(tool, os.X_OK)

    # ------------------------------------------------------------------ addresses

    def batch(self, verb: str, addrs: list[str]) -> float:
        """``ip -batch`` ``addr VERB A/32 dev eth0`` for every address; its duration."""
        path = self.workdir / f"batch-{verb}.txt"
        path.write_text("".join(f"addr {verb} {a}/32 dev {DEV}\n" for a in addrs))
        start = time.monotonic()
        subprocess.run(["ip", "-n", self.sender_ns, "-force", "-batch", str(path)],
                       capture_output=True, check=False, timeout=300)
        return time.monotonic() - start

    def spawn_batch(self, verb: str, addrs: list[str]) -> tuple[float, subprocess.Popen[bytes]]:
        """Start ``ip -batch`` (like :meth:`batch`) and return (start time, process)."""
        path = self.workdir / f"batch-{verb}.txt"
        path.write_text("".join(f"addr {verb} {a}/32 dev {DEV}\n" for a in addrs))
        argv = ["ip", "-n", self.sender_ns, "-batch", str(path)]
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return start, proc

    def held_count(self, network: str) -> int:
        """How many addresses inside ``network`` eth0 holds now."""
        out = self.lab.run(SENDER, "ip", "-4", "-o", "addr", "show", "dev", DEV, "to",
                           network).stdout
        return sum(1 for line in out.splitlines() if line.strip())

    def flush(self, network: str) -> None:
        """Remove every address inside ``network`` from eth0."""
        self.lab.run(SENDER, "ip", "addr", "flush", "dev", DEV, "to", network, check=False)

    def path_drops(self) -> dict[str, int]:
        """Drop counters along the path (compare two readings): the kernel's per-CPU
        backlog drops (/proc/net/softnet_stat, host-wide) and the dropped counters of the
        sender's eth0, both bridge ports and the peer's eth0."""
        softnet = 0
        for line in Path("/proc/net/softnet_stat").read_text().splitlines():
            fields = line.split()
            if len(fields) > 1:
                softnet += int(fields[1], 16)
        out = {"softnet_backlog": softnet}
        for host in (SENDER, SWITCH, PEER):
            doc = json.loads(self.lab.run(host, "ip", "-s", "-j", "link", "show").stdout)
            for link in doc:
                name = link.get("ifname", "")
                if name in ("lo", BRIDGE):
                    continue
                stats = link.get("stats64", {})
                for way in ("rx", "tx"):
                    out[f"{host}/{name}/{way}"] = int(stats.get(way, {}).get("dropped", 0))
        return out

    def drops_since(self, before: dict[str, int]) -> dict[str, int]:
        """The counters of :meth:`path_drops` that grew since ``before``, by how much."""
        now = self.path_drops()
        return {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)}

    # ------------------------------------------------------------------ processes

    def spawn_inside(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the sender namespace, inherited from this thread (no ``ip netns
        exec`` in between, so the start-up measured is the command's own)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        kwargs.setdefault("env", child_env())
        with inside(self.sender_ns):
            proc: subprocess.Popen[bytes] = subprocess.Popen(argv, **kwargs)
        self._procs.append(proc)
        return proc

    def start_daemon(self, tag: str, toml: str, timeout: float = 60.0) -> Daemon:
        """Write ``garpd-TAG.toml`` and start ``garpd run`` on it; wait for the control socket."""
        from garpd.control import Unreachable, request  # noqa: PLC0415

        sock = self.workdir / f"garpd-{tag}.sock"
        config = self.workdir / f"garpd-{tag}.toml"
        config.write_text(toml.replace("@SOCKET@", str(sock)))
        log = self.workdir / f"garpd-{tag}.log"
        with log.open("wb") as err:
            proc: subprocess.Popen[bytes] = self.lab.popen(
                SENDER, *garpd_argv(), "--log-format", "json", "run", "-c", str(config),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                env=child_env())
        daemon = Daemon(proc, config, sock, log)
        self._daemons.append(daemon)

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"garpd run exited rc={proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            try:
                return bool(request(sock, {"command": "ping"}, timeout=1.0).get("ok"))
            except Unreachable:
                return False

        wait_for(ready, timeout, 0.02, message=f"garpd {tag} answering")
        return daemon

    def stop_daemon(self, daemon: Daemon) -> None:
        """Stop a daemon by PID."""
        stop_pid(daemon.proc)

    def close(self) -> None:
        """Stop every process this bench started (by PID) and close its sockets."""
        for daemon in self._daemons:
            stop_pid(daemon.proc, 10.0)
        for proc in self._procs:
            stop_pid(proc, 10.0)
        self.capture.close()
        self.nl.close()
