import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag import metrics
from sunpy_dlmag.exceptions import InputMapError


def test_visible_area_of_the_sphere(mdi_map):
    # The disk seen from distance d covers 2 pi R^2 (1 - R/d) of the solar surface.
    area = metrics.pixel_area_on_sphere(mdi_map)
    rsun = mdi_map.rsun_meters.to(u.cm)
    expected = 2 * np.pi * rsun**2 * (1 - (rsun / mdi_map.dsun.to(u.cm)).decompose())
    assert np.nansum(area).to_value(u.cm**2) == pytest.approx(expected.to_value(u.cm**2), rel=0.005)
    # At disk centre a pixel covers its plane-of-sky footprint: (scale * (d - R))**2.
    centre = mdi_map.wcs.world_to_array_index(mdi_map.center)
    footprint = ((mdi_map.scale.axis1 * u.pix).to_value(u.rad) * (mdi_map.dsun - mdi_map.rsun_meters)) ** 2
    assert area[centre].to_value(u.cm**2) == pytest.approx(footprint.to_value(u.cm**2), rel=1e-4)


def test_flux_from_first_principles(mdi_map):
    # A uniform 10 G field over the visible disk carries 10 G x visible area.
    uniform = sunpy.map.Map(np.where(np.isfinite(mdi_map.data), 10.0, np.nan), mdi_map.meta)
    area = metrics.pixel_area_on_sphere(mdi_map).to_value(u.cm**2)
    expected = 10 * np.nansum(np.where(np.isfinite(mdi_map.data), area, np.nan))  # G cm^2 = Mx
    assert metrics.total_unsigned_flux(uniform).to_value(u.Mx) == pytest.approx(expected, rel=1e-6)
    flipped = sunpy.map.Map(-uniform.data, uniform.meta)
    assert metrics.net_flux(flipped).to_value(u.Mx) == pytest.approx(-expected, rel=1e-6)


def test_flux_of_a_real_magnetogram(mdi_map):
    unsigned = metrics.total_unsigned_flux(mdi_map)
    net = metrics.net_flux(mdi_map)
    assert unsigned.unit == u.Mx
    # Full-disk MDI: of order 1e23 Mx unsigned, net a small fraction of it.
    assert 1e22 * u.Mx < unsigned < 1e24 * u.Mx
    assert abs(net) < 0.05 * unsigned


def test_pixel_cc_bins_and_masks(mdi_map, rng):
    assert metrics.pixel_cc(mdi_map, mdi_map) == pytest.approx(1.0)
    noisy = mdi_map.data + rng.normal(0, 50, mdi_map.data.shape)
    binned = metrics.pixel_cc(mdi_map.data, noisy, binning=8)
    unbinned = metrics.pixel_cc(mdi_map.data, noisy, binning=1)
    # Binning averages the noise down, as the papers intend.
    assert binned > unbinned
    # Independent computation of the binned CC.
    a = np.nan_to_num(mdi_map.data)[:1024, :1024].reshape(128, 8, 128, 8)
    b = np.nan_to_num(noisy)[:1024, :1024].reshape(128, 8, 128, 8)
    valid = np.isfinite(mdi_map.data).reshape(128, 8, 128, 8).all(axis=(1, 3))
    expected = np.corrcoef(a.mean(axis=(1, 3))[valid], b.mean(axis=(1, 3))[valid])[0, 1]
    assert binned == pytest.approx(expected, rel=1e-9)


def test_metric_errors(mdi_map, euvi_map):
    with pytest.raises(InputMapError, match="one grid"):
        metrics.pixel_cc(np.zeros((8, 8)), np.zeros((16, 16)))
    with pytest.raises(InputMapError, match="magnetogram in G"):
        metrics.total_unsigned_flux(euvi_map)
    with pytest.raises(InputMapError, match="needs a map"):
        metrics.net_flux(mdi_map.data)
    with pytest.raises(ValueError, match="equal length"):
        metrics.flux_cc([1, 2], [1])


def test_flux_cc():
    expected = np.corrcoef([1, 2, 3], [2, 4, 6.5])[0, 1]
    assert metrics.flux_cc([1, 2, 3] * u.Mx, [2, 4, 6.5] * u.Mx) == pytest.approx(expected)
