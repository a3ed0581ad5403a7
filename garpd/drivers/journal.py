"""The journal's native protocol: records as journal entries, written without blocking.

Under systemd, when ``JOURNAL_STREAM`` names our stderr (its ``device:inode`` equals
fstat(2) of fd 2, the test sd_journal itself uses), garpd writes each record straight to
journald's datagram socket instead of as a JSON line on stderr (SPEC: *Logs*), so that
journald knows its priority and fields:

- ``PRIORITY`` from the level (critical 2, error 3, warning 4, info 6, debug 7);
- every record key as ``GARPD_<KEY>`` (upper case; anything outside ``A-Z0-9_`` becomes
  ``_``; at most 64 characters); strings as they are, numbers and booleans as JSON writes
  them, lists and objects as compact JSON; a ``None`` value is left out;
- ``MESSAGE``: one readable sentence from the event's template in :data:`EVENTS`;
- ``MESSAGE_ID``: the event's stable 128-bit id from :data:`EVENTS` (events not listed
  there have none);
- ``SYSLOG_IDENTIFIER=garpd``.

Wire form (systemd's "native protocol"), one datagram per entry, field after field::

    NAME=value\n                          a value without a newline
    NAME\n <u64 little-endian length> value\n   any value (binary-safe form)

An entry too large for a datagram (EMSGSIZE) goes in a sealed memfd passed with
SCM_RIGHTS and an empty datagram, as sd_journal_sendv does.

The pure functions (:func:`stream_is_journal`, :func:`field_name`, :func:`entry`,
:func:`message`, :func:`encode`) are testable alone; :class:`JournalWriter` owns the
socket. It never blocks: the socket is non-blocking, a full journal (EAGAIN, ENOBUFS)
drops the entry (the caller counts it), and a journal that is not there (no socket,
refused, not permitted, memfd impossible) reports :data:`UNAVAILABLE` so the caller
writes the record to stderr as before. ``GARPD_JOURNAL_SOCKET`` names another socket
(tests and unusual hosts); the default is journald's ``/run/systemd/journal/socket``.
"""

from __future__ import annotations

import array
import contextlib
import errno
import os
import socket
from collections.abc import Iterable, Mapping
from typing import Final

DEFAULT_SOCKET: Final = "/run/systemd/journal/socket"
SOCKET_ENV: Final = "GARPD_JOURNAL_SOCKET"
IDENTIFIER: Final = "garpd"

PRIORITIES: Final = {"critical": 2, "error": 3, "warning": 4, "info": 6, "debug": 7}

#: Event name -> (MESSAGE_ID, MESSAGE template). The ids are random 128-bit values fixed
#: here once: never change one (operators filter on them), add a new one per new event.
#: A template names record fields; a missing field reads as its plural if that is there
#: (``error``/``errors``), else ``?``; lists read as comma-separated items.
EVENTS: Final[dict[str, tuple[str, str]]] = {
    "announce": ("e04136c0321a40ceb30b0075520dab7e",
        "announce {address} on {interface} ({reason}, {packets} packets)"),
    "packet": ("5ee296bd488c4985b6b262c126d54e39",
        "{kind} for {address} sent on {interface}"),
    "vip_acquired": ("0a785358728f42e4b13ab3105d33de13",
        "{address} acquired on {interface} (group {group})"),
    "vip_released": ("76f33d0dd7824f84aa11dc88a83b9980",
        "{address} released on {interface} ({why})"),
    "dad_failed": ("d1e25eb30f87422fa3598ecdc2e0b461",
        "duplicate address detection failed for {address} on {interface}"),
    "send_failed": ("36f4a6b704d047e491379ae6fa118a71",
        "frames could not be sent on {interface}: {error} ({dropped} dropped)"),
    "lower_prio_advert": ("c0baeb833c65453994846413d1afab6d",
        "lower-priority VRRP advert for VRID {vrid} (priority {priority})"
        " from {source} on {interface}"),
    "conflict": ("44c8e8e27a3f401eb0fc983b5e76729d",
        "{address} on {interface} is also claimed by {other_mac} ({frame}, {policy})"),
    "confirmed": ("aeb1038f98d74ad8acc6d09f16b8f729",
        "{address} on {interface} confirmed by {gateway} ({gateway_mac}) after {after_ms} ms"),
    "unconfirmed": ("e58d5941df984cab97a8d9bb25ce5f79",
        "{address} on {interface} not confirmed by {gateway} after {attempts} requests"),
    "config_loaded": ("991b19590f1240d1940e23fe6944a85a",
        "configuration loaded from {source} (groups {groups})"),
    "config_rejected": ("77564aee57e744aa901537509bd675e3",
        "configuration {source} rejected, {kept} kept: {errors}"),
    "keepalived_imported": ("959dbe4c3036420298a0028007a7fda2",
        "keepalived configuration imported from {files} (groups {groups})"),
    "keepalived_not_understood": ("7202878365224be7a3be855b80f1e386",
        "keepalived setting not understood: {note}"),
    "ready": ("13b9a14ec43e422daf39542eddafe508",
        "ready: {held} addresses held on {interfaces}"),
    "stopping": ("985b297882664d1291b1dcf884779f03",
        "stopping with {held} addresses held"),
    "netlink_overflow": ("52344e55abe54e259af1e9a1527e881e",
        "netlink socket overflowed: {action}"),
    "netlink_failed": ("03acdf22f7e049868ffdc23e1fa7356c",
        "netlink subscription failed: {error}"),
    "raw_socket_failed": ("771186cb55544ea8b646472c37cb55f8",
        "raw socket could not be opened: {error} ({hint})"),
    "control_socket_failed": ("adb56753c72a423799a9d24c96c71b21",
        "control socket {path} could not be opened: {error}"),
    "control_denied": ("36bf392a81994f5798b346621725ea4a",
        "control request from uid {uid} denied"),
    "control_rejected": ("babe56f67d9b44cda02ea4f86dc51e66",
        "control request rejected: {error}"),
    "control_failed": ("e611f3a0542d4584930a4f519c70d9f6",
        "control command {command} failed: {error}"),
    "metrics_listening": ("8d40dd7e59a14bdebdfade69f3b81443",
        "metrics served on {listen}"),
    "metrics_listen_failed": ("5e1314e82aee4f51aed73ad2f80da357",
        "metrics could not be served on {listen}: {error}"),
    "fifo_failed": ("26cb585389174891a6800da290c39851",
        "notify FIFO {path} could not be opened: {error}"),
    "fifo_read_failed": ("9c56c39da6aa499d8dc4a8248b7190f8",
        "notify FIFO {path} could not be read: {error}"),
    "fifo_malformed": ("a1e4662e6978432e864e40663aff5286",
        "notify FIFO {path}: malformed line ({reason})"),
    "vrrp_listen_failed": ("3223183cfd9d4c2a91e1e46ae3a4de86",
        "VRRP listener on {interface} could not be opened: {error}"),
    "vrrp_receive_failed": ("1eec48da678341ed851d881df2d5e67e",
        "VRRP listener on {interface} failed: {error}"),
    "vrrp_malformed": ("450da44ca0b541b4a6feab0d5b5a11a5",
        "malformed VRRP packet on {interface}: {reason}"),
    "neighbour_listen_failed": ("4d7d2b2e997b43378a936c8e18725c73",
        "neighbour listener on {interface} could not be opened: {error}"),
    "neighbour_filter_failed": ("4f6e973c186c4588a69aefb5ab368cf9",
        "neighbour listener filter on {interface} could not be set: {error}"),
    "neighbour_receive_failed": ("a262c51527ad457c93334f2731d4deed",
        "neighbour listener on {interface} failed: {error}"),
    "neighbour_malformed": ("064f86fe858d485798ce53c7e60f87f0",
        "malformed ARP/ND frame on {interface}: {reason}"),
    "gateway_dump_failed": ("e384c3042ad140d9b72e1e25342e6761",
        "routes and neighbours could not be read: {error}"),
    "notify_received": ("807c0f4e8151491d8dcaf2184df19639",
        "notify {type} {name} {state}"),
    "notify_unknown": ("3c1518638caf406a82c2fa7f180fd516",
        "notify {type} {name} {state} matches no group"),
    "notify_ignored": ("f8343b40beee48a290ed977531f70bed",
        "notify ignored: {reason}"),
    "notify_handed_off": ("aeffdb3bb539470dbe354d2b7f3a888c",
        "notify {type} {name} {state} handed to the daemon ({action})"),
    "notify_refused": ("17ef6b4d79df4889b8abbb9184589e46",
        "notify {type} {name} {state} refused by the daemon: {error}"),
    "notify_failed": ("850e0b3c58814e52984c8d1bad168bdd",
        "notify {type} {name} failed: {error}"),
    "announce_incomplete": ("0aeac6449642487eae07e55b6c0dc5d8",
        "announce on {interface} incomplete: {addresses} not sent"),
}

SENT: Final = "sent"
DROPPED: Final = "dropped"
UNAVAILABLE: Final = "unavailable"

_MAX_NAME = 64
_SNDBUF = 8 * 1024 * 1024  # as sd_journal asks; the kernel caps it at wmem_max
_FULL = frozenset({errno.EAGAIN, errno.ENOBUFS})


def stream_is_journal(value: str | None, fd: int = 2) -> bool:
    """True when ``value`` (``JOURNAL_STREAM``: ``device:inode``) names what ``fd`` is."""
    if not value:
        return False
    dev, sep, ino = value.partition(":")
    try:
        want = (int(dev), int(ino))
        st = os.fstat(fd)
    except (ValueError, OSError):
        return False
    return bool(sep) and (st.st_dev, st.st_ino) == want


def field_name(key: str) -> str:
    """``GARPD_`` and ``key`` upper-cased, reduced to the journal's ``A-Z0-9_``, 64 at most."""
    name = "".join(c if ("A" <= c <= "Z" or "0" <= c <= "9") else "_" for c in key.upper())
    return ("GARPD_" + name)[:_MAX_NAME]


def _value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    import json  # noqa: PLC0415 - only lists and objects need it

    return json.dumps(value, separators=(",", ":"), default=str)


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> object:
        plural = key + "s"
        if plural in self:
            return self[plural]
        return "?"

    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        if isinstance(value, list | tuple | set | frozenset):
            return ", ".join(str(v) for v in value)
        return value


def message(event: str, fields: Mapping[str, object]) -> str:
    """The readable sentence for one record (``event key=value ...`` if not in EVENTS)."""
    known = EVENTS.get(event)
    if known is None:
        rest = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return f"{event} {rest}".rstrip()
    try:
        return known[1].format_map(_Fields(fields))
    except (ValueError, IndexError, AttributeError):  # a field's own __format__ refused
        return event


def entry(record: Mapping[str, object]) -> list[tuple[str, str]]:
    """The journal fields of one record (``event`` and ``level`` included as fields)."""
    event = str(record.get("event", ""))
    level = str(record.get("level", "info"))
    fields = {k: v for k, v in record.items() if k not in ("event", "level", "timestamp")}
    out = [("MESSAGE", message(event, fields)),
           ("PRIORITY", str(PRIORITIES.get(level, 6))),
           ("SYSLOG_IDENTIFIER", IDENTIFIER)]
    known = EVENTS.get(event)
    if known is not None:
        out.append(("MESSAGE_ID", known[0]))
    out.extend((field_name(str(k)), _value(v)) for k, v in record.items() if v is not None)
    return out


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """The native-protocol datagram for ``fields`` (binary-safe form for multi-line values)."""
    parts: list[bytes] = []
    for name, text in fields:
        value = text.encode("utf-8", "backslashreplace")
        key = name.encode("ascii")
        if b"\n" in value:
            parts.append(key + b"\n" + len(value).to_bytes(8, "little") + value + b"\n")
        else:
            parts.append(key + b"=" + value + b"\n")
    return b"".join(parts)


class JournalWriter:
    """journald's native socket, non-blocking; :meth:`send` says what became of an entry."""

    def __init__(self, path: str | None = None, sock: socket.socket | None = None) -> None:
        self.path = path or os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SNDBUF)
        sock.setblocking(False)
        self._sock = sock

    def send(self, data: bytes) -> str:
        """Write one entry: :data:`SENT`, :data:`DROPPED` (journal full) or
        :data:`UNAVAILABLE` (no journal there: write the record elsewhere)."""
        try:
            self._sock.sendto(data, self.path)
        except OSError as exc:
            if exc.errno in _FULL:
                return DROPPED
            if exc.errno == errno.EMSGSIZE:
                return self._send_memfd(data)
            return UNAVAILABLE
        return SENT

    def _send_memfd(self, data: bytes) -> str:
        import fcntl  # noqa: PLC0415 - only for entries over a datagram's size

        try:
            fd = os.memfd_create("garpd-journal", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except (OSError, AttributeError):
            return UNAVAILABLE
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                        | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
            rights = array.array("i", [fd])
            self._sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)], 0,
                               self.path)
        except OSError as exc:
            return DROPPED if exc.errno in _FULL else UNAVAILABLE
        finally:
            os.close(fd)
        return SENT

    def write(self, record: Mapping[str, object]) -> str:
        """:meth:`send` the entry of one record (event, level and fields)."""
        return self.send(encode(entry(record)))

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


def from_environment(path: str | None = None, fd: int = 2) -> JournalWriter | None:
    """A writer when ``JOURNAL_STREAM`` names ``fd`` (stderr), else None."""
    if not stream_is_journal(os.environ.get("JOURNAL_STREAM"), fd):
        return None
    try:
        return JournalWriter(path)
    except OSError:
        return None
