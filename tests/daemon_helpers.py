"""Driving the real ``garpd run`` daemon inside a lab namespace, as systemd and an operator
would: a TOML file, NOTIFY_SOCKET, signals and the control socket in; JSON log lines on
stderr (written to a file) and the frames another namespace captures out.

The daemon, fault and soak lab tests use it (through the ``daemons`` fixture of conftest.py
and directly); it is black-box (it never imports garpd).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import pytest

from tests.lab import ETH_P_ARP, ETH_P_IPV6, Decoded, Frame, Lab, wait_for

TomlValue = str | int | float | bool | Sequence[str]
Record = dict[str, Any]

#: How long the daemon may take to start (imports, netlink dump) before a test gives up.
START_TIMEOUT = 30.0


# --------------------------------------------------------------------------- configuration


def _toml(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(json.dumps(v) for v in value) + "]"


def config_text(control_socket: Path, announce: Mapping[str, TomlValue] | None = None,
                groups: Sequence[Mapping[str, TomlValue]] = ()) -> str:
    """A garpd.toml with ``[announce]``, ``[control] socket`` and ``[[group]]`` tables."""
    lines = ["[announce]"]
    lines += [f"{k} = {_toml(v)}" for k, v in (announce or {}).items()]
    lines += ["", "[control]", f"socket = {_toml(str(control_socket))}"]
    for group in groups:
        lines += ["", "[[group]]"]
        lines += [f"{k} = {_toml(v)}" for k, v in group.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- logs


def parse_json_lines(text: str, what: str) -> list[Record]:
    """Every complete line of ``text`` as a JSON object; fail the test on anything else."""
    records: list[Record] = []
    for line in text.split("\n")[:-1]:  # the last piece is empty or still being written
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{what}: line is not JSON: {line!r}\nfull text:\n{text}")
        if not isinstance(record, dict):
            pytest.fail(f"{what}: line is not a JSON object: {line!r}")
        records.append(record)
    return records


def select_records(records: Iterable[Record], event: str, **fields: object) -> list[Record]:
    """The records named ``event`` whose ``fields`` have the given values, in order."""
    return [r for r in records
            if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())]


# --------------------------------------------------------------------------- control socket


def control_request(path: Path, payload: Mapping[str, object], timeout: float = 5.0) -> Record:
    """One newline-delimited JSON request on the control socket; the reply line, decoded."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(payload).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    reply = json.loads(buf.split(b"\n", 1)[0])
    assert isinstance(reply, dict), reply
    return reply


def status_rows(path: Path) -> dict[str, Record]:
    """The daemon's status rows by address (asks over the control socket)."""
    reply = control_request(path, {"command": "status"})
    assert reply["ok"] is True, reply
    return {str(row["address"]): row for row in reply["addresses"]}


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """One ``garpd --log-format json run -c CONFIG`` in a lab namespace.

    NOTIFY_SOCKET is a datagram socket this object binds in ``workdir``; every datagram
    the daemon sends is kept in :attr:`messages` (one list of lines per datagram).
    """

    def __init__(self, lab: Lab, cmd: Sequence[str], config: Path, workdir: Path, *,
                 host: str = "a", name: str = "garpd",
                 env: Mapping[str, str] | None = None) -> None:
        self.lab = lab
        self.cmd = list(cmd)
        self.config = config
        self.host = host
        self.log_path = workdir / f"{name}.log"
        self.notify_path = workdir / f"{name}.notify"
        self.extra_env = dict(env or {})
        self.messages: list[list[str]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._next_message = 0
        self._log: IO[bytes] | None = None
        self._notify: socket.socket | None = None

    # ---- lifecycle

    def start(self) -> None:
        """Start the daemon and wait for READY=1 (failing early if it dies)."""
        assert self.proc is None, "a Daemon starts once"
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(self.notify_path))
        self._log = self.log_path.open("wb")
        env = {**os.environ, **self.extra_env, "NOTIFY_SOCKET": str(self.notify_path)}
        for key in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            if key not in self.extra_env:
                env.pop(key, None)
        self.proc = self.lab.popen(
            self.host, *self.cmd, "--log-format", "json", "run", "-c", str(self.config),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env)
        self.wait_message("READY=1", START_TIMEOUT)

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the daemon (``ip netns exec`` execs it, so the PID is garpd's)."""
        assert self.proc is not None
        assert self.proc.poll() is None, f"daemon already exited:\n{self.log_text()}"
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took). Fails the test if it does not exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"garpd did not exit within {timeout}s of SIGTERM\n{self.log_text()}")
        return code, time.monotonic() - started

    def close(self) -> None:
        """Kill the daemon if it still runs and release the files (idempotent)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5.0)
        for handle in (self._log, self._notify):
            if handle is not None:
                handle.close()
        self._log = self._notify = None

    # ---- sd_notify

    def _receive(self, timeout: float) -> bool:
        assert self._notify is not None
        self._notify.settimeout(max(timeout, 0.001))
        try:
            data = self._notify.recv(65536)
        except TimeoutError:
            return False
        self.messages.append(data.decode().split("\n"))
        return True

    def wait_message(self, line: str, timeout: float = 10.0) -> list[str]:
        """The next datagram not yet returned that has ``line`` (e.g. "READY=1")."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            while self._next_message < len(self.messages):
                message = self.messages[self._next_message]
                self._next_message += 1
                if line in message:
                    return message
            if self.proc.poll() is not None:
                while self._receive(0.001):  # what it said before it died
                    pass
                if self._next_message < len(self.messages):
                    continue
                pytest.fail(f"garpd exited (rc={self.proc.returncode}) before {line}; "
                            f"notifications {self.messages}\n{self.log_text()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {line} from garpd within {timeout}s; notifications "
                            f"{self.messages}\n{self.log_text()}")
            self._receive(min(remaining, 0.1))

    def drain_messages(self) -> list[list[str]]:
        """Every datagram that arrived so far (returned ones included)."""
        while self._notify is not None and self._receive(0.001):
            pass
        return list(self.messages)

    # ---- logs

    def log_text(self) -> str:
        """Everything the daemon wrote to stderr/stdout so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs(self) -> list[Record]:
        """The daemon's log records so far (every complete line must be JSON)."""
        return parse_json_lines(self.log_text(), f"garpd log {self.log_path}")

    def records(self, event: str, **fields: object) -> list[Record]:
        """The log records named ``event`` with the given field values."""
        return select_records(self.logs(), event, **fields)

    def wait_records(self, event: str, count: int = 1, timeout: float = 10.0,
                     **fields: object) -> list[Record]:
        """Wait until at least ``count`` records match; return all that match."""
        def enough() -> list[Record]:
            got = self.records(event, **fields)
            return got if len(got) >= count else []

        try:
            return wait_for(enough, timeout)
        except TimeoutError:
            pytest.fail(f"fewer than {count} {event} records {fields} after {timeout}s\n"
                        f"{self.log_text()[-6000:]}")

    def errors(self) -> list[Record]:
        """Records at error level (or worse)."""
        return [r for r in self.logs() if r.get("level") in ("error", "critical")]


class DaemonFactory(Protocol):
    """What the ``daemons`` fixture returns: start ``garpd run`` (optionally behind a
    wrapper ``cmd``) in a lab host and wait for READY=1."""

    def __call__(self, lab: Lab, config: Path, *, env: Mapping[str, str] | None = None,
                 cmd: Sequence[str] | None = None) -> Daemon: ...


# --------------------------------------------------------------------------- frames


def garps(frames: Iterable[Frame], address: str | None = None) -> list[Frame]:
    """Gratuitous ARPs (sender IP = target IP), about ``address`` if given, in order.

    The kernel's own ARP requests (target = someone else) do not count.
    """
    out = []
    for frame in frames:
        d = frame.decode()
        if d["ethertype"] == ETH_P_ARP and d["spa"] == d["tpa"] \
                and (address is None or d["spa"] == address):
            out.append(frame)
    return out


def is_unsolicited_na(d: Decoded) -> bool:
    """An ICMPv6 neighbour advertisement with Solicited clear."""
    return d["ethertype"] == ETH_P_IPV6 and d.get("icmp_type") == 136 \
        and not d.get("flag_s", True)


def unsolicited_nas(frames: Iterable[Frame], address: str | None = None) -> list[Frame]:
    """Unsolicited NAs (for target ``address`` if given), in order."""
    wanted = None if address is None else str(ipaddress.ip_address(address))
    return [f for f in frames
            if is_unsolicited_na(d := f.decode()) and (wanted is None or d["target"] == wanted)]


def announcements(frames: Iterable[Frame], address: str) -> list[Frame]:
    """What garpd sends for ``address``: GARPs (IPv4) or unsolicited NAs (IPv6)."""
    if ipaddress.ip_address(address).version == 4:
        return garps(frames, address)
    return unsolicited_nas(frames, address)


def bursts(frames: Sequence[Frame], gap: float = 0.15) -> list[list[Frame]]:
    """``frames`` split wherever two consecutive ones are more than ``gap`` s apart."""
    out: list[list[Frame]] = []
    for frame in frames:
        if out and frame.t - out[-1][-1].t <= gap:
            out[-1].append(frame)
        else:
            out.append([frame])
    return out


def check_timeline(frames: Sequence[Frame], t0: float,
                   expected: Sequence[tuple[float, int]], slack: float = 0.3) -> None:
    """The first bursts of ``frames`` are ``(offset from t0, packets)`` as ``expected``."""
    got = bursts(frames)
    shape = [(round(b[0].t - t0, 3), len(b)) for b in got]
    assert len(got) >= len(expected), f"bursts {shape}, expected at least {expected}"
    for burst, (offset, count) in zip(got, expected, strict=False):
        at = burst[0].t - t0
        assert len(burst) == count, f"bursts {shape}, expected {expected}"
        assert offset - slack <= at <= offset + slack, f"bursts {shape}, expected {expected}"


def neighbour_mac(lab: Lab, address: str, host: str = "peer", dev: str = "eth0") -> str | None:
    """``host``'s current lladdr for ``address`` (None without an entry)."""
    entry = lab.neighbours(host, dev).get(str(ipaddress.ip_address(address)))
    return None if entry is None else entry[0]


def wait_neighbour(lab: Lab, address: str, mac: str, host: str = "peer",
                   dev: str = "eth0") -> None:
    """Wait until ``host``'s neighbour entry for ``address`` points at ``mac``."""
    wait_for(lambda: neighbour_mac(lab, address, host, dev) == mac, 5.0,
             message=f"{host}'s neighbour entry for {address} -> {mac} "
                     f"(now {neighbour_mac(lab, address, host, dev)})")
