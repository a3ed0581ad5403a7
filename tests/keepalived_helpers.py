"""Helpers for the keepalived lab tests: owns running real keepalived and the garpd daemon
inside lab namespaces, reading their logs, writing their configuration files, and telling
apart on the wire which of the two sent a gratuitous ARP.

Discriminator (IPv4): keepalived always sends GARP *requests* (ARP op 1, target MAC
ff:ff:ff:ff:ff:ff); the tests configure garpd with ``mode = "reply"``, so every garpd GARP is
an ARP *reply* (op 2) whose target MAC equals its sender MAC. A frame's opcode alone says
who sent it, independent of counts and timing. Ordinary ARP traffic (the kernel resolving
or answering) never has sender IP == target IP == the VIP, so it matches neither.
IPv6 NAs are byte-identical between the two; there the tests rely on timing (keepalived is
configured for one burst of one packet, garpd for a delayed second burst that keepalived
never sends) and on garpd's own log.

Every process is started through ``Lab.popen`` (own session, terminated by the lab at
cleanup) and stopped by its PID; every file (configuration, pid files, logs, FIFOs, the
control socket) lives under the test's tmp_path, so nothing touches the host.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from garpd.control import Unreachable, request
from tests.lab import BROADCAST_MAC, ETH_P_ARP, ETH_P_IPV6, Decoded, Frame, Lab, wait_for

REPO_ROOT = Path(__file__).resolve().parent.parent
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
NFT = shutil.which("nft") or "/usr/sbin/nft"
VRRP_MAC4 = "01:00:5e:00:00:12"


def require_keepalived() -> None:
    """Skip (or fail under GARPD_REQUIRE_LAB=1) when keepalived or nft is missing."""
    missing = [p for p in (KEEPALIVED, NFT) if not os.access(p, os.X_OK)]
    if not missing:
        return
    why = f"not installed: {', '.join(missing)}"
    if os.environ.get("GARPD_REQUIRE_LAB") == "1":
        pytest.fail(f"GARPD_REQUIRE_LAB=1 but {why}", pytrace=False)
    pytest.skip(why)


# --------------------------------------------------------------------------- keepalived


@dataclass(frozen=True)
class Instance:
    """One keepalived vrrp_instance."""

    name: str
    vrid: int
    priority: int
    vips: tuple[str, ...]
    version: int = 2
    interface: str = "eth0"
    advert_int: int = 1
    notify: str | None = None


def keepalived_conf(router_id: str, instances: Iterable[Instance], *,
                    notify_fifo: Path | None = None) -> str:
    """A keepalived.conf whose own GARPs are minimal and recognisable: one request per VIP
    at takeover, no delayed batch, no refresh, no lower-priority GARPs."""
    lines = [
        "global_defs {",
        f"  router_id {router_id}",
        "  script_user root",
        "  vrrp_garp_master_delay 0",
        "  vrrp_garp_master_repeat 1",
        "  vrrp_garp_master_refresh 0",
        "  vrrp_garp_lower_prio_repeat 0",
    ]
    if notify_fifo is not None:
        lines.append(f"  notify_fifo {notify_fifo}")
    lines.append("}")
    for inst in instances:
        lines += [
            f"vrrp_instance {inst.name} {{",
            "  state BACKUP",
            f"  interface {inst.interface}",
            f"  virtual_router_id {inst.vrid}",
            f"  priority {inst.priority}",
            f"  advert_int {inst.advert_int}",
            f"  version {inst.version}",
        ]
        if inst.notify is not None:
            lines.append(f'  notify "{inst.notify}"')
        lines.append("  virtual_ipaddress {")
        lines += [f"    {vip}" for vip in inst.vips]
        lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


class Keepalived:
    """keepalived (VRRP only, foreground) in one lab namespace, with its own files."""

    def __init__(self, lab: Lab, host: str, conf: str, workdir: Path, tag: str) -> None:
        self.lab = lab
        self.host = host
        self.workdir = workdir
        self.tag = tag
        self.conf = workdir / f"keepalived-{tag}.conf"
        self.conf.write_text(conf)
        self.log = workdir / f"keepalived-{tag}.log"
        self.log.write_text("")
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start it (again); every start gets fresh pid files."""
        if self.proc is not None and self.proc.poll() is None:
            raise AssertionError(f"keepalived {self.tag} already running")
        self.runs += 1
        base = self.workdir / f"keepalived-{self.tag}-{self.runs}"
        with self.log.open("ab") as out:
            self.proc = self.lab.popen(
                self.host, KEEPALIVED, "--dont-fork", "--log-console", "--log-detail",
                "--no-syslog", "--vrrp", "--use-file", str(self.conf),
                "--pid", f"{base}.pid", "--vrrp_pid", f"{base}-vrrp.pid",
                "--checkers_pid", f"{base}-checkers.pid", "--bfd_pid", f"{base}-bfd.pid",
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        """PID of the keepalived parent process (`ip netns exec` execs it)."""
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        """Whether the parent process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM by PID and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout)

    def text(self) -> str:
        """Everything keepalived logged so far (all runs)."""
        return self.log.read_text(errors="replace")

    def states(self, instance: str) -> list[str]:
        """The states ``instance`` entered, in order (all runs)."""
        pattern = re.compile(rf"\({re.escape(instance)}\) Entering (\w+) STATE")
        return pattern.findall(self.text())

    def wait_state(self, instance: str, state: str, count: int = 1,
                   timeout: float = 20.0) -> None:
        """Wait until ``instance`` has entered ``state`` at least ``count`` times."""
        def reached() -> bool:
            if not self.running():
                raise AssertionError(f"keepalived {self.tag} exited "
                                     f"(rc={self.proc.returncode if self.proc else None}):\n"
                                     f"{self.text()}")
            return self.states(instance).count(state) >= count

        try:
            wait_for(reached, timeout, 0.05)
        except TimeoutError:
            raise AssertionError(f"keepalived {self.tag}: {instance} did not enter {state} "
                                 f"x{count} within {timeout}s; log:\n{self.text()}") from None


# --------------------------------------------------------------------------- garpd daemon


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def garpd_toml(*, socket: Path, groups: Sequence[dict[str, object]],
               announce: dict[str, object] | None = None,
               notify_fifo: Path | None = None) -> str:
    """A garpd.toml: [announce], [control], optional [keepalived], [[group]]s."""
    lines = ["[announce]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in (announce or {}).items()]
    lines += ["", "[control]", f"socket = {_toml_value(socket)}"]
    if notify_fifo is not None:
        lines += ["", "[keepalived]", f"notify_fifo = {_toml_value(notify_fifo)}"]
    for group in groups:
        lines += ["", "[[group]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in group.items()]
    return "\n".join(lines) + "\n"


def json_records(path: Path) -> list[dict[str, Any]]:
    """Every complete line of ``path`` as a JSON object (a non-JSON line is an error)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    records = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # still being written
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{path}: line is not JSON: {line!r}") from None
        assert isinstance(record, dict), f"{path}: not a JSON object: {line!r}"
        records.append(record)
    return records


def select(records: Iterable[dict[str, Any]], event: str, **match: object
           ) -> list[dict[str, Any]]:
    """The records named ``event`` whose fields equal ``match``."""
    return [r for r in records
            if r.get("event") == event and all(r.get(k) == v for k, v in match.items())]


@dataclass
class Garpd:
    """``garpd run`` in one lab namespace, logging JSON to a file."""

    lab: Lab
    host: str
    argv: Sequence[str]
    config: Path
    socket: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @classmethod
    def create(cls, lab: Lab, host: str, garpd_cmd: Sequence[str], workdir: Path, tag: str,
               **toml: Any) -> Garpd:
        """Write ``garpd-TAG.toml`` (control socket ``garpd-TAG.sock``) for ``host``."""
        socket = workdir / f"garpd-{tag}.sock"
        config = workdir / f"garpd-{tag}.toml"
        config.write_text(garpd_toml(socket=socket, **toml))
        return cls(lab, host, list(garpd_cmd), config, socket, workdir / f"garpd-{tag}.log")

    def start(self, timeout: float = 20.0) -> None:
        """Start the daemon and wait until its control socket answers."""
        with self.log.open("ab") as err:
            self.proc = self.lab.popen(
                self.host, *self.argv, "--log-format", "json", "run", "-c", str(self.config),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"garpd on {self.host} exited rc={self.proc.returncode}:\n"
                                     f"{self.log.read_text(errors='replace')}")
            try:
                return bool(request(self.socket, {"command": "ping"}, timeout=1.0).get("ok"))
            except Unreachable:
                return False

        wait_for(ready, timeout, 0.05, message=f"garpd on {self.host} answering")

    def running(self) -> bool:
        """Whether the daemon process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM by PID and wait; returns the exit code (0 expected)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout)

    def records(self) -> list[dict[str, Any]]:
        """The daemon's log so far."""
        return json_records(self.log)

    def events(self, event: str, **match: object) -> list[dict[str, Any]]:
        """Its records named ``event`` matching ``match``."""
        return select(self.records(), event, **match)

    def wait_event(self, event: str, count: int = 1, timeout: float = 15.0,
                   **match: object) -> list[dict[str, Any]]:
        """Wait until at least ``count`` records match; return them all."""
        found: list[list[dict[str, Any]]] = []

        def enough() -> bool:
            if not self.running():
                raise AssertionError(f"garpd on {self.host} died:\n{self.log.read_text()}")
            got = self.events(event, **match)
            if len(got) >= count:
                found.append(got)
                return True
            return False

        try:
            wait_for(enough, timeout, 0.05)
        except TimeoutError:
            raise AssertionError(
                f"garpd on {self.host}: no {count}x {event} {match} within {timeout}s; log:\n"
                f"{self.log.read_text(errors='replace')}") from None
        return found[0]

    def status(self) -> dict[str, Any]:
        """The daemon's status document."""
        reply = request(self.socket, {"command": "status"}, timeout=5.0)
        assert reply.get("ok"), reply
        return reply

    def cpu_seconds(self) -> float:
        """User + system CPU time the daemon has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def notify_wrapper(workdir: Path, config: Path, tag: str) -> tuple[Path, Path]:
    """A keepalived notify script running ``garpd notify -c CONFIG "$@"``.

    garpd's stderr (JSON) goes to the returned log, followed by one ``hook_exit`` JSON line
    per run with the exit code and the arguments keepalived appended.
    """
    script = workdir / f"notify-{tag}.sh"
    log = workdir / f"notify-{tag}.log"
    log.write_text("")
    script.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(REPO_ROOT))}\nexport PYTHONPATH\n"
        f"{shlex.quote(sys.executable)} -m garpd --log-format json notify "
        f"-c {shlex.quote(str(config))} \"$@\" 2>>{shlex.quote(str(log))} </dev/null >/dev/null\n"
        "rc=$?\n"
        f"printf '{{\"event\": \"hook_exit\", \"rc\": %d, \"args\": \"%s\"}}\\n' \"$rc\" \"$*\" "
        f">>{shlex.quote(str(log))}\n"
        "exit $rc\n"
    )
    script.chmod(0o755)
    return script, log


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Seen:
    """A captured frame with its decoding."""

    frame: Frame
    d: Decoded

    @property
    def t(self) -> float:
        """Capture time (time.monotonic() of the capture process)."""
        return self.frame.t


def gratuitous_arps(frames: Iterable[Frame], vip: str) -> list[Seen]:
    """ARP frames announcing ``vip`` (sender IP == target IP == vip), in order."""
    out = []
    for frame in frames:
        d = frame.decode()
        if d["ethertype"] == ETH_P_ARP and d["spa"] == vip and d["tpa"] == vip:
            out.append(Seen(frame, d))
    return out


def by_garpd(frames: Iterable[Frame], vip: str, mac: str) -> list[Seen]:
    """garpd's GARPs (mode reply: op 2, target MAC = sender MAC) for ``vip`` from ``mac``."""
    return [s for s in gratuitous_arps(frames, vip)
            if s.d["op"] == 2 and s.d["sha"] == mac and s.d["tha"] == mac
            and s.d["eth_src"] == mac and s.d["eth_dst"] == BROADCAST_MAC]


def by_keepalived(frames: Iterable[Frame], vip: str, mac: str) -> list[Seen]:
    """keepalived's GARPs (requests: op 1, target MAC broadcast) for ``vip`` from ``mac``."""
    return [s for s in gratuitous_arps(frames, vip)
            if s.d["op"] == 1 and s.d["sha"] == mac and s.d["tha"] == BROADCAST_MAC]


def unsolicited_nas(frames: Iterable[Frame], vip: str, mac: str) -> list[Seen]:
    """Unsolicited NAs for ``vip`` carrying ``mac`` (either sender), in order."""
    target = str(ipaddress.ip_address(vip))
    out = []
    for frame in frames:
        d = frame.decode()
        if (d["ethertype"] == ETH_P_IPV6 and d.get("icmp_type") == 136
                and d.get("target") == target and d.get("tlla") == mac
                and not d.get("flag_s")):
            out.append(Seen(frame, d))
    return out


def clusters(times: Sequence[float], gap: float = 0.3) -> list[list[float]]:
    """Split sorted times into bursts separated by more than ``gap`` seconds."""
    out: list[list[float]] = []
    for t in times:
        if out and t - out[-1][-1] <= gap:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def vrrp_frame(source_mac: str, source: str, payload: bytes, *, protocol: int = 112) -> bytes:
    """An Ethernet + IPv4 (TTL 255, TOS 0xc0, to 224.0.0.18) frame around ``payload``, the
    IP header's checksum right whatever ``payload`` is (for injecting good and bad adverts)."""
    from garpd.inet import checksum  # noqa: PLC0415

    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, 255, protocol,
                         0, ipaddress.IPv4Address(source).packed,
                         ipaddress.IPv4Address("224.0.0.18").packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return (bytes.fromhex(VRRP_MAC4.replace(":", "")) + bytes.fromhex(source_mac.replace(":", ""))
            + struct.pack("!H", 0x0800) + header + payload)


def vrrp_v2_frame(*, src_mac: str, source: str, vrid: int, priority: int,
                  vips: Sequence[str], interval: int = 1) -> bytes:
    """An Ethernet frame carrying a VRRPv2 advert to 224.0.0.18 (TTL 255), for injecting."""
    from garpd.vrrp import build_advert  # noqa: PLC0415

    payload = build_advert(vrid, priority, [ipaddress.IPv4Address(v) for v in vips],
                           version=2, interval=interval)
    return vrrp_frame(src_mac, source, payload).ljust(60, b"\x00")


# --------------------------------------------------------------------------- misc


def wait_neighbour(lab: Lab, host: str, address: str, mac: str, timeout: float = 10.0) -> None:
    """Wait until ``host``'s neighbour entry for ``address`` points at ``mac``."""
    wait_for(lambda: (lab.neighbours(host).get(address) or (None, ""))[0] == mac, timeout,
             message=f"{host}'s neighbour entry for {address} -> {mac} "
                     f"(now {lab.neighbours(host).get(address)})")


def write_fifo(path: Path, text: str) -> None:
    """Write ``text`` into a FIFO that has a reader, without ever blocking."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def nft(lab: Lab, host: str, script: str) -> None:
    """Apply an nft script inside ``host``'s namespace."""
    lab.run(host, NFT, "-f", "-", input_text=script)


def poll_until(predicate: Callable[[], bool], timeout: float, message: str) -> None:
    """wait_for with an AssertionError (a test failure, not an error) on timeout."""
    try:
        wait_for(predicate, timeout, 0.05, message=message)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None

