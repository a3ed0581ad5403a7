"""Fuzz target: control socket request lines (:func:`garpd.control.parse_request`).

Contract: any line gives a request dict (a known command; a notify with a valid type,
name, state and priority) or a :class:`RemoteError` for the client, nothing else. A
request that parses also survives the hook's hand-written encoder: re-encoded with
:func:`encode_request`, it parses back equal. Run:
``python -m fuzz.control [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.control import NOTIFY_STATES, encode_request, parse_request
    from garpd.errors import RemoteError


def test_one_input(data: bytes) -> None:
    """Parse ``data`` as one request line (the server strips nothing but the newline)."""
    try:
        request = parse_request(data)
    except RemoteError:
        return
    assert isinstance(request, dict)
    assert request["command"] in ("status", "notify", "ping", "metrics")
    if request["command"] != "notify":
        return
    assert request["state"] in NOTIFY_STATES
    flat = {key: request.get(key) for key in ("command", "type", "name", "state", "priority")}
    assert parse_request(encode_request(flat)) == flat


if __name__ == "__main__":
    main("control", test_one_input)
