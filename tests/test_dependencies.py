"""The package's dependencies point one way: no cycles between its parts, nothing imports cli."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "facesynth_bench"


def part_of(module: str) -> str:
    """The top-level part of the package a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "facesynth_bench"


def import_graph() -> dict[str, set[str]]:
    """part -> the other parts it imports (at module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = part_of(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "facesynth_bench"
            ):
                target = part_of(node.module)
                if target != source:
                    graph.setdefault(source, set()).add(target)
    return graph


def test_nothing_below_the_cli_imports_it():
    graph = import_graph()
    assert sorted(part for part, targets in graph.items() if "cli" in targets) == []


def test_the_parts_form_no_cycle():
    graph = import_graph()
    done: set[str] = set()

    def visit(part: str, path: tuple[str, ...]) -> None:
        assert part not in path, " -> ".join([*path, part])
        if part in done:
            return
        for target in sorted(graph.get(part, ())):
            visit(target, (*path, part))
        done.add(part)

    for part in sorted(graph):
        visit(part, ())
