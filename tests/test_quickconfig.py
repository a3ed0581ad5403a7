"""The notify hook's pydantic-free reading of a plain configuration (garpd.quickconfig)
against the full validation (garpd.config): wherever it answers, the full validation
accepts the same file and its policy answers the same (watches, pacing, groups named);
wherever the full validation refuses a file, the quick reading does not answer."""

from __future__ import annotations

import ipaddress
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from garpd import quickconfig
from garpd.config import ConfigError, ConfigPolicy, loads_config


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    assert isinstance(value, list)
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def _toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, body in doc.items():
        if section == "group":
            for group in body:
                lines.append("[[group]]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in group.items()]
        else:
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


_NUMBERS = [-1, 0, 1, 3, 5, 255, 256, 10000, 10001, True, False, -1.0, 0.0, 0.25, 1.0, 5.0,
            60.0, 61.0, 4294.0, 4294.5, 4294.967295, 5000.0, math.inf, math.nan]
_WORDS = ["request", "reply", "both", "loud", "defend", "log", "off", "json", "console",
          "debug", "info", "warning", "error", "INFO", ""]
_ANNOUNCE_KEYS = [*quickconfig._ANNOUNCE, "bogus"]
_VALUES = st.one_of(st.sampled_from(_NUMBERS), st.sampled_from(_WORDS),
                    st.sampled_from([[], ["auto"], ["192.0.2.9"], ["192.0.2.1"]]))
_ADDRESSES = ["192.0.2.1", "192.0.2.1/32", "192.0.2.1/33", " 192.0.2.2 ", "224.0.0.1",
              "0.0.0.0", "2001:db8::1", "2001:db8::1/64", "fe80::1%eth0", "fe80::1", "bad",  # noqa: S104
              "198.51.100.7"]
_NETWORKS = ["198.51.100.0/24", "198.51.100.1/24", "224.0.0.0/4", "2001:db8::/64", "bad",
             "192.0.2.0/30", "0.0.0.0/0"]
_IFACES = ["eth0", "eth1", "a/b", "x" * 16]
_NAMES = ["VI_1", "VI_2", " ", "a\tb", "VG"]


_GOOD_ADDRESSES = ["192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.7", "192.0.2.1/32"]
_GOOD_NETWORKS = ["198.51.100.0/24", "2001:db8::/64", "192.0.2.0/30"]
_GOOD: dict[str, list[Any]] = {
    "master_delay": [0.0, 0, 2.5], "master_repeat": [1, 3], "master_refresh": [0.0, 60],
    "master_refresh_repeat": [1, 2], "lower_prio_delay": [0.0, 1.5], "lower_prio_repeat": [0, 2],
    "interval": [0.0, 0.001, 1], "na_interval": [0.0, 0.5], "mode": ["reply", "both"],
    "announce_on_start": [True, False], "conflict": ["log", "off"], "defend_interval": [1.0],
    "gateways": [[]], "confirm_timeout": [0.5, 60], "confirm_retries": [0, 10]}
_GOOD_SETTINGS = st.sampled_from(sorted(_GOOD)).flatmap(
    lambda k: st.tuples(st.just(k), st.sampled_from(_GOOD[k])))


@st.composite
def _group(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid groups (so that both readings accept many), now and then a bad value."""
    bad = draw(st.integers(0, 5)) == 0
    group: dict[str, Any] = {}
    if not bad or draw(st.booleans()):
        group["name"] = draw(st.sampled_from(["VI_1", "VI_2", "VG"] if not bad else _NAMES))
    if not bad or draw(st.booleans()):
        group["interface"] = draw(st.sampled_from(["eth0", "eth1"] if not bad else _IFACES))
    addresses = _ADDRESSES if bad else _GOOD_ADDRESSES
    networks = _NETWORKS if bad else _GOOD_NETWORKS
    if bad or draw(st.booleans()):
        group["addresses"] = draw(st.lists(st.sampled_from(addresses), max_size=3,
                                           unique=not bad))
    if bad or "addresses" not in group or draw(st.booleans()):
        group["networks"] = draw(st.lists(st.sampled_from(networks), max_size=2,
                                          min_size=0 if bad or group.get("addresses") else 1))
    if draw(st.integers(0, 3)) == 0:
        group["sync_group"] = draw(st.sampled_from(["VG", "VI_1"] if not bad else _NAMES))
    for key in ("priority", "vrid"):
        if draw(st.integers(0, 4)) == 0:
            group[key] = draw(st.sampled_from([1, 100, 255] if not bad else _NUMBERS))
    if bad:
        group.update(draw(st.dictionaries(st.sampled_from(_ANNOUNCE_KEYS), _VALUES,
                                          max_size=2)))
    else:
        group.update(draw(st.lists(_GOOD_SETTINGS, max_size=3)))
    return group


@st.composite
def _document(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.integers(0, 5)) == 0:
        doc["announce"] = draw(st.dictionaries(st.sampled_from(_ANNOUNCE_KEYS), _VALUES,
                                               max_size=4))
    elif draw(st.booleans()):
        doc["announce"] = dict(draw(st.lists(_GOOD_SETTINGS, max_size=5)))
    if draw(st.integers(0, 5)) == 0:
        doc["log"] = draw(st.dictionaries(st.sampled_from(["format", "level", "x"]),
                                          st.sampled_from(_WORDS), max_size=2))
    if draw(st.integers(0, 5)) == 0:
        doc["control"] = {"socket": draw(st.sampled_from(
            ["/run/garpd/x.sock", "relative.sock", "/" + "a" * 120, 5]))}
    if draw(st.integers(0, 6)) == 0:
        doc["metrics"] = {"listen": draw(st.sampled_from(
            ["", "127.0.0.1:9478", "127.0.0.2:1", "[::1]:0", "[::1]:65535", "x:1", 1]))}
    if draw(st.integers(0, 6)) == 0:
        doc["keepalived"] = draw(st.dictionaries(
            st.sampled_from(["notify_fifo", "config", "allow_no_groups"]),
            st.sampled_from(["/run/garpd/fifo", "relative", True, "/nonexistent/k.conf"]),
            max_size=2))
    if draw(st.integers(0, 9)) == 0:
        doc["bogus"] = {"x": 1}
    doc["group"] = draw(st.lists(_group(), max_size=3))
    return doc


_PROBES = [ipaddress.ip_address(a) for a in
           ("192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.7", "2001:db8::1", "fe80::1")]


def _same_policy(quick: quickconfig.QuickPolicy, full: ConfigPolicy) -> None:
    cfg = full.config
    assert [g.name for g in quick.groups] == [g.name for g in cfg.groups]
    for iface in [*_IFACES, "eth9"]:
        assert quick.pacing(iface) == full.pacing(iface)
        for address in _PROBES:
            assert quick.watch(iface, address) == full.watch(iface, address), (iface, address)
    for name in _NAMES:
        for kind in ("INSTANCE", "GROUP", None):
            assert ([g.name for g in quick.groups_named(name, kind)]
                    == [g.name for g in full.groups_named(name, kind)])


@settings(max_examples=1500, deadline=None)
@given(_document())
def test_quick_reading_agrees_with_the_full_validation(doc: dict[str, Any]) -> None:
    text = _toml(doc)


    quick = quickconfig.policy_of(tomllib.loads(text))
    try:
        full = ConfigPolicy(loads_config(text, "garpd.toml"))
    except ConfigError:
        assert quick is None, text
        return
    if quick is not None:
        _same_policy(quick, full)


def test_a_plain_file_is_read_without_pydantic_and_anything_else_is_not(tmp_path: Path) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text('[announce]\nmaster_delay = 0.0\n\n[control]\nsocket = "/run/x.sock"\n\n'
                     '[[group]]\nname = "VI_1"\ninterface = "eth0"\n'
                     'addresses = ["192.0.2.1"]\nnetworks = ["198.51.100.0/24"]\n')
    odd = tmp_path / "odd.toml"
    odd.write_text('[[group]]\nname = "VI_1"\ninterface = "eth0"\naddresses = ["bad"]\n')
    code = ("import sys\nfrom garpd import quickconfig\n"
            "p = quickconfig.load(sys.argv[1])\nq = quickconfig.load(sys.argv[2])\n"
            "print(p is not None, q is None, 'pydantic' in sys.modules,"
            " 'tomllib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(plain), str(odd)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "False", "False"]  # both inside the plain TOML subset
    policy = quickconfig.load(str(plain))
    assert policy is not None
    full = ConfigPolicy(loads_config(plain.read_text(), "plain.toml"))
    _same_policy(policy, full)
    # Outside the TOML subset (an escape): tomllib reads it, the same policy.
    escaped = tmp_path / "escaped.toml"
    escaped.write_text(plain.read_text().replace('"VI_1"', '"VI_\\u0031"'))
    again = quickconfig.load(str(escaped))
    assert again is not None
    _same_policy(again, full)
    assert quickconfig.load(str(tmp_path / "missing.toml")) is None
    assert quickconfig.load(str(tmp_path)) is None
