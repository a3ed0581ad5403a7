"""The configuration: pydantic models of garpd.toml, loading it, and what it means per group.

This module owns everything about the TOML file described in SPEC.md "Configuration":

- the models (:class:`Config` and its sections); unknown keys are errors everywhere, ranges
  are enforced and never clamped, booleans are not numbers;
- reading a file (:func:`load_config`, :func:`resolve` with the built-in default) and turning
  every problem into a :class:`ConfigError` whose lines name the file, the key path, the bad
  value and what would be accepted, never a traceback;
- the effective settings of a group (:meth:`Config.effective`) and :class:`ConfigPolicy`,
  the :class:`garpd.core.Policy` the core asks which addresses to watch and how to pace.

pydantic is imported here only; the CLI imports this module lazily.
"""

from __future__ import annotations

import difflib
import gc
import ipaddress
import json
import math
import operator
import os
import re
import socket
import stat
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from garpd.errors import UserError
from garpd.frames import Address, Mode
from garpd.keepalived import Imported, KeepalivedConfError, load_keepalived, merge_toml
from garpd.policy import GroupPolicy, Timing, Watch, timing_of

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PATH: Final = Path("/etc/garpd/garpd.toml")
DEFAULT_SOCKET: Final = Path("/run/garpd/garpd.sock")
#: The ``source`` :func:`resolve` reports when it falls back to the built-in default.
BUILTIN_SOURCE: Final = "built-in default"
#: The group name of addresses watched by a configuration without ``[[group]]``.
DEFAULT_GROUP: Final = "default"

#: keepalived: garp_master_delay and garp_lower_prio_delay take 0..4294 seconds.
MAX_DELAY: Final = 4294.0
#: keepalived: vrrp_garp_interval / vrrp_gna_interval take up to 4294.967295 seconds.
MAX_INTERVAL: Final = 4294.967295
#: keepalived: garp_master_refresh takes 0..UINT_MAX seconds.
MAX_REFRESH: Final = 4294967295.0
#: keepalived accepts up to INT_MAX packets per burst; garpd stops at 10000, because a burst
#: with no interval leaves in one go and millions of frames per address help nobody.
MAX_REPEAT: Final = 10000
#: At most this many gateways per group (each costs a directed request per schedule).
MAX_GATEWAYS: Final = 64
#: confirm_timeout is at most a minute (doubled per retry: 10 retries of 60 s is 17 h).
MAX_CONFIRM_TIMEOUT: Final = 60.0
MAX_CONFIRM_RETRIES: Final = 10
#: Linux IFNAMSIZ is 16 including the terminating NUL.
MAX_IFNAME: Final = 15
#: sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH: Final = 107
#: A file larger than this is not a garpd configuration.
MAX_FILE_SIZE: Final = 1 << 20

#: The keys of ``[announce]``, in the order the effective settings are shown.
ANNOUNCE_KEYS: Final = (
    "master_delay", "master_repeat", "master_refresh", "master_refresh_repeat",
    "lower_prio_delay", "lower_prio_repeat", "interval", "na_interval", "mode",
    "announce_on_start", "conflict", "defend_interval", "gateways", "confirm_timeout",
    "confirm_retries",
)


class ConfigError(UserError):
    """The configuration is unusable; ``lines`` says why, one human-readable line each."""

    def __init__(self, lines: Iterable[str]) -> None:
        super().__init__(*lines)


# --- field types ------------------------------------------------------------------------
# Scalars are strict (TOML already types its values): an int is never a bool or a float,
# a float accepts ints, a string is never coerced from anything else.

Repeat = Annotated[int, Strict(), Field(ge=1, le=MAX_REPEAT)]
LowerRepeat = Annotated[int, Strict(), Field(ge=0, le=MAX_REPEAT)]
Delay = Annotated[float, Strict(), Field(ge=0, le=MAX_DELAY, allow_inf_nan=False)]
Refresh = Annotated[float, Strict(), Field(ge=0, le=MAX_REFRESH, allow_inf_nan=False)]
Interval = Annotated[float, Strict(), Field(ge=0, le=MAX_INTERVAL, allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]
ConfirmTimeout = Annotated[float, Strict(), Field(gt=0, le=MAX_CONFIRM_TIMEOUT,
                                                  allow_inf_nan=False)]
ConfirmRetries = Annotated[int, Strict(), Field(ge=0, le=MAX_CONFIRM_RETRIES)]
ConflictPolicy = Literal["defend", "log", "off"]
GatewaySpec = tuple[Address, ...] | Literal["auto"]
VrrpByte = Annotated[int, Strict(), Field(ge=1, le=255)]


def _fail(reason: str) -> PydanticCustomError:
    """A validation error whose message is ``reason`` as written (``must be ...``)."""
    return PydanticCustomError("garpd", reason)


def _text(value: object, accepted: str) -> str:
    """``value`` if it is a string, else the error ``must be <accepted>``."""
    if not isinstance(value, str):
        raise _fail(f"must be {accepted}")
    return value


_CONTROL = re.compile("[\x00-\x1f\x7f]")
_IFNAME = re.compile(r"[!-.0-9;-~]{1,15}")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                   r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def _parse_name(value: object) -> str:
    text = _text(value, "a non-empty string")
    if not text.strip():
        raise _fail("must be a non-empty string")
    if _CONTROL.search(text) is not None:
        raise _fail("must not contain control characters")
    return text


def _parse_ifname(value: object) -> str:
    accepted = f"an interface name of 1 to {MAX_IFNAME} bytes without '/', ':' or whitespace"
    text = _text(value, accepted)
    if _IFNAME.fullmatch(text) is not None and text not in (".", ".."):
        return text  # printable ASCII without '/' and ':', 1..15 bytes (the common case)
    if not text or text in (".", "..") or len(text.encode()) > MAX_IFNAME:
        raise _fail(f"must be {accepted}")
    if any(c in "/:" or c.isspace() or ord(c) < 0x20 for c in text):
        raise _fail(f"must be {accepted}")
    return text


def _parse_address(value: object) -> Address:
    accepted = 'must be an IPv4 or IPv6 unicast address (a "/len" suffix is ignored)'
    text = _text(value, accepted.removeprefix("must be ")).strip()
    head, slash, suffix = text.partition("/")
    if "%" in head:
        raise _fail(f"{accepted}; a %zone suffix is not accepted")
    if _IPV4.fullmatch(head) is not None and (not slash or (
            suffix.isascii() and suffix.isdigit() and int(suffix) <= 32)):
        # The common case, a dotted quad as ip_address reads it: built from its bytes.
        first = int(head[:head.index(".")])
        if not (224 <= first <= 239 or head == "0.0.0.0"):  # noqa: S104 - an address
            return ipaddress.IPv4Address(socket.inet_aton(head))
    try:
        address = ipaddress.ip_address(head)
    except ValueError:
        raise _fail(accepted) from None
    if slash and not (suffix.isdigit() and int(suffix) <= address.max_prefixlen):
        raise _fail(f"{accepted}; the /len suffix must be 0..{address.max_prefixlen}")
    if address.is_multicast or address.is_unspecified:
        raise _fail(accepted)
    return address


def _parse_gateways(value: object) -> GatewaySpec:
    accepted = 'must be a list of IP addresses, or ["auto"]'
    if not isinstance(value, list | tuple):
        raise _fail(accepted)
    if "auto" in value:
        if len(value) != 1:
            raise _fail(f'{accepted}: "auto" cannot be mixed with addresses')
        return "auto"
    if len(value) > MAX_GATEWAYS:
        raise _fail(f"{accepted}; at most {MAX_GATEWAYS} gateways")
    out: list[Address] = []
    for i, item in enumerate(value):
        text = item.strip() if isinstance(item, str) else None
        if text is None:
            raise _fail(f"{accepted}; entry {i} is not a string")
        if "%" in text:
            raise _fail(f"{accepted}; entry {i} ({text}): a %zone suffix is not accepted "
                        "(the group's interface is the zone)")
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise _fail(f"{accepted}; entry {i} ({text}) is not an IP address") from None
        if (address.is_multicast or address.is_unspecified or address.is_loopback
                or address == ipaddress.IPv4Address("255.255.255.255")):
            raise _fail(f"{accepted}; entry {i} ({text}) is not a unicast address")
        if address in out:
            raise _fail(f"{accepted}; entry {i} ({text}) is listed twice")
        out.append(address)
    return tuple(out)


def _parse_network(value: object) -> Network:
    accepted = "must be a network in CIDR form, e.g. 198.51.100.0/24 or 2001:db8:1::/64"
    text = _text(value, accepted.removeprefix("must be ")).strip()
    if "/" not in text:
        raise _fail(accepted)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    else:
        if network.is_multicast:
            raise _fail(f"{accepted}; a multicast network is not accepted")
        return network
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _fail(accepted) from None
    raise _fail(f"has host bits set; did you mean {loose}?")


def _parse_path(value: object, limit: int | None = None) -> Path:
    accepted = "an absolute path"
    if limit is not None:
        accepted += f" of at most {limit} bytes"
    text = _text(value, accepted)
    if not text.startswith("/") or "\0" in text:
        raise _fail(f"must be {accepted}")
    if limit is not None and len(text.encode()) > limit:
        raise _fail(f"must be {accepted}")
    return Path(text)


def _parse_socket(value: object) -> Path:
    return _parse_path(value, MAX_SOCKET_PATH)


Name = Annotated[str, PlainValidator(_parse_name)]
Ifname = Annotated[str, PlainValidator(_parse_ifname)]
IpAddress = Annotated[Address, PlainValidator(_parse_address)]
IpNetwork = Annotated[Network, PlainValidator(_parse_network)]
Gateways = Annotated[GatewaySpec, PlainValidator(_parse_gateways)]
DefendInterval = Delay
AbsPath = Annotated[Path, PlainValidator(_parse_path)]
SocketPath = Annotated[Path, PlainValidator(_parse_socket)]

_STRICT_SECTION = ConfigDict(extra="forbid", frozen=True)


# --- models -----------------------------------------------------------------------------


class Announce(BaseModel):
    """``[announce]``: the timing of every group; the defaults are keepalived's.

    ``lower_prio_delay`` / ``lower_prio_repeat`` left unset follow ``master_delay`` /
    ``master_repeat`` of this section (see :meth:`Config.effective`).
    """

    model_config = _STRICT_SECTION

    master_delay: Delay = 5.0
    master_repeat: Repeat = 5
    master_refresh: Refresh = 0.0
    master_refresh_repeat: Repeat = 1
    lower_prio_delay: Delay | None = None
    lower_prio_repeat: LowerRepeat | None = None
    interval: Interval = 0.0
    na_interval: Interval = 0.0
    mode: Mode = "request"
    announce_on_start: Flag = True
    conflict: ConflictPolicy = "defend"
    defend_interval: DefendInterval = 10.0
    gateways: Gateways = ()
    confirm_timeout: ConfirmTimeout = 1.0
    confirm_retries: ConfirmRetries = 3


class LogSettings(BaseModel):
    """``[log]``: ``format`` unset means console on a TTY, JSON otherwise."""

    model_config = _STRICT_SECTION

    format: Literal["json", "console"] | None = None
    level: Literal["debug", "info", "warning", "error"] = "info"


class Control(BaseModel):
    """``[control]``: where the daemon listens for ``status`` and ``notify``."""

    model_config = _STRICT_SECTION

    socket: SocketPath = DEFAULT_SOCKET


def _parse_listen(value: object) -> str:
    accepted = 'a loopback address and port, "127.0.0.1:PORT" or "[::1]:PORT", or "" (off)'
    text = _text(value, accepted)
    if text == "":
        return text
    if listen_address(text) is None:
        raise _fail(f"must be {accepted}")
    return text


def listen_address(text: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``[metrics] listen`` value on a loopback address, else None."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            return None
    elif ":" in host:
        return None  # IPv6 needs its brackets
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_loopback or "%" in host:
        return None
    return str(address), int(port)


Listen = Annotated[str, PlainValidator(_parse_listen)]


class Metrics(BaseModel):
    """``[metrics]``: where ``/metrics`` is served (loopback only); "" = off."""

    model_config = _STRICT_SECTION

    listen: Listen = ""


class Keepalived(BaseModel):
    """``[keepalived]``: keepalived's notify FIFO and configuration file, both optional."""

    model_config = _STRICT_SECTION

    notify_fifo: AbsPath | None = None
    config: AbsPath | None = None
    #: keepalived's ``-i`` config id for ``@ID`` / ``@^ID`` lines; unset: the node name up
    #: to its first dot, as keepalived defaults it.
    config_id: Name | None = None
    #: An import that yields no group is an error unless this says the catch-all (every
    #: address on every interface) is wanted.
    allow_no_groups: bool = False


class Group(BaseModel):
    """``[[group]]``: addresses that move together, with optional ``[announce]`` overrides.

    An override left unset (None) takes the ``[announce]`` value.
    """

    model_config = _STRICT_SECTION

    name: Name
    interface: Ifname
    addresses: tuple[IpAddress, ...] = ()
    networks: tuple[IpNetwork, ...] = ()
    sync_group: Name | None = None
    priority: VrrpByte | None = None
    vrid: VrrpByte | None = None

    master_delay: Delay | None = None
    master_repeat: Repeat | None = None
    master_refresh: Refresh | None = None
    master_refresh_repeat: Repeat | None = None
    lower_prio_delay: Delay | None = None
    lower_prio_repeat: LowerRepeat | None = None
    interval: Interval | None = None
    na_interval: Interval | None = None
    mode: Mode | None = None
    announce_on_start: Flag | None = None
    conflict: ConflictPolicy | None = None
    defend_interval: DefendInterval | None = None
    gateways: Gateways | None = None
    confirm_timeout: ConfirmTimeout | None = None
    confirm_retries: ConfirmRetries | None = None

    @model_validator(mode="after")
    def _watches_something(self) -> Group:
        if not self.addresses and not self.networks:
            raise _fail("must have addresses or networks (it has neither)")
        return self

    def overrides(self) -> frozenset[str]:
        """The ``[announce]`` keys this group sets itself."""
        return frozenset(k for k in ANNOUNCE_KEYS if getattr(self, k) is not None)


class _Memo(dict[tuple[object, ...] | None, "Effective"]):
    """:meth:`Config.effective`'s memo, by overrides: two configurations are equal
    whatever each has memoised (pydantic compares private attributes too)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, _Memo)

    __hash__ = None


#: A group's ``[announce]`` overrides (None where unset), in ANNOUNCE_KEYS order.
_OVERRIDES: Final = operator.attrgetter(*ANNOUNCE_KEYS)


@dataclass(frozen=True, slots=True)
class Effective:
    """The settings one group runs with: its core timing and its interface pacing.

    ``sources`` says where each ``[announce]`` key's value came from: ``"group"``,
    ``"announce"``, ``"default"``, ``"builtin"``, or for an unset lower-prio key the
    ``[announce]`` key it follows (``"master_delay"``, ``"master_repeat"``).
    """

    timing: Timing
    interval: float
    na_interval: float
    sources: Mapping[str, str]

    def value(self, key: str) -> object:
        """The effective value of the ``[announce]`` key ``key``."""
        if key in ("interval", "na_interval"):
            return float(getattr(self, key))
        value = getattr(self.timing, key)
        if key == "gateways" and value != "auto":
            return [str(g) for g in value]
        if key == "gateways":
            return ["auto"]
        return value


class Config(BaseModel):
    """The whole file: ``[announce]``, ``[log]``, ``[control]``, ``[metrics]``, ``[keepalived]``,
    ``[[group]]``."""

    model_config = _STRICT_SECTION

    announce: Announce = Announce()
    log: LogSettings = LogSettings()
    control: Control = Control()
    metrics: Metrics = Metrics()
    keepalived: Keepalived = Keepalived()
    groups: tuple[Group, ...] = Field(default=(), alias="group")

    _builtin: bool = PrivateAttr(default=False)
    _keepalived: Imported | None = PrivateAttr(default=None)
    _effective_cache: _Memo = PrivateAttr(default_factory=_Memo)

    @property
    def keepalived_import(self) -> Imported | None:
        """What ``[keepalived] config`` imported (groups, settings, notes), if anything."""
        return self._keepalived

    @classmethod
    def builtin(cls) -> Config:
        """The built-in default: every interface, keepalived's timing, no announce on start."""
        config = cls(announce=Announce(announce_on_start=False))
        config._builtin = True
        return config

    @property
    def is_builtin(self) -> bool:
        """Whether this is the built-in default rather than a file."""
        return self._builtin

    def effective(self, group: Group | None = None) -> Effective:
        """The settings of ``group`` (or, with None, of addresses in no group).

        A group's own value wins, then ``[announce]``, then keepalived's default.
        ``lower_prio_delay`` / ``lower_prio_repeat`` unset everywhere follow
        ``[announce]``'s ``master_delay`` / ``master_repeat``, *not* a group's own
        ``master_*``: keepalived (vrrp_complete_instance) resolves a per-instance
        ``garp_lower_prio_*``, else the global ``vrrp_garp_lower_prio_*``, else the global
        ``vrrp_garp_master_*``; a per-instance ``garp_master_*`` never feeds lower-prio.
        """
        # Memoised per distinct set of overrides: a 40,000-group import asks about every
        # group several times (check, policy, cross-check) and most share their settings.
        # Private attributes are read through the private dict: pydantic's __getattr__
        # costs microseconds per access.
        private = self.__pydantic_private__
        assert private is not None
        overrides = _OVERRIDES(group) if group is not None else None
        cache: _Memo = private["_effective_cache"]
        found = cache.get(overrides)
        if found is None:
            found = cache[overrides] = self._effective(overrides, private["_builtin"])
        return found

    def _effective(self, overrides: tuple[object, ...] | None, builtin: bool) -> Effective:
        announce = self.announce
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for index, key in enumerate(ANNOUNCE_KEYS):
            own = overrides[index] if overrides is not None else None
            if own is not None:
                values[key], sources[key] = own, "group"
                continue
            value = getattr(announce, key)
            if value is None:  # lower_prio_* unset: follow [announce]'s master_*
                follows = key.replace("lower_prio", "master")
                value = getattr(announce, follows)
                sources[key] = follows
            elif builtin and key == "announce_on_start":
                sources[key] = "builtin"
            elif key in announce.model_fields_set:
                sources[key] = "announce"
            else:
                sources[key] = "default"
            values[key] = value
        timing = timing_of(values)
        return Effective(timing, float(values["interval"]), float(values["na_interval"]),
                         sources)


# --- the policy the core asks -----------------------------------------------------------


class ConfigPolicy(GroupPolicy):
    """:class:`garpd.core.Policy` for a :class:`Config`: what to watch, how to pace (the
    rules are :class:`garpd.policy.GroupPolicy`'s)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        default = config.effective(None)

        def members() -> Iterator[tuple[Group, Watch, tuple[float, float]]]:
            for group in config.groups:
                eff = config.effective(group)
                yield group, Watch(group.name, eff.timing), (eff.interval, eff.na_interval)

        super().__init__(members(), Watch(DEFAULT_GROUP, default.timing),
                         (default.interval, default.na_interval))

    def groups_named(self, name: str,
                     kind: Literal["INSTANCE", "GROUP"] | None = None) -> list[Group]:
        """Groups whose ``name`` (INSTANCE) or ``sync_group`` (GROUP) is ``name``.

        With ``kind`` None both are matched, as ``garpd notify`` cannot always tell.
        """
        imported = self.config.keepalived_import
        split = set(imported.instances.get(name, ())) if imported is not None else set()
        return [
            g for g in self.config.groups
            if (kind != "GROUP" and (g.name == name or g.name in split))
            or (kind != "INSTANCE" and g.sync_group is not None and g.sync_group == name)
        ]

    def interfaces(self) -> frozenset[str] | None:
        """The configured interface names, or None for "every interface"."""
        if not self.config.groups:
            return None
        return frozenset(g.interface for g in self.config.groups)


# --- loading ----------------------------------------------------------------------------


def parse_config(data: Mapping[str, Any], source: str) -> Config:
    """Validate already-parsed TOML ``data``; ``source`` names it in error lines.

    With ``[keepalived] config``, groups and garp settings are first imported from
    keepalived.conf and the TOML's own keys laid over them (the TOML wins, per key).
    """
    # The import and the validation allocate hundreds of thousands of small containers
    # and no garbage cycles worth collecting: the cyclic collector's full passes over
    # them cost a third of a 40,000-instance import. It runs again afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_config(data, source)
    finally:
        if collecting:
            gc.enable()


def _parse_config(data: Mapping[str, Any], source: str) -> Config:
    imported = _import_keepalived(data, source)
    # Not copied: the validation only reads the imported groups.
    merged = merge_toml(data, imported, copy=False) if imported is not None else data
    try:
        config = _validate(merged)
    except _InvalidError as exc:
        lines = _error_lines(exc.errors, merged, source)
        if imported is not None:
            lines = [_blame_import(line, data, imported) for line in lines]
        raise ConfigError(lines) from None
    problems = _cross_check(config, source)
    if problems:
        raise ConfigError(problems)
    config._keepalived = imported
    return config


#: More ``[[group]]`` tables than this (a large keepalived.conf import) are validated one
#: at a time, each sharing its ``model_fields_set`` at once (see :func:`_share_fields_set`):
#: validating 40,000 in one go holds 28 MB of identical sets at its peak.
BULK_GROUPS: Final = 1000


class _InvalidError(Exception):
    def __init__(self, errors: list[Any]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _validate(merged: Mapping[str, Any]) -> Config:
    """``Config.model_validate(merged)``; :class:`_InvalidError` with pydantic's errors."""
    tables = merged.get("group")
    shared: dict[frozenset[str], set[str]] = {}
    if not isinstance(tables, list) or len(tables) <= BULK_GROUPS:
        try:
            config = Config.model_validate(merged)
        except ValidationError as exc:
            raise _InvalidError(list(exc.errors())) from None
        for group in config.groups:
            _share_fields_set(group, shared)
        return config
    errors: list[Any] = []
    groups: list[Group] = []
    for index, table in enumerate(tables):
        try:
            group = Group.model_validate(table)
        except ValidationError as exc:
            errors.extend({**e, "loc": ("group", index, *e["loc"])} for e in exc.errors())
            continue
        _share_fields_set(group, shared)
        groups.append(group)
    try:
        # Validated groups pass through as they are (pydantic does not revalidate them).
        config = Config.model_validate({**merged, "group": groups})
    except ValidationError as exc:
        # In pydantic's order: the sections' errors, the groups', then unknown keys.
        found = exc.errors()
        errors = ([e for e in found if e["type"] != "extra_forbidden"] + errors
                  + [e for e in found if e["type"] == "extra_forbidden"])
    if errors:
        raise _InvalidError(errors)
    return config


def _share_fields_set(group: Group, shared: dict[frozenset[str], set[str]]) -> None:
    """Groups that set the same keys share one ``model_fields_set`` (a set of a few keys
    is 700 bytes; 40,000 imported groups would spend 28 MB on a handful of distinct ones).
    The models are frozen: nothing changes the set after validation."""
    fields = group.__pydantic_fields_set__
    same = shared.setdefault(frozenset(fields), fields)
    if same is not fields:
        object.__setattr__(group, "__pydantic_fields_set__", same)


def _import_keepalived(data: Mapping[str, Any], source: str) -> Imported | None:
    section = data.get("keepalived")
    path = section.get("config") if isinstance(section, Mapping) else None
    if not isinstance(path, str) or not path.startswith("/"):
        return None  # absent, or of the wrong type / relative: validation says so
    config_id = section.get("config_id") if isinstance(section, Mapping) else None
    try:
        imported = load_keepalived(
            Path(path), config_id=config_id if isinstance(config_id, str) else None)
    except KeepalivedConfError as exc:
        raise ConfigError([f"{source}: keepalived.config: {line}" for line in exc.lines]
                          ) from None
    groups = data.get("group")
    allowed = isinstance(section, Mapping) and section.get("allow_no_groups") is True
    if not imported.groups and not groups and not allowed:
        raise ConfigError([
            f"{source}: keepalived.config: {path} yields no group (no vrrp_instance with an "
            "interface, a virtual_router_id and a virtual_ipaddress garpd can use); set "
            "[keepalived] allow_no_groups = true to watch every address on every interface "
            "instead"] + [f"  {note}" for note in imported.unsupported[:20]])
    return imported


def _blame_import(line: str, data: Mapping[str, Any], imported: Imported) -> str:
    """Point an error about a value taken from keepalived.conf at where it came from."""
    groups = data.get("group")
    toml_groups = len(groups) if isinstance(groups, list) else 0
    for index, group in enumerate(imported.groups):
        name = group.get("name")
        origins = imported.group_origins.get(str(name), {})
        position = toml_groups + index
        if f"group[{position}]." in line:
            key = line.split(f"group[{position}].", 1)[1].split(" ", 1)[0]
            origin = origins.get(key) or origins.get("")
            if origin:
                return f"{line} (imported from {origin})"
    return line


def loads_config(text: str, source: str) -> Config:
    """Parse and validate TOML ``text``; ``source`` names it in error lines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_line(source, exc)]) from None
    except RecursionError:  # Python 3.11's tomllib recurses once per nested array/table
        raise ConfigError([f"{source}: invalid TOML: arrays or inline tables nested too "
                           "deep"]) from None
    return parse_config(data, source)


def load_config(path: Path | None = None) -> Config:
    """Read and validate the TOML file at ``path`` (default :data:`DEFAULT_PATH`)."""
    path = DEFAULT_PATH if path is None else path
    source = str(path)
    raw = _read(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{source}: not UTF-8 text (bad byte at offset {exc.start})"]) from None
    return loads_config(text, source)


def resolve(path_from_cli: Path | None, *, default_path: Path | None = None
            ) -> tuple[Config, str]:
    """The configuration to run with and where it came from.

    With ``-c FILE`` the file must exist. Without it, :data:`DEFAULT_PATH` (or
    ``default_path``) is read if it exists, else the built-in default is used and the
    source is :data:`BUILTIN_SOURCE`.
    """
    if path_from_cli is not None:
        return load_config(path_from_cli), str(path_from_cli)
    path = DEFAULT_PATH if default_path is None else default_path
    try:
        return load_config(path), str(path)
    except _MissingFileError:
        return Config.builtin(), BUILTIN_SOURCE


class _MissingFileError(ConfigError):
    """The file does not exist (the only error that lets :func:`resolve` fall back)."""


def _read(path: Path) -> bytes:
    """The bytes of the regular file ``path``, or a one-line ConfigError."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO by mistake must not hang; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _MissingFileError([f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{source}: is a directory, not a configuration file"]) from None
    except PermissionError:
        raise ConfigError([f"{source}: permission denied"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot open: {exc.strerror or exc}"]) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError([f"{source}: is a directory, not a configuration file"])
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([f"{source}: not a regular file"])
        if info.st_size > MAX_FILE_SIZE:
            raise ConfigError([f"{source}: too large ({info.st_size} bytes; "
                               f"at most {MAX_FILE_SIZE})"])
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    finally:
        os.close(fd)


_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _syntax_line(source: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    found = _AT.search(message)
    if found is None:
        return f"{source}: invalid TOML: {message}"
    line, column = found.groups()
    return f"{source}: line {line}, column {column}: invalid TOML: {message[:found.start()]}"


# --- error lines ------------------------------------------------------------------------

#: What each key accepts, completing "must be ...".
_ACCEPTS: Final[dict[str, str]] = {
    "announce": "a table ([announce])",
    "log": "a table ([log])",
    "control": "a table ([control])",
    "metrics": "a table ([metrics])",
    "listen": 'a loopback address and port, "127.0.0.1:PORT" or "[::1]:PORT", or "" (off)',
    "keepalived": "a table ([keepalived])",
    "group": "an array of tables: write [[group]], not [group]",
    "group[]": "a table ([[group]])",
    "master_delay": f"a number of seconds from 0 to {MAX_DELAY:g} (0 = no second burst)",
    "master_repeat": f"an integer >= 1 (at most {MAX_REPEAT})",
    "master_refresh": f"a number of seconds from 0 to {MAX_REFRESH:.0f} (0 = off)",
    "master_refresh_repeat": f"an integer >= 1 (at most {MAX_REPEAT})",
    "lower_prio_delay": f"a number of seconds from 0 to {MAX_DELAY:g}",
    "lower_prio_repeat": f"an integer >= 0 (at most {MAX_REPEAT}; 0 = ignore lower priority)",
    "interval": f"a number of seconds from 0 to {MAX_INTERVAL} (0 = no spacing)",
    "na_interval": f"a number of seconds from 0 to {MAX_INTERVAL} (0 = no spacing)",
    "mode": 'one of "request", "reply", "both"',
    "announce_on_start": "true or false",
    "conflict": 'one of "defend", "log", "off"',
    "defend_interval": f"a number of seconds from 0 to {MAX_DELAY:g} (0 = defend every conflict)",
    "gateways": 'a list of IP addresses, or ["auto"]',
    "confirm_timeout": f"a number of seconds above 0, at most {MAX_CONFIRM_TIMEOUT:g}",
    "confirm_retries": f"an integer from 0 to {MAX_CONFIRM_RETRIES}",
    "format": 'one of "json", "console"',
    "level": 'one of "debug", "info", "warning", "error"',
    "socket": f"an absolute path of at most {MAX_SOCKET_PATH} bytes",
    "notify_fifo": "an absolute path",
    "config": "an absolute path",
    "name": "a non-empty string",
    "interface": f"an interface name of 1 to {MAX_IFNAME} bytes without '/', ':' or whitespace",
    "addresses": 'a list of IPv4/IPv6 addresses (a "/len" suffix is ignored)',
    "addresses[]": 'an IPv4 or IPv6 unicast address (a "/len" suffix is ignored)',
    "networks": "a list of networks in CIDR form",
    "networks[]": "a network in CIDR form, e.g. 198.51.100.0/24",
    "sync_group": "a non-empty string",
    "priority": "an integer from 1 to 255",
    "vrid": "an integer from 1 to 255",
}

_SECTIONS: Final[dict[str, type[BaseModel]]] = {
    "announce": Announce, "log": LogSettings, "control": Control, "keepalived": Keepalived,
    "metrics": Metrics,
}


def key_path(loc: Iterable[int | str]) -> str:
    """``("group", 1, "master_repeat")`` as ``group[1].master_repeat``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        out += f".{name}" if out else name
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(value: object, limit: int = 80) -> str:
    """``value`` written the way TOML writes it, shortened to about ``limit`` characters.

    Rendered only as far as the limit: a hostile file's value nested a thousand arrays deep
    or a million items long costs no more than a short one (it once raised RecursionError).
    """
    out: list[str] = []
    _toml(value, out, limit + 1)
    text = "".join(out)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _toml(value: object, out: list[str], room: int) -> int:
    """Append ``value`` as TOML writes it to ``out`` while ``room`` characters are left;
    return the room left (not above 0: the rest was not rendered)."""
    if room <= 0:
        return room
    if isinstance(value, list | tuple):
        out.append("[")
        room -= 1
        for i, item in enumerate(value):
            if room <= 0:
                return room
            if i:
                out.append(", ")
                room -= 2
            room = _toml(item, out, room)
        out.append("]")
        return room - 1
    if isinstance(value, Mapping):
        out.append("{ ")
        room -= 2
        for i, (key, item) in enumerate(value.items()):
            if room <= 0:
                return room
            head = f"{', ' if i else ''}{key_path([str(key)])} = "
            out.append(head)
            room = _toml(item, out, room - len(head))
        out.append(" }")
        return room - 2
    text = _scalar(value)
    out.append(text)
    return room - len(text)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Path):
        return json.dumps(str(value))
    return repr(value)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (a table's location)."""
    if not loc:
        return Config
    if len(loc) == 1 and isinstance(loc[0], str):
        return _SECTIONS.get(loc[0])
    if len(loc) == 2 and loc[0] == "group" and isinstance(loc[1], int):
        return Group
    return None


def _accepted_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _describe(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "a table"
    last = loc[-1]
    if isinstance(last, int):
        parent = loc[-2] if len(loc) > 1 else ""
        return _ACCEPTS.get(f"{parent}[]", "a valid value")
    return _ACCEPTS.get(last, "a valid value")


def _error_lines(errors: ValidationError | list[Any], data: Mapping[str, Any],
                 source: str) -> list[str]:
    """pydantic's errors as ``FILE: KEY = VALUE: what is wrong`` lines, one per error."""
    lines: list[str] = []
    for err in errors.errors() if isinstance(errors, ValidationError) else errors:
        loc = tuple(p for p in err["loc"] if isinstance(p, int | str))
        key = key_path(loc) or "(top level)"
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            known = _accepted_keys(model) if model is not None else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean {close[0]}?" if close else "accepted: " + ", ".join(known)
            lines.append(f"{source}: {key} = {toml_value(value)}: unknown key; {hint}")
        elif kind == "missing":
            lines.append(f"{source}: {key}: missing; must be {_describe(loc)}")
        elif kind == "garpd" and _model_at(loc) is not None and loc:
            lines.append(f"{source}: {key}: {err['msg']}")
        elif kind == "garpd":
            lines.append(f"{source}: {key} = {toml_value(value)}: {err['msg']}")
        else:
            lines.append(f"{source}: {key} = {toml_value(value)}: must be {_describe(loc)}")
    return lines or [f"{source}: invalid configuration"]


def _cross_check(config: Config, source: str) -> list[str]:
    """Rules across groups: unique names, no address listed twice on one interface."""
    lines: list[str] = []
    for i, group in enumerate(config.groups):
        gateways = config.effective(group).timing.gateways
        if gateways == "auto":
            continue
        for gateway in gateways:
            if gateway in group.addresses:
                lines.append(f"{source}: group[{i}].gateways: {gateway} is one of the "
                             "group's own addresses; a gateway is another host")
    names: dict[str, int] = {}
    # Address -> the first group listing it; (interface, address) only for an address
    # on several interfaces (no tuple per address: 40,000 groups are checked here).
    first_of: dict[Address, int] = {}
    listed: dict[tuple[str, Address], int] = {}
    groups = config.groups
    for i, group in enumerate(groups):
        first = names.setdefault(group.name, i)
        if first != i:
            lines.append(f"{source}: group[{i}].name = {toml_value(group.name)}: "
                         f"duplicate; group[{first}] has the same name")
        for j, address in enumerate(group.addresses):
            holder = first_of.setdefault(address, i)
            if holder != i and groups[holder].interface != group.interface:
                holder = listed.setdefault((group.interface, address), i)
            if holder == i and group.addresses.index(address) != j:
                lines.append(f"{source}: group[{i}].addresses[{j}] = {toml_value(str(address))}:"
                             " listed twice in this group")
            elif holder != i:
                lines.append(f"{source}: group[{i}].addresses[{j}] = {toml_value(str(address))}:"
                             f" already in group[{holder}] ({groups[holder].name}) on "
                             f"{group.interface}")
    return lines


__all__ = [
    "ANNOUNCE_KEYS", "BUILTIN_SOURCE", "DEFAULT_GROUP", "DEFAULT_PATH", "Announce", "Config",
    "ConfigError", "ConfigPolicy", "Control", "Effective", "Group", "Keepalived",
    "LogSettings", "key_path", "load_config", "loads_config", "parse_config",
    "resolve", "toml_value",
]
