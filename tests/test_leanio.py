"""garpd.leanio: asyncio without ssl and hashlib without OpenSSL, both still working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
import garpd.leanio
import garpd.config  # pydantic: secrets -> hmac -> hashlib
import asyncio, hashlib, hmac, secrets
maps = open("/proc/self/maps").read()
print(json.dumps({
    "ssl": "ssl" in sys.modules, "_hashlib": "_hashlib" in sys.modules,
    "libcrypto": "libcrypto" in maps,
    "sha256": hashlib.sha256(b"garpd").hexdigest(),
    "hmac": hmac.new(b"key", b"garpd", "sha256").hexdigest(),
    "token": len(secrets.token_hex(8)),
    "loop": asyncio.run(asyncio.sleep(0, "ran")),
}))
"""


def test_daemon_imports_map_neither_ssl_nor_libcrypto() -> None:
    """After leanio, the daemon's imports (asyncio, pydantic) load no OpenSSL, and hashes,
    HMAC and asyncio still work (the interpreter's own hash modules)."""
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True, cwd=REPO, env={"PYTHONPATH": str(REPO)}).stdout
    got = json.loads(out)
    assert got == {
        "ssl": False, "_hashlib": False, "libcrypto": False,
        # the same digests as OpenSSL's (computed with an ordinary interpreter)
        "sha256": "f97ea60e26c60b16735cb5ce8680759e0ac2f393f85eafcb61b3adf219b42446",
        "hmac": "02d08dd9e200f6385e64fce5365e92fb0b69422064924e71ba607c1193939d75",
        "token": 16, "loop": "ran",
    }
