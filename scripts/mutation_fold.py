"""Fold a mutation recheck's verdicts into the full run's results (see MUTATION.md).

    python3 scripts/mutation_fold.py MODULE     # after GARPD_MUTATION_RECHECK=1 ... MODULE

Every mutant that ``.mutation/MODULE/results-all.txt`` lists as survived, not checked or
without tests and that ``.mutation/MODULE-recheck/results-all.txt`` gives another verdict
gets that verdict, so that the next recheck runs only what still survives. The full run's
own file is kept once as ``results-all.first.txt``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

OPEN = ("survived", "not checked", "no tests")
VERDICTS = ("killed", "timeout", "survived", "no tests")


def verdicts(path: Path, known: tuple[str, ...] = VERDICTS) -> dict[str, str]:
    """Mutant name -> verdict (one of ``known``), from a ``mutmut results --all true``
    listing."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, _, status = line.rpartition(": ")
        if name.strip() and status in known:
            out[name.strip()] = status
    return out


def fold(full: Path, recheck: Path) -> int:
    """Fold ``recheck``'s verdicts into ``full``'s results; how many changed."""
    results = full / "results-all.txt"
    first = full / "results-all.first.txt"
    if not first.exists():
        shutil.copyfile(results, first)
    new = verdicts(recheck / "results-all.txt")
    lines, changed = [], 0
    for line in results.read_text().splitlines():
        name, _, status = line.rpartition(": ")
        key = name.strip()
        if status in OPEN and key in new and new[key] != status:
            lines.append(f"{name}: {new[key]}")
            changed += 1
        else:
            lines.append(line)
    results.write_text("".join(f"{line}\n" for line in lines))
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: mutation_fold.py MODULE", file=sys.stderr)
        return 2
    full, recheck = Path(".mutation", argv[0]), Path(".mutation", f"{argv[0]}-recheck")
    for path in (full, recheck):
        if not (path / "results-all.txt").is_file():
            print(f"mutation_fold.py: no {path}/results-all.txt", file=sys.stderr)
            return 2
    print(f"folded {fold(full, recheck)} verdicts from {recheck} into {full}/results-all.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
