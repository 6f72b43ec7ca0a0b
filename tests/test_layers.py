"""The core package's layers (see critique_batch/__init__.py): each sub-package imports only from
the layers listed before it or from itself, no module takes part in an import cycle (lazy imports
inside functions count: they run too), and every __init__.py is free of imports, so that a claim
loads only what it uses. The imports are read by tools/generate.py's follower, the one that decides
what each skill's copy ships."""

from __future__ import annotations

import ast
import importlib.util
import re

import support

PKG = support.SCRIPTS / "critique_batch"
LAYERS = ["base", "files", "checks", "state", "store", "report", "agent"]  # lowest first


def _generate():
    spec = importlib.util.spec_from_file_location("generate", support.ROOT / "tools" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _modules() -> list:
    return sorted(p for layer in LAYERS for p in (PKG / layer).glob("*.py") if p.name != "__init__.py")


def _graph() -> dict:
    """module file -> the package modules it imports (sub-packages' __init__ files left out)."""
    gen = _generate()
    return {m: {p for p in gen._imported_modules(m) if p.name != "__init__.py"} for m in _modules()}


def _layer(path) -> int:
    return LAYERS.index(path.relative_to(PKG).parts[0])


def test_the_layers_are_the_package():
    assert sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()) == sorted(LAYERS)
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py", "cli.py"]


def test_each_module_imports_only_its_own_layer_or_those_below():
    upward = [f"{m.relative_to(PKG)} imports {d.relative_to(PKG)}" for m, deps in _graph().items() for d in deps
              if _layer(d) > _layer(m)]
    assert not upward, upward


def test_no_import_cycles():
    graph = _graph()
    state: dict = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(str(p.relative_to(PKG)) for p in path[path.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_the_follower_sees_lazy_imports_and_every_form():
    """So that the two tests above can fail: the follower finds imports inside functions, relative
    ones two levels up, and `from <layer> import <module>`."""
    graph = _graph()
    assert PKG / "checks" / "validation.py" in graph[PKG / "checks" / "batches.py"]  # lazy, inside check_result
    assert PKG / "files" / "baseline.py" in graph[PKG / "agent" / "dispatch.py"]  # lazy, from ..files.baseline
    assert PKG / "base" / "faults.py" in graph[PKG / "state" / "session.py"]  # from ..base import faults


def test_init_files_hold_no_imports():
    for init in [PKG / "__init__.py", *(PKG / layer / "__init__.py" for layer in LAYERS)]:
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert all(isinstance(node, ast.Expr) for node in tree.body), init  # a docstring at most


def test_package_docstring_lists_every_module():
    import critique_batch

    doc = critique_batch.__doc__
    for layer in LAYERS:
        section = re.search(rf"^  {layer}/(.*?)(?=^  \S|\Z)", doc, re.M | re.S)
        assert section, layer
        for module in (PKG / layer).glob("*.py"):
            if module.stem != "__init__":
                assert re.search(rf"\b{module.stem}\b", section[1]), f"{layer}/{module.name} is not described"
    assert "cli.py" in doc
