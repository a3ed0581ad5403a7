"""Fuzz target: garpd.toml (:mod:`garpd.config`) and the hook's TOML subset scan.

The input is the file's bytes. Contract: :func:`garpd.config.load_config`'s path (UTF-8,
tomllib, validation, cross-checks) gives a :class:`Config` or a :class:`ConfigError` with
lines, never another exception; a valid configuration's policy answers for every group.
The notify hook's own scan of the same bytes (:func:`garpd.control.subset_socket`, which
must agree with tomllib wherever it answers, and :func:`garpd.control._quick_socket`)
never raises and never disagrees with tomllib. Run:
``python -m fuzz.toml [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

import tomllib

from fuzz.harness import instrumented, main

with instrumented():
    from garpd import control
    from garpd.config import Config, ConfigError, ConfigPolicy, loads_config


def _tomllib_socket(data: bytes) -> str:
    """What ``garpd notify`` ends up with when it asks tomllib."""
    try:
        parsed = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
        return control.DEFAULT_SOCKET
    section = parsed.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else control.DEFAULT_SOCKET


def test_one_input(data: bytes) -> None:
    """Validate ``data`` as garpd.toml; check the hook's scan against tomllib."""
    quick = control._quick_socket(data)
    subset = control.subset_socket(data)
    if quick is not None or subset is not None:
        expected = _tomllib_socket(data)
        assert quick in (None, expected), (quick, expected)
        assert subset in (None, expected), (subset, expected)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_config's ConfigError "not UTF-8 text"
    try:
        config = loads_config(text, "fuzz.toml")
    except ConfigError as exc:
        lines = exc.lines
        assert lines
        assert all(isinstance(line, str) for line in lines)
        return
    assert isinstance(config, Config)
    policy = ConfigPolicy(config)
    config.effective()
    for group in config.groups:
        config.effective(group)
        policy.groups_named(group.name, None)


if __name__ == "__main__":
    main("toml", test_one_input)
