"""
Graphs in other precisions than float32: int8 for the CPU, fp16 for CUDA, built on first use
into a cache (`derived_graph`), and the data the int8 graph is calibrated on.

`quantize_graph` rewrites the graph for int8 (`~sunpy_dlmag.models.cpu_graph.int8_rewrites`:
transposed convolutions into phases, narrow convolutions on blocks), then quantizes it
statically (QDQ, int8 weights per channel, uint8 activations), with activation ranges
calibrated on real data (`calibration_batches`), leaving the first and last layers in
float32 so that the full field range enters and leaves the network at full precision, and
as many of the layers after the first as it takes for the output on the calibration data to
stay close to float32's (``MIN_CC``).
"""

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

import sunpy.map
from sunpy.util.config import get_and_create_download_dir

from sunpy_dlmag.data.sample import AIA_171, MDI_MAGNETOGRAM
from sunpy_dlmag.exceptions import DeviceNotAvailableError, InvalidArgumentError, InvalidModelSpecError
from sunpy_dlmag.models.cpu_graph import int8_rewrites
from sunpy_dlmag.models.onnx_utils import onnx, ort, sha256sum

__all__ = [
    "MIN_CC",
    "PRECISIONS",
    "cache_dir",
    "calibration_batches",
    "derived_graph",
    "quantize_graph",
    "resolve_precision",
]

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
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "int8" and device != "cpu":
        raise DeviceNotAvailableError("precision='int8' runs on the CPU only; use device='cpu' or precision='fp32'.")
    if precision == "fp16" and device != "cuda":
        raise DeviceNotAvailableError("precision='fp16' needs CUDA (onnxruntime-gpu); use precision='fp32' on the CPU.")
    return precision


# The int8 graph's output must correlate at least this well with float32's on the calibration
# patches: a little above 0.99, as other data correlate about 0.001 less (aisfm-v2-sized, 1024 px).
MIN_CC = 0.992


def quantize_graph(model, batches, *, keep_float=None, min_cc=MIN_CC):
    """
    The ONNX ``model`` quantized statically to int8 (QDQ), calibrated on ``batches``.

    Parameters
    ----------
    model : `onnx.ModelProto`
    batches : list of `numpy.ndarray`
        Normalised ``(N, C, H, W)`` float32 inputs whose activation ranges set the scales.
    keep_float : list of str, optional
        Names of nodes to leave in float32. Default: those that read the network's input and
        those that make its output (and the node before them), then as many leading layers
        (each convolution with the nodes up to the next one, at most half of them) as it takes
        for the output on ``batches`` to correlate at least ``min_cc`` with float32's.
    min_cc : float
        The correlation the default ``keep_float`` aims for.

    Returns
    -------
    `onnx.ModelProto`
    """
    model = int8_rewrites(model)
    if keep_float is not None:
        return _quantized(model, batches, list(keep_float))
    # Early layers see the input's full detail with few channels, and their rounding passes
    # through the whole network: where int8 strays, they are the ones to keep in float32.
    edges, blocks = _edge_nodes(model), _leading_blocks(model)
    reference = _outputs(model, batches)
    for count in range(len(blocks) // 2 + 1):
        quantized = _quantized(model, batches, edges + [n for block in blocks[:count] for n in block])
        if np.corrcoef(reference, _outputs(quantized, batches))[0, 1] >= min_cc:
            break
    return quantized


def _leading_blocks(model):
    """The graph's nodes cut before each ``Conv`` but the first, in graph order: names, one list per convolution."""
    blocks, convs = [[]], 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            convs += 1
            if convs > 1:
                blocks.append([])
        blocks[-1].append(node.name)
    return blocks


def _outputs(model, batches):
    """The first output of ``model`` on each batch, flattened into one array."""
    session = ort().InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate(
        [session.run(None, {name: np.ascontiguousarray(b, dtype=np.float32)})[0].ravel() for b in batches]
    )


def _quantized(model, batches, keep_float):
    """``model`` (already rewritten) quantized statically, the nodes in ``keep_float`` left in float32."""
    ort()  # its telemetry off before its quantization package is imported (on first use only)
    from onnxruntime.quantization import CalibrationDataReader, quantize_static

    name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._items = iter(batches)

        def get_next(self):
            batch = next(self._items, None)
            return None if batch is None else {name: np.ascontiguousarray(batch, dtype=np.float32)}

    root = logging.getLogger()
    level = root.level
    with tempfile.TemporaryDirectory(prefix="sunpy_dlmag_int8_") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(source))
        # onnxruntime's quantizer advises pre-processing through the root logger; the rewrites
        # above are the pre-processing these networks need.
        root.setLevel(max(level, logging.ERROR))
        try:
            _quantize(quantize_static, source, target, Reader(), keep_float)
        finally:
            root.setLevel(level)
        return _shapes_of_quantized(onnx.load(str(target)))


def _shapes_of_quantized(model):
    """
    ``model`` with each ``Shape`` that reads a dequantized tensor reading the quantized one
    (the same shape): onnxruntime would otherwise dequantize a copy for it alone (a 32-channel
    1024-px tensor before `block_graph`'s padding: 20 ms).
    """
    producer = {out: n for n in model.graph.node for out in n.output}
    for node in model.graph.node:
        source = producer.get(node.input[0]) if node.op_type == "Shape" else None
        if source is not None and source.op_type == "DequantizeLinear":
            node.input[0] = source.input[0]
    return model


def _quantize(quantize_static, source, target, reader, keep_float):
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    quantize_static(
        str(source),
        str(target),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=keep_float,
    )


def _edge_nodes(model):
    """
    Nodes that read the graph's input or make its output, and the nodes feeding the latter
    back to the last convolution (through the crops and interleaves of `block_graph` and
    `phase_graph`, and for a convolution on blocks its blocks and padding too).
    """
    graph = model.graph
    inputs = {i.name for i in graph.input}
    outputs = {o.name for o in graph.output}
    producer = {out: n for n in graph.node for out in n.output}
    edge = [n for n in graph.node if inputs & set(n.input) or outputs & set(n.output)]
    for last in [n for n in graph.node if outputs & set(n.output)]:
        for name in last.input:
            n, passes = producer.get(name), ("Conv", "DepthToSpace", "Slice")
            while n is not None and n.op_type in passes:
                edge.append(n)
                # Past the convolution only its blocks and their padding: a quantize-dequantize
                # pair before a float32 convolution only costs time.
                passes = {"Conv": ("SpaceToDepth",), "SpaceToDepth": ("Pad",), "Pad": ()}.get(n.op_type, passes)
                n = producer.get(n.input[0])
    return sorted({n.name for n in edge if n.name})


# Bump when the rewrite, the calibration or the quantization settings change: old files are then rebuilt.
_RECIPE = "phase-padded+blocks+qdq-u8s8-minmax-edges-float-leading-cc0.992/7"


def cache_dir():
    """Where derived graphs (int8, fp16) are kept: ``sunpy_dlmag_graphs`` in sunpy's download directory."""
    # sunpy's own downloads go there: it honours SUNPY_DOWNLOADDIR, its configuration does not.
    return Path(get_and_create_download_dir()).expanduser() / "sunpy_dlmag_graphs"


def derived_graph(path, sha256, spec, precision):
    """
    The ``precision`` variant of the verified graph at ``path``: its file and sha256.

    Built on first use into `cache_dir` and recorded there with its sha256 (and that of the
    float32 graph it came from); a later use checks the file against that record and
    rebuilds it if it was changed.
    """
    folder = cache_dir()
    stem = f"{spec.name}-{sha256[:16]}-{precision}"
    target, record = folder / f"{stem}.onnx", folder / f"{stem}.json"
    if target.is_file() and record.is_file():
        try:
            known = json.loads(record.read_text())
        except ValueError:
            known = {}
        same_source = known.get("recipe") == _RECIPE and known.get("source_sha256") == sha256
        if same_source and sha256sum(target) == known.get("sha256"):
            return target, known["sha256"]
    model = onnx.load(str(path))
    if precision == "int8":
        model = quantize_graph(model, calibration_batches(spec))
    elif precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(model, keep_io_types=True)
    else:
        raise InvalidArgumentError(f"No derived graph for precision {precision!r}.")
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    onnx.save(model, str(partial))
    digest = sha256sum(partial)
    os.replace(partial, target)
    record.write_text(
        json.dumps({"recipe": _RECIPE, "source_sha256": sha256, "sha256": digest, "precision": precision}, indent=2)
    )
    return target, digest


def calibration_batches(spec, *, size=256, count=8):
    """
    Normalised batches of real data for each input channel of ``spec``, from the samples that
    ship with the package: the SOHO/MDI magnetogram for magnetogram channels, the SDO/AIA
    171 Angstrom image (in DN/s) for EUV channels.

    Raises
    ------
    InvalidModelSpecError
        A channel that is neither (no shipped data to calibrate it on).
    """
    size = max(size, spec.geometry.stride)
    rng = np.random.default_rng(0)
    mdi = np.nan_to_num(sunpy.map.Map(MDI_MAGNETOGRAM).data).astype(np.float32)
    aia = sunpy.map.Map(AIA_171)
    euv = np.asarray(aia.data, dtype=np.float32) / float(aia.exposure_time.to_value("s") or 1.0)
    corners = rng.integers(0, mdi.shape[0] - size + 1, (count, 2))
    batches = []
    for k, (y, x) in enumerate(corners):
        channels = []
        for channel in spec.inputs:
            if channel.wavelength is None and channel.unit == "G":
                values = mdi[y : y + size, x : x + size]
            elif channel.wavelength is not None:
                reps = -(-size // min(euv.shape)) + 1
                values = np.rot90(np.tile(euv, (reps, reps)), k)[:size, :size]
            else:
                raise InvalidModelSpecError(
                    f"No shipped data to calibrate the int8 graph of {spec.name!r} on for its channel "
                    f"{channel.label!r}; int8 needs magnetogram (G) or EUV channels. Use precision='fp32'."
                )
            channels.append(channel.normalization.forward(values))
        batches.append(np.stack(channels)[np.newaxis])
    return batches
