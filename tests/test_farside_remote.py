"""The farside guide's paths with the archives (network needed): training pairs and EUVI -> AIA calibrations."""

import astropy.units as u
import numpy as np
import pytest
from test_farside import farside_spec

import sunpy.map
from sunpy.net import Fido
from sunpy.net import attrs as a

from sunpy_dlmag.calibration import derive_calibration, read_calibrations
from sunpy_dlmag.cli import main
from sunpy_dlmag.data.fetch import fetch_training_pairs, pairs_from_manifest
from sunpy_dlmag.farside import farside_magnetogram
from sunpy_dlmag.models.graphs import gaussian_filter_network
from sunpy_dlmag.models.registry import write_spec_to_onnx

HOUR = ("2011-02-15T00:00", "2011-02-15T01:00")


@pytest.mark.remote_data
@pytest.mark.parametrize("wavelengths", [[304], [304, 193, 171]])
def test_fetch_pairs_of_the_guides_channels(tmp_path, wavelengths):
    manifest = fetch_training_pairs(
        "2011-02-15T00:00", "2011-02-15T00:02", 12 * u.h, wavelengths=wavelengths, out_dir=tmp_path, progress=False
    )
    (pair,) = pairs_from_manifest(manifest)[:1]
    target = sunpy.map.Map(pair.target)
    assert target.instrument.startswith("HMI")
    for path, wavelength in zip(pair.inputs, wavelengths, strict=True):
        aia = sunpy.map.Map(path)
        assert aia.wavelength == wavelength * u.AA
        assert abs((target.date - aia.date).to(u.min)) < 30 * u.min


def _fetch_one(tmp_path, *attrs):
    """The first file of a search over `HOUR`, as the farside guide fetches it."""
    result = Fido.search(a.Time(*HOUR), *attrs)
    assert result.file_num > 0, attrs
    files = Fido.fetch(result[0, 0], path=str(tmp_path / "{file}"), progress=False)
    assert not files.errors, files.errors
    return files[0]


@pytest.mark.remote_data
@pytest.mark.parametrize(("euvi_wavelength", "aia_wavelength"), [(304, 304), (195, 193), (171, 171)])
def test_derive_calibration_from_images_the_user_fetches(tmp_path, capsys, euvi_wavelength, aia_wavelength):
    euvi_file = _fetch_one(
        tmp_path,
        a.Source("STEREO_A"),
        a.Instrument("SECCHI"),
        a.Detector("EUVI"),
        a.Wavelength(euvi_wavelength * u.AA),
    )
    aia_file = _fetch_one(tmp_path, a.Instrument("AIA"), a.Wavelength(aia_wavelength * u.AA))
    euvi, aia = sunpy.map.Map(euvi_file), sunpy.map.Map(aia_file)
    relation = derive_calibration(euvi, aia)
    assert relation.observatory == "STEREO_A"
    assert relation.wavelength == euvi_wavelength * u.AA
    assert relation.aia_wavelength == aia_wavelength * u.AA
    # Intensities of the same corona: a factor of order one, not a unit mix-up.
    assert 0.05 < relation.scale < 20

    # The command line derives the same relation and writes it for --calibration.
    path = tmp_path / "cal.ecsv"
    assert main(["derive-calibration", str(euvi_file), str(aia_file), "--out", str(path)]) == 0
    assert read_calibrations(path) == [relation]

    # A network on the AIA channel runs on the EUVI image with it, and says so.
    model = tmp_path / "smooth.onnx"
    radius = gaussian_filter_network(model, sigma=1.0)
    write_spec_to_onnx(model, farside_spec([("AIA", aia_wavelength)], receptive_radius=radius))
    out = farside_magnetogram(euvi, model=model, calibrate=relation, device="cpu")
    history = "".join(out.meta["history"].split())
    assert f"STEREO_AEUVI{euvi_wavelength}->AIA{aia_wavelength}:I_AIA=" in history
    assert "notcross-calibrated" not in history
    assert np.isfinite(out.data).any()
