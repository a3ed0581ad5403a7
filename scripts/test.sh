#!/usr/bin/env bash
# Install everything the tests need and run the whole suite (what CI runs).
# Debian packages: python3-venv, iproute2 (namespaces), keepalived (integration tests),
# nftables (to drop VRRP in split-brain tests), procps, systemd (a private systemd-journald
# for the journal tests; systemd-analyze), util-linux (unshare, setpriv), tshark (reads
# watch's pcap back), frr (the FRR vrrpd lab test), and for the Debian package's build and
# install tests: build-essential, debhelper, dh-virtualenv, dpkg-dev, fakeroot, lintian,
# man-db. Python: garpd with its [test] extra in /opt/garpd-test. Run as root so the
# namespace lab tests run: sudo bash scripts/test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${GARPD_TEST_VENV:-/opt/garpd-test}
export DEBIAN_FRONTEND=noninteractive
cd "$here"

if [ "$(id -u)" = 0 ]; then
  missing=()
  for pkg in python3-venv iproute2 keepalived nftables procps iputils-arping systemd util-linux \
             tshark frr build-essential debhelper dh-virtualenv dpkg-dev fakeroot lintian man-db; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # keepalived's package starts a service on some systems; the tests run their own.
  if [ -d /run/systemd/system ]; then systemctl disable --now keepalived >/dev/null 2>&1 || true; fi
  export GARPD_REQUIRE_LAB=${GARPD_REQUIRE_LAB:-1}
else
  echo "test.sh: not root: the namespace lab tests will be skipped" >&2
fi
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi
# A regular (not editable) install: the console script is then exactly what operators run
# (an editable install adds an import hook that costs the notify hook ~20 ms).
"$venv/bin/pip" install --quiet --disable-pip-version-check ".[test]"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps .
"$venv/bin/ruff" check garpd tests bench fuzz
"$venv/bin/mypy"
exec "$venv/bin/pytest" -q "$@"
