import json

import pytest

from sunpy_dlmag.cli import main
from sunpy_dlmag.demo import run_demo


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
    assert denoised["tiled_512px_vs_whole_max_abs_diff_G"] < 0.1
    assert denoised["nan_pixels_kept"]
    assert "Geometry:" in capsys.readouterr().out
