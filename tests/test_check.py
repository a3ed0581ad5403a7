"""`garpd check` end to end: the plan, keepalived.conf import, and bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

VECTORS = Path(__file__).resolve().parent / "data" / "vectors"


def check(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run `garpd check` with ``argv``."""
    return subprocess.run([sys.executable, "-m", "garpd", "check", *argv], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=60, check=False)


def test_example_config_checks_clean() -> None:
    """The annotated example passes and prints a timeline per group."""
    out = check("-c", str(REPO_ROOT / "config" / "garpd.toml"))
    assert out.returncode == 0, out.stderr
    assert 'group "VI_1"' in out.stdout
    assert "t=0.000s master x3" in out.stdout
    assert out.stderr == ""


def test_keepalived_import_is_shown_and_toml_wins(tmp_path: Path) -> None:
    """Groups come from keepalived.conf, the TOML overrides per key, the ignored line is named."""
    conf = tmp_path / "garpd.toml"
    conf.write_text(f'[keepalived]\nconfig = "{VECTORS / "keepalived-a.conf"}"\n'
                    '[[group]]\nname = "V2_4"\ninterface = "eth0"\n'
                    'addresses = ["192.0.2.100"]\nmaster_repeat = 4\n')
    out = check("-c", str(conf))
    assert out.returncode == 0, out.stderr
    assert "imported from keepalived.conf:" in out.stdout
    for name, vrid in (("V2_4", 51), ("V3_4", 52), ("V3_6", 53)):
        assert f"group {name} (eth0, vrid {vrid})" in out.stdout
    assert "192.0.2.101/24 after 192.0.2.100/24 is ignored" in out.stdout
    v24 = out.stdout.split('group "V2_4"')[1].split("group ")[0]
    assert "master_repeat         = 4" in v24
    assert "t=0.000s master x4" in v24
    doc = json.loads(check("-c", str(conf), "--json").stdout)
    assert doc["keepalived_import"]["groups"] == ["V2_4", "V3_4", "V3_6"]
    assert len(doc["keepalived_import"]["not_understood"]) == 1


def test_missing_keepalived_conf_is_a_config_error(tmp_path: Path) -> None:
    """A [keepalived] config that does not exist: exit 2, one line naming it."""
    conf = tmp_path / "garpd.toml"
    conf.write_text(f'[keepalived]\nconfig = "{tmp_path / "nope.conf"}"\n')
    out = check("-c", str(conf))
    assert out.returncode == 2
    assert "keepalived.config" in out.stderr
    assert "nope.conf" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_bad_value_names_file_key_value_and_rule(tmp_path: Path) -> None:
    """master_repeat = 0: exit 2 with file, key, value and what is accepted."""
    conf = tmp_path / "garpd.toml"
    conf.write_text("[announce]\nmaster_repeat = 0\n")
    out = check("-c", str(conf))
    assert out.returncode == 2
    line = out.stderr.strip()
    assert str(conf) in line
    assert "announce.master_repeat = 0" in line
    assert ">= 1" in line
