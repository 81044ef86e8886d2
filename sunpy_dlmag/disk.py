"""
Where the solar disk is in a helioprojective map: angular radius, on-disk masks, mu and the
area each pixel covers on the sphere. The one place the package computes them.

The disk is decided as sunpy decides it (`sunpy.map.coordinate_is_on_solar_disk`: angular
distance from disk centre at most ``arcsin(rsun / dsun)``, with the map's ``rsun_meters`` and
``dsun``). The angular distance of each pixel comes from the map's WCS taken as linear about
the disk centre: exact to about 1e-5 over a full-disk image and fast for 4096x4096 px maps,
where `sunpy.map.all_coordinates_from_map` builds 16 million coordinates. The tests check the
two against each other on real maps.

With ``theta`` the angular distance of a pixel from disk centre, ``theta_max`` the disk's
angular radius and ``rho = sin(theta) / sin(theta_max)`` (< 1 on the disk), the cosine of the
heliocentric angle is exactly ``mu = sqrt(1 - rho**2)`` (sine rule in the triangle observer,
Sun centre, surface point), for any observer distance.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from sunpy.coordinates import HeliographicStonyhurst

from sunpy_dlmag import checks
from sunpy_dlmag.exceptions import IncompleteDiskError

# Relative width of the ring about the limb where the angular distance is computed exactly
# (the linear mapping is good to about 1e-5 over a full-disk image).
_RING = 1e-3
# Rows computed at once: float64 temporaries of a few MB, whatever the image size.
_BLOCK_ROWS = 128

__all__ = [
    "angular_radius",
    "area_and_mu_at",
    "centre_pixel",
    "check_full_disk",
    "disk_radius_fraction",
    "mu",
    "mu_towards",
    "on_disk",
    "pixel_area",
    "pixel_area_and_mu",
    "radius_pixels",
    "surface_points",
]


def _check_helioprojective(smap):
    # The disk is only defined for an image seen by an observer.
    checks.is_disk_image(smap, error=True)


def angular_radius(smap):
    """
    Angular radius of the solar disk seen by the map's observer, ``arcsin(rsun / dsun)``.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`

    Returns
    -------
    `~astropy.units.Quantity`
        In radians.
    """
    return np.arcsin((smap.rsun_meters / smap.dsun).decompose().value) * u.rad


def _theta_blocks(smap, step):
    """
    Angular distance (rad, float64) from disk centre of every ``step``-th pixel, a block of rows
    at a time: ``(rows, theta)`` pairs, ``rows`` a slice of the output rows. Blocks keep the
    float64 temporaries a few MB for any image size (a 4096-px disk at once took 0.7 GB).
    """
    _check_helioprojective(smap)  # now, not at the first block
    cx, cy = centre_pixel(smap)
    # Pixel -> intermediate world coordinates (WCSLIB has normalised the units to cunit).
    matrix = smap.wcs.pixel_scale_matrix * u.Unit(smap.wcs.wcs.cunit[0]).to(u.rad)
    theta_max = angular_radius(smap).to_value(u.rad)
    ny, nx = smap.data.shape
    dx = np.arange(0, nx, step, dtype=np.float64)[np.newaxis, :] - cx
    rows = np.arange(0, ny, step, dtype=np.float64)

    def blocks():
        for first in range(0, rows.size, _BLOCK_ROWS):
            block = slice(first, min(rows.size, first + _BLOCK_ROWS))
            dy = rows[block, np.newaxis] - cy
            theta = np.hypot(matrix[0, 0] * dx + matrix[0, 1] * dy, matrix[1, 0] * dx + matrix[1, 1] * dy)
            # Near the limb, sunpy's own test (arccos(cos Tx cos Ty) from the full WCS) decides: the on-disk
            # mask is then exactly sunpy's, at the cost of a coordinate per pixel of a thin ring only.
            ring = np.nonzero(np.abs(theta / theta_max - 1) < _RING)
            if ring[0].size:
                coords = smap.wcs.pixel_to_world(ring[1] * step, (ring[0] + first) * step)
                theta[ring] = np.arccos(np.cos(coords.Tx) * np.cos(coords.Ty)).to_value(u.rad)
            yield block, theta

    return blocks()


def centre_pixel(smap):
    """
    The disk centre of a helioprojective map in (0-based) pixels, ``(x, y)``, from its WCS.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`

    Returns
    -------
    tuple of float
    """
    _check_helioprojective(smap)
    centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=smap.coordinate_frame)
    return tuple(float(v) for v in smap.wcs.world_to_pixel(centre))


def radius_pixels(smap):
    """
    The disk's radius in pixels along the map's x and y axes, ``(rx, ry)``: ``rsun_obs`` over the plate scale.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`

    Returns
    -------
    tuple of float
    """
    _check_helioprojective(smap)
    return tuple(float((smap.rsun_obs / scale).to_value(u.pix)) for scale in (smap.scale.axis1, smap.scale.axis2))


def _output_shape(smap, step):
    return tuple(-(-n // step) for n in smap.data.shape)


def disk_radius_fraction(smap, *, step=1):
    """
    ``sin(theta) / sin(theta_max)`` of each pixel (< 1 on the disk), and the disk centre in pixels.

    ``theta`` is the angular distance from disk centre, ``theta_max`` the `angular_radius`; for
    a distant observer this is the plane-of-sky distance from the centre in solar radii.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        A helioprojective map.
    step : int
        Every ``step``-th pixel along each axis (for quick statistics of large images).

    Returns
    -------
    rho : `numpy.ndarray`
        float32 array of shape ``smap.data[::step, ::step].shape``.
    centre : tuple of float
        ``(x, y)`` pixel coordinates of the disk centre.

    Raises
    ------
    InputMapError
        Not a helioprojective map.
    """
    blocks = _theta_blocks(smap, step)
    sin_max = np.sin(angular_radius(smap).to_value(u.rad))
    rho = np.empty(_output_shape(smap, step), dtype=np.float32)
    for rows, theta in blocks:
        rho[rows] = np.sin(theta) / sin_max
    return rho, centre_pixel(smap)


def on_disk(smap):
    """
    Boolean mask of the pixels whose centre lies on the solar disk.

    The same test as `sunpy.map.coordinate_is_on_solar_disk` on
    `sunpy.map.all_coordinates_from_map`, without building a coordinate per pixel.
    """
    blocks = _theta_blocks(smap, 1)
    theta_max = angular_radius(smap).to_value(u.rad)
    mask = np.empty(smap.data.shape, dtype=bool)
    for rows, theta in blocks:
        mask[rows] = theta <= theta_max
    return mask


def mu(smap):
    """
    Cosine of the heliocentric angle of each pixel: 1 at disk centre, 0 at the limb, NaN off the disk.

    Returns
    -------
    `numpy.ndarray`
        float64 array of the data's shape.
    """
    rho, _ = disk_radius_fraction(smap)
    out = np.empty(rho.shape, dtype=np.float64)
    for first in range(0, rho.shape[0], _BLOCK_ROWS):
        block = rho[first : first + _BLOCK_ROWS].astype(np.float64)
        with np.errstate(invalid="ignore"):
            out[first : first + _BLOCK_ROWS] = np.where(block <= 1, np.sqrt(np.clip(1 - block**2, 0, 1)), np.nan)
    return out


def pixel_area_and_mu(smap):
    """
    Area on the solar surface seen by each pixel (cm^2) and mu, both NaN off the disk.

    A pixel of solid angle ``Omega`` at angular distance ``theta`` from the tangent point of a
    gnomonic projection covers ``Omega cos(theta)**3`` (its solid angle shrinks away from the
    tangent point); at distance ``D = d cos(theta) - R mu`` from the observer (``d`` the
    observer's distance from Sun centre, ``R`` the solar radius) that is ``Omega cos(theta)**3
    D**2`` of the plane perpendicular to the line of sight, and ``/ mu`` on the sphere.

    Returns
    -------
    area, mu : `numpy.ndarray`
        float64 arrays of the data's shape.
    """
    blocks = _theta_blocks(smap, 1)
    area = np.empty(smap.data.shape, dtype=np.float64)
    cos_h = np.empty(smap.data.shape, dtype=np.float64)
    for rows, theta in blocks:
        area[rows], cos_h[rows] = area_and_mu_at(smap, theta)
    return area, cos_h


def area_and_mu_at(smap, theta):
    """
    `pixel_area_and_mu` for pixels of ``smap`` at angular distances ``theta`` from disk centre.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        The helioprojective map the pixels belong to (observer, scale, solar radius).
    theta : `numpy.ndarray`
        Angular distances of the pixels from disk centre, radians.

    Returns
    -------
    area, mu : `numpy.ndarray`
        Area on the solar surface (cm^2) and mu, NaN beyond the limb.
    """
    theta_max = angular_radius(smap).to_value(u.rad)
    disk = theta <= theta_max
    rho = np.sin(theta) / np.sin(theta_max)
    cos_h = np.sqrt(np.clip(1 - rho**2, 0, 1))
    d_obs = smap.dsun.to_value(u.cm)
    rsun = smap.rsun_meters.to_value(u.cm)
    solid_angle = (smap.scale.axis1 * u.pix).to_value(u.rad) * (smap.scale.axis2 * u.pix).to_value(u.rad)
    cos_t = np.cos(theta)
    distance = d_obs * cos_t - rsun * cos_h  # observer to surface point, front side
    area = abs(solid_angle) * (cos_t * cos_t * cos_t) * distance**2 / np.clip(cos_h, 1e-6, None)
    return np.where(disk, area, np.nan), np.where(disk, cos_h, np.nan)


def pixel_area(smap):
    """
    Area on the solar surface seen by each pixel of a helioprojective map (NaN off the disk).

    Returns
    -------
    `~astropy.units.Quantity`
        In cm^2; see `pixel_area_and_mu`.
    """
    return pixel_area_and_mu(smap)[0] * u.cm**2


def surface_points(coords, obstime):
    """Cartesian positions (m, last axis x, y, z) in Stonyhurst coordinates at ``obstime`` of surface points."""
    hgs = coords.transform_to(HeliographicStonyhurst(obstime=obstime))
    return np.moveaxis(hgs.cartesian.xyz.to_value(u.m), 0, -1)


def mu_towards(points, observer):
    """
    Cosine of the angle between the surface normal at ``points`` (from `surface_points`) and the
    direction to ``observer`` (a coordinate): 1 at disk centre, 0 at the limb, negative behind it.
    """
    obs = observer.transform_to(HeliographicStonyhurst(obstime=observer.obstime)).cartesian.xyz.to_value(u.m)
    to_observer = obs - points
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(to_observer * points, axis=-1) / (
            np.linalg.norm(to_observer, axis=-1) * np.linalg.norm(points, axis=-1)
        )


def check_full_disk(smap, *, min_finite=0.95):
    """
    Check that ``smap`` holds the whole solar disk, with finite data over most of it.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    min_finite : float
        Smallest fraction of on-disk pixels that must be finite.

    Raises
    ------
    MissingObserverError
        No observer position in the header.
    IncompleteDiskError
        Part of the disk lies outside the image, or too many on-disk pixels are not finite.
    """
    checks.check_observer(smap)
    # Every pixel of images up to 1024 px; a sample of larger ones is enough for the statistics.
    step = max(1, max(smap.data.shape) // 1024)
    rho, (cx, cy) = disk_radius_fraction(smap, step=step)
    ny, nx = smap.data.shape
    scale = min(smap.scale.axis1.to_value(u.arcsec / u.pix), smap.scale.axis2.to_value(u.arcsec / u.pix))
    radius = angular_radius(smap).to_value(u.arcsec) / scale
    tolerance = 1.0  # pixel
    inside = (
        cx - radius >= -0.5 - tolerance
        and cy - radius >= -0.5 - tolerance
        and cx + radius <= nx - 0.5 + tolerance
        and cy + radius <= ny - 0.5 + tolerance
    )
    if not inside:
        raise IncompleteDiskError(
            f"The map {checks.describe_map(smap)} does not hold the whole solar disk: the disk (centre at pixel "
            f"({cx:.1f}, {cy:.1f}), radius {radius:.1f} px) reaches beyond its {nx}x{ny} px field of view. "
            "Full-disk models need a full-disk image, not a submap or a partial field."
        )
    on_disk = rho < 1
    sample = np.ma.filled(np.ma.asarray(checks.map_data(smap), dtype=np.float32), np.nan)[::step, ::step]
    finite = np.isfinite(sample[on_disk]).mean() if on_disk.any() else 0.0
    if finite < min_finite:
        raise IncompleteDiskError(
            f"Only {100 * finite:.1f} % of the on-disk pixels of {checks.describe_map(smap)} are finite; "
            f"at least {100 * min_finite:g} % are needed (missing telemetry blocks or a masked disk?)."
        )
