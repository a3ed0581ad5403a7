"""The keepalived importer exactly where the other tests match fragments: net_namespace's
three cases and every garp_group note, with the intervals each interface ends up with."""

from __future__ import annotations

from pathlib import Path

import pytest

from garpd.keepalived import KeepalivedConfError, load_keepalived, loads_keepalived
from garpd.keepalived.importer import _in_file_order, _vmac_name, fuzz_one_input, merge_toml
from garpd.keepalived.reader import Limits

GARP = """net_namespace
net_namespace blue
net_namespace red
garp_group {
  garp_interval 0.5
  gna_interval 0.25
  interface
  interface eth1
  interfaces {
    eth2 eth3
    bad/name
  }
  frob 1
}
garp_group {
  interfaces
}
garp_group {
  interface eth4
}
garp_group {
  gna_interval 2
  interfaces {
    eth5
  }
}
"""


def instance(name: str, ifname: str, vrid: int) -> str:
    """One vrrp_instance on ``ifname``."""
    return (f"vrrp_instance {name} {{\n interface {ifname}\n virtual_router_id {vrid}\n"
            f" virtual_ipaddress {{\n  192.0.2.{vrid}/24\n }}\n}}\n")


def test_namespace_and_garp_groups_exactly() -> None:
    """Every note with its line; eth1-eth3 get both intervals, eth4's group (no interval) is
    dropped, eth5 gets the NA interval and 0 for ARP."""
    text = GARP + "".join(instance(f"V{n}", f"eth{n}", 10 + n) for n in range(1, 6))
    result = loads_keepalived(text, "k.conf")
    assert result.net_namespace == "blue"
    assert result.unsupported == [
        "k.conf:1: net_namespace without a name; keepalived ignores it",
        "k.conf:2: net_namespace blue: keepalived's VRRP runs in this network namespace; "
        "garpd must run in it too (e.g. ip netns exec blue garpd run), or it watches the "
        "wrong interfaces",
        "k.conf:3: net_namespace given twice; keepalived ignores this one",
        "k.conf:7: garp_group: interface needs an interface name; ignored",
        "k.conf:9: garp_group interfaces: keepalived spaces these interfaces' GARPs on one "
        "shared clock; garpd applies the interval to each interface separately",
        "k.conf:9: garp_group interfaces: 'bad/name' is not an interface name; ignored",
        "k.conf:13: garp_group: unknown keyword frob; ignored",
        "k.conf:15: garp_group sets neither garp_interval nor gna_interval; keepalived "
        "drops it",
        "k.conf:16: garp_group: interfaces without a { } block; ignored",
        "k.conf:18: garp_group sets neither garp_interval nor gna_interval; keepalived "
        "drops it"]
    timing = {g["interface"]: (g.get("interval"), g.get("na_interval"))
              for g in result.groups}
    assert timing == {"eth1": (0.5, 0.25), "eth2": (0.5, 0.25), "eth3": (0.5, 0.25),
                      "eth4": (None, None), "eth5": (0.0, 2.0)}


NUMBERS = """global_defs {
  vrrp_garp_interval
  vrrp_gna_interval 0.0000001
}
garp_group {
  garp_interval -1
  gna_interval 1.5x
  interface eth1
}
garp_group {
  garp_interval 2147.483647
  gna_interval 2147.4836471
  interface eth2
}
garp_group {
  garp_interval x
  gna_interval 0.1234567
  interface eth3
}
garp_group {
  garp_interval 0
  gna_interval 3000
  interface eth4
}
"""


def test_decimals_and_flags_exactly() -> None:
    """Decimal seconds: missing, negative, trailing junk, the upper bound exactly, rounding
    to microseconds, out of range, 0; strict_mode's words (no word is true, case matters)."""
    words = ["", "true", "on", "yes", "false", "off", "no", "maybe", "TRUE"]
    text = NUMBERS + "".join(
        f"vrrp_instance V{n} {{\n interface eth{n + 1}\n virtual_router_id {n + 1}\n"
        f" strict_mode {word}\n virtual_ipaddress {{\n  192.0.2.{n + 1}/24\n }}\n}}\n"
        for n, word in enumerate(words))
    result = loads_keepalived(text, "k.conf")
    assert result.unsupported == [
        "k.conf:2: vrrp_garp_interval without a value; ignored",
        "k.conf:6: garp_interval '-1': negative; ignored",
        "k.conf:7: gna_interval '1.5x': not a number; keepalived reads it as 1.5",
        "k.conf:16: garp_interval 'x': not a number; keepalived reads it as 0",
        "k.conf:22: gna_interval '3000': must be 0 to 2147.483647 seconds; ignored",
        "k.conf:84: strict_mode 'maybe': must be one of true/on/yes/false/off/no; ignored",
        "k.conf:92: strict_mode 'TRUE': must be one of true/on/yes/false/off/no; ignored"]
    assert result.announce == {"na_interval": 0.0}
    timing = {g["interface"]: (g.get("interval"), g.get("na_interval"))
              for g in result.groups if g["interface"] in ("eth1", "eth2", "eth3", "eth4")}
    assert timing == {"eth1": (0.0, 1.5), "eth2": (2147.483647, 2147.483647),
                      "eth3": (0.0, 0.123457), "eth4": (0.0, 0.0)}
    strict = [g["name"] for g in result.groups if g.get("lower_prio_repeat") == 0]
    assert strict == ["V0", "V1", "V2", "V3"]


def with_lines(name: str, vrid: int, lines: list[str]) -> str:
    """One vrrp_instance on eth0 with ``lines`` before its virtual_ipaddress."""
    return (f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n"
            + "".join(f" {line}\n" for line in lines)
            + f" virtual_ipaddress {{\n  192.0.2.{vrid}/24\n }}\n}}\n")


def test_use_vmac_and_use_ipvlan_arguments_exactly() -> None:
    """The VMAC/ipvlan interface name among the other arguments (MAC, netlink_notify_msg,
    group G, name N, ipvlan modes and addresses), and every note with its line."""
    text = (with_lines("A", 1, ["use_vmac 02:00:00:00:00:01 netlink_notify_msg vm1",
                                "use_vmac vm9"])
            + with_lines("B", 2, ["use_vmac group g1 name vm2 extra"])
            + with_lines("C", 3, ["use_ipvlan bridge 2001:db8::5 vepa private ipv1"])
            + with_lines("D", 4, ["use_vmac name"])
            + with_lines("E", 5, ["use_ipvlan bad/name 02:00:00:00:00:05"])
            + with_lines("F", 6, ["use_vmac group g1 vm6"]))
    result = loads_keepalived(text, "k.conf")
    assert [g["interface"] for g in result.groups] == ["vm1", "vm2", "ipv1", "vrrp.4",
                                                       "vrrp.5", "vm6"]
    assert result.unsupported == [
        "k.conf:5: vrrp_instance A: use_vmac: use_vmac already given; ignored",
        "k.conf:13: vrrp_instance B: use_vmac: interface name already given; 'extra' ignored",
        "k.conf:37: vrrp_instance E: use_ipvlan: 'bad/name' is not a valid interface name; "
        "ignored",
        "k.conf:37: vrrp_instance E: use_ipvlan: '02:00:00:00:00:05' is not a valid "
        "interface name; ignored",
    ]


GLOBAL_DEFS = """global_defs {
  {
  }
  vrrp_garp_master_delay 3
  vrrp_garp_master_repeat 0
  vrrp_garp_master_refresh junk
  vrrp_garp_master_refresh_repeat 0
  vrrp_garp_lower_prio_delay 4
  vrrp_garp_lower_prio_repeat 2147483647
  vrrp_garp_interval 0.5
  vrrp_gna_interval 0.25
  vrrp_strict
  vrrp_garp_extra_if eth0
  vrrp_vmac_garp_intvl 5
  vmac_prefix
  vmac_prefix 02:00
  vmac_prefix 02:11
  net_namespace x
  frobnicate 1
}
"""


def test_global_defs_exactly() -> None:
    """Every global_defs keyword kind: the [announce] values, where each came from (strict
    mode's lower-prio zeros from the vrrp_strict line) and every note with its line."""
    result = loads_keepalived(GLOBAL_DEFS, "k.conf")
    assert result.announce == {
        "master_delay": 3.0, "master_repeat": 1, "master_refresh": 0.0,
        "master_refresh_repeat": 1, "lower_prio_delay": 0.0, "lower_prio_repeat": 0,
        "interval": 0.5, "na_interval": 0.25}
    assert result.announce_origins == {
        "master_delay": "k.conf:4", "master_repeat": "k.conf:5", "master_refresh": "k.conf:6",
        "master_refresh_repeat": "k.conf:7", "lower_prio_delay": "k.conf:12",
        "lower_prio_repeat": "k.conf:12", "interval": "k.conf:10", "na_interval": "k.conf:11"}
    assert result.unsupported == [
        "k.conf:2: '{' without a keyword before it; its block is ignored",
        "k.conf:5: vrrp_garp_master_repeat 0: keepalived uses 1",
        "k.conf:6: vrrp_garp_master_refresh 'junk': not a whole number; keepalived reads it "
        "as 0",
        "k.conf:7: vrrp_garp_master_refresh_repeat 0: keepalived uses 1",
        "k.conf:13: vrrp_garp_extra_if: garpd sends no periodic GARPs on extra interfaces; "
        "not carried over",
        "k.conf:14: vrrp_vmac_garp_intvl: garpd sends no periodic GARPs on extra interfaces; "
        "not carried over",
        "k.conf:15: vmac_prefix without a value; ignored",
        "k.conf:17: vmac_prefix already given; keepalived ignores this one",
        "k.conf:18: net_namespace belongs at the top level, not in global_defs; keepalived "
        "2.2 does not know it here",
        "k.conf:19: unknown global_defs keyword 'frobnicate' (not one of keepalived 2.2's); "
        "ignored",
    ]


def test_global_values_bounds_exactly() -> None:
    """Each global number's range edges: one past is refused with a note, the edge read."""
    text = """global_defs {
  vrrp_garp_master_delay 4295
  vrrp_garp_lower_prio_delay 4295
  vrrp_garp_lower_prio_repeat 2147483648
  vrrp_garp_master_repeat 4294967296
  vrrp_garp_master_refresh_repeat 4294967295
  vrrp_garp_master_refresh 0
}
global_defs {
  vrrp_garp_master_delay 4294
  vrrp_garp_lower_prio_delay 0
  vrrp_garp_lower_prio_repeat 2147483647
  vrrp_garp_master_refresh 4294967295
}
"""
    result = loads_keepalived(text, "k.conf")
    assert result.announce == {
        "master_delay": 4294.0, "master_refresh": 4294967295.0,
        "master_refresh_repeat": 4294967295, "lower_prio_delay": 0.0,
        "lower_prio_repeat": 2147483647}
    assert result.announce_origins == {
        "master_delay": "k.conf:10", "master_refresh": "k.conf:13",
        "master_refresh_repeat": "k.conf:6", "lower_prio_delay": "k.conf:11",
        "lower_prio_repeat": "k.conf:12"}
    assert result.unsupported == [
        "k.conf:2: vrrp_garp_master_delay '4295': out of range 0..4294; ignored",
        "k.conf:3: vrrp_garp_lower_prio_delay '4295': out of range 0..4294; ignored",
        "k.conf:4: vrrp_garp_lower_prio_repeat '2147483648': out of range 0..2147483647; "
        "ignored",
        "k.conf:5: vrrp_garp_master_repeat '4294967296': out of range 0..4294967295; ignored",
    ]


VIPS_AND_SYNC_GROUPS = """vrrp_instance V {
 interface eth0
 virtual_router_id 9
 virtual_ipaddress {
  192.0.2.1/24 dev eth0 use_vmac
  224.0.0.5
  192.0.2.2/33
  192.0.2.3/32 label
  192.0.2.4 dev eth0 dev eth1
  192.0.2.5 dev bad/name
  192.0.2.6 192.0.2.7 frob home
  192.0.2.8 broadcast 192.0.2.255 dev eth2
  nope
 }
 virtual_ipaddress_excluded {
  2001:db8::1/64 brd ff
  2001:db8::2/128 broadcast x
  2001:db8::3/129 use_vmac dev eth0
 }
}
vrrp_sync_group A B {
 group {
  V
 }
}
vrrp_sync_group S\x01 {
 group {
  V
 }
}
vrrp_sync_group G {
 group
 group {
  V missing
 }
 frob
}
vrrp_sync_group H {
 group {
  V
 }
}
vrrp_sync_group E {
}
"""


def test_virtual_ipaddress_options_and_sync_groups_exactly() -> None:
    """Every virtual_ipaddress option case (dev, use_vmac, valued options, flags, a second
    address, bad prefix lengths, IPv6 broadcast) and every vrrp_sync_group note, exactly."""
    result = loads_keepalived(VIPS_AND_SYNC_GROUPS, "k.conf")
    assert [(g["name"], g["interface"], g["addresses"], g["sync_group"])
            for g in result.groups] == [
        ("V", "eth0", ["192.0.2.2", "192.0.2.6"], "G"),
        ("V@vrrp.9", "vrrp.9", ["192.0.2.1"], "G"),
        ("V@eth2", "eth2", ["192.0.2.8"], "G"),
        ("V@vrrp6.9", "vrrp6.9", ["2001:db8::3"], "G")]
    vip = "k.conf:{}: vrrp_instance V: virtual_ipaddress: {}".format
    excluded = "k.conf:{}: vrrp_instance V: virtual_ipaddress_excluded: {}".format
    skips = "keepalived skips the address"
    assert result.unsupported == [
        vip(6, "224.0.0.5 is a multicast or unspecified address, which garpd does not "
            "announce; skipped"),
        vip(7, "192.0.2.2/33: invalid prefix length; keepalived uses /32"),
        vip(8, f"192.0.2.3/32: label without a value; {skips}"),
        vip(9, f"192.0.2.4: dev given twice; {skips}"),
        vip(10, "192.0.2.5: dev 'bad/name' is not an interface name; skipped"),
        vip(11, "192.0.2.7 after 192.0.2.6 is ignored: keepalived takes one address per "
            "line (put it on a line of its own)"),
        vip(11, "192.0.2.6: unknown option 'frob'; ignored"),
        vip(13, "'nope' is not an IP address[/len]; skipped"),
        excluded(16, f"2001:db8::1/64: broadcast on an IPv6 address; {skips}"),
        excluded(17, f"2001:db8::2/128: broadcast on an IPv6 address; {skips}"),
        excluded(18, "2001:db8::3/129: invalid prefix length; keepalived uses /128"),
        "k.conf:21: vrrp_sync_group needs exactly one name; block ignored",
        "k.conf:26: vrrp_sync_group 'S\\x01': the name has control characters; ignored",
        "k.conf:32: vrrp_sync_group G: group without a { } block; ignored",
        "k.conf:34: vrrp_sync_group G: no vrrp_instance missing; ignored",
        "k.conf:36: vrrp_sync_group G: unknown keyword 'frob'; ignored",
        "k.conf:40: vrrp_sync_group H: V is already in G; ignored",
        "k.conf:43: vrrp_sync_group E has no members; ignored",
    ]
    assert dict(result.group_origins["V"]) == {
        "": "k.conf:1", "addresses": "k.conf:7", "vrid": "k.conf:3", "interface": "k.conf:2",
        "sync_group": "k.conf:34"}


FAMILIES = """vrrp_instance F4 {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  192.0.2.1 use_vmac
  192.0.2.2 use_vmac
  2001:db8::1
 }
 virtual_ipaddress_excluded {
  2001:db8::9 use_vmac
 }
}
vrrp_instance F6 {
 interface eth0
 virtual_router_id 2
 virtual_ipaddress {
  2001:db8::2 use_vmac
  192.0.2.3
 }
}
"""


@pytest.mark.parametrize(("global_defs", "prefix"), [
    ("", "vrrp"),
    ("global_defs {\n vmac_prefix vx\n}\n", "vx"),
    ("global_defs {\n vmac_prefix vx\n vmac_addr_prefix va\n}\n", "va"),
])
def test_address_vmacs_and_family_notes_exactly(global_defs: str, prefix: str) -> None:
    """Per-address VMACs: one per (VRID, family, base), named from vmac_addr_prefix, else
    vmac_prefix, else vrrp (IPv6 next to an IPv4 one: PREFIX6.VRID); a VIP of the other
    family is refused with a note naming where the family was set."""
    result = loads_keepalived(global_defs + FAMILIES, "k.conf")
    assert [(g["interface"], g["addresses"]) for g in result.groups] == [
        (f"{prefix}.1", ["192.0.2.1", "192.0.2.2"]), (f"{prefix}6.1", ["2001:db8::9"]),
        (f"{prefix}.2", ["2001:db8::2"])]
    shift = global_defs.count("\n")
    assert result.unsupported == [
        f"k.conf:{7 + shift}: vrrp_instance F4: virtual_ipaddress 2001:db8::1 is not IPv4, "
        f"the instance's family (set at k.conf:{5 + shift}); keepalived 2.2 ignores it",
        f"k.conf:{18 + shift}: vrrp_instance F6: virtual_ipaddress 192.0.2.3 is not IPv6, "
        f"the instance's family (set at k.conf:{17 + shift}); keepalived 2.2 ignores it",
    ]


@pytest.mark.parametrize(("prefix", "vrid", "ipv6", "used", "expected"), [
    ("vrrp", 5, False, set(), "vrrp.5"),
    ("vrrp", 5, False, {"vrrp.5"}, "vrrp1.5"),
    ("vrrp", 5, False, {"vrrp.5", "vrrp1.5", "vrrp2.5", "vrrp3.5", "vrrp4.5", "vrrp5.5"},
     "vrrp6.5"),
    ("vrrp", 5, True, set(), "vrrp.5"),
    ("vrrp", 5, True, {"vrrp.5"}, "vrrp6.5"),
    ("vrrp", 5, True, {"vrrp.5", "vrrp6.5"}, "vrrp1.5"),
    ("vrrp", 5, True, {"vrrp.5", "vrrp6.5", "vrrp1.5", "vrrp2.5", "vrrp3.5", "vrrp4.5",
                       "vrrp5.5"}, "vrrp7.5"),
    ("abcdefghijklmnop", 255, False, set(), "abcdefghijk.255"),
    ("abcdefghijklmnop", 255, False, {"abcdefghijk.255"}, "abcdefghij1.255"),
    ("p", 1, False, {f"p{n or ''}.1" for n in range(1000)}, "p999.1"),
])
def test_vmac_names_exactly(prefix: str, vrid: int, ipv6: bool, used: set[str],
                            expected: str) -> None:
    """keepalived's VMAC name order (IPv6 tries 6 right after the bare name and skips it
    later), the prefix cut to fit 15 bytes, the last candidate when all are taken."""
    assert _vmac_name(prefix, vrid, ipv6, used) == expected


TIMINGS = """global_defs {
 vrrp_min_garp
 vrrp_garp_master_delay 2
}
vrrp_instance A {
 interface eth0
 virtual_router_id 1
 garp_master_refresh 5
 virtual_ipaddress {
  192.0.2.1
 }
}
vrrp_instance B {
 interface eth0
 virtual_router_id 2
 garp_master_refresh 0
 garp_master_delay 3
 garp_master_refresh_repeat 2
 garp_lower_prio_repeat 4
 garp_lower_prio_delay 6
 strict_mode
 virtual_ipaddress {
  192.0.2.2
 }
}
vrrp_instance C {
 interface eth0
 virtual_router_id 3
 garp_master_refresh 7
 garp_master_refresh_repeat 2
 garp_lower_prio_repeat 0
 virtual_ipaddress {
  192.0.2.3
 }
}
vrrp_instance D {
 interface eth0
 virtual_router_id 4
 strict_mode
 virtual_ipaddress {
  192.0.2.4
 }
}
"""


def test_instance_timings_and_their_origins_exactly() -> None:
    """vrrp_min_garp and a global delay under each instance's own keys: a refresh left
    without effect (noted), strict mode forcing the lower-prio keys to 0 (noted when they
    were set; from the strict_mode line when not), each key's origin exactly."""
    result = loads_keepalived(TIMINGS, "k.conf")
    timing = ("master_delay", "master_repeat", "master_refresh", "master_refresh_repeat",
              "lower_prio_delay", "lower_prio_repeat")
    assert [{k: g[k] for k in timing if k in g} for g in result.groups] == [
        {"master_refresh": 0.0},
        {"master_delay": 3.0, "master_refresh": 0.0, "master_refresh_repeat": 2,
         "lower_prio_delay": 0.0, "lower_prio_repeat": 0},
        {"master_refresh": 7.0, "master_refresh_repeat": 2, "lower_prio_repeat": 0},
        {"lower_prio_delay": 0.0, "lower_prio_repeat": 0},
    ]
    assert [{k: v for k, v in result.group_origins[g["name"]].items() if k in timing}
            for g in result.groups] == [
        {"master_refresh": "k.conf:8"},
        {"master_delay": "k.conf:17", "master_refresh": "k.conf:16",
         "master_refresh_repeat": "k.conf:18", "lower_prio_delay": "k.conf:20",
         "lower_prio_repeat": "k.conf:19"},
        {"master_refresh": "k.conf:29", "master_refresh_repeat": "k.conf:30",
         "lower_prio_repeat": "k.conf:31"},
        {"lower_prio_delay": "k.conf:39", "lower_prio_repeat": "k.conf:39"},
    ]
    assert result.unsupported == [
        "k.conf:8: vrrp_instance A: garp_master_refresh has no effect: vrrp_min_garp left "
        "garp_master_refresh_repeat at 0 (set it to send refreshes)",
        "k.conf:19: vrrp_instance B: strict mode forces lower_prio_repeat to 0",
        "k.conf:20: vrrp_instance B: strict mode forces lower_prio_delay to 0",
    ]
    alone = loads_keepalived("global_defs {\n vrrp_min_garp\n}\n", "k.conf")
    assert alone.announce == {"master_delay": 0.0, "master_repeat": 1,
                              "master_refresh_repeat": 1}
    assert alone.announce_origins == {"master_delay": "k.conf:2", "master_repeat": "k.conf:2",
                                      "master_refresh_repeat": "k.conf:2"}


TWO_GARP_GROUPS = """garp_group {
 garp_interval 0.5
 interface eth0
}
garp_group {
 gna_interval 0.25
 interface eth1
}
vrrp_instance A {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  192.0.2.1
 }
}
vrrp_instance B {
 interface eth1
 virtual_router_id 2
 virtual_ipaddress {
  192.0.2.2
 }
}
"""


def test_origins_from_garp_groups_exactly() -> None:
    """Origins that are places of garp_group blocks (kept as strings, not line numbers)
    come back as each group's own block, not another's."""
    result = loads_keepalived(TWO_GARP_GROUPS, "k.conf")
    assert [(g["name"], g["interval"], g["na_interval"]) for g in result.groups] == [
        ("A", 0.5, 0.0), ("B", 0.0, 0.25)]
    assert [dict(result.group_origins[name]) for name in ("A", "B")] == [
        {"": "k.conf:9", "addresses": "k.conf:13", "vrid": "k.conf:11",
         "interface": "k.conf:10", "interval": "k.conf:1", "na_interval": "k.conf:1"},
        {"": "k.conf:16", "addresses": "k.conf:20", "vrid": "k.conf:18",
         "interface": "k.conf:17", "interval": "k.conf:5", "na_interval": "k.conf:5"},
    ]


SAME_VRID = """global_defs {
 vrrp_garp_master_refresh 10
 vrrp_garp_master_refresh_repeat 3
}
vrrp_instance X {
 interface eth0
 virtual_router_id 1
 garp_lower_prio_delay 4295
 garp_master_repeat 0
 virtual_ipaddress {
  192.0.2.1 use_vmac
  192.0.2.3 dev eth2 use_vmac
 }
}
vrrp_instance Y {
 interface eth1
 virtual_router_id 1
 garp_lower_prio_delay 4294
 virtual_ipaddress {
  192.0.2.2 use_vmac
  192.0.2.4 dev eth4 use_vmac
 }
}
"""


def test_same_vrid_on_other_interfaces_and_inherited_refresh_exactly() -> None:
    """Per-address VMACs of one VRID on four bases are four interfaces; a refresh inherited
    from global_defs is not repeated in the groups; instance number bounds and notes."""
    result = loads_keepalived(SAME_VRID, "k.conf")
    assert result.announce == {"master_refresh": 10.0, "master_refresh_repeat": 3}
    assert result.groups == [
        {"name": "X@vrrp.1", "interface": "vrrp.1", "addresses": ["192.0.2.1"], "vrid": 1,
         "priority": 100, "master_repeat": 1},
        {"name": "X@vrrp1.1", "interface": "vrrp1.1", "addresses": ["192.0.2.3"], "vrid": 1,
         "priority": 100, "master_repeat": 1},
        {"name": "Y@vrrp2.1", "interface": "vrrp2.1", "addresses": ["192.0.2.2"], "vrid": 1,
         "priority": 100, "lower_prio_delay": 4294.0},
        {"name": "Y@vrrp3.1", "interface": "vrrp3.1", "addresses": ["192.0.2.4"], "vrid": 1,
         "priority": 100, "lower_prio_delay": 4294.0},
    ]
    assert result.unsupported == [
        "k.conf:8: garp_lower_prio_delay '4295': out of range 0..4294; ignored",
        "k.conf:9: vrrp_instance X: garp_master_repeat 0: keepalived uses 1",
    ]


def test_fuzz_entry_point_reads_as_config_id_fuzz() -> None:
    """fuzz_one_input: bytes decoded with replacement, config id "fuzz", a fixed name."""
    result = fuzz_one_input(b"@fuzz net_namespace blue\n@other net_namespace red\n\xff bad\n")
    assert result.net_namespace == "blue"
    assert result.files == ["/nonexistent/keepalived.conf"]
    assert result.unsupported == [
        "/nonexistent/keepalived.conf:1: net_namespace blue: keepalived's VRRP runs in this "
        "network namespace; garpd must run in it too (e.g. ip netns exec blue garpd run), or "
        "it watches the wrong interfaces",
        "/nonexistent/keepalived.conf:3: unknown top-level keyword '\ufffd' (not one of "
        "keepalived 2.2's); ignored with its block",
    ]


def test_loads_keepalived_arguments_exactly(tmp_path: Path) -> None:
    """config_id picks the @ID lines; relative includes follow the source's directory, or
    base_dir; limits apply, and a bound hit keeps the files read so far."""
    result = loads_keepalived("@x net_namespace blue\n@y net_namespace red\n", "k.conf",
                              config_id="x")
    assert result.net_namespace == "blue"
    for name in ("sub", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "inc.conf").write_text(f"net_namespace {name}\n")
    main = str(tmp_path / "sub" / "main.conf")
    result = loads_keepalived("include inc.conf\n", main)
    assert (result.net_namespace, result.files) == ("sub", [main,
                                                           str(tmp_path / "sub" / "inc.conf")])
    result = loads_keepalived("include inc.conf\n", main, base_dir=tmp_path / "other")
    assert (result.net_namespace, result.files) == ("other", [
        main, str(tmp_path / "other" / "inc.conf")])
    result = loads_keepalived("include inc.conf\nvrrp_instance A {\n{\n{\n}\n}\n}\n", main,
                              limits=Limits(max_block_depth=2))
    assert (result.error, result.files, result.groups) == (
        f"{main}:4: blocks nested more than 2 deep; keepalived.conf refused",
        [main, str(tmp_path / "sub" / "inc.conf")], [])


GARP_GROUPS_MORE = """garp_group {
 interfaces
 garp_interval " 0.5"
 interface eth0
}
garp_group {
 gna_interval "\u00a00.25"
 garp_interval 1
 interfaces {
  eth0
  eth1
 }
}
garp_group {
 {
 }
 gna_interval 2
 interface eth2
}
"""


def test_garp_group_blocks_exactly() -> None:
    """An interfaces line without a block does not end its garp_group; a quoted interval
    with leading blanks is read, one led by a no-break space is not a number; an interface
    already in a group is noted at its line; a stray block inside is skipped."""
    text = GARP_GROUPS_MORE + "".join(instance(f"V{n}", f"eth{n}", n + 1) for n in range(3))
    result = loads_keepalived(text, "k.conf")
    assert [(g["interface"], g["interval"], g["na_interval"]) for g in result.groups] == [
        ("eth0", 0.5, 0.0), ("eth1", 1.0, 0.0), ("eth2", 0.0, 2.0)]
    assert result.unsupported == [
        "k.conf:2: garp_group: interfaces without a { } block; ignored",
        "k.conf:7: gna_interval '\\xa00.25': not a number; keepalived reads it as 0",
        "k.conf:9: garp_group interfaces: keepalived spaces these interfaces' GARPs on one "
        "shared clock; garpd applies the interval to each interface separately",
        "k.conf:9: garp_group: eth0 is already in a garp_group; ignored",
        "k.conf:15: '{' without a keyword before it; its block is ignored",
    ]


def test_timing_with_notes_is_not_shared() -> None:
    """Two instances with the same timing that draws a note: each gets its own note."""
    text = "global_defs {\n vrrp_min_garp\n}\n" + "".join(
        f"vrrp_instance R{n} {{\n interface eth0\n virtual_router_id {n}\n"
        f" garp_master_refresh 5\n virtual_ipaddress {{\n  192.0.2.{n}\n }}\n}}\n"
        for n in (1, 2))
    result = loads_keepalived(text, "k.conf")
    assert result.unsupported == [
        f"k.conf:{line}: vrrp_instance R{n}: garp_master_refresh has no effect: "
        "vrrp_min_garp left garp_master_refresh_repeat at 0 (set it to send refreshes)"
        for n, line in ((1, 7), (2, 15))]


def test_merge_toml_tables_of_the_wrong_type_and_copies() -> None:
    """A group entry that is not a table stays where it is (validation reports it); the
    imported groups are copies unless copy=False."""
    imported = loads_keepalived(instance("A", "eth0", 1), "k.conf")
    merged = merge_toml({"group": [5, {"name": "A", "priority": 7}]}, imported)
    assert merged == {"group": [5, {"name": "A", "interface": "eth0",
                                    "addresses": ["192.0.2.1"], "vrid": 1, "priority": 7}]}
    copied = merge_toml({"group": [5]}, imported)["group"][1]
    assert copied == imported.groups[0]
    assert copied is not imported.groups[0]
    assert merge_toml({"group": [5]}, imported, copy=False)["group"][1] is imported.groups[0]


def test_origins_in_an_included_file(tmp_path: Path) -> None:
    """A group read from an included file names that file in its origins."""
    (tmp_path / "inc.conf").write_text(instance("A", "eth0", 1))
    main = str(tmp_path / "main.conf")
    result = loads_keepalived(instance("B", "eth1", 2) + "include inc.conf\n", main)
    inc = str(tmp_path / "inc.conf")
    assert dict(result.group_origins["A"]) == {
        "": f"{inc}:1", "addresses": f"{inc}:5", "vrid": f"{inc}:3", "interface": f"{inc}:2"}
    assert dict(result.group_origins["B"]) == {
        "": f"{main}:1", "addresses": f"{main}:5", "vrid": f"{main}:3",
        "interface": f"{main}:2"}
    assert list(result.group_origins) == ["B", "A"]


def test_default_source_name() -> None:
    """Without a source name the notes say keepalived.conf."""
    assert loads_keepalived("frob\n").unsupported == [
        "keepalived.conf:1: unknown top-level keyword 'frob' (not one of keepalived 2.2's); "
        "ignored with its block"]


INSTANCES = """vrrp_instance {
}
vrrp_instance A B {
}
vrrp_instance C\x01 {
}
vrrp_instance I {
 interface
 interface bad/name
 interface eth0
 virtual_router_id 0
 virtual_router_id 5x
 virtual_router_id
 virtual_router_id 7
 priority 256
 virtual_ipaddress
 virtual_ipaddress {
  192.0.2.7
 }
 native_ipv6
 mcast_src_ip 2001:db8::1
 unicast_src_ip 192.0.2.9/24
 unicast_peer {
  2001:db8::2
  192.0.2.10
 }
 strict_mode maybe
 garp_extra_if eth1
 vmac_garp_intvl 5
 frob
 garp_master_refresh x
 garp_master_delay -1
 garp_master_repeat 00012
 garp_master_refresh_repeat 99999999999999999999999
 garp_lower_prio_repeat 5junk
 priority 010
}
vrrp_instance I {
}
vrrp_instance J {
 native_ipv6
 interface eth1
 virtual_router_id 8
 virtual_ipaddress {
  2001:db8::8
 }
}
"""


def test_instance_statements_exactly() -> None:
    """Every kind of vrrp_instance statement, good and bad: the groups, their origins and
    every note with its line."""
    result = loads_keepalived(INSTANCES, "k.conf")
    assert result.groups == [
        {"name": "I", "interface": "eth0", "addresses": ["192.0.2.7"], "vrid": 7,
         "priority": 10, "master_repeat": 12, "master_refresh": 0.0, "lower_prio_repeat": 5},
        {"name": "J", "interface": "eth1", "addresses": ["2001:db8::8"], "vrid": 8,
         "priority": 100},
    ]
    assert dict(result.group_origins["I"]) == {
        "": "k.conf:7", "addresses": "k.conf:18", "vrid": "k.conf:14", "priority": "k.conf:36",
        "interface": "k.conf:10", "master_repeat": "k.conf:33", "master_refresh": "k.conf:31",
        "lower_prio_repeat": "k.conf:35"}
    assert result.unsupported == [
        "k.conf:1: vrrp_instance needs exactly one name; block ignored",
        "k.conf:3: vrrp_instance needs exactly one name; block ignored",
        "k.conf:5: vrrp_instance 'C\\x01': the name has control characters; block ignored",
        "k.conf:8: vrrp_instance I: interface '': not an interface name (1 to 15 bytes without "
        "'/', ':' or blanks); ignored",
        "k.conf:9: vrrp_instance I: interface 'bad/name': not an interface name (1 to 15 bytes "
        "without '/', ':' or blanks); ignored",
        "k.conf:11: virtual_router_id '0': out of range 1..255; ignored",
        "k.conf:12: virtual_router_id '5x': not a whole number; ignored",
        "k.conf:13: virtual_router_id without a value; ignored",
        "k.conf:15: priority '256': out of range 1..255; ignored",
        "k.conf:16: vrrp_instance I: virtual_ipaddress without a { } block; ignored",
        "k.conf:20: vrrp_instance I: native_ipv6: the instance is already IPv4 (set at "
        "k.conf:18); keepalived 2.2 refuses native_ipv6 here",
        "k.conf:21: vrrp_instance I: mcast_src_ip 2001:db8::1 is not IPv4, the instance's "
        "family (set at k.conf:18); keepalived 2.2 ignores it",
        "k.conf:24: vrrp_instance I: unicast_peer 2001:db8::2 is not IPv4, the instance's "
        "family (set at k.conf:18); keepalived 2.2 ignores it",
        "k.conf:27: strict_mode 'maybe': must be one of true/on/yes/false/off/no; ignored",
        "k.conf:28: vrrp_instance I: garp_extra_if: garpd sends no periodic GARPs on extra "
        "interfaces; not carried over",
        "k.conf:29: vrrp_instance I: vmac_garp_intvl: garpd sends no periodic GARPs on extra "
        "interfaces; not carried over",
        "k.conf:30: vrrp_instance I: frob: not a vrrp_instance keyword garpd knows; ignored",
        "k.conf:31: garp_master_refresh 'x': not a whole number; keepalived reads it as 0",
        "k.conf:32: garp_master_delay '-1': negative; ignored",
        "k.conf:34: garp_master_refresh_repeat '99999999999999999999999': out of range "
        "0..4294967295; ignored",
        "k.conf:35: garp_lower_prio_repeat '5junk': not a whole number; keepalived reads it as "
        "5",
        "k.conf:38: vrrp_instance I is defined twice; keepalived ignores this one",
    ]


TOP_LEVEL = """global_defs
vrrp_instance
vrrp_sync_group
garp_group
include
vrrp_garp_master_repeat 3
garp_master_delay 1
vrrp_gna_interval 1
{
}
virtual_server 192.0.2.1 80 {
}
frob
global_defs {
 vrrp_garp_master_refresh 10
 vrrp_min_garp
}
"""


def test_top_level_statements_exactly() -> None:
    """Blocks given without { }, keywords that belong elsewhere, unknown and known-but-
    unused keywords, and vrrp_min_garp turning an imported refresh off."""
    result = loads_keepalived(TOP_LEVEL, "k.conf")
    assert result.announce == {"master_delay": 0.0, "master_repeat": 1, "master_refresh": 0.0,
                               "master_refresh_repeat": 1}
    assert result.announce_origins == {
        "master_delay": "k.conf:16", "master_repeat": "k.conf:16", "master_refresh": "k.conf:15",
        "master_refresh_repeat": "k.conf:16"}
    assert result.unsupported == [
        "k.conf:1: global_defs without a { } block; ignored",
        "k.conf:2: vrrp_instance without a { } block; ignored",
        "k.conf:3: vrrp_sync_group without a { } block; ignored",
        "k.conf:4: garp_group without a { } block; ignored",
        "k.conf:5: include without a file name; ignored",
        "k.conf:6: vrrp_garp_master_repeat belongs in global_defs or a vrrp_instance; "
        "keepalived ignores it here",
        "k.conf:7: garp_master_delay belongs in global_defs or a vrrp_instance; keepalived "
        "ignores it here",
        "k.conf:8: vrrp_gna_interval belongs in global_defs or a vrrp_instance; keepalived "
        "ignores it here",
        "k.conf:13: unknown top-level keyword 'frob' (not one of keepalived 2.2's); ignored "
        "with its block",
        "k.conf:16: vrrp_min_garp sets vrrp_garp_master_refresh_repeat to 0, so keepalived's "
        "refresh sends nothing; master_refresh imported as 0 (off)",
    ]


BUILD = """garp_group {
 garp_interval 0.5
 interface eth0
}
garp_group {
 gna_interval 0.25
 interface vm1
}
vrrp_instance NOVRID {
 interface eth0
 virtual_ipaddress {
  192.0.2.1
 }
}
vrrp_instance NOIF {
 virtual_router_id 2
 virtual_ipaddress {
  192.0.2.2
 }
}
vrrp_instance UNI {
 virtual_router_id 3
 use_vmac
 unicast_peer {
  192.0.2.200
 }
 virtual_ipaddress {
  192.0.2.3
  192.0.2.4 dev eth3
 }
}
vrrp_instance EMPTY {
 interface eth0
 virtual_router_id 4
}
vrrp_instance NOVIPS {
 interface eth0
 virtual_router_id 5
 no_virtual_ipaddress
}
vrrp_instance A@eth1 {
 interface eth1
 virtual_router_id 6
 virtual_ipaddress {
  192.0.2.6
 }
}
vrrp_instance A {
 interface eth0
 virtual_router_id 7
 virtual_ipaddress {
  192.0.2.7
  192.0.2.6 dev eth1
  192.0.2.8 dev eth1
 }
}
vrrp_instance V {
 interface eth0
 virtual_router_id 8
 use_vmac vm1
 virtual_ipaddress {
  192.0.2.9
  192.0.2.10 dev eth2
 }
}
"""


def test_build_exactly() -> None:
    """What build makes of each instance: skipped ones (no VRID, no interface, no VIPs)
    with their notes, a VMAC without an interface, split groups named around an existing
    name, a VIP already placed, a garp_group on a VMAC (paced by its base"s)."""
    result = loads_keepalived(BUILD, "k.conf")
    assert result.groups == [
        {
            "name": "UNI@eth3",
            "interface": "eth3",
            "addresses": ["192.0.2.4"],
            "vrid": 3,
            "priority": 100,
        },
        {
            "name": "A@eth1",
            "interface": "eth1",
            "addresses": ["192.0.2.6"],
            "vrid": 6,
            "priority": 100,
        },
        {
            "name": "A",
            "interface": "eth0",
            "addresses": ["192.0.2.7"],
            "vrid": 7,
            "priority": 100,
            "interval": 0.5,
            "na_interval": 0.0,
        },
        {
            "name": "A@eth1~2",
            "interface": "eth1",
            "addresses": ["192.0.2.8"],
            "vrid": 7,
            "priority": 100,
        },
        {
            "name": "V",
            "interface": "vm1",
            "addresses": ["192.0.2.9"],
            "vrid": 8,
            "priority": 100,
            "interval": 0.5,
            "na_interval": 0.0,
        },
        {
            "name": "V@eth2",
            "interface": "eth2",
            "addresses": ["192.0.2.10"],
            "vrid": 8,
            "priority": 100,
        },
    ]
    assert [dict(result.group_origins[g["name"]]) for g in result.groups] == [
        {"": "k.conf:21", "addresses": "k.conf:29", "vrid": "k.conf:22", "interface": "k.conf:29"},
        {"": "k.conf:41", "addresses": "k.conf:45", "vrid": "k.conf:43", "interface": "k.conf:42"},
        {
            "": "k.conf:48",
            "addresses": "k.conf:52",
            "vrid": "k.conf:50",
            "interface": "k.conf:49",
            "interval": "k.conf:1",
            "na_interval": "k.conf:1",
        },
        {"": "k.conf:48", "addresses": "k.conf:54", "vrid": "k.conf:50", "interface": "k.conf:54"},
        {
            "": "k.conf:57",
            "addresses": "k.conf:62",
            "vrid": "k.conf:59",
            "interface": "k.conf:60",
            "interval": "k.conf:1",
            "na_interval": "k.conf:1",
        },
        {"": "k.conf:57", "addresses": "k.conf:63", "vrid": "k.conf:59", "interface": "k.conf:63"},
    ]
    assert result.instances == {
        "UNI": ["UNI@eth3"],
        "A@eth1": ["A@eth1"],
        "A": ["A", "A@eth1~2"],
        "V": ["V", "V@eth2"],
    }
    assert result.unsupported == [
        "k.conf:5: garp_group: vm1 is a VMAC/ipvlan interface, which keepalived refuses here; "
        "it is paced by its base interface's settings",
        "k.conf:9: vrrp_instance NOVRID has no valid virtual_router_id; keepalived refuses the "
        "instance; skipped",
        "k.conf:15: vrrp_instance NOIF has no interface (and no unicast peers); keepalived "
        "refuses the instance; skipped",
        "k.conf:23: vrrp_instance UNI: use_vmac needs an interface; keepalived ignores it",
        "k.conf:28: vrrp_instance UNI: 192.0.2.3 has no dev and the instance no interface; "
        "skipped",
        "k.conf:32: vrrp_instance EMPTY has no virtual_ipaddress; nothing to announce, no group "
        "made",
        "k.conf:53: vrrp_instance A: 192.0.2.6 on eth1 is already in group A@eth1; skipped",
    ]


VIRTUAL_NAMES = """global_defs {
 vmac_prefix vx
}
vrrp_instance P {
 interface eth0
 virtual_router_id 1
 use_vmac shared
 virtual_ipaddress {
  192.0.2.1/24
  192.0.2.2/33
  0.0.0.0
  239.1.1.1/8
  10.0.0.256
  192.0.2.3/0
  192.0.2.1
 }
}
vrrp_instance Q {
 interface eth0
 virtual_router_id 1
 use_vmac shared
 virtual_ipaddress {
  192.0.2.20
 }
}
vrrp_instance R {
 interface eth1
 virtual_router_id 2
 native_ipv6
 use_ipvlan
 virtual_ipaddress {
  2001:db8::20
 }
}
vrrp_instance S {
 virtual_router_id 3
 use_vmac
 unicast_peer {
  192.0.2.99
 }
 virtual_ipaddress {
  192.0.2.30 dev eth4
 }
}
vrrp_instance T {
 interface eth5
 use_vmac
 virtual_ipaddress {
  192.0.2.40
 }
}
"""


def test_vip_fast_path_and_virtual_names_exactly() -> None:
    """Plain IPv4 lines (prefix lengths, unspecified, multicast, not an address, a repeat)
    and the VMAC/ipvlan names: a name taken by an earlier instance falls back to the
    default (vmac_prefix), an ipvlan without a name gets one, no interface no VMAC."""
    result = loads_keepalived(VIRTUAL_NAMES, "k.conf")
    assert result.groups == [
        {
            "name": "P",
            "interface": "shared",
            "addresses": ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
            "vrid": 1,
            "priority": 100,
        },
        {
            "name": "Q",
            "interface": "vx.1",
            "addresses": ["192.0.2.20"],
            "vrid": 1,
            "priority": 100,
        },
        {
            "name": "R",
            "interface": "vx.2",
            "addresses": ["2001:db8::20"],
            "vrid": 2,
            "priority": 100,
        },
        {
            "name": "S@eth4",
            "interface": "eth4",
            "addresses": ["192.0.2.30"],
            "vrid": 3,
            "priority": 100,
        },
    ]
    assert [dict(result.group_origins[g["name"]]) for g in result.groups] == [
        {"": "k.conf:4", "addresses": "k.conf:9", "vrid": "k.conf:6", "interface": "k.conf:7"},
        {"": "k.conf:18", "addresses": "k.conf:23", "vrid": "k.conf:20", "interface": "k.conf:21"},
        {"": "k.conf:26", "addresses": "k.conf:32", "vrid": "k.conf:28", "interface": "k.conf:30"},
        {"": "k.conf:35", "addresses": "k.conf:42", "vrid": "k.conf:36", "interface": "k.conf:42"},
    ]
    assert result.unsupported == [
        "k.conf:10: vrrp_instance P: virtual_ipaddress: 192.0.2.2/33: invalid prefix length; "
        "keepalived uses /32",
        "k.conf:11: vrrp_instance P: virtual_ipaddress: 0.0.0.0 is a multicast or unspecified "
        "address, which garpd does not announce; skipped",
        "k.conf:12: vrrp_instance P: virtual_ipaddress: 239.1.1.1/8 is a multicast or "
        "unspecified address, which garpd does not announce; skipped",
        "k.conf:13: vrrp_instance P: virtual_ipaddress: '10.0.0.256' is not an IP "
        "address[/len]; skipped",
        "k.conf:15: vrrp_instance P: 192.0.2.1 on shared is already in group P; skipped",
        "k.conf:21: vrrp_instance Q: use_vmac shared is already another instance's; keepalived "
        "picks a default name instead",
        "k.conf:37: vrrp_instance S: use_vmac needs an interface; keepalived ignores it",
        "k.conf:45: vrrp_instance T has no valid virtual_router_id; keepalived refuses the "
        "instance; skipped",
    ]


UNSIGNED_CASES = ["4294967295", "4294967296", "000000000000000000001", "00000000000000000001",
                  '" 7"', '"7 "', '""', "-0", '" -3"', "+5", "999999999", "1000000000"]


def test_unsigned_numbers_exactly() -> None:
    """keepalived's strtoul reading, one instance per value: the edges of the range and of
    the 20-digit saturation, quoted blanks before and after, empty, signs, the 9-digit fast
    path and the first 10-digit value past it."""
    text = "".join(f"vrrp_instance I{n} {{\n interface eth0\n virtual_router_id {n + 1}\n"
                   f" garp_master_repeat {value}\n virtual_ipaddress {{\n  192.0.2.{n + 1}\n"
                   " }\n}\n" for n, value in enumerate(UNSIGNED_CASES))
    result = loads_keepalived(text, "k.conf")
    assert [g.get("master_repeat") for g in result.groups] == [
        4294967295, None, None, 1, 7, 7, 1, None, None, 5, 999999999, 1000000000]
    assert result.unsupported == [
        "k.conf:12: garp_master_repeat '4294967296': out of range 0..4294967295; ignored",
        "k.conf:20: garp_master_repeat '000000000000000000001': out of range 0..4294967295; "
        "ignored",
        "k.conf:44: garp_master_repeat '7 ': not a whole number; keepalived reads it as 7",
        "k.conf:52: garp_master_repeat '': not a whole number; keepalived reads it as 0",
        "k.conf:52: vrrp_instance I6: garp_master_repeat 0: keepalived uses 1",
        "k.conf:60: garp_master_repeat '-0': negative; ignored",
        "k.conf:68: garp_master_repeat ' -3': negative; ignored",
    ]


def test_notes_in_file_order() -> None:
    """Notes sorted by the file's first place in the reading order, then line (a line that
    is not ASCII digits sorts as 0); notes naming no file read come last."""
    notes = ["/b.conf:2: x", "/a.conf:10: y", "/a.conf:9: z", "other: w", "/a.conf:x: v",
             "/b.conf:1: u", "/a.conf:\u0661: n"]
    assert _in_file_order(notes, ["/a.conf", "/b.conf", "/a.conf"]) == [
        "/a.conf:x: v", "/a.conf:\u0661: n", "/a.conf:9: z", "/a.conf:10: y", "/b.conf:1: u",
        "/b.conf:2: x", "other: w"]


def test_load_keepalived_exactly(tmp_path: Path) -> None:
    """A file that cannot be read and a bound hit are one-line errors; config_id applies."""
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(tmp_path / "none.conf")
    assert caught.value.lines == [f"{tmp_path}/none.conf: no such file"]
    conf = tmp_path / "k.conf"
    conf.write_text("@x net_namespace blue\na {\nb {\nc {\n}\n}\n}\n")
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(conf, config_id="x", limits=Limits(max_block_depth=2))
    assert caught.value.lines == [
        f"{conf}:4: blocks nested more than 2 deep; keepalived.conf refused"]
    assert load_keepalived(conf, config_id="x").net_namespace == "blue"
    assert load_keepalived(conf, config_id="y").net_namespace is None


def test_note_cap_counts_reader_and_importer_notes() -> None:
    """At most MAX_NOTES notes, the reader's first, then "... and N more" for the rest;
    exactly MAX_NOTES notes have no such line."""
    text = "{\n}\n" * 10 + "".join(f"frob{i}\n" for i in range(495))
    notes = loads_keepalived(text, "k.conf").unsupported
    assert len(notes) == 501
    assert notes[9] == "k.conf:19: '{' without a keyword before it; its block is ignored"
    assert notes[10] == ("k.conf:21: unknown top-level keyword 'frob0' (not one of keepalived "
                         "2.2's); ignored with its block")
    assert notes[499].startswith("k.conf:510: unknown top-level keyword 'frob489'")
    assert notes[500] == "... and 5 more"
    exactly = loads_keepalived("".join(f"frob{i}\n" for i in range(500)), "k.conf").unsupported
    assert len(exactly) == 500
    assert exactly[-1].startswith("k.conf:500: unknown top-level keyword 'frob499'")


def test_blank_instance_name_is_refused() -> None:
    """A vrrp_instance named only blanks is not a group name."""
    assert loads_keepalived('vrrp_instance "   " {\n}\n', "k.conf").unsupported == [
        "k.conf:1: vrrp_instance '   ': the name has control characters; block ignored"]


def test_invalid_global_refresh_turns_it_off() -> None:
    """A refused vrrp_garp_master_refresh (negative) is imported as 0, off."""
    result = loads_keepalived("global_defs {\n vrrp_garp_master_refresh -5\n}\n", "k.conf")
    assert result.announce == {"master_refresh": 0.0}
    assert result.unsupported == ["k.conf:2: vrrp_garp_master_refresh '-5': negative; ignored"]


def test_sync_group_members_from_every_group_block() -> None:
    """Members listed in two group { } blocks of one vrrp_sync_group are all members."""
    text = (instance("A", "eth0", 1) + instance("B", "eth0", 2)
            + "vrrp_sync_group G {\n group {\n  A\n }\n group {\n  B\n }\n}\n")
    result = loads_keepalived(text, "k.conf")
    assert [(g["name"], g.get("sync_group")) for g in result.groups] == [("A", "G"),
                                                                       ("B", "G")]
    assert result.unsupported == []


def test_refresh_under_vrrp_min_garp_and_strict_defaults_exactly() -> None:
    """Under vrrp_min_garp an inherited refresh draws no instance note, an own refresh of 0
    none, of 1 one; strict mode carries the lower-prio zeros even when they equal the
    globals; an inherited global lower-prio repeat is not repeated in the group; a stray
    block after a VIP is noted."""
    text = ("global_defs {\n vrrp_garp_master_refresh 10\n vrrp_min_garp\n"
            " vrrp_garp_lower_prio_repeat 0\n vrrp_garp_lower_prio_delay 0\n}\n"
            + with_lines("A", 1, []) + with_lines("B", 2, ["garp_master_refresh 0"])
            + with_lines("C", 3, ["garp_master_refresh 1"]) + with_lines("D", 4, ["strict_mode"]))
    result = loads_keepalived(text, "k.conf")
    assert result.announce == {"master_delay": 0.0, "master_repeat": 1, "master_refresh": 0.0,
                               "master_refresh_repeat": 1, "lower_prio_delay": 0.0,
                               "lower_prio_repeat": 0}
    timing = ("master_refresh", "lower_prio_delay", "lower_prio_repeat")
    assert [{k: g[k] for k in timing if k in g} for g in result.groups] == [
        {}, {"master_refresh": 0.0}, {"master_refresh": 0.0},
        {"lower_prio_delay": 0.0, "lower_prio_repeat": 0}]
    assert result.unsupported == [
        "k.conf:3: vrrp_min_garp sets vrrp_garp_master_refresh_repeat to 0, so keepalived's "
        "refresh sends nothing; master_refresh imported as 0 (off)",
        "k.conf:25: vrrp_instance C: garp_master_refresh has no effect: vrrp_min_garp left "
        "garp_master_refresh_repeat at 0 (set it to send refreshes)",
    ]
    other = loads_keepalived(
        "global_defs {\n vrrp_garp_lower_prio_repeat 5\n}\n" + with_lines("E", 5, [])
        + "vrrp_instance F {\n interface eth0\n virtual_router_id 6\n virtual_ipaddress {\n"
        "  192.0.2.6 {\n  }\n }\n}\n", "k.conf")
    assert other.groups == [
        {"name": "E", "interface": "eth0", "addresses": ["192.0.2.5"], "vrid": 5,
         "priority": 100},
        {"name": "F", "interface": "eth0", "addresses": ["192.0.2.6"], "vrid": 6,
         "priority": 100}]
    assert other.unsupported == [
        "k.conf:15: vrrp_instance F: virtual_ipaddress: unexpected { } block after "
        "'192.0.2.6'; ignored"]


def test_stray_block_inside_an_instance() -> None:
    """A '{' without a keyword inside a vrrp_instance: the reader's note only."""
    result = loads_keepalived("vrrp_instance A {\n {\n }\n interface eth0\n virtual_router_id 1\n"
                              " virtual_ipaddress {\n  192.0.2.1\n }\n}\n", "k.conf")
    assert [g["name"] for g in result.groups] == ["A"]
    assert result.unsupported == ["k.conf:2: '{' without a keyword before it; its block is "
                                  "ignored"]


FAMILY_RULES = """vrrp_instance A {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  192.0.2.1
 }
}
global_defs {
 vrrp_garp_master_repeat 3
}
vrrp_instance B {
 interface eth0
 virtual_router_id 2
 mcast_src_ip
 mcast_dst_ip 2001:db8::9
 unicast_peer {
   {
   }
   foo
  }
 garp_master_delay "\u00a05"
 virtual_ipaddress {
  192.0.2.2
  2001:db8::2
 }
}
vrrp_instance C {
 interface eth0
 virtual_router_id 3
 native_ipv6
 virtual_ipaddress {
  192.0.2.3
  2001:db8::3
 }
}
vrrp_instance D {
 interface eth0
 virtual_router_id 4
 use_vmac
 virtual_ipaddress_excluded {
  192.0.2.4
 }
}
vrrp_instance E {
 interface eth0
 virtual_router_id 5
 virtual_ipaddress {
  192.0.2.5
 }
 mcast_src_ip 2001:db8::1/64
 unicast_peer {
  2001:db8::2/64
 }
}
"""


def test_instance_families_and_copied_globals_exactly() -> None:
    """Globals are copied when an instance is read (a later global_defs changes only the
    instances after it); mcast_dst_ip sets the family, a source without a value or with a
    /len does not; unicast_peer lines that are not addresses; native_ipv6 sets IPv6; an
    instance with only excluded addresses defaults to IPv4 (its VMAC carries them); a
    value led by a no-break space is not a number."""
    result = loads_keepalived(FAMILY_RULES, "k.conf")
    assert result.groups == [
        {
            "name": "A",
            "interface": "eth0",
            "addresses": ["192.0.2.1"],
            "vrid": 1,
            "priority": 100,
            "master_repeat": 5,
        },
        {
            "name": "B",
            "interface": "eth0",
            "addresses": ["2001:db8::2"],
            "vrid": 2,
            "priority": 100,
            "master_delay": 0.0,
        },
        {
            "name": "C",
            "interface": "eth0",
            "addresses": ["2001:db8::3"],
            "vrid": 3,
            "priority": 100,
        },
        {
            "name": "D",
            "interface": "vrrp.4",
            "addresses": ["192.0.2.4"],
            "vrid": 4,
            "priority": 100,
        },
        {"name": "E", "interface": "eth0", "addresses": ["192.0.2.5"], "vrid": 5, "priority": 100},
    ]
    assert result.unsupported == [
        "k.conf:17: '{' without a keyword before it; its block is ignored",
        "k.conf:21: garp_master_delay '\\xa05': not a whole number; keepalived reads it as 0",
        "k.conf:23: vrrp_instance B: virtual_ipaddress 192.0.2.2 is not IPv6, the instance's "
        "family (set at k.conf:15); keepalived 2.2 ignores it",
        "k.conf:32: vrrp_instance C: virtual_ipaddress 192.0.2.3 is not IPv6, the instance's "
        "family (set at k.conf:30); keepalived 2.2 ignores it",
    ]


NAMES_AND_SPLITS = """vrrp_instance NOVRID {
 interface eth0
 use_vmac
 virtual_ipaddress {
  192.0.2.1
 }
}
vrrp_instance S {
 virtual_router_id 3
 use_vmac
 unicast_peer {
  192.0.2.99
 }
 virtual_ipaddress {
  192.0.2.30 dev eth4
 }
}
vrrp_instance T {
 interface eth5
 virtual_router_id 3
 use_vmac
 virtual_ipaddress {
  192.0.2.40
 }
}
vrrp_instance A {
 interface eth0
 virtual_router_id 7
 virtual_ipaddress {
  192.0.2.7 dev b@c
  192.0.2.8 dev eth1
  192.0.2.8 dev eth1
 }
}
vrrp_instance A@b {
 interface eth0
 virtual_router_id 8
 virtual_ipaddress {
  192.0.2.9 dev c
 }
}
"""


def test_virtual_names_and_split_names_exactly() -> None:
    """An instance without a VRID or without an interface takes no VMAC name, so the next
    instance of that VRID gets the default one; split names are unique even when an
    interface name holds an "@"; a repeated VIP names the split group it is already in."""
    result = loads_keepalived(NAMES_AND_SPLITS, "k.conf")
    assert result.groups == [
        {
            "name": "S@eth4",
            "interface": "eth4",
            "addresses": ["192.0.2.30"],
            "vrid": 3,
            "priority": 100,
        },
        {
            "name": "T",
            "interface": "vrrp.3",
            "addresses": ["192.0.2.40"],
            "vrid": 3,
            "priority": 100,
        },
        {
            "name": "A@b@c",
            "interface": "b@c",
            "addresses": ["192.0.2.7"],
            "vrid": 7,
            "priority": 100,
        },
        {
            "name": "A@eth1",
            "interface": "eth1",
            "addresses": ["192.0.2.8"],
            "vrid": 7,
            "priority": 100,
        },
        {
            "name": "A@b@c~2",
            "interface": "c",
            "addresses": ["192.0.2.9"],
            "vrid": 8,
            "priority": 100,
        },
    ]
    assert result.unsupported == [
        "k.conf:1: vrrp_instance NOVRID has no valid virtual_router_id; keepalived refuses the "
        "instance; skipped",
        "k.conf:10: vrrp_instance S: use_vmac needs an interface; keepalived ignores it",
        "k.conf:32: vrrp_instance A: 192.0.2.8 on eth1 is already in group A@eth1; skipped",
    ]
    refresh_one = loads_keepalived(
        "global_defs {\n vrrp_garp_master_refresh 1\n vrrp_min_garp\n}\n", "k.conf")
    assert refresh_one.announce["master_refresh"] == 0.0
    assert refresh_one.unsupported == [
        "k.conf:3: vrrp_min_garp sets vrrp_garp_master_refresh_repeat to 0, so keepalived's "
        "refresh sends nothing; master_refresh imported as 0 (off)"]


def test_importer_notes_past_the_cap_are_counted() -> None:
    """520 notes of the importer's own: 500 kept and "... and 20 more"."""
    notes = loads_keepalived("".join(f"frob{i}\n" for i in range(520)), "k.conf").unsupported
    assert len(notes) == 501
    assert notes[-1] == "... and 20 more"


def test_unnumbered_notes_sort_before_line_one() -> None:
    """A note whose line is not a number sorts as line 0, before line 1."""
    assert _in_file_order(["/a.conf:1: p", "/a.conf:x: v"], ["/a.conf"]) == [
        "/a.conf:x: v", "/a.conf:1: p"]


def test_excluded_addresses_of_the_other_family() -> None:
    """Excluded IPv4 addresses of an IPv6 instance are kept (no family check); with
    use_vmac_addr, a plain one and one with dev share the one per-address VMAC of the
    (VRID, IPv4, base)."""
    text = ("vrrp_instance X {\n interface eth0\n virtual_router_id 9\n native_ipv6\n"
            " use_vmac_addr\n virtual_ipaddress {\n  2001:db8::9\n }\n"
            " virtual_ipaddress_excluded {\n  192.0.2.9\n  192.0.2.10 dev eth0\n }\n}\n"
            "vrrp_instance Y {\n interface eth1\n virtual_router_id 10\n native_ipv6\n"
            " virtual_ipaddress_excluded {\n  192.0.2.11\n }\n virtual_ipaddress {\n"
            "  2001:db8::10\n }\n}\n")
    result = loads_keepalived(text, "k.conf")
    assert [(g["name"], g["interface"], g["addresses"]) for g in result.groups] == [
        ("X", "eth0", ["2001:db8::9"]),
        ("X@vrrp.9", "vrrp.9", ["192.0.2.9", "192.0.2.10"]),
        ("Y", "eth1", ["192.0.2.11", "2001:db8::10"])]
    assert result.unsupported == []


def test_a_vmac_name_of_an_instance_without_interface_is_free() -> None:
    """A use_vmac name given by an instance without an interface (ignored there) stays
    free for a later instance."""
    text = ("vrrp_instance S {\n virtual_router_id 3\n use_vmac vms\n unicast_peer {\n"
            "  192.0.2.99\n }\n virtual_ipaddress {\n  192.0.2.30 dev eth4\n }\n}\n"
            "vrrp_instance T {\n interface eth5\n virtual_router_id 4\n use_vmac vms\n"
            " virtual_ipaddress {\n  192.0.2.40\n }\n}\n")
    result = loads_keepalived(text, "k.conf")
    assert [(g["name"], g["interface"]) for g in result.groups] == [("S@eth4", "eth4"),
                                                                    ("T", "vms")]
    assert result.unsupported == [
        "k.conf:3: vrrp_instance S: use_vmac needs an interface; keepalived ignores it"]
