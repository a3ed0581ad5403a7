"""Network-namespace test lab for garpd: owns building, driving and tearing down a throwaway
Ethernet segment, capturing frames on it, and decoding ARP / IPv6 ND frames for assertions.

Topology built by `Lab(hosts=["a", "b", "peer"])`::

    <prefix>-switch : br0 (Linux bridge, STP off, forward_delay 0, multicast snooping off,
                      IPv6 disabled so the switch itself never sends anything)
                      ports p0-a, p1-b, p2-peer
    <prefix>-a      : lo, eth0 (02:00:00:00:00:02)  <-veth->  p0-a
    <prefix>-b      : lo, eth0 (02:00:00:00:00:03)  <-veth->  p1-b
    ...

Every interface is created inside a lab namespace (`ip -n`), so nothing touches the host's
own network stack. Hosts never send router solicitations (there are no routers here).

The lab uses documentation / benchmarking ranges only (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32) plus IPv6 link-local; the address helpers
refuse anything else.

Cleanup (context-manager exit, `close()`, or the atexit fallback) always: stops captures,
terminates every process started through the lab (SIGTERM to its process group, SIGKILL
after `term_timeout`), kills by PID whatever is still inside a lab namespace, deletes the
namespaces and checks that they are gone.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Protocol, Self, TypedDict, TypeVar

T = TypeVar("T")

SWITCH: Final = "switch"
BRIDGE: Final = "br0"
HOST_DEV: Final = "eth0"
ETH_P_IP: Final = 0x0800
ETH_P_ARP: Final = 0x0806
ETH_P_IPV6: Final = 0x86DD
BROADCAST_MAC: Final = "ff:ff:ff:ff:ff:ff"
HELPER: Final = Path(__file__).resolve().with_name("capture_helper.py")
ALLOWED_NETWORKS: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "198.18.0.0/15",
        "2001:db8::/32",
        "fe80::/10",
    )
)
_HOST_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
_MAC_RE: Final = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_CMD_TIMEOUT: Final = 30.0


class LabError(RuntimeError):
    """The lab could not be built, driven or torn down as asked."""


class CommandFailed(subprocess.CalledProcessError):
    """A command run by the lab exited non-zero; str() includes its output."""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\n  stdout: {str(self.stdout or '').strip()}"
            f"\n  stderr: {str(self.stderr or '').strip()}"
        )


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = _CMD_TIMEOUT,
         input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, check=False, timeout=timeout, input=input_text
    )
    if check and proc.returncode != 0:
        raise CommandFailed(proc.returncode, list(argv), proc.stdout, proc.stderr)
    return proc


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy and return that value.

    Raises TimeoutError (with `message` and the last value) after `timeout` seconds. Use a
    generous timeout: this is for "eventually", never for asserting timings.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            raise TimeoutError(f"not true after {timeout:.1f}s: {what} (last value: {value!r})")
        time.sleep(interval)


def check_lab_address(address: str) -> None:
    """Raise LabError unless `address` (bare or with /prefix) is in a range the lab may use."""
    ip = ipaddress.ip_interface(address).ip
    if not any(ip.version == net.version and ip in net for net in ALLOWED_NETWORKS):
        raise LabError(f"{address} is outside the lab's documentation/benchmark ranges")


def normalize_mac(mac: str) -> str:
    """Return `mac` lower-cased, or raise LabError if it is not aa:bb:cc:dd:ee:ff."""
    low = mac.lower()
    if not _MAC_RE.match(low):
        raise LabError(f"not a MAC address: {mac!r}")
    return low


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
        _run(["ip", "netns", "add", probe])
    except (CommandFailed, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` failed: {exc}"
    try:
        _run(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
    except (CommandFailed, OSError, subprocess.TimeoutExpired) as exc:
        return f"bridge/veth unusable inside a namespace: {exc}"
    finally:
        _run(["ip", "netns", "del", probe], check=False)
    return None


def require_lab() -> None:
    """Skip the calling test if the lab cannot run; fail instead if GARPD_REQUIRE_LAB=1."""
    reason = lab_unavailable_reason()
    if reason is None:
        return
    import pytest  # noqa: PLC0415 - keep lab.py importable without pytest

    if os.environ.get("GARPD_REQUIRE_LAB") == "1":
        pytest.fail(f"GARPD_REQUIRE_LAB=1 but the namespace lab is unavailable: {reason}",
                    pytrace=False)
    pytest.skip(f"namespace lab unavailable: {reason} (GARPD_REQUIRE_LAB=1 makes this a failure)")


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Frame:
    """One captured Ethernet frame; `t` is time.monotonic() in the capture process."""

    t: float
    data: bytes

    def decode(self) -> Decoded:
        """Shorthand for decode(self.data)."""
        return decode(self.data)


class Decoded(TypedDict, total=False):
    """What decode() found; which keys exist depends on the frame (see decode)."""

    ethertype: int
    eth_dst: str
    eth_src: str
    # ARP (Ethernet/IPv4 only)
    op: int
    sha: str
    spa: str
    tha: str
    tpa: str
    # IPv6
    src: str
    dst: str
    hop_limit: int
    next_header: int
    # ICMPv6
    icmp_type: int
    icmp_code: int
    icmp_checksum_ok: bool
    # NA (136) flags; NA/NS (135) target and link-layer address options
    flag_r: bool
    flag_s: bool
    flag_o: bool
    target: str
    tlla: str | None
    slla: str | None


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(int(x) for x in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def decode(frame: bytes) -> Decoded:
    """Decode an Ethernet frame with plain struct; raise ValueError if it is malformed.

    Always: ethertype, eth_dst, eth_src. ARP (Ethernet/IPv4): op, sha, spa, tha, tpa.
    IPv6: src, dst, hop_limit, next_header (after skipping one hop-by-hop header). ICMPv6:
    icmp_type, icmp_code, icmp_checksum_ok; for NS (135) / NA (136) also target, and slla
    (NS) or flag_r/flag_s/flag_o and tlla (NA) -- None when the option is absent.
    Ethernet padding is ignored (lengths come from the ARP/IPv6 headers).
    """
    if len(frame) < 14:
        raise ValueError(f"frame too short for Ethernet: {len(frame)} bytes")
    out: Decoded = {
        "eth_dst": _mac(frame[0:6]),
        "eth_src": _mac(frame[6:12]),
        "ethertype": int.from_bytes(frame[12:14], "big"),
    }
    body = frame[14:]
    if out["ethertype"] == ETH_P_ARP:
        if len(body) < 28:
            raise ValueError(f"ARP body too short: {len(body)} bytes")
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack(
            "!HHBBH6s4s6s4s", body[:28]
        )
        if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4):
            raise ValueError(f"not Ethernet/IPv4 ARP: {(htype, ptype, hlen, plen)}")
        out["op"] = op
        out["sha"] = _mac(sha)
        out["spa"] = str(ipaddress.IPv4Address(spa))
        out["tha"] = _mac(tha)
        out["tpa"] = str(ipaddress.IPv4Address(tpa))
    elif out["ethertype"] == ETH_P_IPV6:
        _decode_ipv6(body, out)
    return out


def _decode_ipv6(body: bytes, out: Decoded) -> None:
    if len(body) < 40:
        raise ValueError(f"IPv6 header too short: {len(body)} bytes")
    if body[0] >> 4 != 6:
        raise ValueError(f"IP version {body[0] >> 4} in an IPv6 ethertype frame")
    payload_len, next_header, hop_limit = struct.unpack("!HBB", body[4:8])
    src, dst = body[8:24], body[24:40]
    if len(body) < 40 + payload_len:
        raise ValueError(f"IPv6 payload truncated: {len(body) - 40} < {payload_len}")
    payload = body[40 : 40 + payload_len]
    out["src"] = str(ipaddress.IPv6Address(src))
    out["dst"] = str(ipaddress.IPv6Address(dst))
    out["hop_limit"] = hop_limit
    out["next_header"] = next_header
    if next_header == 0:  # hop-by-hop options (MLD reports carry one)
        if len(payload) < 8 or len(payload) < (payload[1] + 1) * 8:
            raise ValueError("hop-by-hop header truncated")
        next_header, payload = payload[0], payload[(payload[1] + 1) * 8 :]
    if next_header != 58:
        return
    if len(payload) < 4:
        raise ValueError(f"ICMPv6 header too short: {len(payload)} bytes")
    pseudo = src + dst + struct.pack("!IxxxB", len(payload), 58)
    out["icmp_type"] = payload[0]
    out["icmp_code"] = payload[1]
    out["icmp_checksum_ok"] = _checksum(pseudo + payload) == 0
    if payload[0] not in (135, 136):
        return
    if len(payload) < 24:
        raise ValueError(f"NS/NA too short: {len(payload)} bytes")
    flags = payload[4]
    out["target"] = str(ipaddress.IPv6Address(payload[8:24]))
    lladdr: dict[int, str] = {}
    offset = 24
    while offset < len(payload):
        if offset + 2 > len(payload):
            raise ValueError("ND option header truncated")
        opt_type, opt_len = payload[offset], payload[offset + 1] * 8
        if opt_len == 0 or offset + opt_len > len(payload):
            raise ValueError(f"bad ND option length at offset {offset}")
        if opt_type in (1, 2) and opt_len >= 8:
            lladdr.setdefault(opt_type, _mac(payload[offset + 2 : offset + 8]))
        offset += opt_len
    if payload[0] == 135:
        out["slla"] = lladdr.get(1)
    else:
        out["flag_r"] = bool(flags & 0x80)
        out["flag_s"] = bool(flags & 0x40)
        out["flag_o"] = bool(flags & 0x20)
        out["tlla"] = lladdr.get(2)


# --------------------------------------------------------------------------- capture


class Capture:
    """Frames received on one host interface, recorded by capture_helper.py in its namespace.

    Created and started by Lab.capture(); start() returns only after the helper's socket is
    bound, so every frame after that is seen. Usable as a context manager (exit stops it).
    """

    def __init__(self, lab: Lab, host: str, dev: str, ethertypes: Iterable[int] | None) -> None:
        self.lab = lab
        self.host = host
        self.dev = dev
        self.ethertypes: tuple[int, ...] | None = (
            None if ethertypes is None else tuple(ethertypes)
        )
        self.stats: dict[str, int] | None = None
        self.stderr = ""
        self._frames: list[Frame] = []
        self._garbage: list[bytes] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._errfile: IO[bytes] | None = None
        self._stopped = False

    @property
    def drops(self) -> int | None:
        """Frames the kernel dropped for the helper's socket (known after stop())."""
        return None if self.stats is None else self.stats["drops"]

    def start(self, timeout: float = 20.0) -> Self:
        """Start the helper and wait until it reports READY."""
        if self._proc is not None:
            raise LabError("capture already started")
        types = ",".join(f"0x{e:04x}" for e in self.ethertypes or ())
        self._errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._proc = self.lab.popen(
            self.host,
            sys.executable, "-u", str(HELPER), "capture", "--dev", self.dev, "--ethertypes", types,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._errfile,
        )
        self._reader = threading.Thread(
            target=self._read, name=f"capture-{self.host}-{self.dev}", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._stopped = True
                self._stop_process(timeout=5.0)
                raise LabError(
                    f"capture helper on {self.host}/{self.dev} not ready "
                    f"(rc={self._proc.returncode}): {self.stderr.strip()}"
                )
        return self

    def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if not self._ready.is_set():
                if line.strip() == b"READY":
                    self._ready.set()
                else:
                    self._garbage.append(line)
                continue
            try:
                record = json.loads(line)
                if "stats" in record:
                    self.stats = {k: int(v) for k, v in record["stats"].items()}
                    continue
                frame = Frame(t=float(record["t"]), data=bytes.fromhex(record["hex"]))
            except (ValueError, KeyError, TypeError):
                self._garbage.append(line)
                continue
            with self._lock:
                self._frames.append(frame)

    def frames_so_far(self) -> list[Frame]:
        """A copy of the frames received until now (the capture keeps running)."""
        with self._lock:
            return list(self._frames)

    def wait_until(
        self, predicate: Callable[[list[Frame]], bool], timeout: float = 10.0
    ) -> list[Frame]:
        """Poll frames_so_far() until `predicate(frames)` holds; return those frames."""
        found: list[list[Frame]] = []

        def check() -> bool:
            frames = self.frames_so_far()
            if predicate(frames):
                found.append(frames)
                return True
            return False

        try:
            wait_for(check, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"capture on {self.host}/{self.dev}: {predicate!r} not true after {timeout}s "
                f"({len(self.frames_so_far())} frames so far)"
            ) from None
        return found[0]

    def _stop_process(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        if proc.stdout is not None:
            proc.stdout.close()
        if self._errfile is not None:
            self._errfile.seek(0)
            self.stderr = self._errfile.read().decode(errors="replace")
            self._errfile.close()
            self._errfile = None

    def stop(self, timeout: float = 10.0) -> list[Frame]:
        """Stop the helper (it drains the kernel queue first) and return every frame seen.

        Raises LabError if the helper failed, since the frame list may then be incomplete.
        """
        if not self._stopped:
            self._stopped = True
            self._stop_process(timeout)
            proc = self._proc
            if proc is not None and (proc.returncode != 0 or self._garbage):
                raise LabError(
                    f"capture helper on {self.host}/{self.dev} failed (rc={proc.returncode}, "
                    f"unparsed lines={self._garbage[:3]!r}): {self.stderr.strip()}"
                )
        return self.frames_so_far()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.stop()
        else:
            with contextlib.suppress(LabError):
                self.stop()


# --------------------------------------------------------------------------- the lab


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
        self.prefix = f"gd{os.getpid()}x{secrets.token_hex(2)}"
        self._macs = {h: f"02:00:00:00:00:{i + 2:02x}" for i, h in enumerate(self.hosts)}
        self._macs.update({h: normalize_mac(m) for h, m in (macs or {}).items()})
        self.accept_dad = accept_dad
        self.locktime = locktime
        self.sysctls: dict[str, str] = {k: str(v) for k, v in (sysctls or {}).items()}
        self.term_timeout = term_timeout
        self._created: list[str] = []
        self._procs: list[subprocess.Popen[Any]] = []
        self._captures: list[Capture] = []
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

    def __enter__(self) -> Self:
        if self._state != "new":
            raise LabError("a Lab can be entered only once")
        self._state = "open"
        atexit.register(self.close)
        try:
            self._build()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise
        return self

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

    def _ip(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(["ip", "-n", self.ns(host), *args], check=check)

    def _add_namespace(self, host: str) -> None:
        name = self.ns(host)
        _run(["ip", "netns", "add", name])
        self._created.append(name)

    def _build(self) -> None:
        self._add_namespace(SWITCH)
        self.sysctl(
            SWITCH,
            {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"},
        )
        self._ip(SWITCH, "link", "set", "lo", "up")
        self._ip(SWITCH, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0",
                 "stp_state", "0", "mcast_snooping", "0")
        self._ip(SWITCH, "link", "set", BRIDGE, "up")
        for host in self.hosts:
            self._add_namespace(host)
            port = self.port(host)
            self._ip(SWITCH, "link", "add", port, "type", "veth",
                     "peer", "name", HOST_DEV, "netns", self.ns(host))
            self._ip(SWITCH, "link", "set", port, "master", BRIDGE)
            self.sysctl(host, self._host_sysctls())
            self._ip(host, "link", "set", HOST_DEV, "address", self._macs[host])
            self._ip(host, "link", "set", "lo", "up")
            self._ip(host, "link", "set", HOST_DEV, "up")
            self._ip(SWITCH, "link", "set", port, "up")
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
        info = json.loads(self._ip(host, "-j", "link", "show", "dev", HOST_DEV).stdout)
        return bool(info) and info[0].get("operstate") == "UP"

    def close(self) -> None:
        """Tear everything down (idempotent); raise LabError if a namespace survives."""
        if self._state == "closed":
            return
        self._state = "closed"
        atexit.unregister(self.close)
        problems: list[str] = []
        for cap in reversed(self._captures):
            try:
                cap.stop(timeout=self.term_timeout)
            except Exception as exc:  # cleanup must carry on
                problems.append(f"capture {cap.host}/{cap.dev}: {exc}")
        self._terminate_processes()
        for name in reversed(self._created):
            self._kill_namespace_pids(name)
        for name in reversed(self._created):
            _run(["ip", "netns", "del", name], check=False)
        leftover = self._surviving_namespaces()
        for name in leftover:  # one retry, e.g. if a mount was briefly busy
            _run(["ip", "netns", "del", name], check=False)
        leftover = self._surviving_namespaces()
        if leftover:
            problems.append(f"namespaces not removed: {leftover}")
        if problems:
            raise LabError("lab cleanup: " + "; ".join(problems))

    def _surviving_namespaces(self) -> list[str]:
        listed = set(_run(["ip", "netns", "list"], check=False).stdout.split())
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
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def _namespace_pids(self, name: str) -> list[int]:
        out = _run(["ip", "netns", "pids", name], check=False).stdout
        return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]

    def _kill_namespace_pids(self, name: str) -> None:
        """Kill, by PID, anything still running inside lab namespace `name`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self._namespace_pids(name)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: not self._namespace_pids(name), self.term_timeout, 0.05)

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
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside `host`'s namespace and wait; text stdout/stderr are captured.

        With check=True a non-zero exit raises CommandFailed (a CalledProcessError whose
        str() shows the output); subprocess.TimeoutExpired propagates after killing it.
        run() waits for EOF on stdout/stderr, so anything argv leaves running in the
        background must not inherit them (redirect it, or use popen()).
        """
        self._require_open()
        return _run(["ip", "netns", "exec", self.ns(host), *argv], check=check,
                    timeout=timeout, input_text=input_text)

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
        return proc

    def sysctl(self, host: str, values: Mapping[str, str | int]) -> None:
        """Set sysctls inside `host`'s namespace (network sysctls are per namespace)."""
        if values:
            _run(["ip", "netns", "exec", self.ns(host), "sysctl", "-q", "-w",
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
        self._ip(host, "addr", "add", address, "dev", dev)
        ip = ipaddress.ip_interface(address).ip
        if ip.version == 6:
            wait_for(lambda: self._address_ready(host, dev, str(ip)), timeout,
                     message=f"{address} on {host}/{dev} leaving DAD")

    def _address_ready(self, host: str, dev: str, address: str) -> bool:
        for link in json.loads(self._ip(host, "-j", "addr", "show", "dev", dev).stdout):
            for info in link.get("addr_info", []):
                if info.get("local") != address:
                    continue
                if info.get("dadfailed"):
                    raise LabError(f"DAD failed for {address} on {host}/{dev}")
                return not info.get("tentative", False)
        return False

    def del_address(self, host: str, address: str, dev: str = HOST_DEV) -> None:
        """Remove `address` (with its prefix length, as added) from `host`'s `dev`."""
        self._require_open()
        self._ip(host, "addr", "del", address, "dev", dev)

    # ------------------------------------------------------------------ neighbours

    def neighbours(
        self, host: str, dev: str = HOST_DEV
    ) -> dict[str, tuple[str | None, str]]:
        """address -> (lladdr or None, state) from `ip -j neigh show dev DEV`.

        State is the kernel's upper-case NUD name ("STALE", "REACHABLE", ...), several
        joined with "," if the kernel reports more than one.
        """
        self._require_open()
        entries = json.loads(self._ip(host, "-j", "neigh", "show", "dev", dev).stdout or "[]")
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
        self._ip(host, "neigh", "replace", ip, "lladdr", normalize_mac(mac),
                 "nud", state, "dev", dev)

    def flush_neighbours(self, host: str, dev: str = HOST_DEV) -> None:
        """Forget every neighbour entry on `host`'s `dev`."""
        self._require_open()
        self._ip(host, "neigh", "flush", "dev", dev)

    # ------------------------------------------------------------------ traffic

    def capture(
        self,
        host: str,
        dev: str = HOST_DEV,
        ethertypes: Iterable[int] | None = (ETH_P_ARP, ETH_P_IPV6),
    ) -> Capture:
        """Start capturing frames `host` receives on `dev` (None keeps every ethertype)."""
        self._require_open()
        cap = Capture(self, host, dev, ethertypes)
        self._captures.append(cap)
        return cap.start()

    def send_raw(
        self, host: str, frames: bytes | Sequence[bytes], *, count: int = 1, dev: str = HOST_DEV
    ) -> None:
        """Send raw Ethernet frame(s) out of `host`'s `dev`, the whole sequence `count` times."""
        batch = [frames] if isinstance(frames, bytes) else list(frames)
        self.run(host, sys.executable, str(HELPER), "send", "--dev", dev, "--count", str(count),
                 input_text="\n".join(f.hex() for f in batch) + "\n", timeout=300.0)

    def ping(self, host: str, address: str, timeout: float = 10.0) -> bool:
        """True if `address` answers an ICMP/ICMPv6 echo from `host` within `timeout`."""
        check_lab_address(address)
        proc = self.run(host, sys.executable, str(HELPER), "ping", "--timeout", str(timeout),
                        address, check=False, timeout=timeout + 30.0)
        return proc.returncode == 0


class LabFactory(Protocol):
    """What the `make_lab` fixture returns: builds and enters a Lab, torn down after the test."""

    def __call__(self, hosts: Sequence[str] = ("a", "b"), **options: Any) -> Lab: ...


def arp_frame(
    *,
    op: int,
    sha: str,
    spa: str,
    tha: str = "00:00:00:00:00:00",
    tpa: str,
    eth_src: str | None = None,
    eth_dst: str = BROADCAST_MAC,
) -> bytes:
    """Build an Ethernet/ARP frame (padded to 60 bytes) for injecting with Lab.send_raw."""
    for address in (spa, tpa):
        check_lab_address(address)

    def mac(m: str) -> bytes:
        return bytes.fromhex(normalize_mac(m).replace(":", ""))

    frame = (
        mac(eth_dst) + mac(eth_src or sha) + struct.pack("!H", ETH_P_ARP)
        + struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op)
        + mac(sha) + ipaddress.IPv4Address(spa).packed
        + mac(tha) + ipaddress.IPv4Address(tpa).packed
    )
    return frame.ljust(60, b"\x00")
