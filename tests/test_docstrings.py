"""The top-level functions' docstrings: the sections a user looks for, and examples that run as written."""

import doctest
import importlib
import inspect
import pkgutil
import re
import warnings
from pathlib import Path

import pytest

import sunpy_dlmag

# Directives of pytest-doctestplus that the examples use; plain doctest must accept them.
_IGNORE_WARNINGS = doctest.register_optionflag("IGNORE_WARNINGS")
_FLOAT_CMP = doctest.register_optionflag("FLOAT_CMP")

FUNCTIONS = sorted(
    name for name in sunpy_dlmag.__all__ if callable(getattr(sunpy_dlmag, name)) and not name[0].isupper()
)
# Functions whose method comes from a paper (the model registry's functions cite the models' papers too).
SECTIONS = ("See Also", "References", "Examples")


def _sections(docstring):
    return set(re.findall(r"^\s*(\S[^\n]*)\n\s*-{3,}\s*$", docstring, flags=re.MULTILINE))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_top_level_function_documents_see_also_references_and_examples(name):
    docstring = inspect.getdoc(getattr(sunpy_dlmag, name))
    missing = [section for section in SECTIONS if section not in _sections(docstring)]
    assert not missing, f"sunpy_dlmag.{name} has no {', '.join(missing)} section"
    examples = docstring.split("Examples\n--------", 1)[1]
    runnable = [line for line in examples.splitlines() if line.startswith(">>>") and "+SKIP" not in line]
    assert runnable, f"sunpy_dlmag.{name}'s examples are all skipped"


class _FloatChecker(doctest.OutputChecker):
    """Numbers compared to 7 significant digits where an example says FLOAT_CMP (as pytest-doctestplus does)."""

    _NUMBER = re.compile(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?")

    def check_output(self, want, got, optionflags):
        if optionflags & _FLOAT_CMP:
            wanted, found = self._NUMBER.findall(want), self._NUMBER.findall(got)
            if len(wanted) == len(found) and self._NUMBER.sub("#", want) == self._NUMBER.sub("#", got):
                return all(
                    abs(float(w) - float(f)) <= 1e-7 * max(1.0, abs(float(w)))
                    for w, f in zip(wanted, found, strict=True)
                )
        return super().check_output(want, got, optionflags)


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNCTIONS)
def test_examples_run_as_written(name):
    function = inspect.unwrap(getattr(sunpy_dlmag, name))
    test = doctest.DocTestFinder(recurse=False).find(function, name, globs={})[0]
    runner = doctest.DocTestRunner(
        checker=_FloatChecker(),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL,
    )
    with warnings.catch_warnings():
        # Old headers and FITS keys warn as they are read; the examples show the results.
        warnings.simplefilter("ignore")
        result = runner.run(test, out=lambda text: pytest.fail(f"sunpy_dlmag.{name}'s example:\n{text}"))
    assert result.attempted > 0


def _public_modules():
    for info in pkgutil.walk_packages(sunpy_dlmag.__path__, "sunpy_dlmag."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def test_api_reference_documents_every_exported_function_and_class():
    api = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()
    documented = re.findall(r"automodapi:: (\S+)", api)
    reachable = {
        id(getattr(module, name)) for module in map(importlib.import_module, documented) for name in module.__all__
    }
    # Single functions listed with autosummary under a currentmodule.
    listed = r"currentmodule:: (\S+)\n\n\.\. autosummary::\n(?:   :\S+: \S+\n)*\n((?:   \w+\n)+)"
    for module, names in re.findall(listed, api):
        reachable |= {id(getattr(importlib.import_module(module), name)) for name in names.split()}
    # The command line (its entry point and commands) is documented by its own page (docs/cli.rst).
    undocumented = [
        f"{module.__name__}.{name}"
        for module in _public_modules()
        if module.__name__ not in ("sunpy_dlmag.cli", "sunpy_dlmag.training.commands")
        for name in getattr(module, "__all__", ())
        if callable(getattr(module, name)) and id(getattr(module, name)) not in reachable
    ]
    assert not undocumented, f"exported but not in docs/api.rst: {undocumented}"
