"""
Training data for image-translation networks: pairs, prepared (cached) images, patch datasets.

The chain is: a manifest or folders of FITS files -> `Pair` objects (`pairs_from_folders`,
`pairs_from_manifest`; these live in `sunpy_dlmag.data.fetch`, which needs no torch, and
are re-exported here) -> `split_by_month` -> `prepare`, which brings every pair to the
geometry of a `~sunpy_dlmag.models.ModelSpec` and normalises it once, caching the result
as ``.npy`` files -> `PatchDataset`, a ``torch.utils.data.Dataset`` of random patches read
from the cache through memory maps.

`NoiseDataset` serves the autoencoder denoising model of Park et al. (2020, "M2"), whose
inputs are real magnetograms with added Gaussian noise and whose targets are the
magnetograms themselves.

Every random choice is drawn from a generator seeded with ``(seed, epoch, index)``, so a
given item is the same whatever the order, the number of workers or a resumed run.
"""

import hashlib
import json
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import astropy.units as u
import numpy as np

import sunpy.map
from sunpy import log

from sunpy_dlmag import checks, disk, geometry
from sunpy_dlmag.checks import check_quantity
from sunpy_dlmag.data.fetch import (
    Pair,
    pairs_from_folders,
    pairs_from_manifest,
    read_observation_time,
    split_by_month,
    write_manifest,
)
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    DlmagUserWarning,
    InputMapError,
    InvalidArgumentError,
    MissingFileError,
)
from sunpy_dlmag.io import write_atomic
from sunpy_dlmag.models.spec import Normalization
from sunpy_dlmag.training._torch import torch
from sunpy_dlmag.training.noise_model import check_noise_model

__all__ = [
    "NoiseDataset",
    "NoiseSample",
    "Pair",
    "PatchDataset",
    "PreparedImage",
    "PreparedPairs",
    "pairs_from_folders",
    "pairs_from_manifest",
    "prepare",
    "read_observation_time",
    "split_by_month",
    "write_manifest",
]

Dataset = torch.utils.data.Dataset

# Bits of the prepared mask: usable on-disk pixel, strong-field pixel of the target.
DISK = np.uint8(1)
STRONG = np.uint8(2)

#: Normalisation of the denoising models (Park et al. 2020): B / 100 G clipped to [-1, 1].
DENOISE_NORMALIZATION = Normalization("linear", -100.0, 100.0)

# Bump when the content of cached arrays changes, so old caches are not reused.
_CACHE_VERSION = 1
# Largest pixel offset between two grids that are taken to be the same.
_SAME_GRID_PX = 0.01
# Random draws of a patch centre before the exact (slower) search of the mask.
_REJECTION_TRIES = 32


# --------------------------------------------------------------------------- preparing


@dataclass(frozen=True)
class PreparedImage:
    """
    One prepared pair, as read-only memory maps of the cache.

    Attributes
    ----------
    inputs : `numpy.ndarray`
        ``(C, H, W)`` float32, normalised inputs.
    target : `numpy.ndarray`
        ``(H, W)`` float32, normalised target.
    mask : `numpy.ndarray`
        ``(H, W)`` uint8 flags: ``mask & DISK`` (1) marks on-disk pixels where every channel
        has data, ``mask & STRONG`` (2) on-disk target pixels with a strong field.
    """

    inputs: np.ndarray
    target: np.ndarray
    mask: np.ndarray


class PreparedPairs(Sequence):
    """
    Pairs brought to a model's geometry and normalisation, cached as ``.npy`` files.

    Made by `prepare`; item ``i`` is a `PreparedImage` of memory-mapped arrays, so a
    dataset reads only the pixels of the patches it cuts out.

    Attributes
    ----------
    pairs : tuple of `Pair`
    spec : `~sunpy_dlmag.models.ModelSpec`
    cache_dir : `~pathlib.Path`
    keys : tuple of str
        Cache key of each pair (file names ``KEY.inputs.npy``, ``KEY.target.npy``, ``KEY.mask.npy``).
    shapes : tuple of tuple
        ``(H, W)`` of each prepared image.
    n_from_cache : int
        How many pairs `prepare` found in the cache rather than reading their FITS files.
    """

    def __init__(self, pairs, spec, cache_dir, keys, shapes, n_from_cache=0):
        self.pairs = tuple(pairs)
        self.spec = spec
        self.cache_dir = Path(cache_dir)
        self.keys = tuple(keys)
        self.shapes = tuple(tuple(s) for s in shapes)
        self.n_from_cache = n_from_cache

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        if not isinstance(index, int | np.integer):
            raise ArgumentTypeError(f"PreparedPairs indices must be integers, got {type(index).__name__}.")
        key = self.keys[index]  # raises IndexError, handles negative indices
        # Opened on every access: a memory map keeps a file descriptor, and thousands of
        # cached maps would exhaust them.
        return PreparedImage(*(np.load(p, mmap_mode="r") for p in _cache_files(self.cache_dir, key)))

    def mask(self, index):
        """The mask of pair ``index`` alone (memory-mapped), without opening its images."""
        return np.load(_cache_files(self.cache_dir, self.keys[index])[2], mmap_mode="r")

    def __repr__(self):
        return f"<PreparedPairs: {len(self)} pair(s) for {self.spec.name!r} in {self.cache_dir}>"


def _cache_files(cache_dir, key):
    return tuple(Path(cache_dir) / f"{key}.{part}.npy" for part in ("inputs", "target", "mask"))


def prepare(pairs, spec, cache_dir, *, strong_field=500 * u.G, preprocess=None, on_error="raise"):
    """
    Bring pairs to a model's geometry, normalise them and cache the result.

    For each pair the FITS files are read with `sunpy.map.Map` and

    - converted to the units of the spec's channels (``DN`` is divided by the exposure
      time for a ``DN/s`` channel);
    - for a spec on the native grid (``spec.geometry.native``), put on the target's pixel
      grid: inputs on another grid are resampled onto it (`sunpy_dlmag.geometry.resample`);
      otherwise each map is brought to the model frame of its own observer
      (`sunpy_dlmag.geometry.to_model_frame`: north up, centred, fixed solar radius);
    - normalised with each channel's `~sunpy_dlmag.models.Normalization`. Pixels without
      data (NaN, e.g. off the disk) in any input become, in every input channel, what 0
      in physical units becomes, as at inference; NaN target pixels likewise.

    The arrays are saved as float32 ``.npy`` files in ``cache_dir`` under a key made of
    the files' paths, modification times and sizes and of the spec's geometry,
    normalisations and units, so a second run (or another spec with the same data
    settings) does not read the FITS files again, and a changed file is prepared anew.

    Parameters
    ----------
    pairs : sequence of `Pair`
        Each with one input per input channel of ``spec``.
    spec : `~sunpy_dlmag.models.ModelSpec`
    cache_dir : str or `~pathlib.Path`
    strong_field : `~astropy.units.Quantity` or None
        Target pixels with ``|value|`` at least this (in physical units; for targets whose
        unit is convertible) are marked as strong-field pixels, around which
        `PatchDataset` centres patches when ``active_region_bias > 0``.
    preprocess : callable, optional
        ``preprocess(smap, channel) -> smap`` applied to every map after reading, e.g. an
        instrument calibration. Its module and name are part of the cache key: clear the
        cache after changing what it does.
    on_error : {"raise", "skip"}
        What to do with a pair whose files cannot be read or placed: raise, or drop it
        with a warning.

    Returns
    -------
    `PreparedPairs`
    """
    if on_error not in ("raise", "skip"):
        raise InvalidArgumentError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    threshold = _strong_threshold(strong_field, spec.output)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    kept, keys, shapes, n_cached = [], [], [], 0
    for pair in pairs:
        if len(pair.inputs) != spec.n_inputs:
            raise InputMapError(
                f"Model {spec.name!r} takes {spec.n_inputs} input channel(s) "
                f"({', '.join(c.label for c in spec.inputs)}); the pair at {pair.time.isot} has {len(pair.inputs)}."
            )
        try:
            key = _cache_key(pair, spec, threshold, preprocess)
            files = _cache_files(cache_dir, key)
            if all(p.exists() for p in files):
                shape = np.load(files[1], mmap_mode="r").shape
                n_cached += 1
            else:
                inputs, target, mask = _prepare_pair(pair, spec, threshold, preprocess)
                # The mask is written last: its presence marks a complete entry.
                for path, array in zip(files, (inputs, target, mask), strict=True):
                    write_atomic(path, lambda tmp, a=array: np.save(tmp, a), overwrite=True)
                shape = target.shape
        except (OSError, ValueError, TypeError) as err:
            if on_error == "raise":
                raise
            warnings.warn(
                f"Skipped the pair at {pair.time.isot} ({pair.target}): {err}", DlmagUserWarning, stacklevel=2
            )
            continue
        kept.append(pair)
        keys.append(key)
        shapes.append(shape)
    log.info(f"Prepared {len(kept)} pair(s) for {spec.name!r} in {cache_dir} ({n_cached} from the cache).")
    return PreparedPairs(kept, spec, cache_dir, keys, shapes, n_from_cache=n_cached)


def _strong_threshold(strong_field, channel):
    """The strong-field threshold in the channel's unit, or None where it does not apply."""
    if strong_field is None:
        return None
    unit = u.Unit(channel.unit)
    if isinstance(strong_field, u.Quantity) and not strong_field.unit.is_equivalent(unit):
        return None  # e.g. an EUV target: no field strength to speak of
    return float(check_quantity(strong_field, unit, "strong_field", positive=True).value)


def _cache_key(pair, spec, threshold, preprocess):
    files = []
    for path in (pair.target, *pair.inputs):
        path = Path(path).resolve()
        stat = path.stat()
        files.append([str(path), stat.st_mtime_ns, stat.st_size])
    g = spec.geometry
    content = {
        "version": _CACHE_VERSION,
        "files": files,
        "image_size": g.image_size,
        "rsun_px": g.rsun_px,
        "inputs": [[c.unit, asdict(c.normalization)] for c in spec.inputs],
        "output": [spec.output.unit, asdict(spec.output.normalization)],
        "strong": threshold,
        "preprocess": None if preprocess is None else f"{preprocess.__module__}.{preprocess.__qualname__}",
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _prepare_pair(pair, spec, threshold, preprocess):
    target_map = _read_map(pair.target, spec.output, preprocess)
    input_maps = [_read_map(p, c, preprocess) for p, c in zip(pair.inputs, spec.inputs, strict=True)]
    g = spec.geometry
    if g.native:
        target = np.asarray(target_map.data, dtype=np.float32)
        inputs = [
            np.asarray(m.data, dtype=np.float32)
            if _same_grid(m, target_map)
            else geometry.resample(m.data, m.wcs, target_map.wcs, target.shape)
            for m in input_maps
        ]
        disk = _disk_mask(target_map)
    else:
        frame = dict(image_size=g.image_size, rsun_px=g.rsun_px)
        target = geometry.to_model_frame(target_map, **frame).data
        inputs = [geometry.to_model_frame(m, **frame).data for m in input_maps]
        disk = _circle(g.image_size, g.rsun_px)
    # Resampling is linear, so converting units after it gives the same values.
    target = target * _unit_factor(target_map, spec.output, pair.target)
    inputs = [
        x * _unit_factor(m, c, p) for x, m, c, p in zip(inputs, input_maps, spec.inputs, pair.inputs, strict=True)
    ]

    x = np.stack(inputs).astype(np.float32, copy=False)
    missing = ~np.isfinite(x).all(axis=0)
    normed = np.empty_like(x)
    for c, channel in enumerate(spec.inputs):
        normed[c] = channel.normalization.forward(x[c])
        normed[c][missing] = channel.normalization.forward(0.0)
    target_missing = ~np.isfinite(target)
    y = spec.output.normalization.forward(target)
    y[target_missing] = spec.output.normalization.forward(0.0)

    mask = np.where(disk & ~missing & ~target_missing, DISK, np.uint8(0)).astype(np.uint8)
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            strong = np.abs(target) >= threshold
        mask[strong & (mask > 0)] |= STRONG
    return normed, y, mask


def _read_map(path, channel, preprocess):
    smap = sunpy.map.Map(path)
    if not isinstance(smap, sunpy.map.GenericMap):
        raise InputMapError(f"{path} holds {len(smap)} maps; expected one image per file.")
    # Catches channels given in the wrong order (e.g. 171 where 304 belongs), while
    # allowing the near-equivalent channels of two instruments (EUVI 195, AIA 193).
    if (
        channel.wavelength is not None
        and smap.wavelength is not None
        and abs((smap.wavelength - channel.wavelength).to_value(u.AA)) > 5
    ):
        raise InputMapError(
            f"{path} is a {smap.wavelength:.0f} observation; the channel {channel.label!r} expects "
            f"{channel.wavelength:.0f}. Check the order of the input files."
        )
    if preprocess is not None:
        smap = preprocess(smap, channel)
    return smap


def _unit_factor(smap, channel, path):
    """Factor turning the map's values into the channel's unit (1 where either says nothing)."""
    from sunpy_dlmag.calibration import COUNTS_ARE_DN, intensity_unit

    if not channel.unit or smap.unit is None:
        return np.float32(1.0)
    want = u.Unit(channel.unit, parse_strict="silent")
    # EUV images in counts or per pixel (EIT, SWAP) as intensity_unit reads them; DN by the exposure.
    unit = intensity_unit(smap, smap.unit) if channel.wavelength is not None else smap.unit
    exposure = smap.exposure_time
    seconds = [exposure] if exposure is not None and exposure.to_value(u.s) > 0 else []
    for value in [1 * unit, *(1 * unit / s for s in seconds)]:
        if value.unit.is_equivalent(want, equivalencies=COUNTS_ARE_DN):
            return np.float32(value.to_value(want, equivalencies=COUNTS_ARE_DN))
    raise InputMapError(
        f"{path} is in {smap.unit}, which cannot be converted to {channel.label}'s unit {channel.unit}."
    )


def _same_grid(smap, reference):
    """Whether ``smap`` lies on the pixel grid of ``reference`` (same shape, same pixel positions)."""
    if smap.data.shape != reference.data.shape:
        return False
    ny, nx = reference.data.shape
    yy, xx = np.meshgrid([0, ny / 2, ny - 1], [0, nx / 2, nx - 1], indexing="ij")
    try:
        world = reference.wcs.pixel_to_world(xx.ravel(), yy.ravel())
        px, py = smap.wcs.world_to_pixel(world)
    except (ValueError, TypeError):  # frames that cannot be compared
        return False
    offsets = np.hypot(px - xx.ravel(), py - yy.ravel())
    return bool(np.all(np.isfinite(offsets)) and offsets.max() < _SAME_GRID_PX)


def _circle(size, radius):
    c = (size - 1) / 2
    yy, xx = np.ogrid[:size, :size]
    return (yy - c) ** 2 + (xx - c) ** 2 <= radius**2


def _disk_mask(smap):
    """On-disk pixels of a helioprojective map; every pixel of other maps (they lie on the Sun)."""
    shape = smap.data.shape
    if not checks.is_disk_image(smap):
        return np.ones(shape, dtype=bool)
    cx, cy = disk.centre_pixel(smap)
    rx, ry = disk.radius_pixels(smap)
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1


# --------------------------------------------------------------------------- datasets


def _rng(seed, epoch, index):
    return np.random.default_rng([int(seed), int(epoch), int(index)])


def _check_patch_size(patch_size, allow_none):
    if patch_size is None and allow_none:
        return None
    if isinstance(patch_size, bool) or not isinstance(patch_size, int | np.integer) or patch_size < 1:
        raise InvalidArgumentError(
            f"patch_size must be a positive integer{' or None' if allow_none else ''}, got {patch_size!r}."
        )
    return int(patch_size)


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


class PatchDataset(Dataset):
    """
    Random patches of prepared pairs: ``(inputs (C, P, P), target (1, P, P))`` float32 tensors.

    Item ``i`` is patch ``i % patches_per_image`` of image ``i // patches_per_image``; its
    position is drawn from a generator seeded with ``(seed, epoch, i)``, so the same item
    is returned whatever the order of access, the number of workers, or a resumed run.
    Call `set_epoch` at the start of every epoch to draw new positions (as with
    ``torch.utils.data.distributed.DistributedSampler``; with persistent DataLoader workers
    the new epoch does not reach the workers).

    Parameters
    ----------
    prepared : `PreparedPairs`
    patch_size : int or None
        Patch width and height in pixels; `None` gives whole images (one per pair).
    patches_per_image : int
        Patches cut from each image per epoch.
    on_disk : bool
        Centre patches on on-disk pixels where every channel has data (the mask made by
        `prepare`); otherwise anywhere. Patches always lie inside the image.
    active_region_bias : float
        Fraction (0-1) of patches centred on strong-field target pixels (see
        `prepare`'s ``strong_field``); images without any take an on-disk patch instead.
    seed : int
    """

    def __init__(self, prepared, *, patch_size=256, patches_per_image=16, on_disk=True, active_region_bias=0.0, seed=0):
        if not isinstance(prepared, PreparedPairs):
            raise ArgumentTypeError(
                f"PatchDataset takes the PreparedPairs made by prepare(), got {type(prepared).__name__}."
            )
        if len(prepared) == 0:
            raise InvalidArgumentError("PatchDataset needs at least one prepared pair.")
        self.patch_size = _check_patch_size(patch_size, allow_none=True)
        self.patches_per_image = 1 if patch_size is None else _check_count(patches_per_image, "patches_per_image")
        if not 0.0 <= float(active_region_bias) <= 1.0:
            raise InvalidArgumentError(f"active_region_bias must lie in [0, 1], got {active_region_bias!r}.")
        if self.patch_size is not None:
            small = [(i, s) for i, s in enumerate(prepared.shapes) if min(s) < self.patch_size]
            if small:
                raise InvalidArgumentError(
                    f"{len(small)} prepared image(s) are smaller than patch_size={self.patch_size} "
                    f"(first: pair {small[0][0]}, shape {small[0][1]})."
                )
        self.prepared = prepared
        self.on_disk = bool(on_disk)
        self.active_region_bias = float(active_region_bias)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self):
        return len(self.prepared) * self.patches_per_image

    def set_epoch(self, epoch):
        """Use the patch positions of ``epoch`` from now on."""
        self.epoch = int(epoch)

    def position(self, index):
        """
        Where item ``index`` comes from.

        Returns
        -------
        image, row, col : int
            Index of the prepared pair and the top-left pixel of the patch.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"Index {index} out of range for a dataset of {len(self)} patches.")
        image = index // self.patches_per_image
        if self.patch_size is None:
            return image, 0, 0
        rng = _rng(self.seed, self.epoch, index)
        p = self.patch_size
        height, width = self.prepared.shapes[image]
        # Centres at least p // 2 from the top/left edge and so that the patch fits.
        lo = p // 2
        hi_y, hi_x = height - p + lo, width - p + lo
        strong = rng.random() < self.active_region_bias
        bits = ([STRONG] if strong else []) + ([DISK] if self.on_disk else [])
        mask = self.prepared.mask(image) if bits else None
        for bit in bits:
            centre = _draw_centre(rng, mask, bit, lo, hi_y, hi_x, rejection=bit == DISK)
            if centre is not None:
                return image, centre[0] - lo, centre[1] - lo
        cy, cx = rng.integers(lo, hi_y + 1), rng.integers(lo, hi_x + 1)
        return image, int(cy) - lo, int(cx) - lo

    def __getitem__(self, index):
        image, row, col = self.position(index)
        item = self.prepared[image]
        if self.patch_size is None:
            x, y = np.array(item.inputs), np.array(item.target)
        else:
            window = (slice(row, row + self.patch_size), slice(col, col + self.patch_size))
            # Copies: the cache is read-only and torch wants writable arrays.
            x = np.array(item.inputs[(slice(None), *window)], dtype=np.float32)
            y = np.array(item.target[window], dtype=np.float32)
        return torch.from_numpy(x), torch.from_numpy(y[np.newaxis])


def _draw_centre(rng, mask, bit, lo, hi_y, hi_x, *, rejection):
    """A pixel with ``bit`` set in ``mask[lo:hi_y+1, lo:hi_x+1]``, or None if there is none."""
    if rejection:
        # Most full-disk images are about half disk: a few random draws nearly always hit.
        for _ in range(_REJECTION_TRIES):
            cy, cx = int(rng.integers(lo, hi_y + 1)), int(rng.integers(lo, hi_x + 1))
            if mask[cy, cx] & bit:
                return cy, cx
    window = np.asarray(mask[lo : hi_y + 1, lo : hi_x + 1])
    candidates = np.flatnonzero(window & bit)
    if candidates.size == 0:
        return None
    cy, cx = np.unravel_index(candidates[rng.integers(candidates.size)], window.shape)
    return int(cy) + lo, int(cx) + lo


@dataclass(frozen=True)
class NoiseSample:
    """
    One item of a `NoiseDataset` in physical units (G).

    Attributes
    ----------
    clean, noisy : `numpy.ndarray`
        ``(P, P)`` float32 patch and the same with noise added.
    mean, sigma : float
        Mean and standard deviation (G) the noise was drawn with.
    image, row, col : int
        The magnetogram it comes from and the top-left pixel of the patch.
    """

    clean: np.ndarray
    noisy: np.ndarray
    mean: float
    sigma: float
    image: int
    row: int
    col: int


class NoiseDataset(Dataset):
    """
    Real magnetogram patches with added Gaussian noise, for the denoising autoencoder.

    As for model M2 of Park et al. (2020): the target is a NaN-free patch of a real
    magnetogram (magnetograms are NaN off the disk, so patches lie on the disk); the input
    is the same patch plus Gaussian noise whose mean is drawn from ``U(noise_mean)`` and
    whose standard deviation from ``N(noise_sigma)``, redrawn until positive (a normal
    distribution truncated at 0). Both are normalised with ``normalization``. Items are
    ``(input (1, P, P), target (1, P, P))`` float32 tensors, drawn reproducibly from
    ``(seed, epoch, index)`` as in `PatchDataset`.

    Parameters
    ----------
    magnetograms : sequence
        Magnetograms in G: paths of FITS files that `sunpy.map.Map` reads (their unit must
        be convertible to G), `~sunpy.map.GenericMap` objects, ``.npy`` files or 2D arrays
        (taken to be in G; e.g. ``astropy.io.fits.getdata`` of files without a WCS).
    patch_size : int
    patches_per_image : int
        Patches per magnetogram per epoch.
    noise_sigma : tuple of float
        Mean and standard deviation (G) of the normal distribution of the noise sigma.
    noise_mean : tuple of float
        Bounds (G) of the uniform distribution of the noise mean.
    normalization : `~sunpy_dlmag.models.Normalization`
        Applied to input and target; default that of ``denoise-m2`` (``B / 100`` clipped).
    seed : int
    cache_size : int
        Magnetograms kept in memory once read (least recently used are dropped).
    noise_model : `~sunpy_dlmag.training.noise_model.NoiseModel`, optional
        Draw correlated noise from this measured model instead of white noise (sigma: its level
        at disk centre in the quiet Sun); ``mu``: per magnetogram, an array of its mu, or None.
    """

    def __init__(
        self,
        magnetograms,
        *,
        patch_size=256,
        patches_per_image=16,
        noise_sigma=(10.0, 4.0),
        noise_mean=(-1.0, 1.0),
        normalization=DENOISE_NORMALIZATION,
        seed=0,
        cache_size=8,
        noise_model=None,
        mu=None,
    ):
        if isinstance(magnetograms, str | Path | np.ndarray | sunpy.map.GenericMap):
            magnetograms = [magnetograms]
        self._sources = list(magnetograms)
        self.noise_model, self._mu = check_noise_model(noise_model, mu, len(self._sources))
        if not self._sources:
            raise InvalidArgumentError("NoiseDataset needs at least one magnetogram.")
        self.patch_size = _check_patch_size(patch_size, allow_none=False)
        self.patches_per_image = _check_count(patches_per_image, "patches_per_image")
        self.noise_sigma = tuple(_gauss(v, "noise_sigma") for v in _pair(noise_sigma, "noise_sigma"))
        self.noise_mean = tuple(_gauss(v, "noise_mean") for v in _pair(noise_mean, "noise_mean"))
        if self.noise_sigma[0] <= 0 or self.noise_sigma[1] < 0:
            raise InvalidArgumentError(
                f"noise_sigma needs a positive mean and a non-negative spread, got {noise_sigma!r}."
            )
        if self.noise_mean[1] < self.noise_mean[0]:
            raise InvalidArgumentError(f"noise_mean must be (low, high) with low <= high, got {noise_mean!r}.")
        if not isinstance(normalization, Normalization):
            raise ArgumentTypeError(f"normalization must be a Normalization, got {type(normalization).__name__}.")
        self.normalization = normalization
        self.seed = int(seed)
        self.epoch = 0
        self.cache_size = _check_count(cache_size, "cache_size")
        self._cache = OrderedDict()
        for i, source in enumerate(self._sources):
            if isinstance(source, str | Path) and not Path(source).is_file():
                raise MissingFileError(f"Magnetogram {i} ({source}) does not exist.")
            if isinstance(source, np.ndarray | sunpy.map.GenericMap):
                self._load(i)  # in memory already: check it now

    def __len__(self):
        return len(self._sources) * self.patches_per_image

    def set_epoch(self, epoch):
        """Use the patches and noise of ``epoch`` from now on."""
        self.epoch = int(epoch)

    def _load(self, i):
        """The magnetogram ``i`` (float32, G) and the top-left pixels of its NaN-free patches."""
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        data = _magnetogram_data(self._sources[i], i)
        p = self.patch_size
        if data.shape[0] < p or data.shape[1] < p:
            raise InputMapError(f"Magnetogram {i} ({data.shape}) is smaller than patch_size={p}.")
        # Count of missing pixels in every p x p window, from an integral image.
        bad = np.pad(~np.isfinite(data), ((1, 0), (1, 0))).cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)
        counts = bad[p:, p:] - bad[:-p, p:] - bad[p:, :-p] + bad[:-p, :-p]
        valid = counts == 0
        if not valid.any():
            raise InputMapError(f"Magnetogram {i} has no {p}x{p} patch without NaN.")
        self._cache[i] = (data, valid)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return self._cache[i]

    def draw(self, index):
        """
        Item ``index`` in physical units, with the noise parameters it was drawn with.

        Returns
        -------
        `NoiseSample`
        """
        if not 0 <= index < len(self):
            raise IndexError(f"Index {index} out of range for a dataset of {len(self)} patches.")
        image = index // self.patches_per_image
        data, valid = self._load(image)
        rng = _rng(self.seed, self.epoch, index)
        row, col = None, None
        for _ in range(_REJECTION_TRIES):
            r, c = int(rng.integers(valid.shape[0])), int(rng.integers(valid.shape[1]))
            if valid[r, c]:
                row, col = r, c
                break
        else:
            candidates = np.flatnonzero(valid)
            row, col = (int(v) for v in np.unravel_index(candidates[rng.integers(candidates.size)], valid.shape))
        p = self.patch_size
        clean = data[row : row + p, col : col + p].copy()
        mean = float(rng.uniform(*self.noise_mean))
        sigma = float(rng.normal(*self.noise_sigma))
        while sigma <= 0:
            sigma = float(rng.normal(*self.noise_sigma))
        if self.noise_model is None:
            noisy = clean + rng.normal(mean, sigma, size=clean.shape).astype(np.float32)
        else:
            mu = None if self._mu[image] is None else self._mu[image][row : row + p, col : col + p]
            noisy = clean + np.float32(mean) + self.noise_model.draw(clean.shape, rng, sigma, mu=mu, field=clean)
        return NoiseSample(clean, noisy, mean, sigma, image, row, col)

    def __getitem__(self, index):
        sample = self.draw(index)
        x = self.normalization.forward(sample.noisy)[np.newaxis]
        y = self.normalization.forward(sample.clean)[np.newaxis]
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def _pair(value, name):
    if isinstance(value, u.Quantity) and value.size == 2:
        return tuple(value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be two numbers, got {value!r}.") from None
    return a, b


def _gauss(value, name):
    if isinstance(value, u.Quantity):
        return float(value.to_value(u.G))
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not np.isfinite(value):
        raise InvalidArgumentError(f"{name} values must be finite numbers (G), got {value!r}.")
    return float(value)


def _magnetogram_data(source, i):
    """A copy of one magnetogram's values as float32 G."""
    if isinstance(source, np.ndarray):
        data = source
    elif isinstance(source, sunpy.map.GenericMap):
        data = _map_in_gauss(source, f"magnetogram {i}")
    elif str(source).lower().endswith(".npy"):
        data = np.load(source)
    else:
        try:
            smap = sunpy.map.Map(source)
        except Exception as err:
            raise InputMapError(
                f"{source} cannot be read as a sunpy map ({err}). For a file without a WCS, pass its "
                "values as an array in G instead, e.g. astropy.io.fits.getdata(path)."
            ) from err
        if not isinstance(smap, sunpy.map.GenericMap):
            raise InputMapError(f"{source} holds {len(smap)} maps; expected one magnetogram per file.")
        data = _map_in_gauss(smap, source)
    data = np.array(data, dtype=np.float32)  # a copy: the caller's array is never touched
    if data.ndim != 2:
        raise InputMapError(f"Magnetogram {i} must be a 2D array, got shape {data.shape}.")
    return data


def _map_in_gauss(smap, name):
    if smap.unit is None or not smap.unit.is_equivalent(u.G):
        raise InputMapError(f"{name} is in {smap.unit}; NoiseDataset needs magnetograms in G.")
    return smap.data * np.float32(smap.unit.to(u.G))
