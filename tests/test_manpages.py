"""The manual pages garpd(8) and garpd.toml(5) against the code and the README.

The pages are hand-written roff (man/); these tests keep them from drifting: every command
and option of the argparse tree (garpd/argv.py) is in garpd(8) and in README.md's
"Commands" table, and nothing else is; every key of every configuration section (the
pydantic models in garpd/config.py) is in garpd.toml(5) and in the annotated example
config/garpd.toml, and nothing else is. A change to one without the others fails here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from garpd import config
from garpd.argv import build_parser

ROOT = Path(__file__).resolve().parent.parent
MAN8 = ROOT / "man" / "garpd.8"
MAN5 = ROOT / "man" / "garpd.toml.5"
README = ROOT / "README.md"
EXAMPLE = ROOT / "config" / "garpd.toml"
GLOBAL = {"--log-format", "--log-level"}  # accepted by every command, listed once
OPTION_RE = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def unroff(text: str) -> str:
    """Roff escapes and font changes removed: what a reader sees."""
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\(em", "-").replace('"', "")


def roff_sections(path: Path, macro: str) -> dict[str, list[str]]:
    """The lines of a page grouped under each `.SH`/`.SS` heading (`macro`), unroffed."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith((".SH ", ".SS ")):
            current = None
            if line.startswith(macro + " "):
                current = sections.setdefault(unroff(line[4:]).strip(), [])
            continue
        if current is not None:
            current.append(line)
    return sections


def tagged_items(lines: list[str]) -> list[str]:
    """The tag lines of the `.TP` items (the line after each `.TP`), unroffed."""
    return [unroff(re.sub(r"^\.(B|BR|I|IR) ", "", lines[i + 1]))
            for i, line in enumerate(lines[:-1]) if line == ".TP"]


def parser_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser, without --help and the options every command has."""
    return {opt for action in parser._actions for opt in action.option_strings
            if opt not in {"-h", "--help"}} - GLOBAL


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers by name."""
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands")


def man_commands() -> dict[str, tuple[str, list[str]]]:
    """garpd(8)'s commands: name -> (the synopsis heading, the section's lines)."""
    out = {}
    for heading, lines in roff_sections(MAN8, ".SS").items():
        words = heading.split()
        assert words[0] == "garpd", heading
        out[words[1]] = (heading, lines)
    return out


def readme_commands() -> dict[str, str]:
    """README.md's "Commands" table: name -> the synopsis cell."""
    text = README.read_text(encoding="utf-8")
    table = text.split("\n## Commands\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines():
        match = re.match(r"\| `garpd (\w+)(.*?)` \|", line)
        if match:
            rows[match.group(1)] = match.group(2).replace("\\|", "|")
    return rows


def test_every_command_is_in_the_parser_the_man_page_and_the_readme() -> None:
    """garpd(8), README.md's table and the argparse tree name the same commands."""
    assert set(man_commands()) == set(subcommands())
    assert set(readme_commands()) == set(subcommands())


def synopsis_options(parser: argparse.ArgumentParser, text: str) -> list[frozenset[str]]:
    """The options a synopsis names, each as its action's option strings (a synopsis names
    `-c` for `-c, --config`); an option the parser does not know stays on its own."""
    by_string = {opt: frozenset(action.option_strings) for action in parser._actions
                 for opt in action.option_strings}
    return [by_string.get(opt, frozenset({opt})) for opt in OPTION_RE.findall(text)]


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_of_a_command_is_documented_everywhere(name: str) -> None:
    """A command's options are the same in argparse, its man synopsis, its man items and
    its README row."""
    parser = subcommands()[name]
    expected = parser_options(parser)
    actions = {frozenset(a.option_strings) for a in parser._actions
               if a.option_strings and not set(a.option_strings) & (GLOBAL | {"--help"})}
    heading, lines = man_commands()[name]
    assert sorted(synopsis_options(parser, heading), key=sorted) == sorted(actions, key=sorted)
    items = {opt for tag in tagged_items(lines) for opt in OPTION_RE.findall(tag)}
    assert items == expected
    readme = synopsis_options(parser, readme_commands()[name])
    assert sorted(readme, key=sorted) == sorted(actions, key=sorted)


def test_global_options_are_documented() -> None:
    """garpd(8)'s GLOBAL OPTIONS are the top-level parser's options; README names them."""
    top = {opt for action in build_parser()._actions
           for opt in action.option_strings if opt not in {"-h", "--help"}}
    lines = roff_sections(MAN8, ".SH")["GLOBAL OPTIONS"]
    assert {OPTION_RE.findall(tag)[0] for tag in tagged_items(lines)} == top
    readme = README.read_text(encoding="utf-8")
    for option in GLOBAL:
        assert f"`{option}" in readme, option


def man_keys() -> dict[str, set[str]]:
    """garpd.toml(5)'s keys by section ("announce", "group", ...)."""
    return {heading.strip("[]"): {tag.split()[0] for tag in tagged_items(lines)}
            for heading, lines in roff_sections(MAN5, ".SS").items()}


def example_keys() -> dict[str, set[str]]:
    """config/garpd.toml's keys by section, commented-out ones included."""
    keys: dict[str, set[str]] = {}
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[\[?(\w+)\]\]?", line)
        if header:
            section = header.group(1)
            keys.setdefault(section, set())
            continue
        key = re.match(r"^#? ?(\w+) = ", line)
        if key and section:
            keys[section].add(key.group(1))
    return keys


def model_keys() -> dict[str, set[str]]:
    """The configuration models' keys by section (a group's own keys, without the
    [announce] keys it may override)."""
    sections = {}
    for name, field in config.Config.model_fields.items():
        model = field.annotation
        if name == "groups":
            model = config.Group
        assert isinstance(model, type), name
        sections[field.alias or name] = set(model.model_fields)
    announce = sections["announce"]
    assert announce <= sections["group"], "a group overrides every [announce] key"
    sections["group"] -= announce
    return sections


def test_every_config_key_is_in_the_models_the_man_page_and_the_example() -> None:
    """garpd.toml(5), the pydantic models and config/garpd.toml have the same sections and
    the same keys in each."""
    models = model_keys()
    assert man_keys() == models
    example = example_keys()
    example["group"] -= models["announce"]  # the example's groups override a few
    assert example == models


def test_readme_names_every_group_key_and_section() -> None:
    """README.md's configuration reference names every [[group]] key and every section."""
    readme = README.read_text(encoding="utf-8")
    models = model_keys()
    for key in models["group"]:
        assert f"`{key}`" in readme, key
    for section in models:
        assert f"[{section}]" in readme or f"[[{section}]]" in readme, section


@pytest.mark.parametrize("page", [MAN8, MAN5], ids=lambda p: p.name)
def test_man_pages_render_without_warnings(page: Path) -> None:
    """man-db renders each page with no roff warning (what lintian checks too)."""
    if shutil.which("man") is None:
        if os.environ.get("GARPD_REQUIRE_LAB") == "1":
            pytest.fail("GARPD_REQUIRE_LAB=1 but man (man-db) is missing")
        pytest.skip("man (man-db) is not installed; scripts/test.sh installs it")
    result = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
                             str(page)], capture_output=True, text=True, check=False,
                            env={"LC_ALL": "C.UTF-8", "MANROFFSEQ": "", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
