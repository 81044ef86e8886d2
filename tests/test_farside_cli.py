"""The farside command: per-file failures, calibrations the user derived, and the messages it gives."""

import astropy.units as u
import numpy as np
import pytest
from conftest import DATA, map_with
from test_farside import farside_spec, stereo_b

import sunpy.map

from sunpy_dlmag.calibration import Calibration, derive_calibration, read_calibrations, write_calibrations
from sunpy_dlmag.cli import main
from sunpy_dlmag.exceptions import CalibrationNotAvailableError, InputFileError, MissingFileError
from sunpy_dlmag.farside import farside_magnetogram
from sunpy_dlmag.models.graphs import convolution_network, gaussian_filter_network
from sunpy_dlmag.models.registry import write_spec_to_onnx

EUVI_A = DATA / "secchi_l0_a.fits"
AIA = DATA / "aia_171_level1.fits"


@pytest.fixture
def model_path(tmp_path):
    """A one-channel farside network (AIA 171 in) that smooths its input."""
    path = tmp_path / "smooth171.onnx"
    radius = gaussian_filter_network(path, sigma=1.0)
    write_spec_to_onnx(path, farside_spec([("AIA", 171)], name="smooth171", receptive_radius=radius))
    return path


@pytest.fixture
def euvi_b(tmp_path):
    """The real EUVI-A 171 image as STEREO-B would have taken it: no packaged calibration for it."""
    path = tmp_path / "euvi_b_171.fits"
    stereo_b(map_with(sunpy.map.Map(EUVI_A), blank=None)).save(path)
    return path


def test_a_file_without_calibration_is_reported_and_the_others_go_on(model_path, euvi_b, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["farside", str(euvi_b), str(EUVI_A), "--model", str(model_path), "--out", str(out), "--device", "cpu"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "euvi_b_171.fits: No EUVI -> AIA intensity calibration is available for STEREO_B EUVI 171" in captured.err
    # The command line's remedies, not Python's.
    assert "sunpy-dlmag derive-calibration EUVI_FILE AIA_FILE --out cal.ecsv" in captured.err
    assert "--calibration cal.ecsv" in captured.err
    assert "--no-calibrate" in captured.err
    assert "calibrate=" not in captured.err
    assert "derive_calibration(" not in captured.err
    # The STEREO-A file after it was processed, and the summary names the failure.
    assert [p.name for p in out.iterdir()] == ["secchi_l0_a_farside.fits"]
    assert "farside: 2 file(s): 1 written, 1 failed" in captured.out
    assert f"failed: {euvi_b} (CalibrationNotAvailableError)" in captured.out


def test_a_calibration_the_user_derived_on_the_command_line(model_path, euvi_b, tmp_path, capsys):
    cal = tmp_path / "cal.ecsv"
    assert main(["derive-calibration", str(euvi_b), str(AIA), "--out", str(cal)]) == 0
    assert f"-> {cal}" in capsys.readouterr().out
    (relation,) = read_calibrations(cal)
    expected = derive_calibration(stereo_b(sunpy.map.Map(EUVI_A)), sunpy.map.Map(AIA))
    assert relation == expected
    assert relation.observatory == "STEREO_B"
    # Refused again without --overwrite.
    assert main(["derive-calibration", str(euvi_b), str(AIA), "--out", str(cal)]) == 2
    assert "--overwrite" in capsys.readouterr().err

    output = tmp_path / "b.fits"
    args = ["farside", str(euvi_b), "--model", str(model_path), "--out", str(output), "--device", "cpu"]
    assert main([*args, "--calibration", str(cal)]) == 0
    made = sunpy.map.Map(output)
    assert "STEREO_B EUVI 171 -> AIA 171: I_AIA = " in made.meta["history"].replace("\n", "")
    # The same map as the Python API gives with that calibration.
    python = farside_magnetogram(sunpy.map.Map(euvi_b), model=model_path, calibrate=relation, device="cpu")
    np.testing.assert_allclose(made.data, python.data, rtol=1e-6, equal_nan=True)

    # A missing file, or both flags, fail once before any work.
    capsys.readouterr()
    assert main([*args, "--overwrite", "--calibration", str(tmp_path / "none.ecsv")]) == 2
    assert "none.ecsv does not exist" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--calibration", str(cal), "--no-calibrate"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_calibrations_round_trip_through_a_file(tmp_path):
    a = derive_calibration(sunpy.map.Map(EUVI_A), sunpy.map.Map(AIA), fit_exponent=True)
    b = Calibration("STEREO_B", 195 * u.AA, 193 * u.AA, scale=0.8, date_start="2012-01-01", date_end="2012-01-01")
    path = write_calibrations([a, b], tmp_path / "two.ecsv")
    assert read_calibrations(path) == [a, b]
    with pytest.raises(MissingFileError):
        read_calibrations(tmp_path / "none.ecsv")
    (tmp_path / "bad.ecsv").write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match=r"not an ECSV|Cannot read"):
        read_calibrations(tmp_path / "bad.ecsv")
    with pytest.raises(CalibrationNotAvailableError):
        Calibration("STEREO_B", 304 * u.AA, 304 * u.AA).apply(np.ones(2))


def test_a_model_of_three_channels_takes_one_file_per_channel(tmp_path, capsys):
    euvi = map_with(sunpy.map.Map(EUVI_A), blank=None)
    # Relabelled copies of the real 171 image stand in for 304 and 195: the mechanics only.
    files = {}
    for wavelength in (304, 195, 171):
        files[wavelength] = tmp_path / f"euvi_{wavelength}.fits"
        map_with(euvi, wavelnth=wavelength).save(files[wavelength])
    lone = tmp_path / "b_304.fits"
    stereo_b(map_with(euvi, wavelnth=304)).save(lone)
    path = tmp_path / "three.onnx"
    radius = convolution_network(path, in_channels=3, widths=(4,), levels=0)
    write_spec_to_onnx(path, farside_spec([("EUVI", 304), ("EUVI", 195), ("EUVI", 171)], receptive_radius=radius))

    out = tmp_path / "out"
    inputs = [str(files[171]), str(lone), str(files[304]), str(files[195])]  # any order
    assert main(["farside", *inputs, "--model", str(path), "--out", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert f"{files[304]} + {files[195]} + {files[171]} -> {out / 'euvi_304_farside.fits'}" in captured.out
    assert "farside: 2 observation(s): 1 written, 1 failed" in captured.out
    assert f"{lone}: no file of EUVI 195 Angstrom, EUVI 171 Angstrom from STEREO_B within 1.0 h" in captured.err
    made = sunpy.map.Map(out / "euvi_304_farside.fits")
    expected = farside_magnetogram([sunpy.map.Map(files[w]) for w in (304, 195, 171)], model=path, device="cpu")
    np.testing.assert_allclose(made.data, expected.data, rtol=1e-6, equal_nan=True)
