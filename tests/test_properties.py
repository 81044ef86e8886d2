"""
Property-based tests (hypothesis) over the public API: random shapes, dtypes, NaN/inf, masks,
units, missing header keys and argument values. Every call returns a correct result or raises
a `~sunpy_dlmag.exceptions.DlmagError`, never modifies its input and never hangs; the file
readers are fuzzed with truncated and corrupted files.
"""

import copy
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sunpy.map
from sunpy.coordinates import Helioprojective, get_earth
from sunpy.map.header_helper import make_fitswcs_header

import sunpy_dlmag
from sunpy_dlmag import checks, metrics
from sunpy_dlmag.checks import check_magnetogram
from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC, AIA_171, GONG_SYNOPTIC, HMI_SYNCHRONIC
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagError, ImplausibleValueError, InvalidArgumentError
from sunpy_dlmag.io import read_adapt, read_aisfm, read_gong_synoptic, read_hmi_synchronic
from sunpy_dlmag.synchronic import disk_view

# Few examples, no per-example deadline (the machine is shared): the file stays fast.
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
SLOW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DATE = "2011-02-15T00:00:00"
EARTH = get_earth(DATE)

DTYPES = st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8])
UNITS = st.sampled_from(["G", "Gauss", "Mx/cm^2", "Mx/cm2", "T", "DN", "furlong", "", None])
DROPPABLE = ["date-obs", "hgln_obs", "dsun_obs", "rsun_ref"]


@st.composite
def arrays(draw, *, min_side=1, max_side=24):
    dtype = draw(DTYPES)
    shape = draw(st.tuples(st.integers(min_side, max_side), st.integers(min_side, max_side)))
    if np.issubdtype(dtype, np.floating):
        elements = st.one_of(
            st.floats(-3000, 3000, width=32),
            st.sampled_from([np.nan, np.inf, -np.inf, 1e30, 1e39 if dtype == np.float64 else 1e30]),
        )
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -3000), min(info.max, 3000))
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def magnetogram_maps(draw):
    """A small full-disk helioprojective map with random data, unit, mask and missing keys."""
    data = draw(arrays(min_side=2))
    frame = Helioprojective(observer=EARTH, obstime=DATE)
    ny, nx = data.shape
    scale = 2200 / max(ny, nx)
    header = make_fitswcs_header(
        data.shape, SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame), scale=[scale, scale] * u.arcsec / u.pix
    )
    unit = draw(UNITS)
    if unit is not None:
        header["bunit"] = unit
    for key in draw(st.lists(st.sampled_from(DROPPABLE), unique=True, max_size=2)):
        header.pop(key, None)
    mask = draw(st.one_of(st.none(), hnp.arrays(bool, data.shape)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return sunpy.map.Map(data, header, mask=mask)
        except ValueError:  # a header sunpy itself refuses: not our input
            return None


def _snapshot(smap):
    return smap.data.copy(), copy.deepcopy(dict(smap.meta)), None if smap.mask is None else np.copy(smap.mask)


def _unchanged(smap, before):
    data, meta, mask = before
    np.testing.assert_array_equal(smap.data, data)
    assert dict(smap.meta) == meta
    if mask is not None:
        np.testing.assert_array_equal(smap.mask, mask)


def _call(function, *args, **kwargs):
    """The result, or None when it raised a DlmagError; anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return function(*args, **kwargs)
        except DlmagError:
            return None


# --------------------------------------------------------------------------- data and maps
@FAST
@given(arrays(), st.one_of(st.none(), st.booleans()))
def test_finite_data(data, masked):
    before = data.copy()
    checkerboard = np.indices(data.shape).sum(axis=0) % 2 == 0
    source = np.ma.MaskedArray(data, mask=checkerboard) if masked else data
    out = _call(checks.finite_data, source, "data")
    np.testing.assert_array_equal(data, before)
    if out is None:
        return
    assert out.dtype == np.float32
    assert out.shape == data.shape
    assert not np.isinf(out).any()
    finite = np.isfinite(out)
    np.testing.assert_array_equal(out[finite], data[finite].astype(np.float32))
    if masked:
        assert np.isnan(out[checkerboard]).all()


@FAST
@given(magnetogram_maps())
def test_check_magnetogram_and_flux(smap):
    if smap is None:
        return
    before = _snapshot(smap)
    data = _call(check_magnetogram, smap)
    _unchanged(smap, before)
    if data is not None:
        assert data.shape == smap.data.shape
        assert not np.isinf(data).any()
        if smap.mask is not None:
            assert np.isnan(data[np.broadcast_to(smap.mask, data.shape)]).all()
        # Only magnetic units pass, converted to G.
        assert checks.map_unit(smap).is_equivalent(u.G)
    flux = _call(metrics.total_unsigned_flux, smap)
    _unchanged(smap, before)
    if flux is not None:
        assert flux.unit == u.Mx
        assert np.isfinite(flux.value)
        assert flux.value >= 0


@st.composite
def valid_magnetograms(draw):
    """
    A helioprojective magnetogram in G as an instrument would give it: any shape from 1 px, any
    pixel scale, pointed anywhere on the disk (its centre pixel always sees the Sun), NaN
    beyond the limb, finite field values of a magnetogram's range.
    """
    ny, nx = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    scale = draw(st.floats(0.5, 40))
    x, y = draw(st.floats(-650, 650)), draw(st.floats(-650, 650))  # within 0.7 R_sun of disk centre
    frame = Helioprojective(observer=EARTH, obstime=DATE)
    header = make_fitswcs_header(
        (ny, nx), SkyCoord(x * u.arcsec, y * u.arcsec, frame=frame), scale=[scale, scale] * u.arcsec / u.pix
    )
    header["bunit"] = "G"
    data = draw(hnp.arrays(np.float32, (ny, nx), elements=st.floats(-3000, 3000, width=32)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sunpy's all-NaN warnings for maps wholly off the disk
        blank = sunpy.map.Map(np.zeros((ny, nx), np.float32), header)
        data[~sunpy_dlmag.disk.on_disk(blank)] = np.nan
        return sunpy.map.Map(data, header)


@SLOW
@given(valid_magnetograms())
def test_denoise_takes_every_valid_magnetogram(smap):
    # Every example is valid, so every one must come back: no error is taken as fine.
    before = _snapshot(smap)
    finite = np.isfinite(smap.data)
    assert finite.any()
    out = sunpy_dlmag.denoise(smap, model="denoise-m2", device="cpu", progress=False)
    _unchanged(smap, before)
    assert out.data.shape == smap.data.shape
    assert out.unit == u.G
    np.testing.assert_array_equal(np.isfinite(out.data), finite)
    assert out.wcs.wcs.compare(smap.wcs.wcs)
    assert out.reference_date == smap.reference_date


@FAST
@given(
    arrays(min_side=2),
    st.one_of(st.integers(-2, 10), st.floats(-1, 10), st.just("4"), st.none()),
)
def test_pixel_cc_arrays(data, binning):
    before = data.copy()
    other = np.flipud(data)
    cc = _call(metrics.pixel_cc, data, other, binning=binning)
    np.testing.assert_array_equal(data, before)
    if cc is not None:
        assert np.isnan(cc) or -1 - 1e-9 <= cc <= 1 + 1e-9


@FAST
@given(
    arrays(min_side=12, max_side=40),
    st.one_of(st.just(150 * u.G), st.just(150), st.just(0 * u.G), st.just(-5 * u.G), st.just(3 * u.s)),
    st.one_of(st.just(1 * u.G), st.just(1e-9 * u.G), st.just(0 * u.G), st.just("1")),
)
def test_noise_level_arrays(data, field_range, bin_width):
    before = data.copy()
    sigma = _call(sunpy_dlmag.noise_level, data, field_range=field_range, bin_width=bin_width)
    np.testing.assert_array_equal(data, before)
    if sigma is not None:
        assert sigma.unit == u.G
        assert np.isfinite(sigma.value)


# --------------------------------------------------------------------------- arguments
@pytest.fixture(scope="module")
def gong():
    return read_gong_synoptic(GONG_SYNOPTIC)


# Each argument's invalid values, and the name its error must give.
_VIEW_INVALID = {
    "shape": st.sampled_from([(1, 32), (32, -2), 9, "32", (32.5, 32)]),
    "los": st.sampled_from(["no", 0, 1, None]),
    "fov": st.sampled_from([-1 * u.arcsec, 0 * u.deg, 2000, 1 * u.s]),
}


@SLOW
@given(
    shape=st.tuples(st.integers(2, 40), st.integers(2, 40)),
    los=st.booleans(),
    fov=st.one_of(st.none(), st.floats(200, 4000).map(lambda a: a * u.arcsec)),
    wrong=st.one_of(st.none(), st.sampled_from(sorted(_VIEW_INVALID))),
    data=st.data(),
)
def test_disk_view_arguments(gong, shape, los, fov, wrong, data):
    # The generator decides: all arguments valid (a view must come back), or one invalid (an
    # error naming that argument, before any work).
    observer = SkyCoord(20 * u.deg, 0 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst", obstime=gong.date)
    arguments = {"shape": shape, "los": los, "fov": fov}
    if wrong is not None:
        arguments[wrong] = data.draw(_VIEW_INVALID[wrong])
    before = _snapshot(gong)
    if wrong is not None:
        with pytest.raises(DlmagError, match=wrong):
            disk_view(gong, observer, **arguments)
        _unchanged(gong, before)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = disk_view(gong, observer, **arguments)
    _unchanged(gong, before)
    assert view.data.shape == shape
    finite = view.data[np.isfinite(view.data)]
    if finite.size:
        assert np.abs(finite).max() <= np.nanmax(np.abs(gong.data)) + 1e-3


_PFSS_INVALID = {
    "nrho": st.sampled_from([-1, 0, 1, 3.5, "4"]),
    "rss": st.sampled_from([0.0, 1.05, 11.0, 1e6, np.nan, "2.5", 2 * u.s]),
    "shape": st.sampled_from([90, (4, 48), (30, -1)]),
}


@SLOW
@given(
    nrho=st.integers(2, 6),
    rss=st.one_of(st.floats(1.1, 4), st.floats(1.1, 4).map(lambda r: r * u.R_sun)),
    shape=st.one_of(st.tuples(st.integers(8, 24), st.integers(8, 48)), st.none()),
    wrong=st.one_of(st.none(), st.sampled_from(sorted(_PFSS_INVALID))),
    data=st.data(),
)
def test_pfss_extrapolate_arguments(gong, nrho, rss, shape, wrong, data):
    from sunpy_dlmag.pfss import pfss_extrapolate

    small = gong.resample([60, 30] * u.pix) if shape is None else gong
    arguments = {"nrho": nrho, "rss": rss, "shape": shape}
    if wrong is not None:
        arguments[wrong] = data.draw(_PFSS_INVALID[wrong])
    before = _snapshot(small)
    if wrong is not None:
        with pytest.raises(DlmagError, match=wrong):
            pfss_extrapolate(small, **arguments)
        _unchanged(small, before)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = pfss_extrapolate(small, **arguments)
    _unchanged(small, before)
    assert np.isfinite(output.source_surface_br.data).all()
    assert output.grid.nr == nrho
    assert output.grid.rss == pytest.approx(u.Quantity(rss, u.R_sun).value)


# --------------------------------------------------------------------------- file readers
READERS = {
    "gong": (read_gong_synoptic, GONG_SYNOPTIC),
    "hmi": (read_hmi_synchronic, HMI_SYNCHRONIC),
    "adapt": (read_adapt, ADAPT_SYNCHRONIC),
    "aisfm": (read_aisfm, GONG_SYNOPTIC),
}


@pytest.mark.parametrize("name", READERS)
@SLOW
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_readers_on_truncated_and_corrupted_files(name, cut, flips, tmp_path_factory):
    reader, sample = READERS[name]
    raw = bytearray(Path(sample).read_bytes())
    raw = raw[: int(cut * len(raw))] if cut < 0.98 else raw
    for where, value in flips:
        if raw:
            raw[int(where * (len(raw) - 1))] = value
    path = tmp_path_factory.mktemp("fuzz") / f"aisfm_v3_{name}.fits"
    path.write_bytes(bytes(raw))
    smap = _call(reader, path)
    assert path.read_bytes() == bytes(raw)
    if smap is not None:
        assert isinstance(smap, sunpy.map.GenericMap)
        assert smap.data.ndim == 2


# --------------------------------------------------------------------------- issue 25: values and ranges
# These tests assert which error each input gets: a DlmagError of the wrong class, or none where
# one is due, fails them (the tests above accept any DlmagError, so they cannot tell).
def _outcome(function, *args, **kwargs):
    """(result, None) or (None, the DlmagError raised); warnings are recorded, not raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return function(*args, **kwargs), None, caught
        except DlmagError as error:
            return None, error, caught


@FAST
@given(
    product=st.sampled_from(sorted(checks.FIELD_LIMITS)),
    shape=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    data=st.data(),
    bad_values=st.sampled_from(["raise", "mask"]),
)
def test_field_limits_per_product(product, shape, data, bad_values):
    limit = checks.FIELD_LIMITS[product].to_value(u.G)
    field = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-limit, limit, width=32)))
    positions = data.draw(st.lists(st.integers(0, field.size - 1), unique=True, max_size=5))
    beyond = st.floats(float(np.float32(limit * 1.0001)), float(np.float32(1e38)), width=32).map(
        lambda v: v * data.draw(st.sampled_from([-1, 1]))
    )
    for k in positions:
        field.reshape(-1)[k] = data.draw(beyond)
    before = field.copy()
    out, error, caught = _outcome(checks.plausible_field, field, product=product, bad_values=bad_values)
    np.testing.assert_array_equal(field, before)
    if not positions:
        assert error is None
        assert not caught
        np.testing.assert_array_equal(out, field)
    elif bad_values == "raise":
        assert isinstance(error, ImplausibleValueError)
        first = tuple(int(i) for i in np.unravel_index(sorted(positions)[0], shape))
        assert f"{len(positions)} value(s) beyond +-{limit:g} G" in str(error)
        assert str(first) in str(error)
    else:
        assert error is None
        assert any(f"{len(positions)} value(s)" in str(w.message) for w in caught)
        expected = field.copy()
        expected.reshape(-1)[positions] = np.nan
        np.testing.assert_array_equal(out, expected)


@pytest.fixture(scope="module")
def gong_map():
    return read_gong_synoptic(GONG_SYNOPTIC)


@SLOW
@given(
    key=st.sampled_from(["blank", "missing", "missval", "fillval", None]),
    fill=st.sampled_from([-9999.0, 1e30, -3.0e38, 4321.5]),
    positions=st.lists(st.tuples(st.integers(0, 179), st.integers(0, 359)), unique=True, min_size=1, max_size=4),
)
def test_fill_values_of_real_global_maps(gong_map, key, fill, positions):
    data = gong_map.data.copy()
    rows, cols = np.array(positions).T
    data[rows, cols] = fill
    smap = sunpy.map.Map(data, copy.deepcopy(gong_map.meta))
    if key:
        smap.meta[key] = fill
    before = _snapshot(smap)
    (result, error, _) = _outcome(sunpy_dlmag.io.global_field_map, smap)
    _unchanged(smap, before)
    if key:  # declared: missing data, whatever the value
        assert error is None
        _, values = result
        assert np.isnan(values[rows, cols]).all()
        newly = len(positions) - np.isnan(gong_map.data[rows, cols]).sum()
        assert np.isnan(values).sum() == np.isnan(gong_map.data).sum() + newly
    elif abs(fill) > 5000:
        assert isinstance(error, ImplausibleValueError)
        assert f"{len(positions)} value(s) beyond +-5000 G" in str(error)
    else:  # a plausible value is data
        assert error is None
        np.testing.assert_array_equal(result[1][rows, cols], np.float32(fill))


@FAST
@given(rss=st.one_of(st.floats(-1, 20), st.sampled_from([1.1, 10.0, 1e6, np.inf, np.nan])))
def test_rss_range_is_refused_before_any_work(gong_map, rss):
    from sunpy_dlmag.pfss import pfss_extrapolate

    # fill_nan="bogus" fails after the rss check: reaching it shows rss passed.
    _, error, _ = _outcome(pfss_extrapolate, gong_map, rss=rss, fill_nan="bogus")
    assert isinstance(error, InvalidArgumentError)
    if 1.1 <= rss <= 10:
        assert "fill_nan" in str(error)
    else:
        assert "rss (source-surface radius in solar radii) must be a finite number in [1.1, 10]" in str(error)


@FAST
@given(value=st.one_of(st.integers(-3, 8), st.floats(-2, 8), st.sampled_from(["two", "2", None, True])))
def test_num_threads_is_a_positive_integer(value):
    model, error, _ = _outcome(sunpy_dlmag.load_model, "denoise-m2", device="cpu", num_threads=value)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if value is None or (is_int and value >= 1):
        assert error is None
        assert model.num_threads == value
    elif is_int:
        assert isinstance(error, InvalidArgumentError)
        assert f"num_threads must be an integer >= 1, got {value}" in str(error)
    else:
        assert isinstance(error, ArgumentTypeError)
        assert "num_threads must be an integer" in str(error)


@FAST
@given(value=st.one_of(st.floats(-2, 3), st.sampled_from(["half", None, 0, 1, np.nan])))
def test_min_coverage_is_a_fraction(value):
    # Two maps that fail the magnetogram check: reaching it shows min_coverage passed.
    maps = [sunpy.map.Map(np.zeros((4, 4)), {"cdelt1": 1, "cdelt2": 1, "cunit1": "arcsec", "cunit2": "arcsec",
                                             "ctype1": "HPLN-TAN", "ctype2": "HPLT-TAN"})] * 2  # fmt: skip
    _, error, _ = _outcome(sunpy_dlmag.stack_magnetograms, maps, min_coverage=value)
    assert error is not None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        assert "min_coverage" not in str(error)
    elif isinstance(value, str) or value is None:
        assert isinstance(error, ArgumentTypeError)
    else:
        assert isinstance(error, InvalidArgumentError)
        assert "min_coverage (a fraction of the maps) must be a finite number in [0, 1]" in str(error)


@SLOW
@given(scale=st.floats(-5, 5), offset=st.sampled_from([0.0, -1e4, 1e3]))
def test_euv_frames(scale, offset):
    aia = sunpy.map.Map(AIA_171)
    data = (aia.data.astype(np.float64) * scale + offset).astype(np.float32)
    smap = sunpy.map.Map(data, copy.deepcopy(aia.meta))
    out, error, _ = _outcome(checks.euv_data, smap)
    finite = data[np.isfinite(data)]
    if np.ptp(finite) == 0:
        assert isinstance(error, ImplausibleValueError)
        assert "holds one value" in str(error)
    elif np.mean(finite < 0) > 0.5:
        assert isinstance(error, ImplausibleValueError)
        assert "are negative" in str(error)
    else:
        assert error is None
        np.testing.assert_array_equal(out, data)
