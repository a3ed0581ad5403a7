"""The control protocol: request parsing, the blocking client, ``garpd status``.

Newline-delimited JSON over a Unix stream socket, one request per line, one reply per
request, every reply with ``"ok"`` (and ``"error"`` when false). This module is on the
notify hook's hand-off path, so it imports only light stdlib modules (no asyncio, no
typing machinery at run time); the daemon's end lives in :mod:`garpd.control_server`.
"""

from __future__ import annotations

import json
import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Literal

NOTIFY_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED", "MASTER_RX_LOWER_PRI",
                 "MASTER_PRIORITY", "BACKUP_PRIORITY")


def group_kind(kind: str) -> Literal["INSTANCE", "GROUP"] | None:
    """keepalived's TYPE word (INSTANCE or GROUP) as the group matcher takes it."""
    if kind == "INSTANCE":
        return "INSTANCE"
    if kind == "GROUP":
        return "GROUP"
    return None


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
