from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag import disk, metrics
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError

DATA = Path(__file__).parent / "data"


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
    # An independent reference: each pixel's solid angle times the squared distance from the
    # observer to the surface point it sees, over the cosine between the line of sight and the
    # surface normal (points from sunpy's coordinates), where mu > 0.2.
    from sunpy.coordinates import HeliocentricInertial

    away_from_limb = np.where(disk.mu(mdi_map) > 0.2, mdi_map.data, np.nan)
    ys, xs = np.nonzero(np.isfinite(away_from_limb))
    frame = HeliocentricInertial(obstime=mdi_map.date)
    points = mdi_map.pixel_to_world(xs * u.pix, ys * u.pix).make_3d().transform_to(frame).cartesian.xyz
    observer = mdi_map.observer_coordinate.transform_to(frame).cartesian.xyz
    sight = (points - observer[:, None]).to_value(u.cm)
    distance = np.linalg.norm(sight, axis=0)
    normal = points.value / np.linalg.norm(points.value, axis=0)
    cosine = -np.sum(sight / distance * normal, axis=0)
    solid_angle = (mdi_map.scale.axis1 * mdi_map.scale.axis2 * u.pix**2).to_value(u.sr)
    field = away_from_limb[ys, xs]
    reference = np.sum(np.abs(field) * solid_angle * distance**2 / cosine)
    masked = sunpy.map.Map(away_from_limb, mdi_map.meta)
    unsigned = metrics.total_unsigned_flux(masked)
    assert unsigned.unit == u.Mx
    assert unsigned.to_value(u.Mx) == pytest.approx(reference, rel=1e-3)
    assert metrics.net_flux(masked).to_value(u.Mx) == pytest.approx(
        np.sum(field * solid_angle * distance**2 / cosine), rel=1e-3
    )


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
    with pytest.raises(InputMapError, match=r"Expected a magnetogram with data in G.*EUV imager EUVI"):
        metrics.total_unsigned_flux(euvi_map)
    with pytest.raises(InputMapError, match="needs a map"):
        metrics.net_flux(mdi_map.data)
    with pytest.raises(ValueError, match="equal length"):
        metrics.flux_cc([1, 2], [1])


def test_flux_cc():
    expected = np.corrcoef([1, 2, 3], [2, 4, 6.5])[0, 1]
    assert metrics.flux_cc([1, 2, 3] * u.Mx, [2, 4, 6.5] * u.Mx) == pytest.approx(expected)


# --------------------------------------------------------------------------- AR/QR patches and evaluate
def _binned(smap, factor):
    """A real magnetogram averaged over factor x factor pixels, with its WCS scaled to match."""
    ny, nx = (s // factor for s in smap.data.shape)
    data = smap.data[: ny * factor, : nx * factor].reshape(ny, factor, nx, factor).mean(axis=(1, 3))
    meta = smap.meta.copy()
    meta["cdelt1"] *= factor
    meta["cdelt2"] *= factor
    meta["crpix1"] = (meta["crpix1"] - 0.5) / factor + 0.5
    meta["crpix2"] = (meta["crpix2"] - 0.5) / factor + 0.5
    return sunpy.map.Map(data, meta)


def test_active_region_patches(mdi_map):
    patches = metrics.select_patches(mdi_map, kind="ar")
    assert 3 <= len(patches) <= 15
    field = np.abs(mdi_map.data)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(mdi_map))
    taken = np.zeros(field.shape, dtype=bool)
    for patch in patches:
        rows, cols = patch.slices
        assert patch.size == 128
        assert on_disk[rows, cols].all()
        assert np.isfinite(field[rows, cols]).all()
        assert (field[rows, cols] >= 100).mean() >= 0.01
        assert not taken[rows, cols].any()  # no overlap
        taken[rows, cols] = True
        # The patch flux from the cutout's own WCS, an independent path through the pixel areas.
        cutout = patch.cutout(mdi_map)
        np.testing.assert_array_equal(cutout.data, mdi_map.data[rows, cols])
        corner = cutout.pixel_to_world(0 * u.pix, 0 * u.pix)
        assert corner.separation(mdi_map.pixel_to_world(patch.x0 * u.pix, patch.y0 * u.pix)) < 1e-3 * u.arcsec
        assert metrics.total_unsigned_flux(cutout).to_value(u.Mx) == pytest.approx(patch.flux.to_value(u.Mx), rel=1e-6)
    # The first patch holds the most strong-field flux of all admissible windows: brute force on a 16-px grid.
    area = metrics.pixel_area_on_sphere(mdi_map).to_value(u.cm**2)
    strong_flux = np.where(np.isfinite(area) & (field >= 100), field * area, 0)
    coords = sunpy.map.all_coordinates_from_map(mdi_map)
    rho = np.hypot(coords.Tx, coords.Ty) / mdi_map.rsun_obs
    best = 0
    for y0 in range(0, field.shape[0] - 127, 16):
        for x0 in range(0, field.shape[1] - 127, 16):
            window = (slice(y0, y0 + 128), slice(x0, x0 + 128))
            if on_disk[window].all() and np.isfinite(field[window]).all() and rho[y0 + 64, x0 + 64] <= np.sqrt(0.75):
                best = max(best, strong_flux[window].sum())
    first = strong_flux[patches[0].slices].sum()
    assert first >= best
    assert first < 1.2 * best  # the 16-px grid comes close to the exhaustive search


def test_quiet_region_patches(mdi_map):
    quiet = metrics.select_patches(mdi_map, kind="qr", n=1)[0]
    strongest = metrics.select_patches(mdi_map, kind="ar", n=1)[0]
    assert (np.abs(mdi_map.data[quiet.slices]) >= 100).mean() < 0.001
    assert quiet.flux < 0.5 * strongest.flux
    several = metrics.select_patches(mdi_map, kind="qr", n=4, size=64)
    assert len(several) == 4
    assert all(p.size == 64 for p in several)
    with pytest.raises(ValueError, match="kind must be"):
        metrics.select_patches(mdi_map, kind="plage")
    with pytest.raises(InputMapError, match="in G"):
        metrics.select_patches(sunpy.map.Map(mdi_map.data, {**mdi_map.meta, "bunit": "DN"}))


@pytest.fixture
def three_real_disks(mdi_map):
    """Three full-disk MDI magnetograms of different fluxes: 1024 px, 2x2 binned, and 2009-01-31 (128 px)."""
    small = sunpy.map.Map(DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits")
    return [mdi_map, _binned(mdi_map, 2), small]


def test_evaluate_perfect_and_inverted_models(three_real_disks):
    pairs = [(m, m) for m in three_real_disks]
    table = metrics.evaluate(lambda m: m, pairs, qr_per_image=4)
    assert list(table["region"]) == ["full disk", "AR", "QR"]
    assert table["N"][0] == 3
    assert table["N"][1] >= 3
    for column in ("total unsigned flux CC", "net flux CC", "pixel CC (8x8)"):
        np.testing.assert_allclose(table[column], 1.0)
    # Per-image fluxes: the same as total_unsigned_flux and net_flux of the target maps.
    items = table.meta["items"]
    disks = items[items["region"] == "full disk"]
    for row, smap in zip(disks, three_real_disks, strict=True):
        assert row["target unsigned flux"] == pytest.approx(metrics.total_unsigned_flux(smap).to_value(u.Mx), rel=1e-6)
        assert row["target net flux"] == pytest.approx(metrics.net_flux(smap).to_value(u.Mx), rel=1e-6)

    inverted = metrics.evaluate(lambda m: sunpy.map.Map(-m.data, m.meta), pairs, qr_per_image=4)
    assert inverted["net flux CC"][0] == pytest.approx(-1.0)
    assert inverted["total unsigned flux CC"][0] == pytest.approx(1.0)
    assert inverted["pixel CC (8x8)"][1] == pytest.approx(-1.0)


def test_evaluate_against_independent_numbers(mdi_map, rng):
    noisy = sunpy.map.Map(mdi_map.data + rng.normal(0, 30, mdi_map.data.shape), mdi_map.meta)
    with pytest.warns(DlmagUserWarning, match="Flux CCs need at least 3"):
        table = metrics.evaluate(lambda m: noisy, [(mdi_map, mdi_map)])
    items = table.meta["items"]
    ar = items[items["region"] == "AR"]
    patches = metrics.select_patches(mdi_map, kind="ar")
    assert len(ar) == len(patches)
    for row, patch in zip(ar, patches, strict=True):
        # 8x8 block means and their Pearson CC, by hand.
        a = noisy.data[patch.slices].reshape(16, 8, 16, 8).mean(axis=(1, 3)).ravel()
        b = mdi_map.data[patch.slices].reshape(16, 8, 16, 8).mean(axis=(1, 3)).ravel()
        assert row["pixel CC"] == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-9)
    assert table["pixel CC (8x8)"][1] == pytest.approx(np.mean(ar["pixel CC"]))
    assert np.isnan(table["total unsigned flux CC"][0])  # one full disk: no CC


def test_evaluate_runs_a_model(conv_onnx, mdi_map):
    from sunpy_dlmag.models import load_model

    path, _ = conv_onnx(levels=1)
    model = load_model(path, device="cpu")
    small = _binned(mdi_map, 4)
    with pytest.warns(DlmagUserWarning):
        table = metrics.evaluate(model, [(small, small)], patch_size=32)
    assert table.meta["model"].startswith("tiny")
    assert table["N"][0] == 1
    assert np.isfinite(table["pixel CC (8x8)"][0])


def test_evaluate_errors(mdi_map, euvi_map):
    with pytest.raises(InputMapError, match=r"\(input, target\) tuples"):
        metrics.evaluate(lambda m: m, [mdi_map])
    with pytest.raises(InputMapError, match=r"Expected a target magnetogram with data in G.*EUV imager EUVI"):
        metrics.evaluate(lambda m: m, [(euvi_map, euvi_map)])
    with pytest.raises(InputMapError, match="at least one"):
        metrics.evaluate(lambda m: m, [])
    with pytest.raises(TypeError, match="model must be"):
        metrics.evaluate(3, [(mdi_map, mdi_map)])
