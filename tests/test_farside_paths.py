"""The farside guide's EUVI 304 path, command by command, offline: fetch-pairs to a farside map."""

import shutil
import warnings

import astropy.units as u
import parfive
import pytest
from astropy.io import fits
from astropy.time import Time
from conftest import DATA
from test_fetch import copy_with_time

torch = pytest.importorskip("torch")

import sunpy.map  # noqa: E402
from sunpy.net import Fido  # noqa: E402
from sunpy.net import attrs as a  # noqa: E402

from sunpy_dlmag.cli import main  # noqa: E402

AIA = DATA / "aia_171_level1.fits"
EUVI = DATA / "secchi_l0_a.fits"
MDI = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"


def _as_304(path):
    """The real 171 image relabelled 304 (no real 304 full disk is here): the mechanics of the path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # BLANK on the float SECCHI data
        with fits.open(path, mode="update") as hdul:
            hdul[0].header["WAVELNTH"] = 304
            hdul[0].header.remove("BLANK", ignore_missing=True)
    return path


@pytest.fixture
def archive(monkeypatch, tmp_path):
    """Fido on local copies of real files: AIA '304' and MDI standing in for HMI, in three months."""
    sources = tmp_path / "archive"
    for i, t in enumerate(["2011-02-01T00:00", "2011-03-01T00:00", "2011-09-01T00:00"]):
        copy_with_time(MDI, sources / "hmi" / f"hmi_{i}.fits", t)
        _as_304(copy_with_time(AIA, sources / "aia" / f"aia_304_{i}.fits", Time(t) + 2 * u.min))

    class Result:
        def __init__(self, files):
            self.files = files
            self.file_num = len(files)

    def search(query):
        assert a.Wavelength(304 * u.AA) in query.attrs or a.Instrument("HMI") in query.attrs
        return Result(sorted((sources / ("aia" if a.Instrument("AIA") in query.attrs else "hmi")).iterdir()))

    def fetch(result, *, path, overwrite, max_conn, progress):
        out = parfive.Results()
        for src in result.files:
            dst = path.format(file=src.name)
            shutil.copy(src, dst)
            out.append(path=dst, url=f"https://example.org/{src.name}")
        return out

    monkeypatch.setattr(Fido, "search", search)
    monkeypatch.setattr(Fido, "fetch", fetch)


def test_the_euvi_304_path_of_the_guide(archive, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The guide's commands, with a smaller network and patch so that the test runs in seconds.
    fetch = ["fetch-pairs", "--start", "2011-01-01", "--end", "2011-12-31", "--wavelengths", "304", "--out", "pairs304"]
    assert main(fetch) == 0
    train = ["train", "aisfm-v2", "--channels", "304", "--data", "pairs304", "--size", "small", "--out", "runs/304"]
    tiny = ["--n-res", "1", "--patch-size", "64", "--epochs", "1", "--device", "cpu", "--quiet"]
    assert main(train + tiny) == 0
    assert main(["export", "runs/304/checkpoint.pt", "my-304.onnx"]) == 0
    euvi_304 = _as_304(copy_with_time(EUVI, tmp_path / "euvi_a_304.fts", "2011-02-15T00:14:08"))
    aia_304 = _as_304(copy_with_time(AIA, tmp_path / "aia_304.fits", "2011-02-15T00:00:01"))
    # Without a calibration the file fails, naming the command that derives one.
    assert main(["farside", str(euvi_304), "--model", "my-304.onnx", "--out", "farside304/", "--device", "cpu"]) == 1
    assert "sunpy-dlmag derive-calibration EUVI_FILE AIA_FILE" in capsys.readouterr().err
    assert main(["derive-calibration", str(euvi_304), str(aia_304), "--out", "cal304.ecsv"]) == 0
    args = ["farside", str(euvi_304), "--model", "my-304.onnx", "--calibration", "cal304.ecsv", "--out", "farside304/"]
    assert main([*args, "--device", "cpu"]) == 0
    made = sunpy.map.Map(tmp_path / "farside304" / "euvi_a_304_farside.fits")
    # FITS wraps HISTORY at 72 characters, and the space at a wrap is lost.
    history = "".join(made.meta["history"].split())
    assert "madebymodelmy-304" in history
    assert "STEREO_AEUVI304->AIA304:I_AIA=" in history
    assert made.observatory == "STEREO A"
    assert made.unit == u.G
