"""The import rule, checked by reading every module's imports (nothing is imported or run).

Layers, lowest first: ``dfdetect.core`` <- the stages (``frame_extraction``, ``face_crop``, ``models``, and the data
set adapters ``dfdetect.datasets``) <- ``dfdetect.synth`` <- ``dfdetect.data`` <- ``dfdetect.training`` /
``dfdetect.inference`` <- ``dfdetect.demo`` <- the entry points (``dfdetect/__init__``, ``dfdetect/__main__``,
``train.py``, ``eval.py``, ``bench/``). A module may import its own package and any lower layer, never a higher
layer nor a sibling of its own layer; there is no cycle between modules; and no module hides an import of the project
inside a function. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("dfdetect", "frame_extraction", "face_crop", "models")

# (package prefix, layer): the longest matching prefix wins.
LAYERS = {
    "dfdetect.core": 0,
    "frame_extraction": 1,
    "face_crop": 1,
    "models": 1,
    "dfdetect.datasets": 1,  # data set adapters: they need only core
    "dfdetect.synth": 2,
    "dfdetect.clips": 2,  # what a clip is (windows, THE eval transform, its sound): shared by training and scoring
    "dfdetect.data": 3,
    "dfdetect.training": 4,
    "dfdetect.inference": 4,
    "dfdetect.demo": 5,
    "dfdetect.serve": 5,  # the web page and REST API, above inference (never imported by demo, nor it by demo)
    "dfdetect": 6,  # the package face (lazy Detector) and `python -m dfdetect`
    "train": 6,
    "eval": 6,
    "bench": 6,
}


def _package(module: str) -> str:
    """The layer key a module belongs to (its longest prefix in LAYERS)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return key
    raise KeyError(module)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _files() -> list[Path]:
    files = [p for pkg in PROJECT for p in sorted((ROOT / pkg).rglob("*.py"))]
    files += [ROOT / "train.py", ROOT / "eval.py", *sorted((ROOT / "bench").glob("*.py"))]
    return files


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every import statement of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                assert not child.level, f"{path}:{child.lineno}: relative import; the project uses absolute imports"
                target = child.module or ""
                # `from pkg import sub` may name a submodule: count the most specific module that exists
                names = [f"{target}.{a.name}" if _is_module(f"{target}.{a.name}") else target for a in child.names]
            for name in names:
                if name.split(".")[0] in PROJECT:
                    found.append((name, child.lineno, in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def _is_module(name: str) -> bool:
    p = ROOT.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported project module: line} (only modules that exist as files)."""
    graph: dict[str, dict[str, int]] = {}
    for path in _files():
        edges: dict[str, int] = {}
        for name, line, _ in _imports(path):
            while name and not _is_module(name):  # `from a.b import func` -> module a.b
                name = name.rpartition(".")[0]
            if name:
                edges.setdefault(name, line)
        graph[_module_name(path)] = edges
    return graph


def test_the_rule_knows_every_module() -> None:
    for path in _files():
        _package(_module_name(path))  # raises for a module outside every layer


def test_imports_point_down_only() -> None:
    bad = []
    for module, edges in _graph().items():
        src = _package(module)
        for target, line in edges.items():
            dst = _package(target)
            if dst == src or (target == "dfdetect" and module.startswith("dfdetect.")):
                continue  # its own package (the bare `dfdetect` face is never imported by its own modules below)
            if LAYERS[dst] >= LAYERS[src]:
                bad.append(f"{module}:{line} imports {target} ({src} layer {LAYERS[src]} -> {dst} layer {LAYERS[dst]})")
    assert not bad, "imports that do not point down:\n" + "\n".join(bad)


def test_no_module_imports_the_bare_package_face_from_below() -> None:
    bad = [f"{m}:{line}" for m, edges in _graph().items() for t, line in edges.items()
           if t == "dfdetect" and _package(m) != "dfdetect"]
    assert not bad, f"modules importing `dfdetect` itself (the lazy API face): {bad}"


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, {}):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# The one sanctioned lazy import: `from dfdetect import Detector` without importing torch for `import dfdetect.core`
# (PEP 562 module __getattr__ of the package face, the top layer, so it can hide no cycle).
LAZY_ALLOWED = {("dfdetect", "dfdetect.inference")}


def test_no_project_import_hidden_in_a_function() -> None:
    bad = []
    for path in _files():
        module = _module_name(path)
        for name, line, inside in _imports(path):
            if inside and (module, name) not in LAZY_ALLOWED:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name} inside a function")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(("module", "target", "expected"), [
    ("frame_extraction.decode", "dfdetect.core.io", True),
    ("dfdetect.core.io", "face_crop.crop", False),
    ("dfdetect.training.loop", "dfdetect.inference.detector", False),
    ("dfdetect.inference.prepare", "dfdetect.data.transforms", True),
    ("models.encoder", "face_crop.detect", False),
])
def test_the_rule_itself(module: str, target: str, expected: bool) -> None:
    """Known answers: the layer table says what may import what."""
    src, dst = _package(module), _package(target)
    assert (dst == src or LAYERS[dst] < LAYERS[src]) is expected
