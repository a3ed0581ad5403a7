#!/usr/bin/env bash
# Build the Debian package garpd_VERSION_ARCH.deb from this checkout (debian/: dh-virtualenv,
# an embedded virtual environment in /usr/lib/garpd). The build runs in a clean temporary
# copy of the sources, so the checkout is left as it was; pip fetches garpd's dependencies
# (from PyPI or the configured index). Build dependencies: debhelper, dh-virtualenv,
# python3-venv, dpkg-dev (scripts/test.sh installs them).
#   bash scripts/build-deb.sh [OUTDIR]     (default OUTDIR: dist/; prints the .deb's path)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$here/dist}" && cd "${1:-$here/dist}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/garpd-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/garpd"

# A clean copy: tracked and new files, without venvs, caches or earlier builds.
if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$here" && git ls-files -z --cached --others --exclude-standard \
     | tar --null --files-from=- --ignore-failed-read -cf -) | tar -C "$work/garpd" -xf -
else
  tar -C "$here" --exclude=.git --exclude=dist --exclude='*.egg-info' --exclude=build \
      --exclude=__pycache__ --exclude=.mypy_cache --exclude=.ruff_cache \
      --exclude=.pytest_cache --exclude=.hypothesis -cf - . | tar -C "$work/garpd" -xf -
fi

(cd "$work/garpd" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -n 60 "$work/build.log" >&2
  echo "build-deb.sh: dpkg-buildpackage failed (the last 60 lines of its log are above)" >&2
  exit 1
}
debs=("$work"/garpd_*.deb)
cp "${debs[@]}" "$out/"
for deb in "${debs[@]}"; do echo "$out/$(basename "$deb")"; done
