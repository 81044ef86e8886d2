"""`sunpy_dlmag.disk`: the one place for the disk, mu and pixel areas, checked against sunpy."""

import astropy.units as u
import numpy as np
import pytest
from conftest import shared_path

import sunpy.map

from sunpy_dlmag import disk
from sunpy_dlmag.data.sample import GONG_SYNOPTIC
from sunpy_dlmag.exceptions import InputMapError
from sunpy_dlmag.io import read_gong_synoptic


@pytest.mark.parametrize("name", ["mdi_map", "aia_map", "euvi_map"])
def test_on_disk_is_sunpys_test(name, request):
    smap = request.getfixturevalue(name)
    expected = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(smap))
    np.testing.assert_array_equal(disk.on_disk(smap), expected)


def test_mu_and_area_on_a_real_magnetogram(mdi_map):
    mu = disk.mu(mdi_map)
    coords = sunpy.map.all_coordinates_from_map(mdi_map)
    on = sunpy.map.coordinate_is_on_solar_disk(coords)
    np.testing.assert_array_equal(np.isfinite(mu), on)
    # mu from the 3D surface point seen by the observer, where sunpy can place one.
    centre = np.unravel_index(np.nanargmax(mu), mu.shape)
    assert mu[centre] == pytest.approx(1, abs=1e-4)
    ys, xs = np.nonzero(on)
    pick = np.random.default_rng(1).choice(ys.size, 200, replace=False)
    points = mdi_map.pixel_to_world(xs[pick] * u.pix, ys[pick] * u.pix).make_3d()
    surface = disk.surface_points(points, mdi_map.reference_date)
    expected = disk.mu_towards(surface, mdi_map.observer_coordinate)
    np.testing.assert_allclose(mu[ys[pick], xs[pick]], expected, atol=2e-3)
    # The disk's area: the visible hemisphere less a sliver, 2 pi R^2 (1 - R/d).
    area = disk.pixel_area(mdi_map)
    rsun, dsun = mdi_map.rsun_meters, mdi_map.dsun
    visible = (2 * np.pi * rsun**2 * (1 - rsun / dsun)).to(u.cm**2)
    # At 1024 px the limb's partly covered pixels leave 0.04 % (a 1 % error in every pixel fails).
    assert np.nansum(area).to_value(u.cm**2) == pytest.approx(visible.to_value(u.cm**2), rel=0.003)


def test_radius_fraction_step(mdi_map):
    rho, centre = disk.disk_radius_fraction(mdi_map)
    sparse, same = disk.disk_radius_fraction(mdi_map, step=4)
    assert same == centre
    np.testing.assert_array_equal(sparse, rho[::4, ::4])
    sunpys = sunpy.map.maputils.solar_angular_radius(mdi_map.center)
    assert disk.angular_radius(mdi_map).to_value(u.arcsec) == pytest.approx(sunpys.to_value(u.arcsec), rel=1e-9)


def test_only_images_seen_by_an_observer():
    gong = read_gong_synoptic(GONG_SYNOPTIC)
    with pytest.raises(InputMapError, match="helioprojective"):
        disk.on_disk(gong)
    with pytest.raises(InputMapError, match="sunpy map"):
        disk.mu(np.zeros((4, 4)))


def test_full_disk_masks_need_no_image_sized_temporaries():
    # A 4096-px HMI disk: beyond their outputs, the disk functions and the input check hold a few
    # MB at a time (float64 temporaries of the whole image took 0.7-1 GB), with unchanged results.
    import tracemalloc

    from sunpy_dlmag import checks

    folder = shared_path("magnetograms", "hmi_fulldisk_720s")
    files = sorted(folder.glob("*.fits")) if folder else []
    if not files:
        pytest.skip("HMI full-disk magnetograms not available")
    hmi = sunpy.map.Map(files[0])
    pixels = hmi.data.size
    tracemalloc.start()
    try:
        for call, output_bytes in (
            (lambda: disk.on_disk(hmi), pixels),
            (lambda: disk.pixel_area_and_mu(hmi), 16 * pixels),
            (lambda: checks.finite_data(hmi.data, "data"), 4 * pixels),
        ):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            result = call()
            assert tracemalloc.get_traced_memory()[1] - before < output_bytes + 64e6
            del result
    finally:
        tracemalloc.stop()
    # The same mask as sunpy's test, on a strip across the limb (sunpy's way is slow for the whole disk).
    strip = hmi.submap([0, 2000] * u.pix, top_right=[4095, 2015] * u.pix)
    expected = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(strip))
    np.testing.assert_array_equal(disk.on_disk(hmi)[2000:2016], expected)
