"""garpd.config exactly where the other tests match fragments: an error about a value
imported from keepalived.conf names the file and line it came from, counted after the
TOML's own groups; a TOML group's error is not blamed on keepalived.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from garpd.config import ConfigError, loads_config

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
