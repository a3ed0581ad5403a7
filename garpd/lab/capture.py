"""Frames a lab host receives: :class:`Capture` (recorded by the lab's agent inside the
host's namespace), :func:`decode` (ARP and IPv6 ND frames, plain ``struct``) for assertions,
and :func:`arp_frame` to build one for injecting."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import signal
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Protocol, Self, TypedDict

from garpd.inet import checksum, ipv6_pseudo_header
from garpd.lab.common import (
    BROADCAST_MAC,
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    LabError,
    agent_argv,
    check_lab_address,
    normalize_mac,
    wait_for,
)


class Starter(Protocol):
    """Starts argv inside a lab host's namespace (:meth:`garpd.lab.netns.Lab.popen`)."""

    def __call__(self, host: str, *argv: str, **kwargs: Any) -> subprocess.Popen[Any]: ...


@dataclass(frozen=True)
class Frame:
    """One captured Ethernet frame; `t` is time.monotonic() in the capture process when it
    read the frame, `k` the kernel's receive timestamp on the same clock (the agent's
    SO_TIMESTAMPNS; None from a source that has none)."""

    t: float
    data: bytes
    k: float | None = None

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
    pseudo = ipv6_pseudo_header(src, dst, 58, len(payload))
    out["icmp_type"] = payload[0]
    out["icmp_code"] = payload[1]
    out["icmp_checksum_ok"] = checksum(pseudo + payload) == 0
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
    """Frames received on one host interface, recorded by the lab's agent in its namespace.

    Created and started by Lab.capture(); start() returns only after the agent's socket is
    bound, so every frame after that is seen. Usable as a context manager (exit stops it).
    ``popen`` starts a process in a host's namespace, ``env`` is the agent's environment.
    """

    def __init__(self, popen: Starter, host: str, dev: str, ethertypes: Iterable[int] | None,
                 env: Mapping[str, str], *, outgoing: bool = False,
                 idle: bool = False, drain_after: float = 0.0) -> None:
        self.popen = popen
        self.outgoing = outgoing
        self.idle = idle
        self.drain_after = drain_after
        self.env = dict(env)
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
    def pid(self) -> int:
        """The agent's process id (once started)."""
        if self._proc is None:
            raise LabError("capture not started")
        return self._proc.pid

    @property
    def drops(self) -> int | None:
        """Frames the kernel dropped for the agent's socket (known after stop())."""
        return None if self.stats is None else self.stats["drops"]

    def start(self, timeout: float = 20.0) -> Self:
        """Start the agent and wait until it reports READY."""
        if self._proc is not None:
            raise LabError("capture already started")
        types = ",".join(f"0x{e:04x}" for e in self.ethertypes or ())
        self._errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._proc = self.popen(
            self.host,
            *agent_argv("capture", "--dev", self.dev, "--ethertypes", types,
                        *(["--outgoing"] if self.outgoing else []),
                        *(["--idle"] if self.idle else []),
                        *(["--drain-after", repr(self.drain_after)] if self.drain_after else [])),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._errfile,
            env=self.env,
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
                    f"capture agent on {self.host}/{self.dev} not ready "
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
                kernel = record.get("k")
                frame = Frame(t=float(record["t"]), data=bytes.fromhex(record["hex"]),
                              k=None if kernel is None else float(kernel))
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
        """Stop the agent (it drains the kernel queue first) and return every frame seen.

        Raises LabError if the agent failed, since the frame list may then be incomplete.
        """
        if not self._stopped:
            self._stopped = True
            self._stop_process(timeout)
            proc = self._proc
            if proc is not None and (proc.returncode != 0 or self._garbage):
                raise LabError(
                    f"capture agent on {self.host}/{self.dev} failed (rc={proc.returncode}, "
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
