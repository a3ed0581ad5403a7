"""asyncio without ssl: imported (for its side effect) before anything else imports asyncio.

asyncio imports :mod:`ssl` for its TLS transports, and ssl maps OpenSSL's libssl and
libcrypto: ~4.5 MB of resident memory and ~6 ms per start (measured: ``import asyncio``
20.4 MB, the same with ssl unavailable 16.0 MB), for nothing garpd uses (it never opens a
TLS connection). asyncio is written for a Python without ssl (``try: import ssl except
ImportError: ssl = None``), so importing it while ``sys.modules["ssl"]`` is None gives an
asyncio without TLS support; the block is lifted at once, so any later ``import ssl``
(outside asyncio) works as usual. Nothing happens if asyncio is already loaded.

The same for :mod:`hashlib` and :mod:`hmac`, imported here while ``_hashlib`` (OpenSSL's
hashes) is unavailable: pydantic imports :mod:`secrets`, which imports hmac, which maps
libcrypto for its hashes: ~3.4 MB of resident memory in the daemon (measured in
``/proc/PID/smaps``: libcrypto 3,412 kB, ``_hashlib`` 68 kB) for nothing garpd uses (it
computes no hash and no HMAC). Both modules are written for a Python without OpenSSL and
fall back to the interpreter's own md5, sha1, sha2, sha3 and blake2 (only the
OpenSSL-only algorithms, ``pbkdf2_hmac`` and ``scrypt`` are missing in this process).
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

if not {"hashlib", "hmac", "_hashlib"} & sys.modules.keys():
    sys.modules["_hashlib"] = None  # type: ignore[assignment]
    try:
        __import__("hashlib")
        __import__("hmac")
    finally:
        if sys.modules.get("_hashlib", 0) is None:
            del sys.modules["_hashlib"]

import asyncio as asyncio  # noqa: PLC0414 - for ``from garpd.leanio import asyncio``
