"""
The evaluation metrics of the papers (Kim et al. 2019, Jeong et al. 2020, 2022).

- pixel-to-pixel CC: both images binned 8x8 (mean), on-disk pixels only, Pearson CC;
- total unsigned and net magnetic flux, with the true area of each pixel on the sphere;
- flux CCs: Pearson CC over a set of images of their per-image fluxes.
"""

import astropy.units as u
import numpy as np

import sunpy.map

from sunpy_dlmag.exceptions import InputMapError

__all__ = ["flux_cc", "net_flux", "pixel_area_on_sphere", "pixel_cc", "total_unsigned_flux"]


def _data_and_disk(image):
    """Data and on-disk mask of a map, or the finite pixels of an array."""
    if isinstance(image, sunpy.map.GenericMap):
        data = np.asarray(image.data, dtype=np.float64)
        on_disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(image))
        return data, on_disk & np.isfinite(data)
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2:
        raise InputMapError(f"Expected a map or a 2D array, got an array of shape {data.shape}.")
    return data, np.isfinite(data)


def _bin(data, mask, binning):
    """Mean over binning x binning blocks, keeping blocks whose pixels are all valid."""
    ny, nx = (s // binning * binning for s in data.shape)
    blocks = (ny // binning, binning, nx // binning, binning)
    values = np.where(mask, data, 0.0)[:ny, :nx].reshape(blocks).mean(axis=(1, 3))
    valid = mask[:ny, :nx].reshape(blocks).all(axis=(1, 3))
    return values, valid


def pixel_cc(a, b, *, binning=8):
    """
    Pearson correlation of two images after ``binning x binning`` mean binning.

    Only blocks entirely on the disk (maps) or entirely finite (arrays) in both images
    count, as in the papers' evaluation.

    Parameters
    ----------
    a, b : `~sunpy.map.GenericMap` or `numpy.ndarray`
        Two images on the same pixel grid.
    binning : int
        Block size; 1 for no binning.

    Returns
    -------
    float
    """
    data_a, mask_a = _data_and_disk(a)
    data_b, mask_b = _data_and_disk(b)
    if data_a.shape != data_b.shape:
        raise InputMapError(f"pixel_cc needs images on one grid; got shapes {data_a.shape} and {data_b.shape}.")
    if binning < 1:
        raise ValueError(f"binning must be a positive integer, got {binning}.")
    mask = mask_a & mask_b
    binned_a, valid_a = _bin(data_a, mask, binning)
    binned_b, _ = _bin(data_b, mask, binning)
    if valid_a.sum() < 2:
        raise InputMapError(f"Fewer than two valid {binning}x{binning} blocks to correlate.")
    return float(np.corrcoef(binned_a[valid_a], binned_b[valid_a])[0, 1])


def pixel_area_on_sphere(smap):
    """
    Area on the solar surface seen by each pixel of ``smap`` (NaN off the disk).

    A pixel of solid angle ``Omega`` at observer distance ``d`` covers ``Omega (d - z)**2``
    of the plane of the sky, with ``z`` the depth of the surface point towards the
    observer; on the sphere that is divided by ``mu``, the cosine of the angle between the
    surface normal and the line of sight.
    """
    coords = sunpy.map.all_coordinates_from_map(smap)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(coords)
    solid_angle = (smap.scale.axis1 * u.pix).to_value(u.rad) * (smap.scale.axis2 * u.pix).to_value(u.rad)
    d_obs = smap.dsun.to(u.cm)
    rsun = smap.rsun_meters.to(u.cm)
    # Angular distance from disk centre -> position of the surface point along the line of sight.
    theta = np.hypot(coords.Tx, coords.Ty).to_value(u.rad)
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    discriminant = np.clip(rsun**2 - (d_obs * sin_t) ** 2, 0 * u.cm**2, None)
    distance = d_obs * cos_t - np.sqrt(discriminant)  # observer to surface, front side
    # mu: cosine between the surface normal and the direction to the observer.
    mu = ((d_obs**2 - distance**2 - rsun**2) / (2 * distance * rsun)).decompose().value
    # A gnomonic pixel's solid angle shrinks as cos(theta)**3 away from the tangent point.
    area = solid_angle * np.cos(theta) ** 3 * distance**2 / np.clip(mu, 1e-6, None)
    return np.where(on_disk, area.to_value(u.cm**2), np.nan) * u.cm**2


def _flux(smap, signed):
    if not isinstance(smap, sunpy.map.GenericMap):
        raise InputMapError(f"Magnetic flux needs a map (pixel areas come from its WCS), got {type(smap).__name__}.")
    if smap.unit is None or not smap.unit.is_equivalent(u.G):
        raise InputMapError(f"Magnetic flux needs a magnetogram in G, got unit {smap.unit}.")
    field = smap.quantity.to_value(u.G)
    area = pixel_area_on_sphere(smap).to_value(u.cm**2)
    valid = np.isfinite(field) & np.isfinite(area)
    values = field[valid] if signed else np.abs(field[valid])
    return float(np.sum(values * area[valid])) * u.Mx


def total_unsigned_flux(smap):
    """Sum of ``|B| x pixel area on the sphere`` over on-disk pixels, in Mx."""
    return _flux(smap, signed=False)


def net_flux(smap):
    """Sum of ``B x pixel area on the sphere`` over on-disk pixels, in Mx."""
    return _flux(smap, signed=True)


def flux_cc(fluxes_a, fluxes_b):
    """Pearson CC of two sequences of per-image fluxes (Quantities or numbers)."""
    a = u.Quantity(list(fluxes_a)).value if len(fluxes_a) else np.array([])
    b = u.Quantity(list(fluxes_b)).value if len(fluxes_b) else np.array([])
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"flux_cc needs two sequences of equal length >= 2; got {a.size} and {b.size}.")
    return float(np.corrcoef(a, b)[0, 1])
