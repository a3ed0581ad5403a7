"""The Seeing-the-LAN keys: conflict, defend_interval, gateways, confirm_timeout/retries."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from garpd.config import parse_config
from tests.test_config import SRC, errors_of, group


def test_defaults_and_group_overrides_reach_the_timing() -> None:
    """[announce] sets every group's value; a group's own key wins."""
    config = parse_config({
        "announce": {"conflict": "log", "gateways": ["auto"], "confirm_retries": 0},
        "group": [group(), group(name="B", interface="eth1", conflict="off", defend_interval=2,
                                 gateways=["192.0.2.1", "fe80::1"], confirm_timeout=0.5)],
    }, SRC)
    a, b = (config.effective(g).timing for g in config.groups)
    assert (a.conflict, a.defend_interval, a.gateways, a.confirm_timeout,
            a.confirm_retries) == ("log", 10.0, "auto", 1.0, 0)
    assert (b.conflict, b.defend_interval, b.gateways, b.confirm_timeout) == (
        "off", 2.0, (ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("fe80::1")), 0.5)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("conflict", "yes", 'announce.conflict = "yes": must be one of "defend", "log", "off"'),
    ("defend_interval", -1.0, "announce.defend_interval = -1.0: must be a number of seconds "
     "from 0 to 4294"),
    ("gateways", ["auto", "192.0.2.1"], '"auto" cannot be mixed with addresses'),
    ("gateways", "auto", 'must be a list of IP addresses, or ["auto"]'),
    ("gateways", ["224.0.0.1"], "entry 0 (224.0.0.1) is not a unicast address"),
    ("gateways", ["127.0.0.1"], "entry 0 (127.0.0.1) is not a unicast address"),
    ("gateways", ["192.0.2.1", "192.0.2.1"], "entry 1 (192.0.2.1) is listed twice"),
    ("gateways", ["fe80::1%eth0"], "a %zone suffix is not accepted"),
    ("gateways", ["gw"], "entry 0 (gw) is not an IP address"),
    ("gateways", [f"192.0.2.{n}" for n in range(1, 66)], "at most 64 gateways"),
    ("confirm_timeout", 0.0, "must be a number of seconds above 0, at most 60"),
    ("confirm_timeout", 61, "must be a number of seconds above 0, at most 60"),
    ("confirm_retries", 11, "must be an integer from 0 to 10"),
    ("confirm_retries", True, "must be an integer from 0 to 10"),
])
def test_bad_values_are_named_with_what_is_accepted(key: str, value: object,
                                                     message: str) -> None:
    """Each bad value gives one line naming the file, the key and what is accepted."""
    [line] = errors_of({"announce": {key: value}})
    assert line.startswith(f"{SRC}: announce.{key}")
    assert message in line


def test_a_gateway_may_not_be_one_of_the_groups_addresses() -> None:
    """A group's own address as its gateway is refused (a gateway is another host)."""
    [line] = errors_of({"group": [group(addresses=["192.0.2.100"],
                                        gateways=["192.0.2.100"])]})
    assert line == (f"{SRC}: group[0].gateways: 192.0.2.100 is one of the group's own "
                    "addresses; a gateway is another host")


def test_watch_reads_auto_and_addresses(tmp_path: Path) -> None:
    """``garpd watch -c`` takes the same gateways: listed ones, and ["auto"] means the
    routes' next hops (none for an interface that does not exist)."""
    from garpd.commands.watch import known_from_config  # noqa: PLC0415

    path = tmp_path / "garpd.toml"
    path.write_text('[announce]\ngateways = ["auto"]\n[[group]]\nname = "A"\n'
                    'interface = "eth0"\naddresses = ["192.0.2.100"]\n'
                    'gateways = ["192.0.2.1"]\n')
    known = known_from_config(str(path), "garpd-none0")
    assert known.gateways == {ipaddress.ip_address("192.0.2.1")}
