"""The configuration: models, ranges, error lines, loading, defaults and ConfigPolicy."""

from __future__ import annotations

import ipaddress
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garpd.config import (
    ANNOUNCE_KEYS,
    BUILTIN_SOURCE,
    DEFAULT_PATH,
    Config,
    ConfigError,
    ConfigPolicy,
    load_config,
    loads_config,
    parse_config,
    resolve,
)
from garpd.policy import Timing, Watch
from tests.privileges import run_python_unprivileged, shared_directory

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "config" / "garpd.toml"
SRC = "/etc/garpd/garpd.toml"
V4 = ipaddress.ip_address("192.0.2.100")
V6 = ipaddress.ip_address("2001:db8::100")


def group(**keys: object) -> dict[str, object]:
    """A valid [[group]] table, with ``keys`` added or replaced."""
    table: dict[str, object] = {"name": "VI_1", "interface": "eth0", "addresses": ["192.0.2.100"]}
    table.update(keys)
    return table


def errors_of(data: dict[str, Any], source: str = SRC) -> list[str]:
    """The error lines ``data`` produces (fails if it is accepted)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source)
    return caught.value.lines


# --- defaults ---------------------------------------------------------------------------


def test_defaults_are_keepalived_defaults() -> None:
    """An empty file means keepalived's timing: 5 + 5 after 5 s, no refresh, no spacing."""
    eff = parse_config({}, SRC).effective()
    assert eff.timing == Timing(
        master_repeat=5, master_delay=5.0, master_refresh=0.0, master_refresh_repeat=1,
        lower_prio_delay=5.0, lower_prio_repeat=5, mode="request", announce_on_start=True,
    )
    assert (eff.interval, eff.na_interval) == (0.0, 0.0)
    assert eff.timing == Timing()


def test_other_section_defaults() -> None:
    """[log], [control] and [keepalived] defaults: auto format, info, the /run socket."""
    config = parse_config({}, SRC)
    assert config.log.format is None
    assert config.log.level == "info"
    assert config.control.socket == Path("/run/garpd/garpd.sock")
    assert config.keepalived.notify_fifo is None
    assert config.keepalived.config is None
    assert config.groups == ()


def test_lower_prio_defaults_follow_announce_master() -> None:
    """lower_prio_delay / _repeat left unset take [announce]'s master_delay / _repeat."""
    eff = parse_config({"announce": {"master_delay": 2, "master_repeat": 7}}, SRC).effective()
    assert (eff.timing.lower_prio_delay, eff.timing.lower_prio_repeat) == (2.0, 7)
    assert eff.sources["lower_prio_delay"] == "master_delay"


def test_group_master_override_does_not_feed_lower_prio() -> None:
    """As keepalived: a group's own master_* leaves its lower_prio_* at [announce]'s."""
    config = parse_config({
        "announce": {"master_repeat": 4, "master_delay": 3.0},
        "group": [group(master_repeat=9, master_delay=1.0)],
    }, SRC)
    timing = config.effective(config.groups[0]).timing
    assert (timing.master_repeat, timing.master_delay) == (9, 1.0)
    assert (timing.lower_prio_repeat, timing.lower_prio_delay) == (4, 3.0)


def test_override_precedence_group_then_announce_then_default() -> None:
    """A group's key wins over [announce], which wins over the default, key by key."""
    config = parse_config({
        "announce": {"master_repeat": 2, "lower_prio_repeat": 0, "interval": 0.5,
                     "mode": "both"},
        "group": [group(master_repeat=3, lower_prio_delay=1, na_interval=0.25,
                        announce_on_start=False)],
    }, SRC)
    eff = config.effective(config.groups[0])
    assert eff.timing == Timing(master_repeat=3, master_delay=5.0, lower_prio_delay=1.0,
                                lower_prio_repeat=0, mode="both", announce_on_start=False)
    assert (eff.interval, eff.na_interval) == (0.5, 0.25)
    assert eff.sources == {
        "master_delay": "default", "master_repeat": "group", "master_refresh": "default",
        "master_refresh_repeat": "default", "lower_prio_delay": "group",
        "lower_prio_repeat": "announce", "interval": "announce", "na_interval": "group",
        "mode": "announce", "announce_on_start": "group", "conflict": "default",
        "defend_interval": "default", "gateways": "default", "confirm_timeout": "default",
        "confirm_retries": "default",
    }
    assert config.groups[0].overrides() == {"master_repeat", "lower_prio_delay",
                                            "na_interval", "announce_on_start"}


def test_ints_accepted_for_durations() -> None:
    """Durations take integers and floats alike, and come out as floats."""
    config = parse_config({"announce": {"master_delay": 3, "interval": 1,
                                        "master_refresh": 2.5}}, SRC)
    eff = config.effective()
    assert eff.timing.master_delay == 3.0
    assert isinstance(eff.timing.master_delay, float)
    assert eff.interval == 1.0
    assert eff.timing.master_refresh == 2.5


@pytest.mark.parametrize(("key", "value"), [
    ("master_delay", 0), ("master_delay", 4294), ("master_delay", 4294.0),
    ("lower_prio_delay", 4294), ("lower_prio_repeat", 0), ("lower_prio_repeat", 10000),
    ("master_repeat", 1), ("master_repeat", 10000), ("master_refresh", 4294967295),
    ("interval", 4294.967295), ("na_interval", 0.000001), ("interval", 0),
    ("master_refresh_repeat", 1), ("mode", "reply"), ("mode", "both"),
    ("announce_on_start", False),
])
def test_boundary_values_accepted(key: str, value: object) -> None:
    """The limits themselves are accepted, in [announce] and in a group."""
    config = parse_config({"announce": {key: value}, "group": [group(**{key: value})]}, SRC)
    assert config.effective(config.groups[0]).value(key) == value
    assert config.effective().value(key) == value


# --- range errors -----------------------------------------------------------------------

RANGE_CASES: list[tuple[str, object, str, str]] = [
    # key, bad value, the value as the line shows it, what the line says is accepted
    ("master_delay", -1, "-1", "a number of seconds from 0 to 4294"),
    ("master_delay", 4294.5, "4294.5", "a number of seconds from 0 to 4294"),
    ("master_delay", float("inf"), "inf", "a number of seconds from 0 to 4294"),
    ("master_delay", float("nan"), "nan", "a number of seconds from 0 to 4294"),
    ("master_delay", "5", '"5"', "a number of seconds from 0 to 4294"),
    ("master_repeat", 0, "0", "an integer >= 1"),
    ("master_repeat", -3, "-3", "an integer >= 1"),
    ("master_repeat", 10001, "10001", "an integer >= 1 (at most 10000)"),
    ("master_repeat", 2.0, "2.0", "an integer >= 1"),
    ("master_refresh", -0.5, "-0.5", "a number of seconds from 0 to 4294967295"),
    ("master_refresh", 4294967296, "4294967296", "a number of seconds from 0 to 4294967295"),
    ("master_refresh_repeat", 0, "0", "an integer >= 1"),
    ("lower_prio_delay", 5000, "5000", "a number of seconds from 0 to 4294"),
    ("lower_prio_delay", -1.0, "-1.0", "a number of seconds from 0 to 4294"),
    ("lower_prio_repeat", -1, "-1", "an integer >= 0"),
    ("lower_prio_repeat", 1.5, "1.5", "an integer >= 0"),
    ("interval", -0.001, "-0.001", "a number of seconds from 0 to 4294.967295"),
    ("interval", 4294.968, "4294.968", "a number of seconds from 0 to 4294.967295"),
    ("na_interval", float("-inf"), "-inf", "a number of seconds from 0 to 4294.967295"),
    ("na_interval", [1], "[1]", "a number of seconds from 0 to 4294.967295"),
    ("mode", "gratuitous", '"gratuitous"', 'one of "request", "reply", "both"'),
    ("mode", 1, "1", 'one of "request", "reply", "both"'),
    ("announce_on_start", "yes", '"yes"', "true or false"),
    ("announce_on_start", 1, "1", "true or false"),
]


@pytest.mark.parametrize(("key", "value", "shown", "accepted"), RANGE_CASES)
def test_announce_range_error_is_one_precise_line(key: str, value: object, shown: str,
                                                  accepted: str) -> None:
    """A bad [announce] value gives one line: file, key path, value, what is accepted."""
    lines = errors_of({"announce": {key: value}})
    assert len(lines) == 1
    assert lines[0].startswith(f"{SRC}: announce.{key} = {shown}: must be {accepted}")


@pytest.mark.parametrize(("key", "value", "shown", "accepted"), RANGE_CASES)
def test_group_override_range_error_is_one_precise_line(key: str, value: object, shown: str,
                                                        accepted: str) -> None:
    """The same value as a group override names group[i].key."""
    lines = errors_of({"group": [group(name="A"), group(name="B", interface="eth1",
                                                        **{key: value})]})
    assert len(lines) == 1
    assert lines[0].startswith(f"{SRC}: group[1].{key} = {shown}: must be {accepted}")


def test_brief_example_line() -> None:
    """The canonical example: group[0].master_repeat = 0 says it must be an integer >= 1."""
    assert errors_of({"group": [group(master_repeat=0)]}) == [
        f"{SRC}: group[0].master_repeat = 0: must be an integer >= 1 (at most 10000)",
    ]


@pytest.mark.parametrize(("section", "key", "value", "line"), [
    ("log", "format", "text", 'log.format = "text": must be one of "json", "console"'),
    ("log", "level", "trace",
     'log.level = "trace": must be one of "debug", "info", "warning", "error"'),
    ("log", "level", 20, 'log.level = 20: must be one of "debug", "info", "warning", "error"'),
    ("control", "socket", "run/garpd.sock",
     'control.socket = "run/garpd.sock": must be an absolute path of at most 107 bytes'),
    ("control", "socket", "/" + "s" * 107,
     f'control.socket = "/{"s" * 75}...: must be an absolute path of at most 107 bytes'),
    ("control", "socket", 5,
     "control.socket = 5: must be an absolute path of at most 107 bytes"),
    ("keepalived", "notify_fifo", "fifo",
     'keepalived.notify_fifo = "fifo": must be an absolute path'),
    ("keepalived", "config", "", 'keepalived.config = "": must be an absolute path'),
    ("keepalived", "config", False, "keepalived.config = false: must be an absolute path"),
])
def test_other_sections_range_errors(section: str, key: str, value: object, line: str) -> None:
    """[log], [control] and [keepalived] values out of range give one precise line."""
    assert errors_of({section: {key: value}}) == [f"{SRC}: {line}"]


@pytest.mark.parametrize(("key", "value", "says"), [
    ("name", "", "must be a non-empty string"),
    ("name", "  ", "must be a non-empty string"),
    ("name", "VI\n1", "must not contain control characters"),
    ("name", 1, "must be a non-empty string"),
    ("interface", "", "must be an interface name of 1 to 15 bytes"),
    ("interface", "a" * 16, "must be an interface name of 1 to 15 bytes"),
    ("interface", "eth/0", "without '/', ':' or whitespace"),
    ("interface", "eth 0", "without '/', ':' or whitespace"),
    ("interface", "eth0:1", "without '/', ':' or whitespace"),
    ("interface", "..", "must be an interface name"),
    ("sync_group", "", "must be a non-empty string"),
    ("priority", 0, "must be an integer from 1 to 255"),
    ("priority", 256, "must be an integer from 1 to 255"),
    ("vrid", 0, "must be an integer from 1 to 255"),
    ("vrid", 300, "must be an integer from 1 to 255"),
    ("addresses", "192.0.2.1", "must be a list of IPv4/IPv6 addresses"),
    ("networks", "198.51.100.0/24", "must be a list of networks in CIDR form"),
])
def test_group_field_errors(key: str, value: object, says: str) -> None:
    """Bad group fields give one line naming group[0].key, the value and the rule."""
    lines = errors_of({"group": [group(**{key: value})]})
    assert len(lines) == 1
    assert lines[0].startswith(f"{SRC}: group[0].{key} = ")
    assert says in lines[0]


def test_interface_name_of_fifteen_bytes_accepted() -> None:
    """IFNAMSIZ allows 15 bytes: a 15-character name is fine."""
    assert parse_config({"group": [group(interface="a" * 15)]}, SRC).groups[0].interface == "a" * 15


@pytest.mark.parametrize(("text", "says"), [
    ("192.0.2.300", "must be an IPv4 or IPv6 unicast address"),
    ("192.0.2.1/33", "the /len suffix must be 0..32"),
    ("2001:db8::1/129", "the /len suffix must be 0..128"),
    ("192.0.2.1/x", "the /len suffix must be 0..32"),
    ("fe80::1%eth0", "a %zone suffix is not accepted"),
    ("224.0.0.18", "must be an IPv4 or IPv6 unicast address"),
    ("0.0.0.0", "must be an IPv4 or IPv6 unicast address"),  # noqa: S104 - an address, no bind
    ("", "must be an IPv4 or IPv6 unicast address"),
])
def test_bad_addresses(text: str, says: str) -> None:
    """A bad address names its index in the list, its text and the rule."""
    lines = errors_of({"group": [group(addresses=["192.0.2.1", text])]})
    assert len(lines) == 1
    assert lines[0].startswith(f'{SRC}: group[0].addresses[1] = "{text}": ')
    assert says in lines[0]


@pytest.mark.parametrize(("text", "says"), [
    ("198.51.100.7/24", "has host bits set; did you mean 198.51.100.0/24?"),
    ("198.51.100.0", "must be a network in CIDR form"),
    ("198.51.100.0/33", "must be a network in CIDR form"),
    ("ff02::/16", "a multicast network is not accepted"),
])
def test_bad_networks(text: str, says: str) -> None:
    """A bad network says what is wrong, with a hint for host bits."""
    lines = errors_of({"group": [group(networks=[text])]})
    assert lines == [f'{SRC}: group[0].networks[0] = "{text}": {lines[0].split(": ", 2)[2]}']
    assert says in lines[0]


def test_several_errors_give_several_lines() -> None:
    """Every problem gets its own line, in file order."""
    lines = errors_of({"announce": {"master_repeat": 0, "interval": -1},
                       "group": [{"name": "x"}]})
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == [
        "announce.master_repeat", "announce.interval", "group[0].interface",
    ]
    assert lines[2] == (f"{SRC}: group[0].interface: missing; must be an interface name of "
                        "1 to 15 bytes without '/', ':' or whitespace")


# --- booleans, unknown keys, structure --------------------------------------------------


@pytest.mark.parametrize(("where", "key"), [
    ("announce", "master_repeat"), ("announce", "master_delay"), ("announce", "interval"),
    ("announce", "lower_prio_repeat"), ("group", "priority"), ("group", "vrid"),
    ("group", "master_refresh_repeat"),
])
def test_booleans_are_not_numbers(where: str, key: str) -> None:
    """``master_repeat = true`` is an error, not 1."""
    data: dict[str, Any] = ({"announce": {key: True}} if where == "announce"
                            else {"group": [group(**{key: True})]})
    lines = errors_of(data)
    assert len(lines) == 1
    assert f".{key} = true: must be " in lines[0]


@pytest.mark.parametrize(("data", "line"), [
    ({"anounce": {}}, "anounce = {  }: unknown key; did you mean announce?"),
    ({"announce": {"master_repeats": 3}},
     "announce.master_repeats = 3: unknown key; did you mean master_repeat?"),
    ({"log": {"colour": True}}, "log.colour = true: unknown key; accepted: format, level"),
    ({"control": {"path": "/x"}}, 'control.path = "/x": unknown key; accepted: socket'),
    ({"keepalived": {"fifo": "/x"}},
     'keepalived.fifo = "/x": unknown key; accepted: notify_fifo, config, config_id, '
     'allow_no_groups'),
    ({"group": [group(adresses=["192.0.2.1"])]},
     'group[0].adresses = ["192.0.2.1"]: unknown key; did you mean addresses?'),
    ({"\n": 1},
     '"\\n" = 1: unknown key; accepted: announce, log, control, metrics, keepalived, group'),
    ({"groups": []}, "groups = []: unknown key; did you mean group?"),
])
def test_unknown_keys_rejected_in_every_section(data: dict[str, Any], line: str) -> None:
    """Unknown keys are errors at the top, in every section and in a group."""
    assert errors_of(data) == [f"{SRC}: {line}"]


@pytest.mark.parametrize(("data", "line"), [
    ({"group": group()}, 'group = { name = "VI_1", interface = "eth0", addresses = '
                         '["192.0.2.100"] }: must be an array of tables: write [[group]], '
                         "not [group]"),
    ({"group": [1]}, "group[0] = 1: must be a table ([[group]])"),
    ({"announce": 5}, "announce = 5: must be a table ([announce])"),
    ({"log": "json"}, 'log = "json": must be a table ([log])'),
])
def test_wrong_structure(data: dict[str, Any], line: str) -> None:
    """A table where an array of tables belongs (and the like) is named precisely."""
    assert errors_of(data) == [f"{SRC}: {line}"]


def test_group_needs_addresses_or_networks() -> None:
    """A group with neither addresses nor networks is an error naming the group."""
    assert errors_of({"group": [group(addresses=[], networks=[])]}) == [
        f"{SRC}: group[0]: must have addresses or networks (it has neither)",
    ]
    assert errors_of({"group": [{"name": "a", "interface": "eth0"}]}) == [
        f"{SRC}: group[0]: must have addresses or networks (it has neither)",
    ]


def test_len_suffix_accepted_and_ignored() -> None:
    """``192.0.2.100/24`` is the address 192.0.2.100, and the policy matches it."""
    config = parse_config({"group": [group(addresses=["192.0.2.100/24", "2001:db8::100/64"])]},
                          SRC)
    assert config.groups[0].addresses == (V4, V6)
    assert ConfigPolicy(config).watch("eth0", V4) is not None


# --- duplicates -------------------------------------------------------------------------


def test_duplicate_group_names_rejected() -> None:
    """Two groups with the same name are an error naming both."""
    lines = errors_of({"group": [group(), group(interface="eth1", addresses=["192.0.2.7"])]})
    assert lines == [f'{SRC}: group[1].name = "VI_1": duplicate; group[0] has the same name']


def test_duplicate_address_on_one_interface_rejected() -> None:
    """An address listed by two groups on one interface (or twice in one) is an error."""
    lines = errors_of({"group": [group(), group(name="VI_2", addresses=["192.0.2.100/24"])]})
    assert lines == [f'{SRC}: group[1].addresses[0] = "192.0.2.100": already in group[0] '
                     "(VI_1) on eth0"]
    lines = errors_of({"group": [group(addresses=["192.0.2.1", "192.0.2.1/32"])]})
    assert lines == [f'{SRC}: group[0].addresses[1] = "192.0.2.1": listed twice in this group']


def test_same_address_on_two_interfaces_allowed() -> None:
    """The same address on different interfaces belongs to different groups."""
    config = parse_config({"group": [group(), group(name="VI_2", interface="eth1")]}, SRC)
    assert len(config.groups) == 2


# --- files ------------------------------------------------------------------------------


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error names the file, line and column."""
    path = tmp_path / "garpd.toml"
    path.write_text("[announce]\nmaster_delay = 5\nmaster_repeat 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [
        f"{path}: line 3, column 15: invalid TOML: "
        "Expected '=' after a key in a key/value pair",
    ]


@pytest.mark.parametrize("value", ["[" * 1000 + "]" * 1000, "{a=" * 1000 + "1" + "}" * 1000])
def test_deeply_nested_toml_is_a_config_error(tmp_path: Path, value: str) -> None:
    """Python 3.11's tomllib recurses once per nested array or inline table and raises
    RecursionError (seen while writing fuzz/toml.py): one clean line, never a traceback."""
    path = tmp_path / "garpd.toml"
    path.write_text(f"watch = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [
        f"{path}: invalid TOML: arrays or inline tables nested too deep"]


def test_duplicate_toml_key_is_a_syntax_error(tmp_path: Path) -> None:
    """A key given twice is rejected by TOML itself, with its position."""
    path = tmp_path / "garpd.toml"
    path.write_text("[announce]\nmaster_delay = 5\nmaster_delay = 6\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines[0].startswith(f"{path}: line 3, column ")


def test_value_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    """Errors from load_config start with the file's path."""
    path = tmp_path / "garpd.toml"
    path.write_text("[[group]]\nname = 'VI_1'\ninterface = 'eth0'\naddresses = ['192.0.2.1']\n"
                    "master_repeat = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [
        f"{path}: group[0].master_repeat = 0: must be an integer >= 1 (at most 10000)",
    ]


def test_missing_file_with_c_is_an_error(tmp_path: Path) -> None:
    """``-c FILE`` requires FILE to exist: a one-line error, no fallback."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        resolve(path)
    assert caught.value.lines == [f"{path}: no such file"]


def test_directory_is_a_clear_error(tmp_path: Path) -> None:
    """A directory given as the file is a one-line error."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.lines == [f"{tmp_path}: is a directory, not a configuration file"]


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    """A FIFO is not read (that would block): a one-line error."""
    path = tmp_path / "fifo"
    os.mkfifo(path)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [f"{path}: not a regular file"]


_LOAD_AS_CHILD = """
import json, sys
from pathlib import Path
from garpd.config import ConfigError, load_config
try:
    load_config(Path(sys.argv[1]))
except ConfigError as exc:
    print(json.dumps(exc.lines))
else:
    print("null")
"""


def test_unreadable_file_is_a_clear_error() -> None:
    """A file garpd may not read is a one-line error (read by an unprivileged user: root
    reads any file, so as root the reader drops to nobody with setpriv)."""
    with shared_directory() as directory:
        path = directory / "garpd.toml"
        path.write_text("")
        path.chmod(0)
        lines = run_python_unprivileged(_LOAD_AS_CHILD, str(path))
    assert lines == [f"{path}: permission denied"]


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with their offset."""
    path = tmp_path / "garpd.toml"
    path.write_bytes(b"[log]\nlevel = '\xff'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [f"{path}: not UTF-8 text (bad byte at offset 15)"]


def test_builtin_default_without_file(tmp_path: Path) -> None:
    """No -c and no default file: the built-in default, which skips addresses held at start."""
    config, source = resolve(None, default_path=tmp_path / "absent.toml")
    assert source == BUILTIN_SOURCE
    assert config.is_builtin
    assert config.groups == ()
    eff = config.effective()
    assert eff.timing == Timing(announce_on_start=False)
    assert eff.sources["announce_on_start"] == "builtin"
    assert ConfigPolicy(config).interfaces() is None


def test_file_without_groups_announces_on_start(tmp_path: Path) -> None:
    """A file with no [[group]] watches everything, and announce_on_start defaults to true."""
    path = tmp_path / "garpd.toml"
    path.write_text("[announce]\nmaster_repeat = 2\n")
    config, source = resolve(None, default_path=path)
    assert source == str(path)
    assert not config.is_builtin
    assert config.effective().timing == Timing(master_repeat=2, lower_prio_repeat=2)
    policy = ConfigPolicy(config)
    assert policy.watch("anything0", V6) == Watch("default", config.effective().timing)
    assert resolve(path)[0] == config


def test_default_path_is_etc() -> None:
    """The default configuration path is /etc/garpd/garpd.toml."""
    assert Path("/etc/garpd/garpd.toml") == DEFAULT_PATH


def test_loads_config_names_its_source() -> None:
    """loads_config parses text and uses the given source in its lines."""
    with pytest.raises(ConfigError) as caught:
        loads_config("[log]\nlevel = 'loud'\n", "<stdin>")
    assert caught.value.lines[0].startswith('<stdin>: log.level = "loud": must be one of')
    assert str(caught.value) == caught.value.lines[0]


def test_example_config_loads() -> None:
    """config/garpd.toml loads cleanly and has the two documented groups."""
    config = load_config(EXAMPLE)
    names = [g.name for g in config.groups]
    assert names == ["VI_1", "VI_2"]
    vi1, vi2 = config.groups
    assert (vi1.interface, vi1.vrid, vi1.addresses) == ("eth0", 51, (V4, V6))
    assert vi2.networks
    assert config.effective(vi1).timing.master_repeat == 3
    doc_ranges = [ipaddress.ip_network(n) for n in
                  ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    for g in config.groups:
        for a in g.addresses:
            assert any(a in n for n in doc_ranges)
        for net in g.networks:
            assert any(net.network_address in n and net.prefixlen >= n.prefixlen
                       for n in doc_ranges)


def test_example_config_documents_every_key() -> None:
    """Every [announce] key appears in the example, with a comment on its line."""
    text = EXAMPLE.read_text()
    for key in ANNOUNCE_KEYS:
        line = next(ln for ln in text.splitlines() if ln.lstrip("# ").startswith(f"{key} ="))
        assert "#" in line.split("=", 1)[1], key


# --- policy -----------------------------------------------------------------------------


def policy_of(*groups: dict[str, object], **announce: object) -> ConfigPolicy:
    """A ConfigPolicy of these groups and [announce] keys."""
    return ConfigPolicy(parse_config({"announce": announce, "group": list(groups)}, SRC))


def test_watch_first_matching_group_by_interface_and_address() -> None:
    """watch() returns the first group on that interface holding the address."""
    policy = policy_of(
        group(name="A", addresses=["192.0.2.100"], master_repeat=2),
        group(name="B", addresses=[], networks=["192.0.2.0/24", "2001:db8::/64"]),
        group(name="C", interface="eth1", addresses=["192.0.2.100"]),
    )
    a, b, c = policy.config.groups
    assert policy.watch("eth0", V4) == Watch("A", policy.config.effective(a).timing)
    assert policy.watch("eth0", ipaddress.ip_address("192.0.2.5")) == Watch(
        "B", policy.config.effective(b).timing)
    assert policy.watch("eth0", V6) is not None
    assert policy.watch("eth0", V6).group == "B"  # type: ignore[union-attr]
    assert policy.watch("eth1", V4) == Watch("C", policy.config.effective(c).timing)
    assert policy.watch("eth1", ipaddress.ip_address("192.0.2.5")) is None
    assert policy.watch("eth2", V4) is None
    assert policy.watch("eth0", ipaddress.ip_address("198.51.100.1")) is None


def test_watch_without_groups_watches_everything() -> None:
    """With no groups every address on every interface is watched as "default"."""
    policy = ConfigPolicy(parse_config({"announce": {"master_delay": 1}}, SRC))
    expected = Watch("default", Timing(master_delay=1.0, lower_prio_delay=1.0))
    assert policy.watch("eth0", V4) == expected
    assert policy.watch("bond0.100", V6) == expected
    assert policy.interfaces() is None


def test_pacing_takes_the_largest_per_interface() -> None:
    """Groups sharing an interface share its spacing: the strictest (largest) wins."""
    policy = policy_of(
        group(name="A", interval=0.1, na_interval=0.3),
        group(name="B", addresses=["192.0.2.7"], interval=0.2),
        group(name="C", interface="eth1", addresses=["192.0.2.8"]),
        interval=0.05, na_interval=0.01,
    )
    assert policy.pacing("eth0") == (0.2, 0.3)
    assert policy.pacing("eth1") == (0.05, 0.01)
    assert policy.pacing("eth9") == (0.05, 0.01)
    assert policy.interfaces() == frozenset({"eth0", "eth1"})


def test_groups_named_matches_name_or_sync_group() -> None:
    """groups_named finds groups by instance name or by sync_group, optionally by kind."""
    policy = policy_of(
        group(name="VI_1", sync_group="VG_1"),
        group(name="VI_2", addresses=["192.0.2.7"], sync_group="VG_1"),
        group(name="VG_1", interface="eth1"),
    )
    assert [g.name for g in policy.groups_named("VI_2")] == ["VI_2"]
    assert [g.name for g in policy.groups_named("VG_1")] == ["VI_1", "VI_2", "VG_1"]
    assert [g.name for g in policy.groups_named("VG_1", "GROUP")] == ["VI_1", "VI_2"]
    assert [g.name for g in policy.groups_named("VG_1", "INSTANCE")] == ["VG_1"]
    assert policy.groups_named("nope") == []


def test_models_are_frozen() -> None:
    """A loaded configuration cannot be changed by accident."""
    config = parse_config({}, SRC)
    with pytest.raises(ValueError, match="frozen"):
        config.announce.master_repeat = 3


# --- fuzzing ----------------------------------------------------------------------------

_KNOWN = sorted({*ANNOUNCE_KEYS, "format", "level", "socket", "notify_fifo", "config", "name",
                 "interface", "addresses", "networks", "sync_group", "priority", "vrid"})
_keys = st.sampled_from(_KNOWN) | st.text(max_size=8)
_scalars = (
    st.booleans() | st.integers() | st.integers(min_value=-2, max_value=300)
    | st.floats() | st.text(max_size=12)
    | st.sampled_from(["192.0.2.1", "192.0.2.1/24", "2001:db8::1", "198.51.100.0/24",
                       "eth0", "/run/x.sock", "request", "json", "info", "fe80::1%1"])
    | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
    | st.none()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
_table = st.dictionaries(_keys, _values, max_size=6)
_group_table = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(("name", "interface", "addresses", "networks"), _values)
    | dict.fromkeys(("priority", "vrid", "master_repeat", "interval", "mode"), _scalars),
)
_documents = st.dictionaries(
    st.sampled_from(["announce", "log", "control", "keepalived", "group"]) | st.text(max_size=6),
    _table | st.lists(_group_table | _table, max_size=3) | _values,
    max_size=5,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_documents)
def test_random_documents_raise_only_config_error(data: dict[str, Any]) -> None:
    """Random TOML-ish dicts either validate or raise ConfigError with clean lines."""
    error: ConfigError | None = None
    try:
        config = parse_config(data, "fuzz.toml")
    except ConfigError as exc:
        error = exc
    if error is not None:
        assert error.lines
        for line in error.lines:
            assert line.startswith("fuzz.toml: ")
            assert "pydantic" not in line
            assert "Traceback" not in line
            assert "\n" not in line
        return
    assert isinstance(config, Config)
    for g in (None, *config.groups):
        config.effective(g)


def test_datetime_value_is_shown_in_toml_form() -> None:
    """TOML date-times as values are shown as written."""
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert errors_of({"announce": {"master_delay": when}}) == [
        f"{SRC}: announce.master_delay = 2024-01-02T03:04:05+00:00: must be a number of "
        "seconds from 0 to 4294 (0 = no second burst)",
    ]


def test_file_mode_does_not_matter_for_reading(tmp_path: Path) -> None:
    """A read-only file (0400) is read fine."""
    path = tmp_path / "garpd.toml"
    path.write_text("")
    path.chmod(stat.S_IRUSR)
    assert load_config(path) == parse_config({}, str(path))
