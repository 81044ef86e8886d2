"""
Each file-level capability is declared once (sunpy_dlmag.tasks); the command line and the
batch runner are built from the declarations.
"""

import dataclasses

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
    assert batch.get_task(name).function is task
    assert batch.get_task(name).suffixes == task.suffixes
    for command in ([name], ["batch", name]):
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


def test_drawing_detection_options_default_to_detect_sunspots_defaults():
    import inspect

    from sunpy_dlmag.drawings import detect_sunspots

    drawing = TASKS["drawing"]
    parameters = inspect.signature(detect_sunspots).parameters
    for name in ("threshold", "label_distance", "core_contrast", "group_distance"):
        option = drawing.option(name)
        assert np.all(option.value(option.default) == parameters[name].default), name
    assert drawing.option("label_distance").type("off") is None
    assert drawing.option("label_distance").type("0.2") == 0.2
