"""
Running trained networks with onnxruntime, on arrays and on maps.

Large images run in tiles placed on multiples of the network's stride. Each tile enters the
network with a margin of its neighbours' pixels (at least the network's receptive radius)
and only its own pixels are kept, so each pixel is computed once and, for a network without
image-wide normalisation, the tiled result equals the whole-image result. Only one batch of
tiles is in the network at a time, so memory is bounded by the tile size, not the image size.
"""

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

import sunpy.map
from sunpy import log

from sunpy_dlmag import checks, geometry
from sunpy_dlmag._progress import progress_bar
from sunpy_dlmag.exceptions import (
    DeviceNotAvailableError,
    DlmagUserWarning,
    InputMapError,
    ModelInputMismatchError,
    ModelOutputError,
    TilingError,
)

__all__ = ["DEFAULT_TILE_SIZE", "PRECISIONS", "Model", "available_devices", "resolve_device", "resolve_precision"]

# onnxruntime reports telemetry unless told not to before it is imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# Largest network input per side: images up to it run whole, larger ones in tiles of at
# most this with their margins. Per-pixel speed is flat from 512 to 2048 px (measured,
# denoise-m2 on 2 cores) but memory is not (about 0.5 kB a pixel in onnxruntime's arena),
# so this keeps denoise-m2's network near 1 GB: 4x4 tiles on a 4096-px disk, doing 1.58x
# the pixel work (3x3 tiles of 1600 px would do 1.37x, with 0.5 GB more).
DEFAULT_TILE_SIZE = 1296
# One tile per network call: on the CPU batching gains nothing, and memory grows with it.
DEFAULT_BATCH_SIZE = 1


@functools.cache
def _ort():
    import onnxruntime

    if hasattr(onnxruntime, "disable_telemetry_events"):
        onnxruntime.disable_telemetry_events()
    return onnxruntime


def available_devices():
    """Devices onnxruntime can use here: always ``"cpu"``, plus ``"cuda"`` with the CUDA provider."""
    providers = _ort().get_available_providers()
    return ["cpu", *(["cuda"] if "CUDAExecutionProvider" in providers else [])]


def resolve_device(device):
    """
    ``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; checks explicit choices.

    Raises
    ------
    DeviceNotAvailableError
        ``"cuda"`` asked for on a machine without the onnxruntime CUDA provider.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}.")
    devices = available_devices()
    if device == "auto":
        return "cuda" if "cuda" in devices else "cpu"
    if device not in devices:
        raise DeviceNotAvailableError(
            f"device={device!r} was requested but onnxruntime offers only {devices} here "
            f"(providers: {_ort().get_available_providers()}). Install onnxruntime-gpu with a matching CUDA, "
            "or use device='cpu'."
        )
    return device


PRECISIONS = ("fp32", "int8", "fp16")


def resolve_precision(precision, device):
    """
    Check ``precision`` against ``device``: int8 runs on the CPU, fp16 on CUDA, fp32 anywhere.

    Raises
    ------
    DeviceNotAvailableError
        int8 asked for on CUDA, or fp16 on the CPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "int8" and device != "cpu":
        raise DeviceNotAvailableError("precision='int8' runs on the CPU only; use device='cpu' or precision='fp32'.")
    if precision == "fp16" and device != "cuda":
        raise DeviceNotAvailableError("precision='fp16' needs CUDA (onnxruntime-gpu); use precision='fp32' on the CPU.")
    return precision


_PROVIDERS = {"cpu": ("CPUExecutionProvider",), "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider")}


@functools.lru_cache(maxsize=8)
def _session(path, sha256, device, num_threads):
    """One onnxruntime session per (file, content, device, threads); sha256 keys out stale files."""
    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads:
        options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = 1
    log.debug(f"Creating onnxruntime session for {path} on {device}")
    return ort.InferenceSession(path, sess_options=options, providers=list(_PROVIDERS[device]))


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
            from sunpy_dlmag.models.quantize import derived_graph

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
            the model's geometry and the result is put back on the first map's grid.
        tile_size : int, optional
            Tile width and height in pixels (the image is cut into nearly equal tiles of at
            most this size, on the network's stride grid). Default: the whole image up to
            1296 px; beyond, tiles of at most 1296 px. Larger than twice the margin
            (``overlap``), so that a tile keeps pixels of its own.
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

    def predict_array(self, data, *, tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE, progress=True):
        """`predict` for arrays: ``(H, W)`` or ``(C, H, W)`` physical values in, ``(H, W)`` out."""
        x = np.asarray(data)
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
        normed = np.empty(x.shape, dtype=np.float32)
        for c, channel in enumerate(self.spec.inputs):
            norm = channel.normalization
            normed[c] = norm.forward(x[c])
            # Off-disk (NaN) pixels enter the network as what 0 in physical units becomes.
            normed[c][nan] = norm.forward(0.0)
        tile, margin = self._tiling(normed.shape[1:], tile_size, overlap)
        batch_size = 1 if self._fixed_batch == 1 else checks.check_int(batch_size, "batch_size", minimum=1)
        out = tiled_inference(
            self.run,
            normed,
            tile=tile,
            margin=margin,
            stride=self.spec.geometry.stride,
            batch_size=batch_size,
            progress=progress,
        )
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
        """(tile, margin) for an image of ``shape``, checking what the caller gave."""
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
            tile_size = largest if not g.tile_safe else max(default_tile_size(g), 2 * margin + 2 * g.stride)
        elif not g.tile_safe and tile_size < largest:
            import warnings

            warnings.warn(
                f"{self.spec.name} normalises over the whole image, so tiles of {tile_size} px give a "
                "different result from the whole image; leave tile_size=None to run it whole.",
                DlmagUserWarning,
                stacklevel=4,
            )
        smallest = 2 * (-(-margin // g.stride) * g.stride) + g.stride
        if tile_size < largest and tile_size < smallest:
            raise TilingError(
                f"tile_size={tile_size} is too small for {self.spec.name}: a tile holds its margins of "
                f"{margin} px (the receptive radius, on the stride grid of {g.stride} px) on both sides, "
                f"so it needs at least {smallest} px, and a few times that to compute each pixel about once."
            )
        return int(tile_size), margin

    # ---------------------------------------------------------------- maps
    def translate(
        self, channels, template, *, note="", tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE, progress=True
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

        Returns
        -------
        `~sunpy.map.GenericMap`
            A new map in the spec's output unit, with this model's provenance.
        """
        frame = (
            template if isinstance(template, geometry.ModelFrame) else geometry.ModelFrame(template, self.spec.geometry)
        )
        if isinstance(channels, np.ndarray) and channels.ndim == 3:
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
        out = self.predict_array(stack, tile_size=tile_size, overlap=overlap, batch_size=batch_size, progress=progress)
        return self.output_map(frame.to_template(out), frame.template, note=note)

    def _predict_maps(self, maps, **kwargs):
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
        from sunpy_dlmag.maps import provenance_meta

        meta = provenance_meta(template, self, note=note)
        # Plot settings come with the product's map class (`~sunpy_dlmag.maps.DlmagMap`).
        return sunpy.map.Map(np.asarray(data, dtype=np.float32), meta)


def default_tile_size(geometry):
    """
    The largest network input per side (a tile and its margins) for images too large to run
    whole: `DEFAULT_TILE_SIZE`, and at least four margins, on the network's stride grid.
    """
    stride = geometry.stride
    size = max(DEFAULT_TILE_SIZE, 4 * default_margin(geometry))
    return int(-(-size // stride) * stride)


def default_margin(geometry):
    """The margin read beyond each side of a tile: the receptive radius on the stride grid."""
    return int(-(-geometry.receptive_radius // geometry.stride) * geometry.stride)


def tiled_inference(run, image, *, tile, margin, stride=1, batch_size=DEFAULT_BATCH_SIZE, progress=True):
    """
    Run ``run`` over ``image`` in tiles whose margins are cropped, each pixel computed once.

    The image is cut into a grid of tiles on multiples of ``stride``. Each tile goes into
    the network with ``margin`` pixels of its neighbours around it (none beyond the image's
    edges), at most ``tile`` pixels per side in all, and only its own pixels are kept. For a
    network that sees no further than ``margin`` and has no image-wide normalisation, the
    result equals the whole-image result; the work is the pixel count times about
    ``(1 + 2 margin (n - 1) / length)`` per axis for ``n`` tiles along it.

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

    Returns
    -------
    `numpy.ndarray`
        ``(H, W)`` float32.
    """
    height, width = image.shape[1:]
    padded_h, padded_w = (-(-s // stride) * stride for s in (height, width))
    if (padded_h, padded_w) != (height, width):
        image = np.pad(image, ((0, 0), (0, padded_h - height), (0, padded_w - width)), mode="symmetric")
    margin = -(-margin // stride) * stride
    if tile // stride * stride <= 2 * margin and max(padded_h, padded_w) > tile:
        raise TilingError(f"Tiles of {tile} px leave no pixels inside margins of {margin} px on both sides.")
    rows = _axis_tiles(padded_h, tile, margin, stride)
    cols = _axis_tiles(padded_w, tile, margin, stride)
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
                result = run(batch)
                if result.shape[0] != len(chunk) or result.shape[2:] != batch.shape[2:]:
                    raise ModelInputMismatchError(
                        f"The network turned tiles of shape {batch.shape} into {result.shape}; "
                        "expected one output channel of the same height and width."
                    )
                for k, (r, c) in enumerate(chunk):
                    out[r[0] : r[1], c[0] : c[1]] = result[k, 0, r[0] - r[2] : r[1] - r[2], c[0] - c[2] : c[1] - c[2]]
                bar.update(len(chunk))
    return out[:height, :width]


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
    n = 2 + max(0, -(-(length - 2 * edge) // inner))
    window = -(-(length + 2 * margin * (n - 1)) // (n * stride)) * stride
    tiles, start = [], 0
    for i in range(n):
        stop = length if i == n - 1 else min(length, start + window - margin * (1 if i == 0 else 2))
        tiles.append((start, stop, max(0, start - margin), min(length, stop + margin)))
        start = stop
        if start >= length:
            break
    return tiles
