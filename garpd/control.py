"""The control protocol: request parsing, the blocking client, ``garpd status``.

Newline-delimited JSON over a Unix stream socket, one request per line, one reply per
request, every reply with ``"ok"`` (and ``"error"`` when false). This module is on the
notify hook's hand-off path, so it imports only light stdlib modules (no asyncio, no
typing machinery at run time); the daemon's end lives in :mod:`garpd.drivers.control_server`.
"""

from __future__ import annotations

import socket
import time

from garpd.errors import RemoteError

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
    """Decode one request line; raises RemoteError with a reason for the client."""
    import json  # noqa: PLC0415 - the daemon's side; the hook never parses requests

    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, and an
        # integer of more than sys.get_int_max_str_digits() digits (4300): a ValueError
        raise RemoteError("not a JSON object") from None
    if not isinstance(data, dict):
        raise RemoteError("not a JSON object")
    command = data.get("command")
    if command not in ("status", "notify", "ping", "metrics"):
        raise RemoteError("unknown command (expected status, notify, metrics or ping)")
    if command == "notify":
        kind, name, state = data.get("type"), data.get("name"), data.get("state")
        if kind not in ("INSTANCE", "GROUP"):
            raise RemoteError("notify: type must be INSTANCE or GROUP")
        if not isinstance(name, str) or not name or len(name) > 256:
            raise RemoteError("notify: name must be a non-empty string")
        if state not in NOTIFY_STATES:
            raise RemoteError(f"notify: state must be one of {', '.join(NOTIFY_STATES)}")
        priority = data.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)
                                     or not 0 <= priority <= 255):
            raise RemoteError("notify: priority must be an integer 0..255")
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


def socket_path(config: str | None, default_config: str = DEFAULT_CONFIG) -> str:
    """The control socket named by the configuration (read with tomllib only, no pydantic).

    A missing default file means the built-in default socket; a file that cannot be read
    or parsed here also falls back to it (the full validation is ``garpd check``'s job).
    """
    path = config or default_config
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError:
        return DEFAULT_SOCKET
    quick = _quick_socket(raw)
    if quick is not None:
        return quick
    quick = subset_socket(raw)
    if quick is not None:
        return quick
    import tomllib  # noqa: PLC0415 - ~10 ms: only when the file is outside the subset

    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):  # nested too deep
        return DEFAULT_SOCKET
    section = data.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_SOCKET


def _quick_socket(raw: bytes) -> str | None:
    """The default socket when the file cannot name another, without a TOML parser; else
    None (tomllib decides).

    A file that holds neither ``control`` nor a backslash (an escape could spell the key
    in a quoted name) cannot set ``[control] socket``: valid or not, tomllib would give the
    default too. Anything else is left to tomllib, so the answer always agrees with it
    (a property test checks that on arbitrary files).
    """
    if b"control" not in raw and b"\\" not in raw:
        return DEFAULT_SOCKET
    return None


# A TOML subset, each line one of: blank, a comment, a [table] or [[array]] header with a
# bare name, or bare-key = value with value a basic string without escapes, a literal
# string, a decimal integer or float, a boolean, or a one-line array of those. Anything
# else (quoted or dotted keys, escapes, multi-line strings, inline tables, dates, ...)
# sends the whole file to tomllib. Scanned by hand: ``re`` alone costs the hook ~2 ms.
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")


def _plain(text: str) -> bool:
    """No control character but tab (TOML's rule for strings and comments)."""
    return all(("\x20" <= c != "\x7f") or c == "\t" for c in text)


def _ws(line: str, i: int) -> int:
    while i < len(line) and line[i] in " \t":
        i += 1
    return i


def _bare(line: str, i: int) -> int:
    while i < len(line) and line[i] in _BARE:
        i += 1
    return i


def _scalar(line: str, i: int) -> int | None:
    """The end of the subset scalar at ``i``, None if there is none."""
    n = len(line)
    if i >= n:
        return None
    c = line[i]
    if c in "\"'":
        end = line.find(c, i + 1)
        body = line[i + 1:end]
        if end < 0 or not _plain(body) or (c == '"' and "\\" in body):
            return None
        return end + 1
    for word in ("true", "false"):
        if line.startswith(word, i):
            return i + len(word)
    if c in "+-":
        i += 1
    if i >= n or line[i] not in _DIGITS:
        return None
    if line[i] == "0":
        i += 1
    else:
        while i < n and line[i] in _DIGITS:
            i += 1
    if i + 1 < n and line[i] == "." and line[i + 1] in _DIGITS:
        i += 2
        while i < n and line[i] in _DIGITS:
            i += 1
    return i


def _value(line: str, i: int) -> int | None:
    """The end of the subset value (a scalar or a one-line array of them) at ``i``."""
    if not line.startswith("[", i):
        return _scalar(line, i)
    i = _ws(line, i + 1)
    while True:
        if line.startswith("]", i):
            return i + 1
        end = _scalar(line, i)
        if end is None:
            return None
        i = _ws(line, end)
        if line.startswith(",", i):
            i = _ws(line, i + 1)
        elif not line.startswith("]", i):
            return None


def _subset_line(line: str) -> tuple[str, str, str] | None:
    """(kind, name, value) of one subset line (kind "" for blank or comment), else None."""
    kind = name = value = ""
    i = _ws(line, 0)
    if line.startswith("[[", i):
        end = _bare(line, i + 2)
        if end == i + 2 or not line.startswith("]]", end):
            return None
        kind, name, i = "array", line[i + 2:end], end + 2
    elif line.startswith("[", i):
        end = _bare(line, i + 1)
        if end == i + 1 or not line.startswith("]", end):
            return None
        kind, name, i = "table", line[i + 1:end], end + 1
    elif i < len(line) and line[i] != "#":
        end = _bare(line, i)
        if end == i:
            return None
        name = line[i:end]
        i = _ws(line, end)
        if not line.startswith("=", i):
            return None
        i = _ws(line, i + 1)
        stop = _value(line, i)
        if stop is None:
            return None
        kind, value, i = "key", line[i:stop], stop
    i = _ws(line, i)
    if i < len(line) and (line[i] != "#" or not _plain(line[i + 1:])):
        return None
    return kind, name, value


def subset_socket(raw: bytes) -> str | None:
    """tomllib's answer for ``[control] socket`` when the file is inside a plain TOML
    subset (:func:`subset_load`); None (ask tomllib) for anything else, an invalid file
    included (tomllib then refuses it, and the answer is the default). A property test
    (tests/test_control.py) holds this to tomllib's answer.
    """
    data = subset_load(raw)
    if data is None:
        return None
    section = data.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_SOCKET


def subset_load(raw: bytes) -> dict[str, Any] | None:
    """What ``tomllib.loads`` reads from a file inside the subset above; None for anything
    else, an invalid file included (a name defined twice): then tomllib decides, and says
    why. The notify hook's fallback reads its configuration so: tomllib with its regular
    expressions, string and datetime costs it ~3 ms before its first frame. A property
    test (tests/test_control.py) holds this to tomllib's answer."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    data: dict[str, Any] = {}
    arrays: set[str] = set()
    current = data
    for line in text.replace("\r\n", "\n").split("\n"):  # as tomllib reads lines
        parsed = _subset_line(line)
        if parsed is None:
            return None
        kind, name, value = parsed
        if kind == "array":
            if name in data and name not in arrays:  # a table or a key of that name
                return None
            arrays.add(name)
            current = {}
            data.setdefault(name, []).append(current)
        elif kind == "table":
            if name in data:  # a table, an array of tables or a key of that name
                return None
            current = data[name] = {}
        elif kind == "key":
            if name in current:
                return None
            current[name] = _subset_value(value)
    return data


def _subset_value(value: str) -> Any:
    """The Python value of a subset value (:func:`_value` accepted it)."""
    if not value.startswith("["):
        return _subset_scalar(value)
    items = []
    i = _ws(value, 1)
    while not value.startswith("]", i):
        end = _scalar(value, i)
        assert end is not None  # checked by _value
        items.append(_subset_scalar(value[i:end]))
        i = _ws(value, end)
        if value.startswith(",", i):
            i = _ws(value, i + 1)
    return items


def _subset_scalar(text: str) -> Any:
    if text[0] in "\"'":
        return text[1:-1]  # no escapes in the subset
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)

