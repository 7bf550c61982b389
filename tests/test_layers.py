"""The package's layers point one way: a module imports only from its own layer or the layers
below it, and no two modules import each other, even under TYPE_CHECKING (docs/architecture.md
draws the picture)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "byom_sql"

LAYERS = [
    ["errors", "redact", "config", "sqlbuild", "types", "duckdb_errors", "result"],
    ["secrets"],
    ["options"],
    ["dialect"],
    ["cache", "catalog"],
    ["models"],
    ["databases"],
    ["planning"],
    ["session"],
    ["execution"],
    ["statements", "guard"],
    ["engine"],
    ["__init__", "dbapi", "alchemy"],
    ["serving"],
    ["server"],
    ["demo"],
    ["cli"],
    ["__main__"],
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / relative).with_suffix(".py").is_file() or (
        PACKAGE / relative / "__init__.py"
    ).is_file()


def imports_of(path: Path) -> set[str]:
    """The byom_sql modules a file imports (a `from pkg import module` counts as the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("byom_sql"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("byom_sql"):
            assert node.module is not None
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if is_module(child) else node.module)
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    assert top in LAYER_OF, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return LAYER_OF[top]


GRAPH = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer() -> None:
    for module in GRAPH:
        layer(module)


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            module, path = stack.pop()
            for target in GRAPH.get(module, ()):
                if target == start:
                    return [*path, start]
                # a package's __init__ re-exporting its own modules is not a cycle
                if target not in seen and not start.startswith(f"{target}."):
                    seen.add(target)
                    stack.append((target, [*path, target]))
        return None

    cycles = {tuple(c) for m in GRAPH if (c := cycle_from(m)) is not None}
    assert not cycles, "\n".join(" → ".join(c) for c in sorted(cycles))
