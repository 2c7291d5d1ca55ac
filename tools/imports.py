"""The project's import graph, read from the source: module → the project modules it imports.

    python tools/imports.py            # print the graph, one module a line, with its size
    python tools/imports.py --check    # exit 1 on an import cycle or an upward import

Every import counts: top-level, inside functions (lazy) and under TYPE_CHECKING,
since each is a dependency a reader must follow. Importing a package's
`__init__` is an edge to that package module; a submodule's implicit load of
its parent package is not (Python's machinery, not the code's choice).
Upward imports are the library importing what is built on it: `rag` must not
import `ui`, `evals`, `benchmarks` or `cli`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["project_modules", "import_graph", "find_cycle", "upward_imports", "main"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ui", "evals", "benchmarks")
SCRIPTS = ("cli",)
APPS = ("ui", "evals", "benchmarks", "cli")


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → source file, for the project's packages and top-level scripts."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    for script in SCRIPTS:
        if (root / f"{script}.py").is_file():
            modules[script] = root / f"{script}.py"
    return modules


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved against `module`)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        names: Iterable[str] = ()
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for name in names:
            # the longest project module the name starts with (a.b.c → a.b when c is a function)
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                candidate = ".".join(parts[:cut])
                if candidate in known:
                    if candidate != module:
                        found.add(candidate)
                    break
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the project modules it imports (lazy and type-only imports included)."""
    modules = project_modules(root)
    known = set(modules)
    return {module: _targets(module, path, known) for module, path in sorted(modules.items())}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None.

    >>> find_cycle({"a": {"b"}, "b": {"a"}})
    ['a', 'b', 'a']
    >>> find_cycle({"a": {"b"}, "b": set()}) is None
    True
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(rag module, app module) pairs where the library imports an app built on it."""
    return sorted(
        (module, target)
        for module, targets in graph.items()
        if module.split(".")[0] == "rag"
        for target in targets
        if target.split(".")[0] in APPS
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on a cycle or an upward import")
    args = parser.parse_args(argv)
    graph = import_graph()
    modules = project_modules()
    if not args.check:
        for module, targets in graph.items():
            lines = len(modules[module].read_text(encoding="utf-8").splitlines())
            print(f"{module} ({lines} lines) → {', '.join(sorted(targets)) or '—'}")
    problems = []
    cycle = find_cycle(graph)
    if cycle:
        problems.append("import cycle: " + " → ".join(cycle))
    problems += [f"upward import: {a} imports {b}" for a, b in upward_imports(graph)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.check and not problems:
        print(f"{len(graph)} modules, no import cycle, no upward import")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
