"""
Running trained networks with onnxruntime, on arrays and on maps.

Large images run in tiles: overlapping tiles, placed on multiples of the network's stride,
are blended with weights that are zero within a margin of each tile's inner edges and
ramp up linearly beyond it. For a network that sees no further than that margin and has
no image-wide normalisation, every blended pixel is a weighted mean of identical values,
so the tiled result equals the whole-image result. Only one batch of tiles is in the
network at a time, so memory is bounded by the tile size, not the image size.
"""

import functools
import os
from collections.abc import Mapping, Sequence

import numpy as np

import sunpy.map
from sunpy import log

from sunpy_dlmag import geometry
from sunpy_dlmag.exceptions import (
    DeviceNotAvailableError,
    DlmagUserWarning,
    InputMapError,
    ModelInputMismatchError,
)

__all__ = ["DEFAULT_TILE_SIZE", "Model", "available_devices", "resolve_device"]

# onnxruntime reports telemetry unless told not to before it is imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEFAULT_TILE_SIZE = 512
# Images up to this size (per side) run whole when the caller does not ask for tiles.
WHOLE_IMAGE_LIMIT = 1024
DEFAULT_BATCH_SIZE = 4


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
    """

    def __init__(self, spec, path, *, sha256, device="auto", num_threads=None):
        self.spec = spec
        self.path = path
        self.sha256 = sha256
        self.device = resolve_device(device)
        self.num_threads = num_threads
        self._input_name, self._output_name = self._check_graph()

    def __repr__(self):
        return f"<Model {self.spec.name} v{self.spec.version} on {self.device}, sha256 {self.sha256[:12]}…>"

    @property
    def session(self):
        return _session(str(self.path), self.sha256, self.device, self.num_threads)

    def _check_graph(self):
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        where = f"The ONNX graph {self.path.name} (model {self.spec.name!r})"
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelInputMismatchError(
                f"{where} has {len(inputs)} inputs and {len(outputs)} outputs; expected one image in, one out."
            )
        shape = inputs[0].shape
        if len(shape) != 4:
            raise ModelInputMismatchError(f"{where} takes a rank-{len(shape)} input {shape}; expected (N, C, H, W).")
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

    def predict(self, data, *, tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE):
        """
        Run the network on physical values, in tiles where needed.

        Parameters
        ----------
        data : `numpy.ndarray`, `~sunpy.map.GenericMap`, or sequence/mapping of maps
            An array ``(H, W)`` (one channel) or ``(C, H, W)`` of physical values in the
            units of the spec's inputs, or one map per input channel. Maps are brought to
            the model's geometry and the result is put back on the first map's grid.
        tile_size : int, optional
            Tile width and height in pixels (rounded down to the network's stride).
            Default: the whole image up to 1024 px; beyond, tiles of four times the
            network's receptive radius, at least 512 px and at most 1024 px.
        overlap : int, optional
            Overlap of neighbouring tiles, pixels. Default: four times the network's
            receptive radius, at least 32 px and at most half a tile.
        batch_size : int
            Tiles per network call.

        Returns
        -------
        `numpy.ndarray` or `~sunpy.map.GenericMap`
            Physical values in the spec's output unit; a new map when maps were given.
            Pixels that are NaN in any input channel are NaN in the output.
        """
        if isinstance(data, sunpy.map.GenericMap | Mapping) or (
            isinstance(data, Sequence) and data and isinstance(data[0], sunpy.map.GenericMap)
        ):
            return self._predict_maps(data, tile_size=tile_size, overlap=overlap, batch_size=batch_size)
        return self.predict_array(data, tile_size=tile_size, overlap=overlap, batch_size=batch_size)

    def predict_array(self, data, *, tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE):
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
        tile, overlap = self._tiling(normed.shape[1:], tile_size, overlap)
        out = tiled_inference(
            self.run,
            normed,
            tile=tile,
            overlap=overlap,
            stride=self.spec.geometry.stride,
            batch_size=batch_size,
        )
        out = self.spec.output.normalization.inverse(out)
        out[nan] = np.nan
        return out

    def _tiling(self, shape, tile_size, overlap):
        g = self.spec.geometry
        largest = max(shape)
        if tile_size is None:
            tile_size = largest if largest <= WHOLE_IMAGE_LIMIT or not g.tile_safe else default_tile_size(g)
        elif not g.tile_safe and tile_size < largest:
            import warnings

            warnings.warn(
                f"{self.spec.name} normalises over the whole image, so tiles of {tile_size} px give a "
                "different result from the whole image; leave tile_size=None to run it whole.",
                DlmagUserWarning,
                stacklevel=4,
            )
        if overlap is None:
            overlap = min(max(4 * g.receptive_radius, 32), tile_size // 2)
        if tile_size < 1 or overlap < 0 or overlap >= tile_size:
            raise ValueError(f"Need tile_size >= 1 and 0 <= overlap < tile_size; got {tile_size} and {overlap}.")
        return tile_size, overlap

    # ---------------------------------------------------------------- maps
    def translate(self, channels, template, *, note="", tile_size=None, overlap=None, batch_size=DEFAULT_BATCH_SIZE):
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
        tile_size, overlap, batch_size
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
        out = self.predict_array(stack, tile_size=tile_size, overlap=overlap, batch_size=batch_size)
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
        return sunpy.map.Map(np.asarray(data, dtype=np.float32), meta, plot_settings=_plot_settings(self.spec))


def _plot_settings(spec):
    from sunpy_dlmag.maps import magnetogram_plot_settings

    if spec.output.unit == "G":
        return magnetogram_plot_settings()
    return {}


def default_tile_size(geometry):
    """
    The tile size for images too large to run whole: four receptive radii (on the stride grid),
    within ``DEFAULT_TILE_SIZE`` and ``WHOLE_IMAGE_LIMIT``.

    With the default overlap of half a tile, the overlap then spans two receptive radii, so
    the blended seams match the whole-image result; the work per output pixel is the same
    for any tile that overlaps by half.
    """
    four_radii = -(-4 * geometry.receptive_radius // geometry.stride) * geometry.stride
    return int(min(max(DEFAULT_TILE_SIZE, four_radii), WHOLE_IMAGE_LIMIT))


def tiled_inference(run, image, *, tile, overlap, stride=1, batch_size=DEFAULT_BATCH_SIZE):
    """
    Run ``run`` over ``image`` in overlapping, blended tiles.

    Parameters
    ----------
    run : callable
        Takes a float32 ``(N, C, h, w)`` batch, returns ``(N, 1, h, w)``.
    image : `numpy.ndarray`
        ``(C, H, W)`` float32 without NaN.
    tile, overlap : int
        Tile size and overlap in pixels; both are rounded to multiples of ``stride``.
    stride : int
        The network's total downsampling; tiles start on multiples of it and the image
        is padded (by reflection) to a multiple of it.
    batch_size : int

    Returns
    -------
    `numpy.ndarray`
        ``(H, W)`` float32.
    """
    height, width = image.shape[1:]
    padded_h, padded_w = (-(-s // stride) * stride for s in (height, width))
    if (padded_h, padded_w) != (height, width):
        image = np.pad(image, ((0, 0), (0, padded_h - height), (0, padded_w - width)), mode="symmetric")
    tile = max(stride, tile // stride * stride)
    overlap = -(-overlap // stride) * stride
    if overlap >= tile:
        overlap = max(0, tile - stride)
    starts_y, tile_h, weights_y = _axis_tiles(padded_h, tile, overlap)
    starts_x, tile_w, weights_x = _axis_tiles(padded_w, tile, overlap)

    out = np.zeros((padded_h, padded_w), dtype=np.float32)
    positions = [(i, j) for i in range(len(starts_y)) for j in range(len(starts_x))]
    for first in range(0, len(positions), batch_size):
        chunk = positions[first : first + batch_size]
        batch = np.stack(
            [image[:, starts_y[i] : starts_y[i] + tile_h, starts_x[j] : starts_x[j] + tile_w] for i, j in chunk]
        )
        result = run(batch)
        if result.shape[0] != len(chunk) or result.shape[2:] != (tile_h, tile_w):
            raise ModelInputMismatchError(
                f"The network turned tiles of shape {batch.shape} into {result.shape}; "
                "expected one output channel of the same height and width."
            )
        for k, (i, j) in enumerate(chunk):
            weight = weights_y[i][:, np.newaxis] * weights_x[j][np.newaxis, :]
            out[starts_y[i] : starts_y[i] + tile_h, starts_x[j] : starts_x[j] + tile_w] += result[k, 0] * weight
    # The blending weights factorise, so their sum does too.
    total_y = _weight_sum(padded_h, starts_y, weights_y)
    total_x = _weight_sum(padded_w, starts_x, weights_x)
    out /= total_y[:, np.newaxis] * total_x[np.newaxis, :]
    return out[:height, :width]


def _axis_tiles(length, tile, overlap):
    """Tile starts along one axis, the tile length, and each tile's 1D blending weights."""
    if length <= tile:
        return [0], length, [np.ones(length, dtype=np.float32)]
    step = tile - overlap
    starts = [*range(0, length - tile, step), length - tile]
    # Weights are zero within 3/8 of the overlap from an inner edge and ramp up over the middle quarter.
    margin = 3 * overlap // 8
    ramp = max(overlap - 2 * margin, 1)
    index = np.arange(tile, dtype=np.float32)
    weights = []
    for start in starts:
        # Distance to the nearest edge that is inside the image; image edges do not count.
        left = index if start > 0 else np.full(tile, np.inf, dtype=np.float32)
        right = (tile - 1 - index) if start + tile < length else np.full(tile, np.inf, dtype=np.float32)
        distance = np.minimum(left, right)
        weights.append(np.clip((distance - margin + 1) / ramp, 0.0, 1.0).astype(np.float32))
    return starts, tile, weights


def _weight_sum(length, starts, weights):
    total = np.zeros(length, dtype=np.float32)
    for start, w in zip(starts, weights, strict=True):
        total[start : start + w.size] += w
    return total
