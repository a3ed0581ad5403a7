"""Fuzz target: keepalived.conf (:mod:`garpd.keepalived.reader` and ``importer``), bytes in.

Contract (issue 14): :func:`fuzz_one_input` (the importer's own entry point: the bytes as
a file, UTF-8 with replacement, includes resolved against ``/nonexistent``) never raises:
it gives an :class:`Imported` with notes, or one error line and nothing imported. The same
bytes as a file named by ``[keepalived] config`` then go through the whole of ``garpd
check``'s path (:func:`garpd.config.parse_config`: import, merge, validation): a
:class:`Config` or a :class:`ConfigError`, never another exception. Run:
``python -m fuzz.keepalived [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.config import Config, ConfigError, ConfigPolicy, parse_config
    from garpd.keepalived import Imported
    from garpd.keepalived.importer import fuzz_one_input

_DIR = Path(tempfile.mkdtemp(prefix="garpd-fuzz-keepalived-"))
_FILE = _DIR / "keepalived.conf"


def test_one_input(data: bytes) -> None:
    """Import ``data``; then validate it as ``[keepalived] config``."""
    imported = fuzz_one_input(data)
    assert isinstance(imported, Imported)
    if imported.error is not None:
        assert isinstance(imported.error, str) and "\n" not in imported.error
        assert not imported.groups
    assert all(isinstance(note, str) for note in imported.unsupported)
    _FILE.write_bytes(data)
    toml = {"keepalived": {"config": str(_FILE), "config_id": "fuzz", "allow_no_groups": True}}
    try:
        config = parse_config(toml, "fuzz.toml")
    except ConfigError as exc:
        assert exc.lines and all(isinstance(line, str) for line in exc.lines)
        return
    assert isinstance(config, Config)
    policy = ConfigPolicy(config)
    for group in config.groups:
        config.effective(group)
        assert policy.groups_named(group.name, None) is not None


def _clean_up() -> None:
    _FILE.unlink(missing_ok=True)
    os.rmdir(_DIR)


if __name__ == "__main__":
    atexit.register(_clean_up)
    main("keepalived", test_one_input)
