"""Imports point down the layers (docs/architecture.md), and no two modules import each other.

Every ``import scorecast.X`` anywhere in a module (functions included) must be allowed by
``MAY_IMPORT``: a package imports only the ones below it. Module-level imports between files form
no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scorecast"

_BASE = {"errors", "__init__"}  # ``scorecast.__version__`` is the package's own
#: what each top-level package or module of ``scorecast`` may import, besides itself
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "home_layout": _BASE,
    "config": _BASE | {"home_layout"},
    "domain": _BASE,
    "formats": _BASE | {"domain"},
    "predictors": _BASE | {"domain"},
    "store": _BASE,
    "state_folder": _BASE,
    "process_privacy": _BASE,
    "child_process": _BASE | {"state_folder"},
    "connectors": _BASE | {"config", "home_layout", "domain", "formats"},
    "engine": _BASE | {"domain", "formats", "connectors", "predictors"},
    "testing": _BASE | {"domain", "formats", "connectors", "store"},
    "log_format": _BASE | {"config"},
    "metrics": _BASE | {"store"},
    "service": _BASE
    | {"config", "home_layout", "domain", "connectors", "predictors", "store", "child_process"},
    "runtime": _BASE
    | {"config", "home_layout", "domain", "formats", "connectors", "predictors", "engine"}
    | {"store", "service"}
    | {"child_process", "metrics", "log_format"},
    "demo": _BASE | {"config", "home_layout", "domain", "service", "store"},
    "web": _BASE | {"config", "home_layout", "domain", "connectors", "service", "store"},
    "api": _BASE
    | {"config", "home_layout", "domain", "connectors", "service", "store", "metrics"}
    | {"log_format", "web"},
    "cli": {"*"},  # the top: the commands assemble everything
    "__main__": {"cli"},
    "__init__": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__") or "scorecast"] = path
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return top if top in MAY_IMPORT else "__init__"  # a name of the package root


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "scorecast":
                names.update(f"scorecast.{alias.name}" for alias in node.names)
            elif node.module.startswith("scorecast."):
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("scorecast."))
    return names


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, path in _modules().items():
        source = _top(module)
        allowed = MAY_IMPORT[source]
        for target in _imports(path, module_level_only=False):
            top = _top(target)
            if top != source and "*" not in allowed and top not in allowed:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    graph = {
        module: {t for t in _imports(path, module_level_only=True) if t in modules}
        for module, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if target.startswith(node + ".") or node.startswith(target + "."):
                continue  # a package and its own modules
            if state.get(target) == 1:
                cycles.append(
                    [*trail[trail.index(target) :], target] if target in trail else [node, target]
                )
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_layout_names_the_prepared_suffix_as_predictors_write_it() -> None:
    from scorecast import home_layout
    from scorecast.predictors import prepared

    assert home_layout.PREPARED_SUFFIX == prepared.SUFFIX
