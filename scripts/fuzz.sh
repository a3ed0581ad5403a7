#!/usr/bin/env bash
# Coverage-guided fuzzing of garpd's parsers of outside input with atheris (libFuzzer):
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# runs each target (fuzz/<target>.py; default: all of them) for SECONDS (default 600) under
# `nice -n 19`, GARPD_FUZZ_JOBS at a time (default 1), with libFuzzer's -max_total_time,
# -timeout (a hang: GARPD_FUZZ_TIMEOUT s, default 5) and -rss_limit_mb (default 1024).
# Seeds come from fuzz/seeds/<target>; the grown corpus, logs, crashes (crash-*, timeout-*,
# oom-*) and the harness's timing files (<target>.json: the slowest input in ms;
# <target>.slow-*: inputs over 100 ms, to replay) go to GARPD_FUZZ_DIR (default
# fuzz/runs, not committed). As root, the targets run as `nobody` (setpriv): fuzzed paths
# in a configuration may then name nothing a root-only file would answer to.
# Needs atheris (the [fuzz] or [test] extra) in GARPD_FUZZ_VENV (default /opt/garpd-test).
# Replay one input: python -m fuzz.<target> FILE. Exit 1 if any target found something.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${GARPD_FUZZ_VENV:-/opt/garpd-test}
seconds=${1:-600}
[ $# -gt 0 ] && shift
all=(vrrp neighbour netlink control fifo hook keepalived toml)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs=${GARPD_FUZZ_JOBS:-1}
out=${GARPD_FUZZ_DIR:-$here/fuzz/runs}
cd "$here"
mkdir -p "$out/artifacts"
drop=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  drop=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  chown -R nobody:nogroup "$out"
fi

run() {
  local t=$1
  [ -f "fuzz/$t.py" ] || { echo "fuzz.sh: no target $t (have: ${all[*]})" >&2; return 2; }
  mkdir -p "$out/corpus/$t"
  [ ${#drop[@]} -gt 0 ] && chown nobody:nogroup "$out/corpus/$t"
  local status=0
  nice -n 19 "${drop[@]}" env GARPD_FUZZ_OUT="$out/artifacts" \
    "$venv/bin/python" -m "fuzz.$t" -max_total_time="$seconds" \
    -timeout="${GARPD_FUZZ_TIMEOUT:-5}" -rss_limit_mb="${GARPD_FUZZ_RSS_MB:-1024}" \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
    "$out/corpus/$t" "fuzz/seeds/$t" >"$out/$t.log" 2>&1 || status=$?
  echo "$status" >"$out/$t.status"
}

running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

# One line per target: status, executions, libFuzzer's last cov/ft/corp figures, the
# slowest input (ms of CPU), the inputs over 100 ms.
failed=0
printf '%-11s %6s %10s %7s %7s %7s %11s %5s\n' target status execs cov ft corp slowest_ms slow
for t in "${targets[@]}"; do
  log=$out/$t.log
  status=$(cat "$out/$t.status" 2>/dev/null || echo "?")
  [ "$status" = 0 ] || failed=1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  slowest=$("$venv/bin/python" -c 'import json,sys
try: print("%.1f" % json.load(open(sys.argv[1]))["slowest_ms"])
except OSError: print("?")' "$out/artifacts/$t.json")
  slow=$(find "$out/artifacts" -name "$t.slow-*" | wc -l)
  printf '%-11s %6s %10s %7s %7s %7s %11s %5s\n' "$t" "$status" "${execs:-?}" "${cov:-?}" \
    "${ft:-?}" "${corpus:-?}" "$slowest" "$slow"
done
exit "$failed"
