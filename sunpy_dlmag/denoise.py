"""
Denoising line-of-sight magnetograms (Park et al. 2020, ApJL 891, L4).

- `denoise`: run a denoising network (``method="ae"``: the M2 autoencoder trained on
  noise added to real magnetograms; ``method="translation"``: M1, trained to turn single
  magnetograms into 21-frame stacks) and return a new map on the input's grid;
- `noise_level`: the sigma of a Gaussian fitted to the core of the histogram of field
  values in quiet-Sun pixels;
- `stack_magnetograms`: align a series for solar differential rotation and average it,
  the targets of M1.
"""

import copy
import warnings
from collections.abc import Iterable

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from scipy import ndimage, optimize

import sunpy.map
from sunpy.coordinates import propagate_with_solar_surface
from sunpy.map.sources import HMIMap, MDIMap

from sunpy_dlmag import checks, disk
from sunpy_dlmag._progress import progress_bar
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagUserWarning, InputMapError, InvalidArgumentError
from sunpy_dlmag.maps import DlmagMap, append_history
from sunpy_dlmag.models import load_model

__all__ = ["denoise", "noise_level", "quiet_sun_mask", "stack_magnetograms", "symmetry_ensemble"]

_METHODS = {"ae": "denoise-m2", "translation": "denoise-m1"}
# The M2 autoencoder trained for each instrument's magnetograms (model cards in models/weights).
_AE_BY_INSTRUMENT = ((HMIMap, "SDO/HMI", "denoise-m2-hmi"), (MDIMap, "SOHO/MDI", "denoise-m2"))
# Factors that turn the spread over the 8 symmetric copies into a 1-sigma error, at field
# strengths (|B| of the output, G), measured on held-out data with known added noise (the model
# cards give the coverage before and after). HMI: noise drawn from the measured HMI noise model,
# partly correlated as real 45-s noise is (factors measured with white noise, 20-50 % smaller
# below 500 G, covered only half its errors; tools/evaluate_denoise_hmi.py --calibrate model).
_SPREAD_CALIBRATION = {
    "denoise-m2-hmi": ((4.0, 27.7, 67.7, 151.5, 408.5, 1112.9), (6.92, 6.33, 4.97, 4.1, 3.06, 2.18)),
    "denoise-m2": ((4.1, 27.0, 68.3, 157.6, 374.8), (5.06, 4.78, 3.58, 3.13, 2.49)),
}


def _spread_factor(name, strength):
    """The calibration factor of model ``name`` at output field strengths ``strength`` (G), or None."""
    if name not in _SPREAD_CALIBRATION:
        return None
    nodes, factors = _SPREAD_CALIBRATION[name]
    return np.interp(np.log10(np.abs(strength) + 1), np.log10(np.asarray(nodes) + 1), factors)


def _ae_model_for(magnetogram):
    """The shipped M2 model for the instrument of ``magnetogram``."""
    for cls, _, name in _AE_BY_INSTRUMENT:
        if isinstance(magnetogram, cls):
            return name
    known = "; ".join(f"{name} for {label}" for _, label, name in _AE_BY_INSTRUMENT)
    if isinstance(magnetogram, DlmagMap):
        # A product names its own instrument (sunpy-dlmag ...); what it was made from is in DLINPUT.
        made = f"made by {magnetogram.model}" if magnetogram.model else "made by sunpy-dlmag"
        source = magnetogram.inputs or "an unknown input"
        # The model of the instrument it was made from, where DLINPUT names one.
        suggested = next((name for _, label, name in _AE_BY_INSTRUMENT if label.split("/")[1] in source.split()), None)
        example = suggested or _AE_BY_INSTRUMENT[0][2]
        raise InputMapError(
            f"This map is a sunpy-dlmag {magnetogram.product} product ({made} from {source}), "
            "not an observation, so no model is chosen for it. Denoise the original observation; to run a model on "
            f"this product all the same, name it with model=, e.g. denoise(m, model='{example}') ({known})."
        )
    what = checks.describe_map(magnetogram, wavelength=False, date=False)
    raise InputMapError(
        f"No denoising model is trained for magnetograms of {what} ({type(magnetogram).__name__}); the shipped "
        f"models are {known}. Choose one with model=, e.g. denoise(m, model='denoise-m2-hmi'), "
        "or pass an ONNX file you trained."
    )


def _denoise_model(method, model, device, num_threads=None, precision="fp32", magnetogram=None):
    if method not in _METHODS:
        raise InvalidArgumentError(f"method must be 'ae' (M2 autoencoder) or 'translation' (M1), got {method!r}.")
    if model is None:
        model = _ae_model_for(magnetogram) if method == "ae" and magnetogram is not None else _METHODS[method]
    return load_model(model, device=device, num_threads=num_threads, task="denoise", precision=precision)


# The 8 symmetries of a square pixel grid (rotations by 0, 90, 180, 270 degrees, each with and
# without a flip): each maps an image to one the network could equally have been shown.
_DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))


def _transform(data, k, flip):
    return np.rot90(data[:, ::-1] if flip else data, k)


def _untransform(data, k, flip):
    out = np.rot90(data, -k)
    return out[:, ::-1] if flip else out


def symmetry_ensemble(net, data, *, sign_symmetric=False, **predict_kwargs):
    """
    A network's output over the 8 rotations and flips of an image, brought back.

    A line-of-sight field rotated by a multiple of 90 degrees or mirrored is another field
    the network could have been given, with noise of the same statistics, so a perfect
    denoiser would commute with these transforms; how much the 8 outputs differ measures how
    uncertain the network is.

    Parameters
    ----------
    net : `~sunpy_dlmag.models.Model`
    data : `numpy.ndarray`
        ``(H, W)`` physical values (NaN where there are none).
    sign_symmetric : bool
        Also run the network once on ``-data`` and take from the mean the part of the output
        that does not change sign with the input (``(f(x) + f(-x)) / 2`` of the unrotated
        image): 9 passes instead of 8; the spread is that of the 8 copies.
    **predict_kwargs
        Passed to `~sunpy_dlmag.models.Model.predict_array` (``tile_size``, ``overlap``).

    Returns
    -------
    mean, spread : `numpy.ndarray`
        The mean of the 8 outputs and their standard deviation (``ddof=1``), pixel by pixel.
    """
    total = np.zeros(data.shape, dtype=np.float64)
    squares = np.zeros(data.shape, dtype=np.float64)
    # One bar over the passes (each about as long as a plain denoise), above the tiles' bars.
    passes = len(_DIHEDRAL) + bool(sign_symmetric)
    show = predict_kwargs.get("progress", True)
    with progress_bar(total=passes, desc="rotations and flips", progress=show, unit="pass") as bar:
        for k, flip in _DIHEDRAL:
            out = _untransform(net.predict_array(_transform(data, k, flip), **predict_kwargs), k, flip)
            bar.update()
            if sign_symmetric and (k, flip) == (0, False):
                even = 0.5 * (out + net.predict_array(-data, **predict_kwargs))
                bar.update()
            total += out
            squares += np.square(out, dtype=np.float64)
    n = len(_DIHEDRAL)
    mean = total / n
    variance = np.maximum(squares - n * mean**2, 0.0) / (n - 1)
    if sign_symmetric:
        mean -= even
    return mean.astype(np.float32), np.sqrt(variance).astype(np.float32)


def denoise(
    magnetogram,
    *,
    method="ae",
    model=None,
    device="auto",
    tile_size=None,
    overlap=None,
    num_threads=None,
    precision="fp32",
    progress=True,
    uncertainty=False,
    sign_symmetric=True,
    bad_values="raise",
):
    """
    Denoise a line-of-sight magnetogram with a trained network.

    Parameters
    ----------
    magnetogram : `~sunpy.map.GenericMap`
        Full-disk HMI (45-s or 720-s) or MDI magnetogram of any size, or a cutout; in G.
    method : {"ae", "translation"}
        ``"ae"``: the M2 autoencoder trained for the map's instrument, whose weights ship
        with the package: ``denoise-m2-hmi`` for SDO/HMI (`~sunpy.map.sources.HMIMap`),
        ``denoise-m2`` for SOHO/MDI (`~sunpy.map.sources.MDIMap`); other instruments need
        ``model=``. ``"translation"``: M1 (``denoise-m1``), which needs weights you train
        (see the training guide) or download.
    model : str, path or `~sunpy_dlmag.models.Model`, optional
        Another registered model, or an ONNX file you trained and exported; overrides the
        choice by instrument.
    device : {"auto", "cpu", "cuda"}
    tile_size, overlap : int, optional
        Tiling of large images (`~sunpy_dlmag.models.Model.predict`; default: whole image up
        to about 2.1 million pixels; beyond, the grid of tiles of at most that (margins of the
        network's receptive radius included, then cropped, so tiles give the whole-image
        result) that computes the fewest pixels: 3x4 tiles for a 4096-px disk).
    num_threads : int, optional
        Threads of onnxruntime (default: its own choice, all cores); e.g. 1 per process when
        many processes denoise at once.
    precision : {"fp32", "int8", "fp16"}
        ``"int8"``: the CPU's faster int8 graph (`~sunpy_dlmag.models.load_model`); less exact,
        see the model card.
    progress : bool
        A progress bar over the tiles of a large image, and with ``uncertainty`` one over
        the network's passes (on a terminal only).
    uncertainty : bool
        Run the network on the 8 rotations and flips of the image
        (``sunpy_dlmag.denoise.symmetry_ensemble``; 9 passes with ``sign_symmetric``, 8
        without, each as long as a single pass: see the model card for the time on a full
        disk), return their mean, and their spread, calibrated on held-out data
        with known noise (see the model card), as the map's ``uncertainty``
        (`~astropy.nddata.StdDevUncertainty` in G, NaN where the data are NaN).
    sign_symmetric : bool
        Run the network on the map and on its negative and keep the part of the output that
        changes sign with the field, ``(f(B) - f(-B)) / 2`` (`~sunpy_dlmag.models.Model.predict_array`):
        the sign of B is a convention, and the shipped networks add a few G of one sign
        within 1 % of the limb (+5 to +12 G on HMI full disks between 0.995 and 1 solar radius;
        below 0.35 G in every radial bin with this on; see the model card). Twice the time
        (with ``uncertainty``, one pass more than the 8); ``False`` for speed where the limb
        does not matter.
    bad_values : {"raise", "mask"}
        Field values beyond what the Sun produces in a magnetogram (``|B| > 10 kG``,
        `sunpy_dlmag.checks.FIELD_LIMITS`): refused (default), or set to NaN with a warning.
        Fill values the header declares (``BLANK``, ``MISSING``, ...) are NaN either way.

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map on the input's grid (same WCS, observer and time), in G; off-disk NaN
        stay NaN. Its header names the model and the sha256 of its weights.

    Raises
    ------
    InputMapError
        With ``method="ae"`` and no ``model``: a map of an instrument no shipped model is
        trained for.
    ImplausibleValueError
        ``|B| > 10 kG`` with ``bad_values="raise"``; the message counts them and gives their pixels.

    See Also
    --------
    sunpy_dlmag.noise_level
        the noise level a denoised map is judged by.
    sunpy_dlmag.stack_magnetograms
        the stacked magnetograms of method M1's training targets.
    sunpy_dlmag.models.load_model
        run a network directly on arrays.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.
    .. [2] Liu, Y., Hoeksema, J. T., Scherrer, P. H., et al. 2012, Sol. Phys. 279, 295: comparison of line-of-sight
       magnetograms taken by SDO/HMI and SOHO/MDI.

    Examples
    --------
    >>> import sunpy.map
    >>> import sunpy_dlmag
    >>> from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
    >>> mdi = sunpy.map.Map(MDI_MAGNETOGRAM)  # doctest: +IGNORE_WARNINGS
    >>> clean = sunpy_dlmag.denoise(mdi, device="cpu")
    >>> clean.meta["dlmodel"]
    'denoise-m2'
    >>> clean.data.shape == mdi.data.shape
    True
    >>> bool(sunpy_dlmag.noise_level(clean) < sunpy_dlmag.noise_level(mdi) / 2)
    True
    """
    data = checks.check_magnetogram(magnetogram, bad_values=bad_values)
    net = _denoise_model(method, model, device, num_threads, precision, magnetogram=magnetogram)
    sign_symmetric = checks.check_bool(sign_symmetric, "sign_symmetric")
    if not uncertainty:
        return net.translate(
            [data],
            magnetogram,
            tile_size=tile_size,
            overlap=overlap,
            progress=progress,
            sign_symmetric=sign_symmetric,
            note="sign-symmetric: (f(B) - f(-B)) / 2" if sign_symmetric else "",
        )
    calibrated = net.spec.name in _SPREAD_CALIBRATION
    if not calibrated:
        warnings.warn(
            f"The symmetry spread of {net.spec.name!r} is not calibrated; its uncertainty is the raw spread, "
            "which underestimates the error.",
            DlmagUserWarning,
            stacklevel=2,
        )

    def ensemble(stack):
        mean, spread = symmetry_ensemble(
            net, stack[0], sign_symmetric=sign_symmetric, tile_size=tile_size, overlap=overlap, progress=progress
        )
        return mean, (_spread_factor(net.spec.name, mean) if calibrated else 1.0) * spread

    sigma = "their spread, calibrated (see the model card)" if calibrated else "their spread (not calibrated)"
    note = f"Mean over the 8 rotations and flips; uncertainty: {sigma}."
    return net.translate([data], magnetogram, note=note, ensemble=ensemble)


def quiet_sun_mask(magnetogram, *, strong=50.0, margin=5, min_mu=0.5):
    """
    Quiet-Sun pixels of a magnetogram, as `~sunpy_dlmag.noise_level` selects them by default.

    Finite pixels with ``mu >= min_mu`` (maps only) that are more than ``margin`` pixels
    from any cluster of pixels above ``strong`` G.

    Parameters
    ----------
    magnetogram : `~sunpy.map.GenericMap` or `numpy.ndarray`
        A magnetogram in G.
    strong : float
        Field strength (G) that marks non-quiet pixels.
    margin : int
        Pixels kept clear around them.
    min_mu : float
        Smallest cosine of the heliocentric angle (maps only): the limb is noisier.

    Returns
    -------
    `numpy.ndarray`
        Boolean mask of the data's shape.
    """
    smap = magnetogram
    data = (
        magnetogram.quantity.to_value(u.G)
        if isinstance(magnetogram, sunpy.map.GenericMap)
        else np.asarray(magnetogram, dtype=np.float32)
    )
    finite = np.isfinite(data)
    strong_pixels = ndimage.binary_dilation(np.abs(np.nan_to_num(data)) > strong, iterations=margin)
    # Noise alone exceeds `strong` G in single pixels; only clusters mark real strong fields.
    strong_pixels &= ndimage.uniform_filter(np.abs(np.nan_to_num(data)), 3) > strong / 2
    mask = finite & ~strong_pixels
    if isinstance(smap, sunpy.map.GenericMap):
        with np.errstate(invalid="ignore"):
            mask &= disk.mu(smap) >= min_mu
    return mask


def _region_mask(smap, data, region):
    if region is None:
        return quiet_sun_mask(smap if isinstance(smap, sunpy.map.GenericMap) else data)
    if isinstance(region, np.ndarray):
        if region.shape != data.shape or region.dtype != bool:
            raise InputMapError(
                f"region as a mask must be a boolean array of shape {data.shape}; got {region.dtype} {region.shape}."
            )
        return region & np.isfinite(data)
    if isinstance(region, tuple | list) and len(region) == 2 and all(isinstance(c, SkyCoord) for c in region):
        if not isinstance(smap, sunpy.map.GenericMap):
            raise InputMapError("A region in world coordinates needs a map, not an array.")
        corners = [smap.wcs.world_to_pixel(c) for c in region]
        xs = sorted(float(c[0]) for c in corners)
        ys = sorted(float(c[1]) for c in corners)
        mask = np.zeros(data.shape, dtype=bool)
        y0, y1 = max(0, round(ys[0])), min(data.shape[0], round(ys[1]) + 1)
        x0, x1 = max(0, round(xs[0])), min(data.shape[1], round(xs[1]) + 1)
        mask[y0:y1, x0:x1] = True
        return mask & np.isfinite(data)
    raise InputMapError(
        "region must be None (automatic quiet Sun), a boolean mask, or (bottom_left, top_right) SkyCoords; "
        f"got {type(region).__name__}."
    )


def noise_level(magnetogram, *, region=None, field_range=150 * u.G, bin_width=1 * u.G):
    """
    Noise level of a magnetogram: sigma of a Gaussian fitted to its quiet-Sun histogram.

    As in Park et al. (2020): a histogram of field values with ``bin_width`` bins within
    ``+-field_range`` over quiet-Sun pixels, and the sigma of a Gaussian fitted to it.

    Parameters
    ----------
    magnetogram : `~sunpy.map.GenericMap` or `numpy.ndarray`
        A magnetogram in G (an array is taken to be in G).
    region : optional
        ``None``: automatic quiet Sun (on-disk pixels with mu >= 0.5 that are more than 5 px
        from any cluster of pixels above 50 G); a boolean mask of the data's shape; or
        ``(bottom_left, top_right)`` `~astropy.coordinates.SkyCoord` corners of a box.
    field_range : `~astropy.units.Quantity`
    bin_width : `~astropy.units.Quantity`

    Returns
    -------
    `~astropy.units.Quantity`
        The fitted sigma, in G.

    See Also
    --------
    sunpy_dlmag.denoise
        remove the noise it measures.
    sunpy_dlmag.denoise.quiet_sun_mask
        the pixels it uses by default.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.

    Examples
    --------
    >>> import sunpy.map
    >>> import sunpy_dlmag
    >>> from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
    >>> mdi = sunpy.map.Map(MDI_MAGNETOGRAM)  # doctest: +IGNORE_WARNINGS
    >>> sunpy_dlmag.noise_level(mdi)  # doctest: +FLOAT_CMP
    <Quantity 12.00049113 G>
    """
    data, _ = checks.map_or_array(magnetogram, "magnetogram", magnetogram=True)
    limit = checks.check_quantity(field_range, u.G, "field_range", positive=True).to_value(u.G)
    width = checks.check_quantity(bin_width, u.G, "bin_width", positive=True).to_value(u.G)
    if limit / width > 1e5:
        raise InvalidArgumentError(f"field_range / bin_width must be at most 1e5 bins, got {limit / width:.3g}.")
    mask = _region_mask(magnetogram, data, region)
    values = data[mask]
    values = values[np.abs(values) <= limit]
    if values.size < 100:
        raise InputMapError(
            f"Only {values.size} quiet-Sun pixels within +-{limit:g} G to measure the noise from; give a larger region."
        )
    edges = np.arange(-limit, limit + width, width)
    counts, edges = np.histogram(values, bins=edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mad = 1.4826 * np.median(np.abs(values - np.median(values)))
    guess = (counts.max(), float(np.median(values)), max(float(mad), width))

    def gaussian(x, amplitude, mean, sigma):
        return amplitude * np.exp(-0.5 * ((x - mean) / sigma) ** 2)

    # Fit the core: bins within 3 robust sigma of the median.
    core = np.abs(centres - guess[1]) <= 3 * guess[2]
    try:
        (_, _, sigma), _ = optimize.curve_fit(gaussian, centres[core], counts[core], p0=guess, maxfev=5000)
    except (RuntimeError, TypeError) as err:
        raise InputMapError(f"The histogram of quiet-Sun values could not be fitted with a Gaussian: {err}") from err
    return abs(float(sigma)) * u.G


def stack_magnetograms(maps, *, reference=None, min_coverage=0.5):
    """
    Average a series of magnetograms aligned for solar differential rotation.

    Each map is reprojected onto the reference map's grid as the solar surface would be
    seen at the reference time (`~sunpy.coordinates.propagate_with_solar_surface`), then
    the series is averaged. With 21 consecutive HMI 45-s magnetograms (10 before and 10
    after the reference) this gives the ~15-min stacked targets of the M1 model.

    Parameters
    ----------
    maps : sequence of `~sunpy.map.GenericMap`
        Magnetograms in G.
    reference : `~sunpy.map.GenericMap`, optional
        Grid and time to align to (default: the middle map of the series).
    min_coverage : float
        Fraction of the maps (0 to 1) that must cover a pixel for it to be kept (else NaN).

    Returns
    -------
    `~sunpy.map.GenericMap`
        New map on the reference's grid, observer and time.

    See Also
    --------
    sunpy_dlmag.denoise
        ``method="translation"`` learns to map single magnetograms to such stacks.
    sunpy_dlmag.noise_level
        the noise of the stack.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.

    Examples
    --------
    >>> import sunpy.map
    >>> import sunpy_dlmag
    >>> from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
    >>> mdi = sunpy.map.Map(MDI_MAGNETOGRAM)  # doctest: +IGNORE_WARNINGS
    >>> stack = sunpy_dlmag.stack_magnetograms([mdi, mdi])
    >>> stack.data.shape == mdi.data.shape
    True
    """
    if isinstance(maps, sunpy.map.MapSequence):
        maps = maps.maps
    if isinstance(maps, sunpy.map.GenericMap | str | bytes) or not isinstance(maps, Iterable):
        what = "one map" if isinstance(maps, sunpy.map.GenericMap) else f"{maps!r} ({type(maps).__name__})"
        raise ArgumentTypeError(f"maps must be a sequence of at least two magnetogram maps, got {what}.")
    maps = list(maps)
    if len(maps) < 2:
        raise InputMapError(f"stack_magnetograms needs at least two maps, got {len(maps)}.")
    min_coverage = checks.check_number(min_coverage, "min_coverage (a fraction of the maps)", minimum=0, maximum=1)
    for index, smap in enumerate([*maps, *([] if reference is None else [reference])]):
        # Synoptic maps are not rotated differentially: each is already a map of the whole Sun.
        checks.is_disk_image(smap, error=True, name=f"map {index} of the series" if index < len(maps) else "reference")
    datas = [checks.check_magnetogram(m) for m in maps]
    reference = maps[len(maps) // 2] if reference is None else reference
    checks.check_magnetogram(reference)
    total = np.zeros(reference.data.shape, dtype=np.float64)
    count = np.zeros(reference.data.shape, dtype=np.int32)
    for smap, data in zip(maps, datas, strict=True):
        if smap is reference:
            aligned = data
        else:
            source = sunpy.map.Map(data, smap.meta)
            with propagate_with_solar_surface(), warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                aligned = source.reproject_to(reference.wcs).data
        good = np.isfinite(aligned)
        total[good] += aligned[good]
        count += good
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total / count).astype(np.float32)
    mean[count < max(1, min_coverage * len(maps))] = np.nan
    if np.isnan(mean).all():
        warnings.warn("No pixel is covered by enough maps of the series.", DlmagUserWarning, stacklevel=2)
    meta = copy.deepcopy(reference.meta)
    meta["bunit"] = "G"
    append_history(
        meta,
        f"sunpy-dlmag: mean of {len(maps)} magnetograms {maps[0].date.isot} .. {maps[-1].date.isot}, "
        f"aligned for differential rotation to {reference.date.isot}",
    )
    return sunpy.map.Map(mean, meta, plot_settings=reference.plot_settings)
