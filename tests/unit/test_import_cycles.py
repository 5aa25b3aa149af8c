"""No import circle among `chalicelib` modules.

Every import counts: at the top of a module, inside a function (a lazy import only hides a circle,
it does not break it), under `TYPE_CHECKING`, and a module loaded by name (`importlib.import_module`,
`lazy.lazy_module` with a literal name). Relative imports are resolved; `from pkg import
name` is an edge to `pkg.name` when that is a module, else to `pkg`. A package's `__init__` is a
node only when it imports something itself (an empty one runs nothing that could close a circle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported_names(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every chalicelib module `module` imports, anywhere in its body."""
    package = module if _is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in modules else target
        elif isinstance(node, ast.Call) and _loader_name(node.func) in LOADERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value


LOADERS = {"import_module", "lazy_module"}


def _loader_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _runs_imports(path: Path) -> bool:
    return any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(ast.parse(path.read_text())))


def import_graph() -> dict[str, set[str]]:
    """Module -> the chalicelib modules it imports (packages with an import-free `__init__` left out)."""
    modules = _modules()
    nodes = {m for m, p in modules.items() if not _is_package(p) or _runs_imports(p)}
    graph: dict[str, set[str]] = {m: set() for m in nodes}
    for module in nodes:
        for name in _imported_names(module, modules[module], modules):
            # importing a.b.c runs a, a.b and a.b.c: each that is a node is an edge
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                if target in nodes and target != module:
                    graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One named circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_circle(graph, c) for c in components]


def _one_circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no circle through {start}")


def test_no_chalicelib_module_imports_itself_back_through_others() -> None:
    found = cycles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_walk_sees_lazy_relative_and_type_checking_imports() -> None:
    graph = import_graph()
    # A relative import at the top of a module.
    assert "chalicelib.domain.shipments" in graph["chalicelib.services.tracking"]
    # Lazy imports inside functions count too (inbound applies what every sender sends).
    assert {"chalicelib.services.payments", "chalicelib.services.supplier_portal"} <= graph["chalicelib.services.inbound"]
    # And those under TYPE_CHECKING (config names domain policies only for the type checker).
    assert "chalicelib.domain.holds" in graph["chalicelib.config"]
    # So does a module loaded by its name.
    assert "chalicelib.services.cancellations" in graph["chalicelib.services.supplier_workflow"]


def test_a_circle_is_named_module_by_module() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_deadline_kind_that_acts_has_its_action_in_the_sweep() -> None:
    # Deadlines are written without the sweep (services/deadlines.py) so that the sweep may call
    # back into the services that write them; the two lists must name the same kinds.
    from chalicelib.services import deadlines, escalations

    assert set(escalations.DEADLINE_ACTIONS) == set(deadlines.ACTION_KINDS)
