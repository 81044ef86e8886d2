"""
Running trained networks with onnxruntime, on arrays and on maps.

Large images run in tiles placed on multiples of the network's stride. Each tile enters the
network with a margin of its neighbours' pixels (at least the network's receptive radius)
and only its own pixels are kept, so each pixel is computed once and, for a network without
image-wide normalisation, the tiled result equals the whole-image result. Only one batch of
tiles is in the network at a time, so memory is bounded by the tile size, not the image size.
"""

import functools
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty

import sunpy.map
from sunpy import log

from sunpy_dlmag import checks, geometry
from sunpy_dlmag._progress import progress_bar
from sunpy_dlmag.exceptions import (
    DeviceNotAvailableError,
    DlmagUserWarning,
    InputMapError,
    InvalidArgumentError,
    ModelInputMismatchError,
    ModelOutputError,
    TilingError,
)
from sunpy_dlmag.maps import provenance_meta
from sunpy_dlmag.models.cpu_graph import cpu_graph
from sunpy_dlmag.models.onnx_utils import ort
from sunpy_dlmag.models.precision import PRECISIONS, derived_graph, resolve_precision

__all__ = [
    "DEFAULT_TILE_PIXELS",
    "DEVICES",
    "PRECISIONS",
    "Model",
    "available_devices",
    "resolve_device",
    "resolve_precision",
]

# Largest network input (a tile and its margins), pixels: images up to it run whole, larger
# ones in the grid of tiles of at most this that computes the fewest pixels. Per-pixel speed
# is flat from 512 to 2048 px (measured, denoise-m2 on 2 cores) but memory is not (0.4-0.53
# kB a pixel in onnxruntime's arena, which grows in powers of two): this keeps denoise-m2's
# network near 1 GB and a 4096-px disk near 1.6 GB in all (3x4 tiles; 3x3 of 1600 px
# would compute 7% fewer pixels but take 2.1 GB).
DEFAULT_TILE_PIXELS = 1456 * 1456
#: The devices a caller may ask for: the best available, the CPU, or an NVIDIA GPU.
DEVICES = ("auto", "cpu", "cuda")
# One tile per network call: on the CPU batching gains nothing, and memory grows with it.
DEFAULT_BATCH_SIZE = 1


def available_devices():
    """Devices onnxruntime can use here: always ``"cpu"``, plus ``"cuda"`` with the CUDA provider."""
    providers = ort().get_available_providers()
    return ["cpu", *(["cuda"] if "CUDAExecutionProvider" in providers else [])]


def resolve_device(device):
    """
    ``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; checks explicit choices.

    Raises
    ------
    DeviceNotAvailableError
        ``"cuda"`` asked for on a machine without the onnxruntime CUDA provider.
    """
    if device not in DEVICES:
        raise InvalidArgumentError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}.")
    devices = available_devices()
    if device == "auto":
        return "cuda" if "cuda" in devices else "cpu"
    if device not in devices:
        raise DeviceNotAvailableError(
            f"device={device!r} was requested but onnxruntime offers only {devices} here "
            f"(providers: {ort().get_available_providers()}). Install onnxruntime-gpu with a matching CUDA, "
            "or use device='cpu'."
        )
    return device


_PROVIDERS = {"cpu": ("CPUExecutionProvider",), "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider")}


@functools.lru_cache(maxsize=8)
def _session(path, sha256, device, num_threads, rewrite=True):
    """
    One onnxruntime session per (file, content, device, threads); sha256 keys out stale files.
    ``rewrite``: on the CPU, run `~sunpy_dlmag.models.cpu_graph.cpu_graph` of the file.
    """
    onnxruntime = ort()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads:
        options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = 1
    # A memory pattern keeps a planned block per input shape besides the arena: 0.44 GB more for
    # denoise-m2 on 1296-px tiles, for no speed measured.
    options.enable_mem_pattern = False
    log.debug(f"Creating onnxruntime session for {path} on {device}")
    source = path
    if device == "cpu" and rewrite:
        # Transposed convolutions over their phases, narrow ones on blocks: the same result, faster.
        source = cpu_graph(path) or path
    return onnxruntime.InferenceSession(source, sess_options=options, providers=list(_PROVIDERS[device]))


class Model:
    """
    A trained network and its `~sunpy_dlmag.models.ModelSpec`, ready to run.

    Get one with `~sunpy_dlmag.models.load_model`; the weights are already verified.

    Parameters
    ----------
    spec : `~sunpy_dlmag.models.ModelSpec`
    path : `pathlib.Path`
        The ONNX file.
    sha256 : str
        Its verified sha256.
    device : {"auto", "cpu", "cuda"}
    num_threads : int, optional
    precision : {"fp32", "int8", "fp16"}
        See `~sunpy_dlmag.models.load_model`.
    """

    def __init__(self, spec, path, *, sha256, device="auto", num_threads=None, precision="fp32"):
        self.spec = spec
        self.path = path
        self.sha256 = sha256
        self.device = resolve_device(device)
        self.num_threads = num_threads
        self.precision = resolve_precision(precision, self.device)
        if self.precision == "fp32":
            self._graph, self._graph_sha256 = path, sha256
        else:
            self._graph, self._graph_sha256 = derived_graph(path, sha256, spec, self.precision)
        self._input_name, self._output_name = self._check_graph()

    def __repr__(self):
        return (
            f"<Model {self.spec.name} v{self.spec.version} on {self.device} ({self.precision}), "
            f"sha256 {self.sha256[:12]}…>"
        )

    @property
    def session(self):
        return _session(str(self._graph), self._graph_sha256, self.device, self.num_threads)

    def _check_graph(self):
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        where = f"The ONNX graph {Path(self._graph).name} (model {self.spec.name!r})"
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelInputMismatchError(
                f"{where} has {len(inputs)} inputs and {len(outputs)} outputs; expected one image in, one out."
            )
        shape = inputs[0].shape
        if len(shape) != 4:
            raise ModelInputMismatchError(f"{where} takes a rank-{len(shape)} input {shape}; expected (N, C, H, W).")
        # Graphs exported with a fixed batch of one tile run one tile per call.
        self._fixed_batch = shape[0] if isinstance(shape[0], int) else None
        if self._fixed_batch not in (None, 1):
            raise ModelInputMismatchError(
                f"{where} takes batches of exactly {shape[0]} tiles; export it with a dynamic batch axis "
                "(dynamic_axes={'input': {0: 'batch'}}) or a batch of 1."
            )
        if isinstance(shape[1], int) and shape[1] != self.spec.n_inputs:
            raise ModelInputMismatchError(
                f"{where} takes {shape[1]} input channels, but its spec lists {self.spec.n_inputs}: "
                f"{[c.label for c in self.spec.inputs]}."
            )
        if inputs[0].type != "tensor(float)":
            raise ModelInputMismatchError(f"{where} takes {inputs[0].type}; expected tensor(float) (float32).")
        out_shape = outputs[0].shape
        if len(out_shape) != 4 or (isinstance(out_shape[1], int) and out_shape[1] != 1):
            raise ModelInputMismatchError(f"{where} returns shape {out_shape}; expected (N, 1, H, W).")
        return inputs[0].name, outputs[0].name

    # ---------------------------------------------------------------- arrays
    def run(self, batch):
        """Run the raw network on a normalised ``(N, C, H, W)`` float32 batch."""
        return self.session.run([self._output_name], {self._input_name: np.ascontiguousarray(batch)})[0]

    def predict(self, data, *, tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE, progress=True):
        """
        Run the network on physical values, in tiles where needed.

        Parameters
        ----------
        data : `numpy.ndarray`, `~sunpy.map.GenericMap`, or sequence/mapping of maps
            An array ``(H, W)`` (one channel) or ``(C, H, W)`` of physical values in the
            units of the spec's inputs, or one map per input channel. Maps are brought to
            the model's geometry and the result is put back on the first map's grid. Maps
            for a farside model get the preparation of
            `~sunpy_dlmag.farside.farside_magnetogram` (its checks, bias subtraction,
            exposure normalisation and the packaged EUVI -> AIA cross-calibration, raising
            `~sunpy_dlmag.exceptions.CalibrationNotAvailableError` where there is none; its
            ``euv`` forms, e.g. a mapping by wavelength, are taken too): use that function to
            give your own calibrations or references. Arrays are taken as prepared values.
        tile_size : int, optional
            Largest tile width and height in pixels, margins included (the image is cut into
            nearly equal tiles of at most this size, on the network's stride grid). Default:
            the whole image up to ``DEFAULT_TILE_PIXELS`` (about 2.1 million pixels); beyond,
            the grid of tiles of at most that many pixels that computes the fewest pixels
            (``tile_grid``). Larger than twice the margin (``overlap``), so that a tile keeps
            pixels of its own.
        overlap : int, optional
            Margin read beyond each side of a tile and cropped from its output, pixels
            (neighbouring tiles' inputs overlap by twice this). Default and minimum: the
            network's receptive radius, so tiles give the whole-image result.
        batch_size : int
            Tiles per network call.
        progress : bool
            A progress bar over the tiles when there are several (on a terminal only).

        Returns
        -------
        `numpy.ndarray` or `~sunpy.map.GenericMap`
            Physical values in the spec's output unit; a new map when maps were given.
            Pixels that are NaN in any input channel are NaN in the output.
        """
        if isinstance(data, sunpy.map.GenericMap | Mapping) or (
            isinstance(data, Sequence) and data and isinstance(data[0], sunpy.map.GenericMap)
        ):
            kwargs = dict(tile_size=tile_size, overlap=overlap, batch_size=batch_size, progress=progress)
            return self._predict_maps(data, **kwargs)
        return self.predict_array(data, tile_size=tile_size, overlap=overlap, batch_size=batch_size, progress=progress)

    def predict_array(
        self,
        data,
        *,
        tile_size=None,
        overlap=None,
        batch_size=DEFAULT_BATCH_SIZE,
        progress=True,
        sign_symmetric=False,
    ):
        """
        `predict` for arrays: ``(H, W)`` or ``(C, H, W)`` physical values in, ``(H, W)`` out.

        ``sign_symmetric``: also run the network on the negated input and return
        ``(f(x) - f(-x)) / 2``, the part of its output that changes sign with the input (twice
        the time). For a signed field, such as a line-of-sight magnetogram, whose sign is a
        convention: whatever the network adds regardless of the sign (a learned offset, as at
        the limb) cancels.
        """
        return self._predict_array(
            data, tile_size, overlap, batch_size, progress, owned=False, sign_symmetric=sign_symmetric
        )

    def _predict_array(self, data, tile_size, overlap, batch_size, progress, *, owned, sign_symmetric=False):
        """`predict_array`; ``owned``: ``data`` is a float32 array of the caller's that may be overwritten."""
        x = np.asarray(data)
        if sign_symmetric and np.issubdtype(x.dtype, np.number):
            # The negated pass first, while ``data`` is still intact.
            negated = np.negative(x, dtype=np.float32)
            opposite = self._predict_array(negated, tile_size, overlap, batch_size, progress, owned=True)
            del negated
            out = self._predict_array(x, tile_size, overlap, batch_size, progress, owned=owned)
            out -= opposite
            out *= 0.5
            return out
        if x.ndim == 2:
            x = x[np.newaxis]
        if x.ndim != 3 or x.shape[0] != self.spec.n_inputs:
            raise InputMapError(
                f"Model {self.spec.name!r} expects {self.spec.n_inputs} channel(s) "
                f"({', '.join(c.label for c in self.spec.inputs)}) as an array of shape (C, H, W)"
                f"{' or (H, W)' if self.spec.n_inputs == 1 else ''}; got shape {np.shape(data)}."
            )
        if not np.issubdtype(x.dtype, np.number):
            raise InputMapError(f"Expected numeric data, got dtype {x.dtype}.")
        nan = np.isnan(x).any(axis=0)
        if nan.all():
            raise InputMapError(f"All pixels of the input are NaN; nothing for {self.spec.name!r} to run on.")
        # Normalised in place where the caller allows: one image-sized array fewer beside the network.
        normed = x if owned and x.dtype == np.float32 else np.empty(x.shape, dtype=np.float32)
        for c, channel in enumerate(self.spec.inputs):
            norm = channel.normalization
            normed[c] = norm.forward(x[c])
            # Off-disk (NaN) pixels enter the network as what 0 in physical units becomes.
            normed[c][nan] = norm.forward(0.0)
        tile, margin, max_pixels = self._tiling(normed.shape[1:], tile_size, overlap)
        batch_size = 1 if self._fixed_batch == 1 else checks.check_int(batch_size, "batch_size", minimum=1)
        out = tiled_inference(
            self.run,
            normed,
            tile=tile,
            margin=margin,
            stride=self.spec.geometry.stride,
            batch_size=batch_size,
            progress=progress,
            max_pixels=max_pixels,
        )
        del normed, x
        out = self.spec.output.normalization.inverse(out)
        broken = ~np.isfinite(out) & ~nan
        if broken.any():
            raise ModelOutputError(
                f"Model {self.spec.name!r} ({self.path.name}) returned {int(broken.sum())} NaN or infinite value(s) "
                f"for finite input ({broken.mean():.1%} of the pixels); its weights are broken or untrained."
            )
        out[nan] = np.nan
        return out

    def _tiling(self, shape, tile_size, overlap):
        """(tile, margin, max_pixels) for an image of ``shape``, checking what the caller gave."""
        g = self.spec.geometry
        largest = max(shape)
        tile_size = checks.check_int(tile_size, "tile_size", allow_none=True)
        overlap = checks.check_int(overlap, "overlap", allow_none=True)
        for name, value in (("tile_size", tile_size), ("overlap", overlap)):
            if value is not None and value < 0:
                raise TilingError(f"{name} must not be negative; got {value}.")
        margin = default_margin(g) if overlap is None else int(overlap)
        if g.tile_safe and margin < g.receptive_radius:
            raise TilingError(
                f"overlap={overlap} is smaller than the receptive radius of {self.spec.name} "
                f"({g.receptive_radius} px): tiles would differ from the whole image at their seams; "
                f"use overlap >= {g.receptive_radius} or None."
            )
        if tile_size is None:
            if not g.tile_safe:
                return largest, margin, None
            # No limit per side: the pixel budget alone bounds the tiles.
            return largest, margin, max(default_tile_pixels(g), (2 * margin + 2 * g.stride) ** 2)
        if not g.tile_safe and tile_size < largest:
            warnings.warn(
                f"{self.spec.name} normalises over the whole image, so tiles of {tile_size} px give a "
                "different result from the whole image; leave tile_size=None to run it whole.",
                DlmagUserWarning,
                stacklevel=5,
            )
        smallest = 2 * (-(-margin // g.stride) * g.stride) + g.stride
        if tile_size < largest and tile_size < smallest:
            raise TilingError(
                f"tile_size={tile_size} is too small for {self.spec.name}: a tile holds its margins of "
                f"{margin} px (the receptive radius, on the stride grid of {g.stride} px) on both sides, "
                f"so it needs at least {smallest} px, and a few times that to compute each pixel about once."
            )
        return int(tile_size), margin, int(tile_size) ** 2

    # ---------------------------------------------------------------- maps
    def translate(
        self,
        channels,
        template,
        *,
        note="",
        tile_size=None,
        overlap=None,
        batch_size=DEFAULT_BATCH_SIZE,
        progress=True,
        sign_symmetric=False,
        ensemble=None,
    ):
        """
        Map(s) in, map out: the one path from input channels to an output map.

        The channels go into the model frame of ``template`` (`~sunpy_dlmag.geometry.ModelFrame`),
        through the network (in tiles where needed), and back onto ``template``'s grid, NaN
        where there was no input and beyond the solar limb.

        Parameters
        ----------
        channels : sequence, mapping or `numpy.ndarray`
            One entry per input channel of the spec, in its order: maps (resampled into the
            frame), ``(values, wcs)`` pairs, or 2D arrays on ``template``'s grid; or a
            ``(C, H, W)`` array already on the frame (`~sunpy_dlmag.geometry.ModelFrame.stack`).
            Physical values in the units of the spec's inputs.
        template : `~sunpy.map.GenericMap` or `~sunpy_dlmag.geometry.ModelFrame`
            The map whose observer, time and grid the output takes (or its frame).
        note : str
            Added to the output's history (what the input was).
        tile_size, overlap, batch_size, progress
            As in `predict`.
        sign_symmetric : bool
            As in `predict_array`.
        ensemble : callable, optional
            Instead of one pass of the network, ``ensemble(stack)`` on the ``(C, H, W)`` stack
            of physical values on the frame returns ``(values, spread)`` on the frame (e.g. the
            mean and spread of several passes, ``sunpy_dlmag.denoise.symmetry_ensemble``; it
            runs the network itself, so ``tile_size``, ``overlap``, ``batch_size``,
            ``progress`` and ``sign_symmetric`` are then its own). The map holds ``values``;
            ``spread`` becomes its ``uncertainty`` (`~astropy.nddata.StdDevUncertainty` in the
            output unit, NaN where the map is).

        Returns
        -------
        `~sunpy.map.GenericMap`
            A new map in the spec's output unit, with this model's provenance.
        """
        frame = (
            template if isinstance(template, geometry.ModelFrame) else geometry.ModelFrame(template, self.spec.geometry)
        )
        owned = not (isinstance(channels, np.ndarray) and channels.ndim == 3)
        if not owned:
            stack = channels
            if stack.shape[1:] != frame.shape:
                raise InputMapError(f"A stack of shape {stack.shape} does not lie on the frame {frame.shape}.")
        else:
            channels = list(channels.values()) if isinstance(channels, Mapping) else list(channels)
            if len(channels) != self.spec.n_inputs:
                raise InputMapError(
                    f"Model {self.spec.name!r} takes {self.spec.n_inputs} input channel(s) "
                    f"({', '.join(c.label for c in self.spec.inputs)}); got {len(channels)}."
                )
            stack = frame.stack(channels)
        # The limb mask's temporaries are freed before the network's memory arena grows.
        frame.off_disk  # noqa: B018
        if ensemble is not None:
            out, spread = ensemble(stack)
            del stack
            result = self.output_map(frame.to_template(out), frame.template, note=note)
            sigma = frame.to_template(spread)
            sigma[~np.isfinite(result.data)] = np.nan
            result.uncertainty = StdDevUncertainty(sigma, unit=u.Unit(self.spec.output.unit))
            return result
        # A stack made here is normalised in its place: one image-sized array fewer.
        out = self._predict_array(
            stack, tile_size, overlap, batch_size, progress, owned=owned, sign_symmetric=sign_symmetric
        )
        del stack
        return self.output_map(frame.to_template(out), frame.template, note=note)

    def _predict_maps(self, maps, **kwargs):
        prepare = _MAP_PATHS.get(self.spec.task)
        if prepare is not None:
            # E.g. EUV images need their bias, exposure and cross-calibration: the task's own path.
            return prepare(self, maps, **kwargs)
        maps = self._maps_per_channel(maps)
        if self.spec.geometry.native:
            shapes = {m.data.shape for m in maps}
            if len(shapes) > 1:
                raise InputMapError(f"Maps for a model on the native grid must share one shape; got {sorted(shapes)}.")
        return self.translate(maps, maps[0], **kwargs)

    def _maps_per_channel(self, maps):
        if isinstance(maps, sunpy.map.GenericMap):
            maps = [maps]
        elif isinstance(maps, Mapping):
            maps = list(maps.values())
        maps = list(maps)
        if len(maps) != self.spec.n_inputs:
            raise InputMapError(
                f"Model {self.spec.name!r} takes {self.spec.n_inputs} input map(s) "
                f"({', '.join(c.label for c in self.spec.inputs)}); got {len(maps)}."
            )
        for m in maps:
            if not isinstance(m, sunpy.map.GenericMap):
                raise InputMapError(f"Expected sunpy maps, got {type(m).__name__}.")
        return maps

    def output_map(self, data, template, *, note=""):
        """
        A new map of ``data`` on ``template``'s grid, observer and time, saying what made it.

        The header keeps the WCS and observer keys of ``template``; the instrument keys
        name this package and the model, so the map is never mistaken for an observation.
        ``note`` is added to its history.
        """
        meta = provenance_meta(template, self, note=note)
        # Plot settings come with the product's map class (`~sunpy_dlmag.maps.DlmagMap`).
        return sunpy.map.Map(np.asarray(data, dtype=np.float32), meta)


# Task -> function(model, maps, **predict_kwargs) that `Model.predict` uses for maps of that task's
# models; the capability module registers it (register_map_path), as sunpy map sources register.
_MAP_PATHS = {}


def register_map_path(task, function):
    """Make ``Model.predict(maps)`` for models of ``task`` call ``function(model, maps, **kwargs)``."""
    _MAP_PATHS[task] = function


def default_tile_pixels(geometry):
    """
    The largest network input (a tile and its margins), pixels, for images too large to run
    whole: ``DEFAULT_TILE_PIXELS``, and at least four margins a side.
    """
    return int(max(DEFAULT_TILE_PIXELS, (4 * default_margin(geometry)) ** 2))


def default_margin(geometry):
    """The margin read beyond each side of a tile: the receptive radius on the stride grid."""
    return int(-(-geometry.receptive_radius // geometry.stride) * geometry.stride)


def tiled_inference(
    run, image, *, tile, margin, stride=1, batch_size=DEFAULT_BATCH_SIZE, progress=True, max_pixels=None
):
    """
    Run ``run`` over ``image`` in tiles whose margins are cropped, each pixel computed once.

    The image is cut into a grid of tiles on multiples of ``stride``. Each tile goes into
    the network with ``margin`` pixels of its neighbours around it (none beyond the image's
    edges), and only its own pixels are kept. For a network that sees no further than
    ``margin`` and has no image-wide normalisation, the result equals the whole-image result.
    Of the grids whose network inputs fit ``tile`` and ``max_pixels`` (`tile_grid`), the one
    that computes the fewest pixels is used: along an axis of ``n`` tiles the work is the
    length plus ``2 margin (n - 1)``.

    Parameters
    ----------
    run : callable
        Takes a float32 ``(N, C, h, w)`` batch, returns ``(N, 1, h, w)``.
    image : `numpy.ndarray`
        ``(C, H, W)`` float32 without NaN.
    tile : int
        Largest network input per side (a tile and its margins), pixels; more than
        ``2 * margin``.
    margin : int
        Context read beyond each side of a tile, pixels; rounded up to a multiple of ``stride``.
    stride : int
        The network's total downsampling; tiles and their margins start on multiples of it,
        and the image is padded (by reflection) to a multiple of it.
    batch_size : int
        Tiles of one shape per network call.
    progress : bool
        A progress bar over the tiles (on a terminal only).
    max_pixels : int, optional
        Largest network input in pixels (height times width; default ``tile**2``).

    Returns
    -------
    `numpy.ndarray`
        ``(H, W)`` float32.
    """
    height, width = image.shape[1:]
    padded_h, padded_w = (-(-s // stride) * stride for s in (height, width))
    if (padded_h, padded_w) != (height, width):
        image = np.pad(image, ((0, 0), (0, padded_h - height), (0, padded_w - width)), mode="symmetric")
    if tile >= max(height, width) and height * width <= (max_pixels or tile * tile):
        # An image that fits runs whole, with the few pixels that pad it to the stride grid.
        tile = max(padded_h, padded_w)
        max_pixels = max(max_pixels or 0, padded_h * padded_w)
    margin = -(-margin // stride) * stride
    if tile // stride * stride <= 2 * margin and max(padded_h, padded_w) > tile:
        raise TilingError(f"Tiles of {tile} px leave no pixels inside margins of {margin} px on both sides.")
    rows, cols = tile_grid(
        (padded_h, padded_w), tile=tile, margin=margin, stride=stride, max_pixels=max_pixels or tile * tile
    )
    windows = [(r, c) for r in rows for c in cols]
    # Tiles with windows of one shape can share a network call.
    groups = {}
    for r, c in windows:
        groups.setdefault((r[3] - r[2], c[3] - c[2]), []).append((r, c))
    out = np.empty((padded_h, padded_w), dtype=np.float32)
    with progress_bar(total=len(windows), desc="tiles", progress=progress and len(windows) > 1, unit="tile") as bar:
        for group in groups.values():
            for first in range(0, len(group), batch_size):
                chunk = group[first : first + batch_size]
                batch = np.stack([image[:, r[2] : r[3], c[2] : c[3]] for r, c in chunk])
                shape = batch.shape
                result = run(batch)
                del batch
                if result.shape[0] != len(chunk) or result.shape[2:] != shape[2:]:
                    raise ModelInputMismatchError(
                        f"The network turned tiles of shape {shape} into {result.shape}; "
                        "expected one output channel of the same height and width."
                    )
                for k, (r, c) in enumerate(chunk):
                    out[r[0] : r[1], c[0] : c[1]] = result[k, 0, r[0] - r[2] : r[1] - r[2], c[0] - c[2] : c[1] - c[2]]
                del result
                bar.update(len(chunk))
    return out[:height, :width]


def tile_grid(shape, *, tile, margin, stride, max_pixels):
    """
    The tiles along each axis (`_axis_tiles`) of the grid that computes the fewest pixels.

    Of the grids whose network inputs (tile and margins) are at most ``tile`` per side and
    ``max_pixels`` in area, the one whose inputs add up to the fewest pixels (then the one
    with fewer tiles): e.g. 3x4 tiles of up to 1600x1296 px on a 4096-px image rather than
    4x4 of 1296 px with the default budget.

    Returns
    -------
    rows, cols : list of tuple
        ``(start, stop, window start, window stop)`` of each tile along each axis.
    """
    options = [_axis_options(length, tile, margin, stride) for length in shape]
    best = None
    for rows in options[0]:
        for cols in options[1]:
            high, wide = (max(w1 - w0 for _, _, w0, w1 in t) for t in (rows, cols))
            if high * wide > max_pixels and best is not None:
                continue
            work = sum(w1 - w0 for _, _, w0, w1 in rows) * sum(w1 - w0 for _, _, w0, w1 in cols)
            # The first grid stands until one fits (the finest fits when any does).
            key = (high * wide > max_pixels, work, len(rows) * len(cols))
            if best is None or key < best[0]:
                best = (key, rows, cols)
    return best[1], best[2]


def _axis_options(length, tile, margin, stride):
    """The ways to tile one axis, from the fewest tiles (within ``tile``) to tiles of a few margins."""
    first = _axis_tiles(length, tile, margin, stride)
    options = [first]
    smallest = 2 * margin + 2 * stride
    for n in range(len(first) + 1, len(first) + 64):
        tiles = _axis_split(length, n, margin, stride)
        if len(tiles) < n or max(w1 - w0 for _, _, w0, w1 in tiles) < smallest:
            break
        options.append(tiles)
    return options


def _axis_tiles(length, tile, margin, stride):
    """
    (start, stop, window start, window stop) of each tile along one axis.

    As few tiles as keep each window (tile plus its margins) within ``tile``, with windows
    of nearly equal size; edge tiles have a margin on one side only, so they hold more.
    """
    tile = max(stride, tile // stride * stride)
    if length <= tile:
        return [(0, length, 0, length)]
    edge, inner = tile - margin, tile - 2 * margin
    return _axis_split(length, 2 + max(0, -(-(length - 2 * edge) // inner)), margin, stride)


def _axis_split(length, n, margin, stride):
    """``n`` tiles along an axis of ``length`` (fewer if the last would be empty), windows nearly equal."""
    if n <= 1:
        return [(0, length, 0, length)]
    window = -(-(length + 2 * margin * (n - 1)) // (n * stride)) * stride
    tiles, start = [], 0
    for i in range(n):
        stop = length if i == n - 1 else min(length, start + window - margin * (1 if i == 0 else 2))
        tiles.append((start, stop, max(0, start - margin), min(length, stop + margin)))
        start = stop
        if start >= length:
            break
    return tiles
