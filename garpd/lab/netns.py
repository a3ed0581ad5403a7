"""Network namespaces for the lab: owns building, driving and tearing down a throwaway
Ethernet segment (:class:`Lab`), the sweep of what killed runs left (:func:`sweep_leftovers`),
whether labs can run here (:func:`lab_unavailable_reason`) and entering a namespace from
this process (:func:`inside`).

Topology built by ``Lab(hosts=["a", "b", "peer"])``::

    <prefix>-switch : br0 (Linux bridge, STP off, forward_delay 0, multicast snooping off,
                      IPv6 disabled so the switch itself never sends anything)
                      ports p0-a, p1-b, p2-peer
    <prefix>-a      : lo, eth0 (02:00:00:00:00:02)  <-veth->  p0-a
    <prefix>-b      : lo, eth0 (02:00:00:00:00:03)  <-veth->  p1-b
    ...

Every interface is created inside a lab namespace (``ip -n``), so nothing touches the
host's own network stack. Hosts never send router solicitations (there are no routers
here). The prefix is unique per lab (``gd<pid>x<random>`` unless given; it starts with the
owner's PID, which is how :func:`sweep_leftovers` knows a lab's owner is gone).

The lab uses documentation / benchmarking ranges only (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32) plus IPv6 link-local; the address helpers
refuse anything else.

Clean-up (:meth:`Lab.close` / :meth:`Lab.teardown`, context-manager exit, or the atexit
fallback) always: stops captures, closes the stdin of and terminates every process
started through the lab (SIGTERM to its process group, SIGKILL after ``term_timeout``),
kills by PID whatever is still inside a lab namespace, deletes the namespaces and the
lab's temporary directory, and checks that they are gone.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from garpd.lab.capture import Capture
from garpd.lab.common import (
    BRIDGE,
    ETH_P_ARP,
    ETH_P_IPV6,
    HOST_DEV,
    SWITCH,
    CommandFailed,
    LabError,
    agent_argv,
    check_lab_address,
    child_env,
    normalize_mac,
    run,
    wait_for,
)

CLONE_NEWNET: Final = 0x40000000
_HOST_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")


# --------------------------------------------------------------------------- processes


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie is gone for every purpose but its exit status)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def netns_list() -> list[str]:
    """Names of the network namespaces ``ip netns`` knows."""
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    """PIDs of the processes inside namespace ``name`` (not this one)."""
    out = run(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def kill_pids(pids: Iterable[int], timeout: float) -> None:
    """SIGTERM ``pids``, SIGKILL those still alive after ``timeout``; wait for them."""
    left = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while any(alive(p) for p in left) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = [p for p in left if alive(p)]
        if not left:
            return


def sweep_leftovers(base: str) -> list[str]:
    """Remove the namespaces (and temporary directories) of labs named ``<base><pid>...``
    whose owner ``pid`` is gone (killed outright); the names removed."""
    removed: list[str] = []
    pattern = re.compile(rf"^{re.escape(base)}(\d+)(?:x[0-9a-f]+)?-")
    for name in netns_list():
        match = pattern.match(name)
        if match is None or int(match.group(1)) == os.getpid() or alive(int(match.group(1))):
            continue
        kill_pids(netns_pids(name), 1.0)
        run(["ip", "netns", "del", name], check=False)
        removed.append(name)
    for path in Path(tempfile.gettempdir()).glob(f"{base}*"):
        match = pattern.match(path.name)
        if match and int(match.group(1)) != os.getpid() and not alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
    return removed


# --------------------------------------------------------------------------- availability


@functools.cache
def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here (None if it can). Probes once per process."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "needs root (network namespaces, AF_PACKET sockets)"
    for tool in ("ip", "sysctl"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found on PATH (iproute2 / procps)"
    probe = f"gdprobe{os.getpid()}x{secrets.token_hex(2)}"
    try:
        run(["ip", "netns", "add", probe])
    except (CommandFailed, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` failed: {exc}"
    try:
        run(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
    except (CommandFailed, OSError, subprocess.TimeoutExpired) as exc:
        return f"bridge/veth unusable inside a namespace: {exc}"
    finally:
        run(["ip", "netns", "del", probe], check=False)
    return None


# --------------------------------------------------------------------------- entering


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the body with the calling thread in network namespace ``namespace``.

    A socket belongs to the namespace it was created in, wherever its owner goes later;
    a child started in the body inherits the namespace without ``ip netns exec``.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(Path("/run/netns") / namespace, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


# --------------------------------------------------------------------------- the lab


@dataclass
class Cleanup:
    """What tearing a lab down did, and anything that survived it."""

    namespaces: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    namespaces_left: list[str] = field(default_factory=list)
    processes_left: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing survived and nothing failed."""
        return not self.namespaces_left and not self.processes_left and not self.problems

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object (``garpd demo --json``)."""
        return {"ok": self.ok, "namespaces_removed": self.namespaces,
                "processes_stopped": len(self.pids),
                "namespaces_left": self.namespaces_left, "processes_left": self.processes_left}


class Lab:
    """A switch namespace with bridge br0 and one namespace per host, each with eth0 on it.

    Options:
      macs:         host -> MAC for eth0; default 02:00:00:00:00:NN, NN = index + 2 (hex).
      accept_dad:   if not None, net.ipv6.conf.{all,default,eth0}.accept_dad on every host
                    (0 = no DAD, addresses usable at once).
      locktime:     if not None, net.ipv{4,6}.neigh.eth0.locktime on every host, in
                    USER_HZ ticks (1/100 s) as the sysctl takes it; 0 lets every ARP/NA
                    update a neighbour entry immediately.
      sysctls:      extra `key: value` sysctls applied to every host after the above.
      term_timeout: seconds between SIGTERM and SIGKILL at cleanup.
      prefix:       the namespaces' common prefix (default ``gd<pid>x<random>``); it must
                    start with something then the owner's PID for :func:`sweep_leftovers`.
      link_local:   False gives host interfaces no IPv6 link-local address (addrgenmode
                    none): an IPv4-only host that sends nothing of its own over IPv6.

    Use it as a context manager (or :meth:`open`, then :meth:`close` / :meth:`teardown`).
    ``workdir`` is a temporary directory removed at clean-up; ``env`` the environment of
    the lab's own helper processes (garpd importable, no systemd service variables).
    """

    def __init__(
        self,
        hosts: Sequence[str] = ("a", "b"),
        *,
        macs: Mapping[str, str] | None = None,
        accept_dad: int | None = None,
        locktime: int | None = None,
        sysctls: Mapping[str, str | int] | None = None,
        term_timeout: float = 5.0,
        prefix: str | None = None,
        link_local: bool = True,
    ) -> None:
        if not hosts:
            raise LabError("a lab needs at least one host")
        if len(hosts) > 250:
            raise LabError("at most 250 hosts")
        if len(set(hosts)) != len(hosts):
            raise LabError(f"duplicate host names: {list(hosts)}")
        for host in hosts:
            if not _HOST_RE.match(host) or host == SWITCH:
                raise LabError(f"bad host name {host!r} (letters/digits/_, <=20, not 'switch')")
        unknown = set(macs or {}) - set(hosts)
        if unknown:
            raise LabError(f"macs given for unknown hosts: {sorted(unknown)}")
        self.hosts: tuple[str, ...] = tuple(hosts)
        self.prefix = prefix or f"gd{os.getpid()}x{secrets.token_hex(2)}"
        self._macs = {h: f"02:00:00:00:00:{i + 2:02x}" for i, h in enumerate(self.hosts)}
        self._macs.update({h: normalize_mac(m) for h, m in (macs or {}).items()})
        self.accept_dad = accept_dad
        self.locktime = locktime
        self.sysctls: dict[str, str] = {k: str(v) for k, v in (sysctls or {}).items()}
        self.term_timeout = term_timeout
        self.link_local = link_local
        self.env = child_env()
        self.workdir = Path(tempfile.gettempdir()) / f"{self.prefix}-unopened"
        self._created: list[str] = []
        self._procs: list[subprocess.Popen[Any]] = []
        self._pids: set[int] = set()
        self._captures: list[Capture] = []
        self._report: Cleanup | None = None
        self._state = "new"  # new -> open -> closed

    # ------------------------------------------------------------------ naming

    @property
    def namespaces(self) -> list[str]:
        """Names of every namespace this lab created (switch first)."""
        return list(self._created)

    def ns(self, host: str) -> str:
        """Namespace name of `host` (or of the switch for "switch")."""
        if host != SWITCH and host not in self.hosts:
            raise LabError(f"unknown host {host!r}; hosts are {self.hosts}")
        return f"{self.prefix}-{host}"

    def mac(self, host: str) -> str:
        """MAC address of `host`'s eth0."""
        if host not in self.hosts:
            raise LabError(f"unknown host {host!r}; hosts are {self.hosts}")
        return self._macs[host]

    def port(self, host: str) -> str:
        """Name of the bridge port (in the switch namespace) that `host`'s eth0 plugs into."""
        if host not in self.hosts:
            raise LabError(f"unknown host {host!r}; hosts are {self.hosts}")
        return f"p{self.hosts.index(host)}-{host}"[:15]

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> Self:
        """Build the lab (once); on failure what was built is removed and the error raised."""
        if self._state != "new":
            raise LabError("a Lab can be opened only once")
        self._state = "open"
        atexit.register(self.teardown)
        try:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
            self._build()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise
        return self

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except Exception as cleanup_error:
            if exc is None:
                raise
            exc.add_note(f"lab cleanup also failed: {cleanup_error}")

    def ip(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``ip -n NS ARGS`` for ``host``'s namespace; CommandFailed if it fails."""
        return run(["ip", "-n", self.ns(host), *args], check=check)

    def _add_namespace(self, host: str) -> None:
        name = self.ns(host)
        self._created.append(name)  # recorded first: teardown deletes it whatever happens
        run(["ip", "netns", "add", name])

    def _build(self) -> None:
        self._add_namespace(SWITCH)
        self.sysctl(
            SWITCH,
            {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"},
        )
        self.ip(SWITCH, "link", "set", "lo", "up")
        self.ip(SWITCH, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0",
                "stp_state", "0", "mcast_snooping", "0")
        self.ip(SWITCH, "link", "set", BRIDGE, "up")
        for host in self.hosts:
            self._add_namespace(host)
            port = self.port(host)
            self.ip(SWITCH, "link", "add", port, "type", "veth",
                    "peer", "name", HOST_DEV, "netns", self.ns(host))
            self.ip(SWITCH, "link", "set", port, "master", BRIDGE)
            self.sysctl(host, self._host_sysctls())
            self.ip(host, "link", "set", HOST_DEV, "address", self._macs[host])
            if not self.link_local:
                self.ip(host, "link", "set", HOST_DEV, "addrgenmode", "none")
            self.ip(host, "link", "set", "lo", "up")
            self.ip(host, "link", "set", HOST_DEV, "up")
            self.ip(SWITCH, "link", "set", port, "up")
        for host in self.hosts:
            wait_for(functools.partial(self._is_up, host), 10.0,
                     message=f"{host}/{HOST_DEV} operationally up")

    def _host_sysctls(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for scope in ("default", HOST_DEV):
            values[f"net.ipv6.conf.{scope}.router_solicitations"] = "0"
        if self.accept_dad is not None:
            for scope in ("all", "default", HOST_DEV):
                values[f"net.ipv6.conf.{scope}.accept_dad"] = str(self.accept_dad)
        if self.locktime is not None:
            for family in ("ipv4", "ipv6"):  # neigh/default has no locktime
                values[f"net.{family}.neigh.{HOST_DEV}.locktime"] = str(self.locktime)
        values.update(self.sysctls)
        return values

    def _is_up(self, host: str) -> bool:
        info = json.loads(self.ip(host, "-j", "link", "show", "dev", HOST_DEV).stdout)
        return bool(info) and info[0].get("operstate") == "UP"

    def close(self) -> None:
        """Tear everything down (idempotent); raise LabError if anything survived or failed
        (the first time only)."""
        first = self._report is None
        report = self.teardown()
        if first and not report.ok:
            problems = list(report.problems)
            if report.namespaces_left:
                problems.append(f"namespaces not removed: {report.namespaces_left}")
            if report.processes_left:
                problems.append(f"processes still running: {report.processes_left}")
            raise LabError("lab cleanup: " + "; ".join(problems))

    def teardown(self) -> Cleanup:
        """Tear everything down (idempotent, never raises); what was done and what survived."""
        if self._report is not None:
            return self._report
        report = self._report = Cleanup()
        self._state = "closed"
        atexit.unregister(self.teardown)
        for cap in reversed(self._captures):
            try:
                cap.stop(timeout=self.term_timeout)
            except Exception as exc:  # cleanup must carry on
                report.problems.append(f"capture {cap.host}/{cap.dev}: {exc}")
        self._terminate_processes()
        listed = set(netns_list())
        for name in reversed(self._created):
            if name in listed:
                pids = netns_pids(name)
                self._pids.update(pids)
                kill_pids(pids, self.term_timeout)
        for name in reversed(self._created):
            if name in listed or Path("/run/netns", name).exists():
                run(["ip", "netns", "del", name], check=False)
                report.namespaces.append(name)
        leftover = self._surviving_namespaces()
        for name in leftover:  # one retry, e.g. if a mount was briefly busy
            run(["ip", "netns", "del", name], check=False)
        report.namespaces_left = self._surviving_namespaces()
        report.pids = sorted(self._pids)
        report.processes_left = [p for p in report.pids if alive(p)]
        if self.workdir.is_dir():
            shutil.rmtree(self.workdir, ignore_errors=True)
        return report

    def _surviving_namespaces(self) -> list[str]:
        listed = set(netns_list())
        return [n for n in self._created if n in listed or Path("/run/netns", n).exists()]

    def _signal_proc(self, proc: subprocess.Popen[Any], sig: signal.Signals) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(proc.pid) == proc.pid:  # its own group (start_new_session)
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    def _terminate_processes(self) -> None:
        for proc in self._procs:
            if proc.stdin is not None:  # a helper reading its stdin ends on EOF
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            self._signal_proc(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.term_timeout
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            self._signal_proc(proc, signal.SIGKILL)
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(self.term_timeout)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    # ------------------------------------------------------------------ running things

    def _require_open(self) -> None:
        if self._state != "open":
            raise LabError(f"lab is {self._state}, not open (use it inside `with Lab(...)`)")

    def run(
        self,
        host: str,
        *argv: str,
        check: bool = True,
        timeout: float = 60.0,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside `host`'s namespace and wait; text stdout/stderr are captured.

        With check=True a non-zero exit raises CommandFailed (a CalledProcessError whose
        str() shows the output); subprocess.TimeoutExpired propagates after killing it.
        run() waits for EOF on stdout/stderr, so anything argv leaves running in the
        background must not inherit them (redirect it, or use popen()).
        """
        self._require_open()
        return run(["ip", "netns", "exec", self.ns(host), *argv], check=check,
                   timeout=timeout, input_text=input_text, env=env)

    def popen(self, host: str, *argv: str, **kwargs: Any) -> subprocess.Popen[Any]:
        """Start argv inside `host`'s namespace; cleanup terminates it (and its group).

        kwargs go to subprocess.Popen; start_new_session defaults to True so the whole
        process group can be signalled. `ip netns exec` execs argv, so .pid is argv's PID.
        """
        self._require_open()
        kwargs.setdefault("start_new_session", True)
        proc: subprocess.Popen[Any] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), *argv], **kwargs
        )
        self._procs.append(proc)
        self._pids.add(proc.pid)
        return proc

    def sysctl(self, host: str, values: Mapping[str, str | int]) -> None:
        """Set sysctls inside `host`'s namespace (network sysctls are per namespace)."""
        if values:
            run(["ip", "netns", "exec", self.ns(host), "sysctl", "-q", "-w",
                 *(f"{k}={v}" for k, v in values.items())])

    # ------------------------------------------------------------------ addresses

    def add_address(
        self, host: str, address: str, dev: str = HOST_DEV, *, timeout: float = 15.0
    ) -> None:
        """Add `address` ("192.0.2.11/24", "2001:db8::11/64") and wait until it is usable.

        For IPv6 this waits for DAD to finish (instant with accept_dad=0) and raises
        LabError if DAD failed.
        """
        self._require_open()
        check_lab_address(address)
        self.ip(host, "addr", "add", address, "dev", dev)
        ip = ipaddress.ip_interface(address).ip
        if ip.version == 6:
            wait_for(lambda: self._address_ready(host, dev, str(ip)), timeout,
                     message=f"{address} on {host}/{dev} leaving DAD")

    def _address_info(self, host: str, dev: str) -> list[dict[str, Any]]:
        links = json.loads(self.ip(host, "-j", "addr", "show", "dev", dev).stdout or "[]")
        return [info for link in links for info in link.get("addr_info", [])]

    def _address_ready(self, host: str, dev: str, address: str) -> bool:
        for info in self._address_info(host, dev):
            if info.get("local") != address:
                continue
            if info.get("dadfailed"):
                raise LabError(f"DAD failed for {address} on {host}/{dev}")
            return not info.get("tentative", False)
        return False

    def addresses(self, host: str, dev: str = HOST_DEV) -> list[str]:
        """The addresses (without prefix length) on `host`'s `dev` now."""
        self._require_open()
        return [str(info["local"]) for info in self._address_info(host, dev)
                if "local" in info]

    def del_address(self, host: str, address: str, dev: str = HOST_DEV) -> None:
        """Remove `address` (with its prefix length, as added) from `host`'s `dev`."""
        self._require_open()
        self.ip(host, "addr", "del", address, "dev", dev)

    # ------------------------------------------------------------------ neighbours

    def neighbours(
        self, host: str, dev: str = HOST_DEV
    ) -> dict[str, tuple[str | None, str]]:
        """address -> (lladdr or None, state) from `ip -j neigh show dev DEV`.

        State is the kernel's upper-case NUD name ("STALE", "REACHABLE", ...), several
        joined with "," if the kernel reports more than one.
        """
        self._require_open()
        entries = json.loads(self.ip(host, "-j", "neigh", "show", "dev", dev).stdout or "[]")
        return {
            str(e["dst"]): (e.get("lladdr"), ",".join(e.get("state", [])))
            for e in entries
        }

    def set_neighbour(
        self, host: str, ip: str, mac: str, state: str = "stale", dev: str = HOST_DEV
    ) -> None:
        """Plant a neighbour entry (`ip neigh replace IP lladdr MAC nud STATE dev DEV`)."""
        self._require_open()
        check_lab_address(ip)
        self.ip(host, "neigh", "replace", ip, "lladdr", normalize_mac(mac),
                "nud", state, "dev", dev)

    def flush_neighbours(self, host: str, dev: str = HOST_DEV) -> None:
        """Forget every neighbour entry on `host`'s `dev`."""
        self._require_open()
        self.ip(host, "neigh", "flush", "dev", dev)

    # ------------------------------------------------------------------ traffic

    def capture(
        self,
        host: str,
        dev: str = HOST_DEV,
        ethertypes: Iterable[int] | None = (ETH_P_ARP, ETH_P_IPV6),
        *,
        outgoing: bool = False,
        idle: bool = False,
        drain_after: float = 0.0,
    ) -> Capture:
        """Start capturing frames `host` receives on `dev` (None keeps every ethertype);
        with `outgoing`, the frames `host` sends on `dev` instead, each timed when the
        kernel handed it to the device; with `idle`, the capture runs under SCHED_IDLE
        (it never preempts the process under test); with `drain_after`, it reads what is
        queued that many seconds after a frame wakes it (after the burst, not during it;
        the timestamps are the kernel's either way)."""
        self._require_open()
        cap = Capture(self.popen, host, dev, ethertypes, self.env, outgoing=outgoing,
                      idle=idle, drain_after=drain_after)
        self._captures.append(cap)
        return cap.start()

    def send_raw(
        self, host: str, frames: bytes | Sequence[bytes], *, count: int = 1, dev: str = HOST_DEV
    ) -> None:
        """Send raw Ethernet frame(s) out of `host`'s `dev`, the whole sequence `count` times."""
        batch = [frames] if isinstance(frames, bytes) else list(frames)
        self.run(host, *agent_argv("send", "--dev", dev, "--count", str(count)),
                 input_text="\n".join(f.hex() for f in batch) + "\n", timeout=300.0,
                 env=self.env)

    def ping(self, host: str, address: str, timeout: float = 10.0) -> bool:
        """True if `address` answers an ICMP/ICMPv6 echo from `host` within `timeout`."""
        check_lab_address(address)
        proc = self.run(host, *agent_argv("ping", "--timeout", str(timeout), address),
                        check=False, timeout=timeout + 30.0, env=self.env)
        return proc.returncode == 0
