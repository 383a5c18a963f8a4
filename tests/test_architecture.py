"""The package's layers (docs/architecture.md) hold: `lint-imports` checks the contracts in
pyproject.toml in .ci/run; here an `ast` walk of divert/, pages/ and app.py finds no import
cycle, counting imports inside functions and the package `__init__` each import runs first;
few modules stand loose at the top of divert/, none is over 500 lines and no function over 80;
no page imports polars or Altair."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
MAX_LOOSE = 8
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    files = [*ROOT.glob("divert/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]
    return {module_name(p): p for p in files if "migrations" not in p.parts}


def imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module and the modules its import statements run, wherever they stand: `from a.b
    import c` runs a, a.b and, if it is a module, a.b.c."""
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                found |= {".".join(parts[:k]) for k in range(1, len(parts) + 1)} & modules.keys()
        graph[name] = found - {name} - {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the path round it, or None."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    return path[path.index(child):] + [child]
                if child not in state and child in graph:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(graph[child]))))
                    break
            else:
                state[node] = 2
                path.pop()
                stack.pop()
    return None


def test_no_import_cycle_anywhere():
    graph = imports(sources())
    assert {"divert.core.codes", "divert.web.access", "divert.cli.main", "app"} <= graph.keys()
    assert "divert.core.codes" in graph["divert.reference.census"]  # it sees the imports it should
    assert cycle_in(graph) is None, " -> ".join(cycle_in(graph))


graphs = st.dictionaries(st.sampled_from("abcdef"), st.sets(st.sampled_from("abcdef"), max_size=3), max_size=6)


def reachable(graph, start):
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


@given(graphs)
def test_the_cycle_finder_finds_a_cycle_exactly_when_there_is_one(graph):
    graph = {node: {n for n in edges if n in graph} for node, edges in graph.items()}
    has_cycle = any(node in reachable(graph, node) for node in graph)
    found = cycle_in(graph)
    assert (found is not None) == has_cycle
    if found:
        assert found[0] == found[-1] and all(b in graph[a] for a, b in zip(found, found[1:], strict=False))


def test_few_loose_modules_and_none_too_long():
    loose = sorted(p.name for p in (ROOT / "divert").glob("*.py"))
    assert len(loose) <= MAX_LOOSE, loose
    long = {name: n for name, path in sources().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_function_too_long():
    """No function over 80 lines (migrations aside): a longer one hides more than one job."""
    long = {f"{name}.{node.name}": n for name, path in sources().items()
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module's import statements name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_pages_are_thin():
    """A page reads its filters, calls a read model and hands the result to chart and table
    helpers: no page imports polars or Altair (their code lives in divert/readmodels/ and
    divert/charts/)."""
    found = {name: sorted(heavy) for name, path in sources().items()
             if name.startswith("pages.") and (heavy := imported_packages(path) & {"polars", "altair"})}
    assert not found, f"pages doing their own data or chart work: {found}"
