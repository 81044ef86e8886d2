import copy
import itertools

import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag import geometry
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    DlmagUserWarning,
    InputMapError,
    MissingObserverError,
    TilingError,
)
from sunpy_dlmag.maps import DlmagMap
from sunpy_dlmag.models import load_model
from sunpy_dlmag.models.runtime import DEFAULT_TILE_PIXELS, _axis_tiles, default_tile_pixels, tile_grid, tiled_inference
from sunpy_dlmag.models.spec import Geometry


@pytest.fixture
def tiny(conv_onnx):
    path, _ = conv_onnx()
    return load_model(path, device="cpu")


def test_tiled_equals_whole_image_on_a_real_magnetogram(tiny, mdi_map):
    # A 600x700 crop (not a multiple of the stride) of a real magnetogram, off-disk zeroed.
    data = np.nan_to_num(mdi_map.data[100:700, 50:750])
    whole = tiny.predict(data, tile_size=1024)
    radius = tiny.spec.geometry.receptive_radius
    tiled = tiny.predict(data, tile_size=128, overlap=radius + 4, batch_size=3)
    scale = np.abs(whole).max()
    assert scale > 0
    # Equal to float32 rounding: convolution kernels sum in a tile-size dependent order.
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5 * scale)
    assert np.mean(np.abs(tiled - whole)) < 1e-7 * scale


@pytest.mark.parametrize(
    ("radius", "stride", "expected"),
    [(14, 4, 1456**2), (175, 16, 1456**2), (400, 16, 1600**2), (500, 16, 2048**2)],
)
def test_default_tile_budget(radius, stride, expected):
    # About 1 GB of network memory for denoise-m2, and at least four margins a side.
    assert default_tile_pixels(Geometry(stride=stride, receptive_radius=radius)) == expected


def test_grid_computes_fewest_pixels_within_the_budget():
    def grid(shape, max_pixels, tile=4096):
        rows, cols = tile_grid(shape, tile=tile, margin=176, stride=16, max_pixels=max_pixels)
        return [w1 - w0 for *_, w0, w1 in rows], [w1 - w0 for *_, w0, w1 in cols]

    # n windows on an axis of L px with margins m hold (L + 2 m (n - 1)) / n px each, on the 16-px
    # grid: 4096 px in 3 windows, (4096 + 4 x 176) / 3 = 1600; in 4 of at most 1296: 3 x 1296 + 1264.
    # The default budget on a 4096-px disk: 3x4 tiles, 1.47 times the pixels (4x4 of 1296 px: 1.58).
    high, wide = grid((4096, 4096), 1456**2)
    assert (high, wide) == ([1600] * 3, [1296, 1296, 1296, 1264])
    assert sum(high) * sum(wide) / 4096**2 < 1.48
    # Within the budget, and whole where the image fits it.
    assert max(high) * max(wide) <= 1456**2
    assert grid((1024, 1024), 1456**2) == ([1024], [1024])
    # A larger budget: 3x3 tiles of 1600 px, 1.37 times the pixels.
    assert grid((4096, 4096), 1600**2) == ([1600] * 3,) * 2
    assert grid((4096, 512), 1456**2) == ([4096], [512])  # 2.1 Mpx: fits the budget
    assert grid((4096, 600), 1456**2) == ([2224, 2224], [600])
    # A side limit alone (tile_size given) is the fewest tiles along each axis.
    assert grid((4096, 4096), 1296**2, tile=1296) == ([1296, 1296, 1296, 1264],) * 2


@pytest.mark.parametrize("length", [16, 1000, 1600, 1601, 4096, 4100])
def test_tiles_cover_each_pixel_once_with_aligned_margins(length):
    tiles = _axis_tiles(length, 1600, 176, 16)
    assert tiles[0][0] == 0
    assert tiles[-1][1] == length
    for (_, stop, _, _), (start, _, _, _) in itertools.pairwise(tiles):
        assert stop == start  # no pixel computed twice, none left out
    for start, stop, w0, w1 in tiles:
        assert w1 - w0 <= 1600
        assert start % 16 == 0
        assert w0 % 16 == 0
        assert start - w0 == (176 if start else 0)
        assert w1 - stop == (176 if stop < length else 0)
    # 4096 px: three windows of 1600 px, 1.17 times the pixels along the axis.
    if length == 4096:
        assert [w1 - w0 for _, _, w0, w1 in tiles] == [1600, 1600, 1600]
    # With 1296-px windows (the default): four, 1.26 times the pixels along the axis.
    if length == 4096:
        assert [w1 - w0 for _, _, w0, w1 in _axis_tiles(length, 1296, 176, 16)] == [1296, 1296, 1296, 1264]


def test_batch_size_does_not_change_the_result(tiny, rng):
    data = rng.normal(0, 100, (300, 260)).astype(np.float32)
    one = tiny.predict(data, tile_size=64, overlap=16, batch_size=1)
    many = tiny.predict(data, tile_size=64, overlap=16, batch_size=16)
    np.testing.assert_array_equal(one, many)


def test_cropped_tiles_reproduce_a_constant():
    # run() returns the tile mean everywhere: a constant image must come back unchanged.
    image = np.full((1, 250, 333), 7.0, dtype=np.float32)
    out = tiled_inference(lambda b: b.mean(axis=1, keepdims=True), image, tile=64, margin=16, stride=8)
    np.testing.assert_allclose(out, 7.0, rtol=1e-6)
    assert out.shape == (250, 333)


def test_nan_pixels_are_masked_and_restored(tiny, mdi_map):
    data = mdi_map.data
    out = tiny.predict(data)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(data))
    # Off-disk pixels enter as 0 G, so the disk edge is not poisoned by NaN.
    filled = tiny.predict(np.nan_to_num(data))
    on_disk = np.isfinite(data)
    np.testing.assert_allclose(out[on_disk], filled[on_disk], rtol=1e-6, atol=1e-6)


def test_all_nan_input(tiny):
    with pytest.raises(InputMapError, match="All pixels of the input are NaN"):
        tiny.predict(np.full((32, 32), np.nan))


def test_wrong_number_of_channels(tiny, euvi_map):
    with pytest.raises(InputMapError, match=r"expects 1 channel\(s\).*got shape \(2, 32, 32\)"):
        tiny.predict(np.zeros((2, 32, 32)))
    with pytest.raises(InputMapError, match="takes 1 input map"):
        tiny.predict([euvi_map, euvi_map])


def test_input_array_is_not_modified(tiny, mdi_map):
    data = mdi_map.data.copy()
    tiny.predict(data, tile_size=256, overlap=64)
    np.testing.assert_array_equal(data, mdi_map.data)


def test_map_in_new_map_out(tiny, mdi_map):
    before_meta = copy.deepcopy(dict(mdi_map.meta))
    before_data = mdi_map.data.copy()
    out = tiny.predict(mdi_map)

    assert out is not mdi_map
    assert out.data.shape == mdi_map.data.shape
    assert out.date == mdi_map.date
    assert out.observer_coordinate.separation_3d(mdi_map.observer_coordinate) < 1 * u.m
    assert out.coordinate_frame.name == "helioprojective"
    assert u.allclose(u.Quantity(out.reference_pixel), u.Quantity(mdi_map.reference_pixel))
    assert u.allclose(out.scale.axis1, mdi_map.scale.axis1)
    assert out.unit == u.G
    assert out.meta["dlmodel"] == "tiny"
    assert out.meta["dlsha256"] == tiny.sha256
    assert "model tiny version 0" in out.meta["history"]
    assert tiny.sha256 in out.meta["history"]
    assert out.instrument == "sunpy-dlmag tiny"
    assert "MDI" in out.meta["dlinput"]
    # Never mistaken for an observation: not read back as an MDI map.
    assert type(out) is DlmagMap  # this package's map source, not MDIMap
    assert out.plot_settings["cmap"] == "hmimag"
    assert out.plot_settings["norm"].vmin == -out.plot_settings["norm"].vmax

    assert dict(mdi_map.meta) == before_meta
    np.testing.assert_array_equal(mdi_map.data, before_data)


def test_output_map_survives_fits(tiny, mdi_map, tmp_path):
    from sunpy_dlmag.io import save_map

    out = tiny.predict(mdi_map)
    again = sunpy.map.Map(save_map(out, tmp_path / "out.fits"))
    assert again.meta["dlsha256"] == tiny.sha256
    assert again.unit == u.G
    assert again.date == mdi_map.date


def test_model_frame_network_keeps_features_in_place(smoothing_onnx, euvi_map):
    # An almost-identity network run in a 128-px model frame (north up, R = 49 px): the
    # brightest feature of a rolled EUVI image comes back at the same place on its own grid.
    path = smoothing_onnx(sigma=0.5, unit="DN", scale=20000.0, image_size=128, rsun_px=49.0)
    model = load_model(path, device="cpu")
    out = model.predict(euvi_map)
    assert out.data.shape == euvi_map.data.shape
    assert out.wcs.wcs.compare(euvi_map.wcs.wcs)

    disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(euvi_map))
    inside = disk & np.isfinite(out.data)
    y, x = np.unravel_index(np.argmax(np.where(inside, euvi_map.data, -np.inf)), euvi_map.data.shape)
    window = out.data[y - 3 : y + 4, x - 3 : x + 4]
    dy, dx = np.unravel_index(np.nanargmax(window), window.shape)
    assert (dy - 3, dx - 3) == (0, 0)
    cc = np.corrcoef(euvi_map.data[inside], out.data[inside])[0, 1]
    assert cc > 0.95


def test_channels_of_different_grids_meet_in_the_model_frame(tmp_path, euvi_map, aia_map):
    from conftest import make_spec

    from sunpy_dlmag.models import registry
    from sunpy_dlmag.models.graphs import convolution_network

    path = tmp_path / "two.onnx"
    convolution_network(path, in_channels=2, levels=0)
    spec = make_spec("two", n_inputs=2, unit="DN", scale=20000.0, image_size=128, rsun_px=49.0)
    registry.write_spec_to_onnx(path, spec)
    model = load_model(path, device="cpu")
    out = model.predict({"a": euvi_map, "b": aia_map})
    assert out.data.shape == euvi_map.data.shape
    assert out.observer_coordinate.separation_3d(euvi_map.observer_coordinate) < 1 * u.m
    # The second channel is used: AIA in place of EUVI changes the output.
    same = model.predict({"a": euvi_map, "b": euvi_map})
    assert np.nanmax(np.abs(out.data - same.data)) > 0
    # Both channels' disks land on the frame's disk (radius 49 px at its centre), although AIA's
    # 128-px image has another observer, scale and centre than EUVI's.
    frame = geometry.ModelFrame(euvi_map, model.spec.geometry)
    stack = frame.stack([euvi_map, aia_map])
    yy, xx = np.indices(frame.shape) - (np.array(frame.shape) - 1)[:, None, None] / 2
    radius = np.hypot(yy, xx)
    rings = np.arange(30, 64)
    profile = np.array([np.nanmedian(stack[0][(radius >= r) & (radius < r + 1)]) for r in rings])
    # EUVI's limb (just inside where its radial profile falls fastest: limb brightening).
    assert abs(rings[np.argmin(np.diff(profile))] + 1 - 49) <= 3
    # AIA sees the Sun from 87 degrees away: only the disk both see, and nothing beyond the limb.
    seen = np.isfinite(stack[1])
    assert radius[seen].max() < 51
    assert 0.2 < seen.sum() / (np.pi * 49**2) < 0.8


def test_map_without_observer(tiny):
    header = {
        "ctype1": "HPLN-TAN", "ctype2": "HPLT-TAN", "cunit1": "arcsec", "cunit2": "arcsec",
        "cdelt1": 10.0, "cdelt2": 10.0, "crpix1": 16.5, "crpix2": 16.5, "crval1": 0.0, "crval2": 0.0,
        "date-obs": "2011-02-15T00:00:00", "bunit": "G",
    }  # fmt: skip
    with pytest.raises(MissingObserverError, match="no observer position"):
        tiny.predict(sunpy.map.Map(np.zeros((32, 32)), header))


def test_tiling_a_whole_image_network_warns(smoothing_onnx, rng):
    path = smoothing_onnx(tile_safe=False)
    model = load_model(path, device="cpu")
    with pytest.warns(DlmagUserWarning, match="normalises over the whole image"):
        model.predict(rng.normal(size=(128, 128)), tile_size=64, overlap=16)


def test_bad_tiling_arguments(tiny):
    radius = tiny.spec.geometry.receptive_radius
    data = np.zeros((256, 256))
    with pytest.raises(TilingError, match="smaller than the receptive radius"):
        tiny.predict(data, tile_size=128, overlap=radius - 1)
    with pytest.raises(TilingError, match="too small for tiny"):
        tiny.predict(data, tile_size=2 * radius, overlap=radius)
    for bad in (64.0, "64", True):
        with pytest.raises(ArgumentTypeError, match="tile_size must be an integer"):
            tiny.predict(data, tile_size=bad)
        with pytest.raises(ArgumentTypeError, match="overlap must be an integer"):
            tiny.predict(data, overlap=bad)
    with pytest.raises(TilingError, match="must not be negative"):
        tiny.predict(data, tile_size=-1)
    # TilingError is a ValueError, as wrong arguments are in Python.
    assert issubclass(TilingError, ValueError)


def test_translate_leaves_a_given_stack_alone(tiny, mdi_map):
    # A stack made inside translate is normalised in place; one given by the caller is not touched.
    from sunpy_dlmag.geometry import ModelFrame

    stack = ModelFrame(mdi_map, tiny.spec.geometry).stack([mdi_map])
    before = stack.copy()
    out = tiny.translate(stack, mdi_map)
    np.testing.assert_array_equal(stack, before)
    np.testing.assert_array_equal(out.data, tiny.translate([mdi_map], mdi_map).data)


def test_full_disk_runs_in_tiles_within_the_pixel_budget(monkeypatch):
    # A 4096-px disk in one piece needs about 9 GB of onnxruntime arena; the default budget keeps
    # every network input at most DEFAULT_TILE_PIXELS (3x4 tiles, about 1.6 GB in all).
    model = load_model("denoise-m2-hmi", device="cpu")
    inputs = []

    def record(batch):
        inputs.append(batch.shape)
        return np.zeros((batch.shape[0], 1, *batch.shape[2:]), dtype=np.float32)

    monkeypatch.setattr(model, "run", record)
    model.predict_array(np.zeros((4096, 4096), dtype=np.float32), progress=False)
    assert len(inputs) == 12
    assert max(h * w for *_, h, w in inputs) <= DEFAULT_TILE_PIXELS
    # An image within the budget still runs whole.
    inputs.clear()
    model.predict_array(np.zeros((1000, 1400), dtype=np.float32), progress=False)
    assert [shape[2:] for shape in inputs] == [(1008, 1408)]
