import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag.cli import main
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.demo import run_demo
from sunpy_dlmag.denoise import denoise
from sunpy_dlmag.io import save_map


def test_models_list(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name in ["aisfm-v1", "aisfm-v2", "aisfm-v3", "pix2pixcc", "denoise-m1", "denoise-m2", "drawing"]:
        assert name in out
    assert "not installed" in out


def test_models_list_by_task(capsys):
    main(["models", "list", "--task", "denoise"])
    out = capsys.readouterr().out
    assert "denoise-m2" in out
    assert "aisfm-v2" not in out


def test_models_info(capsys):
    assert main(["models", "info", "aisfm-v2"]) == 0
    out = capsys.readouterr().out
    assert "solar radius 392 px" in out
    assert "Jeong et al. 2020" in out


def test_models_info_of_a_file(capsys, conv_onnx):
    path, _ = conv_onnx("filed")
    assert main(["models", "info", str(path)]) == 0
    assert "filed (version 0)" in capsys.readouterr().out


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["models", "info", "nope"]) == 2
    assert "Unknown model 'nope'" in capsys.readouterr().err


def test_help_explains_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "demo" in out
    assert "models" in out


def test_demo_runs_on_bundled_real_data(tmp_path, capsys):
    summary = run_demo(tmp_path, device="cpu")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"summary.json", "demo.png", "mdi_aisfm_frame.fits", "mdi_denoised.fits"} <= names
    assert not [n for n in names if n.endswith(".part")]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["geometry"]["round_trip_shift_arcsec"] < 0.2
    denoised = summary["denoise"]
    assert denoised["noise_after_G"] < denoised["noise_before_G"] / 2
    assert denoised["tiled_vs_whole_max_abs_diff_G"] < 0.05
    assert denoised["nan_pixels_kept"]
    merged = summary["synchronic_pfss"]
    assert merged["round_trip_cc"] > 0.98
    assert 0.05 < merged["open_field_fraction_of_surface"] < 0.3
    drawn = summary["drawing"]
    assert drawn["disk_centre_error_fraction_of_radius"] < 0.01
    assert drawn["disk_radius_error_fraction"] < 0.01
    assert drawn["groups"] >= 3
    assert {"synchronic_20181106.fits", "open_field_20181106.fits", "drawing_bipoles.fits"} <= names
    from PIL import Image

    with Image.open(tmp_path / "demo.png") as figure:  # a figure a paper can use: 150 dpi, 15 inches wide
        assert figure.info["dpi"] == pytest.approx((150, 150), abs=0.1)
        assert figure.size[0] >= 2200
    out = capsys.readouterr().out
    assert "Geometry:" in out
    assert "Farside magnetograms: weights for aisfm-v1 (not installed)" in out


@pytest.fixture
def magnetograms(tmp_path):
    """A folder with two small real MDI magnetograms (128x128 views of the bundled one)."""
    folder = tmp_path / "in"
    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    save_map(mdi.resample([128, 128] * u.pix), folder / "mdi_small.fits")
    save_map(mdi.submap([448, 448] * u.pix, top_right=[575, 575] * u.pix), folder / "mdi_centre.fits")
    return folder


def test_denoise_command_writes_fits_and_png(magnetograms, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["denoise", str(magnetograms), "--out", str(out), "--png", "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "mdi_centre_denoise.fits",
        "mdi_centre_denoise.png",
        "mdi_small_denoise.fits",
        "mdi_small_denoise.png",
    ]
    source = sunpy.map.Map(magnetograms / "mdi_small.fits")
    written = sunpy.map.Map(out / "mdi_small_denoise.fits")
    assert written.meta["dlmodel"] == "denoise-m2"
    np.testing.assert_allclose(written.data, denoise(source, device="cpu").data, atol=1e-3, equal_nan=True)
    assert "2 file(s): 2 written, 0 failed" in capsys.readouterr().out

    # Existing outputs are kept unless --overwrite; the exit status says a file failed.
    assert main(["denoise", str(magnetograms / "mdi_small.fits"), "--out", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "mdi_small_denoise.fits exists" in captured.err
    assert "1 file(s): 0 written, 1 failed" in captured.out
    args = ["denoise", str(magnetograms / "mdi_small.fits"), "--out", str(out), "--overwrite", "--device", "cpu"]
    assert main(args) == 0


def test_denoise_command_to_one_file(magnetograms, tmp_path, capsys):
    output = tmp_path / "clean.fits"
    assert main(["denoise", str(magnetograms / "mdi_centre.fits"), "--out", str(output), "--device", "cpu"]) == 0
    assert sunpy.map.Map(output).meta["dlmodel"] == "denoise-m2"
    assert main(["denoise", str(magnetograms), "--out", str(tmp_path / "both.fits")]) == 2
    assert "is one file, but there are 2 inputs" in capsys.readouterr().err


def test_denoise_command_goes_on_after_a_bad_file(magnetograms, tmp_path, capsys):
    aia = Path(__file__).parent / "data" / "aia_171_level1.fits"
    out = tmp_path / "out"
    assert main(["denoise", str(aia), str(magnetograms / "mdi_small.fits"), "--out", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "aia_171_level1.fits: Expected a magnetogram with data in G" in captured.err
    assert "(InputMapError)" in captured.err
    assert [p.name for p in out.iterdir()] == ["mdi_small_denoise.fits"]


def test_denoise_command_model_errors_stop_at_once(magnetograms, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["denoise", str(magnetograms), "--out", str(out), "--method", "translation", "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("sunpy-dlmag: error:") == 1
    assert "denoise-m1" in err
    assert not out.exists()


def test_denoise_help_explains_options(capsys):
    with pytest.raises(SystemExit):
        main(["denoise", "--help"])
    out = capsys.readouterr().out
    for option in ["--out", "--method", "--model", "--device", "--tile-size", "--png", "--overwrite"]:
        assert option in out
    assert "M2 autoencoder" in out


def test_batch_command_on_a_local_cluster(magnetograms, tmp_path, capsys):
    pytest.importorskip("distributed")
    (magnetograms / "aia.fits").write_bytes((Path(__file__).parent / "data" / "aia_171_level1.fits").read_bytes())
    out = tmp_path / "out"
    args = ["batch", "denoise", str(magnetograms), "--out", str(out), "--workers", "1", "--device", "cpu", "--quiet"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "batch denoise: 3 files in" in captured.out
    assert "2 ok, 0 skipped, 1 failed" in captured.out
    assert "aia.fits: InputMapError: Expected a magnetogram" in captured.err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["batch_manifest.csv", "mdi_centre_denoise.fits", "mdi_small_denoise.fits"]


def test_batch_command_errors(magnetograms, tmp_path, capsys):
    pytest.importorskip("distributed")
    assert main(["batch", "denoise", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "No such input file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["batch", "denoise", str(magnetograms), "--out", "x", "--workers", "2", "--scheduler", "tcp://h:1"])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["batch", "nope", str(magnetograms), "--out", "x"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_batch_command_refuses_clashing_outputs(magnetograms, tmp_path, capsys):
    pytest.importorskip("distributed")
    other = tmp_path / "other"
    other.mkdir()
    (other / "mdi_small.fits").write_bytes((magnetograms / "mdi_small.fits").read_bytes())
    assert main(["batch", "denoise", str(magnetograms), str(other), "--out", str(tmp_path / "out")]) == 2
    assert "mdi_small_denoise.fits by" in capsys.readouterr().err


SAMPLE = Path(MDI_MAGNETOGRAM).parent


def test_pfss_command_writes_the_open_field_map(tmp_path, capsys):
    out = tmp_path / "open.fits"
    args = ["pfss", str(SAMPLE / "mrzqs181106t0004c2210_166.fits"), "--reader", "gong", "--out", str(out)]
    assert main([*args, "--open-shape", "45", "90", "--png"]) == 0
    assert (tmp_path / "open.png").stat().st_size > 0
    open_map = sunpy.map.Map(out)
    assert open_map.data.shape == (45, 90)
    assert set(np.unique(open_map.data)) <= {-1, 0, 1}
    assert "open field covers" in capsys.readouterr().out


def test_existing_outputs_are_refused_before_any_work_naming_the_flag(tmp_path, capsys, monkeypatch):
    from sunpy_dlmag import pfss, synchronic

    def never(*args, **kwargs):
        raise AssertionError("the computation started although its output exists")

    monkeypatch.setattr(pfss, "pfss_extrapolate", never)
    monkeypatch.setattr(synchronic, "synchronic_map", never)
    taken = tmp_path / "taken.fits"
    taken.write_bytes(b"an earlier result")
    gong = str(SAMPLE / "mrzqs181106t0004c2210_166.fits")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "summary.json").write_text("{}")
    for args in (
        ["pfss", gong, "--reader", "gong", "--out", str(taken)],
        ["synchronic", gong, "--out", str(taken)],
        ["synchronic", gong, "--out", str(tmp_path / "new.fits"), "--sources", str(taken)],
        ["demo", "--out", str(tmp_path / "demo")],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "exists; pass --overwrite to replace it" in err
        assert "overwrite=True" not in err
    assert taken.read_bytes() == b"an earlier result"
    assert (tmp_path / "demo" / "summary.json").read_text() == "{}"


def test_synchronic_command_merges_and_writes_sources(tmp_path):
    from sunpy.coordinates import get_earth

    from sunpy_dlmag.io import read_gong_synoptic
    from sunpy_dlmag.synchronic import disk_view

    gong = read_gong_synoptic(SAMPLE / "mrzqs181106t0004c2210_166.fits")
    view = tmp_path / "earth_view.fits"
    save_map(disk_view(gong, get_earth(gong.date), shape=(256, 256)), view)
    args = ["synchronic", str(view), "--background", str(SAMPLE / "mrzqs181106t0004c2210_166.fits")]
    out = ["--out", str(tmp_path / "syn.fits"), "--sources", str(tmp_path / "src.fits")]
    assert main([*args, *out, "--png"]) == 0
    assert (tmp_path / "syn.png").stat().st_size > 0  # a quick-look, as every task command writes
    merged, sources = sunpy.map.Map(tmp_path / "syn.fits"), sunpy.map.Map(tmp_path / "src.fits")
    assert merged.data.shape == sources.data.shape == (180, 360)
    assert np.isfinite(merged.data).all()  # the background fills the far side
    assert set(np.unique(sources.data)) == {-1, 1}


def test_drawing_command_reads_a_drawing(tmp_path, capsys):
    from PIL import Image

    from sunpy_dlmag.training.drawings import render_drawing

    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    image = render_drawing(mdi, shape=(500, 520), radius=200, threshold=300 * u.G)
    Image.fromarray(image).save(tmp_path / "drawing.png")
    out = tmp_path / "out"
    # Rendered north up, not mirrored: said, as the rendering's marks are not a form's.
    orientation = ["--north-angle", "0", "--no-mirrored"]
    assert (
        main(["drawing", str(tmp_path / "drawing.png"), "--date", mdi.date.isot, *orientation, "--out", str(out)]) == 0
    )
    magnetogram = sunpy.map.Map(out / "drawing_drawing.fits")
    assert magnetogram.unit == u.G
    assert np.nanmax(magnetogram.data) > 0 > np.nanmin(magnetogram.data)


def test_farside_command_checks_the_files_then_says_how_to_get_weights(tmp_path, capsys):
    out = tmp_path / "out"
    # The default model is farside_magnetogram's (aisfm-v2: 304, 193 and 171): a lone 171 image is
    # reported once, as an observation without its other channels.
    assert main(["farside", str(SAMPLE / "secchi_l0_a.fits"), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("ChannelMismatchError") == 1
    assert "no file of AIA 304 Angstrom from STEREO_A" in captured.err
    assert "farside: 1 observation(s): 0 written, 1 failed" in captured.out
    # aisfm-v1 takes one file per observation; no weights are installed here, which is said first
    # (exit 2: no file can succeed), before anything about the image's passband or calibration.
    assert main(["farside", str(SAMPLE / "secchi_l0_a.fits"), "--model", "aisfm-v1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No weights are installed for 'aisfm-v1'" in err
    assert "sunpy-dlmag fetch-pairs" in err
    assert "obtain the authors' weights" in err
    assert "--model my-aisfm-v1.onnx" in err
    assert "takes AIA 304 Angstrom" not in err
    assert not out.exists() or not list(out.iterdir())


def test_models_list_into_a_closed_pipe_ends_quietly():
    # `sunpy-dlmag models list | head -1`: the reader is gone before the table is written.
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "sunpy_dlmag.cli", "models", "list"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait() == 0, err
    assert "Broken pipe" not in err
    assert "BrokenPipeError" not in err
