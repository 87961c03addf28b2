"""The package's layers, as its folders name them, with every import pointing down and no cycle.

    bottom modules (src/faststyle/*.py)  ->  model, loss  ->  training  ->  export
        ->  inference, runtime.py  ->  quality  ->  commands, web

Read from the source with `ast`, so every import counts: those inside functions (a lazy import
may put off loading a heavy dependency, never an arrow that points up) and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "faststyle"
LAYERS = {
    "model": 1,
    "loss": 1,
    "training": 2,
    "export": 3,
    "inference": 4,
    "runtime": 4,
    "quality": 5,
    "commands": 6,
    "web": 6,
}
TORCH = ("torch", "torchvision", "lightning")  # what faststyle.runtime must run without


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # a faststyle module, or the top-level name of a third-party one
    line: int

    def where(self) -> str:
        return f"{module_file(self.source).relative_to(PACKAGE.parents[1])}:{self.line}"


def module_file(name: str) -> Path:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_of(name: str, known: set[str]) -> list[Import]:
    """Every import in `name`'s source: faststyle modules by their full name (`from
    faststyle.inference import choose` is faststyle.inference.choose), others by their top name."""
    path = module_file(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append(Import(name, full if full in known else base, node.lineno))
    return [
        imp if imp.target.split(".")[0] == "faststyle" else Import(name, imp.target.split(".")[0], imp.line)
        for imp in found
        if imp.target != name
    ]


def graph() -> dict[str, list[Import]]:
    known = set(modules())
    return {name: imports_of(name, known) for name in known}


def layer(name: str) -> tuple[int, str]:
    """(rank, layer name): the package's subfolder, or runtime.py; every other module directly
    in src/faststyle (and the package itself) is a bottom module, rank 0."""
    parts = name.split(".")
    part = parts[1] if len(parts) > 1 else "faststyle"
    return (LAYERS[part], part) if part in LAYERS else (0, "bottom")


def find_cycle(edges: dict[str, list[Import]]) -> list[Import] | None:
    """One cycle of imports among faststyle modules, as the imports that close it, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[Import] = []

    def visit(name: str) -> list[Import] | None:
        state[name] = "open"
        for imp in edges[name]:
            if imp.target not in edges:
                continue
            if state.get(imp.target) == "open":
                start = next((i for i, step in enumerate(path) if step.source == imp.target), len(path))
                return [*path[start:], imp]
            if imp.target not in state:
                path.append(imp)
                cycle = visit(imp.target)
                if cycle:
                    return cycle
                path.pop()
        state[name] = "done"
        return None

    for name in sorted(edges):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, (
        "import cycle: " + " -> ".join(f"{imp.source} ({imp.where()})" for imp in cycle) + f" -> {cycle[0].source}"
    )


def test_every_import_points_down_the_layers():
    upward = {
        f"{imp.where()}: {imp.source} ({layer(imp.source)[1]}) imports {imp.target} ({layer(imp.target)[1]})"
        for imports in graph().values()
        for imp in imports
        if imp.target.startswith("faststyle") and layer(imp.target)[0] > layer(imp.source)[0]
    }
    assert not upward, "imports from a lower layer up to a higher one:\n" + "\n".join(sorted(upward))


def test_the_runtime_reaches_no_module_that_imports_torch():
    """What faststyle.runtime imports, directly or not (lazy imports included), never imports
    torch: an app that embeds the runtime has only onnxruntime, numpy and pillow (a run of it in
    a fresh interpreter is tests/test_runtime.py's first test)."""
    edges = graph()
    reached, todo, via = {"faststyle.runtime"}, ["faststyle.runtime"], {}
    while todo:
        for imp in edges[todo.pop()]:
            if imp.target in edges and imp.target not in reached:
                reached.add(imp.target)
                via[imp.target] = imp
                todo.append(imp.target)
    heavy = []
    for name in sorted(reached):
        imp = next((imp for imp in edges[name] if imp.target in TORCH), None)
        if imp is not None:
            chain = [name]
            while chain[-1] in via:
                chain.append(via[chain[-1]].source)
            heavy.append(f"{imp.where()}: {' -> '.join(reversed(chain))} imports {imp.target}")
    assert not heavy, "faststyle.runtime reaches torch:\n" + "\n".join(heavy)


def test_the_layer_map_knows_every_folder():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), f"a package folder with no layer: {sorted(folders - set(LAYERS))}"
