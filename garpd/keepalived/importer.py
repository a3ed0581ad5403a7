"""Import keepalived.conf: VRRP instances as garpd groups, ``vrrp_garp_*`` as ``[announce]``.

SPEC.md "Integration": ``[keepalived] config = PATH`` takes groups (instance name, interface,
VRID, priority, ``virtual_ipaddress`` and ``_excluded`` including ``dev``, ``use_vmac``) and
garp settings (global ``vrrp_garp_*`` and per-instance ``garp_*``) straight from
keepalived.conf. This module is that reader: pure Python and stdlib only (no pydantic); the
configuration loader merges what it returns under the TOML file (:func:`merge_toml`) and
validates the result like any other ``[[group]]``.

What it understands (reference/keepalived-garp.md sections 1 and 3; keepalived's
``lib/parser.c``, ``vrrp_parser.c``, ``global_parser.c``):

- the language: ``{`` ``}`` blocks (the brace may end the keyword's line or start the next;
  text after a brace on the same line is the next statement, so
  ``virtual_ipaddress { 192.0.2.1 }`` is a one-line block), ``#`` and ``!`` comments
  anywhere outside double quotes (``\\#`` / ``\\!`` escape them), double-quoted words,
  ``include FILE`` (and ``includer/m/w/b/a``) with glob and ``{a,b}`` patterns resolved
  against the including file's directory, ``@ID`` / ``@^ID`` conditional lines (the config
  id defaults, as in keepalived, to the node name up to its first dot), and single-line
  ``$NAME=value`` definitions with ``$NAME`` / ``${NAME}`` substitution;
- ``global_defs``: ``vrrp_garp_master_delay/repeat/refresh/refresh_repeat``,
  ``vrrp_garp_lower_prio_delay/repeat``, ``vrrp_garp_interval`` -> ``interval``,
  ``vrrp_gna_interval`` -> ``na_interval``, ``vrrp_min_garp`` and ``vrrp_strict``;
- ``vrrp_instance``: ``interface``, ``virtual_router_id``, ``priority`` (keepalived's
  default 100 when absent), ``virtual_ipaddress`` / ``virtual_ipaddress_excluded`` (one
  address per line, ``/len`` accepted, ``dev IFACE`` honoured, ``brd``/``scope``/``label``/
  ``peer``/... skipped), ``use_vmac`` / ``use_vmac_addr`` / ``use_ipvlan`` (placement as
  keepalived 2.2.8 does it: :meth:`_Importer.place`; the VMAC named ``vmac_prefix.<vrid>``,
  default ``vrrp.<vrid>``), the instance's family (keepalived 2.2.8: :meth:`_Importer.family`),
  ``strict_mode`` and ``garp_master_*`` / ``garp_lower_prio_*``;
- a top-level ``net_namespace`` (:attr:`Imported.net_namespace`: garpd must run there);
- keywords keepalived 2.2.8 does not know, at every level garpd reads, are listed;
- ``vrrp_sync_group NAME { group { ... } }`` -> each member's ``sync_group``;
- ``garp_group { garp_interval / gna_interval / interface / interfaces }`` -> ``interval``
  / ``na_interval`` of the groups whose (base) interface it names.

keepalived's rules, applied here so that garpd's own resolution (``Config.effective``) ends
up with keepalived's numbers:

- an instance copies the global master delay/repeat/refresh/refresh_repeat *when its
  ``vrrp_instance`` line is read* (so a ``global_defs`` after it does not reach it); its own
  ``garp_master_*`` override the copies. A group carries a timing key when the instance set
  it, or when its value differs from what ``[announce]`` resolves to;
- lower-prio: the instance's ``garp_lower_prio_*``, else the global
  ``vrrp_garp_lower_prio_*``, else the *global* master values, never the instance's
  ``garp_master_*``; strict mode (``vrrp_strict`` or ``strict_mode``) forces both to 0.
  Unset keys are left out, and garpd's rule (unset lower-prio follows ``[announce]``'s
  master values) gives the same result;
- ``vrrp_min_garp`` changes only settings still at their defaults: master repeat 5 -> 1,
  delay 5 -> 0, refresh_repeat 1 -> 0. garpd requires refresh_repeat >= 1, so 0 becomes 1
  and, because keepalived then sends nothing on refresh, any refresh interval under it
  becomes 0 (off) with a note;
- numbers are read like keepalived's non-strict build: a value with trailing junk
  (``5s``) keeps its leading digits with a note, out-of-range values are ignored with a
  note, repeat 0 becomes 1, an invalid ``garp_master_refresh`` turns refresh off;
- an instance without ``virtual_router_id``, or without ``interface`` and unicast peers, is
  refused by keepalived and skipped here; addresses with ``dev X`` other than the
  instance's interface become a separate group ``NAME@X`` (``NAME@X~2`` should an instance
  be called that) with the same sync_group, vrid and priority (:attr:`Imported.instances`
  maps the instance name to all its groups).

Not carried over (each occurrence is listed in :attr:`Imported.unsupported` with
``FILE:LINE``): ``garp_extra_if`` / ``vrrp_garp_extra_if``, multi-line ``$`` definitions and
``~SEQ`` / ``~LST``, and ``garp_group
interfaces { }`` sharing one queue across interfaces (garpd paces each interface on its
own). Differences that cannot be seen in the file: garpd paces a VMAC interface on its own
queue where keepalived uses its base interface's, and keepalived picks another default VMAC
name when an interface called ``vrrp.<vrid>`` already exists that is not its macvlan.

Only reading the main file, an unreadable include (permission denied) and a bound on the
work hit (:class:`~garpd.keepalived.reader.LimitError`: substitution size, glob walk, include
depth, files and bytes read) fail (:class:`KeepalivedConfError`, one line); everything else,
including unbalanced braces, missing includes and binary garbage, becomes a line in
:attr:`Imported.unsupported` and the import goes on with what it understood. Values that
keepalived accepts but garpd does not (e.g. a repeat above garpd's 10000) are passed through
for the TOML validation to reject; :attr:`Imported.group_origins` and
:attr:`Imported.announce_origins` say which ``FILE:LINE`` each value came from.
"""

from __future__ import annotations

import ipaddress
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from garpd.keepalived.reader import (
    MAX_IFNAME,
    MAX_NOTES,
    WS,
    KeepalivedConfError,
    LimitError,
    Limits,
    Node,
    Reader,
    ReadError,
    default_config_id,
    read_bytes,
    sanitize,
    valid_ifname,
)

__all__ = [
    "Imported",
    "KeepalivedConfError",
    "load_keepalived",
    "loads_keepalived",
    "merge_toml",
]

#: Top-level keywords of keepalived 2.2.8 (every ``install_keyword_root`` in its sources).
TOP_KEYWORDS: Final = frozenset({
    "bfd_instance", "child_wait_time", "garp_group", "global_defs", "include", "instance",
    "interface_up_down_delays", "linkbeat_interfaces", "linkbeat_use_polling",
    "namespace_with_ipsets", "net_namespace", "net_namespace_ipvs", "static_ipaddress",
    "static_routes", "static_rules", "track_file", "track_group", "use_pid_dir",
    "virtual_server", "virtual_server_group", "vrrp_instance", "vrrp_script",
    "vrrp_sync_group", "vrrp_track_file", "vrrp_track_process",
})
#: global_defs keywords of keepalived 2.2.8 (core/global_parser.c).
GLOBAL_DEFS_KEYWORDS: Final = frozenset({
    "bfd_cpu_affinity", "bfd_no_swap", "bfd_priority", "bfd_process_name", "bfd_rlimit_rtime",
    "bfd_rlimit_rttime", "bfd_rt_priority", "checker_cpu_affinity", "checker_log_all_failures",
    "checker_no_swap", "checker_priority", "checker_process_name", "checker_rlimit_rtime",
    "checker_rlimit_rttime", "checker_rt_priority", "config_save_dir", "data_use_instance",
    "dbus_service_name", "default_interface", "disable_local_igmp", "dynamic_interfaces",
    "enable_dbus", "enable_script_security", "enable_snmp_checker", "enable_snmp_keepalived",
    "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_vrrp",
    "enable_traps", "fifo_write_vrrp_states_on_reload", "include_check", "json_version",
    "log_unknown_vrids", "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop",
    "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "lvs_notify_fifo",
    "lvs_notify_fifo_script", "lvs_process_name", "lvs_sync_daemon", "lvs_timeouts", "lvs_id",
    "max_auto_priority", "min_auto_priority_delay", "nftables", "nftables_counters",
    "nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark", "nftables_priority", "no_checker_emails", "no_email_faults",
    "notification_email", "notification_email_from", "notify_fifo", "notify_fifo_script",
    "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force", "process_name",
    "process_names", "random_seed", "reload_check_config", "reload_file", "reload_repeat",
    "reload_time_file", "router_id", "rs_init_notifies", "script_user", "shutdown_script",
    "shutdown_script_timeout", "smtp_alert", "smtp_alert_checker", "smtp_alert_vrrp",
    "smtp_connect_timeout", "smtp_helo_name", "smtp_server", "snmp_socket", "startup_script",
    "startup_script_timeout", "tmp_config_directory", "umask", "v3_checksum_as_v2",
    "vmac_addr_prefix", "vmac_prefix", "vrrp_check_unicast_src", "vrrp_cpu_affinity",
    "vrrp_down_timer_adverts", "vrrp_garp_extra_if", "vrrp_garp_interval",
    "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_master_repeat",
    "vrrp_gna_interval", "vrrp_higher_prio_send_advert", "vrrp_ipsets", "vrrp_iptables",
    "vrrp_lower_prio_no_advert", "vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_min_garp",
    "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "vrrp_no_swap",
    "vrrp_notify_fifo", "vrrp_notify_fifo_script", "vrrp_notify_priority_changes",
    "vrrp_priority", "vrrp_process_name", "vrrp_rlimit_rtime", "vrrp_rlimit_rttime",
    "vrrp_rt_priority", "vrrp_rx_bufs_multiplier", "vrrp_rx_bufs_policy",
    "vrrp_skip_check_adv_addr", "vrrp_startup_delay", "vrrp_strict", "vrrp_version",
    "vrrp_vmac_garp_intvl",
})
#: vrrp_sync_group keywords of keepalived 2.2.8 (vrrp/vrrp_parser.c).
SYNC_GROUP_KEYWORDS: Final = frozenset({
    "group", "track_interface", "track_script", "track_file", "track_process", "track_bfd",
    "notify_backup", "notify_master", "notify_fault", "notify_stop", "notify", "smtp_alert",
    "global_tracking", "sync_group_tracking_weight", "notify_priority_changes"})

#: keepalived's defaults (include/vrrp.h VRRP_GARP_*): 5 + 5 after 5 s, no refresh.
DEFAULT_REPEAT: Final = 5
DEFAULT_DELAY: Final = 5
DEFAULT_REFRESH: Final = 0
DEFAULT_REFRESH_REPEAT: Final = 1
#: keepalived's priority when none (or an invalid one) is configured (VRRP_PRIO_DFL).
DEFAULT_PRIORITY: Final = 100

#: Delays are read as whole seconds up to UINT_MAX / TIMER_HZ.
MAX_DELAY_S: Final = 4294
UINT_MAX: Final = 4294967295
INT_MAX: Final = 2147483647
#: Global vrrp_garp_interval / vrrp_gna_interval: 1 us .. UINT_MAX us.
MIN_GLOBAL_INTERVAL: Final = 0.000001
MAX_GLOBAL_INTERVAL: Final = 4294.967295
#: garp_group intervals: 0 .. INT_MAX us.
MAX_GROUP_INTERVAL: Final = 2147.483647


GLOBAL_KEYS: Final[Mapping[str, str]] = {
    "vrrp_garp_master_delay": "master_delay",
    "vrrp_garp_master_repeat": "master_repeat",
    "vrrp_garp_master_refresh": "master_refresh",
    "vrrp_garp_master_refresh_repeat": "master_refresh_repeat",
    "vrrp_garp_lower_prio_delay": "lower_prio_delay",
    "vrrp_garp_lower_prio_repeat": "lower_prio_repeat",
    "vrrp_garp_interval": "interval",
    "vrrp_gna_interval": "na_interval",
}
INSTANCE_KEYS: Final[Mapping[str, str]] = {
    "garp_master_delay": "master_delay",
    "garp_master_repeat": "master_repeat",
    "garp_master_refresh": "master_refresh",
    "garp_master_refresh_repeat": "master_refresh_repeat",
    "garp_lower_prio_delay": "lower_prio_delay",
    "garp_lower_prio_repeat": "lower_prio_repeat",
}
#: The timing keys a group may carry, in garpd's order.
_TIMING: Final = ("master_delay", "master_repeat", "master_refresh", "master_refresh_repeat",
                  "lower_prio_delay", "lower_prio_repeat")
_SECONDS: Final = frozenset({"master_delay", "master_refresh", "lower_prio_delay"})

#: vrrp_instance keywords keepalived knows that change nothing garpd does.
_INSTANCE_IGNORED: Final = frozenset({
    "state", "advert_int", "version", "authentication", "track_interface", "track_script",
    "track_file", "track_process", "track_bfd", "track_src_ip", "dont_track_primary",
    "unicast_ttl", "unicast_fault_no_peer", "check_unicast_src", "old_unicast_checksum",
    "mcast_dst_ip", "vrf", "linkbeat_use_polling", "v3_checksum_as_v2", "virtual_routes",
    "virtual_rules", "accept", "no_accept", "skip_check_adv_addr", "preempt", "nopreempt",
    "preempt_delay", "debug", "notify_backup", "notify_master", "notify_fault",
    "notify_stop", "notify_deleted", "notify", "notify_master_rx_lower_pri", "smtp_alert",
    "notify_priority_changes", "lvs_sync_daemon_interface", "down_timer_adverts",
    "timer_expired_backup", "lower_prio_no_advert", "higher_prio_send_advert",
    "kernel_rx_buf_size", "promote_secondaries", "vmac_xmit_base", "auth_pass", "auth_type",
})
#: virtual_ipaddress options that take a value, and those that do not.
_VIP_VALUED: Final = frozenset({"scope", "broadcast", "brd", "label", "peer", "preferred_lft"})
_VIP_FLAGS: Final = frozenset({"home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin",
                               "no_track"})

#: A dotted-quad IPv4 address as inet_pton reads it (no leading zeros), with an optional
#: /len of one or two digits.
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                   r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:/[0-9]{1,2})?")
_UNSIGNED = re.compile(r"\+?([0-9]*)")
_DECIMAL = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True, slots=True)
class Imported:
    """What keepalived.conf means for garpd.

    - ``groups``: ``[[group]]`` tables (name, interface, addresses, vrid, priority, and when
      set sync_group, timing keys, interval / na_interval), in file order;
    - ``announce``: ``[announce]`` keys from ``global_defs`` (only those it sets);
    - ``unsupported``: ``FILE:LINE: what`` for everything not carried over or not
      understood;
    - ``instances``: vrrp_instance name -> the names of the groups made from it (``NAME``
      and ``NAME@IFACE``), for ``garpd notify INSTANCE NAME``;
    - ``files``: every file read, main file first;
    - ``group_origins``: group name -> {key -> ``FILE:LINE``}, ``""`` for the instance;
    - ``announce_origins``: ``[announce]`` key -> ``FILE:LINE``.
    """

    groups: list[dict[str, Any]] = field(default_factory=list)
    announce: dict[str, Any] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    instances: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    group_origins: Mapping[str, dict[str, str]] = field(default_factory=dict)
    announce_origins: dict[str, str] = field(default_factory=dict)
    net_namespace: str | None = None
    error: str | None = None


def load_keepalived(path: Path, *, config_id: str | None = None,
                    limits: Limits | None = None) -> Imported:
    """Read keepalived.conf at ``path`` (and what it includes) and import it.

    ``config_id`` selects ``@ID`` lines (keepalived's ``-i``); None means keepalived's
    default, the node name up to its first dot. Raises :class:`KeepalivedConfError` (one
    line) when ``path`` itself cannot be read, when an included file is unreadable
    (permission denied), or when a bound on the work was hit (:attr:`Imported.error`).
    """
    try:
        raw, _mode = read_bytes(path)
    except ReadError as exc:
        raise KeepalivedConfError([sanitize(f"{path}: {exc.reason}")]) from None
    reader = Reader(default_config_id(config_id), limits)
    importer = _Importer(reader)
    try:
        reader.read_file(path, raw, None)
    except LimitError as exc:
        raise KeepalivedConfError([exc.line]) from None
    del raw
    return importer.run()


def loads_keepalived(text: str, source: str = "keepalived.conf", *,
                     base_dir: Path | None = None, config_id: str | None = None,
                     limits: Limits | None = None) -> Imported:
    """Import keepalived.conf ``text``; ``source`` names it in notes.

    Relative includes are resolved against ``base_dir`` (default: ``source``'s directory).
    Never raises: everything wrong is a note in :attr:`Imported.unsupported`, and a bound
    hit (what :func:`load_keepalived` raises) is :attr:`Imported.error`, with nothing
    imported.
    """
    reader = Reader(default_config_id(config_id), limits)
    importer = _Importer(reader)
    directory = Path(source).parent if base_dir is None else base_dir
    reader.files.append(source)
    try:
        reader.read_text(text, source, directory)
    except LimitError as exc:
        return Imported(files=list(reader.files), error=exc.line)
    return importer.run()


def fuzz_one_input(data: bytes) -> Imported:
    """The fuzz entry point: any bytes in, notes or one error out, never an exception.

    ``data`` is decoded as a file would be (UTF-8 with replacement) and imported with no
    include directory of substance (includes resolve against ``/nonexistent``).
    """
    text = data.decode("utf-8", errors="replace")
    return loads_keepalived(text, "/nonexistent/keepalived.conf", config_id="fuzz")


def merge_toml(data: Mapping[str, Any], imported: Imported, *,
               copy: bool = True) -> dict[str, Any]:
    """garpd.toml's parsed ``data`` with ``imported`` underneath; the TOML always wins.

    ``[announce]``: imported keys, then the TOML's on top. ``[[group]]``: the TOML's groups
    keep their order (and so their ``group[i]`` numbers in error messages); one whose
    ``name`` is an imported group's becomes that group with the TOML's keys on top (only the
    first such TOML group merges); imported groups no TOML group names follow, in import
    order. A ``[announce]`` or ``group`` of the wrong type is left alone for the validation
    to report. ``copy=False``: imported groups no TOML table names go in as they are, not
    copied (for a caller that only reads the result: 40,000 copies double the memory).
    """
    merged: dict[str, Any] = dict(data)
    announce = data.get("announce")
    if imported.announce:
        if announce is None:
            merged["announce"] = dict(imported.announce)
        elif isinstance(announce, Mapping):
            merged["announce"] = {**imported.announce, **announce}
    if not imported.groups:
        return merged
    tables = data.get("group")
    if tables is None:
        tables = []
    if not isinstance(tables, list):
        return merged
    by_name = {g["name"]: g for g in imported.groups}
    used: set[str] = set()
    groups: list[Any] = []
    for table in tables:
        name = table.get("name") if isinstance(table, Mapping) else None
        if isinstance(name, str) and name in by_name and name not in used:
            used.add(name)
            groups.append({**_copy_group(by_name[name]), **table})
        else:
            groups.append(table)
    groups.extend((_copy_group(g) if copy else g) for g in imported.groups
                  if g["name"] not in used)
    merged["group"] = groups
    return merged


def _copy_group(group: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in group.items()}


# --- meaning: global_defs, instances, sync groups, garp groups --------------------------


@dataclass(slots=True)
class _Globals:
    """global_defs as keepalived holds it while reading (values in keepalived's units)."""

    repeat: int = DEFAULT_REPEAT
    delay: int = DEFAULT_DELAY
    refresh: int = DEFAULT_REFRESH
    refresh_repeat: int = DEFAULT_REFRESH_REPEAT
    lower_delay: int | None = None
    lower_repeat: int | None = None
    interval: float | None = None
    na_interval: float | None = None
    strict: bool = False
    strict_where: str = ""
    set: dict[str, str] = field(default_factory=dict)  # garpd key -> where


@dataclass(slots=True)
class _Vip:
    address: str
    dev: str | None
    where: Loc
    version: int = 4
    excluded: bool = False
    use_vmac: bool = False  # the per-address use_vmac option


_NO_OWN: Final[dict[str, int]] = {}
"""The ``own`` of every instance that sets no garp key itself (never written to)."""


@dataclass(slots=True)
class _Instance:
    name: str
    where: Loc
    copied: tuple[int, int, int, int]  # the global repeat, delay, refresh, refresh_repeat
    interface: str | None = None
    vrid: int | None = None
    priority: int = DEFAULT_PRIORITY
    vips: list[_Vip] = field(default_factory=list)
    virtual: str | None = None  # "use_vmac" / "use_ipvlan"
    virtual_name: str | None = None
    ipv6: bool | None = None  # the family keepalived deduces, None if it cannot tell
    family_where: Loc = 0  # the line that set the family
    vmac_addr: bool = False  # use_vmac_addr
    unicast: bool = False
    strict: bool | None = None
    own: dict[str, int] = field(default_factory=lambda: _NO_OWN)  # replaced on first write
    origins: dict[str, Loc] = field(default_factory=dict)
    sync_group: str | None = None
    no_vips: bool = False


@dataclass(slots=True)
class _GarpGroup:
    where: str
    interval: float | None = None
    na_interval: float | None = None
    interfaces: list[str] = field(default_factory=list)


Loc = int
"""Where a statement is: ``(source number << 32) | line`` (see :meth:`_Importer.loc`)."""


def _where(sources: list[str], loc: Loc) -> str:
    source, line = sources[loc >> 32], loc & 0xFFFFFFFF
    return f"{source}:{line}" if line else source


class _Origins(Mapping[str, dict[str, str]]):
    """:attr:`Imported.group_origins`, kept compact: per group, its keys (one shared tuple
    per distinct set of keys) and their places as :data:`Loc` in one array (strings, rare,
    as negative indexes into a side list); ``FILE:LINE`` strings are made when a group's
    origins are looked up (on a validation error). 40,000 groups' origins as dicts of
    strings would hold 30 MB."""

    def __init__(self, sources: list[str]) -> None:
        self.sources = sources
        self.index: dict[str, int] = {}
        self.shape_of: list[tuple[str, ...]] = []
        self.starts = array("q")
        self.places = array("q")
        self.strings: list[str] = []
        self.shapes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, name: str, where: Mapping[str, Loc | str]) -> None:
        keys = tuple(where)
        self.index[name] = len(self.shape_of)
        self.shape_of.append(self.shapes.setdefault(keys, keys))
        self.starts.append(len(self.places))
        values = list(where.values())
        try:
            self.places.extend(array("q", values))  # type: ignore[arg-type]  # no strings
            return
        except TypeError:
            pass  # a string among them (garp_group, vrrp_strict)
        for place in values:
            if isinstance(place, str):
                self.strings.append(place)
                self.places.append(-len(self.strings))
            else:
                self.places.append(place)

    def __getitem__(self, name: str) -> dict[str, str]:
        number = self.index[name]
        keys, start = self.shape_of[number], self.starts[number]
        out: dict[str, str] = {}
        for offset, key in enumerate(keys):
            place = self.places[start + offset]
            out[key] = self.strings[-place - 1] if place < 0 else _where(self.sources, place)
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


_GONE: Final = _Instance("", 0, (0, 0, 0, 0))
"""What :meth:`_Importer.build` leaves in place of an instance it is done with."""


class _Importer:
    """Walks the statement tree the way keepalived's handlers would, then builds groups."""

    def __init__(self, reader: Reader) -> None:
        """Importing follows reading: the reader hands each top-level statement over as
        soon as it is complete (:meth:`statement`) and keeps no tree."""
        self.reader = reader
        reader.on_top = self.statement
        self.sync_groups: list[Node] = []
        self.notes: list[str] = []
        self.dropped = 0
        self.sources: list[str] = []
        self.source_ids: dict[str, int] = {}
        self.timings: dict[tuple[object, ...], dict[str, Any]] = {}
        self.copies: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
        self.ifnames: dict[str, str] = {}  # one string per interface name
        self.glob = _Globals()
        self.instances: list[_Instance] = []
        self.garp_groups: list[_GarpGroup] = []
        self.garp_by_if: dict[str, _GarpGroup] = {}
        self.names: set[str] = set()  # instance names seen: a linear duplicate check
        self.vmac_prefix: str | None = None
        self.vmac_addr_prefix: str | None = None
        self.net_namespace: str | None = None
        self.by_name: dict[str, _Instance] = {}
        self.used_names: set[str] = set()
        self.resolved: tuple[Mapping[str, Any], dict[str, Any]] | None = None
        self.address_vmacs: dict[tuple[int, int, str], str] = {}

    def note(self, where: Loc | str, text: str) -> None:
        # The importer's notes are kept apart from the reader's and put after them, as
        # when the whole file was read before any of it was imported: notes on one line
        # keep that order.
        if len(self.notes) < MAX_NOTES:
            self.notes.append(sanitize(
                f"{where if isinstance(where, str) else self.at(where)}: {text}"))
        else:
            self.dropped += 1

    def loc(self, node: Node) -> Loc:
        """Where ``node`` is, as one int (a string per statement would cost 70 bytes)."""
        number = self.source_ids.get(node.source)
        if number is None:
            number = self.source_ids[node.source] = len(self.sources)
            self.sources.append(node.source)
        return (number << 32) | node.line

    def at(self, loc: Loc) -> str:
        """``FILE:LINE`` of a :meth:`loc`."""
        return _where(self.sources, loc)

    def run(self) -> Imported:
        """After the reading: sync groups (which name instances anywhere in the file),
        then the groups."""
        self.reader.finish()
        self.reader.on_top = None  # no reference cycle: the reader and importer die at once
        self.by_name = {i.name: i for i in self.instances}
        for node in self.sync_groups:
            self.sync_group(node)
        self.by_name = {}  # build frees each instance once its groups are made
        return self.build()

    def statement(self, node: Node) -> None:
        """One top-level statement, in file order (global_defs before an instance reaches
        it, not after)."""
        keyword = node.words[0] if node.words else ""
        if keyword == "global_defs":
            if self.needs_block(node):
                self.global_defs(node.block or [])
        elif keyword == "vrrp_instance":
            if self.needs_block(node):
                self.instance(node)
        elif keyword == "vrrp_sync_group":
            if self.needs_block(node):
                self.sync_groups.append(node)
        elif keyword == "garp_group":
            if self.needs_block(node):
                self.garp_group(node)
        elif keyword == "include":
            self.note(node.where, "include without a file name; ignored")
        elif keyword == "net_namespace":
            self.namespace(node)
        elif "garp" in keyword or keyword.startswith("vrrp_gna"):
            self.note(node.where, f"{keyword} belongs in global_defs or a vrrp_instance; "
                      "keepalived ignores it here")
        elif not keyword:
            return  # '{' without a keyword: the reader noted it
        elif keyword not in TOP_KEYWORDS:
            self.note(node.where, f"unknown top-level keyword {keyword!r} (not one of "
                      "keepalived 2.2's); ignored with its block")

    def namespace(self, node: Node) -> None:
        """Top-level ``net_namespace NAME`` (keepalived 2.2 global_parser.c, a root keyword):
        keepalived runs in that namespace, so garpd must run there too."""
        if len(node.words) < 2:
            self.note(node.where, "net_namespace without a name; keepalived ignores it")
            return
        if self.net_namespace is not None:
            self.note(node.where, "net_namespace given twice; keepalived ignores this one")
            return
        self.net_namespace = node.words[1]
        self.note(node.where, f"net_namespace {node.words[1]}: keepalived's VRRP runs in "
                  "this network namespace; garpd must run in it too (e.g. ip netns exec "
                  f"{node.words[1]} garpd run), or it watches the wrong interfaces")

    def needs_block(self, node: Node) -> bool:
        if node.block is None:
            self.note(node.where, f"{node.words[0]} without a {{ }} block; ignored")
            return False
        return True

    # numbers -------------------------------------------------------------------------

    def unsigned(self, node: Node, low: int, high: int, *, lenient: bool = True) -> int | None:
        """read_unsigned_strvec(strvec, 1, ...): the value, or None (noted) if refused."""
        keyword = node.words[0]
        if len(node.words) < 2:
            self.note(node.where, f"{keyword} without a value; ignored")
            return None
        text = node.words[1]
        if 0 < len(text) <= 9 and text.isascii() and text.isdigit():
            value = int(text)  # the common case: plain digits
            if low <= value <= high:
                return value
        body = text.lstrip(WS)
        if body.startswith("-"):
            self.note(node.where, f"{keyword} {text!r}: negative; ignored")
            return None
        found = _UNSIGNED.match(body)
        digits = found.group(1) if found else ""
        rest = body[found.end():] if found else body
        # strtoul saturates; more than 20 digits is out of every range here anyway.
        value = int(digits) if 0 < len(digits) <= 20 else (high + 1 if digits else 0)
        if not low <= value <= high:
            self.note(node.where, f"{keyword} {text!r}: out of range {low}..{high}; ignored")
            return None
        if rest or not digits:
            if not lenient:
                self.note(node.where, f"{keyword} {text!r}: not a whole number; ignored")
                return None
            self.note(node.where, f"{keyword} {text!r}: not a whole number; keepalived "
                      f"reads it as {value}")
        return value

    def decimal(self, node: Node, low: float, high: float) -> float | None:
        """read_double / read_decimal_unsigned: the value in seconds, or None if refused."""
        keyword = node.words[0]
        if len(node.words) < 2:
            self.note(node.where, f"{keyword} without a value; ignored")
            return None
        text = node.words[1]
        body = text.lstrip(WS)
        if body.startswith("-"):
            self.note(node.where, f"{keyword} {text!r}: negative; ignored")
            return None
        found = _DECIMAL.match(body)
        value = round(float(found.group(0)), 6) if found else 0.0
        if not low <= value <= high:
            if value == 0.0 and found is not None:
                return 0.0  # keepalived refuses 0 here, which leaves 0 (no spacing) anyway
            self.note(node.where, f"{keyword} {text!r}: must be {low:g} to {high} seconds; "
                      "ignored")
            return None
        if found is None or found.end() != len(body):
            self.note(node.where, f"{keyword} {text!r}: not a number; keepalived reads it "
                      f"as {value:g}")
        return value

    def flag(self, node: Node) -> bool | None:
        """check_true_false on the optional argument; no argument means true."""
        if len(node.words) < 2:
            return True
        value = node.words[1]
        if value in ("true", "on", "yes"):
            return True
        if value in ("false", "off", "no"):
            return False
        self.note(node.where, f"{node.words[0]} {value!r}: must be one of "
                  "true/on/yes/false/off/no; ignored")
        return None

    # global_defs ---------------------------------------------------------------------

    def global_defs(self, block: list[Node]) -> None:
        g = self.glob
        for node in block:
            keyword = node.words[0] if node.words else ""
            key = GLOBAL_KEYS.get(keyword)
            if key is not None:
                self.global_value(node, key)
            elif keyword == "vrrp_min_garp":
                if self.flag(node):
                    self.min_garp(node.where)
            elif keyword == "vrrp_strict":
                g.strict = True
                g.strict_where = node.where
            elif keyword in ("vrrp_garp_extra_if", "vrrp_vmac_garp_intvl"):
                self.note(node.where, f"{keyword}: garpd sends no periodic GARPs on extra "
                          "interfaces; not carried over")
            elif keyword in ("vmac_prefix", "vmac_addr_prefix"):
                # keepalived 2.2 global_parser.c: the first one given wins.
                attribute = keyword
                if len(node.words) < 2:
                    self.note(node.where, f"{keyword} without a value; ignored")
                elif getattr(self, attribute) is not None:
                    self.note(node.where, f"{keyword} already given; keepalived ignores "
                              "this one")
                else:
                    setattr(self, attribute, node.words[1])
            elif keyword == "net_namespace":
                self.note(node.where, "net_namespace belongs at the top level, not in "
                          "global_defs; keepalived 2.2 does not know it here")
            elif keyword and keyword not in GLOBAL_DEFS_KEYWORDS:
                self.note(node.where, f"unknown global_defs keyword {keyword!r} (not one of "
                          "keepalived 2.2's); ignored")

    def global_value(self, node: Node, key: str) -> None:
        g = self.glob
        if key in ("interval", "na_interval"):
            value = self.decimal(node, MIN_GLOBAL_INTERVAL, MAX_GLOBAL_INTERVAL)
            if value is not None:
                setattr(g, key, value)
                g.set[key] = node.where
            return
        if key == "master_refresh":
            number = self.unsigned(node, 0, UINT_MAX)
            g.refresh = 0 if number is None else number  # keepalived: invalid turns it off
            g.set[key] = node.where
            return
        high = {"master_delay": MAX_DELAY_S, "lower_prio_delay": MAX_DELAY_S,
                "lower_prio_repeat": INT_MAX}.get(key, UINT_MAX)
        number = self.unsigned(node, 0, high)
        if number is None:
            return
        if number == 0 and key in ("master_repeat", "master_refresh_repeat"):
            self.note(node.where, f"{node.words[0]} 0: keepalived uses 1")
            number = 1
        attribute = {"master_delay": "delay", "master_repeat": "repeat",
                     "master_refresh_repeat": "refresh_repeat", "lower_prio_delay":
                     "lower_delay", "lower_prio_repeat": "lower_repeat"}[key]
        setattr(g, attribute, number)
        g.set[key] = node.where

    def min_garp(self, where: str) -> None:
        """vrrp_min_garp: settings still at keepalived's defaults go to the minimum."""
        g = self.glob
        if g.repeat == DEFAULT_REPEAT:
            g.repeat = 1
            g.set["master_repeat"] = where
        if g.refresh_repeat == DEFAULT_REFRESH_REPEAT:
            g.refresh_repeat = 0
            g.set["master_refresh_repeat"] = where
        if g.delay == DEFAULT_DELAY:
            g.delay = 0
            g.set["master_delay"] = where

    # vrrp_instance -------------------------------------------------------------------

    def instance(self, node: Node) -> None:
        if len(node.words) != 2:
            self.note(node.where, "vrrp_instance needs exactly one name; block ignored")
            return
        name = node.words[1]
        if not _valid_name(name):
            self.note(node.where, f"vrrp_instance {name!r}: the name has control characters; "
                      "block ignored")
            return
        if name in self.names:
            self.note(node.where, f"vrrp_instance {name} is defined twice; keepalived ignores "
                      "this one")
            return
        self.names.add(name)
        g = self.glob
        copied = (g.repeat, g.delay, g.refresh, g.refresh_repeat)
        inst = _Instance(name, self.loc(node), self.copies.setdefault(copied, copied))
        for child in node.block or []:
            self.instance_statement(inst, child)
        if inst.ipv6 is None:
            inst.ipv6 = False  # keepalived 2.2 vrrp.c: "Default to IPv4"
        self.instances.append(inst)

    def family(self, inst: _Instance, version: int, node: Node, what: str) -> bool:
        """keepalived 2.2 (vrrp_parser.c, vrrp_data.c): the instance's family is set by the
        first of a VIP, native_ipv6, mcast/unicast_src_ip, mcast_dst_ip or a unicast peer;
        a later one of the other family is refused. True if ``version`` fits."""
        if inst.ipv6 is None:
            inst.ipv6 = version == 6
            inst.family_where = self.loc(node)
            return True
        if inst.ipv6 == (version == 6):
            return True
        family = "IPv6" if inst.ipv6 else "IPv4"
        self.note(node.where, f"vrrp_instance {inst.name}: {what} is not {family}, the "
                  f"instance's family (set at {self.at(inst.family_where)}); keepalived 2.2 "
                  "ignores it")
        return False

    def instance_statement(self, inst: _Instance, node: Node) -> None:
        keyword = node.words[0] if node.words else ""
        label = _Label(inst.name, keyword)  # made into text only for a note
        key = INSTANCE_KEYS.get(keyword)
        if key is not None:
            self.instance_value(inst, node, key)
        elif keyword == "interface":
            if len(node.words) < 2 or not valid_ifname(node.words[1]):
                shown = node.words[1] if len(node.words) > 1 else ""
                self.note(node.where, f"{label} {shown!r}: not an interface name "
                          f"(1 to {MAX_IFNAME} bytes without '/', ':' or blanks); ignored")
            else:
                inst.interface = self.ifnames.setdefault(node.words[1], node.words[1])
                inst.origins["interface"] = self.loc(node)
        elif keyword == "virtual_router_id":
            vrid = self.unsigned(node, 1, 255, lenient=False)
            if vrid is not None:
                inst.vrid = vrid
                inst.origins["vrid"] = self.loc(node)
        elif keyword == "priority":
            priority = self.unsigned(node, 1, 255, lenient=False)
            inst.priority = DEFAULT_PRIORITY if priority is None else priority
            inst.origins["priority"] = self.loc(node)
        elif keyword in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
            if node.block is None:
                self.note(node.where, f"{label} without a {{ }} block; ignored")
            else:
                for line in node.block:
                    self.vip(inst, line, keyword)
        elif keyword == "no_virtual_ipaddress":
            inst.no_vips = True
        elif keyword in ("use_vmac", "use_ipvlan"):
            self.virtual_interface(inst, node)
        elif keyword == "native_ipv6":
            if inst.ipv6 is False:
                self.note(node.where, f"{label}: the instance is already IPv4 (set at "
                          f"{self.at(inst.family_where)}); keepalived 2.2 refuses native_ipv6 here")
            elif inst.ipv6 is None:
                inst.ipv6 = True
                inst.family_where = self.loc(node)
        elif keyword in ("mcast_src_ip", "unicast_src_ip", "mcast_dst_ip"):
            address = _ip(node.words[1]) if len(node.words) > 1 else None
            if address is not None and "/" not in node.words[1]:
                self.family(inst, address.version, node, f"{keyword} {address}")
        elif keyword == "unicast_peer":
            inst.unicast = inst.unicast or any(line.words for line in node.block or [])
            for line in node.block or []:
                peer = _ip(line.words[0]) if line.words else None
                if peer is not None and "/" not in line.words[0]:
                    self.family(inst, peer.version, line, f"unicast_peer {peer}")
        elif keyword == "use_vmac_addr":
            inst.vmac_addr = True
        elif keyword == "strict_mode":
            value = self.flag(node)
            if value is not None:
                inst.strict = value
                inst.origins["strict_mode"] = self.loc(node)
        elif keyword in ("garp_extra_if", "vmac_garp_intvl"):
            self.note(node.where, f"{label}: garpd sends no periodic GARPs on extra "
                      "interfaces; not carried over")
        elif keyword and keyword not in _INSTANCE_IGNORED:
            self.note(node.where, f"{label}: not a vrrp_instance keyword garpd knows; ignored")

    def instance_value(self, inst: _Instance, node: Node, key: str) -> None:
        label = f"vrrp_instance {inst.name}: "
        if key == "master_refresh":
            number = self.unsigned(node, 0, UINT_MAX)
            if number is None:
                self.note(node.where, f"{label}keepalived turns refresh off")
                number = 0
        else:
            high = {"master_delay": MAX_DELAY_S, "lower_prio_delay": MAX_DELAY_S,
                    "lower_prio_repeat": INT_MAX}.get(key, UINT_MAX)
            number = self.unsigned(node, 0, high)
            if number is None:
                return
            if number == 0 and key in ("master_repeat", "master_refresh_repeat"):
                self.note(node.where, f"{label}{node.words[0]} 0: keepalived uses 1")
                number = 1
        if inst.own is _NO_OWN:
            inst.own = {}
        inst.own[key] = number
        inst.origins[key] = self.loc(node)

    def virtual_interface(self, inst: _Instance, node: Node) -> None:
        """use_vmac [NAME] [MAC] [...] / use_ipvlan [NAME] [ADDRESS] [bridge|private|vepa]."""
        keyword = node.words[0]
        label = f"vrrp_instance {inst.name}: {keyword}"
        if inst.virtual is not None:
            self.note(node.where, f"{label}: {inst.virtual} already given; ignored")
            return
        inst.virtual = keyword
        inst.origins["virtual"] = self.loc(node)
        args = list(node.words[1:])
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if keyword == "use_vmac" and ":" in arg:
                continue  # the VMAC's MAC address
            if arg == "netlink_notify_msg" and keyword == "use_vmac":
                continue
            if keyword == "use_ipvlan" and (arg in ("bridge", "private", "vepa")
                                            or _ip(arg) is not None):
                continue
            if arg == "group":
                i += 1
                continue
            if arg == "name":
                if i >= len(args):
                    break
                arg = args[i]
                i += 1
            if inst.virtual_name is not None:
                self.note(node.where, f"{label}: interface name already given; {arg!r} "
                          "ignored")
            elif not valid_ifname(arg):
                self.note(node.where, f"{label}: {arg!r} is not a valid interface name; "
                          "ignored")
            else:
                inst.virtual_name = arg

    def vip(self, inst: _Instance, node: Node, block: str) -> None:
        """One virtual_ipaddress line: ADDRESS[/LEN] [dev IF] [brd X] [scope S] [label L]..."""
        if not node.words:
            # '{ }' with no address before it (a template's '{{ VIP }}' left unrendered).
            return  # the reader noted the stray '{'
        if node.block is not None:
            self.note(node.where, f"{_label(inst, block)}: unexpected {{ }} block after "
                      f"{node.words[0]!r}; ignored")
        text = node.words[0]
        if len(node.words) == 1 and node.block is None and _IPV4.fullmatch(text) is not None:
            # The common case, a plain IPv4 address[/len] alone on its line: what the
            # general path below does, without building an ipaddress object.
            head, _, length = text.partition("/")
            first = int(head[:head.index(".")])
            if not (224 <= first <= 239 or head == "0.0.0.0"  # noqa: S104 - an address
                    or (length and int(length) > 32)):
                excluded = block == "virtual_ipaddress_excluded"
                if excluded or self.family(inst, 4, node, f"{block} {text}"):
                    inst.vips.append(_Vip(head, None, self.loc(node), 4, excluded))
                return
        self.vip_general(inst, node, block)

    def vip_general(self, inst: _Instance, node: Node, block: str) -> None:
        """:meth:`vip` for any line."""
        label = _label(inst, block)
        text = node.words[0]
        address = _ip(text)
        if address is None:
            self.note(node.where, f"{label}: {text!r} is not an IP address[/len]; skipped")
            return
        if address.is_multicast or address.is_unspecified:
            self.note(node.where, f"{label}: {text} is a multicast or unspecified address, "
                      "which garpd does not announce; skipped")
            return
        _head, slash, length = text.partition("/")
        if slash and not (length.isdigit() and int(length) <= address.max_prefixlen):
            self.note(node.where, f"{label}: {text}: invalid prefix length; keepalived uses "
                      f"/{address.max_prefixlen}")
        dev: str | None = None
        use_vmac = False
        words = node.words
        i = 1
        while i < len(words):
            option = words[i]
            has_value = i + 1 < len(words)
            if option == "dev" or option in _VIP_VALUED:
                if not has_value:
                    self.note(node.where, f"{label}: {text}: {option} without a value; "
                              "keepalived skips the address")
                    return
                value = words[i + 1]
                if option == "dev":
                    if dev is not None:
                        self.note(node.where, f"{label}: {text}: dev given twice; keepalived "
                                  "skips the address")
                        return
                    if not valid_ifname(value):
                        self.note(node.where, f"{label}: {text}: dev {value!r} is not an "
                                  "interface name; skipped")
                        return
                    dev = value
                elif option in ("brd", "broadcast") and address.version == 6:
                    self.note(node.where, f"{label}: {text}: broadcast on an IPv6 address; "
                              "keepalived skips the address")
                    return
                i += 2
                continue
            if option == "use_vmac":
                use_vmac = True
            elif _ip(option) is not None:
                self.note(node.where, f"{label}: {option} after {text} is ignored: keepalived "
                          "takes one address per line (put it on a line of its own)")
            elif option not in _VIP_FLAGS:
                self.note(node.where, f"{label}: {text}: unknown option {option!r}; ignored")
            i += 1
        excluded = block == "virtual_ipaddress_excluded"
        # keepalived 2.2 vrrp_data.c alloc_vrrp_vip: a VIP sets the instance's family or
        # must match it; alloc_vrrp_evip takes an excluded address of either family.
        if not excluded and not self.family(inst, address.version, node, f"{block} {text}"):
            return
        inst.vips.append(_Vip(str(address), dev, self.loc(node), address.version, excluded,
                              use_vmac))

    # vrrp_sync_group, garp_group -----------------------------------------------------

    def sync_group(self, node: Node) -> None:
        if len(node.words) != 2:
            self.note(node.where, "vrrp_sync_group needs exactly one name; block ignored")
            return
        name = node.words[1]
        if not _valid_name(name):
            self.note(node.where, f"vrrp_sync_group {name!r}: the name has control "
                      "characters; ignored")
            return
        members: list[tuple[str, Loc]] = []
        for child in node.block or []:
            if child.words and child.words[0] not in SYNC_GROUP_KEYWORDS:
                self.note(child.where, f"vrrp_sync_group {name}: unknown keyword "
                          f"{child.words[0]!r}; ignored")
            if child.words and child.words[0] == "group":
                if child.block is None:
                    self.note(child.where, f"vrrp_sync_group {name}: group without a {{ }} "
                              "block; ignored")
                    continue
                members += [(w, self.loc(line)) for line in child.block for w in line.words]
        if not members:
            self.note(node.where, f"vrrp_sync_group {name} has no members; ignored")
        by_name = self.by_name
        for member, where in members:
            inst = by_name.get(member)
            if inst is None:
                self.note(where, f"vrrp_sync_group {name}: no vrrp_instance {member}; ignored")
            elif inst.sync_group is not None and inst.sync_group != name:
                self.note(where, f"vrrp_sync_group {name}: {member} is already in "
                          f"{inst.sync_group}; ignored")
            else:
                inst.sync_group = name
                inst.origins["sync_group"] = where

    def garp_group(self, node: Node) -> None:
        group = _GarpGroup(node.where)
        for child in node.block or []:
            keyword = child.words[0] if child.words else ""
            if keyword in ("garp_interval", "gna_interval"):
                value = self.decimal(child, 0.0, MAX_GROUP_INTERVAL)
                if value is not None:
                    setattr(group, "interval" if keyword == "garp_interval" else "na_interval",
                            value)
            elif keyword == "interface":
                if len(child.words) < 2 or not valid_ifname(child.words[1]):
                    self.note(child.where, "garp_group: interface needs an interface name; "
                              "ignored")
                else:
                    self.garp_interface(group, child.words[1], child.where)
            elif keyword == "interfaces":
                if child.block is None:
                    self.note(child.where, "garp_group: interfaces without a { } block; "
                              "ignored")
                    continue
                names = [w for line in child.block for w in line.words]
                if len(names) > 1:
                    self.note(child.where, "garp_group interfaces: keepalived spaces these "
                              "interfaces' GARPs on one shared clock; garpd applies the "
                              "interval to each interface separately")
                for ifname in names:
                    if valid_ifname(ifname):
                        self.garp_interface(group, ifname, child.where)
                    else:
                        self.note(child.where, f"garp_group interfaces: {ifname!r} is not an "
                                  "interface name; ignored")
            elif keyword:
                self.note(child.where, f"garp_group: unknown keyword {keyword}; ignored")
        if group.interval is None and group.na_interval is None:
            self.note(node.where, "garp_group sets neither garp_interval nor gna_interval; "
                      "keepalived drops it")
            for ifname in group.interfaces:
                del self.garp_by_if[ifname]
            return
        self.garp_groups.append(group)

    def garp_interface(self, group: _GarpGroup, ifname: str, where: str) -> None:
        if ifname in self.garp_by_if:
            self.note(where, f"garp_group: {ifname} is already in a garp_group; ignored")
            return
        self.garp_by_if[ifname] = group
        group.interfaces.append(ifname)

    # the result ----------------------------------------------------------------------

    def announce(self) -> tuple[dict[str, Any], dict[str, str]]:
        """[announce] from global_defs, and where each key came from."""
        g = self.glob
        current: dict[str, Any] = {
            "master_delay": float(g.delay), "master_repeat": g.repeat,
            "master_refresh": float(g.refresh),
            "master_refresh_repeat": max(g.refresh_repeat, 1),
            "lower_prio_delay": float(g.lower_delay or 0),
            "lower_prio_repeat": g.lower_repeat or 0,
            "interval": g.interval or 0.0, "na_interval": g.na_interval or 0.0,
        }
        origins = dict(g.set)
        if g.refresh_repeat == 0 and g.refresh > 0:
            current["master_refresh"] = 0.0
            self.note(g.set["master_refresh_repeat"], "vrrp_min_garp sets "
                      "vrrp_garp_master_refresh_repeat to 0, so keepalived's refresh sends "
                      "nothing; master_refresh imported as 0 (off)")
        if g.strict:
            current["lower_prio_delay"] = 0.0
            current["lower_prio_repeat"] = 0
            origins["lower_prio_delay"] = origins["lower_prio_repeat"] = g.strict_where
        keys = [k for k in current if k in origins]
        return {k: current[k] for k in keys}, {k: origins[k] for k in keys}

    def timing(self, inst: _Instance, announce: Mapping[str, Any]) -> dict[str, Any]:
        """The instance's timing keys that a group must carry (see the module docstring).

        Memoised on what decides them (the copied globals, the instance's own keys, its
        strict mode): 40,000 instances have a handful of distinct timings. A result that
        came with notes is not memoised, so that every instance gets its own."""
        key = (inst.copied, tuple(inst.own.items()), inst.strict, id(announce))
        found = self.timings.get(key)
        if found is not None:
            return found
        before = len(self.notes) + self.dropped
        result = self.timing_of(inst, announce)
        if len(self.notes) + self.dropped == before:
            self.timings[key] = result
        return result

    def timing_of(self, inst: _Instance, announce: Mapping[str, Any]) -> dict[str, Any]:
        g = self.glob
        own = inst.own
        repeat, delay, refresh, refresh_repeat = inst.copied
        repeat = own.get("master_repeat", repeat)
        delay = own.get("master_delay", delay)
        refresh = own.get("master_refresh", refresh)
        refresh_repeat = own.get("master_refresh_repeat", refresh_repeat)
        if refresh_repeat == 0:
            if refresh > 0 and "master_refresh" in own:
                self.note(inst.origins["master_refresh"], f"vrrp_instance {inst.name}: "
                          "garp_master_refresh has no effect: vrrp_min_garp left "
                          "garp_master_refresh_repeat at 0 (set it to send refreshes)")
            refresh, refresh_repeat = 0, 1
        strict = g.strict if inst.strict is None else inst.strict
        lower: dict[str, int] = {}
        for key, global_value, master in (("lower_prio_repeat", g.lower_repeat, g.repeat),
                                          ("lower_prio_delay", g.lower_delay, g.delay)):
            value = own.get(key)
            if strict:
                if value:
                    self.note(inst.origins[key], f"vrrp_instance {inst.name}: strict mode "
                              f"forces {key} to 0")
                value = 0
            elif value is None:
                value = master if global_value is None else global_value
            lower[key] = value
        mine: dict[str, Any] = {
            "master_delay": float(delay), "master_repeat": repeat,
            "master_refresh": float(refresh), "master_refresh_repeat": refresh_repeat,
            "lower_prio_delay": float(lower["lower_prio_delay"]),
            "lower_prio_repeat": lower["lower_prio_repeat"],
        }
        if self.resolved is None or self.resolved[0] is not announce:
            self.resolved = (announce, _resolve(announce))
        resolved = self.resolved[1]
        return {key: mine[key] for key in _TIMING
                if key in own or mine[key] != resolved[key]
                or (key.startswith("lower") and inst.strict)}

    def timing_origin(self, inst: _Instance, key: str) -> Loc | str:
        """The line a group's timing key comes from: the instance's keyword, else strict
        mode (lower-prio), else the vrrp_instance line (which copied the global value)."""
        if key in inst.origins:
            return inst.origins[key]
        if key.startswith("lower"):
            if "strict_mode" in inst.origins:
                return inst.origins["strict_mode"]
            if self.glob.strict_where:
                return self.glob.strict_where
        return inst.where

    def virtual_names(self) -> dict[str, str]:
        """The VMAC / ipvlan interface of each instance that has one (vrrp_complete_instance)."""
        names: dict[str, str] = {}
        used: set[str] = set()
        for inst in self.instances:
            if inst.virtual is None or inst.interface is None:
                continue
            if inst.virtual_name is not None and inst.virtual_name in used:
                self.note(inst.origins["virtual"], f"vrrp_instance {inst.name}: "
                          f"{inst.virtual} {inst.virtual_name} is already another instance's; "
                          "keepalived picks a default name instead")
                inst.virtual_name = None
            if inst.virtual_name is not None:
                used.add(inst.virtual_name)
                names[inst.name] = inst.virtual_name
        for inst in self.instances:
            if inst.virtual is None or inst.interface is None or inst.name in names:
                continue
            if inst.vrid is None:
                continue
            candidate = _vmac_name(self.vmac_prefix or "vrrp", inst.vrid, bool(inst.ipv6),
                                   used)
            used.add(candidate)
            names[inst.name] = candidate
        self.used_names = used
        return names

    def address_vmac(self, inst: _Instance, vip: _Vip, base: str) -> str:
        """keepalived 2.2 vrrp.c (vrrp_complete_instance): the per-address VMAC on ``base``
        for ``use_vmac_addr`` / a VIP's own ``use_vmac``; one per (VRID, family, base),
        named from vmac_addr_prefix, else vmac_prefix, else "vrrp"."""
        assert inst.vrid is not None
        key = (inst.vrid, vip.version, base)
        name = self.address_vmacs.get(key)
        if name is None:
            prefix = self.vmac_addr_prefix or self.vmac_prefix or "vrrp"
            name = _vmac_name(prefix, inst.vrid, vip.version == 6, self.used_names)
            self.used_names.add(name)
            self.address_vmacs[key] = name
        return name

    def place(self, inst: _Instance, vip: _Vip, virtual: str | None) -> str | None:
        """The interface keepalived 2.2.8 puts ``vip`` on (vrrp.c vrrp_complete_instance,
        "Check sanity regarding use_vmac"), None if it has none.

        - no ``dev``, or ``dev`` the instance's own interface: with ``use_vmac`` and the
          instance's family, the VMAC; otherwise the base interface (so an excluded address
          of the other family stays on the base interface), or a per-address VMAC on it
          when the address says ``use_vmac`` or (other family) with ``use_vmac_addr``;
        - another ``dev``: that interface, or a per-address VMAC on it with ``use_vmac``
          on the address or ``use_vmac_addr`` on the instance.

        ``use_ipvlan`` keeps garpd's earlier rule (the ipvlan interface for addresses of
        the instance's family without another dev); keepalived's ipvlan placement was not
        re-checked against its code.
        """
        own = vip.dev is None or vip.dev == inst.interface
        same = (vip.version == 6) == bool(inst.ipv6)
        if own:
            if virtual is not None and same:
                return virtual
            if inst.interface is None:
                return None
            if vip.use_vmac or (inst.vmac_addr and not same):
                return self.address_vmac(inst, vip, inst.interface)
            return inst.interface
        assert vip.dev is not None
        if vip.use_vmac or inst.vmac_addr:
            return self.address_vmac(inst, vip, vip.dev)
        return vip.dev

    def build(self) -> Imported:
        announce, announce_origins = self.announce()
        virtual = self.virtual_names()
        groups: list[dict[str, Any]] = []
        instances: dict[str, list[str]] = {}
        origins = _Origins(self.sources)
        placed: dict[tuple[str, str], str] = {}
        taken = {inst.name for inst in self.instances}
        split_names: dict[tuple[str, str], str] = {}

        def split_name(inst: _Instance, ifname: str) -> str:
            """``NAME@IFACE``, made unique against every instance and group name."""
            if (inst.name, ifname) not in split_names:
                name, number = f"{inst.name}@{ifname}", 1
                while name in taken:
                    number += 1
                    name = f"{inst.name}@{ifname}~{number}"
                taken.add(name)
                split_names[(inst.name, ifname)] = name
            return split_names[(inst.name, ifname)]

        for vmac in virtual.values():
            if vmac in self.garp_by_if:
                self.note(self.garp_by_if[vmac].where, f"garp_group: {vmac} is a VMAC/ipvlan "
                          "interface, which keepalived refuses here; it is paced by its base "
                          "interface's settings")
        # Each instance is dropped as soon as its groups are made: 40,000 instances and
        # their 40,000 groups are never all held at once.
        pending, self.instances = self.instances, []
        for index, inst in enumerate(pending):
            pending[index] = _GONE
            label = f"vrrp_instance {inst.name}"
            if inst.vrid is None:
                self.note(inst.where, f"{label} has no valid virtual_router_id; keepalived "
                          "refuses the instance; skipped")
                continue
            if inst.interface is None and not inst.unicast:
                self.note(inst.where, f"{label} has no interface (and no unicast peers); "
                          "keepalived refuses the instance; skipped")
                continue
            if inst.virtual is not None and inst.interface is None:
                self.note(inst.origins["virtual"], f"{label}: {inst.virtual} needs an "
                          "interface; keepalived ignores it")
            if not inst.vips:
                if not inst.no_vips:
                    self.note(inst.where, f"{label} has no virtual_ipaddress; nothing to "
                              "announce, no group made")
                continue
            primary = virtual.get(inst.name, inst.interface)
            by_if: dict[str, list[_Vip]] = {}
            if primary is not None:
                by_if[primary] = []
            for vip in inst.vips:
                ifname = self.place(inst, vip, virtual.get(inst.name))
                if ifname is None:
                    self.note(vip.where, f"{label}: {vip.address} has no dev and the instance "
                              "no interface; skipped")
                    continue
                first = placed.get((ifname, vip.address))
                if first is not None:
                    self.note(vip.where, f"{label}: {vip.address} on {ifname} is already in "
                              f"group {first}; skipped")
                    continue
                group_name = inst.name if ifname == primary else split_name(inst, ifname)
                placed[(ifname, vip.address)] = group_name
                by_if.setdefault(ifname, []).append(vip)
            timing = self.timing(inst, announce)
            for ifname, vips in by_if.items():
                if not vips:
                    continue
                name = inst.name if ifname == primary else split_name(inst, ifname)
                group: dict[str, Any] = {
                    "name": name, "interface": ifname,
                    "addresses": [v.address for v in vips],
                    "vrid": inst.vrid, "priority": inst.priority,
                }
                where: dict[str, Loc | str] = {
                    "": inst.where, "addresses": vips[0].where,
                    **{k: inst.origins[k] for k in ("vrid", "priority", "interface")
                       if k in inst.origins}}
                if inst.sync_group is not None:
                    group["sync_group"] = inst.sync_group
                    where["sync_group"] = inst.origins["sync_group"]
                if ifname == primary and inst.virtual is not None and "virtual" in inst.origins:
                    where["interface"] = inst.origins["virtual"]
                elif ifname != primary:
                    where["interface"] = vips[0].where
                for key, value in timing.items():
                    group[key] = value
                    where[key] = self.timing_origin(inst, key)
                base = inst.interface if ifname == primary else ifname
                pacing = self.garp_by_if.get(base or "")
                if pacing is not None:
                    group["interval"] = pacing.interval or 0.0
                    group["na_interval"] = pacing.na_interval or 0.0
                    where["interval"] = where["na_interval"] = pacing.where
                groups.append(group)
                origins.add(name, where)
                instances.setdefault(inst.name, []).append(name)
        kept = self.reader.notes + self.notes
        dropped = self.reader.dropped + self.dropped + max(len(kept) - MAX_NOTES, 0)
        notes = _in_file_order(kept[:MAX_NOTES], self.reader.files)
        if dropped:
            notes.append(f"... and {dropped} more")
        return Imported(groups=groups, announce=announce, unsupported=notes,
                        instances=instances, files=list(self.reader.files),
                        group_origins=origins, announce_origins=announce_origins,
                        net_namespace=self.net_namespace)


def _in_file_order(notes: list[str], files: list[str]) -> list[str]:
    """``FILE:LINE: text`` notes sorted by file (in reading order), then line; stable."""
    rank = {name: i for i, name in reversed(list(enumerate(files)))}

    def key(note: str) -> tuple[int, int]:
        for name, i in rank.items():
            prefix = f"{name}:"
            if note.startswith(prefix):
                number = note[len(prefix):].partition(":")[0]
                return i, int(number) if number.isascii() and number.isdigit() else 0
        return len(rank), 0

    return sorted(notes, key=key)


def _resolve(announce: Mapping[str, Any]) -> dict[str, Any]:
    """What garpd resolves for a group without its own timing keys, given ``announce``."""
    resolved: dict[str, Any] = {
        "master_delay": float(announce.get("master_delay", DEFAULT_DELAY)),
        "master_repeat": announce.get("master_repeat", DEFAULT_REPEAT),
        "master_refresh": float(announce.get("master_refresh", DEFAULT_REFRESH)),
        "master_refresh_repeat": announce.get("master_refresh_repeat",
                                              DEFAULT_REFRESH_REPEAT),
    }
    resolved["lower_prio_delay"] = float(announce.get("lower_prio_delay",
                                                      resolved["master_delay"]))
    resolved["lower_prio_repeat"] = announce.get("lower_prio_repeat",
                                                 resolved["master_repeat"])
    return resolved


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``ADDRESS[/LEN]`` as keepalived's parse_ipaddress reads it (inet_pton), else None."""
    head = text.partition("/")[0]
    if "%" in head:
        return None
    try:
        if ":" in head:
            return ipaddress.IPv6Address(head)
        return ipaddress.IPv4Address(head)
    except ValueError:
        return None




def _vmac_name(prefix: str, vrid: int, ipv6: bool, used: set[str]) -> str:
    """keepalived 2.2.8 vrrp.c create_vmac_name: ``PREFIX.VRID``, then ``PREFIX1.VRID``,
    ``PREFIX2.VRID``, ... (IPv6: ``PREFIX6.VRID`` first, then 1..5, 7, ...), the prefix cut
    so that the name fits IFNAMSIZ (15 bytes); the first not in ``used``."""
    number = 0
    for _ in range(1000):
        tail = f"{number if number else ''}.{vrid}"
        candidate = prefix[:max(MAX_IFNAME - len(tail), 0)] + tail
        if candidate not in used:
            return candidate
        if ipv6 and number in (0, 6):
            number = 6 if number == 0 else 1
        else:
            number += 1
            if ipv6 and number == 6:
                number += 1
    return candidate


def _label(inst: _Instance, keyword: str) -> str:
    return f"vrrp_instance {inst.name}: {keyword}"


@dataclass(frozen=True, slots=True)
class _Label:
    """``vrrp_instance NAME: KEYWORD``, formatted only when a note uses it."""

    name: str
    keyword: str

    def __format__(self, spec: str) -> str:
        return f"vrrp_instance {self.name}: {self.keyword}"


def _valid_name(name: str) -> bool:
    """What garpd accepts as a group name: no control characters."""
    return bool(name.strip()) and _CONTROL.search(name) is None


_CONTROL = re.compile("[\x00-\x1f\x7f]")
