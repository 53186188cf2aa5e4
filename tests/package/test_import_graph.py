"""The package's own import graph: no cycle (top-level and function-local imports alike), the
layers of ``docs/design.md``, tools apart from the library, and third-party imports lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import poolnd

ROOT = Path(poolnd.__file__).parent

# Each layer and the layers its modules may import (docs/design.md, "Who imports whom").
# A module belongs to the layer of the longest prefix of its name listed here.
LAYERS = {
    "poolnd": "face",
    "poolnd.functional": "face",
    "poolnd.nn": "face",
    "poolnd.onnx": "face",
    "poolnd.invariance": "face",
    "poolnd.torch": "face",
    "poolnd.cli": "tool",
    "poolnd.__main__": "tool",
    "poolnd._cli": "tool",
    "poolnd._nn": "layers",
    "poolnd._torch": "torch",
    "poolnd._ops": "ops",
    "poolnd._autodiff": "autodiff",
    "poolnd._dispatch": "dispatch",
    "poolnd._registry": "base",
    "poolnd._kernels": "kernels",
    "poolnd._args": "base",
    "poolnd._geometry": "base",
    "poolnd._threads": "base",
    "poolnd._docs": "base",
    "poolnd._typing": "base",
}
MAY_IMPORT = {
    "tool": {"tool", "face", "layers", "ops", "autodiff", "dispatch", "kernels", "base"},
    "face": {"face", "layers", "torch", "ops", "autodiff", "base"},
    "torch": {"torch", "ops", "autodiff", "dispatch", "base"},
    "layers": {"layers", "ops", "autodiff", "dispatch", "base"},
    "ops": {"ops", "autodiff", "kernels", "base"},
    "autodiff": {"dispatch", "base"},
    "dispatch": {"dispatch", "base"},
    "kernels": {"kernels", "base"},
    "base": {"base"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("poolnd", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package(name: str) -> str:
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str) -> set[str]:
    """Every poolnd module ``name`` imports, anywhere in its body (function-local imports,
    ``importlib.import_module("poolnd...")`` strings and the kernel launcher's
    ``kernels("poolnd...")`` / ``compiler.import_now("poolnd...")`` included)."""
    tree = ast.parse(MODULES[name].read_text())
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(name).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{a.name}" for a in node.names)  # submodules
        elif isinstance(node, ast.Call) and node.args and \
                isinstance(node.args[0], ast.Constant) and \
                (getattr(node.func, "attr", "") in ("import_module", "import_now")
                 or getattr(node.func, "id", "") == "kernels"):
            targets.add(str(node.args[0].value))
    return {t for t in targets if t in MODULES and t != name}


def _with_parents(target: str) -> set[str]:
    """Importing ``a.b.c`` runs the packages ``a.b`` too (the root package ``poolnd``, which
    every import starts from, is left out)."""
    parts = target.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts) + 1)}


def _edges(name: str) -> set[str]:
    # a module's own packages are initialised before it runs: importing them is no edge
    return set().union(*map(_with_parents, _imports(name))) - _with_parents(name)


GRAPH = {name: _edges(name) for name in MODULES}


def _layer(name: str) -> str:
    key = max((k for k in LAYERS if name == k or name.startswith(k + ".")), key=len)
    return LAYERS[key]


def test_the_graph_sees_local_imports():
    # the walk must see a function-local import (the Dask planner is imported so by nothing,
    # but the selectors load their Numba modules that way)
    assert "poolnd._kernels.sliding.numba_rows" in GRAPH["poolnd._kernels.sliding"]
    assert "poolnd._dispatch.dask" in GRAPH["poolnd._dispatch.route"]


def test_no_import_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_the_layers_below_it(name):
    layer = _layer(name)
    wrong = {t for t in GRAPH[name] if _layer(t) not in MAY_IMPORT[layer]}
    assert not wrong, f"{name} ({layer}) imports {sorted(wrong)}"


def test_no_library_module_imports_the_tools():
    for name, targets in GRAPH.items():
        if _layer(name) != "tool":
            assert not any(t.startswith("poolnd._cli") for t in targets), name


def test_top_level_stays_small():
    top = [n for n in MODULES if n.count(".") == 1 and MODULES[n].name != "__init__.py"]
    assert len(top) <= 15, sorted(top)


def test_import_poolnd_loads_no_heavy_dependency():
    code = (
        "import sys, poolnd, poolnd.functional, poolnd.nn, poolnd.onnx, poolnd.invariance\n"
        "heavy = ('numba', 'matplotlib', 'dask', 'array_api_compat', 'torch', 'scipy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_python_OO_imports_and_pools():
    code = (
        "import numpy as np, poolnd\n"
        "x = np.arange(16.).reshape(1, 1, 4, 4)\n"
        "print(poolnd.functional.max_pool2d(x, 2).ravel().tolist(),"
        " poolnd.pool(x, 'sum', (2, 2)).ravel().tolist())"
    )
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[5.0, 7.0, 13.0, 15.0] [10.0, 18.0, 42.0, 50.0]"
