"""garpd.config exactly where the other tests match fragments: an error about a value
imported from keepalived.conf names the file and line it came from, counted after the
TOML's own groups; a TOML group's error is not blamed on keepalived.conf."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from garpd.config import (
    BUILTIN_SOURCE,
    BULK_GROUPS,
    MAX_FILE_SIZE,
    MAX_SOCKET_PATH,
    ConfigError,
    ConfigPolicy,
    _error_lines,
    _Memo,
    listen_address,
    load_config,
    loads_config,
    resolve,
    toml_value,
)
from tests.privileges import in_child_as_nobody

INSTANCE = ("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
            "    garp_master_repeat 100000\n    virtual_ipaddress {\n        192.0.2.100/24\n"
            "    }\n}\n")


def errors(toml: str) -> list[str]:
    """The lines of the ConfigError ``toml`` (read as g.toml) raises."""
    with pytest.raises(ConfigError) as caught:
        loads_config(toml, "g.toml")
    return caught.value.lines


def test_imported_value_is_blamed_on_its_line(tmp_path: Path) -> None:
    """With no TOML group, the imported group is group[0] and its bad key names k.conf:4."""
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE)
    assert errors(f'[keepalived]\nconfig = "{conf}"\n') == [
        "g.toml: group[0].master_repeat = 100000: must be an integer >= 1 (at most 10000) "
        f"(imported from {conf}:4)"]


def test_toml_groups_come_first(tmp_path: Path) -> None:
    """One TOML group before it: the imported group is group[1]; the TOML's own error is
    left as it is."""
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE)
    toml = (f'[keepalived]\nconfig = "{conf}"\n[[group]]\nname = "T"\ninterface = "eth1"\n'
            'addresses = ["198.51.100.1"]\nmaster_repeat = -1\n')
    assert errors(toml) == [
        "g.toml: group[0].master_repeat = -1: must be an integer >= 1 (at most 10000)",
        "g.toml: group[1].master_repeat = 100000: must be an integer >= 1 (at most 10000) "
        f"(imported from {conf}:4)"]


LISTEN_ERROR = ('must be a loopback address and port, "127.0.0.1:PORT" or "[::1]:PORT", '
                'or "" (off)')


@pytest.mark.parametrize(("value", "shown"), [("5", "5"), ('"127.0.0.1:0"', '"127.0.0.1:0"')])
def test_listen_errors_exactly(value: str, shown: str) -> None:
    """A wrong type and a wrong value of [metrics] listen: the same full message."""
    assert errors(f"[metrics]\nlisten = {value}\n") == [
        f"g.toml: metrics.listen = {shown}: {LISTEN_ERROR}"]


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:1", ("127.0.0.1", 1)),
    ("127.0.0.1:65535", ("127.0.0.1", 65535)),
    ("[::1]:9100", ("::1", 9100)),
    ("127.0.0.1:65536", None),
    ("127.0.0.1:0", None),
    ("127.0.0.1:abc", None),
    ("9100", None),
    ("x::1]:9100", None),   # a closing bracket without the opening one
    ("[127.0.0.1]:9100", None),
    ("::1:9100", None),
    ("192.0.2.1:9100", None),
])
def test_listen_address_exactly(text: str, expected: tuple[str, int] | None) -> None:
    """listen_address: loopback host and port 1..65535, IPv6 only in brackets."""
    assert listen_address(text) == expected


def test_effective_gateways_as_shown() -> None:
    """Effective.value("gateways"): the addresses as strings, or ["auto"]."""
    config = loads_config('[announce]\ngateways = ["auto"]\n[[group]]\nname = "A"\n'
                          'interface = "eth0"\naddresses = ["192.0.2.1"]\n'
                          'gateways = ["192.0.2.254", "192.0.2.253"]\n', "g.toml")
    assert config.effective(None).value("gateways") == ["auto"]
    assert config.effective(config.groups[0]).value("gateways") == ["192.0.2.254",
                                                                    "192.0.2.253"]


def test_memo_compares_equal_whatever_it_holds() -> None:
    """Two configurations compare equal (and not unequal) whatever each memoised."""
    first, second = loads_config("", "a.toml"), loads_config("", "b.toml")
    first.effective(None)
    assert first == second
    assert not first != second  # noqa: SIM202  # the != operator itself is under test
    assert not _Memo() != _Memo()  # noqa: SIM202
    assert _Memo() != {}


KEEPALIVED_TWO = ("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
                  "    virtual_ipaddress {\n        192.0.2.100/24\n"
                  "        192.0.2.101/24 dev eth1\n    }\n}\n"
                  "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n"
                  "    garp_master_repeat 100000\n    virtual_ipaddress {\n"
                  "        192.0.2.110/24\n    }\n}\n")


def test_later_imported_group_is_blamed_on_its_line(tmp_path: Path) -> None:
    """One TOML group and three imported ones: the third imported one is group[3]."""
    conf = tmp_path / "k.conf"
    conf.write_text(KEEPALIVED_TWO)
    toml = (f'[keepalived]\nconfig = "{conf}"\n[[group]]\nname = "T"\ninterface = "eth1"\n'
            'addresses = ["198.51.100.1"]\n')
    assert errors(toml) == [
        "g.toml: group[3].master_repeat = 100000: must be an integer >= 1 (at most 10000) "
        f"(imported from {conf}:12)"]


def test_groups_named_follows_split_instances(tmp_path: Path) -> None:
    """An instance split by `dev` is every group made from it; a split group by its own
    name is itself; GROUP matches sync groups only."""
    conf = tmp_path / "k.conf"
    conf.write_text(KEEPALIVED_TWO.replace("garp_master_repeat 100000", "priority 100"))
    policy = ConfigPolicy(loads_config(f'[keepalived]\nconfig = "{conf}"\n', "g.toml"))
    assert [g.name for g in policy.groups_named("VI_1")] == ["VI_1", "VI_1@eth1"]
    assert [g.name for g in policy.groups_named("VI_1", "INSTANCE")] == ["VI_1", "VI_1@eth1"]
    assert [g.name for g in policy.groups_named("VI_1@eth1")] == ["VI_1@eth1"]
    assert policy.groups_named("VI_1", "GROUP") == []
    assert policy.groups_named("nothing") == []


def test_load_config_and_resolve_name_their_source(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """load_config() reads DEFAULT_PATH; resolve names the file it read."""
    path = tmp_path / "garpd.toml"
    path.write_text('[announce]\nmaster_repeat = 7\n')
    monkeypatch.setattr("garpd.config.DEFAULT_PATH", path)
    assert load_config().effective(None).value("master_repeat") == 7
    config, source = resolve(None)
    assert (config.effective(None).value("master_repeat"), source) == (7, str(path))
    other = tmp_path / "other.toml"
    other.write_text('[announce]\nmaster_repeat = 3\n')
    config, source = resolve(other)
    assert (config.effective(None).value("master_repeat"), source) == (3, str(other))
    config, source = resolve(None, default_path=tmp_path / "missing.toml")
    assert (config.is_builtin, source) == (True, BUILTIN_SOURCE)


def test_error_lines_at_the_top_and_in_lists() -> None:
    """An error about the whole document, one at a bare list index, one in a group's list."""
    assert _error_lines([
        {"loc": (), "type": "model_type", "input": 5},
        {"loc": (0,), "type": "int_type", "input": "x"},
        {"loc": ("group", 0, "addresses", 1), "type": "string_type", "input": 5},
    ], {}, "s") == [
        "s: (top level) = 5: must be a table",
        's: [0] = "x": must be a valid value',
        's: group[0].addresses[1] = 5: must be an IPv4 or IPv6 unicast address '
        '(a "/len" suffix is ignored)',
    ]


def test_groups_with_the_same_keys_share_one_fields_set() -> None:
    """Groups setting the same keys share one model_fields_set; each set is still right."""
    config = loads_config(
        '[[group]]\nname = "A"\ninterface = "eth0"\naddresses = ["192.0.2.1"]\n'
        '[[group]]\nname = "B"\ninterface = "eth1"\naddresses = ["192.0.2.2"]\n'
        '[[group]]\nname = "C"\ninterface = "eth2"\nnetworks = ["192.0.2.0/28"]\n'
        'master_repeat = 2\n', "g.toml")
    a, b, c = config.groups
    assert a.model_fields_set == {"name", "interface", "addresses"}
    assert b.model_fields_set is a.model_fields_set
    assert c.model_fields_set == {"name", "interface", "networks", "master_repeat"}


def test_file_size_limit_exactly(tmp_path: Path) -> None:
    """A file of exactly MAX_FILE_SIZE bytes is read to its last byte; one more is refused."""
    tail = b"[announce]\nmaster_repeat = 17"
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" + b"x" * (MAX_FILE_SIZE - len(tail) - 2) + b"\n" + tail)
    assert path.stat().st_size == MAX_FILE_SIZE
    assert load_config(path).effective(None).value("master_repeat") == 17
    path.write_bytes(b"#" * MAX_FILE_SIZE + b"\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines == [f"{path}: too large (1048577 bytes; at most 1048576)"]


def test_cannot_open_names_the_reason(tmp_path: Path) -> None:
    """An open that fails otherwise (a symbolic link loop): the OS's reason, no errno."""
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    with pytest.raises(ConfigError) as caught:
        load_config(loop)
    assert caught.value.lines == [f"{loop}: cannot open: Too many levels of symbolic links"]


def test_permission_denied_exactly() -> None:
    """A file garpd's user cannot read: one line (read in a child as nobody when the tests
    run as root; read once here too, as mutmut maps tests to functions in this process)."""
    base = Path(tempfile.mkdtemp())  # not under pytest's 0700 directory: nobody enters it
    try:
        base.chmod(0o755)
        path = base / "secret.toml"
        path.write_text("")
        path.chmod(0o600 if os.geteuid() == 0 else 0)
        expected = f"{path}: permission denied"
        if os.geteuid() == 0:
            assert load_config(path).is_builtin is False

        def attempt() -> str:
            try:
                load_config(path)
            except ConfigError as exc:
                return "\n".join(exc.lines)
            return "read"

        out = in_child_as_nobody(attempt)
        assert out == expected
    finally:
        shutil.rmtree(base)


NETWORK_ERROR = "must be a network in CIDR form, e.g. 198.51.100.0/24 or 2001:db8:1::/64"


def test_network_errors_exactly() -> None:
    """A network that is not a string, one without a length, one with host bits set."""
    assert errors('[[group]]\nname = "A"\ninterface = "eth0"\n'
                  'networks = [5, "192.0.2.0", "192.0.2.1/24"]\n') == [
        f"g.toml: group[0].networks[0] = 5: {NETWORK_ERROR}",
        f'g.toml: group[0].networks[1] = "192.0.2.0": {NETWORK_ERROR}',
        'g.toml: group[0].networks[2] = "192.0.2.1/24": has host bits set; did you mean '
        '192.0.2.0/24?',
    ]


def test_socket_path_limits_exactly() -> None:
    """A socket path of MAX_SOCKET_PATH bytes is accepted, one byte more or a NUL is not."""
    edge = "/" + "a" * (MAX_SOCKET_PATH - 1)
    config = loads_config(f'[control]\nsocket = "{edge}"\n', "g.toml")
    assert str(config.control.socket) == edge
    too_long = errors(f'[control]\nsocket = "{edge}a"\n')
    assert len(too_long) == 1
    assert too_long[0].endswith(": must be an absolute path of at most 107 bytes")
    assert errors('[control]\nsocket = "/run/a\\u0000b"\n') == [
        'g.toml: control.socket = "/run/a\\u0000b": must be an absolute path of at most 107 '
        "bytes"]


def test_unknown_keys_outside_a_model_and_unicode_keys() -> None:
    """An unknown key where no model is known lists nothing; a non-ASCII key is shown
    quoted as written, not as an escape."""
    assert _error_lines([{"loc": ("x", "y"), "type": "extra_forbidden", "input": 1}], {},
                        "s") == ["s: x.y = 1: unknown key; accepted: "]
    [line] = errors('[announce]\n"clé" = 1\n')
    assert line.startswith('g.toml: announce."clé" = 1: unknown key; accepted: master_delay, ')


GATEWAYS_ERROR = 'must be a list of IP addresses, or ["auto"]'


def test_gateway_errors_and_limit_exactly() -> None:
    """Not a list; a %zone; 64 gateways accepted, 65 refused."""
    assert errors('[announce]\ngateways = "x"\n') == [
        f'g.toml: announce.gateways = "x": {GATEWAYS_ERROR}']
    assert errors('[announce]\ngateways = ["fe80::1%eth0"]\n') == [
        f'g.toml: announce.gateways = ["fe80::1%eth0"]: {GATEWAYS_ERROR}; entry 0 '
        "(fe80::1%eth0): a %zone suffix is not accepted (the group's interface is the zone)"]
    listed = ", ".join(f'"192.0.2.{i}"' for i in range(1, 65))
    config = loads_config(f"[announce]\ngateways = [{listed}]\n", "g.toml")
    assert len(config.effective(None).value("gateways")) == 64  # type: ignore[arg-type]
    [line] = errors(f'[announce]\ngateways = [{listed}, "192.0.2.65"]\n')
    assert line.endswith(f": {GATEWAYS_ERROR}; at most 64 gateways")


@pytest.mark.parametrize(("value", "shown"), [
    ("é", '"é"'),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (Path("/a"), '"/a"'),
    ([1, "a"], '[1, "a"]'),
    (b"x", "b'x'"),
    ("a" * 78, '"' + "a" * 78 + '"'),            # 80 characters: kept whole
    ("a" * 79, '"' + "a" * 76 + "..."),          # 81: cut to 80
])
def test_toml_value_exactly(value: object, shown: str) -> None:
    """Values as TOML writes them (non-ASCII as is), shortened past 80 characters."""
    assert toml_value(value) == shown


def test_toml_value_renders_only_as_far_as_its_limit() -> None:
    """A value nested thousands deep or a million items long is shown as far as the limit
    and no further (the renderer once recursed into all of it: RecursionError)."""
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    assert toml_value(deep) == "[" * 77 + "..."
    assert toml_value(list(range(1_000_000))) == ("[" + ", ".join(map(str, range(27))))[:77] + "..."
    assert toml_value({"a": deep}, limit=10) == "{ a = [..."


class Shown:
    """A value whose rendering is counted (the renderer writes it with ``repr``)."""

    calls = 0

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        Shown.calls += 1
        return self.text


class Walked(list[object]):
    """A list that counts the items the renderer walks."""

    walked = 0

    def __iter__(self) -> Iterator[object]:
        for item in super().__iter__():
            Walked.walked += 1
            yield item


class WalkedTable(dict[str, object]):
    """A table that counts the entries the renderer walks."""

    def items(self) -> Iterator[tuple[str, object]]:  # type: ignore[override]
        for entry in super().items():
            Walked.walked += 1
            yield entry


def _shape(shape: str, items: list[Shown]) -> tuple[object, str, list[int]]:
    """``items`` as a list or a table, flat or each in a one-item list or table: the value,
    its whole rendering, and where each item starts in it."""
    value: list[object] | dict[str, object] = Walked() if shape.startswith("list") \
        else WalkedTable()
    parts, starts = [], []
    pos = 1 if shape.startswith("list") else 2
    for i, item in enumerate(items):
        sep = ", " if i else ""
        head = sep if shape.startswith("list") else f"{sep}k{i} = "
        inner: object = item
        lead, tail = "", ""
        if shape == "list-nested":
            inner, lead, tail = [item], "[", "]"
        elif shape == "table-nested":
            inner, lead, tail = {"v": item}, "{ v = ", " }"
        if isinstance(value, list):
            value.append(inner)
        else:
            value[f"k{i}"] = inner
        starts.append(pos + len(head) + len(lead))
        part = head + lead + item.text + tail
        parts.append(part)
        pos += len(part)
    whole = ("[" + "".join(parts) + "]") if shape.startswith("list") \
        else ("{ " + "".join(parts) + " }")
    return value, whole, starts


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", ["list", "list-nested", "table", "table-nested"])
def test_toml_value_renders_exactly_the_items_that_start_within_the_limit(
        width: int, shape: str) -> None:
    """An item is rendered when it starts within ``limit`` characters of the whole text
    (the rest would be cut anyway) and the walk stops within two items of the last."""
    items = [Shown(chr(97 + i % 26) * width) for i in range(60)]
    value, whole, starts = _shape(shape, items)
    for limit in range(4, 80):
        Shown.calls = Walked.walked = 0
        shown = toml_value(value, limit)
        assert shown == (whole if len(whole) <= limit else whole[:limit - 3] + "...")
        rendered = sum(1 for start in starts if start <= limit)
        assert Shown.calls == rendered, limit
        assert Walked.walked <= rendered + 2, limit


def test_a_deeply_nested_unknown_key_is_one_error_line() -> None:
    """End to end: an unknown key holding arrays nested as deep as tomllib parses here is
    a ConfigError naming it, not a traceback (the fuzzer found ~800 levels that tomllib
    parsed and the error line's renderer could not)."""
    for depth in (700, 500, 300):  # tomllib's own limit depends on the stack it starts on
        text = '[control]\nsocket = "/x"\nx = ' + "[" * depth + "]" * depth + "\n"
        try:
            tomllib.loads(text)
        except RecursionError:
            continue
        break
    with pytest.raises(ConfigError) as caught:
        loads_config(text, "k.toml")
    assert caught.value.lines == [
        "k.toml: control.x = " + "[" * 77 + "...: unknown key; accepted: socket"]


IFNAME_ERROR = "must be an interface name of 1 to 15 bytes without '/', ':' or whitespace"
ADDRESS_ERROR = 'must be an IPv4 or IPv6 unicast address (a "/len" suffix is ignored)'


def group_toml(interface: str, address: str) -> str:
    """One [[group]] with a literal TOML interface and address."""
    return f'[[group]]\nname = "A"\ninterface = {interface}\naddresses = [{address}]\n'


def test_interface_and_address_edges_exactly() -> None:
    """A 15-byte non-ASCII name (the slow path) is read, 16 bytes are not; "." is refused;
    a non-string interface and address give the full messages; an IPv6 /128 is read."""
    config = loads_config(group_toml('"éééééééX"', '"2001:db8::1/128"'), "g.toml")
    assert (config.groups[0].interface, [str(a) for a in config.groups[0].addresses]) == (
        "éééééééX", ["2001:db8::1"])
    assert errors(group_toml('"éééééééXY"', '"192.0.2.1"')) == [
        f'g.toml: group[0].interface = "éééééééXY": {IFNAME_ERROR}']
    assert errors(group_toml('"."', '"192.0.2.1"')) == [
        f'g.toml: group[0].interface = ".": {IFNAME_ERROR}']
    assert errors(group_toml("5", "5")) == [
        f"g.toml: group[0].interface = 5: {IFNAME_ERROR}",
        f"g.toml: group[0].addresses[0] = 5: {ADDRESS_ERROR}"]


def test_more_than_bulk_groups_exactly() -> None:
    """Past BULK_GROUPS tables each group is validated on its own: the errors come in
    pydantic's order (sections, groups, unknown keys), and groups with the same keys share
    one fields set."""
    tables = "".join(f'[[group]]\nname = "G{i}"\ninterface = "eth0"\n'
                     f'addresses = ["198.18.{i // 250}.{i % 250 + 1}"]\n'
                     for i in range(BULK_GROUPS + 1))
    config = loads_config(tables, "g.toml")
    assert len(config.groups) == BULK_GROUPS + 1
    assert config.groups[0].model_fields_set is config.groups[BULK_GROUPS].model_fields_set
    assert config.groups[BULK_GROUPS].name == "G1000"
    bad = tables.replace('name = "G3"\n', 'name = "G3"\nmaster_repeat = 0\n').replace(
        'name = "G500"\n', 'name = "G500"\nmaster_repeat = 0\n')
    assert errors("frob = 1\n[announce]\nmaster_repeat = -1\n" + bad) == [
        "g.toml: announce.master_repeat = -1: must be an integer >= 1 (at most 10000)",
        "g.toml: group[3].master_repeat = 0: must be an integer >= 1 (at most 10000)",
        "g.toml: group[500].master_repeat = 0: must be an integer >= 1 (at most 10000)",
        "g.toml: frob = 1: unknown key; accepted: announce, log, control, metrics, "
        "keepalived, group"]


def test_group_name_errors_exactly() -> None:
    """An empty name and one with a control character: the full messages."""
    assert errors(group_toml('"eth0"', '"192.0.2.1"').replace('"A"', '""')) == [
        'g.toml: group[0].name = "": must be a non-empty string']
    [line] = errors(group_toml('"eth0"', '"192.0.2.1"').replace('"A"', '"a\\u0001"'))
    assert line.endswith(": must not contain control characters")


def test_parsing_leaves_the_garbage_collector_as_it_found_it() -> None:
    """parse_config turns the cyclic collector off while it works, and on again after."""
    assert gc.isenabled()
    loads_config("", "g.toml")
    assert gc.isenabled()
    gc.disable()
    try:
        loads_config("", "g.toml")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_keepalived_errors_name_the_toml(tmp_path: Path) -> None:
    """A keepalived.conf that yields no group: the error names the TOML file and key."""
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n}\n")
    [line, *_] = errors(f'[keepalived]\nconfig = "{conf}"\n')
    assert line.startswith(f"g.toml: keepalived.config: {conf} yields no group")


def test_error_lines_describe_what_is_accepted() -> None:
    """A group that is not a table, an unknown key's wrong type, a missing key."""
    assert _error_lines([
        {"loc": ("group", 0), "type": "model_type", "input": 5},
        {"loc": ("announce", "frob"), "type": "int_type", "input": "x"},
        {"loc": ("group", 0, "interface"), "type": "missing"},
    ], {}, "s") == [
        "s: group[0] = 5: must be a table ([[group]])",
        's: announce.frob = "x": must be a valid value',
        f"s: group[0].interface: missing; {IFNAME_ERROR}",
    ]


def test_keepalived_section_exactly(tmp_path: Path) -> None:
    """No group from keepalived.conf: the error and its first 20 notes; allowed by
    allow_no_groups or by TOML groups; a file that cannot be read; config_id picks the
    @ID lines (a non-string config_id is a validation error, not a crash)."""
    conf = tmp_path / "k.conf"
    conf.write_text("".join(f"frob{i}\n" for i in range(21)))
    lines = errors(f'[keepalived]\nconfig = "{conf}"\n')
    assert lines == [
        f"g.toml: keepalived.config: {conf} yields no group (no vrrp_instance with an "
        "interface, a virtual_router_id and a virtual_ipaddress garpd can use); set "
        "[keepalived] allow_no_groups = true to watch every address on every interface "
        "instead"] + [f"  {conf}:{i + 1}: unknown top-level keyword 'frob{i}' (not one of "
                      "keepalived 2.2's); ignored with its block" for i in range(20)]
    allowed = loads_config(f'[keepalived]\nconfig = "{conf}"\nallow_no_groups = true\n', "g")
    assert allowed.groups == ()
    with_toml = loads_config(f'[keepalived]\nconfig = "{conf}"\n' + group_toml(
        '"eth0"', '"192.0.2.1"'), "g.toml")
    assert [g.name for g in with_toml.groups] == ["A"]
    assert errors(f'[keepalived]\nconfig = "{tmp_path}/none.conf"\n') == [
        f"g.toml: keepalived.config: {tmp_path}/none.conf: no such file"]
    conf.write_text("@x vrrp_instance A {\n@x interface eth0\n@x virtual_router_id 1\n"
                    "@x virtual_ipaddress {\n@x 192.0.2.1\n@x }\n@x }\n$_INSTANCE\n")
    section = f'[keepalived]\nconfig = "{conf}"\nallow_no_groups = true\n'
    picked = loads_config(section + 'config_id = "x"\n', "g.toml")
    assert [g.name for g in picked.groups] == ["A"]
    assert loads_config(section + 'config_id = "y"\n', "g.toml").groups == ()
    assert errors(section + "config_id = 5\n") == [
        "g.toml: keepalived.config_id = 5: must be a non-empty string"]


def test_cross_checks_past_an_auto_group_and_across_interfaces() -> None:
    """A group with "auto" gateways does not stop the gateway check of the next; one
    address on three interfaces is three groups' own, not a duplicate."""
    toml = ('[[group]]\nname = "A"\ninterface = "eth0"\naddresses = ["192.0.2.1"]\n'
            'gateways = ["auto"]\n'
            '[[group]]\nname = "B"\ninterface = "eth1"\naddresses = ["192.0.2.2"]\n'
            'gateways = ["192.0.2.2"]\n')
    assert errors(toml) == ["g.toml: group[1].gateways: 192.0.2.2 is one of the group's own "
                            "addresses; a gateway is another host"]
    same = "".join(f'[[group]]\nname = "G{n}"\ninterface = "eth{n}"\n'
                   'addresses = ["192.0.2.1", "192.0.2.2"]\n' for n in range(3))
    assert [g.interface for g in loads_config(same, "g.toml").groups] == ["eth0", "eth1",
                                                                          "eth2"]
