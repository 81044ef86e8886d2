"""
The package's shape (ARCHITECTURE.md): dependencies point down, modules stay small, and
importing does nothing but import.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "sunpy_dlmag"

# Layers from the bottom; a module may import from its own layer and those below it. A module
# is placed by its longest listed prefix (``models.runtime`` by ``models``).
LAYERS = [
    {"version", "_version", "exceptions", "_progress"},
    {"checks", "disk", "maps", "mapio", "_cycles"},
    {"geometry", "calibration", "io", "models", "data", "plotting"},
    {"farside", "denoise", "synchronic", "pfss", "drawings", "metrics", "training"},
    {"tasks", "demo"},
    {"batch"},
    {"cli"},
    {""},  # the package's __init__: the public API
]
# Imports against the layering that are known, each with what removes it. Add none.
KNOWN_UPWARD = {}
# Files much over 700 lines that are being split. Add none.
KNOWN_LONG = {}
MAX_LINES = 750


def _module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(path, module):
    """Names (relative to the package) of the package modules ``path`` imports, anywhere in it."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(["sunpy_dlmag", *base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            # `from sunpy_dlmag import x`: x is a module, or a name of the package's API.
            names = [f"{name}.{a.name}" for a in node.names] if name == "sunpy_dlmag" else [name]
        else:
            continue
        for name in names:
            if name == "sunpy_dlmag" or name.startswith("sunpy_dlmag."):
                found.add(name.removeprefix("sunpy_dlmag").lstrip("."))
    return found


def _layer(module):
    modules = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in modules:
            return modules[prefix], prefix
    if (PACKAGE / f"{parts[0]}.py").is_file() or (PACKAGE / parts[0]).is_dir() or module == "":
        return None, parts[0]
    return len(LAYERS) - 1, ""  # not a module: a name of the package's API (e.g. __version__)


def _modules():
    return sorted((_module_name(p), p) for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    unplaced = sorted(m for m, _ in _modules() if _layer(m)[0] is None)
    assert not unplaced, f"Place these modules in LAYERS (and ARCHITECTURE.md): {unplaced}"


def test_dependencies_point_down():
    upward = []
    for module, path in _modules():
        level, name = _layer(module)
        for imported in _imported(path, module):
            other_level, other = _layer(imported)
            if other_level is not None and other_level > level and (name, other) not in KNOWN_UPWARD:
                upward.append(f"{module or 'sunpy_dlmag'} imports {imported or 'sunpy_dlmag'}")
    assert not upward, "Imports from a module above:\n" + "\n".join(upward)


def test_the_layout_check_sees_upward_imports(tmp_path):
    # The check itself: a low module importing the package's API, or a capability, is found.
    path = tmp_path / "maps.py"
    path.write_text("def f():\n    from sunpy_dlmag import __version__\n    from . import denoise\n")
    imported = _imported(path, "maps")
    assert imported == {"__version__", "denoise"}
    assert all(_layer(name)[0] > _layer("maps")[0] for name in imported)


def test_no_package_file_is_much_over_700_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for _, p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(PACKAGE)) not in KNOWN_LONG
    }
    assert not long, f"Split these files (over {MAX_LINES} lines): {long}"


def _run(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file permissions")
def test_outputs_follow_the_umask_of_the_moment_they_are_written(tmp_path):
    # io reads no umask at import (reading it means changing it): the kernel applies the umask
    # in force when each output is made.
    out = tmp_path / "out.txt"
    mode = _run(
        "import os\n"
        "os.umask(0o022)\n"
        "from sunpy_dlmag.io import write_atomic\n"
        "os.umask(0o077)\n"
        f"path = write_atomic({str(out)!r}, lambda p: p.write_text('x'))\n"
        "print(oct(path.stat().st_mode & 0o777))\n"
    )
    assert mode.strip() == "0o600"


def test_import_changes_no_process_state():
    _run(
        "import os\n"
        "mask = os.umask(0o027); env = dict(os.environ)\n"
        "import sunpy_dlmag, sunpy_dlmag.io, sunpy_dlmag.maps, sunpy_dlmag.batch, sunpy_dlmag.cli\n"
        "assert os.umask(mask) == 0o027, 'umask changed'\n"
        "assert dict(os.environ) == env, 'environment changed'\n"
    )


def _models_import_graph():
    """Each module of ``sunpy_dlmag.models`` -> the modules of that package it imports, anywhere in it."""
    modules = {m: p for m, p in _modules() if m == "models" or m.startswith("models.")}
    return {m: sorted(_imported(p, m) & modules.keys()) for m, p in modules.items()}


def _cycle(graph):
    """One import cycle of ``graph`` (a list of modules, first repeated last), or None."""
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for other in graph.get(module, ()):
            if state.get(other) == "open":
                return [*path[path.index(other) :], other]
            if other not in state and (found := visit(other)):
                return found
        state[module] = "done"
        path.pop()
        return None

    return next((found for module in sorted(graph) if module not in state and (found := visit(module))), None)


def test_the_models_package_has_no_import_cycle():
    # Imports inside functions count too: they only hide a cycle until someone moves them.
    graph = _models_import_graph()
    assert "models.runtime" in graph["models.registry"]  # the check sees the real imports
    cycle = _cycle(graph)
    assert cycle is None, "Import cycle in sunpy_dlmag.models: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    graph = {"models.a": ["models.b"], "models.b": ["models.c"], "models.c": ["models.a"], "models.d": []}
    assert _cycle(graph) == ["models.a", "models.b", "models.c", "models.a"]
    assert _cycle({"models.a": ["models.b"], "models.b": []}) is None


def test_the_models_package_imports_its_own_modules_at_the_top():
    inside = []
    for module, path in _modules():
        if not module.startswith("models"):
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and (
                        node.level or (node.module or "").startswith("sunpy_dlmag")
                    ):
                        inside.append(f"{module}: {function.name} imports {node.module}")
    assert not inside, "Import these at the top of the module:\n" + "\n".join(inside)


def test_tests_mirror_the_package():
    # tests/<name>/ holds the tests of the subpackage sunpy_dlmag/<name>/ (tests/data: test files).
    folders = [p.name for p in Path(__file__).parent.iterdir() if p.is_dir() and p.name not in ("data", "__pycache__")]
    assert folders, "the tests of the subpackages are in folders of their own"
    for name in folders:
        assert (PACKAGE / name / "__init__.py").is_file(), f"tests/{name}/ mirrors no subpackage sunpy_dlmag/{name}"
    # Each subpackage with several modules has its folder.
    for subpackage in ("drawings", "models", "training", "checks"):
        assert list((Path(__file__).parent / subpackage).glob("test_*.py")), f"no tests/{subpackage}/"
