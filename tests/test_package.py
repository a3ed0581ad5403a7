"""The Debian package: built by scripts/build-deb.sh, its contents read with dpkg-deb,
checked by lintian, and installed and purged with apt in a throwaway root.

The throwaway root is an overlay of this machine's / (its changes in a tmpfs) inside a
private mount namespace, entered with chroot: apt, dpkg, adduser, man-db and the
maintainer scripts run for real, while the host's packages, users and the test venv stay
untouched, and everything vanishes with the namespace. What purge left behind is read
from the overlay's upper layer. Building takes about a minute (pip fetches garpd's
dependencies); the package is built once for the module.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
BUILD_TOOLS = ("dpkg-buildpackage", "dh_virtualenv", "dpkg-deb", "lintian")
BUILD_TIMEOUT = 900.0
TAG_RE = re.compile(r"^[EWIPX]: ", re.MULTILINE)

pytestmark = pytest.mark.slow


def require(condition: bool, reason: str) -> None:
    """Skip without `condition`, or fail under GARPD_REQUIRE_LAB=1 (CI has everything)."""
    if condition:
        return
    if os.environ.get("GARPD_REQUIRE_LAB") == "1":
        pytest.fail(f"GARPD_REQUIRE_LAB=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (scripts/test.sh installs it)")


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb scripts/build-deb.sh builds from this checkout."""
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    require(not missing, f"the package tools {missing} are missing")
    out = tmp_path_factory.mktemp("deb")
    result = subprocess.run(["bash", str(ROOT / "scripts" / "build-deb.sh"), str(out)],
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                            check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    debs = sorted(out.glob("garpd_*.deb"))
    assert [Path(line) for line in result.stdout.split()] == debs
    (path,) = debs
    return path


def dpkg_deb(*args: str) -> str:
    """dpkg-deb's output."""
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True,
                          timeout=120.0).stdout


@pytest.fixture(scope="module")
def unpacked(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's files and control files (DEBIAN/), extracted."""
    path = tmp_path_factory.mktemp("unpacked")
    dpkg_deb("-R", str(deb), str(path))
    return path


def test_package_fields(deb: Path) -> None:
    """Name, version (pyproject's), architecture and the run-time dependencies."""
    assert deb.name == f"garpd_{VERSION}_{dpkg_deb('-f', str(deb), 'Architecture').strip()}.deb"
    fields = dict(line.split(": ", 1) for line in
                  dpkg_deb("-f", str(deb), "Package", "Version", "Depends").splitlines())
    assert fields["Package"] == "garpd"
    assert fields["Version"] == VERSION
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert "adduser" in depends
    assert any(d.startswith("python3 (>= 3.") for d in depends)
    assert any(d.startswith("python3 (<< 3.") for d in depends)


def test_package_files(unpacked: Path) -> None:
    """The program, the unit, the conffile and both manual pages, as in the repository;
    a venv in /usr/lib/garpd without bytecode, build paths or build tools."""
    assert os.readlink(unpacked / "usr/bin/garpd") == "../lib/garpd/bin/garpd"
    script = (unpacked / "usr/lib/garpd/bin/garpd").read_text()
    assert script.startswith("#!/usr/lib/garpd/bin/python\n")
    assert os.readlink(unpacked / "usr/lib/garpd/bin/python").endswith("python3")
    assert sorted(p.name for p in (unpacked / "usr/lib/garpd/bin").iterdir()) == \
        ["garpd", "python", "python3", f"python3.{script and _minor(unpacked)}"]
    assert (unpacked / "lib/systemd/system/garpd.service").read_bytes() == \
        (ROOT / "systemd/garpd.service").read_bytes()
    assert (unpacked / "etc/garpd/garpd.toml").read_bytes() == \
        (ROOT / "config/garpd.toml").read_bytes()
    for page, section in (("garpd.8", 8), ("garpd.toml.5", 5)):
        packed = unpacked / f"usr/share/man/man{section}/{page}.gz"
        assert gzip.decompress(packed.read_bytes()) == (ROOT / "man" / page).read_bytes()
    everything = [p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*")]
    assert not [p for p in everything if "__pycache__" in p or p.endswith(".pyc")]
    assert not [p for p in everything if p.startswith(("opt/", "usr/local/"))]
    site = unpacked / f"usr/lib/garpd/lib/python3.{_minor(unpacked)}/site-packages"
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"garpd", "pydantic", "structlog", "pyroute2"} <= installed
    assert not {"pip", "setuptools"} & installed
    build_dir = re.compile(rb"/tmp/garpd-deb\.|debian/garpd/usr")
    for path in (unpacked / "usr/lib/garpd/bin").iterdir():
        if path.is_file() and not path.is_symlink():
            assert not build_dir.search(path.read_bytes()), path
    assert not build_dir.search((unpacked / "usr/lib/garpd/pyvenv.cfg").read_bytes())


def _minor(unpacked: Path) -> str:
    (lib,) = (unpacked / "usr/lib/garpd/lib").glob("python3.*")
    return lib.name.split(".", 1)[1]


def test_conffiles_and_maintainer_scripts(unpacked: Path) -> None:
    """/etc/garpd/garpd.toml is the only conffile; postinst creates the system user and
    never enables or starts the unit; postrm purge removes the user, /run/garpd, /etc/garpd."""
    control = unpacked / "DEBIAN"
    assert (control / "conffiles").read_text().split() == ["/etc/garpd/garpd.toml"]
    postinst = (control / "postinst").read_text()
    assert "adduser --quiet --system --group --no-create-home --home /nonexistent garpd" \
        in postinst
    assert "compileall" in postinst
    assert "deb-systemd-invoke" not in postinst  # never started
    lines = postinst.splitlines()
    for i, line in enumerate(lines):  # enabled again only if the operator had enabled it
        if "deb-systemd-helper enable" in line:
            assert any("was-enabled" in before for before in lines[max(0, i - 3):i]), line
    postrm = (control / "postrm").read_text()
    for needed in ("deluser --quiet --system garpd", "delgroup --quiet --system garpd",
                   "rm -rf /run/garpd", "/etc/garpd", "deb-systemd-helper purge"):
        assert needed in postrm, needed
    assert "__pycache__" in (control / "prerm").read_text()


def test_lintian_is_clean(deb: Path) -> None:
    """lintian reports no tag at all, informational and pedantic ones included (the few
    that an embedded venv brings are overridden with a reason in debian/)."""
    result = subprocess.run(["lintian", "--display-info", "--pedantic",
                             "--fail-on", "error,warning", str(deb)],
                            capture_output=True, text=True, timeout=600.0, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert TAG_RE.findall(result.stdout) == [], result.stdout


#: Runs in a private mount namespace: $1 an empty directory for the throwaway root, $2 the
#: .deb. Prints key=value lines; the upper layer's paths after purge follow "left:".
INSTALL_AND_PURGE = r"""
set -eu
base=$1; deb=$2
mount -t tmpfs tmpfs "$base"
mkdir "$base/upper" "$base/work" "$base/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
root=$base/root
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$deb" "$root/tmp/"
# Minimal container images tell dpkg to skip manual pages; a real Debian system keeps them.
sed -i '\|^path-exclude=*/usr/share/man|d' "$root"/etc/dpkg/dpkg.cfg.d/* 2>/dev/null || true
in_root() {
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
  >"$base/apt.log" 2>&1 || { cat "$base/apt.log" >&2; exit 1; }
echo "version=$(in_root garpd --version)"
in_root garpd check -c /etc/garpd/garpd.toml >/dev/null && echo "check=ok"
echo "path=$(in_root sh -c 'command -v garpd')"
echo "passwd=$(in_root getent passwd garpd)"
echo "status=$(in_root dpkg-query -W -f='${db:Status-Abbrev}' garpd)"
echo "man8=$(in_root man garpd 2>&1 | grep -c 'garpd - announce virtual IPs')"
echo "man5=$(in_root man garpd.toml 2>&1 | grep -c 'garpd.toml - configuration of garpd')"
echo "enabled=$(ls "$root/etc/systemd/system/multi-user.target.wants" 2>/dev/null \
  | grep -c garpd || true)"
echo "bytecode=$(find "$root/usr/lib/garpd" -name '*.pyc' | wc -l)"
in_root mkdir -p /run/garpd   # as if garpd had run by hand
in_root apt-get purge -y -q garpd >>"$base/apt.log" 2>&1 || { cat "$base/apt.log" >&2; exit 1; }
echo "purged_passwd=$(in_root getent passwd garpd || true)"
echo "purged_group=$(in_root getent group garpd || true)"
echo "purged_status=$(in_root dpkg-query -W -f='${db:Status-Abbrev}' garpd 2>/dev/null || true)"
echo "left:"
cd "$base/upper" && find . -iname '*garpd*' | grep -v '^./var/log/' || true
ls -d "$root/run/garpd" "$root/etc/garpd" "$root/usr/lib/garpd" 2>/dev/null || true
"""


@pytest.fixture
def throwaway_base() -> Iterator[Path]:
    """An empty directory the namespace mounts its tmpfs on (removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="garpd-root-"))
    try:
        yield path
    finally:
        path.rmdir()


def test_install_and_purge_in_a_throwaway_root(deb: Path, throwaway_base: Path) -> None:
    """apt installs the package (garpd on PATH, check, man pages, the system user, the unit
    not enabled) and purge removes every trace of it."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None
            and shutil.which("man") is not None,
            "installing needs root, unshare (util-linux) and man (man-db)")
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                             INSTALL_AND_PURGE, "install-and-purge", str(throwaway_base),
                             str(deb)],
                            capture_output=True, text=True, timeout=600.0, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    before, _, left = result.stdout.partition("left:\n")
    got = dict(line.split("=", 1) for line in before.splitlines())
    assert got["version"] == f"garpd {VERSION}"
    assert got["check"] == "ok"
    assert got["path"] == "/usr/bin/garpd"
    name, _, uid, _gid, _gecos, home, shell = got["passwd"].split(":")
    assert name == "garpd"
    assert 0 < int(uid) < 1000
    assert (home, shell) == ("/nonexistent", "/usr/sbin/nologin")
    assert got["status"].strip() == "ii"
    assert (got["man8"], got["man5"]) == ("1", "1")
    assert got["enabled"] == "0"
    assert int(got["bytecode"]) > 0  # postinst compiled the venv
    assert got["purged_passwd"] == got["purged_group"] == ""
    assert got["purged_status"].strip() in ("", "un", "pn")
    assert left.split() == []
