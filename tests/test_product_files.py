"""
Every product this package makes survives a file: written with `save_map`, ``DlmagMap.save``
and the CLI, read back with `read_map` (one map, uncertainty and mask included) and with plain
``sunpy.map.Map`` (the map alone), and its header says what the docs' table of keys says.
"""

import re
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import StdDevUncertainty
from conftest import DATA
from PIL import Image

import sunpy.map

from sunpy_dlmag import calibration, denoise, drawings
from sunpy_dlmag.cli import main
from sunpy_dlmag.data.sample import GONG_SYNOPTIC
from sunpy_dlmag.exceptions import DlmagUserWarning, InputFileError, InputMapError, MissingFileError
from sunpy_dlmag.farside import farside_magnetogram, prepare_inputs
from sunpy_dlmag.io import read_gong_synoptic, read_map, save_map
from sunpy_dlmag.mapio import QUANTIZE_STEP, is_tile_compressed
from sunpy_dlmag.maps import DlmagMap
from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization, load_model
from sunpy_dlmag.models.graphs import gaussian_filter_network
from sunpy_dlmag.models.registry import write_spec_to_onnx
from sunpy_dlmag.pfss import open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import synchronic_map
from sunpy_dlmag.version import version

DOCS_TABLE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "runtime.rst"
MDI_SMALL = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
EUVI = DATA / "secchi_l0_a.fits"


def _tiny_farside(tmp_path):
    """A one-channel EUVI 171 -> magnetogram network that smooths (a stand-in for trained weights)."""
    path = tmp_path / "tiny.onnx"
    radius = gaussian_filter_network(path, sigma=1.0)
    spec = ModelSpec(
        name="tiny-farside",
        task="farside",
        architecture="tiny test network",
        inputs=(Channel("AIA", 171 * u.AA, "DN/s", Normalization("log10", 1.0, 1e5)),),
        output=Channel("HMI", None, "G", Normalization("linear", -3000.0, 3000.0)),
        geometry=Geometry(image_size=128, rsun_px=49.0, receptive_radius=radius),
    )
    write_spec_to_onnx(path, spec)
    return load_model(path, device="cpu")


def _drawing(tmp_path):
    """A hand-made drawing: the disk outline and one pair of drawn spots near the centre."""
    size, centre, radius = 400, 200, 150
    yy, xx = np.indices((size, size))
    image = np.full((size, size), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - centre, yy - centre) - radius) < 1.2] = 10
    for x, y in ((185, 190), (215, 192)):
        image[np.hypot(xx - x, yy - y) < 4] = 10
    path = tmp_path / "drawing.png"
    Image.fromarray(image).save(path)
    return drawings.read_drawing(path, date="2010-10-15T08:00:00")


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """(product map, the observation it was made from or None) for every kind of product."""
    tmp = tmp_path_factory.mktemp("products")
    mdi = sunpy.map.Map(MDI_SMALL)
    euvi = sunpy.map.Map(EUVI)
    made = {
        "denoise": (denoise(mdi, device="cpu"), mdi),
        "denoise-uncertainty": (denoise(mdi, device="cpu", uncertainty=True), mdi),
        "farside": (farside_magnetogram(euvi, model=_tiny_farside(tmp)), euvi),
        "drawing": (drawings.drawing_to_magnetogram(_drawing(tmp)), None),
    }
    # The denoised map stands in for an AI farside map; half the Sun is covered by no input.
    with pytest.warns(DlmagUserWarning, match="covered by no input"):
        made["synchronic"] = (synchronic_map(mdi, [made["denoise"][0]], shape=(45, 90)), None)
    gong = read_gong_synoptic(GONG_SYNOPTIC)
    made["pfss-open-field"] = (open_field_map(pfss_extrapolate(gong, nrho=10, shape=(45, 90)), shape=(30, 60)), None)
    made["exposure-normalised"] = (calibration.normalize_exposure(euvi), euvi)
    made["cross-calibrated"] = (calibration.cross_calibrate(euvi), euvi)
    made["model-frame input"] = (prepare_inputs(euvi, model=_tiny_farside(tmp))[0], euvi)
    return made


def _assert_same_map(again, smap):
    assert type(again) is DlmagMap
    np.testing.assert_array_equal(again.data, smap.data)
    assert again.wcs.wcs.compare(smap.wcs.wcs, tolerance=1e-10)
    assert again.unit == smap.unit
    assert again.date == smap.date
    assert again.provenance == smap.provenance
    # FITS wraps HISTORY at 72 characters, and the space at a wrap is lost.
    assert "".join(again.meta["history"].split()) == "".join(smap.meta["history"].split())
    if smap.uncertainty is None:
        assert again.uncertainty is None
    else:
        assert type(again.uncertainty) is type(smap.uncertainty)
        assert again.uncertainty.unit == smap.uncertainty.unit
        np.testing.assert_array_equal(again.uncertainty.array, smap.uncertainty.array)
    if smap.mask is None or not np.any(smap.mask):
        assert again.mask is None
    else:
        np.testing.assert_array_equal(again.mask, smap.mask)


@pytest.mark.parametrize(
    "name", ["denoise", "denoise-uncertainty", "farside", "drawing", "synchronic", "pfss-open-field"]
)
def test_every_product_round_trips_through_save_map_and_save(products, name, tmp_path):
    smap, _ = products[name]
    for path in (save_map(smap, tmp_path / f"{name}.fits"), tmp_path / f"{name}_save.fits.gz"):
        if not path.exists():
            smap.save(path)  # sunpy's own save, as a user calls it
        _assert_same_map(read_map(path), smap)
        # Plain sunpy reads the one map, without its uncertainty, never the sigma as a magnetogram.
        plain = sunpy.map.Map(path)
        assert isinstance(plain, DlmagMap)
        np.testing.assert_array_equal(plain.data, smap.data)


def test_every_public_map_output_reads_back_as_a_product_with_its_provenance(products, tmp_path):
    # Each public function that returns a map: saved as a user saves it, read with plain sunpy.
    assert set(products) == {
        "denoise", "denoise-uncertainty", "farside", "drawing", "synchronic", "pfss-open-field",
        "exposure-normalised", "cross-calibrated", "model-frame input",
    }  # fmt: skip
    for name, (smap, source) in products.items():
        path = tmp_path / f"{name.replace(' ', '-')}.fits"
        smap.save(path)
        again = sunpy.map.Map(path)
        assert isinstance(again, DlmagMap), f"{name} reads back as {type(again).__name__}"
        assert again.product == smap.product
        assert again.provenance == smap.provenance
        assert again.provenance["version"] == version
        assert again.instrument.startswith("sunpy-dlmag ")
        assert f"sunpy-dlmag{version}:" in "".join(again.meta["history"].split())  # FITS wraps HISTORY
        if source is not None:
            # What it was made from, and where that was observed.
            assert again.inputs.startswith(f"{source.observatory}")
            assert again.observatory == source.observatory
    normalised = products["exposure-normalised"][0]
    assert normalised.measurement == "EUV intensity"
    assert normalised.wavelength == products["exposure-normalised"][1].wavelength
    assert "exposure-normalised to DN/s" in normalised.meta["history"]
    assert "cross-calibrated to AIA-equivalent" in products["cross-calibrated"][0].meta["history"]
    frame_input = products["model-frame input"][0]
    assert frame_input.meta["dlchan"] == "AIA 171 Angstrom"
    assert frame_input.wavelength == 171 * u.AA


@pytest.mark.parametrize("compress", [False, True])
def test_product_keys_are_written_with_their_comments(products, tmp_path, compress):
    smap, _ = products["farside"]
    path = save_map(smap, tmp_path / "farside.fits", compress=compress)
    header = fits.getheader(path, ext=1 if compress else 0)
    keys = ["DLPROD", "DLAI", "DLMEAS", "DLMODEL", "DLMODVER", "DLVER"]
    assert {k: header.comments[k] for k in keys} == {
        "DLPROD": "sunpy-dlmag product",
        "DLAI": "T: made, wholly or in part, by a neural network",
        "DLMEAS": "what the data measure",
        "DLMODEL": "model that made it",
        "DLMODVER": "version of the model's weights",
        "DLVER": "sunpy-dlmag version that made it",
    }
    # A value that fills its card (the 64-character sha256, the input's description) keeps no comment.
    assert len(header["DLSHA256"]) == 64


def test_uncertainty_and_mask_are_marked_and_kept(products, tmp_path):
    smap, _ = products["denoise-uncertainty"]
    assert isinstance(smap.uncertainty, StdDevUncertainty)
    mask = ~np.isfinite(smap.data)
    masked = smap._new_instance(smap.data, smap.meta, uncertainty=smap.uncertainty, mask=mask)
    path = save_map(masked, tmp_path / "masked.fits")
    with fits.open(path) as hdul:
        sigma = hdul["UNCERTAINTY"]
        assert sigma.header["DLMEAS"] == "uncertainty"
        assert sigma.header["UTYPE"] == "StdDevUncertainty"
        assert sigma.header["BUNIT"] == "G"
        assert hdul["MASK"].header["MASKVAL"] == 1
    again = read_map(path)
    _assert_same_map(again, masked)
    assert again.uncertainty.quantity.unit == u.G
    assert np.nanmedian(again.uncertainty.array) > 0


def test_files_of_the_earlier_layout_read_with_their_uncertainty(products, tmp_path):
    smap, _ = products["denoise-uncertainty"]
    path = tmp_path / "old.fits"
    header = smap.fits_header
    sigma_header = header.copy()
    sigma_header["EXTNAME"] = "UNCERTAINTY"
    fits.HDUList(
        [fits.PrimaryHDU(smap.data, header), fits.ImageHDU(smap.uncertainty.array.astype(np.float32), sigma_header)]
    ).writeto(path)
    again = read_map(path)
    np.testing.assert_array_equal(again.uncertainty.array, smap.uncertainty.array)
    assert again.uncertainty.unit == u.G


def test_read_map_refuses_what_is_not_one_map(tmp_path):
    with pytest.raises(MissingFileError, match="No such file"):
        read_map(tmp_path / "none.fits")
    two = tmp_path / "two.fits"
    mdi = sunpy.map.Map(MDI_SMALL)
    header = mdi.fits_header
    fits.HDUList([fits.PrimaryHDU(mdi.data, header), fits.ImageHDU(mdi.data, header)]).writeto(two)
    with pytest.raises(InputFileError, match=r"holds 2 maps.*sunpy\.map\.Map"):
        read_map(two)
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"SIMPLE  =  T" + b" " * 100)
    with pytest.raises(InputFileError, match=r"broken\.fits"):
        read_map(broken)


def test_cli_outputs_read_back_with_their_uncertainty(tmp_path, capsys):
    out = tmp_path / "clean.fits"
    assert main(["denoise", str(MDI_SMALL), "--out", str(out), "--uncertainty", "--device", "cpu"]) == 0
    again = read_map(out)
    expected = denoise(sunpy.map.Map(MDI_SMALL), device="cpu", uncertainty=True)
    _assert_same_map(again, expected)
    assert isinstance(sunpy.map.Map(out), DlmagMap)
    opened = tmp_path / "open.fits"
    assert (
        main(
            [
                "pfss",
                str(GONG_SYNOPTIC),
                "--reader",
                "gong",
                "--nrho",
                "10",
                "--open-shape",
                "30",
                "60",
                "--out",
                str(opened),
            ]
        )
        == 0
    )
    assert read_map(opened).product == "pfss-open-field"


def test_denoising_a_product_says_what_it_is(products):
    smap, _mdi = products["denoise"]
    with pytest.raises(InputMapError, match=r"sunpy-dlmag denoise product \(made by denoise-m2 from SOHO MDI") as err:
        denoise(smap, device="cpu")
    assert "Denoise the original observation" in str(err.value)
    assert "model=" in str(err.value)


# --------------------------------------------------------------------------- the docs' table of keys


def _documented_keys():
    """The keys of the table "Header keys of every product" in the docs, and those it says are removed."""
    text = DOCS_TABLE.read_text()
    table, after = text.split(".. list-table:: Header keys of every product", 1)[1].split(
        "that would be wrong on a product are removed:", 1
    )
    keys = set()
    for row in re.findall(r"^   \* - (.+)$", table, flags=re.M)[1:]:
        keys |= set(re.findall(r"``([A-Z0-9-]+)``", row))
    return keys, set(re.findall(r"``([A-Z0-9_-]+)``", after.split(". ", 1)[0]))


def _check_key(key, meta, smap, source):
    """What the docs' table says of ``key`` in a product's header."""
    network = smap.product in ("denoise", "farside")
    value = meta.get(key)
    if key == "DLPROD":
        assert value == smap.product
        assert value
    elif key == "DLAI":
        assert value is (network or smap.product == "synchronic")
    elif key == "DLMEAS":
        assert value in ("magnetogram", "radial field", "open-field polarity")
    elif key == "DLINPUT":
        assert value
        assert value == value.strip()
        assert "  " not in value
        if source is not None:
            assert value.startswith(f"{source.observatory} {source.instrument}")
            assert value.endswith(source.meta["date-obs"].rstrip("Z"))
    elif key == "DLMODEL":
        assert (value is not None) is (network or smap.product == "drawing")
    elif key in ("DLMODVER", "DLSHA256"):
        assert (value is not None) is network
    elif key == "DLVER":
        assert value == version
    elif key == "INSTRUME":
        assert value.startswith("sunpy-dlmag ")
    elif key == "TELESCOP":
        assert value == "sunpy-dlmag"
    elif key == "OBSRVTRY":
        assert value == (source.observatory if source is not None else value)
        assert value
    elif key in ("WAVELNTH", "WAVEUNIT"):
        if smap.product == "denoise":
            assert value == source.meta.get(key.lower())
        else:
            assert value is None
    elif key == "BUNIT":
        assert value == ("" if smap.measurement == "open-field polarity" else "G")
    elif key == "DATE-OBS":
        if source is not None:
            assert value == source.meta["date-obs"].rstrip("Z")
    elif key == "HISTORY":
        assert f"sunpy-dlmag {version}:" in value
        assert ("not an observation" in value) is (network or smap.product == "drawing")
    else:
        raise AssertionError(f"the docs' table has {key}, which this test does not check")


@pytest.mark.parametrize(
    "name", ["denoise", "denoise-uncertainty", "farside", "drawing", "synchronic", "pfss-open-field"]
)
def test_every_product_header_is_what_the_docs_say(products, name, tmp_path):
    keys, removed = _documented_keys()
    assert {"TELESCOP", "OBSRVTRY", "WAVELNTH", "DLINPUT", "DATE-OBS"} <= keys
    smap, source = products[name]
    with fits.open(save_map(smap, tmp_path / "product.fits")) as hdul:
        header = hdul[0].header
        meta = {key: header[key] for key in header if key not in ("HISTORY", "COMMENT", "")}
        meta["HISTORY"] = "".join(str(line) for line in header.get("HISTORY", []))
    for key in sorted(keys):
        _check_key(key, meta, smap, source)
    assert not removed & set(meta), f"{name} keeps {removed & set(meta)}, which the docs say are removed"


def test_compressed_outputs_read_back_within_the_quantization_step(products, tmp_path):
    smap, _ = products["denoise-uncertainty"]
    plain = save_map(smap, tmp_path / "plain.fits")
    rice = save_map(smap, tmp_path / "rice.fits", compress=True)
    assert is_tile_compressed(rice)
    assert not is_tile_compressed(plain)
    assert rice.stat().st_size < plain.stat().st_size
    with fits.open(rice) as hdul:
        assert hdul[1].fileinfo()["datSpan"] < smap.data.astype(np.float32).nbytes
    again = read_map(rice)
    assert type(again) is DlmagMap
    assert again.provenance == smap.provenance
    assert again.wcs.wcs.compare(smap.wcs.wcs, tolerance=1e-10)
    np.testing.assert_array_equal(np.isnan(again.data), np.isnan(smap.data))
    assert np.nanmax(np.abs(again.data - smap.data)) <= QUANTIZE_STEP / 2 + 1e-6
    np.testing.assert_array_equal(again.uncertainty.array, smap.uncertainty.array)
    codes, _ = products["pfss-open-field"]
    np.testing.assert_array_equal(read_map(save_map(codes, tmp_path / "codes.fits", compress=True)).data, codes.data)


def test_cli_output_is_compressed_where_the_input_is(tmp_path, capsys):
    source = tmp_path / "mdi_rice.fits"
    save_map(sunpy.map.Map(MDI_SMALL), source, compress=True)
    assert main(["denoise", str(source), str(MDI_SMALL), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert is_tile_compressed(tmp_path / "out" / "mdi_rice_denoise.fits")
    assert not is_tile_compressed(tmp_path / "out" / f"{MDI_SMALL.name[:-5]}_denoise.fits")
    plain = tmp_path / "plain.fits"
    assert main(["denoise", str(source), "--out", str(plain), "--plain-fits", "--device", "cpu"]) == 0
    assert not is_tile_compressed(plain)
    assert read_map(plain).product == "denoise"


def test_counts_name_the_drawing_without_a_leading_space(tmp_path):
    table = drawings.sunspot_counts(_drawing(tmp_path)).to_table()
    assert table.meta["drawing"] == table.meta["drawing"].strip()
    assert table.meta["drawing"].startswith("sunspot drawing 2010-10-15T08:00:00")


def test_the_uncertainty_map_is_never_shown_as_a_magnetogram(products, tmp_path):
    smap, _ = products["denoise-uncertainty"]
    sigma = smap.uncertainty_map
    assert sigma.measurement == "uncertainty"
    assert sigma.unit == u.G
    np.testing.assert_array_equal(sigma.data, smap.uncertainty.array)
    assert sigma.plot_settings["cmap"] == "viridis"
    assert sigma.plot_settings["norm"].vmin == 0
    again = sunpy.map.Map(save_map(sigma, tmp_path / "sigma.fits"))
    assert (again.measurement, again.plot_settings["cmap"]) == ("uncertainty", "viridis")
    assert products["denoise"][0].uncertainty_map is None
