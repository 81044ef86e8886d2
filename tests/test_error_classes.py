"""
Every error the package raises is a `DlmagError` subclass (the errors page's promise), so
``except DlmagError`` catches them all; the built-in class stays a base for old ``except``s.
"""

import ast
import builtins
from pathlib import Path

import pytest

import sunpy.map

import sunpy_dlmag.exceptions as exceptions
from sunpy_dlmag.batch import get_task
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.denoise import denoise
from sunpy_dlmag.exceptions import DlmagError
from sunpy_dlmag.io import read_gong_synoptic
from sunpy_dlmag.training.presets import get_preset

PACKAGE = Path(__file__).parent.parent / "sunpy_dlmag"
# Raised for Python's protocols, which need the built-in class itself.
PROTOCOL = {
    ("training/__init__.py", "AttributeError"),  # module __getattr__
    ("training/datasets.py", "IndexError"),  # __getitem__ ends iteration
}


def _builtin_raises(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = getattr(call, "id", None)
            if isinstance(getattr(builtins, name or "", None), type) and name.endswith("Error"):
                yield name, node.lineno


def test_the_package_raises_only_its_own_error_classes():
    found = [
        f"{path.relative_to(PACKAGE)}:{line} raises {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, line in _builtin_raises(path)
        if (str(path.relative_to(PACKAGE)), name) not in PROTOCOL
    ]
    assert found == []


def test_the_scan_sees_a_builtin_raise(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(x):\n    if x:\n        raise ValueError('x')\n")
    assert list(_builtin_raises(module)) == [("ValueError", 3)]


@pytest.mark.parametrize(
    ("call", "builtin"),
    [
        (lambda: get_preset("no-such-preset"), KeyError),
        (lambda: get_task("no-such-task"), ValueError),
        (lambda: read_gong_synoptic(Path("no/such/file.fits")), FileNotFoundError),
    ],
)
def test_errors_are_both_dlmag_and_builtin(call, builtin):
    with pytest.raises(DlmagError) as info:
        call()
    assert isinstance(info.value, builtin)


def test_denoise_method_error_names_the_choices():
    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    with pytest.raises(exceptions.InvalidArgumentError, match=r"'ae'.*'translation'.*got 'fast'"):
        denoise(mdi, method="fast")
