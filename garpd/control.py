"""The control socket: newline-delimited JSON over a Unix stream socket, and its clients.

Server side (in the daemon): the socket is created mode 0600 in a directory the daemon
creates (0700) if missing; every connection's peer is checked with SO_PEERCRED, and only
root or the daemon's own user get an answer (others get ``{"ok": false}`` and nothing
else). One request per line, one reply per request, every reply with ``"ok"``. Requests
that are too long, malformed, or too slow are answered with an error or dropped and
counted; the daemon never blocks on a client.

Client side: :func:`request` (used by ``garpd status`` and ``garpd notify``) imports
nothing heavy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any, Literal, Protocol

MAX_LINE = 64 * 1024
IDLE_TIMEOUT = 10.0
MAX_CLIENTS = 64
NOTIFY_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED", "MASTER_RX_LOWER_PRI",
                 "MASTER_PRIORITY", "BACKUP_PRIORITY")


def group_kind(kind: str) -> Literal["INSTANCE", "GROUP"] | None:
    """keepalived's TYPE word (INSTANCE or GROUP) as the group matcher takes it."""
    if kind == "INSTANCE":
        return "INSTANCE"
    if kind == "GROUP":
        return "GROUP"
    return None


class Handler(Protocol):
    """What the daemon exposes to the control socket."""

    def status(self) -> dict[str, Any]:
        """The status document (without ``ok``)."""

    def notify(self, kind: str, name: str, state: str, priority: int | None,
               source: str) -> dict[str, Any]:
        """Apply a keepalived notification; returns the reply fields (without ``ok``)."""


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def parse_request(line: bytes) -> dict[str, Any]:
    """Decode one request line; raises ValueError with a reason for the client."""
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError("not a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    command = data.get("command")
    if command not in ("status", "notify", "ping"):
        raise ValueError("unknown command (expected status, notify or ping)")
    if command == "notify":
        kind, name, state = data.get("type"), data.get("name"), data.get("state")
        if kind not in ("INSTANCE", "GROUP"):
            raise ValueError("notify: type must be INSTANCE or GROUP")
        if not isinstance(name, str) or not name or len(name) > 256:
            raise ValueError("notify: name must be a non-empty string")
        if state not in NOTIFY_STATES:
            raise ValueError(f"notify: state must be one of {', '.join(NOTIFY_STATES)}")
        priority = data.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)
                                     or not 0 <= priority <= 255):
            raise ValueError("notify: priority must be an integer 0..255")
    return data


class ControlServer:
    """The daemon's end of the control socket."""

    def __init__(self, handler: Handler, path: Path, log: Any) -> None:
        self.handler = handler
        self.path = path
        self.log = log
        self.counters = {"requests": 0, "rejected": 0, "denied": 0}
        self._server: asyncio.base_events.Server | None = None
        self._clients = 0
        self._uid = os.getuid()

    async def start(self) -> None:
        """Create the directory and the socket (0600) and start serving."""
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
        if self.path.exists() or self.path.is_symlink():
            if _listening(self.path):
                raise OSError(98, f"another garpd is listening on {self.path}")
            self.path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        """Stop serving and remove the socket file."""
        if self._server is not None:
            self._server.close()
            self._server = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        try:
            if uid is None or uid not in (0, self._uid):
                self.counters["denied"] += 1
                self.log.warning("control_denied", uid=uid)
                writer.write(b'{"ok": false}\n')
                await writer.drain()
                return
            if self._clients >= MAX_CLIENTS:
                self.counters["rejected"] += 1
                writer.write(_reply({"ok": False, "error": "too many clients"}))
                await writer.drain()
                return
            self._clients += 1
            try:
                await self._conversation(reader, writer)
            finally:
                self._clients -= 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _conversation(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout=IDLE_TIMEOUT)
            except TimeoutError:
                return
            except (ValueError, asyncio.LimitOverrunError):
                self.counters["rejected"] += 1
                self.log.warning("control_rejected", error="request too long")
                writer.write(_reply({"ok": False, "error": f"request longer than {MAX_LINE}"}))
                await writer.drain()
                return
            if not line:
                return
            if not line.strip():
                continue
            self.counters["requests"] += 1
            writer.write(_reply(self._answer(line)))
            await writer.drain()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = parse_request(line)
        except ValueError as exc:
            self.counters["rejected"] += 1
            self.log.warning("control_rejected", error=str(exc))
            return {"ok": False, "error": str(exc)}
        command = request["command"]
        if command == "ping":
            return {"ok": True}
        if command == "status":
            return {"ok": True, **self.handler.status()}
        return {"ok": True, **self.handler.notify(
            request["type"], request["name"], request["state"], request.get("priority"),
            "control")}


def _reply(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class Unreachable(Exception):  # noqa: N818 - reads as "the daemon is unreachable"
    """No daemon answers on the control socket."""


def request(path: str | Path, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request and return the reply; raises :class:`Unreachable`."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError as exc:
            raise Unreachable(f"{path}: {exc.strerror or exc}") from None
    line = buf.split(b"\n", 1)[0]
    try:
        reply = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Unreachable(f"{path}: not a garpd control socket") from None
    if not isinstance(reply, dict):
        raise Unreachable(f"{path}: not a garpd control socket")
    return reply


DEFAULT_SOCKET = "/run/garpd/garpd.sock"
DEFAULT_CONFIG = "/etc/garpd/garpd.toml"


def socket_path(config: str | None) -> str:
    """The control socket named by the configuration (read with tomllib only, no pydantic).

    A missing default file means the built-in default socket; a file that cannot be read
    or parsed here also falls back to it (the full validation is ``garpd check``'s job).
    """
    import tomllib  # noqa: PLC0415 - only the clients need it

    path = config or DEFAULT_CONFIG
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return DEFAULT_SOCKET
    section = data.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_SOCKET


def _ago(value: object) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:.1f}s"


def render_status(doc: dict[str, Any]) -> str:
    """The status document as text a person reads at a glance."""
    lines = [f"garpd pid {doc.get('pid')}  config {doc.get('config')}  "
             f"up {_ago(doc.get('uptime'))}"]
    rows = doc.get("addresses") or []
    by_if: dict[str, list[dict[str, Any]]] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            by_if.setdefault(str(row.get("interface")), []).append(row)
    if not by_if:
        lines.append("  no watched addresses")
    for ifname in sorted(by_if):
        lines.append(ifname)
        for row in by_if[ifname]:
            state = "held" if row.get("held") else ("tentative" if row.get("tentative")
                                                   else "not held")
            nxt = row.get("next_send_in")
            when = f"next in {_ago(nxt)}" if nxt is not None else "nothing scheduled"
            lines.append(f"  {row.get('address')!s:<40} {row.get('group')!s:<12} {state:<9} "
                         f"since {_ago(row.get('held_for'))}  sent {row.get('sent')}  "
                         f"pending {row.get('pending')}  {when}")
    counters = doc.get("counters")
    if isinstance(counters, dict):
        lines.append("counters: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))
    return "\n".join(lines) + "\n"


def status_main(args: Any) -> int:
    """``garpd status [--json]``: ask the running daemon."""
    import sys  # noqa: PLC0415

    path = socket_path(args.config)
    try:
        reply = request(path, {"command": "status"})
    except Unreachable as exc:
        sys.stderr.write(f"garpd: no daemon answers on {exc}\n")
        return 1
    if not reply.get("ok"):
        sys.stderr.write(f"garpd: the daemon refused: {reply.get('error', 'permission denied')}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(reply) + "\n")
    else:
        sys.stdout.write(render_status(reply))
    return 0
