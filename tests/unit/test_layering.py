"""The package is a one-way house: no import cycle, and no module imports one from a layer above
its own (the layers are documented at the top of ``dlvsml/__init__.py``).

Imports are read from the source (module level and inside functions alike, so a function-level
import cannot hide a cycle); only ``if TYPE_CHECKING:`` blocks are skipped, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dlvsml"

# Bottom to top: a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, ...]] = [
    ("dlvsml.errors", "dlvsml.faults", "dlvsml.sqlite", "dlvsml.records", "dlvsml.metrics",
     "dlvsml.cell_plots", "dlvsml.lifetime", "dlvsml.guard", "dlvsml.stale_trials"),
    ("dlvsml.data",),
    ("dlvsml.models",),
    ("dlvsml.spec",),
    ("dlvsml.stores", "dlvsml.tuning", "dlvsml.tracking"),
    ("dlvsml.run",),
    ("dlvsml.analysis",),
    ("dlvsml.recommender",),
    ("dlvsml._api", "dlvsml.dashboard"),
    ("dlvsml.cli", "dlvsml.cli_recommend", "dlvsml"),
]  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str) -> set[str]:
    """Modules of the package that ``name`` imports (``from pkg import sub`` is ``pkg.sub``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            subs = [f"{base}.{alias.name}" for alias in node.names]
            named_modules = [sub for sub in subs if sub in MODULES]
            found.update(named_modules or [base])
            if len(named_modules) < len(subs):
                found.add(base)

    Visitor().visit(ast.parse(path.read_text()))
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix != "dlvsml" and name.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    if best is None:
        raise AssertionError(f"{name} has no layer: add it to LAYERS and to dlvsml/__init__.py")
    return best[0]


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(name: str) -> None:
    above = {m for m in GRAPH[name] if layer_of(m) > layer_of(name)}
    assert not above, f"{name} (layer {layer_of(name)}) imports {sorted(above)} from above"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
