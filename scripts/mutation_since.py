"""Carry an older mutation run's verdicts over to the functions that did not change.

    python3 scripts/mutation_since.py changed OLD_RUN WORK FILE   # mutmut name patterns
    python3 scripts/mutation_since.py merge OLD_RUN WORK FILE     # results-all.txt of WORK

``scripts/mutation.sh`` calls both in its ``GARPD_MUTATION_SINCE`` mode (see MUTATION.md).
``OLD_RUN`` is the scratch directory of an earlier run of the module (``.mutation/core``
of some older tree, its rechecks folded in by ``mutation_fold.py``): it holds the copy of
``FILE`` it mutated and its ``results-all.txt``. ``WORK`` is today's scratch directory.

A function is *unchanged* when its whole ``def`` (decorators, arguments, body, docstring)
parses to the same syntax tree in both copies of ``FILE``: the hash mutmut itself keeps
per function to reuse verdicts. mutmut numbers a function's mutants in the order it
finds them within that function only, so an unchanged function has the same mutants
under the same names; ``merge`` checks that the names match and refuses otherwise.

``changed`` prints one ``mutmut run`` pattern per changed or new function
(``garpd.core.xǁAnnouncerǁpoll__mutmut_*``). ``merge`` reads mutmut's listing of the run
that tested only those (``WORK/results-run.txt``) and writes ``WORK/results-all.txt``:
the run's verdicts for changed functions, the old run's for the others. It also writes
``WORK/since.txt`` saying what came from where.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

from mutation_fold import verdicts  # scripts/ is sys.path[0] when run as a script

#: Every status mutmut lists (mutation_fold.VERDICTS is the subset a recheck may fold in).
ALL_VERDICTS = ("killed", "timeout", "survived", "no tests", "not checked", "suspicious",
            "skipped", "segfault", "caught by type check")


def function_hashes(source: str) -> dict[str, str]:
    """mutmut's function key (``x_f``, ``xǁClassǁmethod``) -> hash of its whole ``def``,
    computed as mutmut 3.8 does (``compute_function_hashes``)."""
    hashes: dict[str, str] = {}

    def visit(body: list[ast.stmt], cls: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"xǁ{cls}ǁ{node.name}" if cls else f"x_{node.name}"
                dump = ast.dump(node, annotate_fields=False).encode()
                hashes[key] = hashlib.sha256(dump).hexdigest()[:12]
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{cls}.{node.name}" if cls else node.name)

    visit(ast.parse(source).body, "")
    return hashes


def module_of(file: str) -> str:
    """``garpd/keepalived/reader.py`` -> ``garpd.keepalived.reader``."""
    return file.removesuffix(".py").replace("/", ".")


def changed_functions(old_run: Path, work: Path, file: str) -> tuple[list[str], list[str]]:
    """(changed or new function keys, unchanged ones), each sorted."""
    old = function_hashes((old_run / file).read_text())
    new = function_hashes((work / file).read_text())
    changed = sorted(k for k in new if old.get(k) != new[k])
    return changed, sorted(k for k in new if old.get(k) == new[k])


def function_of(name: str) -> str:
    """``garpd.core.xǁAnnouncerǁpoll__mutmut_12`` -> ``xǁAnnouncerǁpoll``."""
    return name.rpartition("__mutmut_")[0].rpartition(".")[2]


def merge(old_run: Path, work: Path, file: str) -> str:
    """Write ``work/results-all.txt`` (see the module docstring); a one-line account."""
    changed, unchanged = changed_functions(old_run, work, file)
    old = verdicts(old_run / "results-all.txt", ALL_VERDICTS)
    run = verdicts(work / "results-run.txt", ALL_VERDICTS)
    by_function: dict[str, set[str]] = defaultdict(set)
    for name in old:
        by_function[function_of(name)].add(name)
    kept = set(unchanged)
    lines, carried, tested = [], 0, 0
    for name, status in run.items():
        function = function_of(name)
        if function in kept:
            if name not in old:
                raise SystemExit(f"mutation_since.py: {name} of unchanged {function} is not "
                                 f"in {old_run}/results-all.txt: was that run made with "
                                 "another mutmut?")
            carried += 1
        else:
            tested += 1
        lines.append(f"    {name}: {old[name] if function in kept else status}")
    for function in kept:
        now = {n for n in run if function_of(n) == function}
        if now != by_function.get(function, set()):
            raise SystemExit(f"mutation_since.py: unchanged {function} has other mutants "
                             f"than in {old_run}")
    (work / "results-all.txt").write_text("".join(f"{line}\n" for line in lines))
    gone = sorted({function_of(n) for n in old} - set(changed) - kept)
    account = (f"{carried} verdicts carried over from {old_run} ({len(kept)} unchanged "
               f"functions), {tested} mutants of {len(changed)} changed or new functions "
               f"tested: {', '.join(changed) or 'none'}; gone: {', '.join(gone) or 'none'}")
    (work / "since.txt").write_text(account + "\n")
    return account


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in ("changed", "merge"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    command, old_run, work, file = argv[0], Path(argv[1]), Path(argv[2]), argv[3]
    for path in (old_run / file, old_run / "results-all.txt", work / file):
        if not path.is_file():
            print(f"mutation_since.py: no {path}", file=sys.stderr)
            return 2
    if command == "changed":
        for function in changed_functions(old_run, work, file)[0]:
            print(f"{module_of(file)}.{function}__mutmut_*")
    else:
        print(merge(old_run, work, file))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
