import astropy.units as u
import numpy as np
import pytest
from reproject import reproject_interp

import sunpy.map

from sunpy_dlmag import checks, geometry
from sunpy_dlmag.exceptions import InputMapError


def _shift_px(a, b):
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(np.nan_to_num(a), np.nan_to_num(b), upsample_factor=50)
    return np.hypot(*shift)


def test_model_frame_is_north_up_centred_with_fixed_radius(mdi_map):
    frame = geometry.to_model_frame(mdi_map, image_size=1024, rsun_px=392)
    assert frame.data.shape == (1024, 1024)
    assert (frame.rsun_obs / frame.scale.axis1).to_value(u.pix) == pytest.approx(392, rel=1e-9)
    np.testing.assert_allclose(frame.rotation_matrix, np.eye(2))
    centre = frame.pixel_to_world(511.5 * u.pix, 511.5 * u.pix)
    assert abs(centre.Tx) < 1e-6 * u.arcsec
    assert abs(centre.Ty) < 1e-6 * u.arcsec
    assert frame.date == mdi_map.date
    assert frame.observer_coordinate.separation_3d(mdi_map.observer_coordinate) < 1 * u.m


@pytest.mark.parametrize("fixture", ["mdi_map", "euvi_map", "aia_map"])
def test_model_frame_agrees_with_reproject(fixture, request):
    # An independent resampling of the same data (reproject) onto the model-frame WCS.
    smap = request.getfixturevalue(fixture)
    size, radius = (1024, 392) if smap.data.shape[0] == 1024 else (128, 49)
    frame = geometry.to_model_frame(smap, image_size=size, rsun_px=radius)
    reference, _ = reproject_interp(smap, frame.wcs, shape_out=(size, size))
    both = np.isfinite(frame.data) & np.isfinite(reference)
    assert both.mean() > 0.4
    scale = np.nanmax(np.abs(reference))
    np.testing.assert_allclose(frame.data[both], reference[both], rtol=0, atol=1e-4 * scale)


def test_rolled_euvi_image_comes_out_north_up(euvi_map):
    # The STEREO-A image is rolled by ~6.8 deg; the model frame is not, and a feature
    # keeps its helioprojective coordinates (the agreement with reproject covers every pixel).
    assert abs(euvi_map.rotation_matrix[0, 1]) > 0.1
    frame = geometry.to_model_frame(euvi_map, image_size=128, rsun_px=49)
    np.testing.assert_allclose(frame.rotation_matrix, np.eye(2))
    y, x = np.unravel_index(np.nanargmax(euvi_map.data), euvi_map.data.shape)
    feature = euvi_map.pixel_to_world(x * u.pix, y * u.pix)
    fx, fy = frame.wcs.world_to_pixel(feature)
    # Without the roll correction the feature would sit ~(0.12 * its distance from centre) px away.
    value = frame.data[round(float(fy)), round(float(fx))]
    assert value > 0.8 * euvi_map.data[y, x]


def test_round_trip_keeps_features_in_place(mdi_map):
    frame = geometry.to_model_frame(mdi_map, image_size=1024, rsun_px=392)
    back = geometry.to_map_grid(frame.data, source=frame, target=mdi_map)
    assert back.shape == mdi_map.data.shape
    assert _shift_px(mdi_map.data, back) < 0.1
    # Off-disk stays NaN, the disk is filled.
    disk = np.isfinite(mdi_map.data)
    assert np.isfinite(back[disk]).mean() > 0.99
    assert np.isnan(back[~disk]).all()


def test_downsampling_averages_blocks(mdi_map):
    # 1024 px with R ~ 489 px down to R = 49 px: the model frame is an area average,
    # so its quiet-Sun noise falls well below that of single-pixel samples.
    frame = geometry.to_model_frame(mdi_map, image_size=128, rsun_px=49)
    centre = frame.data[54:74, 54:74]
    original = mdi_map.data[450:570, 450:570]
    assert np.nanstd(centre) < 0.5 * np.nanstd(original)
    assert np.isfinite(centre).all()


def test_to_map_grid_checks_shape(mdi_map):
    frame = geometry.to_model_frame(mdi_map, image_size=128, rsun_px=49)
    with pytest.raises(InputMapError, match=r"shape \(10, 10\)"):
        geometry.to_map_grid(np.zeros((10, 10)), source=frame, target=mdi_map)


def test_non_map_input():
    with pytest.raises(InputMapError, match="Expected a sunpy map, got ndarray"):
        checks.check_observer(np.zeros((4, 4)))


def test_input_map_is_not_modified(euvi_map):
    data = euvi_map.data.copy()
    meta = dict(euvi_map.meta)
    geometry.to_model_frame(euvi_map, image_size=128, rsun_px=49)
    np.testing.assert_array_equal(euvi_map.data, data)
    assert dict(euvi_map.meta) == meta
    assert isinstance(euvi_map, sunpy.map.GenericMap)


def test_model_frame_object_goes_there_and_back_with_one_off_disk_rule(mdi_map):
    from sunpy_dlmag.models import Geometry

    frame = geometry.ModelFrame(mdi_map, Geometry(image_size=512, rsun_px=196.0, stride=16))
    assert frame.shape == (512, 512)
    stack = frame.stack([mdi_map, (mdi_map.data, mdi_map.wcs), mdi_map.data])
    assert stack.shape == (3, 512, 512)
    np.testing.assert_array_equal(stack[0], stack[1])
    np.testing.assert_array_equal(stack[0], stack[2])
    # A field that is finite everywhere in the frame comes back NaN beyond the limb only.
    back = frame.to_template(np.ones(frame.shape, dtype=np.float32))
    rho = np.hypot(*np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in mdi_map.data.shape)))
    radius_px = (mdi_map.rsun_obs / mdi_map.scale.axis1).to_value(u.pix)
    assert np.isnan(back[rho > radius_px + 3]).all()
    assert np.isfinite(back[rho < radius_px - 3]).all()
    # On the native grid the frame is the template's own grid; input NaN stay NaN.
    native = geometry.ModelFrame(mdi_map, Geometry())
    assert native.shape == mdi_map.data.shape
    same = native.to_template(native.stack([mdi_map])[0])
    np.testing.assert_array_equal(np.isnan(same), np.isnan(mdi_map.data) | geometry.off_disk(mdi_map))
    with pytest.raises(InputMapError, match="does not lie on the template's grid"):
        native.stack([np.zeros((8, 8))])
    with pytest.raises(InputMapError, match="does not lie on the frame"):
        frame.to_template(np.zeros((8, 8)))


def test_blocks_keep_a_dot_of_one_pixel_at_full_depth_in_the_minimum_and_average_it_away_in_the_mean():
    data = np.full((7, 10), 240.0)  # the last row and column do not fill a 3x3 block: dropped
    data[4, 1] = 60.0
    data[6, 9] = 0.0
    minimum, mean = geometry.block_min(data, 3), geometry.block_mean(data, 3, dtype=np.float64)
    assert minimum.shape == mean.shape == (2, 3)
    assert minimum[1, 0] == 60.0
    assert mean[1, 0] == pytest.approx(220.0)
    assert (np.delete(minimum.ravel(), 3) == 240.0).all()
    assert geometry.block_min(data, 1) is data
    kept = geometry.block_min(data, 3, keep_edges=True)
    assert kept.shape == (3, 4)
    assert kept[2, 3] == 0.0
