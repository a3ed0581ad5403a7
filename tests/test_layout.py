"""The package's shape, read from its source with ``ast``: every import counts, at the top, in
a function or under ``if TYPE_CHECKING``. No import circle inside garpd; garpd and bench
never import tests; only ``garpd.__main__`` imports ``garpd.cli``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``package``."""
    found: dict[str, Path] = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The dotted names ``module`` imports anywhere in its file; ``from a import b`` names
    ``a.b`` when that is a module in ``known``, else ``a``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in known else base


def _graph(package: str) -> dict[str, set[str]]:
    """Module -> the names it imports, for every module of ``package``."""
    modules = _modules(package)
    known = set(modules) | set(_modules("garpd"))
    return {m: set(_imported(m, p, known)) for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing
    itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_planted_circle() -> None:
    """The checker itself: a two-module circle and a self-import are found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_garpd_has_no_import_circle() -> None:
    """No circle in the graph of garpd's modules (every import, wherever it stands)."""
    graph = _graph("garpd")
    assert "garpd.lab.netns" in graph  # the walk sees subpackages
    assert _cycles(graph) == []


def test_garpd_and_bench_never_import_tests() -> None:
    """The product and the benchmark stand without the test suite."""
    offenders = {
        module: sorted(n for n in names if n == "tests" or n.startswith("tests."))
        for package in ("garpd", "bench")
        for module, names in _graph(package).items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_only_main_imports_the_cli() -> None:
    """garpd.cli is the face: no module of garpd or bench imports it but garpd.__main__."""
    importers = sorted(
        module
        for package in ("garpd", "bench")
        for module, names in _graph(package).items()
        if "garpd.cli" in names or any(n.startswith("garpd.cli.") for n in names)
    )
    assert importers == ["garpd.__main__"]
