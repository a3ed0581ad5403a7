"""The keepalived.conf reader's include machinery exactly: the full messages of a
self-include and of the depth limit, the depth limit's edge (15 nested includes read, 16
refused), the file-count limit's edge, and the total size summed across included files
(each under the per-file limit, together at the limit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from garpd.keepalived import KeepalivedConfError, load_keepalived
from garpd.keepalived.reader import (
    MAX_FILE_SIZE,
    MAX_FILES,
    MAX_INCLUDE_DEPTH,
    MAX_TOTAL_SIZE,
)


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
