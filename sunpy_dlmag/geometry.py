"""
Between a map's own pixel grid and the image geometry a network was trained on.

The model frame is a helioprojective image seen by the map's own observer at the map's
own time, with solar north up, the disk centre in the middle of the image and the solar
radius spanning a fixed number of pixels (AISFM: 1024x1024 px, 392 px). Going there and
back keeps every feature at the same helioprojective coordinates.

Both directions are a resampling between two gnomonic (TAN) projections of the same
observer. When the two share their tangent point (nearly always: level-1 images are
referenced to the disk centre) that resampling is exactly affine, and it is done with
`scipy.ndimage.affine_transform` (fast, bounded memory); otherwise `reproject` does it.
"""

import functools

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from scipy import ndimage

import sunpy.map
from sunpy.map.header_helper import make_fitswcs_header

from sunpy_dlmag import checks, disk
from sunpy_dlmag.exceptions import InputMapError

__all__ = [
    "ModelFrame",
    "block_mean",
    "block_min",
    "model_frame_header",
    "off_disk",
    "resample",
    "to_map_grid",
    "to_model_frame",
    "wrapped_in_longitude",
]

# Largest departure from an affine mapping (pixels) accepted before reproject is used.
_AFFINE_TOLERANCE_PX = 0.01


def model_frame_header(smap, *, image_size, rsun_px):
    """
    FITS header of the model frame for the observer and time of ``smap``.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        Full-disk map whose observer, time and solar radius define the frame.
    image_size : int
        Width and height of the model image, pixels.
    rsun_px : float
        Solar radius in the model image, pixels.
    """
    checks.check_observer(smap)
    scale = (smap.rsun_obs / (rsun_px * u.pix)).to(u.arcsec / u.pix)
    centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=smap.coordinate_frame)
    header = make_fitswcs_header(
        (image_size, image_size),
        centre,
        reference_pixel=u.Quantity([(image_size - 1) / 2, (image_size - 1) / 2], u.pix),
        scale=u.Quantity([scale, scale]),
        rotation_angle=0 * u.deg,
        unit=smap.unit,
    )
    header["rsun_ref"] = smap.rsun_meters.to_value(u.m)
    header["rsun_obs"] = smap.rsun_obs.to_value(u.arcsec)
    return header


def to_model_frame(smap, *, image_size, rsun_px, order=1):
    """
    A new map of ``smap`` in the model frame (north up, centred, fixed solar radius).

    When the model frame is coarser than the map (e.g. HMI 4096 px to AISFM 1024 px)
    the map is first averaged over blocks of whole pixels, so that the result is an
    area average rather than a sparse sample of the finer grid.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    image_size : int
    rsun_px : float
    order : int
        Spline order of the interpolation (1: bilinear).

    Returns
    -------
    `~sunpy.map.GenericMap`
        New map of shape ``(image_size, image_size)``; pixels outside the input are NaN.
    """
    header = model_frame_header(smap, image_size=image_size, rsun_px=rsun_px)
    frame_map = sunpy.map.Map(np.zeros((1, 1), dtype=np.float32), header)  # only for its WCS
    data = resample(smap.data, smap.wcs, frame_map.wcs, (image_size, image_size), order=order)
    return sunpy.map.Map(data, header)


def to_map_grid(data, *, source, target, order=1):
    """
    Resample an array that lies on ``source``'s grid onto the pixel grid of ``target``.

    This puts a network's output (in the model frame) back on the input map's own grid
    and WCS.

    Parameters
    ----------
    data : `numpy.ndarray`
        2D array on the grid of ``source``.
    source, target : `~sunpy.map.GenericMap`
        Maps of the same observer whose WCS define the two grids.

    Returns
    -------
    `numpy.ndarray`
        Array of ``target.data.shape``; NaN where ``source`` does not cover ``target``.
    """
    if data.shape != source.data.shape:
        raise InputMapError(f"Data of shape {data.shape} does not lie on a grid of shape {source.data.shape}.")
    return resample(data, source.wcs, target.wcs, target.data.shape, order=order)


def resample(data, src_wcs, dst_wcs, dst_shape, *, order=1):
    """
    Resample ``data`` from ``src_wcs`` to ``dst_wcs`` (both helioprojective).

    Uses an exact affine transform where the two projections allow it and `reproject`
    otherwise. NaN input pixels make the output NaN where they contribute.
    """
    data = np.asarray(data, dtype=np.float32)
    matrix, offset, residual, scale = _affine_between(src_wcs, dst_wcs, dst_shape)
    if residual > _AFFINE_TOLERANCE_PX:
        from reproject import reproject_interp

        out, _ = reproject_interp((data, src_wcs), dst_wcs, shape_out=tuple(dst_shape), order=order)
        return out.astype(np.float32, copy=False)

    block = int(np.floor(scale))
    if block >= 2:
        data = block_mean(data, block)
        # Pixel j of the binned image is the centre of original pixels block*j .. block*j+block-1.
        matrix = matrix / block
        offset = (offset - (block - 1) / 2) / block
    return ndimage.affine_transform(
        data,
        matrix,
        offset=offset,
        output_shape=tuple(dst_shape),
        order=order,
        cval=np.nan,
        prefilter=order > 1,
    ).astype(np.float32, copy=False)


def _affine_between(src_wcs, dst_wcs, dst_shape):
    """
    Affine map from destination (row, col) to source (row, col), fitted on a grid of points.

    Returns the 2x2 matrix, the offset, the largest fit residual in pixels and the
    linear scale (source pixels per destination pixel).
    """
    ny, nx = dst_shape
    yy, xx = np.meshgrid(np.linspace(0, ny - 1, 9), np.linspace(0, nx - 1, 9), indexing="ij")
    world = dst_wcs.pixel_to_world(xx.ravel(), yy.ravel())
    sx, sy = src_wcs.world_to_pixel(world)
    design = np.column_stack([yy.ravel(), xx.ravel(), np.ones(xx.size)])
    target = np.column_stack([sy, sx])
    if not np.all(np.isfinite(target)):
        return np.eye(2), np.zeros(2), np.inf, 1.0
    coeffs, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = np.abs(design @ coeffs - target).max()
    matrix = coeffs[:2].T
    offset = coeffs[2]
    scale = np.sqrt(abs(np.linalg.det(matrix)))
    return matrix, offset, residual, scale


def block_mean(data, block, *, dtype=np.float32):
    """
    Mean over ``block x block`` pixel blocks (edge rows and columns that do not fill a block are
    dropped), accumulated in ``dtype``; ``block=1`` returns ``data`` itself.
    """
    if block == 1:
        return data
    dtype = dtype or (np.float64 if data.dtype.kind in "biu" else data.dtype)  # as ndarray.mean
    # Rows of each block first, then its columns: 2-4x faster than a mean over axis=(1, 3).
    total = _blocks(data, block).sum(axis=1, dtype=dtype).sum(axis=2, dtype=dtype)
    total /= block * block
    return total


def block_min(data, block, *, keep_edges=False):
    """
    Minimum over ``block x block`` pixel blocks (a dot of one dark pixel keeps its depth);
    edge rows and columns that do not fill a block are dropped, as `block_mean` drops them, or
    with ``keep_edges`` make blocks of their own. ``block=1`` returns ``data`` itself.
    """
    if block == 1:
        return data
    if keep_edges:
        ny, nx = (-(-s // block) * block for s in data.shape)
        data = np.pad(data, ((0, ny - data.shape[0]), (0, nx - data.shape[1])), mode="edge")
    return _blocks(data, block).min(axis=1).min(axis=2)  # rows first: 3x faster than axis=(1, 3)


def _blocks(data, block):
    """``data`` as (rows, block, columns, block), less the edge rows and columns that do not fill a block."""
    ny, nx = (s // block * block for s in data.shape)
    return data[:ny, :nx].reshape(ny // block, block, nx // block, block)


class ModelFrame:
    """
    Where a network's input channels are stacked and from where its output goes back.

    For a spec with a model-frame geometry this is the model frame of ``template``'s
    observer and time (`model_frame_header`); for a network on the native grid it is
    ``template``'s own grid. The output goes back onto ``template``'s grid with one
    off-disk rule (`to_template`), whatever the capability.

    Parameters
    ----------
    template : `~sunpy.map.GenericMap`
        The map whose observer, time and grid the output takes.
    geometry : `~sunpy_dlmag.models.Geometry`
        The spec's geometry.
    """

    def __init__(self, template, geometry):
        checks.check_observer(template)
        self.template = template
        self.geometry = geometry
        if geometry.native:
            self.map = template
        else:
            header = model_frame_header(template, image_size=geometry.image_size, rsun_px=geometry.rsun_px)
            self.map = sunpy.map.Map(np.zeros((geometry.image_size,) * 2, dtype=np.float32), header)

    @property
    def shape(self):
        """``(H, W)`` of the frame."""
        return self.map.data.shape

    @property
    def wcs(self):
        return self.map.wcs

    def __repr__(self):
        kind = "native grid" if self.geometry.native else f"model frame {self.shape[1]}x{self.shape[0]} px"
        return f"<ModelFrame: {kind} of {self.template.name}>"

    def resample(self, values, wcs=None):
        """``values`` on ``wcs`` (default: the template's) as float32 on the frame's grid; NaN where not covered."""
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2:
            raise InputMapError(f"Expected one 2D channel, got an array of shape {values.shape}.")
        wcs = self.template.wcs if wcs is None else wcs
        if values.shape == self.shape and wcs.wcs.compare(self.wcs.wcs, tolerance=1e-9):
            return values
        if wcs is self.template.wcs and values.shape != self.template.data.shape:
            raise InputMapError(
                f"A channel of shape {values.shape} does not lie on the template's grid {self.template.data.shape}."
            )
        return resample(values, wcs, self.wcs, self.shape)

    def stack(self, channels):
        """
        The channels as one ``(C, H, W)`` float32 stack on the frame's grid.

        Parameters
        ----------
        channels : sequence
            One entry per channel: a `~sunpy.map.GenericMap` (its data on its own grid), a
            ``(values, wcs)`` pair, or a 2D array on the template's grid.
        """
        stack = np.empty((len(channels), *self.shape), dtype=np.float32)
        for i, channel in enumerate(channels):
            if isinstance(channel, sunpy.map.GenericMap):
                stack[i] = self.resample(channel.data, channel.wcs)
            elif isinstance(channel, tuple) and len(channel) == 2:
                stack[i] = self.resample(*channel)
            else:
                stack[i] = self.resample(channel)
        return stack

    def to_template(self, data):
        """
        ``data`` on the frame's grid, put on the template's grid, NaN off the disk.

        The one off-disk rule of every translated map: NaN where the frame does not cover
        the template, where ``data`` is NaN (no input there), and beyond the solar limb.
        """
        data = np.asarray(data, dtype=np.float32)
        if data.shape != self.shape:
            raise InputMapError(f"Data of shape {data.shape} does not lie on the frame of shape {self.shape}.")
        out = data.copy() if self.geometry.native else to_map_grid(data, source=self.map, target=self.template)
        out[self.off_disk] = np.nan
        return out

    @functools.cached_property
    def off_disk(self):
        """The template's pixels on or beyond the limb (`off_disk`); computed once."""
        return off_disk(self.template)


def off_disk(smap):
    """Boolean mask of the pixels of ``smap`` beyond the solar limb (sunpy's on-disk test, `sunpy_dlmag.disk`)."""
    return ~disk.on_disk(smap)


def wrapped_in_longitude(smap, data):
    """
    Data and WCS of a heliographic map, with one column of the other edge added at each side when
    the map spans 360 degrees: interpolation across the map's longitude seam then has data.
    """
    wcs = smap.wcs.deepcopy()
    span = abs(data.shape[1] * smap.scale.axis1.to_value(u.deg / u.pix))
    if abs(span - 360) > 1e-3 * 360:
        return data, wcs
    wcs.wcs.crpix[0] += 1
    return np.concatenate([data[:, -1:], data, data[:, :1]], axis=1), wcs
