"""The modules imported in the background at the app's first run (divert.web.warm) cover every
module of the project a page imports, so that no dashboard's first visit imports one itself.
Read from the source (no import): the closure of what the warmed modules import."""

from __future__ import annotations

import ast
from pathlib import Path

from divert.core.environment import PROJECT_DIR
from divert.web import warm


def _imports(path: Path) -> set[str]:
    """The `divert` modules `path` imports (a `from package import name` counts the module
    package.name where that is a module, else the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("divert")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("divert"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if _source(f"{node.module}.{alias.name}")}
    return {name for name in found if _source(name)}


def _source(module: str) -> Path | None:
    base = PROJECT_DIR / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _closure(start: set[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen or not _source(name):
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # a module's packages run first
        todo += sorted(_imports(_source(name)))
    return seen


def test_every_module_a_page_imports_is_warmed():
    warmed = _closure({name for name in warm.names() if name.startswith("divert")})
    for page in sorted((PROJECT_DIR / "pages").glob("*.py")):
        missing = _imports(page) - warmed
        assert not missing, f"{page.name} imports {sorted(missing)}, which divert.web.warm does not import ahead"


def test_the_warm_list_names_real_modules_and_leaves_out_the_png_renderer():
    names = warm.names()
    assert all(_source(name) for name in names if name.startswith("divert")), names
    assert "divert.charts.build" in names and "divert.readmodels.volume_view" in names
    assert not set(warm.LEFT_OUT) & set(names)
