"""
`sunpy_dlmag.checks` and the classes of silent wrong answers and generic errors it closes
(issue 18), through the public functions that use it.
"""

import copy
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from conftest import SHARED_DATA, map_with, shared_path

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag import checks
from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC, GONG_SYNOPTIC, HMI_SYNCHRONIC
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    DlmagError,
    DlmagUserWarning,
    ImplausibleValueError,
    InputFileError,
    InputMapError,
    InvalidArgumentError,
    InvalidModelSpecError,
    MissingDateError,
    NonFiniteDataError,
    UnitError,
)
from sunpy_dlmag.io import read_adapt, read_aisfm, read_gong_synoptic, read_hmi_synchronic, save_map
from sunpy_dlmag.metrics import total_unsigned_flux
from sunpy_dlmag.pfss import coronal_hole_overlap, open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import disk_view, synchronic_map


@pytest.fixture(scope="module")
def gong():
    return read_gong_synoptic(GONG_SYNOPTIC)


# --------------------------------------------------------------------------- validators
def test_argument_validators():
    assert checks.check_bool(np.True_, "los") is True
    for value in ("no", 0, None):
        with pytest.raises(ArgumentTypeError, match="los must be True or False"):
            checks.check_bool(value, "los")
    assert checks.check_int(np.int64(3), "n", minimum=1) == 3
    for value in ("256", 7.5, True):
        with pytest.raises(ArgumentTypeError, match="tile_size must be an integer"):
            checks.check_int(value, "tile_size")
    with pytest.raises(InvalidArgumentError, match=r"n must be an integer >= 1, got 0"):
        checks.check_int(0, "n", minimum=1)
    with pytest.raises(InvalidArgumentError, match="finite"):
        checks.check_number(np.nan, "north_angle")
    with pytest.raises(ArgumentTypeError, match="number"):
        checks.check_number("2.5", "rss")
    with pytest.raises(ArgumentTypeError, match=r"Quantity in G \(e.g. field_range=150"):
        checks.check_quantity(150, u.G, "field_range")
    with pytest.raises(InvalidArgumentError, match="positive"):
        checks.check_quantity(0 * u.G, u.G, "bin_width", positive=True)
    with pytest.raises(ArgumentTypeError, match="units of G"):
        checks.check_quantity(1 * u.s, u.G, "bin_width")
    assert checks.check_choice(np.int64(1), (None, 1, -1), "polarity") == 1
    for value in (True, "1", 2):
        with pytest.raises(InvalidArgumentError, match="polarity must be one of"):
            checks.check_choice(value, (None, 1, -1), "polarity")
    with pytest.raises(ArgumentTypeError, match="pair of integers"):
        checks.check_shape(90)
    with pytest.raises(InvalidArgumentError, match=">= 4"):
        checks.check_shape((2, 360), minimum=4)


def test_finite_data_refuses_inf_and_honours_masks():
    data = np.ones((4, 4))
    data[1, 2] = 1e39  # finite in float64, inf in float32
    with pytest.raises(NonFiniteDataError, match=r"first at index \(1, 2\)"):
        checks.finite_data(data, "data")
    masked = np.ma.MaskedArray(data, mask=data > 10)
    out = checks.finite_data(masked, "data")
    assert np.isnan(out[1, 2])
    assert np.isfinite(np.delete(out.ravel(), 6)).all()
    assert data[1, 2] == 1e39  # the input is untouched
    with pytest.raises(NonFiniteDataError, match="no finite pixel"):
        checks.finite_data(np.full((3, 3), np.nan), "data")
    with pytest.raises(InputMapError, match="real numbers"):
        checks.finite_data(np.array([["a"]]), "data")


def test_unit_named_as_written(mdi_map):
    with pytest.warns(UserWarning, match="Could not parse unit"):  # sunpy parses only FITS units
        smap = map_with(mdi_map, bunit="Mx/cm2")
    assert checks.map_unit(smap) == u.Mx / u.cm**2
    assert checks.is_magnetogram(smap)
    with pytest.warns(UserWarning, match="Could not parse unit"):
        strange = map_with(mdi_map, bunit="furlongs per G")
    with pytest.raises(UnitError, match="BUNIT = 'furlongs per G' cannot be parsed"):
        checks.map_unit(strange)


def test_instruments_from_map_classes(mdi_map, aia_map, euvi_map):
    assert checks.euv_instrument(aia_map) == "AIA"
    assert checks.euv_instrument(euvi_map) == "EUVI"
    assert checks.euv_instrument(mdi_map) is None
    assert checks.is_magnetogram(mdi_map)
    assert not checks.is_magnetogram(euvi_map)
    assert checks.is_euv_map(aia_map)
    assert not checks.is_euv_map(mdi_map)
    # An AIA image whose BUNIT says G is still no magnetogram.
    with pytest.raises(InputMapError, match="EUV imager AIA"):
        checks.is_magnetogram(map_with(aia_map, bunit="G"), error=True)


# --------------------------------------------------------------------------- silent wrong answers
def test_denoise_refuses_inf_and_honours_masks(mdi_map):
    data = mdi_map.data.copy()
    data[500, 500] = np.inf
    with pytest.raises(NonFiniteDataError, match="infinite"):
        sunpy_dlmag.denoise(map_with(mdi_map, data=data), device="cpu")
    small = mdi_map.submap([448, 448] * u.pix, top_right=[575, 575] * u.pix)
    mask = np.zeros(small.data.shape, dtype=bool)
    mask[60:68, 60:68] = True
    masked = sunpy.map.Map(small.data.copy(), copy.deepcopy(small.meta), mask=mask)
    before = masked.data.copy()
    out = sunpy_dlmag.denoise(masked, device="cpu")
    np.testing.assert_array_equal(masked.data, before)
    assert np.isnan(out.data[mask]).all()  # masked pixels are missing data, not denoised values
    # Masked pixels enter the network as missing data: their neighbours match a NaN-filled input.
    filled = sunpy_dlmag.denoise(map_with(small, data=np.where(mask, np.nan, small.data)), device="cpu")
    np.testing.assert_allclose(out.data, filled.data, equal_nan=True)


def test_dates_are_required(mdi_map, gong):
    meta = copy.deepcopy(mdi_map.meta)
    for key in ("date-obs", "date_obs", "date-beg", "date-avg", "date-end", "t_obs"):
        meta.pop(key, None)
    undated = sunpy.map.Map(mdi_map.data, meta)
    assert not checks.has_date(undated)
    with pytest.raises(MissingDateError, match="no observation time"):
        sunpy_dlmag.denoise(undated, device="cpu")
    with pytest.raises(MissingDateError):
        sunpy_dlmag.stack_magnetograms([mdi_map, undated])
    gong_meta = copy.deepcopy(gong.meta)
    for key in ("date-obs", "date_obs", "date-beg", "date-avg", "date-end", "t_obs", "mjd-obs"):
        gong_meta.pop(key, None)
    with pytest.raises(MissingDateError):
        pfss_extrapolate(sunpy.map.Map(gong.data, gong_meta), nrho=5, shape=(30, 60))


def test_hmi_output_time_is_the_inputs(tmp_path):
    # An HMI map's T_OBS is TAI: the output's frame time must be the input's, not 37 s later.
    folder = shared_path("magnetograms", "hmi_fulldisk_720s")
    files = sorted(folder.glob("*.fits")) if folder else []
    if not files:
        pytest.skip("HMI full-disk magnetograms not available")
    hmi = sunpy.map.Map(files[0]).resample([256, 256] * u.pix)
    out = sunpy_dlmag.denoise(hmi, device="cpu")
    assert abs((out.reference_date - hmi.reference_date).to_value(u.s)) < 1e-3
    assert abs((out.date - hmi.date).to_value(u.s)) < 1e-3


def test_coronal_hole_overlap_refuses_a_magnetogram(gong, mdi_map):
    output = pfss_extrapolate(gong, nrho=5, shape=(30, 60))
    open_map = open_field_map(output, shape=(15, 30))
    with pytest.raises(InputMapError, match="Expected an euv_map"):
        coronal_hole_overlap(open_map, mdi_map)
    with pytest.raises(InvalidArgumentError, match="polarity"):
        sunpy_dlmag.pfss.open_field_fraction(open_map, polarity="north")
    with pytest.raises(ArgumentTypeError, match="tracer"):
        open_field_map(output, tracer="fast")
    with pytest.raises(ArgumentTypeError, match="seed_radius"):
        open_field_map(output, seed_radius=1.01)


def test_read_aisfm_refuses_observations(tmp_path, aia_map, mdi_map):
    for smap in (aia_map, mdi_map):
        path = tmp_path / f"aisfm_v3_{smap.instrument}.fits"
        save_map(smap, path)
        with pytest.raises(InputMapError, match="not an AISFM product"):
            read_aisfm(path)


def test_arguments_of_global_maps(gong):
    observer = SkyCoord(0 * u.deg, 0 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst", obstime=gong.date)
    for shape in ((0, 64), (-5, 64), 90):
        with pytest.raises(InvalidArgumentError, match="shape"):
            disk_view(gong, observer, shape=shape)
    with pytest.raises(ArgumentTypeError, match="los must be True or False"):
        disk_view(gong, observer, shape=(32, 32), los="no")
    with pytest.raises(ArgumentTypeError, match="fov"):
        disk_view(gong, observer, shape=(32, 32), fov=2000)
    with pytest.raises(ArgumentTypeError, match="rss"):
        pfss_extrapolate(gong, rss="2.5")
    with pytest.raises(ArgumentTypeError, match="shape"):
        pfss_extrapolate(gong, shape=90)
    # A grid the docs allow, not a whole-block reduction: an area mean, finite everywhere.
    output = pfss_extrapolate(gong, nrho=5, shape=(9, 17))
    assert output.input_map.data.shape == (9, 17)
    assert np.isfinite(output.input_map.data).all()
    assert np.nanmean(output.input_map.data) == pytest.approx(np.nanmean(gong.data), abs=0.05)


def test_synchronic_map_warns_when_merging_different_suns(mdi_map, gong):
    # A 2010 magnetogram and a 2018 background.
    with pytest.warns(sunpy_dlmag.exceptions.DlmagUserWarning, match=r"days apart .*more than a solar rotation"):
        synchronic_map(mdi_map, background=gong, shape=(45, 90))


def test_unparsable_bunit_is_named_as_written(mdi_map):
    with pytest.warns(UserWarning, match="Could not parse unit"):
        smap = map_with(mdi_map, bunit="Mx per cm2 (LOS)")
    with pytest.raises(UnitError, match=r"'Mx per cm2 \(LOS\)'"):
        total_unsigned_flux(smap)


# --------------------------------------------------------------------------- file readers
@pytest.mark.parametrize(
    "reader", [read_gong_synoptic, read_hmi_synchronic, read_adapt, read_aisfm], ids=lambda r: r.__name__
)
def test_readers_name_the_file_of_a_broken_file(reader, tmp_path):
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(Path(GONG_SYNOPTIC).read_bytes()[:4000])
    corrupt = tmp_path / "corrupt.fits.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"not gzip at all" * 20)
    table = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "E", array=[1.0])])]).writeto(
        table
    )
    for path in (empty, truncated, corrupt, table):
        with pytest.raises(DlmagError, match=path.name):
            reader(path)
    with pytest.raises(InputFileError):
        reader(empty)


def test_readers_refuse_other_array_shapes(tmp_path):
    cube = tmp_path / "adapt4d.fits"
    header = fits.getheader(ADAPT_SYNCHRONIC)
    fits.writeto(cube, np.zeros((2, 2, 18, 36), dtype=np.float32), header)
    with pytest.raises(InputFileError, match=r"adapt4d\.fits holds data of shape"):
        read_adapt(cube)
    with pytest.raises(ArgumentTypeError, match="path must be"):
        read_hmi_synchronic(3)
    # The reader's own sample still reads: the full Sun at 0.5 degrees, in G.
    sample = read_hmi_synchronic(HMI_SYNCHRONIC)
    assert sample.data.shape == (360, 720)
    assert sample.unit == u.G


# --------------------------------------------------------------------------- models
def test_models_with_a_fixed_batch_of_one_run_in_tiles(conv_onnx, rng):
    import onnx

    from sunpy_dlmag.models import load_model, registry

    path, spec = conv_onnx("tiny")
    fixed = path.with_name("fixed.onnx")
    graph = onnx.load(path)
    graph.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(graph, fixed)
    registry.write_spec_to_onnx(fixed, spec)
    image = rng.normal(0, 100, (96, 96)).astype(np.float32)
    expected = load_model(path, device="cpu").predict_array(image, tile_size=48, overlap=16)
    got = load_model(fixed, device="cpu").predict_array(image, tile_size=48, overlap=16)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    with pytest.raises(ArgumentTypeError, match="tile_size must be an integer"):
        load_model(path, device="cpu").predict_array(image, tile_size="32")


def test_deeply_nested_spec_is_an_invalid_spec():
    from sunpy_dlmag.exceptions import InvalidModelSpecError
    from sunpy_dlmag.models.spec import ModelSpec

    with pytest.raises(InvalidModelSpecError, match="not valid JSON"):
        ModelSpec.from_json("[" * 100_000 + "]" * 100_000)


def test_a_model_returning_nan_is_refused(conv_onnx, mdi_map):
    import onnx
    from onnx import helper

    from sunpy_dlmag.exceptions import ModelOutputError
    from sunpy_dlmag.models import load_model, registry

    path, spec = conv_onnx("tiny")
    graph = onnx.load(path)
    # Multiply the output by NaN: an untrained or broken export.
    last = graph.graph.output[0].name
    graph.graph.initializer.append(helper.make_tensor("nan", onnx.TensorProto.FLOAT, [], [float("nan")]))
    graph.graph.node.append(helper.make_node("Mul", [last, "nan"], ["broken"]))
    graph.graph.output[0].name = "broken"
    broken = path.with_name("broken.onnx")
    onnx.save(graph, broken)
    registry.write_spec_to_onnx(broken, spec)
    with pytest.raises(ModelOutputError, match=r"returned .* NaN or infinite"):
        load_model(broken, device="cpu").predict_array(np.ones((32, 32), dtype=np.float32))


def test_drawings_refuse_observations_and_bad_arguments(aia_map, mdi_map):
    from sunpy_dlmag import drawings

    with pytest.raises(InputMapError, match=r"Expected a drawing.*observation of AIA"):
        drawings.drawing_to_magnetogram(aia_map)
    with pytest.raises(InputMapError, match="Expected a drawing"):
        drawings.detect_sunspots(mdi_map)
    image = np.full((200, 200), 230, dtype=np.uint8)
    yy, xx = np.indices(image.shape)
    image[np.abs(np.hypot(xx - 100, yy - 100) - 80) < 1.5] = 20
    drawing = _call_quiet(drawings.read_drawing, image, date="2018-06-06T07:52")
    for kwargs in ({"group_distance": -5 * u.deg}, {"limb_margin": -3.0}, {"limb_margin": "2"}):
        with pytest.raises((InvalidArgumentError, ArgumentTypeError)):
            _call_quiet(drawings.detect_sunspots, drawing, **kwargs)


def _call_quiet(function, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def test_detect_sunspots_group_distance_without_unit(tmp_path):
    from sunpy_dlmag.drawings import detect_sunspots

    for value, match in [
        (5, r"detect_sunspots: group_distance must be a Quantity in units of deg \(e.g. group_distance=5 \* u.deg\)"),
        ("5", r"group_distance must be a Quantity .*got '5' \(str\)"),
        (5 * u.m, r"group_distance must be in units of deg \(or convertible to it\), got 5.0 m"),
    ]:
        with pytest.raises(ArgumentTypeError, match=match):
            detect_sunspots(None, group_distance=value)


def _public_functions():
    import importlib
    import inspect

    seen = {}
    for module in ("sunpy_dlmag", "sunpy_dlmag.drawings", "sunpy_dlmag.calibration", "sunpy_dlmag.metrics",
                   "sunpy_dlmag.farside", "sunpy_dlmag.data.fetch"):  # fmt: skip
        module = importlib.import_module(module)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return seen


def test_every_unit_annotated_argument_refuses_a_plain_number():
    import inspect

    checked = 0
    for func in _public_functions().values():
        signature = inspect.signature(inspect.unwrap(func))
        for parameter in signature.parameters.values():
            if parameter.annotation is inspect.Parameter.empty:
                continue
            unit = u.Unit(parameter.annotation)
            required = {
                p.name: None
                for p in signature.parameters.values()
                if p.default is inspect.Parameter.empty and p.kind is not p.VAR_POSITIONAL and p.name != parameter.name
            }
            with pytest.raises(ArgumentTypeError, match=rf"{parameter.name} must be a Quantity in units of {unit}"):
                func(**required, **{parameter.name: 3})
            with pytest.raises(ArgumentTypeError, match=f"{parameter.name} must be in units of {unit}"):
                func(**required, **{parameter.name: 3 * u.kg})
            checked += 1
    assert checked >= 8


def test_no_function_uses_astropys_decorator_directly():
    # Its refusals are astropy's TypeError and UnitsError; checks.quantity_input's are DlmagErrors.
    package = Path(sunpy_dlmag.__file__).parent
    offenders = [str(p) for p in package.rglob("*.py") if "@u.quantity_input" in p.read_text()]
    assert offenders == []


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: __import__("sunpy_dlmag.data.fetch").data.fetch.build_queries("2011-01-01", "2011-01-02", 12),
         r"cadence must be a Quantity in h \(e.g. cadence=12 \* u.h\)"),
        (lambda: __import__("sunpy_dlmag.data.fetch").data.fetch.pairs_from_folders(".", ".", tolerance=30),
         r"tolerance must be a Quantity in min \(e.g. tolerance=30 \* u.min\)"),
    ],
)  # fmt: skip
def test_quantity_arguments_of_the_data_functions(call, match):
    with pytest.raises(ArgumentTypeError, match=match):
        call()


# --------------------------------------------------------------------------- issue 25: physical plausibility
HMI_FULL_DISK = sorted(shared_path("magnetograms", "hmi_fulldisk_720s").glob("*.fits")) if SHARED_DATA else []
ADAPT_2017 = shared_path("synoptic", "adapt40311_03k012_201707200800_i00015600n1.fts.gz")
EUV_SYNOPTIC = shared_path("synoptic", "aia_euvi_synoptic_20210107.fits")


@pytest.mark.skipif(not (HMI_FULL_DISK and ADAPT_2017), reason="shared real data not present")
def test_the_field_limits_never_refuse_real_magnetograms(mdi_map, gong):
    # Real data peak well below the limits: HMI 720-s full disk 4.9 kG, MDI 3.0 kG; global maps 1.3 kG (ADAPT).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sunpy's notes on reading these files
        hmi = [sunpy.map.Map(path) for path in HMI_FULL_DISK[:1]]
        adapt = sunpy.map.Map(ADAPT_2017, hdus=0)
        for smap in (gong, adapt, read_hmi_synchronic(HMI_SYNCHRONIC)):
            _, data = sunpy_dlmag.io.global_field_map(smap)
            assert 50 < np.nanmax(np.abs(data)) < checks.FIELD_LIMITS["global"].to_value(u.G) / 3
    for smap in [*hmi, mdi_map]:
        peak = np.nanmax(np.abs(sunpy_dlmag.checks.check_magnetogram(smap)))
        assert 3000 < peak < checks.FIELD_LIMITS["magnetogram"].to_value(u.G) / 2


def test_field_beyond_what_the_sun_produces_is_refused_or_masked(mdi_map):
    data = mdi_map.data.copy()
    data[500, 510], data[600, 400], data[512, 512] = 1e5, -2e4, 9999.0  # two fill values, one strong umbra
    smap = map_with(mdi_map, data)
    with pytest.raises(ImplausibleValueError, match=r"2 value\(s\) beyond \+-10000 G.*\(500, 510\), \(600, 400\)"):
        sunpy_dlmag.denoise(smap, device="cpu")
    with pytest.warns(DlmagUserWarning, match=r"2 value\(s\).*set to NaN"):
        field = sunpy_dlmag.checks.check_magnetogram(smap, bad_values="mask")
    assert np.isnan(field[[500, 600], [510, 400]]).all()
    assert field[512, 512] == 9999.0
    assert np.isnan(field).sum() == np.isnan(mdi_map.data).sum() + 2
    np.testing.assert_array_equal(smap.data, data)  # the input is not modified
    with pytest.raises(InvalidArgumentError, match="bad_values must be one of 'raise', 'mask'"):
        sunpy_dlmag.denoise(smap, device="cpu", bad_values="ignore")


def _gong_file(tmp_path, name, value, **keys):
    header = fits.getheader(GONG_SYNOPTIC)
    data = fits.getdata(GONG_SYNOPTIC).astype(np.float32)
    data[50, 60] = value
    for key, card in keys.items():
        header[key] = card
    path = tmp_path / name
    fits.writeto(path, data, header)
    return path


@pytest.mark.parametrize("key", ["BLANK", "MISSING", "MISSVAL", "FILLVAL"])
def test_declared_fill_values_are_missing_data(tmp_path, gong, key):
    if key != "BLANK":  # FITS allows BLANK on integer images only (astropy applies it to those)
        smap = read_gong_synoptic(_gong_file(tmp_path, "filled.fits", -9999.0, **{key: -9999.0}))
        assert np.isnan(smap.data[50, 60])
        assert np.isnan(smap.data).sum() == 1
    declared = map_with(gong, _with(gong.data, (50, 60), 1e30), **{key.lower(): 1e30})
    with pytest.warns(DlmagUserWarning, match=r"0\.0% of the map's pixels are NaN; filled"):
        output = pfss_extrapolate(declared, nrho=5)
    assert np.nanmax(np.abs(output.source_surface_br.data)) < 10
    counts = map_with(gong, _with(gong.data.astype(np.int32), (50, 60), -32768), blank=-32768)
    assert np.isnan(sunpy_dlmag.io.global_field_map(counts)[1][50, 60])


def _with(data, where, value):
    data = data.copy()
    data[where] = value
    return data


def test_undeclared_fill_values_in_global_maps(tmp_path, gong):
    path = _gong_file(tmp_path, "undeclared.fits", 1e30)
    with pytest.raises(ImplausibleValueError, match=r"1 value\(s\) beyond \+-5000 G.*\(50, 60\)"):
        read_gong_synoptic(path)
    with pytest.warns(DlmagUserWarning, match="set to NaN"):
        assert np.isnan(read_gong_synoptic(path, bad_values="mask").data[50, 60])
    bad = map_with(gong, _with(gong.data, (50, 60), 1e30))
    with pytest.raises(ImplausibleValueError, match=r"\(50, 60\)"):
        pfss_extrapolate(bad, nrho=5)
    with pytest.warns(DlmagUserWarning) as caught:
        output = pfss_extrapolate(bad, nrho=5, bad_values="mask")
    assert "1 value(s) beyond +-5000 G" in str(caught[0].message)
    assert "filled with the mean field of their latitude row" in str(caught[1].message)
    clean = pfss_extrapolate(gong, nrho=5)
    np.testing.assert_allclose(output.source_surface_br.data, clean.source_surface_br.data, atol=0.05)
    observer = SkyCoord(0 * u.deg, 0 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst", obstime=gong.date)
    view = disk_view(gong, observer, shape=(64, 64))
    with pytest.raises(ImplausibleValueError):
        synchronic_map(view, background=bad, shape=(30, 60))
    cube = fits.getdata(ADAPT_SYNCHRONIC).copy()
    cube[3, 20, 30] = 1e30
    adapt = tmp_path / "adapt.fts"
    fits.writeto(adapt, cube, fits.getheader(ADAPT_SYNCHRONIC))
    with pytest.raises(ImplausibleValueError, match=r"\(20, 30\)"):
        read_adapt(adapt)
    assert np.isfinite(read_adapt(adapt, realization=2).data).any()


def test_euv_frames_that_cannot_be_observations(euvi_map, aia_map, gong):
    from sunpy_dlmag.calibration import normalize_exposure

    for smap in (euvi_map, aia_map):
        assert np.isfinite(normalize_exposure(smap).data).any()
        with pytest.raises(ImplausibleValueError, match=r"holds one value \(0\)"):
            normalize_exposure(map_with(smap, np.zeros(smap.data.shape, dtype=np.float32)))
        with pytest.raises(ImplausibleValueError, match="are negative"):
            normalize_exposure(map_with(smap, -smap.data.astype(np.float32)))
    open_map = open_field_map(pfss_extrapolate(gong, nrho=5, shape=(30, 60)), shape=(15, 30), progress=False)
    stripped = map_with(euvi_map, hgln_obs=None, hglt_obs=None, dsun_obs=None, crln_obs=None, crlt_obs=None)
    with pytest.raises(sunpy_dlmag.exceptions.MissingObserverError, match="no observer position"):
        coronal_hole_overlap(open_map, stripped)
    with pytest.raises(ImplausibleValueError, match="one value"):
        coronal_hole_overlap(open_map, map_with(euvi_map, np.zeros(euvi_map.data.shape)))


@pytest.mark.skipif(EUV_SYNOPTIC is None, reason="shared real data not present")
def test_global_map_reader_refuses_euv_maps(gong):
    euv = sunpy.map.Map(EUV_SYNOPTIC)
    observer = SkyCoord(0 * u.deg, 0 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst", obstime=euv.date)
    generic = map_with(euv, telescop=None, instrume=None, detector=None, obsrvtry=None)  # the wavelength says EUV
    for smap in (euv, generic, map_with(euv, bunit="G")):
        with pytest.raises(InputMapError, match="identifies this one as EUV"):
            disk_view(smap, observer, shape=(32, 32))
    with pytest.raises(InputMapError, match="identifies this one as EUV"):
        pfss_extrapolate(euv)
    rotated = map_with(gong, crota2=30.0)
    with pytest.raises(InputMapError, match=r"rotates them \(CROTA2 = 30.0"):
        pfss_extrapolate(rotated, nrho=5)


def test_parameters_with_physical_ranges(gong, mdi_map):
    for rss in (1.05, 1e6, 0.5):
        with pytest.raises(InvalidArgumentError, match=r"rss .* in \[1.1, 10\], got"):
            pfss_extrapolate(gong, rss=rss)
    for value, error in (
        ("two", ArgumentTypeError),
        (0.5, ArgumentTypeError),
        (-1, InvalidArgumentError),
        (0, InvalidArgumentError),
    ):
        with pytest.raises(error, match="num_threads must be an integer"):
            sunpy_dlmag.denoise(mdi_map, device="cpu", num_threads=value)
    with pytest.raises(InvalidArgumentError, match="task must be one of 'denoise', 'drawing', 'farside'; got 'nope'"):
        sunpy_dlmag.list_models(task="nope")
    pair = [mdi_map, mdi_map]
    for value, error in (("half", ArgumentTypeError), (-1, InvalidArgumentError), (1.5, InvalidArgumentError)):
        with pytest.raises(error, match="min_coverage"):
            sunpy_dlmag.stack_magnetograms(pair, min_coverage=value)


def test_generic_errors_name_the_argument(tmp_path, mdi_map, gong):
    stack = sunpy_dlmag.stack_magnetograms
    with pytest.raises(ArgumentTypeError, match=r"maps must be a sequence of at least two magnetogram maps, got None"):
        stack(None)
    with pytest.raises(ArgumentTypeError, match="got one map"):
        stack(mdi_map)
    with pytest.raises(InputMapError, match="helioprojective"):  # synoptic maps are not rotated differentially
        stack([gong, gong])
    from sunpy_dlmag.metrics import evaluate

    with pytest.raises(ArgumentTypeError, match=r"pairs must be an iterable of \(input, target\) tuples, got None"):
        evaluate(lambda m: m, None)
    later = map_with(mdi_map, **{"date-obs": "2012-06-25T00:00:00", "t_obs": "2012-06-25T00:00:00"})
    with pytest.raises(InputMapError, match=r"Pair 0: .* \(1\.69 years\) apart; expected the same time"):
        evaluate(lambda m: later, [(mdi_map, mdi_map)])
    with pytest.raises(InputMapError, match="Expected the map to save as a sunpy map, got ndarray"):
        save_map(np.zeros((4, 4)), tmp_path / "array.fits")
    inside = SkyCoord(0 * u.deg, 0 * u.deg, 0.5 * u.R_sun, frame="heliographic_stonyhurst", obstime=gong.date)
    with pytest.raises(InvalidArgumentError, match="observer must be outside the Sun"):
        disk_view(gong, inside, shape=(32, 32))
    cube = tmp_path / "gong4d.fits"
    fits.writeto(cube, np.zeros((2, 2, 180, 360), np.float32), fits.getheader(GONG_SYNOPTIC))
    with pytest.raises(InputFileError, match=r"gong4d\.fits holds data of shape \(2, 2, 180, 360\)"):
        read_gong_synoptic(cube)
    weights = tmp_path / "random.onnx"
    weights.write_bytes(np.random.default_rng(0).bytes(5000))
    spec = sunpy_dlmag.get_model("denoise-m2")
    (tmp_path / "random.json").write_text(spec.to_json())
    with pytest.raises(InvalidModelSpecError, match=r"random\.onnx is not a readable ONNX file"):
        sunpy_dlmag.load_model(weights, device="cpu")
    from astropy.table import QTable

    from sunpy_dlmag.drawings import sunspot_bipoles

    spots = QTable(
        {"group": [1], "lat": [10.0] * u.deg, "lon": [5.0] * u.deg, "area": [100.0] * u.dimensionless_unscaled}
    )
    for bad, error, message in (
        ("2", ArgumentTypeError, "got '2' \\(str\\)"),
        (float("nan"), InvalidArgumentError, "got nan"),
    ):
        with pytest.raises(error, match=f"flux_factor must be a .*number.*{message}"):
            sunspot_bipoles(spots, date="2014-01-01", flux_factor=bad)
