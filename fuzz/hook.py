"""Fuzz target: the notify hook's command line (:mod:`garpd.hookargs`, :mod:`garpd.argv`).

The input is an argv after ``garpd``: words separated by NUL bytes, decoded as CPython
decodes a command line (the file system encoding, surrogateescape). Contract:
:func:`notify_words` never raises; when it declines (None), argparse's tree
(:func:`build_parser`) gives a namespace or exits 0 (help, version) or 2 (usage), never
anything else. When the words are a hand-off (TYPE NAME STATE [PRIORITY] as
``garpd notify`` accepts them), the request line the hook would send parses on the
daemon's side back to what was sent (or is refused with a RemoteError, never an
exception), and always back to it when the name is UTF-8 text of at most 256 characters.
Run: ``python -m fuzz.hook [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

import contextlib
import io
import os

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.argv import build_parser
    from garpd.control import NOTIFY_STATES, encode_request, parse_request
    from garpd.errors import RemoteError
    from garpd.hookargs import HookArgs, notify_words

_PARSER = build_parser()


def _hand_off(words: list[str]) -> None:
    """What ``garpd notify`` sends for ``words``, parsed as the daemon parses it."""
    if not 3 <= len(words) <= 4:
        return
    kind, name, state = words[0].upper(), words[1], words[2].upper()
    if kind not in ("INSTANCE", "GROUP") or state not in NOTIFY_STATES or not name:
        return
    priority = None
    if len(words) == 4 and words[3].isascii() and words[3].isdigit() and len(words[3]) <= 3:
        priority = int(words[3])
        if not 0 <= priority <= 255:
            priority = None
    sent: dict[str, object] = {"command": "notify", "type": kind, "name": name, "state": state,
            "priority": priority}
    try:
        received = parse_request(encode_request(sent))
    except RemoteError:
        try:
            name.encode()
        except UnicodeEncodeError:
            return  # not UTF-8 on the command line: the daemon cannot read it either
        assert len(name) > 256, name
        return
    assert received == sent


def test_one_input(data: bytes) -> None:
    """Split ``data`` into argv words and read them as ``garpd`` does."""
    words = [os.fsdecode(word) for word in data.split(b"\0")] if data else []
    hook = notify_words(words)
    if isinstance(hook, HookArgs):
        assert hook.log_format in (None, "json", "console")
        _hand_off(hook.words)
        return
    assert hook is None
    sink = io.StringIO()
    code: object = None
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            _PARSER.parse_args(words)
        except SystemExit as exc:
            code = exc.code
    assert code in (None, 0, 2), code


if __name__ == "__main__":
    main("hook", test_one_input)
