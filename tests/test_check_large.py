"""``garpd check`` on large and heavy configurations: the same plan written group by group,
groups sharing a plan shown once beyond FULL_GROUPS, the simulation budget, bulk validation,
and the keepalived importer's streaming reader and compact origins. (How fast and how small
is measured by hand and recorded in BENCHMARKS.md, never asserted here.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from garpd.config import BULK_GROUPS, ConfigError, loads_config, parse_config
from garpd.keepalived import loads_keepalived
from garpd.plan import (
    FULL_GROUPS,
    PLAN_POLLS,
    build,
    iter_json,
    iter_text,
    render_json,
    render_text,
)
from tests.conftest import REPO_ROOT


def groups(count: int, **keys: object) -> list[dict[str, object]]:
    """``count`` valid groups on two interfaces, one address each, ``keys`` in every one."""
    return [{"name": f"g{i}", "interface": f"eth{i % 2}",
             "addresses": [f"198.18.{i // 256}.{i % 256}"], "vrid": i % 255 + 1, **keys}
            for i in range(count)]


def test_pieces_join_to_the_whole_plan() -> None:
    """iter_text / iter_json give exactly render_text / json.dumps(render_json), small and
    large, with an extra key after the groups (what check adds for an import)."""
    for count in (0, 3, FULL_GROUPS + 5):
        data: dict[str, Any] = {"group": groups(count, master_repeat=2)} if count else {}
        config = parse_config(data, "f.toml")
        for picture in (False, True):
            assert "".join(iter_text(config, "f.toml", picture=picture)) == render_text(
                config, "f.toml", picture=picture)
        extra = {"keepalived_import": {"files": ["/k.conf"], "groups": ["g0"]}}
        whole = {**render_json(config, "f.toml"), **extra}
        assert "".join(iter_json(config, "f.toml", None, extra)) == json.dumps(whole, indent=2)


def test_groups_sharing_a_plan_are_shown_once_beyond_full_groups() -> None:
    """Past FULL_GROUPS, a group whose settings, timelines and notes equal an earlier one's
    shows its own keys and a reference; a group with other settings is shown in full."""
    tables = groups(FULL_GROUPS + 2)
    tables[-1]["master_delay"] = 1.0
    text = render_text(parse_config({"group": tables}, "f"), "f")
    blocks = text.split("\n\n")[1:]
    assert len(blocks) == FULL_GROUPS + 2
    assert "timeline of 198.18.0.0" in blocks[0]
    assert "as group" not in blocks[0]
    assert blocks[1].endswith('as group "g0"')  # another interface, the same plan
    assert blocks[2] == ('group "g2"\n  interface = "eth0"\n  addresses = ["198.18.0.2"]\n'
                         '  vrid      = 3\n  settings, timelines and notes: as group "g0"')
    assert 'master_delay          = 1.0        # overridden by this group' in blocks[-1]
    data = render_json(parse_config({"group": tables}, "f"), "f")
    shared = data["groups"][2]
    assert shared["same_as"] == "g0"
    assert shared["addresses"] == ["198.18.0.2"]
    assert "plans" not in shared
    assert "settings" not in shared
    assert "same_as" not in data["groups"][-1]
    assert data["groups"][-1]["plans"]
    few = render_text(parse_config({"group": groups(FULL_GROUPS)}, "f"), "f")
    assert "as group" not in few
    assert few.count("timeline of") == FULL_GROUPS


def test_distinct_heavy_timings_share_one_simulation_budget() -> None:
    """Many distinct 10000-repeat timings at 1 us: the plan stops simulating when the
    budget is spent and says so, rather than running for minutes."""
    tables = groups(12, master_refresh=1.0, master_refresh_repeat=10000, interval=0.000001)
    for i, table in enumerate(tables):
        table["master_repeat"] = 10000 - i
    plans = build(parse_config({"group": tables}, "f"))
    notes = [t.note or "" for p in plans for a in p.addresses for t in a.timelines]
    assert any(f"budget of {PLAN_POLLS} steps is spent" in n for n in notes)
    assert plans[0].addresses[0].timelines[0].bursts[0].repeats == 10000


def test_effective_settings_are_shared_between_equal_groups() -> None:
    """Groups with the same overrides get the same Effective object; configurations
    compare equal whatever each has memoised."""
    config = parse_config({"group": groups(3, master_repeat=2)}, "f")
    first, second, third = (config.effective(g) for g in config.groups)
    assert first is second is third
    assert first.timing.master_repeat == 2
    again = parse_config({"group": groups(3, master_repeat=2)}, "f")
    assert again == config


def test_bulk_validation_names_the_bad_group_and_shares_fields_sets() -> None:
    """Past BULK_GROUPS, groups are validated one at a time: an error still names
    group[i] and the key; valid groups that set the same keys share one fields set."""
    tables = groups(BULK_GROUPS + 10)
    tables[BULK_GROUPS + 3]["master_repeat"] = 0
    tables[BULK_GROUPS + 4]["interface"] = "a/b"
    with pytest.raises(ConfigError) as caught:
        parse_config({"announce": {"master_delay": -1}, "group": tables, "extra": 1},
                     "f.toml")
    lines = caught.value.lines
    assert len(lines) == 4
    assert lines[3].startswith("f.toml: extra = 1: unknown key")  # last, as pydantic has it
    assert lines[0].startswith("f.toml: announce.master_delay = -1: must be")
    assert lines[1].startswith(f"f.toml: group[{BULK_GROUPS + 3}].master_repeat = 0: must be")
    assert lines[2].startswith(f'f.toml: group[{BULK_GROUPS + 4}].interface = "a/b": must be')
    config = parse_config({"group": groups(BULK_GROUPS + 10)}, "f.toml")
    sets = {id(g.model_fields_set) for g in config.groups}
    assert len(sets) == 1
    assert config.groups[-1].model_fields_set == {"name", "interface", "addresses", "vrid"}


def test_bulk_and_whole_validation_agree() -> None:
    """The same duplicate-address rule whichever way the groups were validated."""
    tables = groups(BULK_GROUPS + 1)
    tables[-1]["addresses"] = ["198.18.0.0", "198.18.0.0"]
    tables[-1]["interface"] = "eth0"
    with pytest.raises(ConfigError) as caught:
        parse_config({"group": tables}, "f")
    assert caught.value.lines == [
        f'f: group[{BULK_GROUPS}].addresses[{j}] = "198.18.0.0": already in group[0] (g0) '
        "on eth0" for j in (0, 1)]
    # The same address on another interface is another claim, not a duplicate.
    tables[-1]["interface"] = "eth1"
    tables[-1]["addresses"] = ["198.18.0.0"]
    assert len(parse_config({"group": tables}, "f").groups) == BULK_GROUPS + 1


def test_streamed_reader_keeps_keepalived_order_and_late_braces() -> None:
    """Top-level statements are imported as they complete: a brace on the line after the
    keyword still opens its block, a sync group may name an instance defined after it, and
    global_defs after an instance does not reach it (keepalived copies at the instance)."""
    text = ("vrrp_sync_group SG\n{\n group {\n  B\n }\n}\n"
            "vrrp_instance A\n{\n interface eth0\n virtual_router_id 1\n"
            " virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
            "global_defs {\n vrrp_garp_master_repeat 2\n}\n"
            "vrrp_instance B { \n interface eth1\n virtual_router_id 2\n"
            " virtual_ipaddress { 192.0.2.2 }\n}\n")
    result = loads_keepalived(text, "/nonexistent/k.conf")
    assert result.unsupported == []
    assert [(g["name"], g["interface"], g.get("sync_group")) for g in result.groups] == [
        ("A", "eth0", None), ("B", "eth1", "SG")]
    assert result.groups[0]["master_repeat"] == 5
    assert "master_repeat" not in result.groups[1]
    assert result.announce == {"master_repeat": 2}


def test_group_origins_are_file_and_line_on_demand(tmp_path: Path) -> None:
    """The compact origins give the same FILE:LINE strings, from includes and from a
    garp_group (kept as text) alike."""
    inner = tmp_path / "inner.conf"
    inner.write_text("vrrp_instance V {\n interface eth0\n virtual_router_id 7\n"
                     " priority 50\n virtual_ipaddress {\n  192.0.2.7\n }\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text(f"garp_group {{\n garp_interval 0.5\n interface eth0\n}}\n"
                    f"include {inner}\n")
    result = loads_keepalived(main.read_text(), str(main))
    origins = result.group_origins["V"]
    assert origins == {"": f"{inner}:1", "addresses": f"{inner}:6", "vrid": f"{inner}:3",
                       "priority": f"{inner}:4", "interface": f"{inner}:2",
                       "interval": f"{main}:1", "na_interval": f"{main}:1"}
    assert list(result.group_origins) == ["V"]
    assert len(result.group_origins) == 1


def test_check_on_a_large_import_exits_zero_with_a_summary(tmp_path: Path) -> None:
    """A 2,000-instance keepalived.conf through the CLI: exit 0, every group listed, the
    plan shown in full once per distinct timing."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text("".join(
        f"vrrp_instance V{i} {{\ninterface eth{i % 2}\nvirtual_router_id {i % 255 + 1}\n"
        f"{'garp_master_delay 2' if i % 10 == 0 else ''}\n"
        f"virtual_ipaddress {{\n198.18.{i // 256}.{i % 256}\n}}\n}}\n" for i in range(2000)))
    toml = tmp_path / "garpd.toml"
    toml.write_text(f'[keepalived]\nconfig = "{conf}"\n')
    out = subprocess.run([sys.executable, "-m", "garpd", "check", "-c", str(toml)],
                         capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\ngroup \"V") == 2000
    assert out.stdout.count("timeline of") == 2  # garp_master_delay 2, and the default
    assert out.stdout.count("  group V") == 2000  # the import summary
    assert 'group "V1999"' in out.stdout
    loads_config(toml.read_text(), str(toml))  # and loads the same way in-process
