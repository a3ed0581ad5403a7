"""asyncio without ssl: imported (for its side effect) before anything else imports asyncio.

asyncio imports :mod:`ssl` for its TLS transports, and ssl maps OpenSSL's libssl and
libcrypto: ~4.5 MB of resident memory and ~6 ms per start (measured: ``import asyncio``
20.4 MB, the same with ssl unavailable 16.0 MB), for nothing garpd uses (it never opens a
TLS connection). asyncio is written for a Python without ssl (``try: import ssl except
ImportError: ssl = None``), so importing it while ``sys.modules["ssl"]`` is None gives an
asyncio without TLS support; the block is lifted at once, so any later ``import ssl``
(outside asyncio) works as usual. Nothing happens if asyncio is already loaded.
"""

from __future__ import annotations

import sys

if "asyncio" not in sys.modules:
    _blocked = "ssl" not in sys.modules
    if _blocked:
        sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        __import__("asyncio")
    finally:
        if _blocked and sys.modules.get("ssl", 0) is None:
            del sys.modules["ssl"]

import asyncio as asyncio  # noqa: PLC0414 - for ``from garpd.leanio import asyncio``
