"""
Where the int8 error of ``denoise-m2`` comes from, and where its time goes.

    python tools/quant_bounds.py [--json bounds.json]

On the shipped 1024-px MDI disk, against the float32 graph that runs by default (RMS over the
disk, in G):
- the int8 graph of ``precision="int8"``, and the RMS of its difference averaged over 9x9 px
  (how much of the error is pixel-scale);
- the same with the weights back in float32 (only the activations rounded);
- every activation rounded with its own range per channel instead of one per tensor: the
  most that rescaling channels between layers (cross-layer equalisation) could give;
- onnxruntime's own time per operator type, float32 and int8, two threads.

The per-channel graphs only simulate (onnxruntime has no int8 kernel for them).
"""

import argparse
import collections
import json
import os
import tempfile
from pathlib import Path

os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from scipy import ndimage

import sunpy.map

from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.models import load_model
from sunpy_dlmag.models.cpu_graph import cpu_graph, int8_rewrites
from sunpy_dlmag.models.precision import calibration_batches, quantize_graph


def session(model, optimize=True, profile=None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    if not optimize:  # keep every QuantizeLinear/DequantizeLinear as written
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if profile:
        options.enable_profiling, options.profile_file_prefix = True, profile
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def float_weights(quantized, original):
    """``quantized`` with each weight and bias read from ``original`` in float32."""
    model = onnx.ModelProto.FromString(quantized.SerializeToString())
    floats = {i.name: i for i in original.graph.initializer}
    constants = {i.name for i in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        source = node.input[0].removesuffix("_quantized") if node.op_type == "DequantizeLinear" else None
        if node.op_type == "DequantizeLinear" and node.input[0] in constants and source in floats:
            copy = onnx.TensorProto()
            copy.CopyFrom(floats[source])
            copy.name = f"{source}__float"
            model.graph.initializer.append(copy)
            node = helper.make_node("Identity", [copy.name], list(node.output))
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def per_channel(quantized, original, batches):
    """``quantized`` with each activation's scale and zero point per channel, from ``batches``."""
    names = [o for n in original.graph.node for o in n.output]
    probe = onnx.ModelProto.FromString(original.SerializeToString())
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    run = session(probe)
    low, high = {}, {}
    for batch in batches:
        for name, value in zip(names, run.run(names, {"image": batch}), strict=True):
            if value.ndim == 4:
                low[name] = np.minimum(low.get(name, 0), value.min(axis=(0, 2, 3)))
                high[name] = np.maximum(high.get(name, 0), value.max(axis=(0, 2, 3)))
    model = onnx.ModelProto.FromString(quantized.SerializeToString())
    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    readers = collections.defaultdict(list)
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear":
            readers[node.input[0]].append(node)
    for node in list(model.graph.node):
        if node.op_type != "QuantizeLinear" or node.input[0] not in low or constants[node.input[1]].ndim:
            continue
        tensor = node.input[0]
        scale = np.maximum((high[tensor] - low[tensor]) / 255, 1e-8).astype(np.float32)
        zero = np.clip(np.round(-low[tensor] / scale), 0, 255).astype(np.uint8)
        model.graph.initializer.extend(
            [numpy_helper.from_array(scale, f"{tensor}__scale_c"), numpy_helper.from_array(zero, f"{tensor}__zero_c")]
        )
        for user in [node, *readers[node.output[0]]]:
            user.input[1], user.input[2] = f"{tensor}__scale_c", f"{tensor}__zero_c"
            user.attribute.append(helper.make_attribute("axis", 1))
    return model


def op_times(model, x, folder):
    run = session(model, profile=str(Path(folder) / "profile"))
    for _ in range(3):
        run.run(None, {"image": x})
    events = json.loads(Path(run.end_profiling()).read_text())
    times = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            times[event["args"]["op_name"]] += event["dur"] / 3e3
    return {op: round(ms, 1) for op, ms in times.most_common()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = load_model("denoise-m2", device="cpu")
    original = onnx.ModelProto.FromString(cpu_graph(model.path))
    batches = calibration_batches(model.spec)
    quantized = quantize_graph(original, batches)
    rewritten = int8_rewrites(original)  # the float32 graph quantize_graph quantizes
    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    disk = np.isfinite(mdi.data)
    x = model.spec.inputs[0].normalization.forward(np.nan_to_num(mdi.data))[None, None].astype(np.float32)

    def gauss(graph, optimize=True):
        return model.spec.output.normalization.inverse(session(graph, optimize).run(None, {"image": x})[0][0, 0])

    reference = gauss(original)

    def rms(graph, optimize=True):
        return float(np.sqrt(np.mean((gauss(graph, optimize) - reference)[disk] ** 2)))

    difference = np.where(disk, gauss(quantized) - reference, 0)
    record = {
        "int8_rms_G": rms(quantized),
        "int8_rms_9px_mean_G": float(np.sqrt(np.mean(ndimage.uniform_filter(difference, 9)[disk] ** 2))),
        "float_weights_rms_G": rms(float_weights(quantized, rewritten), False),
        "per_channel_rms_G": rms(per_channel(quantized, rewritten, batches), False),
        "per_channel_float_weights_rms_G": rms(
            float_weights(per_channel(quantized, rewritten, batches), rewritten), False
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        record["ms_per_op_fp32"] = op_times(original, x, folder)
        record["ms_per_op_int8"] = op_times(quantized, x, folder)
    print(json.dumps(record, indent=2))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
