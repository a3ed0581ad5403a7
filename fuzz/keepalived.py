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

import os

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.config import Config, ConfigError, ConfigPolicy, parse_config
    from garpd.keepalived import Imported
    from garpd.keepalived.importer import fuzz_one_input

#: The file ``[keepalived] config`` names: a memfd (a regular file that leaves nothing
#: behind; libFuzzer's exit runs no clean-up).
_FD = os.memfd_create("keepalived.conf", os.MFD_CLOEXEC)
_FILE = f"/proc/self/fd/{_FD}"


def test_one_input(data: bytes) -> None:
    """Import ``data``; then validate it as ``[keepalived] config``."""
    imported = fuzz_one_input(data)
    assert isinstance(imported, Imported)
    if imported.error is not None:
        assert isinstance(imported.error, str)
        assert "\n" not in imported.error
        assert not imported.groups
    assert all(isinstance(note, str) for note in imported.unsupported)
    os.ftruncate(_FD, 0)
    os.pwrite(_FD, data, 0)
    toml = {"keepalived": {"config": _FILE, "config_id": "fuzz", "allow_no_groups": True}}
    try:
        config = parse_config(toml, "fuzz.toml")
    except ConfigError as exc:
        lines = exc.lines
        assert lines
        assert all(isinstance(line, str) for line in lines)
        return
    assert isinstance(config, Config)
    policy = ConfigPolicy(config)
    for group in config.groups:
        config.effective(group)
        assert policy.groups_named(group.name, None) is not None


if __name__ == "__main__":
    main("keepalived", test_one_input)
