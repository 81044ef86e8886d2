"""
Small fully convolutional ONNX graphs written without torch.

They exercise the runtime end to end (tests, benchmarks, the demo's pipeline check);
none of them is a trained science model.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sunpy_dlmag.models.onnx_utils import write_spec_to_onnx

__all__ = ["convolution_network", "gaussian_filter_network"]

_OPSET = 17


def convolution_network(path, *, in_channels=1, widths=(8, 8), kernel=3, levels=0, seed=0, spec=None):
    """
    Write a randomly initialised convolutional network to ``path``.

    ``widths`` convolutions of ``kernel x kernel`` (ReLU between them) at full resolution,
    then ``levels`` stride-2 down- and up-sampling stages, then a 1x1 convolution to one
    output channel. There is no normalisation layer, so tiles reproduce the whole image.

    Returns
    -------
    int
        The receptive radius in input pixels (an upper bound).
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    name, channels, radius = "image", in_channels, 0

    def conv(out_channels, size, stride=1, transpose=False, relu=True):
        nonlocal name, channels
        i = len(nodes)
        shape = (channels, out_channels, size, size) if transpose else (out_channels, channels, size, size)
        fan_in = channels * size * size
        w = rng.normal(0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        inits.append(numpy_helper.from_array(np.zeros(out_channels, np.float32), f"b{i}"))
        pad = 0 if stride > 1 else size // 2
        nodes.append(
            helper.make_node(
                "ConvTranspose" if transpose else "Conv",
                [name, f"w{i}", f"b{i}"],
                [f"c{i}"],
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[pad] * 4,
            )
        )
        name, channels = f"c{i}", out_channels
        if relu:
            nodes.append(helper.make_node("Relu", [name], [f"r{i}"]))
            name = f"r{i}"

    for width in widths:
        conv(width, kernel)
        radius += kernel // 2
    width = widths[-1] if widths else 8
    for level in range(levels):
        conv(width, 2, stride=2)
        conv(width, kernel)
        radius += 2**level + (kernel // 2) * 2 ** (level + 1)
    for level in reversed(range(levels)):
        conv(width, 2, stride=2, transpose=True)
        radius += 2**level
    conv(1, 1, relu=False)
    _save(path, nodes, inits, in_channels, spec)
    return radius


def gaussian_filter_network(path, *, sigma=2.0, spec=None):
    """Write a one-layer network that convolves one channel with a normalised Gaussian kernel."""
    half = int(np.ceil(3 * sigma))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    kernel = np.outer(g, g)
    kernel = (kernel / kernel.sum()).astype(np.float32)[np.newaxis, np.newaxis]
    size = 2 * half + 1
    inits = [numpy_helper.from_array(kernel, "w0"), numpy_helper.from_array(np.zeros(1, np.float32), "b0")]
    nodes = [helper.make_node("Conv", ["image", "w0", "b0"], ["c0"], kernel_shape=[size, size], pads=[half] * 4)]
    _save(path, nodes, inits, 1, spec)
    return half


def _save(path, nodes, inits, in_channels, spec):
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", in_channels, "height", "width"])
    output = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, ["batch", 1, "height", "width"])
    graph = helper.make_graph(nodes, "sunpy_dlmag_test_network", [image], [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    if spec is not None:
        write_spec_to_onnx(Path(path), spec)
