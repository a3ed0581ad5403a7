"""The keepalived.conf reader's include machinery exactly: the full messages of a
self-include and of the depth limit, the depth limit's edge (15 nested includes read, 16
refused), the file-count limit's edge, and the total size summed across included files
(each under the per-file limit, together at the limit)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from garpd.keepalived import KeepalivedConfError, load_keepalived, loads_keepalived
from garpd.keepalived.reader import (
    MAX_BRACE_EXPANSIONS,
    MAX_FILE_SIZE,
    MAX_FILES,
    MAX_INCLUDE_DEPTH,
    MAX_NOTE_LENGTH,
    MAX_TOTAL_SIZE,
    LimitError,
    Limits,
    Node,
    Reader,
    ReadError,
    _decomment,
    _expand_braces,
    _lines,
    default_config_id,
    read_bytes,
    sanitize,
    valid_ifname,
)
from tests.privileges import in_child_as_nobody


def chain(tmp_path: Path, depth: int) -> Path:
    """keepalived.conf including f1.conf, which includes f2.conf, ... f``depth``.conf, the
    last holding one instance; returns the main file."""
    for n in range(1, depth):
        (tmp_path / f"f{n}.conf").write_text(f"include f{n + 1}.conf\n")
    (tmp_path / f"f{depth}.conf").write_text(
        "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\n"
        "virtual_ipaddress {\n192.0.2.100/24\n}\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("include f1.conf\n")
    return main


def test_depth_edge(tmp_path: Path) -> None:
    """main + 15 nested includes are read, in order; one more level is refused, exactly."""
    main = chain(tmp_path, MAX_INCLUDE_DEPTH - 1)
    result = load_keepalived(main, config_id="x")
    assert [g["name"] for g in result.groups] == ["VI_1"]
    assert result.files == [str(main)] + [str(tmp_path / f"f{n}.conf") for n in range(1, 16)]
    assert result.unsupported == []

    deeper = tmp_path / "deeper"
    deeper.mkdir()
    main = chain(deeper, MAX_INCLUDE_DEPTH)
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(main, config_id="x")
    assert caught.value.lines == [
        f"{deeper / 'f15.conf'}:1: include {deeper / 'f16.conf'}: includes nested more than "
        "16 deep; keepalived.conf refused"]


def test_self_include_message(tmp_path: Path) -> None:
    """A file including itself (through another) is noted once, exactly, and read once."""
    (tmp_path / "a.conf").write_text("include b.conf\n")
    (tmp_path / "b.conf").write_text("\ninclude a.conf\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("include a.conf\n")
    result = load_keepalived(main, config_id="x")
    assert result.unsupported == [
        f"{tmp_path / 'b.conf'}:2: include {tmp_path / 'a.conf'}: includes itself (directly "
        "or through other files); not read again"]
    assert result.files == [str(main), str(tmp_path / "a.conf"), str(tmp_path / "b.conf")]


def test_main_file_including_itself(tmp_path: Path) -> None:
    """keepalived.conf including keepalived.conf: the note names the main file's line."""
    main = tmp_path / "keepalived.conf"
    main.write_text("include keepalived.conf\n")
    result = load_keepalived(main, config_id="x")
    assert result.unsupported == [
        f"{main}:1: include {main}: includes itself (directly or through other files); "
        "not read again"]
    assert result.files == [str(main)]


def many(tmp_path: Path, count: int) -> Path:
    """keepalived.conf including ``count`` empty files d/0000.conf...; returns the main."""
    (tmp_path / "d").mkdir()
    for n in range(count):
        (tmp_path / "d" / f"{n:04}.conf").write_text("")
    main = tmp_path / "keepalived.conf"
    main.write_text("include d/*.conf\n")
    return main


def test_file_count_edge_within(tmp_path: Path) -> None:
    """main + 511 included files: all read (512 files, the bound)."""
    result = load_keepalived(many(tmp_path, MAX_FILES - 1), config_id="x")
    assert len(result.files) == MAX_FILES
    assert result.files[-1] == str(tmp_path / "d" / "0510.conf")


def test_file_count_edge_refused(tmp_path: Path) -> None:
    """main + 512 included files: the 513th is refused, with the message naming it."""
    main = many(tmp_path, MAX_FILES)
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(main, config_id="x")
    assert caught.value.lines == [
        f"{main}:1: include d/*.conf: {tmp_path / 'd' / '0511.conf'} would be more than "
        f"512 files or {32 << 20} bytes in all; keepalived.conf refused"]


def sized(tmp_path: Path, last: int) -> Path:
    """keepalived.conf (its own size counted) including a..h.conf, seven of
    MAX_FILE_SIZE bytes of blanks and the eighth of ``last`` bytes, then i.conf."""
    main = tmp_path / "keepalived.conf"
    text = "".join(f"include {c}.conf\n" for c in "abcdefghi")
    main.write_text(text)
    blank = b" " * (MAX_FILE_SIZE - 1) + b"\n"
    for c in "abcdefg":
        (tmp_path / f"{c}.conf").write_bytes(blank)
    (tmp_path / "h.conf").write_bytes(b" " * (last - 1) + b"\n")
    (tmp_path / "i.conf").write_text("")
    return main


def test_total_size_sums_every_file(tmp_path: Path) -> None:
    """Nine files each under 4 MiB, together exactly 32 MiB before the last: refused."""
    main = sized(tmp_path, 0)
    size = MAX_TOTAL_SIZE - main.stat().st_size - 7 * MAX_FILE_SIZE
    main = sized(tmp_path, size)
    assert 0 < size <= MAX_FILE_SIZE
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(main, config_id="x")
    assert caught.value.lines == [
        f"{main}:9: include i.conf: {tmp_path / 'i.conf'} would be more than 512 files or "
        f"{MAX_TOTAL_SIZE} bytes in all; keepalived.conf refused"]


def test_total_size_one_byte_under(tmp_path: Path) -> None:
    """The same tree one byte under 32 MiB: every file is read."""
    main = sized(tmp_path, 1)
    size = MAX_TOTAL_SIZE - main.stat().st_size - 7 * MAX_FILE_SIZE - 1
    main = sized(tmp_path, size)
    result = load_keepalived(main, config_id="x")
    assert result.files == [str(main)] + [str(tmp_path / f"{c}.conf") for c in "abcdefghi"]
    assert result.unsupported == []


# --- include notes, word by word ----------------------------------------------------------


def test_include_notes_exactly(tmp_path: Path) -> None:
    """Each skipped include is noted with its line, its pattern and the path tried; group
    or other execute permission alone is enough to refuse a file."""
    (tmp_path / "g.conf").write_text("")
    (tmp_path / "g.conf").chmod(0o614)
    (tmp_path / "o.conf").write_text("")
    (tmp_path / "o.conf").chmod(0o641)
    (tmp_path / "adir").mkdir()
    main = tmp_path / "keepalived.conf"
    main.write_text("include missing.conf\ninclude nothing/*.conf\ninclude g.conf\n"
                    "include o.conf\ninclude adir\ninclude \v\n"
                    f"include {tmp_path}//gone.conf\ninclude {tmp_path}//none/*.conf\n")
    result = load_keepalived(main, config_id="x")
    assert result.unsupported == [
        f"{main}:1: include missing.conf: {tmp_path / 'missing.conf'}: no such file; skipped",
        f"{main}:2: include nothing/*.conf: no file matches {tmp_path}/nothing/*.conf",
        f"{main}:3: include g.conf: {tmp_path / 'g.conf'} is executable, which keepalived "
        "refuses to read; skipped",
        f"{main}:4: include o.conf: {tmp_path / 'o.conf'} is executable, which keepalived "
        "refuses to read; skipped",
        f"{main}:5: include adir: {tmp_path / 'adir'}: is a directory, not a configuration "
        "file; skipped",
        f"{main}:6: include without a file name; ignored",
        f"{main}:7: include {tmp_path}//gone.conf: {tmp_path}/gone.conf: no such file; "
        "skipped",
        f"{main}:8: include {tmp_path}//none/*.conf: no file matches "
        f"{tmp_path}//none/*.conf"]
    assert result.files == [str(main)]


def test_include_permission_denied_ends_the_import() -> None:
    """An include garpd's user cannot read is an error naming line, pattern and path (read
    in a child as nobody when the tests run as root)."""
    base = Path(tempfile.mkdtemp())  # not under pytest's 0700 directory: nobody enters it
    try:
        base.chmod(0o755)
        main = base / "keepalived.conf"
        main.write_text("\ninclude secret.conf\n")
        (base / "secret.conf").write_text("")
        (base / "secret.conf").chmod(0o600 if os.geteuid() == 0 else 0)
        expected = (f"{main}:2: include secret.conf: {base / 'secret.conf'}: permission "
                    "denied (garpd's user cannot read it)")
        # here too (mutmut maps tests to functions in this process, not in the child)
        if os.geteuid() == 0:
            assert load_keepalived(main, config_id="x").files == [str(main),
                                                                  str(base / "secret.conf")]
        else:
            with pytest.raises(KeepalivedConfError) as caught:
                load_keepalived(main, config_id="x")
            assert caught.value.lines == [expected]

        def attempt() -> str:
            try:
                load_keepalived(main, config_id="x")
            except KeepalivedConfError as exc:
                return "\n".join(exc.lines)
            return "imported"

        out = in_child_as_nobody(attempt)
        assert out == expected
    finally:
        shutil.rmtree(base)


# --- glob ---------------------------------------------------------------------------------


def write_instance(path: Path, vrid: int) -> None:
    """A one-instance file named after its VRID."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"vrrp_instance I{vrid} {{\ninterface eth0\nvirtual_router_id {vrid}\n"
                    f"virtual_ipaddress {{\n192.0.2.{vrid}\n}}\n}}\n")


def test_glob_walks_every_branch(tmp_path: Path) -> None:
    """*/lit/*.conf: every matching directory is walked (a file named lit in one does not
    stop the others), dot files only for a dot pattern, files at a middle level skipped,
    names not matching skipped; the result is sorted."""
    (tmp_path / "d0").mkdir()
    (tmp_path / "d0" / "lit").write_text("")
    for n in range(1, 10):
        write_instance(tmp_path / f"d{n}" / "lit" / "x.conf", 10 + n)
        (tmp_path / f"d{n}" / "lit" / f".h{n}.conf").write_text("garbage {\n")
        (tmp_path / f"d{n}" / "lit" / f"y{n}.txt").write_text("garbage {\n")
        (tmp_path / f"f{n}").write_text("")
        (tmp_path / f"d{n}" / f".e{n}").mkdir()
    main = tmp_path / "keepalived.conf"
    main.write_text("include */lit/*.conf\n")
    result = load_keepalived(main, config_id="x")
    assert result.files == [str(main)] + [str(tmp_path / f"d{n}" / "lit" / "x.conf")
                                          for n in range(1, 10)]
    assert result.unsupported == []
    main.write_text("include d3/lit/.*.conf\n")
    result = load_keepalived(main, config_id="x")
    assert result.files == [str(main), str(tmp_path / "d3" / "lit" / ".h3.conf")]


def test_glob_relative_to_the_working_directory(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """loads_keepalived with a relative source: a relative pattern walks from the current
    directory and names files relatively."""
    monkeypatch.chdir(tmp_path)
    write_instance(tmp_path / "b.conf", 2)
    write_instance(tmp_path / "a.conf", 1)
    write_instance(tmp_path / "sub" / "c.conf", 3)
    result = loads_keepalived("include *.conf\ninclude sub/*.conf\n", "keepalived.conf")
    assert result.files == ["keepalived.conf", "a.conf", "b.conf", "sub/c.conf"]
    assert [g["name"] for g in result.groups] == ["I1", "I2", "I3"]


def test_glob_bounds_edges(tmp_path: Path) -> None:
    """Exactly max_glob_depth wildcard levels and exactly max_glob_entries entries walked
    are allowed; one fewer allowed entry is refused."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_instance(tmp_path / "a" / "b" / "x.conf", 1)
    (tmp_path / "a" / "b" / "y").write_text("")
    main = tmp_path / "keepalived.conf"
    main.write_text("include */*/*.conf\n")
    # entries: the top (a, keepalived.conf), a (b), a/b (x.conf, y): 5
    result = load_keepalived(main, config_id="x", limits=Limits(max_glob_depth=3,
                                                                max_glob_entries=5))
    assert result.files == [str(main), str(tmp_path / "a" / "b" / "x.conf")]
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(main, config_id="x", limits=Limits(max_glob_entries=4))
    assert caught.value.lines == [
        f"{main}:1: include */*/*.conf: more than 4 directory entries walked; "
        "keepalived.conf refused"]
    with pytest.raises(KeepalivedConfError) as caught:
        load_keepalived(main, config_id="x", limits=Limits(max_glob_depth=2))
    assert caught.value.lines == [
        f"{main}:1: include */*/*.conf: 3 wildcard levels (at most 2); keepalived.conf "
        "refused"]


# --- words, quotes, errors ----------------------------------------------------------------


def tree(text: str, config_id: str = "n") -> tuple[list[Any], list[str]]:
    """The reader's statements for ``text`` (read as k.conf) as nested tuples
    (words, line, block or None, opened), and its notes."""
    reader = Reader(config_id)
    reader.files.append("k.conf")
    reader.read_text(text, "k.conf", Path("/nonexistent"))

    def dump(node: Node) -> tuple[Any, ...]:
        block = None if node.block is None else [dump(n) for n in node.block]
        return (node.words, node.source, node.line, block, node.opened)

    return [dump(n) for n in reader.finish()], reader.notes


def test_words_and_quotes() -> None:
    """Empty quoted words, words after a quote, an unmatched quote keeping the words before
    its last quote, odd blanks inside a word, braces inside quotes."""
    nodes, notes = tree('a "" b "c"d e"f"\nx "y" z "w\np\x1cq r\xa0s\nn "{" { m "}" }\n')
    assert nodes == [
        (("a", "", "b", "c", "d", "e", "f"), "k.conf", 1, None, ""),
        (("x", "y", "z"), "k.conf", 2, None, ""),
        (("p\x1cq", "r\xa0s"), "k.conf", 3, None, ""),
        (("n", "{"), "k.conf", 4, [(("m", "}"), "k.conf", 4, None, "")], "k.conf:4")]
    assert notes == ['k.conf:2: unterminated quote (") in this line',
                     'k.conf:2: unmatched quote ("); the rest of the line is ignored']


def test_error_texts() -> None:
    """The exceptions carry their text as their message too."""
    assert str(KeepalivedConfError(["a", "b"])) == "a\nb"
    assert KeepalivedConfError(iter(["a"])).lines == ["a"]
    assert str(LimitError("f:1: x")) == "f:1: x"
    assert str(ReadError("no such file")) == "no such file"


@pytest.mark.parametrize(("pattern", "expanded"), [
    ("a{b,c}d{e,f}", ["abde", "abdf", "acde", "acdf"]),
    ("{a,{b,c}}x", ["ax", "bx", "cx"]),
    ("{a}{,b}", ["{a}", "{a}b"]),
    ("x{a,b", ["x{a,b"]),
    ("{a}b,c}", ["{a}b,c}"]),
    ("{}{a,b}{}", ["{}a{}", "{}b{}"]),
    ("p{a,b}}", ["pa}", "pb}"]),
    ("{a{,b},c}", ["a", "ab", "c"]),
    ("", [""]),
    ("{{a,b}", ["{a", "{b"]),
    ("{p,q}{a{1,2}b,c}", ["pa1b", "pa2b", "pc", "qa1b", "qa2b", "qc"]),
    ("{{1,2}a{3,4},z}", ["1a3", "1a4", "2a3", "2a4", "z"]),
    ("{a{b}c,d}", ["a{b}c", "d"]),
    ("{x{1,2},y}", ["x1", "x2", "y"]),
])
def test_brace_expansion(pattern: str, expanded: list[str]) -> None:
    """csh-style alternatives: in order, nested, empty, unbalanced braces left alone."""
    assert _expand_braces(pattern) == expanded


def test_brace_expansion_is_bounded() -> None:
    """Nine {a,b} groups would give 512 names: the first 256, in order."""
    names = _expand_braces("{a,b}" * 9)
    assert len(names) == MAX_BRACE_EXPANSIONS == 256
    assert names[:3] == ["aaaaaaaaa", "aaaaaaaab", "aaaaaaaba"]
    assert names[-1] == "abbbbbbbb"


def test_comments_escapes_and_blanks_exactly() -> None:
    """decomment: leading blanks other than space and tab stay (so a \\v-led include is a
    statement), an escaped # or ! outside quotes is kept without its backslash, inside quotes
    with it, other escapes keep theirs, a backslash before the last character counts, and
    an @ line led by blanks is still a condition."""
    text = ('\vinclude nothing.conf\nx a\\#\nx "a\\#b" c\\d \\X\n  @other x #c\n'
            "  @n kept # c\nXY #c\ny a\\!b\n")
    nodes, notes = tree(text)
    assert [n[0] for n in nodes] == [("include", "nothing.conf"), ("x", "a#"),
                                     ("x", "a\\#b", "c\\d", "\\X"), ("kept",), ("XY",),
                                     ("y", "a!b")]
    assert [n[2] for n in nodes] == [1, 2, 3, 5, 6, 7]
    assert notes == []


def test_definitions_exactly() -> None:
    """$ definitions: trailing blanks dropped, references nested up to 7 deep resolved and 8
    refused, a continued definition skipped to its last line (CRLF too), ~SEQ/~LST refused,
    conditions stripped of spaces and tabs only."""
    chain = "".join(f"$D{n}=$D{n + 1}\n" for n in range(1, 8)) + "$D8=end\n"
    text = (f"$A=aX \t\ny \"${{A}}\"\n{chain}w $D2\nw $D1\n"
            "$M=one \\\n two \\\n three\nafter\n~LST x\n~SEQ y\n@n \x1cq r\n@n Xa\n")
    nodes, notes = tree(text)
    first = 3 + 8  # the line of "w $D2"
    assert nodes == [
        (("y", "aX"), "k.conf", 2, None, ""),
        (("w", "end"), "k.conf", first, None, ""),
        (("after",), "k.conf", first + 5, None, ""),
        (("\x1cq", "r"), "k.conf", first + 8, None, ""),
        (("Xa",), "k.conf", first + 9, None, "")]
    assert notes == [
        f"k.conf:{first + 1}: definitions nest too deep; line ignored",
        f"k.conf:{first + 2}: multi-line definition $M is not supported; it and its "
        "continuation lines are ignored",
        f"k.conf:{first + 6}: ~LST is not supported; line ignored",
        f"k.conf:{first + 7}: ~SEQ is not supported; line ignored"]
    nodes, notes = tree("$M=one \\\r\ntwo\r\nafter\r\n")
    assert nodes == [(("after",), "k.conf", 3, None, "")]
    assert len(notes) == 1


def test_pwd_follows_the_file_being_read(tmp_path: Path) -> None:
    """${_PWD} is the directory of the file being read, and again the includer's after an
    include; an include pattern keeps odd trailing blanks (keepalived strips only its own)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.conf").write_text("in ${_PWD}\n")
    (tmp_path / "x.conf").write_text("not read\n")
    reader = Reader("n")
    main = tmp_path / "keepalived.conf"
    main.write_bytes(b"include sub/a.conf\nout ${_PWD}\ninclude x.conf\x1c\n")
    reader.read_file(main, main.read_bytes(), None)
    assert [n.words for n in reader.finish()] == [("in", str(tmp_path / "sub")),
                                                  ("out", str(tmp_path))]
    assert reader.notes == [f"{main}:3: include x.conf\\x1c: {tmp_path}/x.conf\\x1c: no such "
                            "file; skipped"]


def test_expansion_bounds_edges() -> None:
    """A line expanded to exactly max_line bytes, and all lines to exactly max_expanded, are
    allowed; the expansion is summed over lines; one byte more is refused."""
    text = "$A=" + "a" * 6 + "\nx $A\nx $A\n"  # each use: "x aaaaaa", 8 bytes
    reader = Reader("n", Limits(max_line=8, max_expanded=16))
    reader.read_text(text, "k.conf", Path("/nonexistent"))
    assert [n.words for n in reader.finish()] == [("x", "aaaaaa"), ("x", "aaaaaa")]
    with pytest.raises(LimitError) as caught:
        Reader("n", Limits(max_line=7, max_expanded=16)).read_text(text, "k.conf", Path("/"))
    assert caught.value.line == ("k.conf:2: $ definitions expand this line past 7 bytes (or "
                                 "all lines past 16 bytes or 20000 substitutions); "
                                 "keepalived.conf refused")
    with pytest.raises(LimitError) as caught:
        Reader("n", Limits(max_line=8, max_expanded=15)).read_text(text, "k.conf", Path("/"))
    assert caught.value.line.startswith("k.conf:3: ")


def test_notes_are_capped_exactly() -> None:
    """500 notes are kept, the rest only counted."""
    reader = Reader("n")
    reader.read_text("}\n" * 600, "k.conf", Path("/"))
    assert len(reader.notes) == 500
    assert reader.notes[-1] == "k.conf:500: '}' closes no block (one '}' too many); ignored"
    assert reader.dropped == 100


def test_braces_on_preprocessed_lines() -> None:
    """Lines that take the slow path (a comment, a quote) open and close blocks the same
    way, note a stray '{' and an unclosed block at the right place."""
    text = 'a { b # c\n} # d\n{ # e\n} # f\nq "r" {\ns\n'
    nodes, notes = tree(text)
    assert nodes == [
        (("a",), "k.conf", 1, [(("b",), "k.conf", 1, None, "")], "k.conf:1"),
        ((), "k.conf:3", 0, [], "k.conf:3"),
        (("q", "r"), "k.conf", 5, [(("s",), "k.conf", 6, None, "")], "k.conf:5")]
    assert notes == [
        "k.conf:3: '{' without a keyword before it; its block is ignored",
        "k.conf:5: q r: '{' is never closed (1 '}' missing at the end of the input); "
        "everything after it was read as part of it"]


@pytest.mark.parametrize(("name", "valid"), [
    (".", False), ("..", False), ("a.b", True), ("", False), ("\udc80", False),
    ("é" * 7 + "a", True), ("é" * 8, False), ("é", True), ("éX", True), ("é\x01", False),
    ("é\u2000", False), ("é/", False), ("é:", False), ("é\x7f", False), ("\x80", True),
    ("a b", False), ("a" * 15, True), ("a" * 16, False),
])
def test_valid_ifname(name: str, valid: bool) -> None:
    """The kernel's dev_valid_name on the fast (ASCII) path and the slow one."""
    assert valid_ifname(name) is valid


def test_read_bytes_refusals_exactly(tmp_path: Path) -> None:
    """read_bytes: a name the kernel refuses and a NUL in the path say why; a file one byte
    over the bound is refused with both sizes; one at the bound is read whole."""
    with pytest.raises(ReadError) as caught:
        read_bytes(tmp_path / ("a" * 300))
    assert caught.value.reason == "cannot open: File name too long"
    with pytest.raises(ReadError) as caught:
        read_bytes(tmp_path / "a\0b")
    assert caught.value.reason == "cannot open: embedded null byte"
    big = tmp_path / "big.conf"
    big.write_bytes(b" " * (MAX_FILE_SIZE + 1))
    with pytest.raises(ReadError) as caught:
        read_bytes(big)
    assert caught.value.reason == f"too large ({MAX_FILE_SIZE + 1} bytes; at most {4 << 20})"
    big.write_bytes(b" " * MAX_FILE_SIZE)
    data, mode = read_bytes(big)
    assert len(data) == MAX_FILE_SIZE
    assert mode & 0o777 == big.stat().st_mode & 0o777


@pytest.mark.parametrize("text", ["", "\n", "a", "ab\ncd\n\nef", "abcdef\ngh", "\n\n\n",
                                  "abc\n", "a\nbcdefgh\ni", "abcdefghij"])
def test_lines_in_chunks_are_split_lines(text: str) -> None:
    """_lines gives str.split("\\n") whatever the chunk size."""
    for chunk in range(1, 12):
        assert list(_lines(text, chunk)) == text.split("\n"), chunk
    assert list(_lines(text)) == text.split("\n")


def test_sanitize_escapes_exactly() -> None:
    """C0 (but tab), DEL, C1 and bidi controls are escaped; other text is left alone."""
    assert sanitize("a\tb\x1b[31mc\x00\n\x7f\x9b\x9f\xa0é\u200e\u202e\u2066\u2069\u206a") == (
        "a\tb\\x1b[31mc\\x00\\x0a\\x7f\\x9b\\x9f\xa0é\\u200e\\u202e\\u2066\\u2069\u206a")


def test_default_config_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """keepalived's default -i: the node name up to its first dot; a given one is kept."""
    assert default_config_id("given.name") == "given.name"

    class Uname:
        nodename = "node-a.example.net"

    monkeypatch.setattr(os, "uname", Uname)
    assert default_config_id(None) == "node-a"


def test_fast_path_tree_exactly() -> None:
    """Plain lines (no quote, comment, $ or @): words, blocks opened on the keyword's line or
    the next, nested blocks, CRLF, a '}' alone, braces mid-line, built-in definitions."""
    text = ("\ufeffa b\r\n  c {\n d\n\t e\n {\n  f\n }\n  }\ng\n{\nh { i } j\n}\n}\n"
            'k "${_HASH}" "${_BANG}" ${_INSTANCE}\n')
    nodes, notes = tree(text, "node-a")
    assert nodes == [
        (("a", "b"), "k.conf", 1, None, ""),
        (("c",), "k.conf", 2, [(("d",), "k.conf", 3, None, ""),
                               (("e",), "k.conf", 4, [(("f",), "k.conf", 6, None, "")],
                                "k.conf:5")], "k.conf:2"),
        (("g",), "k.conf", 9, [(("h",), "k.conf", 11, [(("i",), "k.conf", 11, None, "")],
                                "k.conf:11"),
                               (("j",), "k.conf", 11, None, "")], "k.conf:10"),
        (("k", "#", "!", "node-a"), "k.conf", 14, None, "")]
    assert notes == [
        "k.conf:1: UTF-8 byte-order mark at the start of the file; ignored (keepalived 2.2 "
        "would not recognise the first keyword)",
        "k.conf:13: '}' closes no block (one '}' too many); ignored"]


def test_top_level_statements_are_handed_on_when_complete() -> None:
    """on_top gets each top-level statement once its block is closed or the next begins,
    and finish() then returns none of them; without on_top the tree keeps them."""
    seen: list[tuple[str, ...]] = []
    reader = Reader("n", on_top=lambda node: seen.append(node.words))
    reader.read_text("a\nb {\nc\n", "k.conf", Path("/"))
    assert seen == [("a",)]
    reader.read_text("}\nd\n", "k.conf", Path("/"))
    assert seen == [("a",), ("b",)]
    assert reader.finish() == []
    assert seen == [("a",), ("b",), ("d",)]
    assert Reader("n").limits == Limits()


def test_unclosed_blocks_are_named_by_two_words() -> None:
    """The never-closed note names a block by its first two words, "block" when it has
    none; blanks other than space and tab before a comment end an include's pattern, and a
    definition's value loses the spaces before its comment."""
    nodes, notes = tree("a b c {\n")
    assert notes == ["k.conf:1: a b: '{' is never closed (1 '}' missing at the end of the "
                     "input); everything after it was read as part of it"]
    nodes, notes = tree("{\n")
    assert notes == ["k.conf:1: '{' without a keyword before it; its block is ignored",
                     "k.conf:1: block: '{' is never closed (1 '}' missing at the end of the "
                     "input); everything after it was read as part of it"]
    nodes, notes = tree('include \v# c\n$A=x  # c\ny "${A}"\n')
    assert nodes == [(("y", "x"), "k.conf", 3, None, "")]
    assert notes == ["k.conf:1: include without a file name; ignored"]


def test_fast_path_strips_only_blanks_and_cr() -> None:
    """An include led by spaces is still an include; letters at either end of a plain line
    are kept."""
    nodes, notes = tree("  include nothing.conf\naX\nXa\n")
    assert [n[0] for n in nodes] == [("aX",), ("Xa",)]
    assert notes == ["k.conf:1: include nothing.conf: /nonexistent/nothing.conf: no such "
                     "file; skipped"]


# --- bounds added by the fuzzing work, at their edges --------------------------------------


def test_note_length_edge() -> None:
    """A note of exactly MAX_NOTE_LENGTH characters is whole; two more are cut and marked."""
    def note(length: int) -> str:
        name = "/nonexistent/" + "a" * length + ".conf"
        return loads_keepalived(f"include {name}\n", "/k.conf", config_id="x").unsupported[0]
    whole = note(216)
    assert len(whole) == MAX_NOTE_LENGTH
    assert whole.endswith(".conf: no such file; skipped")
    cut = note(217)
    assert cut == ("/k.conf:1: include /nonexistent/" + "a" * 217 + ".conf: /nonexistent/"
                   + "a" * 217 + ".conf: no such file; skipped")[:MAX_NOTE_LENGTH] + "..."


def test_include_pattern_bound_edges() -> None:
    """A pattern of 4096 bytes and one with 64 '{' are read; one byte or one '{' more is
    one error quoting the pattern's first 80 characters."""
    tail = "longer than 4096 bytes or more than 64 '{'; keepalived.conf refused"
    for pattern in ("/x/" + "a" * 4093, "/x" + "{a,b}" * 64):
        assert loads_keepalived(f"include {pattern}\n", "/k.conf", config_id="x").error is None
    for pattern in ("/x/" + "a" * 4094, "/x" + "{a,b}" * 64 + "{"):
        result = loads_keepalived(f"include {pattern}\n", "/k.conf", config_id="x")
        assert result.error == f"/k.conf:1: include {pattern[:80]}...: {tail}"


def test_block_depth_edge() -> None:
    """max_block_depth blocks open at once are read; one more is one error."""
    limits = Limits(max_block_depth=2)
    assert loads_keepalived("a {\n{\n}\n}\n", "k.conf", limits=limits).error is None
    assert loads_keepalived("a {\nb {\nc {\n}\n}\n}\n", "k.conf", limits=limits).error == (
        "k.conf:3: blocks nested more than 2 deep; keepalived.conf refused")


def test_substitution_count_edge() -> None:
    """73 substitutions in a 62-character file: allowed with max_substitutions 42 (42 + 62 //
    2 = 73), refused with 41, naming the line and the bounds."""
    text = ("$B=x\n$C=$B $B $B $B $B $B $B $B\n$A=$C $C $C $C $C $C $C $C\n$A\n")
    assert len(text) == 62
    assert loads_keepalived(text, "k.conf", config_id="x",
                            limits=Limits(max_substitutions=42)).error is None
    assert loads_keepalived(text, "k.conf", config_id="x",
                            limits=Limits(max_substitutions=41)).error == (
        "k.conf:4: $ definitions expand this line past 65536 bytes (or all lines past "
        "1048576 bytes or 41 substitutions); keepalived.conf refused")


def test_substitution_bound_counts_every_file_read(tmp_path: Path) -> None:
    """The characters read count from 0 and add up over every file: a 79-character main
    file including a 1-character one allows 73 substitutions with max_substitutions 33
    (33 + 80 // 2 = 73), not 32; a 63-character file refuses them with 41 (41 + 31)."""
    text = "$B=x\n$C=$B $B $B $B $B $B $B $B\n$A=$C $C $C $C $C $C $C $C\n$A\n"
    (tmp_path / "inc.conf").write_text("\n")
    main = str(tmp_path / "main.conf")
    assert len("include inc.conf\n" + text) == 79
    for bound, error in ((33, None), (32, f"{main}:5: $ definitions expand this line past "
                                          "65536 bytes (or all lines past 1048576 bytes or 32 "
                                          "substitutions); keepalived.conf refused")):
        assert loads_keepalived("include inc.conf\n" + text, main, config_id="x",
                                limits=Limits(max_substitutions=bound)).error == error
    odd = text + "\n"
    assert len(odd) == 63
    assert loads_keepalived(odd, "k.conf", config_id="x",
                            limits=Limits(max_substitutions=41)).error is not None
    assert loads_keepalived(odd, "k.conf", config_id="x",
                            limits=Limits(max_substitutions=42)).error is None


@pytest.mark.parametrize(("line", "expected"), [
    ("aX #c", ("aX", False)),                 # only blanks are stripped before a comment
    ("a \"b\"\x0b", ("a \"b\"\x0b", False)),  # only space and tab at the end, not \v
    ("  a \\# b\t", ("a # b", False)),
    ('a "b #c', ('a "b #c', True)),
])
def test_decomment_exactly(line: str, expected: tuple[str, bool]) -> None:
    """_decomment strips spaces and tabs only, around the text and before a comment."""
    assert _decomment(line) == expected
