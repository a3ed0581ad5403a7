"""Importing keepalived.conf (garpd.keepalived): the shared vector configurations, a rich
include tree (tests/data/keepalived/rich), keepalived's override and vrrp_min_garp rules,
the language (comments, quotes, braces, includes, @ lines, $ definitions), malformed input,
merging under garpd.toml, and a fuzz test that arbitrary text only ever yields notes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garpd.config import Config, parse_config
from garpd.keepalived import (
    Imported,
    KeepalivedConfError,
    load_keepalived,
    loads_keepalived,
    merge_toml,
)
from tests.privileges import run_python_unprivileged, shared_directory
from tests.vectors import VECTORS_DIR

HERE = Path(__file__).resolve().parent
RICH = HERE / "data" / "keepalived" / "rich" / "keepalived.conf"
SRC = "/etc/garpd/garpd.toml"


def vectors_dir() -> Path:
    """``tests/data/vectors``: the keepalived configurations of the golden capture."""
    return VECTORS_DIR


def line_of(path: Path, marker: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``marker``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def imp(text: str, tmp_path: Path, **options: Any) -> Imported:
    """Import ``text`` as ``tmp_path/keepalived.conf`` (written, so includes resolve there)."""
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return load_keepalived(path, config_id=options.pop("config_id", "node-a"), **options)


def group(result: Imported, name: str) -> dict[str, Any]:
    """The imported group called ``name``."""
    found = [g for g in result.groups if g["name"] == name]
    assert len(found) == 1, (name, [g["name"] for g in result.groups])
    return found[0]


def notes(result: Imported, pattern: str) -> list[str]:
    """The unsupported-notes matching the regular expression ``pattern``."""
    return [n for n in result.unsupported if re.search(pattern, n)]


def as_config(result: Imported, toml: dict[str, Any] | None = None) -> Config:
    """``result`` merged under ``toml`` and validated by garpd's own configuration model."""
    return parse_config(merge_toml(toml or {}, result), SRC)


def inst(name: str = "VI_1", vrid: int = 51, body: str = "",
         address: str = "192.0.2.100/24") -> str:
    """A vrrp_instance on eth0 with one virtual address and ``body`` inside."""
    return (f"vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n"
            f"{body}\n    virtual_ipaddress {{\n        {address}\n    }}\n}}\n")


# --- the shared vectors -------------------------------------------------------------------


def test_vector_a_groups() -> None:
    """keepalived-a.conf: three groups on eth0 with their VRIDs and priority 150."""
    result = load_keepalived(vectors_dir() / "keepalived-a.conf")
    assert result.groups == [
        {"name": "V2_4", "interface": "eth0", "addresses": ["192.0.2.100"], "vrid": 51,
         "priority": 150},
        {"name": "V3_4", "interface": "eth0", "addresses": ["192.0.2.102"], "vrid": 52,
         "priority": 150},
        {"name": "V3_6", "interface": "eth0", "addresses": ["2001:db8::100"], "vrid": 53,
         "priority": 150},
    ]
    assert result.instances == {"V2_4": ["V2_4"], "V3_4": ["V3_4"], "V3_6": ["V3_6"]}


def test_vector_a_globals() -> None:
    """keepalived-a.conf: the four global vrrp_garp_* values, nothing else."""
    result = load_keepalived(vectors_dir() / "keepalived-a.conf")
    assert result.announce == {"master_delay": 1.0, "master_repeat": 2,
                               "lower_prio_delay": 1.0, "lower_prio_repeat": 2}


def test_vector_a_second_address_on_a_line_is_reported() -> None:
    """192.0.2.101 shares 192.0.2.100's line: not a VIP, and the only note, with FILE:LINE."""
    path = vectors_dir() / "keepalived-a.conf"
    result = load_keepalived(path)
    line = line_of(path, "192.0.2.101")
    assert len(result.unsupported) == 1
    assert result.unsupported[0].startswith(f"{path}:{line}: vrrp_instance V2_4: ")
    assert "192.0.2.101/24" in result.unsupported[0]
    assert "one address per line" in result.unsupported[0]


def test_vector_b_differs_only_in_priority() -> None:
    """keepalived-b.conf is a.conf with priority 100 on every instance."""
    a = load_keepalived(vectors_dir() / "keepalived-a.conf")
    b = load_keepalived(vectors_dir() / "keepalived-b.conf")
    assert [g["priority"] for g in b.groups] == [100, 100, 100]
    assert [{**g, "priority": 150} for g in b.groups] == a.groups
    assert b.announce == a.announce


def test_vector_a_is_a_valid_garpd_configuration() -> None:
    """The import validates as garpd.toml content and resolves to keepalived's timing."""
    config = as_config(load_keepalived(vectors_dir() / "keepalived-a.conf"))
    assert [g.name for g in config.groups] == ["V2_4", "V3_4", "V3_6"]
    for g in config.groups:
        timing = config.effective(g).timing
        assert (timing.master_repeat, timing.master_delay) == (2, 1.0)
        assert (timing.lower_prio_repeat, timing.lower_prio_delay) == (2, 1.0)


# --- the rich fixture -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rich() -> Imported:
    """tests/data/keepalived/rich imported with config id node-a."""
    return load_keepalived(RICH, config_id="node-a")


def test_rich_announce(rich: Imported) -> None:
    """global_defs: explicit values stay; vrrp_min_garp only moved refresh_repeat (to 1)."""
    assert rich.announce == {"master_delay": 3.0, "master_repeat": 4,
                             "master_refresh_repeat": 1, "interval": 0.001,
                             "na_interval": 0.002}


def test_rich_groups(rich: Imported) -> None:
    """Every group: dev splits, excluded addresses, VMAC names, sync groups, garp_group; the
    IPv6 VIP of the IPv4 VI_1 is dropped, as keepalived 2.2 drops it."""
    common1 = {"vrid": 51, "priority": 150, "sync_group": "VG_1", "master_delay": 0.0,
               "master_repeat": 7}
    common2 = {"vrid": 52, "priority": 100, "sync_group": "VG_1", "lower_prio_repeat": 1}
    assert rich.groups == [
        {"name": "VI_1", "interface": "eth0",
         "addresses": ["192.0.2.10", "192.0.2.11", "198.51.100.11"],
         **common1},
        {"name": "VI_1@eth1", "interface": "eth1", "addresses": ["192.0.2.12"], **common1},
        {"name": "VI_1@eth2", "interface": "eth2", "addresses": ["198.51.100.10"], **common1,
         "interval": 0.01, "na_interval": 0.0},
        {"name": "VI_2", "interface": "vrrp.52", "addresses": ["192.0.2.20", "192.0.2.21"],
         **common2},
        {"name": "VI#4", "interface": "eth3", "addresses": ["192.0.2.40", "192.0.2.41"],
         "vrid": 54, "priority": 100},
        {"name": "VI_3", "interface": "vmac53", "addresses": ["203.0.113.30"], "vrid": 53,
         "priority": 90, "sync_group": "VG 2"},
        {"name": "VI_6", "interface": "vrrp6.52", "addresses": ["2001:db8::52"], "vrid": 52,
         "priority": 100},
    ]


def test_rich_instances_and_files(rich: Imported) -> None:
    """Instance -> group names; files in reading order (glob sorted, README not matched)."""
    assert rich.instances == {"VI_1": ["VI_1", "VI_1@eth1", "VI_1@eth2"],
                              "VI_2": ["VI_2"], "VI#4": ["VI#4"],
                              "VI_3": ["VI_3"], "VI_6": ["VI_6"]}
    base = RICH.parent
    assert rich.files == [str(RICH), str(base / "conf.d/10-vmac.conf"),
                          str(base / "conf.d/20-nested.conf"),
                          str(base / "conf.d/nested/v6.conf"), str(base / "extra/sync.inc")]


def test_rich_unsupported(rich: Imported) -> None:
    """The other-family VIP, the typo, garp_extra_if and the missing include are reported
    with FILE:LINE."""
    vmac = RICH.parent / "conf.d" / "10-vmac.conf"
    assert rich.unsupported == [
        f"{RICH}:{line_of(RICH, '2001:db8::10/64')}: vrrp_instance VI_1: virtual_ipaddress "
        f"2001:db8::10/64 is not IPv4, the instance's family (set at "
        f"{RICH}:{line_of(RICH, '192.0.2.10/24')}); keepalived 2.2 ignores it",
        f"{RICH}:{line_of(RICH, 'garp_master_repeet')}: vrrp_instance VI_2: "
        "garp_master_repeet: not a vrrp_instance keyword garpd knows; ignored",
        f"{RICH}:{line_of(RICH, 'include extra/')}: include extra/{{sync,missing}}.inc: "
        f"{RICH.parent / 'extra' / 'missing.inc'}: no such file; skipped",
        f"{vmac}:{line_of(vmac, 'garp_extra_if')}: vrrp_instance VI_3: garp_extra_if: "
        "garpd sends no periodic GARPs on extra interfaces; not carried over",
    ]


def test_rich_origins(rich: Imported) -> None:
    """Each imported value names the line it came from."""
    origins = rich.group_origins["VI_1@eth2"]
    assert origins[""] == f"{RICH}:{line_of(RICH, 'vrrp_instance VI_1')}"
    assert origins["master_repeat"] == f"{RICH}:{line_of(RICH, 'garp_master_repeat 7')}"
    assert origins["interface"] == f"{RICH}:{line_of(RICH, '198.51.100.10/24 dev eth2')}"
    assert origins["interval"] == f"{RICH}:{line_of(RICH, 'garp_group')}"
    assert rich.group_origins["VI_2"]["interface"] == f"{RICH}:{line_of(RICH, 'use_vmac ')}"
    assert rich.announce_origins["master_refresh_repeat"] == \
        f"{RICH}:{line_of(RICH, 'vrrp_min_garp')}"


def test_rich_lower_prio_follows_global_master_values(rich: Imported) -> None:
    """Validated by garpd: VI_1 repeats 7, but lower-prio follows the global 4 / 3 s."""
    config = as_config(rich)
    vi1 = next(g for g in config.groups if g.name == "VI_1")
    timing = config.effective(vi1).timing
    assert (timing.master_repeat, timing.master_delay) == (7, 0.0)
    assert (timing.lower_prio_repeat, timing.lower_prio_delay) == (4, 3.0)
    vi2 = next(g for g in config.groups if g.name == "VI_2")
    assert config.effective(vi2).timing.lower_prio_repeat == 1


def test_rich_other_config_id() -> None:
    """With another config id the @^node-a line gives VI#4 its VRID 154."""
    result = load_keepalived(RICH, config_id="node-b")
    assert group(result, "VI#4")["vrid"] == 154


# --- keepalived's rules -----------------------------------------------------------------


@pytest.mark.parametrize(("globals_", "expected"), [
    ("vrrp_min_garp", {"master_repeat": 1, "master_delay": 0.0,
                       "master_refresh_repeat": 1}),
    ("vrrp_min_garp on", {"master_repeat": 1, "master_delay": 0.0,
                          "master_refresh_repeat": 1}),
    ("vrrp_min_garp false", {}),
    ("vrrp_garp_master_repeat 3\nvrrp_min_garp", {"master_repeat": 3, "master_delay": 0.0,
                                                  "master_refresh_repeat": 1}),
    ("vrrp_min_garp\nvrrp_garp_master_delay 2", {"master_repeat": 1, "master_delay": 2.0,
                                                 "master_refresh_repeat": 1}),
    # keepalived compares with the default value, not with "was it set":
    ("vrrp_garp_master_repeat 5\nvrrp_min_garp", {"master_repeat": 1, "master_delay": 0.0,
                                                  "master_refresh_repeat": 1}),
])
def test_min_garp_changes_only_settings_at_their_defaults(
        globals_: str, expected: dict[str, Any], tmp_path: Path) -> None:
    """vrrp_min_garp: repeat 5 -> 1, delay 5 -> 0, refresh_repeat 1 -> 0 (imported as 1)."""
    result = imp(f"global_defs {{\n{globals_}\n}}\n" + inst(), tmp_path)
    assert result.announce == expected
    assert set(group(result, "VI_1")) == {"name", "interface", "addresses", "vrid", "priority"}


def test_min_garp_silences_an_earlier_refresh(tmp_path: Path) -> None:
    """refresh_repeat 0 makes keepalived's refresh send nothing: imported as refresh off."""
    result = imp("global_defs {\nvrrp_garp_master_refresh 60\nvrrp_min_garp\n}\n"
                 + inst(body="garp_master_refresh 30"), tmp_path)
    assert result.announce["master_refresh"] == 0.0
    assert result.announce["master_refresh_repeat"] == 1
    assert group(result, "VI_1")["master_refresh"] == 0.0
    assert len(notes(result, "refresh sends nothing")) == 1
    assert len(notes(result, "garp_master_refresh has no effect")) == 1


def test_instance_values_beat_global_ones(tmp_path: Path) -> None:
    """garp_* in the instance override the copied globals; equal ones are kept explicit."""
    body = "garp_master_delay 2\ngarp_master_repeat 3\ngarp_master_refresh 60\n" \
           "garp_master_refresh_repeat 2\ngarp_lower_prio_delay 4\ngarp_lower_prio_repeat 0"
    result = imp("global_defs {\nvrrp_garp_master_delay 2\n}\n" + inst(body=body), tmp_path)
    assert group(result, "VI_1") == {
        "name": "VI_1", "interface": "eth0", "addresses": ["192.0.2.100"], "vrid": 51,
        "priority": 100, "master_delay": 2.0, "master_repeat": 3, "master_refresh": 60.0,
        "master_refresh_repeat": 2, "lower_prio_delay": 4.0, "lower_prio_repeat": 0}


def test_global_defs_after_an_instance_does_not_reach_it(tmp_path: Path) -> None:
    """alloc_vrrp copies the globals when the instance is read: later global_defs miss it."""
    result = imp(inst()
                 + "global_defs {\nvrrp_garp_master_repeat 2\nvrrp_garp_master_delay 1\n}\n",
                 tmp_path)
    assert result.announce == {"master_repeat": 2, "master_delay": 1.0}
    vi1 = group(result, "VI_1")
    assert (vi1["master_repeat"], vi1["master_delay"]) == (5, 5.0)
    # lower-prio is resolved after the whole file: it follows the final global values.
    assert "lower_prio_repeat" not in vi1
    timing = as_config(result).effective(as_config(result).groups[0]).timing
    assert (timing.lower_prio_repeat, timing.lower_prio_delay) == (2, 1.0)


def test_lower_prio_prefers_instance_then_global_lower_then_global_master(
        tmp_path: Path) -> None:
    """Lower-prio: per-instance, else vrrp_garp_lower_prio_*, else the global master values."""
    text = ("global_defs {\nvrrp_garp_master_repeat 3\nvrrp_garp_lower_prio_delay 7\n}\n"
            + inst(body="garp_master_repeat 9\ngarp_master_delay 9")
            + inst("VI_2", 52, "garp_lower_prio_repeat 1", "192.0.2.101"))
    config = as_config(imp(text, tmp_path))
    first, second = (config.effective(g).timing for g in config.groups)
    assert (first.lower_prio_repeat, first.lower_prio_delay) == (3, 7.0)
    assert (second.lower_prio_repeat, second.lower_prio_delay) == (1, 7.0)


def test_strict_mode_forces_lower_prio_off(tmp_path: Path) -> None:
    """vrrp_strict / strict_mode: lower-prio 0; strict_mode off restores the globals."""
    text = ("global_defs {\nvrrp_strict\nvrrp_garp_lower_prio_repeat 3\n}\n"
            + inst(body="garp_lower_prio_repeat 2")
            + inst("VI_2", 52, "strict_mode off", "192.0.2.101"))
    result = imp(text, tmp_path)
    assert result.announce["lower_prio_repeat"] == 0
    assert result.announce["lower_prio_delay"] == 0.0
    assert group(result, "VI_1")["lower_prio_repeat"] == 0
    assert len(notes(result, "strict mode forces lower_prio_repeat to 0")) == 1
    vi2 = group(result, "VI_2")
    assert (vi2["lower_prio_repeat"], vi2["lower_prio_delay"]) == (3, 5.0)


@pytest.mark.parametrize(("line", "expected", "note"), [
    ("garp_master_repeat 0", {"master_repeat": 1}, "keepalived uses 1"),
    ("garp_master_refresh_repeat 0", {"master_refresh_repeat": 1}, "keepalived uses 1"),
    ("garp_master_delay 5s", {"master_delay": 5.0}, "reads it as 5"),
    ("garp_master_delay 4295", {}, r"out of range 0\.\.4294"),
    ("garp_master_delay -1", {}, "negative"),
    ("garp_master_delay", {}, "without a value"),
    ("garp_master_refresh junk", {"master_refresh": 0.0}, "reads it as 0"),
    ("garp_master_refresh 4294967296", {"master_refresh": 0.0}, "turns refresh off"),
    ("garp_lower_prio_repeat 2147483648", {}, "out of range"),
    ("garp_master_repeat 99999999999999999999999999", {}, "out of range"),
    ("priority 0", {}, r"out of range 1\.\.255"),
    ("priority 20x", {}, "not a whole number; ignored"),
])
def test_numbers_are_read_like_keepalived(line: str, expected: dict[str, Any], note: str,
                                          tmp_path: Path) -> None:
    """Junk after digits keeps the digits, out-of-range values are ignored, 0 repeats are 1."""
    result = imp(inst(body=line), tmp_path)
    vi1 = group(result, "VI_1")
    own = {k: v for k, v in vi1.items()
           if k not in ("name", "interface", "addresses", "vrid", "priority")}
    assert own == expected
    assert vi1["priority"] == 100
    assert len(notes(result, note)) == 1, result.unsupported


def test_global_intervals(tmp_path: Path) -> None:
    """vrrp_garp_interval / vrrp_gna_interval: decimal seconds; 0 is no spacing, -1 refused."""
    result = imp("global_defs {\nvrrp_garp_interval 0\nvrrp_gna_interval 1.5\n"
                 "vrrp_garp_interval -1\n}\n", tmp_path)
    assert result.announce == {"interval": 0.0, "na_interval": 1.5}
    assert len(result.unsupported) == 1
    assert "negative" in result.unsupported[0]


def test_instance_without_vrid_or_interface_is_skipped(tmp_path: Path) -> None:
    """keepalived refuses an instance without a VRID, or without interface and peers."""
    text = """
vrrp_instance NO_VRID {
    interface eth0
    virtual_ipaddress { 192.0.2.1 }
}
vrrp_instance NO_IF {
    virtual_router_id 7
    virtual_ipaddress { 192.0.2.2 }
}
vrrp_instance UNICAST {
    virtual_router_id 8
    unicast_peer { 192.0.2.99 }
    virtual_ipaddress {
        192.0.2.3 dev eth5
        192.0.2.4
    }
}
vrrp_instance EMPTY {
    interface eth0
    virtual_router_id 9
}
"""
    result = imp(text, tmp_path)
    assert result.groups == [{"name": "UNICAST@eth5", "interface": "eth5",
                              "addresses": ["192.0.2.3"], "vrid": 8, "priority": 100}]
    assert len(notes(result, "NO_VRID has no valid virtual_router_id")) == 1
    assert len(notes(result, "NO_IF has no interface")) == 1
    assert len(notes(result, "192.0.2.4 has no dev and the instance no interface")) == 1
    assert len(notes(result, "EMPTY has no virtual_ipaddress")) == 1


@pytest.mark.parametrize(("vip", "addresses", "note"), [
    ("192.0.2.5/24 brd + scope link label eth0:1", ["192.0.2.5"], None),
    ("192.0.2.5 dev eth0", ["192.0.2.5"], None),
    ("2001:DB8:0:0::5/64 preferred_lft forever -nodad", ["2001:db8::5"], None),
    ("192.0.2.5/33", ["192.0.2.5"], "invalid prefix length"),
    ("192.0.2.5 192.0.2.6", ["192.0.2.5"], "192.0.2.6 after 192.0.2.5 is ignored"),
    ("192.0.2.5 frobnicate", ["192.0.2.5"], "unknown option 'frobnicate'"),
    ("192.0.2.5 dev", [], "dev without a value"),
    ("192.0.2.5 dev eth0 dev eth1", [], "dev given twice"),
    ("192.0.2.5 dev eth0:1", [], "not an interface name"),
    ("2001:db8::5 brd ::", [], "broadcast on an IPv6 address"),
    ("fe80::1%eth0", [], "not an IP address"),
    ("192.0.2.300", [], "not an IP address"),
    ("224.0.0.18", [], "multicast or unspecified"),
    ("0.0.0.0", [], "multicast or unspecified"),  # noqa: S104 - an address, not a bind
    ("192.0.2.5 use_vmac", ["192.0.2.5"], None),  # on its own VMAC, vrrp.1
])
def test_virtual_ipaddress_lines(vip: str, addresses: list[str], note: str | None,
                                 tmp_path: Path) -> None:
    """One address per line, first word; options skipped; bad lines skipped with a note."""
    text = ("vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 1\n"
            f"virtual_ipaddress {{\n{vip}\n}}\n}}\n")
    result = imp(text, tmp_path)
    assert [a for g in result.groups for a in g["addresses"]] == addresses
    if note is None:
        assert result.unsupported == []
    else:
        assert len(notes(result, re.escape(note))) == 1, result.unsupported


def test_duplicate_addresses_and_instances_are_reported(tmp_path: Path) -> None:
    """An address twice on one interface, or an instance name twice, is kept once."""
    text = ("vrrp_instance A {\ninterface eth0\nvirtual_router_id 1\n"
            "virtual_ipaddress {\n192.0.2.1\n192.0.2.1/24\n192.0.2.1 dev eth1\n}\n}\n"
            "vrrp_instance B {\ninterface eth0\nvirtual_router_id 2\n"
            "virtual_ipaddress {\n192.0.2.1\n192.0.2.2\n}\n}\n"
            "vrrp_instance A {\ninterface eth9\nvirtual_router_id 3\n}\n")
    result = imp(text, tmp_path)
    assert [(g["name"], g["addresses"]) for g in result.groups] == [
        ("A", ["192.0.2.1"]), ("A@eth1", ["192.0.2.1"]), ("B", ["192.0.2.2"])]
    assert len(notes(result, "192.0.2.1 on eth0 is already in group A")) == 2
    assert len(notes(result, "vrrp_instance A is defined twice")) == 1
    as_config(result)  # what is left passes garpd's cross-checks


def test_split_group_names_never_collide(tmp_path: Path) -> None:
    """A's dev-eth1 group cannot take the name of an instance literally called A@eth1."""
    text = (inst("A", 1, address="192.0.2.1 dev eth1")
            + inst("A@eth1", 2, address="192.0.2.2"))
    result = imp(text, tmp_path)
    assert result.instances == {"A": ["A@eth1~2"], "A@eth1": ["A@eth1"]}
    as_config(result)


def test_vmac_and_ipvlan_interface_names(tmp_path: Path) -> None:
    """Default VMAC names avoid each other like keepalived's; a taken explicit name is dropped."""
    def instance(name: str, vrid: int, virtual: str, vip: str) -> str:
        return (f"vrrp_instance {name} {{\ninterface eth0\nvirtual_router_id {vrid}\n"
                f"{virtual}\nvirtual_ipaddress {{\n{vip}\n}}\n}}\n")
    text = (instance("V4A", 9, "use_vmac", "192.0.2.1")
            + instance("V4B", 9, "use_vmac", "192.0.2.2")
            + instance("V6A", 9, "use_vmac", "2001:db8::1")
            + instance("V6B", 9, "use_vmac", "2001:db8::2")
            + instance("NAMED", 10, "use_vmac name mv0 02:00:00:00:00:aa", "192.0.2.3")
            + instance("TAKEN", 11, "use_vmac mv0", "192.0.2.4")
            + instance("IPVLAN", 12, "use_ipvlan iv0 192.0.2.77/24 bridge", "192.0.2.5")
            + instance("IPV_DEF", 13, "use_ipvlan private", "192.0.2.6")
            + instance("BAD", 14, "use_vmac way-too-long-a-name", "192.0.2.7"))
    result = imp(text, tmp_path)
    assert {g["name"]: g["interface"] for g in result.groups} == {
        "V4A": "vrrp.9", "V4B": "vrrp1.9", "V6A": "vrrp6.9", "V6B": "vrrp2.9",
        "NAMED": "mv0", "TAKEN": "vrrp.11", "IPVLAN": "iv0", "IPV_DEF": "vrrp.13",
        "BAD": "vrrp.14"}
    assert len(notes(result, "use_vmac mv0 is already another instance's")) == 1
    assert len(notes(result, "'way-too-long-a-name' is not a valid interface name")) == 1


def test_sync_groups(tmp_path: Path) -> None:
    """Members get sync_group; unknown members, double membership and empty groups noted."""
    text = (inst() + inst("VI_2", 52, address="192.0.2.101")
            + "vrrp_sync_group G1 {\ngroup {\nVI_1 GHOST\n}\n}\n"
            + "vrrp_sync_group G2 {\ngroup {\nVI_1\nVI_2\n}\n}\n"
            + "vrrp_sync_group G3 {\nnotify x\n}\n"
            + "vrrp_sync_group {\ngroup { VI_2 }\n}\n")
    result = imp(text, tmp_path)
    assert group(result, "VI_1")["sync_group"] == "G1"
    assert group(result, "VI_2")["sync_group"] == "G2"
    assert len(notes(result, "no vrrp_instance GHOST")) == 1
    assert len(notes(result, "VI_1 is already in G1")) == 1
    assert len(notes(result, "G3 has no members")) == 1
    assert len(notes(result, "vrrp_sync_group needs exactly one name")) == 1


def test_garp_groups(tmp_path: Path) -> None:
    """garp_group intervals go to groups on the named (base) interfaces; empty ones dropped."""
    text = ("garp_group {\ngna_interval 0.5\ninterfaces {\neth0\neth1\n}\n}\n"
            "garp_group {\ninterface eth2\n}\n"
            "garp_group {\ngarp_interval 0.2\ninterface eth0\n}\n"
            "vrrp_instance A {\ninterface eth0\nvirtual_router_id 1\nuse_vmac\n"
            "virtual_ipaddress {\n192.0.2.1\n192.0.2.2 dev eth2\n}\n}\n")
    result = imp(text, tmp_path)
    assert group(result, "A") == {"name": "A", "interface": "vrrp.1",
                                  "addresses": ["192.0.2.1"], "vrid": 1, "priority": 100,
                                  "interval": 0.0, "na_interval": 0.5}
    assert "interval" not in group(result, "A@eth2")
    assert len(notes(result, "shared clock")) == 1
    assert len(notes(result, "sets neither garp_interval nor gna_interval")) == 1
    assert len(notes(result, "eth0 is already in a garp_group")) == 1


def test_unsupported_keywords_are_listed(tmp_path: Path) -> None:
    """Extra-interface GARPs, net_namespace and misplaced garp keywords are each noted once."""
    text = ("global_defs {\nvrrp_garp_extra_if 30\nnet_namespace blue\n"
            "vrrp_garp_master_delayy 1\n}\nvrrp_garp_master_delay 1\n"
            + inst(body="vmac_garp_intvl 10"))
    result = imp(text, tmp_path)
    assert len(result.unsupported) == 5, result.unsupported
    assert result.announce == {}
    for pattern in ("vrrp_garp_extra_if", "net_namespace", "unknown global_defs keyword",
                    "belongs in global_defs", "vmac_garp_intvl"):
        assert len(notes(result, pattern)) == 1, pattern


# --- the language -----------------------------------------------------------------------


def test_comments_quotes_and_escapes(tmp_path: Path) -> None:
    """# and ! start comments outside quotes; \\# keeps a hash; quotes make one word."""
    text = ('vrrp_instance "my VI"   # the name has a space\n{\n'
            "    interface eth0 ! bang comment\n"
            '    virtual_router_id 1#no space needed\n'
            '    notify "/bin/x #1 !2"\n'
            "    virtual_ipaddress { 192.0.2.1 }   # { not a brace }\n"
            "}\n"
            "vrrp_sync_group G\\#1 {\n    group { \"my VI\" }\n}\n")
    result = imp(text, tmp_path)
    assert result.unsupported == []
    assert result.groups == [{"name": "my VI", "interface": "eth0",
                              "addresses": ["192.0.2.1"], "vrid": 1, "priority": 100,
                              "sync_group": "G#1"}]


def test_braces_anywhere_on_a_line(tmp_path: Path) -> None:
    """A brace may end the line, start the next, or share a line with statements."""
    text = ("vrrp_instance A { interface eth0\nvirtual_router_id 1\n"
            "virtual_ipaddress\n{\n192.0.2.1 }\n}\n"
            "vrrp_instance B {\ninterface eth0 }vrrp_instance C\n{ interface eth1\n"
            "virtual_router_id 3 } \n")
    result = imp(text, tmp_path)
    assert [(g["name"], g["addresses"]) for g in result.groups] == [("A", ["192.0.2.1"])]
    assert len(notes(result, "B has no valid virtual_router_id")) == 1
    assert len(notes(result, "C has no virtual_ipaddress")) == 1


def test_conditional_lines_and_definitions(tmp_path: Path) -> None:
    """@ID / @^ID lines follow the config id; $NAME=value is substituted, ${NAME} too."""
    text = ("$IF=eth4\n$BASE=192.0.2\n$HOST=192.0.2.2\n@node-a $ID=61\n@^node-a $ID=62\n"
            "vrrp_instance A {\ninterface $IF\nvirtual_router_id ${ID}\n"
            "virtual_ipaddress {\n${BASE}.1\n$HOST\n$BASE.3\n$UNDEFINED\n}\n}\n"
            "@node-a\n$LONG=a \\\nb\nc\n~SEQ(N, 1, 2) x\n")
    result = imp(text, tmp_path)
    assert group(result, "A") == {"name": "A", "interface": "eth4",
                                  "addresses": ["192.0.2.1", "192.0.2.2"], "vrid": 61,
                                  "priority": 100}
    # keepalived substitutes $NAME only before a blank, ',', ')' or the line's end:
    assert len(notes(result, r"'\$BASE\.3' is not an IP address")) == 1
    assert len(notes(result, r"'\$UNDEFINED' is not an IP address")) == 1
    assert len(notes(result, r"multi-line definition \$LONG")) == 1
    assert len(notes(result, "~SEQ is not supported")) == 1
    # and "c", after the definition's one continuation line, is an unknown keyword:
    assert len(result.unsupported) == 5, result.unsupported
    other = imp(text, tmp_path, config_id="node-b")
    assert group(other, "A")["vrid"] == 62


def test_include_relative_to_the_including_file(tmp_path: Path) -> None:
    """A relative include inside an included file is resolved against that file's directory."""
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "inc.conf").write_text("include deeper/*.conf\n")
    (tmp_path / "sub" / "deeper" / "vi.conf").write_text(inst())
    (tmp_path / "deeper").mkdir()
    (tmp_path / "deeper" / "wrong.conf").write_text("vrrp_instance WRONG {\n}\n")
    result = imp("include sub/inc.conf\n", tmp_path)
    assert [g["name"] for g in result.groups] == ["VI_1"]
    assert result.unsupported == []


def test_include_problems_are_notes(tmp_path: Path) -> None:
    """Missing, unmatched, self-including, executable and directory includes are skipped."""
    (tmp_path / "loop.conf").write_text("include loop.conf\n")
    (tmp_path / "exec.conf").write_text(inst())
    (tmp_path / "exec.conf").chmod(0o755)
    (tmp_path / "adir").mkdir()
    result = imp("include missing.conf\ninclude nothing/*.conf\ninclude loop.conf\n"
                 "include exec.conf\ninclude adir\ninclude\n", tmp_path)
    assert result.groups == []
    assert len(result.unsupported) == 6, result.unsupported
    for pattern in (r"missing\.conf: no such file", r"nothing/\*\.conf: no file matches",
                    "includes itself", "is executable", "is a directory",
                    "include without a file name"):
        assert len(notes(result, pattern)) == 1, pattern


# --- malformed input --------------------------------------------------------------------


def test_missing_close_brace(tmp_path: Path) -> None:
    """An unclosed block is reported at its '{', and what was read is still imported."""
    text = inst().rstrip().removesuffix("}") + "\nvrrp_instance B {\n}\n"
    result = imp(text, tmp_path)
    where = f"{tmp_path / 'keepalived.conf'}:{text.splitlines().index('vrrp_instance VI_1 {') + 1}"
    assert notes(result, "never closed") == [
        f"{where}: vrrp_instance VI_1: '{{' is never closed (1 '}}' missing at the end of "
        "the input); everything after it was read as part of it"]
    assert len(notes(result, "vrrp_instance: not a vrrp_instance keyword")) == 1
    assert [g["name"] for g in result.groups] == ["VI_1"]


def test_extra_close_and_stray_open_braces(tmp_path: Path) -> None:
    """A '}' too many and a '{' without a keyword are noted with their line."""
    text = "}\n" + inst() + "{\n}\n}\n"
    result = imp(text, tmp_path)
    path = tmp_path / "keepalived.conf"
    last = len(text.splitlines())
    assert notes(result, "closes no block") == [
        f"{path}:1: '}}' closes no block (one '}}' too many); ignored",
        f"{path}:{last}: '}}' closes no block (one '}}' too many); ignored"]
    assert notes(result, "without a keyword") == [
        f"{path}:{last - 2}: '{{' without a keyword before it; its block is ignored"]
    assert [g["name"] for g in result.groups] == ["VI_1"]


def test_unmatched_quote(tmp_path: Path) -> None:
    """An unmatched quote is noted and the line's words up to it are kept."""
    result = imp(inst(body='notify "/bin/true'), tmp_path)
    assert len(notes(result, "unterminated quote")) == 1
    assert [g["name"] for g in result.groups] == ["VI_1"]


def test_binary_garbage(tmp_path: Path) -> None:
    """Random bytes are decoded with replacement and never raise."""
    path = tmp_path / "keepalived.conf"
    path.write_bytes(bytes(range(256)) * 8 + b"\xff{\x00}}" + b"\n\x00" * 64)
    result = load_keepalived(path, config_id="x")
    assert result.groups == []
    assert result.files == [str(path)]


@pytest.mark.parametrize("make", ["missing", "directory", "fifo", "unreadable"])
def test_unreadable_main_file_raises(make: str, tmp_path: Path) -> None:
    """Only the main file's I/O errors raise, as KeepalivedConfError naming the file."""
    path = tmp_path / "keepalived.conf"
    reason = {"missing": "no such file", "directory": "is a directory",
              "fifo": "not a regular file", "unreadable": "permission denied"}[make]
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "unreadable":
        # Root reads files whatever their mode: an unprivileged user reads this one.
        with shared_directory() as directory:
            path = directory / "keepalived.conf"
            path.write_text("")
            path.chmod(0)
            lines = run_python_unprivileged(_LOAD_AS_CHILD, str(path))
        assert lines == [f"{path}: {reason}"]
        return
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(path)
    assert caught.value.lines == [f"{path}: {reason}" + (
        ", not a configuration file" if make == "directory" else "")]


_LOAD_AS_CHILD = """
import json, sys
from pathlib import Path
from garpd.keepalived import KeepalivedConfError, load_keepalived
try:
    load_keepalived(Path(sys.argv[1]))
except KeepalivedConfError as exc:
    print(json.dumps(exc.lines))
else:
    print("null")
"""


def test_too_many_notes_are_capped(tmp_path: Path) -> None:
    """Thousands of problems give a bounded list ending in a count of the rest."""
    result = imp("}\n" * 2000, tmp_path)
    assert len(result.unsupported) == 501
    assert result.unsupported[-1] == "... and 1500 more"


# --- merging under garpd.toml ------------------------------------------------------------


def test_merge_toml_wins_per_key(rich: Imported) -> None:
    """TOML [announce] keys and same-named group keys win; TOML groups keep their order."""
    toml = {"announce": {"master_repeat": 2, "mode": "both"},
            "group": [{"name": "mine", "interface": "eth9", "addresses": ["192.0.2.99"]},
                      {"name": "VI_2", "master_repeat": 1, "addresses": ["192.0.2.23"]}],
            "keepalived": {"config": str(RICH)}}
    merged = merge_toml(toml, rich)
    assert merged["announce"] == {**rich.announce, "master_repeat": 2, "mode": "both"}
    names = [g["name"] for g in merged["group"]]
    assert names[:2] == ["mine", "VI_2"]
    assert names[2:] == [g["name"] for g in rich.groups if g["name"] != "VI_2"]
    assert merged["group"][1] == {**group(rich, "VI_2"), "master_repeat": 1,
                                  "addresses": ["192.0.2.23"]}
    assert merged["keepalived"] == toml["keepalived"]
    config = parse_config(merged, SRC)
    vi1 = next(g for g in config.groups if g.name == "VI_1")
    assert config.effective(vi1).timing.master_repeat == 7  # the instance's own value


def test_merge_toml_leaves_bad_types_and_inputs_alone(rich: Imported) -> None:
    """A non-table [announce] or non-list group is left for validation; inputs not mutated."""
    toml: dict[str, Any] = {"announce": 3, "group": {"name": "x"}}
    merged = merge_toml(toml, rich)
    assert merged == toml
    merged = merge_toml({}, rich)
    merged["group"][0]["addresses"].append("192.0.2.250")
    assert "192.0.2.250" not in rich.groups[0]["addresses"]
    assert merge_toml({"log": {}}, Imported()) == {"log": {}}


# --- fuzz -------------------------------------------------------------------------------

_VOCABULARY = st.sampled_from([
    "{", "}", "{}", "\n", " ", "\t", "#", "!", '"', "\\", "@", "@^", "$X=1", "$X", "${X}",
    "include", "include *", "include {a,b}", "global_defs", "vrrp_instance", "VI_1",
    "vrrp_sync_group", "group", "garp_group", "interface", "interfaces", "eth0",
    "virtual_router_id", "priority", "virtual_ipaddress", "virtual_ipaddress_excluded",
    "192.0.2.1/24", "2001:db8::1", "dev", "brd", "use_vmac", "use_ipvlan", "vrrp_min_garp",
    "vrrp_strict", "strict_mode", "garp_master_repeat", "vrrp_garp_master_refresh",
    "vrrp_garp_interval", "garp_interval", "0", "1", "-1", "255", "4294967296", "1.5", "x",
    "~SEQ", "no_virtual_ipaddress", "unicast_peer",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400),
                 st.lists(_VOCABULARY, max_size=80).map(" ".join),
                 st.lists(_VOCABULARY, max_size=80).map("\n".join)))
def test_arbitrary_text_never_raises(text: str) -> None:
    """Arbitrary text never raises: a bad file only yields notes and well-formed groups."""
    base = HERE / "data" / "keepalived" / "empty-include-dir"
    result = loads_keepalived(text, str(base / "keepalived.conf"), base_dir=base,
                              config_id="node-a")
    assert isinstance(result, Imported)
    assert all(isinstance(n, str) for n in result.unsupported)
    for g in result.groups:
        assert set(g) >= {"name", "interface", "addresses", "vrid", "priority"}
        assert g["addresses"]


_ADDRESSES = st.one_of(st.integers(1, 12).map(lambda i: f"192.0.2.{i}"),
                       st.integers(1, 4).map(lambda i: f"2001:db8::{i}"))
_IFNAMES = st.sampled_from(["eth0", "eth1", "bond0.10"])


@st.composite
def _keepalived_files(draw: st.DrawFn) -> str:
    """Well-formed keepalived.conf text whose values are all inside garpd's ranges."""
    def some(choices: dict[str, st.SearchStrategy[int]]) -> list[str]:
        keys = draw(st.lists(st.sampled_from(sorted(choices)), unique=True))
        return [f"{key} {draw(choices[key])}" for key in keys]

    repeat, delay = st.integers(0, 10000), st.integers(0, 4294)
    lines = ["global_defs {", *some({
        "vrrp_garp_master_delay": delay, "vrrp_garp_master_repeat": repeat,
        "vrrp_garp_master_refresh": st.integers(0, 10**6),
        "vrrp_garp_master_refresh_repeat": repeat, "vrrp_garp_lower_prio_delay": delay,
        "vrrp_garp_lower_prio_repeat": repeat})]
    lines += draw(st.lists(st.sampled_from(["vrrp_min_garp", "vrrp_strict"]), max_size=2))
    lines.append("}")
    names = draw(st.lists(st.sampled_from(["VI_1", "VI_2", "VI_1@eth1", "web"]), min_size=1,
                          max_size=5))
    for name in names:
        lines += [f"vrrp_instance {name} {{", f"interface {draw(_IFNAMES)}",
                  f"virtual_router_id {draw(st.integers(1, 255))}",
                  f"priority {draw(st.integers(1, 255))}"]
        lines += draw(st.lists(st.sampled_from(["use_vmac", "use_vmac mv0", "use_ipvlan",
                                                "strict_mode", "strict_mode off"]),
                               max_size=2))
        lines += some({"garp_master_delay": delay, "garp_master_repeat": repeat,
                       "garp_master_refresh": st.integers(0, 10**6),
                       "garp_master_refresh_repeat": repeat, "garp_lower_prio_delay": delay,
                       "garp_lower_prio_repeat": repeat})
        lines.append("virtual_ipaddress {")
        for address in draw(st.lists(_ADDRESSES, min_size=1, max_size=4)):
            dev = draw(st.one_of(st.just(""), _IFNAMES.map(lambda i: f" dev {i}")))
            lines.append(f"{address}/24{dev}" if ":" not in address else address + dev)
        lines += ["}", "}"]
    members = " ".join(draw(st.lists(st.sampled_from(names), max_size=3)))
    lines += [f"vrrp_sync_group G {{ group {{ {members} }} }}",
              f"garp_group {{ garp_interval 0.5 interface {draw(_IFNAMES)} }}"]
    return "\n".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_keepalived_files())
def test_imports_within_garpd_ranges_always_validate(text: str) -> None:
    """Any keepalived-valid file with values in garpd's ranges imports as a valid garpd config."""
    result = loads_keepalived(text, "keepalived.conf", base_dir=HERE, config_id="n")
    config = as_config(result)
    assert len(config.groups) == len(result.groups)
    names = [name for names in result.instances.values() for name in names]
    assert sorted(names) == sorted(g.name for g in config.groups)


def test_fuzz_base_dir_holds_nothing_to_include() -> None:
    """The fuzz test's include directory does not exist, so its includes find no files."""
    assert not (HERE / "data" / "keepalived" / "empty-include-dir").exists()


def test_loads_keepalived_reports_with_source_name(tmp_path: Path) -> None:
    """loads_keepalived names the given source in notes and needs no file on disk."""
    result = loads_keepalived("}\n", "inline.conf", base_dir=tmp_path)
    assert result.unsupported == ["inline.conf:1: '}' closes no block (one '}' too many); "
                                  "ignored"]
    assert result.files == ["inline.conf"]
