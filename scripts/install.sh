#!/usr/bin/env bash
# Install garpd on a Debian machine: a virtual environment in /opt/garpd (Debian 12's own
# python3 refuses system-wide pip installs, PEP 668), /usr/local/bin/garpd, the system user
# garpd the service runs as (CAP_NET_RAW only, see systemd/garpd.service), the systemd unit
# and an example configuration. Run as root from a checkout: sudo bash scripts/install.sh
# (The Debian package, scripts/build-deb.sh, is the other way to install.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=${GARPD_PREFIX:-/opt/garpd}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo bash scripts/install.sh)" >&2
  exit 2
fi
python=/usr/bin/python3
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1 || ! command -v ip >/dev/null \
   || ! command -v adduser >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv iproute2 adduser >/dev/null
fi
# The unprivileged user the service runs as (as the package's postinst does).
if ! getent passwd garpd >/dev/null; then
  adduser --quiet --system --group --no-create-home --home /nonexistent garpd
fi
if [ ! -x "$prefix/bin/python" ]; then
  "$python" -m venv "$prefix"
fi
"$prefix/bin/pip" install --quiet --disable-pip-version-check "$here"
ln -sf "$prefix/bin/garpd" /usr/local/bin/garpd
# The unit names the package's /usr/bin/garpd; this install's program is in $prefix.
install -d -m 0755 /etc/systemd/system
sed "s|^ExecStart=/usr/bin/garpd |ExecStart=$prefix/bin/garpd |" "$here/systemd/garpd.service" \
  >/etc/systemd/system/garpd.service
chmod 0644 /etc/systemd/system/garpd.service
install -d -m 0755 /etc/garpd
install -m 0644 "$here/config/garpd.toml" /etc/garpd/garpd.toml.example
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
echo "garpd installed in $prefix ($("$prefix/bin/garpd" --version 2>/dev/null || echo garpd))"
