"""
`sunpy_dlmag.io.read_aisfm` on files built like the published AISFM products.

No AISFM file could be obtained offline; the files here follow the format as the authors'
notebooks (github.com/JeongHyunJin/AISFM3.0) show it for their sample
``aisfm_v3_stereo_b_20110305_120403.fits``: one 1024x1024 float32 image in G, 2.097 arcsec/px,
NaN off the disk, OBSRVTRY/INSTRUME/DETECTOR blank, DATE-OBS, HGLN_OBS/HGLT_OBS/DSUN_OBS of
STEREO-B, INPUTDAT 'STEREO_B', and the input files in HISTORY.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

import sunpy.map

from sunpy_dlmag.exceptions import InputMapError, MissingObserverError
from sunpy_dlmag.io import read_aisfm

NAME = "aisfm_v3_stereo_b_20110305_120403.fits"
# STEREO-B on 2011-03-05 12:04:03, as printed by the authors' notebook for their sample file.
LON, LAT, DSUN = -94.78223699235252, 1.076876540489728, 152041499485.0
INPUT_FILES = (
    "20110305_120615_n4euB.fts",  # EUVI-B 304
    "20110305_120530_n4euB.fts",  # EUVI-B 195
    "20110305_120400_n4euB.fts",  # EUVI-B 171
)


def write_aisfm(path, *, drop=(), **changes):
    """A file in the AISFM format: a bipole and noise on the disk, NaN off it."""
    size, scale = 1024, 2.09736489
    rsun = np.degrees(np.arcsin(695700e3 / DSUN)) * 3600 / scale  # disk radius, px
    yy, xx = np.indices((size, size)) - 510.0
    rng = np.random.default_rng(5)
    data = rng.normal(0, 20, (size, size)) + 800 * (
        np.exp(-((xx - 60) ** 2 + (yy - 100) ** 2) / 200) - np.exp(-((xx - 90) ** 2 + (yy - 100) ** 2) / 200)
    )
    data = np.where(np.hypot(xx, yy) < rsun, data, np.nan).astype(np.float32)
    cards = {
        "DATE-OBS": "2011-03-05T12:04:03",
        "CTYPE1": "HPLN-TAN",
        "CTYPE2": "HPLT-TAN",
        "CUNIT1": "arcsec",
        "CUNIT2": "arcsec",
        "CDELT1": scale,
        "CDELT2": scale,
        "CRPIX1": 511.0,
        "CRPIX2": 511.0,
        "CRVAL1": 0.0,
        "CRVAL2": 0.0,
        "HGLN_OBS": LON,
        "HGLT_OBS": LAT,
        "DSUN_OBS": DSUN,
        "INPUTDAT": "STEREO_B",
        "OBSRVTRY": "",
        "TELESCOP": "",
        "INSTRUME": "",
        "DETECTOR": "",
    }
    cards.update(changes)
    header = fits.Header()
    for key, value in cards.items():
        if key not in drop:
            header[key] = value
    for name in INPUT_FILES:
        header.add_history(name)
    fits.PrimaryHDU(data, header).writeto(path)
    return data


@pytest.fixture
def aisfm(tmp_path):
    path = tmp_path / NAME
    return path, write_aisfm(path)


def test_read_aisfm(aisfm):
    path, data = aisfm
    before = path.read_bytes()
    smap = read_aisfm(path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(smap.data, data)
    assert smap.unit == u.G
    assert smap.date.isot == "2011-03-05T12:04:03.000"
    observer = smap.observer_coordinate
    assert observer.lon.to_value(u.deg) == pytest.approx(LON)
    assert observer.lat.to_value(u.deg) == pytest.approx(LAT)
    assert observer.radius.to_value(u.m) == pytest.approx(DSUN)
    assert smap.observatory == "STEREO B"
    assert smap.instrument == "AISFM v3 (KASI)"
    assert smap.meta["dlmodel"] == "aisfm-v3"
    assert smap.meta["dlinput"] == "; ".join(INPUT_FILES)
    assert "AI-generated farside magnetogram published by KASI" in smap.meta["history"]
    assert INPUT_FILES[0] in smap.meta["history"]
    assert smap.plot_settings["cmap"] == "hmimag"
    assert smap.coordinate_frame.name == "helioprojective"
    # NaN exactly off the disk that the map's own coordinates describe (one pixel of slack at the limb).
    coords = sunpy.map.all_coordinates_from_map(smap)
    rho = np.hypot(coords.Tx, coords.Ty) / smap.rsun_obs
    assert np.isnan(smap.data[rho > 1.003]).all()
    assert np.isfinite(smap.data[rho < 0.997]).all()
    # The bipole sits where it was drawn: west of centre, positive polarity east of negative.
    centre = SkyCoord(75 * 2.09736489 * u.arcsec, 100 * 2.09736489 * u.arcsec, frame=smap.coordinate_frame)
    x, y = (round(float(v)) for v in smap.wcs.world_to_pixel(centre))
    assert smap.data[y, x - 15] > 400
    assert smap.data[y, x + 15] < -400


def test_platform_from_history_and_name(tmp_path):
    path = tmp_path / NAME
    write_aisfm(path, drop=("INPUTDAT",))
    assert read_aisfm(path).observatory == "STEREO B"
    other = tmp_path / "aisfm_v2_stereo_a_20110305_120403.fits"
    write_aisfm(other, drop=("INPUTDAT", "DATE-OBS", "CTYPE1", "CTYPE2"))
    smap = read_aisfm(other)
    assert smap.meta["dlmodel"] == "aisfm-v2"
    assert smap.date.isot == "2011-03-05T12:04:03.000"  # from the file name
    assert smap.coordinate_system.axis1 == "HPLN-TAN"
    # The HISTORY names STEREO-B files; they win over the file name.
    assert smap.observatory == "STEREO B"


def test_observer_needed(tmp_path):
    path = tmp_path / NAME
    write_aisfm(path, drop=("HGLN_OBS", "HGLT_OBS", "DSUN_OBS"))
    with pytest.raises(MissingObserverError, match="get_horizons_coord"):
        read_aisfm(path)
    given = SkyCoord(
        LON * u.deg, LAT * u.deg, DSUN * u.m, frame="heliographic_stonyhurst", obstime="2011-03-05T12:04:03"
    )
    smap = read_aisfm(path, observer=given)
    assert smap.observer_coordinate.lon.to_value(u.deg) == pytest.approx(LON)
    assert "observer position given to read_aisfm" in smap.meta["history"]


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_aisfm(tmp_path / "missing.fits")
    no_scale = tmp_path / NAME
    write_aisfm(no_scale, drop=("CDELT1", "CDELT2"))
    with pytest.raises(InputMapError, match="no pixel scale"):
        read_aisfm(no_scale)
    undated = tmp_path / "farside.fits"
    write_aisfm(undated, drop=("DATE-OBS",))
    with pytest.raises(InputMapError, match="no observation time"):
        read_aisfm(undated)
    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((2, 4, 4), dtype=np.float32)).writeto(cube)
    with pytest.raises(InputMapError, match="2D image"):
        read_aisfm(cube)


@pytest.mark.remote_data
def test_published_sample():
    # The sample the authors' notebooks read, in their repository.
    from astropy.utils.data import download_file

    url = f"https://github.com/JeongHyunJin/AISFM3.0/raw/main/Sample_AISFMs/{NAME}"
    smap = read_aisfm(download_file(url, cache=False))
    assert smap.data.shape == (1024, 1024)
    assert smap.observatory == "STEREO B"
    assert smap.observer_coordinate.lon.to_value(u.deg) == pytest.approx(LON, abs=1e-6)
    assert smap.scale.axis1.to_value(u.arcsec / u.pix) == pytest.approx(2.097, abs=1e-3)
    finite = np.isfinite(smap.data)
    assert 0.2 < finite.mean() < 0.9
