"""The control protocol: request parsing, the blocking client, ``garpd status``.

Newline-delimited JSON over a Unix stream socket, one request per line, one reply per
request, every reply with ``"ok"`` (and ``"error"`` when false). This module is on the
notify hook's hand-off path, so it imports only light stdlib modules (no asyncio, no
typing machinery at run time); the daemon's end lives in :mod:`garpd.control_server`.
"""

from __future__ import annotations

import socket
import time

TYPE_CHECKING = False  # typing itself costs ~10 ms on the hook's path
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
    import json  # noqa: PLC0415 - the daemon's side; the hook never parses requests

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


def _json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode_request(payload: dict[str, object]) -> bytes:
    """One request line for a flat JSON object of str, int, bool or None values.

    Written by hand so that the hook can send before importing :mod:`json` (~4 ms);
    ``tests/test_control.py`` checks it against ``json.loads``.
    """
    parts = []
    for key, value in payload.items():
        if value is None:
            text = "null"
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = _json_string(value)
        else:
            raise TypeError(f"cannot encode {type(value).__name__} in a request")
        parts.append(f"{_json_string(key)}: {text}")
    return ("{" + ", ".join(parts) + "}\n").encode("utf-8", "surrogatepass")


def request(path: str | Path, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request and return the reply; raises :class:`Unreachable`."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(encode_request(payload))
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
    import json  # noqa: PLC0415 - after the request left: the daemon is already at work

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
    path = config or DEFAULT_CONFIG
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError:
        return DEFAULT_SOCKET
    quick = _quick_socket(raw)
    if quick is not None:
        return quick
    import tomllib  # noqa: PLC0415 - ~20 ms: only when the quick scan cannot tell

    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return DEFAULT_SOCKET
    section = data.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_SOCKET


def _quick_socket(raw: bytes) -> str | None:
    """The socket path when the file says it plainly, without a TOML parser; else None.

    Plainly: no mention of ``control`` at all (the default socket), or a ``[control]``
    header followed by ``socket = "..."`` with no escapes. Anything else (dotted keys,
    inline tables, quoting subtleties) is left to tomllib.
    """
    if b"control" not in raw:
        return DEFAULT_SOCKET
    lines = raw.split(b"\n")
    found: str | None = None
    section = False
    for line in lines:
        text = line.split(b"#", 1)[0].strip()
        if text.startswith(b"["):
            section = text == b"[control]"
            continue
        if b"control" in text:
            return None  # control.socket = ..., or control = { ... }: let tomllib read it
        if section and text.startswith(b"socket"):
            key, eq, value = text.partition(b"=")
            value = value.strip()
            if (key.strip() != b"socket" or not eq or len(value) < 2 or value[:1] != b'"'
                    or value[-1:] != b'"' or b"\\" in value or b'"' in value[1:-1]):
                return None
            try:
                found = value[1:-1].decode()
            except UnicodeDecodeError:
                return None
    if found is None:
        return None if any(ln.strip() == b"[control]" for ln in lines) else DEFAULT_SOCKET
    return found or DEFAULT_SOCKET


def _ago(value: object) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    if value >= 120:
        minutes, secs = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
    return f"{value:.1f}s"


STATUS_WINDOW = 30.0
STATUS_BAR = 40


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _status_bar(schedule: list[dict[str, Any]], colour: bool) -> str:
    """``#...#...``: the scheduled bursts of the next STATUS_WINDOW seconds."""
    cells = ["."] * STATUS_BAR
    for item in schedule:
        due = item.get("in")
        if isinstance(due, (int, float)) and 0 <= due < STATUS_WINDOW:
            cells[int(due / STATUS_WINDOW * STATUS_BAR)] = "#"
    bar = "".join(_paint(c, "32" if c == "#" else "2", colour) for c in cells)
    return f"{bar}  now..+{int(STATUS_WINDOW)}s"


def _next_text(row: dict[str, Any]) -> str:
    schedule = row.get("schedule")
    parts: list[str] = []
    if isinstance(schedule, list):
        for item in schedule[:2]:
            if isinstance(item, dict):
                parts.append(f"{item.get('reason')} x{item.get('packets')} "
                             f"in {_ago(item.get('in'))}")
    pending = row.get("pending")
    if isinstance(pending, int) and pending:
        parts.insert(0, f"{pending} queued, next in {_ago(row.get('next_send_in'))}")
    refresh = row.get("refresh_every")
    if isinstance(refresh, (int, float)) and refresh > 0:
        parts.append(f"refresh every {_ago(refresh)}")
    return ", ".join(parts) if parts else "nothing scheduled"


def render_status(doc: dict[str, Any], colour: bool = False) -> str:
    """The status document as a timeline a person reads at a glance.

    One line per address (state, how long held, packets sent, what comes next), and for
    addresses with something scheduled a bar of the next 30 seconds. ``colour`` adds ANSI
    colours for a terminal; the text is the same without them.
    """
    rows = doc.get("addresses") or []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    held = sum(1 for r in rows if r.get("held"))
    lines = [f"garpd pid {doc.get('pid')}  config {doc.get('config')}  "
             f"up {_ago(doc.get('uptime'))}  held {held} of {len(rows)}"]
    by_if: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_if.setdefault(str(row.get("interface")), []).append(row)
    if not by_if:
        lines.append("  no watched addresses")
    for ifname in sorted(by_if):
        lines.append(_paint(ifname, "1", colour))
        for row in by_if[ifname]:
            if row.get("held"):
                state = _paint(f"{'held':<9}", "32", colour)
                since = f"for {_ago(row.get('held_for')):<7}"
            else:
                word = "tentative" if row.get("tentative") else "not held"
                state = _paint(f"{word:<9}", "33", colour)
                since = " " * 11
            lines.append(f"  {row.get('address')!s:<28} {row.get('group')!s:<10} {state} "
                         f"{since} sent {row.get('sent')!s:<6} next: {_next_text(row)}")
            schedule = row.get("schedule")
            if row.get("held") and isinstance(schedule, list) and schedule:
                lines.append(" " * 42 + _status_bar(schedule, colour))
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
        import json  # noqa: PLC0415

        sys.stdout.write(json.dumps(reply) + "\n")
    else:
        from garpd.term import colour_enabled  # noqa: PLC0415

        sys.stdout.write(render_status(reply, colour=colour_enabled(sys.stdout)))
    return 0
