#!/usr/bin/env bash
# Mutation testing of garpd's pure modules with mutmut (see MUTATION.md).
#
#   bash scripts/mutation.sh                 # every module below, one after another
#   bash scripts/mutation.sh core pacing     # only these
#   GARPD_MUTATION_RECHECK=1 bash scripts/mutation.sh core   # the last run's survivors and
#                                                            # unchecked mutants again
#   GARPD_MUTATION_SINCE=OLD/.mutation bash scripts/mutation.sh core   # only the functions
#                                      # changed since OLD's run; the others' verdicts carried
#
# Each module runs in its own scratch copy of the tree, .mutation/<module>/ (git-ignored),
# with a setup.cfg [mutmut] section naming that one file to mutate and only the fast,
# non-lab unit tests that exercise it (hypothesis with a fixed seed, so a run is
# repeatable). It runs under `nice -n 19` on at most GARPD_MUTATION_JOBS (default 2)
# workers, for at most GARPD_MUTATION_TIMEOUT seconds per module if that is set. Per module it leaves .mutation/<module>/summary.txt (one table row),
# results-all.txt (every mutant's verdict) and survivors.txt (the diff of every mutant that
# survived), and prints the row. A recheck works in .mutation/<module>-recheck/ and counts
# the full run's kills plus its own. GARPD_MUTATION_SINCE=DIR names the .mutation directory
# of an earlier run (its DIR/<module>/ holding the file it mutated and its results-all.txt,
# rechecks folded in): only the mutants of the functions whose definition changed since
# (or is new) are run, the other functions' verdicts are carried over from that run
# (scripts/mutation_since.py; the names are positions within a function, so an unchanged
# function has the same mutants), and results-all.txt holds both (mutmut's own listing is
# results-run.txt, since.txt says what came from where).
#
# The venv is a venv of its own (GARPD_MUTATION_VENV, default /opt/garpd-mutation), made
# with the [test,mutation] extras if mutmut is missing from it. Not the test venv: mutmut
# brings rich, which structlog imports when it can (+3.5 MB in every daemon the test venv
# runs, which the benchmark's memory rows measured on 2026-12-06).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${GARPD_MUTATION_VENV:-/opt/garpd-mutation}
jobs=${GARPD_MUTATION_JOBS:-2}
cd "$here"

# module name -> the file mutated and the unit tests run against each mutant
declare -A source=(
  [core]=garpd/core.py [pacing]=garpd/pacing.py [policy]=garpd/policy.py
  [arbiter]=garpd/arbiter.py [frames]=garpd/frames.py [vrrp]=garpd/vrrp.py
  [reader]=garpd/keepalived/reader.py [importer]=garpd/keepalived/importer.py
  [config]=garpd/config.py [conflicts]=garpd/conflicts.py [confirm]=garpd/confirm.py
  [events]=garpd/events.py
)
declare -A tests=(
  [core]="tests/test_core.py tests/test_core_lan.py tests/test_reconfigure.py tests/test_plan.py tests/test_runner.py tests/test_metrics.py tests/test_confirm.py tests/test_conflicts.py tests/test_netlink.py tests/test_core_exact.py tests/test_core_express.py"
  [pacing]="tests/test_pacing.py tests/test_core.py tests/test_core_lan.py tests/test_reconfigure.py tests/test_plan.py"
  [policy]="tests/test_policy.py tests/test_quickconfig.py tests/test_config.py tests/test_core.py tests/test_reconfigure.py tests/test_plan.py"
  [arbiter]="tests/test_arbiter_exact.py tests/test_arbiter.py tests/test_vrrp_trust.py"
  [frames]="tests/test_frames_exact.py tests/test_frames.py tests/test_core.py tests/test_core_express.py tests/test_neighbour_wire.py tests/test_confirm.py tests/test_conflicts.py"
  [vrrp]="tests/test_vrrp_exact.py tests/test_vrrp.py tests/test_arbiter.py tests/test_vrrp_trust.py"
  [reader]="tests/test_reader_exact.py tests/test_keepalived_conf.py tests/test_keepalived_wild.py"
  [importer]="tests/test_importer_exact.py tests/test_keepalived_conf.py tests/test_keepalived_wild.py"
  [config]="tests/test_config_exact.py tests/test_config.py tests/test_config_lan.py tests/test_metrics.py tests/test_keepalived_conf.py tests/test_plan.py"
  [conflicts]="tests/test_conflicts.py tests/test_core.py"
  [confirm]="tests/test_confirm.py"
  [events]="tests/test_core.py tests/test_arbiter.py tests/test_reconfigure.py tests/test_netlink.py"
)
# tests deselected per module: slow property tests (seconds each) that every mutant of a
# hot function would run; the exact tests kill what they would. (policy: the quickconfig
# test that checks which modules a one-shot loads fails on any mutated garpd/policy.py,
# whose mutmut trampoline imports tomllib.)
declare -A skip=(
  [core]="tests/test_plan.py::test_plans_account_for_every_frame tests/test_plan.py::test_runaway_simulation_is_cut_short tests/test_metrics.py::test_daemon_modules_do_not_import_prometheus_client"
  [pacing]="tests/test_plan.py::test_plans_account_for_every_frame tests/test_plan.py::test_runaway_simulation_is_cut_short"
  [policy]="tests/test_plan.py::test_plans_account_for_every_frame tests/test_plan.py::test_runaway_simulation_is_cut_short tests/test_quickconfig.py::test_a_plain_file_is_read_without_pydantic_and_anything_else_is_not"
  [config]="tests/test_plan.py::test_plans_account_for_every_frame tests/test_plan.py::test_runaway_simulation_is_cut_short tests/test_keepalived_conf.py::test_imports_within_garpd_ranges_always_validate tests/test_keepalived_conf.py::test_arbitrary_text_never_raises"
  [reader]="tests/test_keepalived_conf.py::test_imports_within_garpd_ranges_always_validate tests/test_keepalived_conf.py::test_arbitrary_text_never_raises tests/test_keepalived_wild.py::test_forty_thousand_instances tests/test_keepalived_wild.py::test_loads_keepalived_never_raises"
  [importer]="tests/test_keepalived_conf.py::test_imports_within_garpd_ranges_always_validate tests/test_keepalived_conf.py::test_arbitrary_text_never_raises tests/test_keepalived_wild.py::test_forty_thousand_instances tests/test_keepalived_wild.py::test_loads_keepalived_never_raises"
)
order=(core pacing vrrp frames arbiter policy reader importer config conflicts confirm events)

modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=("${order[@]}")
for m in "${modules[@]}"; do
  [ -n "${source[$m]:-}" ] || { echo "mutation.sh: unknown module '$m' (known: ${order[*]})" >&2; exit 2; }
done

if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi
if [ ! -x "$venv/bin/mutmut" ]; then
  "$venv/bin/pip" install -q ".[test,mutation]"
fi
echo "mutmut $("$venv/bin/pip" show mutmut | sed -n 's/^Version: //p') in $venv"

# Lab tests are deselected by marker; make sure none turns a skip into a failure.
unset GARPD_REQUIRE_LAB
export PATH="$venv/bin:$PATH"

for m in "${modules[@]}"; do
  work=.mutation/$m
  names=()
  first=
  since=
  if [ -n "${GARPD_MUTATION_SINCE:-}" ]; then
    [ -z "${GARPD_MUTATION_RECHECK:-}" ] || { echo "mutation.sh: GARPD_MUTATION_SINCE and GARPD_MUTATION_RECHECK do not mix" >&2; exit 2; }
    for f in results-all.txt "${source[$m]}"; do
      [ -f "$GARPD_MUTATION_SINCE/$m/$f" ] || { echo "mutation.sh: no $GARPD_MUTATION_SINCE/$m/$f" >&2; exit 2; }
    done
    since=$(cd "$GARPD_MUTATION_SINCE/$m" && pwd)
  fi
  if [ -n "${GARPD_MUTATION_RECHECK:-}" ]; then
    # Re-run only the mutants that survived the last full run (or had no tests, or that an
    # interrupted run never reached), against today's tests: tests are only ever added, so what was killed
    # stays killed. The source must not have changed since (mutant names are positional).
    [ -f "$work/results-all.txt" ] || { echo "mutation.sh: no full run of $m to recheck" >&2; exit 2; }
    mapfile -t names < <(awk -F': ' '/: survived$|: not checked$|: no tests$/ {gsub(/ /, "", $1); print $1}' "$work/results-all.txt")
    first=$work
    work=.mutation/$m-recheck
  fi
  rm -rf "$work"
  mkdir -p "$work"
  # the working tree as it is (committed or not), without ignored files
  git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work"
  test_files=()
  for t in ${tests[$m]}; do [ -f "$t" ] && test_files+=("$t"); done
  {
    echo "[mutmut]"
    echo "source_paths = garpd"
    echo "only_mutate = ${source[$m]}"
    # tests read the example config, the README, the man pages...: copy the whole tree
    echo "also_copy ="
    git ls-files | cut -d/ -f1 | sort -u | grep -vx -e garpd -e tests | sed 's/^/  /'
    echo "pytest_add_cli_args ="
    printf '  %s\n' -q -x -p no:cacheprovider --hypothesis-seed=0 -m "not lab and not keepalived and not slow"
    for t in ${skip[$m]:-}; do printf '  --deselect\n  %s\n' "$t"; done
    echo "pytest_add_cli_args_test_selection ="
    printf '  %s\n' "${test_files[@]}"
  } > "$work/setup.cfg"
  if [ -n "$since" ]; then
    mapfile -t names < <(python3 scripts/mutation_since.py changed "$since" "$work" "${source[$m]}")
  fi
  echo "== $m: mutating ${source[$m]} against ${test_files[*]}${first:+ (recheck of ${#names[@]} survivors)}${since:+ (the ${#names[@]} functions changed since $since)}"
  if [ -n "$first" ] && [ ${#names[@]} -eq 0 ]; then
    echo "$m: nothing survived"; continue
  fi
  if [ -n "$since" ] && [ ${#names[@]} -eq 0 ]; then
    echo "$m: no function changed since $since: its results stand"; continue
  fi
  # GARPD_MUTATION_TIMEOUT=SECONDS stops a module's run after that long: the mutants it
  # never reached are counted as "not checked" (a partial run; recheck mode finishes it).
  status=0
  (cd "$work" && nice -n 19 ${GARPD_MUTATION_TIMEOUT:+timeout -k 60 "$GARPD_MUTATION_TIMEOUT"} \
    mutmut run --max-children "$jobs" "${names[@]}" > run.log 2>&1) || status=$?
  if [ "$status" -eq 124 ]; then
    echo "   $m: stopped after ${GARPD_MUTATION_TIMEOUT}s (partial run)"
  elif [ "$status" -ne 0 ] && ! grep -q "__mutmut_" "$work/mutants/${source[$m]}" 2>/dev/null; then
    # nothing to mutate (events.py: frozen dataclasses only, no function bodies)
    echo "$m: mutants 0 (no function bodies to mutate)" | tee "$work/summary.txt"; continue
  elif [ "$status" -ne 0 ]; then
    echo "mutation.sh: mutmut failed for $m, see $work/run.log" >&2; tail -20 "$work/run.log" >&2; exit 1
  fi
  if [ -n "$since" ]; then
    (cd "$work" && mutmut results --all true > results-run.txt)
    python3 scripts/mutation_since.py merge "$since" "$work" "${source[$m]}"
  else
    (cd "$work" && mutmut results --all true > results-all.txt)
  fi
  : > "$work/survivors.txt"
  for name in $(awk -F': ' '/: survived$|: no tests$|: suspicious$/ {gsub(/ /, "", $1); print $1}' "$work/results-all.txt"); do
    (cd "$work" && mutmut show "$name") >> "$work/survivors.txt" 2>&1
  done
  python3 - "$m" "$work" "$first" <<'EOF'
import sys
from collections import Counter

def counts(path):
    c = Counter()
    for line in open(path):
        name, _, status = line.strip().rpartition(": ")
        if name:
            c[status] += 1
    return c

m, work, first = sys.argv[1], sys.argv[2], sys.argv[3]
now = counts(f"{work}/results-all.txt")
if first:  # a recheck: the full run's kills stand, its survivors are judged again
    full = counts(f"{first}/results-all.txt")
    total = sum(full.values())
    killed = full["killed"] + full["timeout"] + now["killed"] + now["timeout"]
    survived = now["survived"]
else:
    total = sum(now.values())
    killed = now["killed"] + now["timeout"]
    survived = now["survived"]
other = total - killed - survived
score = 100.0 * killed / total if total else 0.0
row = (f"{m}: mutants {total}, killed {killed}, survived {survived}, "
       f"not checked/no tests {other}, score {score:.1f}%")
open(f"{work}/summary.txt", "w").write(row + "\n")
print(row)
EOF
  if [ -s "$work/survivors.txt" ]; then echo "   survivors: $work/survivors.txt"; fi
done
