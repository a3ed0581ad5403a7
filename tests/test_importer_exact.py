"""The keepalived importer exactly where the other tests match fragments: net_namespace's
three cases and every garp_group note, with the intervals each interface ends up with."""

from __future__ import annotations

from garpd.keepalived import loads_keepalived

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
