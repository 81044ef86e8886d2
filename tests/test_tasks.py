"""
Each file-level capability is declared once (sunpy_dlmag.tasks); the command line and the
batch runner are built from the declarations.
"""

import argparse
import dataclasses
import inspect

import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag import batch, cli
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.io import FITS_SUFFIXES, fits_stem, is_fits_name
from sunpy_dlmag.maps import DlmagMap
from sunpy_dlmag.tasks import TASKS, Option


def _flags(parser_args):
    with pytest.raises(SystemExit):
        cli.main([*parser_args, "--help"])


@pytest.mark.parametrize("name", sorted(TASKS))
def test_command_and_batch_task_take_the_declared_options(name, capsys):
    task = TASKS[name]
    assert batch.get_task(name) is task  # one registry and one task type for the command line and batch
    assert batch.BatchTask is type(task)
    for command in [[name]] if task.combines else ([name], ["batch", name]):
        _flags(command)
        out = " ".join(capsys.readouterr().out.split())
        for option in task.options:
            assert option.flag in out
            assert " ".join(option.help.split()[:4]) in out
    parser = cli.build_parser()
    required = [f"--{o.name.replace('_', '-')}=x" for o in task.options if o.required]
    args = parser.parse_args([name, "in.fits", "--out", "o", *required])
    given = cli._task_options(args, task)
    assert set(given) == {o.name for o in task.options}
    assert {k: v for k, v in given.items() if k in task.defaults()} == task.defaults()


def test_one_declaration_adds_an_option_everywhere(monkeypatch, capsys):
    # An option declared once is on the command, on the batch task and passed to the capability.
    denoise = TASKS["denoise"]
    extra = Option("smoothing", float, default=0.5, help="a new option for this test", units="arcsec")
    monkeypatch.setitem(TASKS, "denoise", dataclasses.replace(denoise, options=(*denoise.options, extra)))
    args = cli.build_parser().parse_args(["denoise", "in.fits", "--out", "o", "--smoothing", "2"])
    assert cli._task_options(args, TASKS["denoise"])["smoothing"] == 2.0
    _flags(["batch", "denoise"])
    assert "--smoothing ARCSEC" in capsys.readouterr().out
    assert extra.value(2.0) == 2 * u.arcsec


def test_task_checks_its_options(tmp_path):
    with pytest.raises(TypeError, match="no option nope"):
        TASKS["denoise"](MDI_MAGNETOGRAM, nope=1)
    drawing = TASKS["drawing"]
    with pytest.raises(TypeError, match="needs the option"):
        drawing(tmp_path / "x.png")
    assert drawing.option("north_angle").value(10.0) == 10 * u.deg


def test_denoise_task_writes_a_product(tmp_path):
    output = tmp_path / "mdi.fits.gz"
    batch.process_file("denoise", MDI_MAGNETOGRAM, output, quicklook=True, device="cpu")
    again = sunpy.map.Map(output)
    assert isinstance(again, DlmagMap)
    assert again.model == "denoise-m2"
    assert (tmp_path / "mdi.png").is_file()
    with output.open("rb") as f:
        assert f.read(2) == b"\x1f\x8b"  # gzip


def test_one_list_of_fits_endings():
    assert all(is_fits_name(f"a{s.upper()}") for s in FITS_SUFFIXES)
    assert not is_fits_name("a.png")
    names = ("a.fits.gz", "b.FTS", "c.fits.fz", "d.v2.fit", "e.png")
    assert [fits_stem(n) for n in names] == ["a", "b", "c", "d.v2", "e"]


def test_cli_out_file_names(tmp_path, capsys):
    mdi = tmp_path / "mdi.fits"
    mdi.write_bytes(MDI_MAGNETOGRAM.read_bytes())
    out = tmp_path / "denoised.fits.gz"
    assert cli.main(["denoise", str(mdi), "--out", str(out), "--device", "cpu"]) == 0
    assert out.is_file()
    assert np.isfinite(sunpy.map.Map(out).data).any()
    # A bad --out name fails every file alike: a usage error (2), not one failed file (1).
    assert cli.main(["denoise", str(mdi), "--out", str(tmp_path / "x.fits.fz"), "--device", "cpu"]) == 2
    assert "tile-compressed" in capsys.readouterr().err
    assert not (tmp_path / "x.fits.fz").exists()


@pytest.mark.parametrize("command", [[], ["models"], ["demo"], ["export"], ["batch"], ["synchronic"], ["pfss"]])
def test_every_command_explains_itself(command, capsys):
    _flags(command)
    out = capsys.readouterr().out
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, choice in sub.choices.items():
        assert choice.description, f"sunpy-dlmag {name} has no description"
    assert out


# Flags of a task command that are the command line's own, not options of the capability.
_COMMAND_FLAGS = {"help", "inputs", "out", "png", "plain_fits", "overwrite"}
# The only options declared by hand (no function takes them: files that hold maps, readers, outputs).
_BY_HAND = {
    "farside": {"reference", "calibration"},
    "synchronic": {"farside", "background", "background_reader", "sources"},
    "pfss": {"reader"},
}
# Flags named otherwise than their parameter: (command, flag) -> parameter.
_RENAMED = {("pfss", "open_shape"): "shape"}


def _disagreements(name):
    """Where the flags of ``sunpy-dlmag NAME`` differ from the parameters of the functions they set."""
    import ast
    import inspect
    import re

    from numpydoc.docscrape import FunctionDoc

    command = next(a for a in cli.build_parser()._actions if a.dest == "command").choices[name]
    options = {o.name: o for o in TASKS[name].options}
    found = []
    for action in command._actions:
        flag = action.dest
        if flag in _COMMAND_FLAGS:
            continue
        option = options.get(flag)
        if option is None or option.function is None:
            if flag not in _BY_HAND.get(name, ()):
                found.append(f"--{flag}: declared by hand, not read from a function")
            continue
        # Name: the flag is a parameter of the function.
        parameter = inspect.signature(option.function).parameters.get(_RENAMED.get((name, flag), flag))
        if parameter is None:
            found.append(f"--{flag}: {option.function.__name__} has no such parameter")
            continue
        # Default, as the function receives it.
        default = parameter.default
        if default is inspect.Parameter.empty:
            if not action.required:
                found.append(f"--{flag}: {option.function.__name__} needs it, the command does not")
            continue
        unit = parameter.annotation if isinstance(parameter.annotation, u.UnitBase) else None
        given = action.default
        received = given if given is None or unit is None else u.Quantity(given, unit)
        received = tuple(received) if isinstance(received, list | tuple) else received
        if not (type(received) is type(default) and np.all(received == default)):
            found.append(f"--{flag}: default {received!r}, {option.function.__name__} has {default!r}")
            continue
        # Type: the command reads its values as the function documents them.
        docs = {n.strip(): p.type for p in FunctionDoc(option.function)["Parameters"] for n in p.name.split(",")}
        kind = docs[parameter.name]
        if kind.startswith("{"):
            choices = ast.literal_eval(f"[{kind[1 : kind.index('}')]}]")
            if action.choices is None or sorted(map(str, action.choices)) != sorted(map(str, choices)):
                found.append(f"--{flag}: choices {action.choices}, documented {kind}")
            elif [action.type(str(c)) for c in choices] != choices:
                found.append(f"--{flag}: reads its choices {choices} otherwise")
            continue
        if action.type is None:  # a switch: the function takes a bool, or None to decide itself
            optional = (
                default is None and kind.startswith("bool") and isinstance(action, argparse.BooleanOptionalAction)
            )
            if not (isinstance(default, bool) or optional):
                found.append(f"--{flag}: a switch, {option.function.__name__} takes {kind}")
            continue
        shown = [given] if not isinstance(given, list | tuple) else list(given)
        if given is not None:
            read = [action.type(str(value)) for value in shown]
            if any(type(r) is not type(v) or r != v for r, v in zip(read, shown, strict=True)):
                found.append(f"--{flag}: reads its default {given!r} back as {read!r}")
        else:
            documented = {"int": int, "float": float}.get(re.split(r"[ ,]", kind)[0], float if unit else str)
            if action.type is not documented:
                found.append(f"--{flag}: read as {action.type.__name__}, documented {kind}")
    return found


@pytest.mark.parametrize("name", ["denoise", "farside", "drawing", "synchronic", "pfss"])
def test_every_task_option_is_its_functions_parameter(name, monkeypatch):
    pytest.importorskip("numpydoc")
    # Name, default and type of every flag are those of the function's parameter.
    assert _disagreements(name) == []
    # A function's default changed without the command line following is caught.
    option = next(o for o in TASKS[name].options if o.function is not None and not o.required)
    signature = inspect.signature(option.function)
    changed = signature.parameters[option.parameter].replace(default="changed")
    monkeypatch.setattr(
        option.function,
        "__signature__",
        signature.replace(
            parameters=[changed if p.name == option.parameter else p for p in signature.parameters.values()]
        ),
        raising=False,
    )
    assert any(f"--{option.name}: default" in problem for problem in _disagreements(name))


def test_label_distance_reads_auto_off_and_numbers():
    drawing = TASKS["drawing"]
    assert drawing.option("label_distance").type("off") is None
    assert drawing.option("label_distance").type("0.2") == 0.2
    with pytest.raises(TypeError, match="label distance"):
        drawing.option("label_distance").type("near")
