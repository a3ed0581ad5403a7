"""The configuration for the notify hook's fallback, without pydantic when it is plain.

With no daemon, ``garpd notify ... MASTER`` announces the notified groups itself, from the
configuration. Validating it with :mod:`garpd.config` means importing pydantic and building
garpd's models: ~120 ms of CPU measured here (``time.process_time`` around the imports,
2 vCPUs), more than the rest of the path to the first frame together. This module reads a
configuration that uses only plain, common forms and builds the same policy
(:class:`QuickPolicy`, answering as :class:`garpd.config.ConfigPolicy` would):

- sections ``[announce]``, ``[log]``, ``[control]``, ``[metrics]``, ``[keepalived]`` (its
  ``notify_fifo`` only) and ``[[group]]``, with their documented keys;
- every value already of its final type and inside its range, checked as the models check
  it (strict numbers, no booleans for numbers, addresses, networks, names, interface
  names, paths), ``gateways`` empty;
- no rule across groups broken (names unique, no address listed twice on an interface).

Anything else (a key or a value outside these forms, ``[keepalived] config``, an error of
any kind, a missing file) returns None and :func:`garpd.config.resolve` does the work: every
error message and every outcome stays exactly the full validation's, which only runs
when the plain reading cannot vouch for the file. ``tests/test_quickconfig.py`` holds the
two to the same policy on generated configurations.
"""

from __future__ import annotations

import ipaddress
import os
import stat

from garpd.control import subset_load
from garpd.policy import GroupPolicy, Timing, Watch, timing_of

TYPE_CHECKING = False  # typing costs the hook ~3 ms
if TYPE_CHECKING:
    from typing import Any

    from garpd.frames import Address

DEFAULT_PATH = "/etc/garpd/garpd.toml"
MAX_FILE_SIZE = 1 << 20
_REPEAT = (1, 10000)
_LOWER_REPEAT = (0, 10000)
_DELAY = 4294.0
_INTERVAL = 4294.967295
_REFRESH = 4294967295.0
#: [announce] defaults (garpd.config.Announce); lower_prio_* None: follow master_*.
_ANNOUNCE: dict[str, object] = {
    "master_delay": 5.0, "master_repeat": 5, "master_refresh": 0.0,
    "master_refresh_repeat": 1, "lower_prio_delay": None, "lower_prio_repeat": None,
    "interval": 0.0, "na_interval": 0.0, "mode": "request", "announce_on_start": True,
    "conflict": "defend", "defend_interval": 10.0, "gateways": (), "confirm_timeout": 1.0,
    "confirm_retries": 3,
}
_GROUP_KEYS = frozenset({"name", "interface", "addresses", "networks", "sync_group",
                         "priority", "vrid"}) | frozenset(_ANNOUNCE)


def _int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _float(value: object, low: float, high: float, *, above: bool = False) -> bool:
    if type(value) not in (int, float):
        return False
    number = float(value)  # type: ignore[arg-type]
    if not number <= high:  # too large (inf included) or NaN (compares False)
        return False
    return number > low if above else number >= low


def _announce_value(key: str, value: object) -> bool:
    """Whether ``value`` is valid for the ``[announce]`` (or group override) ``key``."""
    if key in ("master_repeat", "master_refresh_repeat"):
        return _int(value, *_REPEAT)
    if key == "lower_prio_repeat":
        return _int(value, *_LOWER_REPEAT)
    if key in ("master_delay", "lower_prio_delay", "defend_interval"):
        return _float(value, 0.0, _DELAY)
    if key == "master_refresh":
        return _float(value, 0.0, _REFRESH)
    if key in ("interval", "na_interval"):
        return _float(value, 0.0, _INTERVAL)
    if key == "mode":
        return value in ("request", "reply", "both") and type(value) is str
    if key == "announce_on_start":
        return type(value) is bool
    if key == "conflict":
        return value in ("defend", "log", "off") and type(value) is str
    if key == "gateways":
        return type(value) is list and not value
    if key == "confirm_timeout":
        return _float(value, 0.0, 60.0, above=True)
    if key == "confirm_retries":
        return _int(value, 0, 10)
    return False


def _name(value: object) -> bool:
    return (type(value) is str and bool(value.strip())
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value))


def _ifname(value: object) -> bool:
    return (type(value) is str and bool(value) and value not in (".", "..")
            and len(value.encode()) <= 15
            and not any(c in "/:" or c.isspace() or ord(c) < 0x20 for c in value))


def _path(value: object, limit: int | None = None) -> bool:
    return (type(value) is str and value.startswith("/") and "\0" not in value
            and (limit is None or len(value.encode()) <= limit))


def _address(value: object) -> Address | None:
    if type(value) is not str:
        return None
    head, slash, suffix = value.strip().partition("/")
    if "%" in head:
        return None
    try:
        address = ipaddress.ip_address(head)
    except ValueError:
        return None
    if slash and not (suffix.isascii() and suffix.isdigit()
                      and int(suffix) <= address.max_prefixlen):
        return None
    if address.is_multicast or address.is_unspecified:
        return None
    return address


def _network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if type(value) is not str or "/" not in value:
        return None
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        return None
    return None if network.is_multicast else network


def _listen(value: object) -> bool:
    if value == "" and type(value) is str:
        return True
    if type(value) is not str:
        return False
    host, _, port = value.rpartition(":")
    return (host in ("127.0.0.1", "[::1]") and port.isascii() and port.isdigit()
            and 1 <= int(port) <= 65535)


def _table(data: dict[str, Any], key: str, allowed: dict[str, Any]) -> bool:
    """Whether ``data[key]`` (if present) is a table of ``allowed`` keys with valid values."""
    section = data.get(key, {})
    if type(section) is not dict:
        return False
    return all(k in allowed and allowed[k](v) for k, v in section.items())


class QuickGroup:
    """One validated ``[[group]]``: what the policy and the hook need of it."""

    __slots__ = ("addresses", "interface", "name", "networks", "pacing", "sync_group",
                 "timing")

    def __init__(self, name: str, interface: str, addresses: tuple[Address, ...],
                 networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
                 sync_group: str | None, timing: Timing, pacing: tuple[float, float]) -> None:
        self.name = name
        self.interface = interface
        self.addresses = addresses
        self.networks = networks
        self.sync_group = sync_group
        self.timing = timing
        self.pacing = pacing


class QuickPolicy(GroupPolicy):
    """:class:`garpd.core.Policy` of a plain configuration (as ConfigPolicy answers)."""

    def __init__(self, groups: list[QuickGroup], default: Timing,
                 default_pacing: tuple[float, float]) -> None:
        super().__init__(((g, Watch(g.name, g.timing), g.pacing) for g in groups),
                         Watch("default", default), default_pacing)
        self.groups = groups

    def groups_named(self, name: str, kind: str | None = None) -> list[QuickGroup]:
        """Groups whose ``name`` (INSTANCE) or ``sync_group`` (GROUP) is ``name``."""
        return [g for g in self.groups
                if (kind != "GROUP" and g.name == name)
                or (kind != "INSTANCE" and g.sync_group is not None and g.sync_group == name)]


def _effective(announce: dict[str, Any], group: dict[str, Any] | None
               ) -> tuple[Timing, tuple[float, float]]:
    """As garpd.config.Config.effective: the group's value, else [announce]'s, else the
    default; lower_prio_* unset everywhere follow [announce]'s master_*."""
    values: dict[str, Any] = {}
    for key, default in _ANNOUNCE.items():
        if group is not None and key in group:
            values[key] = group[key]
            continue
        value = announce.get(key, default)
        if value is None:
            value = announce.get(key.replace("lower_prio", "master"),
                                 _ANNOUNCE[key.replace("lower_prio", "master")])
        values[key] = value
    values["gateways"] = tuple(values["gateways"])
    timing = timing_of(values)
    return timing, (float(values["interval"]), float(values["na_interval"]))


def policy_of(data: dict[str, Any]) -> QuickPolicy | None:
    """The policy of parsed TOML ``data`` if it is a plain, valid configuration, else None."""
    if not set(data) <= {"announce", "log", "control", "metrics", "keepalived", "group"}:
        return None
    announce = data.get("announce", {})
    if type(announce) is not dict or not all(
            k in _ANNOUNCE and _announce_value(k, v) for k, v in announce.items()):
        return None
    if not (_table(data, "log", {"format": lambda v: v in ("json", "console"),
                                 "level": lambda v: v in ("debug", "info", "warning",
                                                          "error")})
            and _table(data, "control", {"socket": lambda v: _path(v, 107)})
            and _table(data, "metrics", {"listen": _listen})
            and _table(data, "keepalived", {"notify_fifo": _path})):
        return None
    raw_groups = data.get("group", [])
    if type(raw_groups) is not list:
        return None
    groups: list[QuickGroup] = []
    listed: set[tuple[str, Address]] = set()
    for raw in raw_groups:
        group = _group(raw, announce, listed)
        if group is None or any(g.name == group.name for g in groups):
            return None
        groups.append(group)
    default, pacing = _effective(announce, None)
    return QuickPolicy(groups, default, pacing)


def _group(raw: object, announce: dict[str, Any],
           listed: set[tuple[str, Address]]) -> QuickGroup | None:
    if type(raw) is not dict or not set(raw) <= _GROUP_KEYS:
        return None
    if not (_name(raw.get("name")) and _ifname(raw.get("interface"))):
        return None
    for key in ("sync_group",):
        if key in raw and not _name(raw[key]):
            return None
    for key in ("priority", "vrid"):
        if key in raw and not _int(raw[key], 1, 255):
            return None
    if not all(_announce_value(k, v) for k, v in raw.items() if k in _ANNOUNCE):
        return None
    texts, nets = raw.get("addresses", []), raw.get("networks", [])
    if type(texts) is not list or type(nets) is not list or not (texts or nets):
        return None
    addresses = tuple(_address(t) for t in texts)
    networks = tuple(_network(n) for n in nets)
    if None in addresses or None in networks:
        return None
    interface = raw["interface"]
    for address in addresses:
        spot = (interface, address)
        if spot in listed:
            return None  # listed twice (a rule across groups): the full check says how
        listed.add(spot)  # type: ignore[arg-type]
    timing, pacing = _effective(announce, raw)
    return QuickGroup(raw["name"], interface, addresses, networks,  # type: ignore[arg-type]
                      raw.get("sync_group"), timing, pacing)


def load(path: str | None) -> QuickPolicy | None:
    """The policy of the file at ``path`` (default: the default path) when it is plain and
    valid; None for anything else (then :func:`garpd.config.resolve` decides)."""
    try:
        fd = os.open(path or DEFAULT_PATH, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_SIZE:
            return None
        raw = os.read(fd, MAX_FILE_SIZE + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_SIZE:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    data = subset_load(raw)  # a plain TOML subset without tomllib (~3 ms): garpd.control
    if data is None:
        import tomllib  # noqa: PLC0415 - after the file is known to be there

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
    return policy_of(data)
