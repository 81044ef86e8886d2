"""
The evaluation metrics of the papers (Kim et al. 2019, Jeong et al. 2020, 2022).

- pixel-to-pixel CC: both images binned 8x8 (mean), on-disk pixels only, Pearson CC;
- total unsigned and net magnetic flux, with the true area of each pixel on the sphere;
- flux CCs: Pearson CC over a set of images of their per-image fluxes;
- active-region (AR) and quiet-region (QR) patches (`select_patches`), and `evaluate`, which
  runs a model over (input, target) pairs and returns the papers' table: full disk, AR and QR
  rows; total unsigned flux CC, net flux CC and mean 8x8-binned pixel CC columns.
"""

import copy
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

import sunpy.map
from sunpy import log

from sunpy_dlmag import checks, disk
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagUserWarning, InputMapError, InvalidArgumentError

__all__ = [
    "Patch",
    "evaluate",
    "flux_cc",
    "net_flux",
    "pixel_area_on_sphere",
    "pixel_cc",
    "select_patches",
    "total_unsigned_flux",
]


def _data_and_disk(image, name):
    """Data and on-disk mask of a map, or the finite (unmasked) pixels of an array."""
    data, smap = checks.map_or_array(image, name, dtype=np.float64)
    return data, np.isfinite(data) if smap is None else disk.on_disk(smap) & np.isfinite(data)


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
    binning = checks.check_int(binning, "binning", minimum=1)
    data_a, mask_a = _data_and_disk(a, "a")
    data_b, mask_b = _data_and_disk(b, "b")
    if data_a.shape != data_b.shape:
        raise InputMapError(f"pixel_cc needs images on one grid; got shapes {data_a.shape} and {data_b.shape}.")
    mask = mask_a & mask_b
    binned_a, valid_a = _bin(data_a, mask, binning)
    binned_b, _ = _bin(data_b, mask, binning)
    if valid_a.sum() < 2:
        raise InputMapError(f"Fewer than two valid {binning}x{binning} blocks to correlate.")
    return float(np.corrcoef(binned_a[valid_a], binned_b[valid_a])[0, 1])


def pixel_area_on_sphere(smap):
    """
    Area on the solar surface seen by each pixel of ``smap`` (NaN off the disk); see
    `sunpy_dlmag.disk.pixel_area_and_mu`.
    """
    return disk.pixel_area(smap)


def _area_and_mu(smap):
    """Pixel areas on the sphere (cm^2) and mu of each pixel, both NaN off the disk."""
    return disk.pixel_area_and_mu(smap)


def _flux(smap, signed):
    if not isinstance(smap, sunpy.map.GenericMap):
        raise InputMapError(f"Magnetic flux needs a map (pixel areas come from its WCS), got {type(smap).__name__}.")
    field = _field(smap)
    area = pixel_area_on_sphere(smap).to_value(u.cm**2)
    return _sum_flux(field if signed else np.abs(field), area) * u.Mx


def total_unsigned_flux(smap):
    """Sum of ``|B| x pixel area on the sphere`` over on-disk pixels, in Mx."""
    return _flux(smap, signed=False)


def net_flux(smap):
    """Sum of ``B x pixel area on the sphere`` over on-disk pixels, in Mx."""
    return _flux(smap, signed=True)


def flux_cc(fluxes_a, fluxes_b):
    """Pearson CC of two sequences of per-image fluxes (Quantities or numbers)."""
    try:
        a = u.Quantity(list(fluxes_a)).value if len(fluxes_a) else np.array([])
        b = u.Quantity(list(fluxes_b)).value if len(fluxes_b) else np.array([])
    except (TypeError, ValueError, u.UnitsError) as err:
        raise ArgumentTypeError(f"flux_cc needs two sequences of fluxes (numbers or Quantities): {err}") from err
    if a.ndim != 1 or a.shape != b.shape or a.size < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidArgumentError(
            f"flux_cc needs two sequences of finite fluxes of equal length >= 2; got {a.size} and {b.size} values."
        )
    return float(np.corrcoef(a, b)[0, 1])


# --------------------------------------------------------------------------- AR and QR patches


def _field(smap, what="magnetogram"):
    """Field of a magnetogram map in G (float64), after checking it is one."""
    checks.is_magnetogram(smap, error=True, name=what)
    checks.is_disk_image(smap, error=True, name=what)
    return checks.field_data(smap, name=what).astype(np.float64)


def _cutout(smap, x0, y0, size):
    """A new map of pixels [y0, y0 + size) x [x0, x0 + size) of ``smap``, with its WCS shifted to match."""
    meta = copy.deepcopy(smap.meta)
    meta["crpix1"] = smap.reference_pixel.x.to_value(u.pix) + 1 - x0
    meta["crpix2"] = smap.reference_pixel.y.to_value(u.pix) + 1 - y0
    return sunpy.map.Map(smap.data[y0 : y0 + size, x0 : x0 + size].copy(), meta, plot_settings=smap.plot_settings)


@dataclass(frozen=True)
class Patch:
    """
    A square patch of a magnetogram: an active region (``"ar"``) or a quiet region (``"qr"``).

    Attributes
    ----------
    kind : str
    x0, y0 : int
        Pixel index of the patch's first column and row.
    size : int
        Width and height, pixels.
    center : `~astropy.coordinates.SkyCoord`
        World coordinate of the patch centre.
    flux : `~astropy.units.Quantity`
        Total unsigned flux of the patch in the magnetogram it was selected on, Mx.
    """

    kind: str
    x0: int
    y0: int
    size: int
    center: SkyCoord
    flux: u.Quantity

    @property
    def slices(self):
        """``(rows, columns)`` slices of the patch in the map's data array."""
        return slice(self.y0, self.y0 + self.size), slice(self.x0, self.x0 + self.size)

    def cutout(self, smap):
        """The patch of ``smap`` (a map on the grid the patch was selected on) as a new map."""
        if smap.data.shape[0] < self.y0 + self.size or smap.data.shape[1] < self.x0 + self.size:
            raise InputMapError(f"A map of shape {smap.data.shape} does not contain the patch {self.slices}.")
        return _cutout(smap, self.x0, self.y0, self.size)


# Defaults of the patch selection (select_patches, evaluate).
MIN_STRONG_FRACTION = 0.01
MIN_MU = 0.5


def _box_sums(values, size):
    """Sum of ``values`` over every ``size x size`` window, indexed by the window's first row and column."""
    summed = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    summed[1:, 1:] = np.cumsum(np.cumsum(values, axis=0, dtype=np.float64), axis=1)
    return summed[size:, size:] - summed[:-size, size:] - summed[size:, :-size] + summed[:-size, :-size]


@checks.quantity_input
def select_patches(
    magnetogram,
    *,
    kind="ar",
    size=128,
    n=None,
    threshold: u.G = 100 * u.G,
    min_strong_fraction=MIN_STRONG_FRACTION,
    min_mu=MIN_MU,
):
    """
    Active-region or quiet-region patches of a magnetogram, as in the papers' evaluation.

    Only patches whose pixels all lie on the disk (and are finite) and whose centre has
    ``mu >= min_mu`` are considered. They are chosen greedily and never overlap:

    - ``kind="ar"``: patches with at least ``min_strong_fraction`` of their pixels at
      ``|B| >= threshold``, strongest first (largest unsigned flux in those pixels);
    - ``kind="qr"``: patches with less than a tenth of that fraction of strong pixels (the
      network reaches the threshold in places), quietest first (smallest mean of ``|B| / mu``,
      so that foreshortening near the limb does not pass for quiet Sun).

    Parameters
    ----------
    magnetogram : `~sunpy.map.GenericMap`
        A full-disk line-of-sight magnetogram in G; selection uses its own pixel grid (the
        papers: 1024 x 1024 px HMI, 128 x 128 px patches).
    kind : {"ar", "qr"}
    size : int
        Patch width and height, pixels.
    n : int, optional
        Largest number of patches (default: all that qualify).
    threshold : `~astropy.units.Quantity`
        Field strength of active-region pixels.
    min_strong_fraction : float
        Fraction of strong pixels that makes an active-region patch.
    min_mu : float
        Smallest cosine of the heliocentric angle at a patch centre.

    Returns
    -------
    list of `Patch`
        In the order they were chosen (strongest or quietest first).
    """
    checks.check_choice(kind, ("ar", "qr"), "kind")
    field = _field(magnetogram)
    ny, nx = field.shape
    size = checks.check_int(size, "size", minimum=1, maximum=min(ny, nx))
    n = checks.check_int(n, "n", minimum=0, allow_none=True)
    min_strong_fraction = checks.check_number(min_strong_fraction, "min_strong_fraction", minimum=0, maximum=1)
    min_mu = checks.check_number(min_mu, "min_mu", minimum=0, maximum=1)
    area, mu = _area_and_mu(magnetogram)
    return _select(
        field, area, mu, magnetogram.wcs, kind, size, n, threshold.to_value(u.G), min_strong_fraction, min_mu
    )


def _select(field, area, mu, wcs, kind, size, n, threshold, min_strong_fraction, min_mu):
    field = np.abs(field)
    valid = np.isfinite(field) & np.isfinite(area)
    field = np.where(valid, field, 0.0)
    flux_density = np.where(valid, field * np.nan_to_num(area), 0.0)
    strong = valid & (field >= threshold)
    full = _box_sums(valid, size) == size * size
    half = size // 2
    centre_mu = np.nan_to_num(mu)[half : half + full.shape[0], half : half + full.shape[1]]
    candidates = full & (centre_mu >= min_mu)
    n_strong = _box_sums(strong, size)
    if kind == "ar":
        candidates &= n_strong >= min_strong_fraction * size * size
        score = -_box_sums(np.where(strong, flux_density, 0.0), size)
    else:
        # Isolated network elements reach the threshold too; an AR patch has ten times as many.
        candidates &= n_strong < 0.1 * min_strong_fraction * size * size
        score = _box_sums(np.where(valid, field / np.clip(np.nan_to_num(mu), 1e-3, None), 0.0), size)
    patch_flux = _box_sums(flux_density, size)
    patches = []
    while candidates.any() and (n is None or len(patches) < n):
        y0, x0 = np.unravel_index(np.argmin(np.where(candidates, score, np.inf)), score.shape)
        y0, x0 = int(y0), int(x0)
        centre = wcs.pixel_to_world(x0 + (size - 1) / 2, y0 + (size - 1) / 2)
        patches.append(Patch(kind, x0, y0, size, centre, patch_flux[y0, x0] * u.Mx))
        # No other patch may overlap this one.
        candidates[max(0, y0 - size + 1) : y0 + size, max(0, x0 - size + 1) : x0 + size] = False
    return patches


# --------------------------------------------------------------------------- evaluate
def _runner(model, device):
    from sunpy_dlmag.models import load_model
    from sunpy_dlmag.models.runtime import Model

    if isinstance(model, Model | str | os.PathLike):
        loaded = load_model(model, device=device)
        return loaded.predict, f"{loaded.spec.name} (sha256 {loaded.sha256[:12]})"
    if callable(model):
        return model, getattr(model, "__name__", type(model).__name__)
    raise ArgumentTypeError(
        f"model must be a Model, a registered name, an ONNX path or a callable; got {type(model).__name__}."
    )


#: Largest time between a model's output and its target: beyond it the Sun has rotated.
MAX_TIME_DIFFERENCE = 1 * u.day


def _check_same_time(output, target, index):
    """Refuse an output map whose time differs from the target's by more than `MAX_TIME_DIFFERENCE`."""
    if not isinstance(output, sunpy.map.GenericMap) or not checks.has_date(output):
        return
    apart = abs((output.date - target.date).to(u.day))
    if apart > MAX_TIME_DIFFERENCE:
        raise InputMapError(
            f"Pair {index}: the model output ({output.date.isot[:19]}) and the target ({target.date.isot[:19]}) "
            f"are {apart.to_value(u.day):.1f} days ({apart.to_value(u.year):.2f} years) apart; expected the "
            f"same time (within {MAX_TIME_DIFFERENCE}). Pair each input with the target observed at its time."
        )


def _on_grid(output, target):
    """The output as a map on the target's grid (same WCS), in G."""
    if isinstance(output, sunpy.map.GenericMap):
        data = output.quantity.to_value(u.G) if output.unit is not None else np.asarray(output.data)
        same = output.data.shape == target.data.shape and output.wcs.wcs.compare(target.wcs.wcs, tolerance=1e-6)
        if not same:
            from sunpy_dlmag import geometry

            data = geometry.resample(data, output.wcs, target.wcs, target.data.shape)
    else:
        data = np.asarray(output, dtype=np.float64)
        if data.shape != target.data.shape:
            raise InputMapError(
                f"The model returned an array of shape {data.shape} for a target of shape {target.data.shape}; "
                "return a map (it is resampled onto the target's grid) or an array on the target's grid."
            )
    meta = copy.deepcopy(target.meta)
    meta["bunit"] = "G"
    return sunpy.map.Map(np.asarray(data, dtype=np.float32), meta)


def _sum_flux(field, area):
    """Sum of field x area (G cm^2 = Mx) over pixels where both are finite."""
    valid = np.isfinite(field) & np.isfinite(area)
    return float(np.sum(field[valid] * area[valid]))


def _varies(values):
    values = np.asarray(values, dtype=np.float64)
    return np.ptp(values) > 1e-9 * np.abs(values).max()


def _safe_cc(a, b):
    """Pearson CC, NaN for fewer than 3 values or values that do not vary."""
    if len(a) < 3 or not (_varies(a) and _varies(b)):
        return np.nan
    return flux_cc(a, b)


REGIONS = ("full disk", "AR", "QR")


def evaluate(
    model,
    pairs,
    *,
    binning=8,
    patch_size=128,
    threshold=100 * u.G,
    ar_per_image=None,
    qr_per_image=1,
    device="auto",
):
    """
    The papers' evaluation table of a model over (input, target) pairs.

    For every pair the model is run on the input and its output is put on the target's grid;
    then for the full disk and for active-region (AR) and quiet-region (QR) patches selected
    on the target (`select_patches`), it measures the total unsigned flux and the net flux of
    output and target (`total_unsigned_flux`, `net_flux`) and their pixel-to-pixel CC after
    ``binning x binning`` binning (`pixel_cc`). The table gives, for each region, the Pearson
    CC over all images (or patches) of the output's fluxes against the target's (`flux_cc`)
    and the mean pixel CC, as Jeong et al. (2020, 2022) report them.

    Parameters
    ----------
    model : `~sunpy_dlmag.models.Model`, str, path or callable
        A loaded model (run with `Model.predict <sunpy_dlmag.models.Model.predict>`), a
        registered name or ONNX path (loaded on ``device``), or any callable that takes an
        input and returns a map, e.g. ``lambda euv: farside_magnetogram(euv, model=m)``.
    pairs : iterable of (input, target)
        The input in whatever form the model takes (a map, or a list of maps); the target a
        full-disk magnetogram map in G.
    binning : int
        Block size of the pixel CC.
    patch_size : int
        AR and QR patch size, pixels of the target's grid.
    threshold : `~astropy.units.Quantity`
        Field strength of active-region pixels (`select_patches`).
    ar_per_image, qr_per_image : int or None
        Largest number of AR / QR patches per image (`None`: all that qualify).
    device : {"auto", "cpu", "cuda"}

    Returns
    -------
    `~astropy.table.Table`
        Rows ``full disk``, ``AR``, ``QR``; columns ``N`` (images or patches),
        ``total unsigned flux CC``, ``net flux CC`` and ``pixel CC (8x8)``. A flux CC needs at
        least 3 values that vary and is NaN otherwise. ``table.meta["items"]`` holds the
        per-image and per-patch values. The table is also logged (`sunpy.log`, INFO).
    """
    binning = checks.check_int(binning, "binning", minimum=1)
    patch_size = checks.check_int(patch_size, "patch_size", minimum=1)
    threshold = checks.check_quantity(threshold, u.G, "threshold", positive=True).to_value(u.G)
    ar_per_image = checks.check_int(ar_per_image, "ar_per_image", minimum=0, allow_none=True)
    qr_per_image = checks.check_int(qr_per_image, "qr_per_image", minimum=0, allow_none=True)
    if isinstance(pairs, sunpy.map.GenericMap | str | bytes) or not isinstance(pairs, Iterable):
        raise ArgumentTypeError(
            f"pairs must be an iterable of (input, target) tuples, got {pairs!r} ({type(pairs).__name__})."
        )
    run, name = _runner(model, device)
    rows = []
    n_pairs = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise InputMapError(f"pairs must hold (input, target) tuples; item {index} is {type(pair).__name__}.")
            inp, target = pair
            target_field = _field(target, "target magnetogram")
            output = run(inp)
            _check_same_time(output, target, index)
            output_field = _field(_on_grid(output, target), "model output")
            n_pairs += 1
            # One grid for both: pixel areas, mu and the disk are computed once.
            area, mu = _area_and_mu(target)
            disk = np.isfinite(area)
            target_field = np.where(disk, target_field, np.nan)
            output_field = np.where(disk, output_field, np.nan)
            regions = [("full disk", (slice(None), slice(None)))]
            for kind, n in (("ar", ar_per_image), ("qr", qr_per_image)):
                size = min(patch_size, *target_field.shape)
                patches = _select(
                    target_field, area, mu, target.wcs, kind, size, n, threshold, MIN_STRONG_FRACTION, MIN_MU
                )
                regions += [(kind.upper(), patch.slices) for patch in patches]
            for region, where in regions:
                t, o, a = target_field[where], output_field[where], area[where]
                rows.append(
                    (
                        region,
                        index,
                        _sum_flux(np.abs(t), a),
                        _sum_flux(np.abs(o), a),
                        _sum_flux(t, a),
                        _sum_flux(o, a),
                        pixel_cc(o, t, binning=binning),
                    )
                )
    if not n_pairs:
        raise InputMapError("evaluate needs at least one (input, target) pair.")
    items = Table(
        rows=rows,
        names=(
            "region",
            "pair",
            "target unsigned flux",
            "output unsigned flux",
            "target net flux",
            "output net flux",
            "pixel CC",
        ),
        dtype=(str, int, float, float, float, float, float),
    )
    for column in ("target unsigned flux", "output unsigned flux", "target net flux", "output net flux"):
        items[column].unit = u.Mx
    pixel_column = f"pixel CC ({binning}x{binning})"
    summary = Table(
        names=("region", "N", "total unsigned flux CC", "net flux CC", pixel_column),
        dtype=(str, int, float, float, float),
    )
    too_few = []
    for region in REGIONS:
        sel = items[items["region"] == region]
        unsigned = _safe_cc(sel["output unsigned flux"], sel["target unsigned flux"])
        net = _safe_cc(sel["output net flux"], sel["target net flux"])
        if len(sel) and (np.isnan(unsigned) or np.isnan(net)):
            too_few.append(f"{region} ({len(sel)})")
        pixel = float(np.nanmean(sel["pixel CC"])) if len(sel) else np.nan
        summary.add_row((region, len(sel), unsigned, net, pixel))
    for column in summary.colnames[2:]:
        summary[column].format = ".3f"
    if too_few:
        warnings.warn(
            "Flux CCs need at least 3 images or patches whose fluxes vary; NaN for: " + ", ".join(too_few) + ".",
            DlmagUserWarning,
            stacklevel=2,
        )
    summary.meta.update({"model": name, "pairs": n_pairs, "binning": binning, "patch_size": patch_size, "items": items})
    log.info(f"Evaluation of {name} on {n_pairs} pair(s):\n" + "\n".join(summary.pformat(max_width=-1)))
    return summary
