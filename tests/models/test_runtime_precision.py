import numpy as np
import onnx
import onnxruntime as ort
import pytest

from sunpy_dlmag.exceptions import DeviceNotAvailableError
from sunpy_dlmag.models import load_model
from sunpy_dlmag.models.cpu_graph import block_graph, int8_rewrites, phase_graph, subpixel_graph
from sunpy_dlmag.models.precision import _edge_nodes, cache_dir, calibration_batches, quantize_graph
from sunpy_dlmag.models.runtime import _session


@pytest.mark.parametrize("rewrite", [subpixel_graph, phase_graph])
def test_rewrites_equal_the_transposed_convolution(conv_onnx, rng, rewrite):
    path, _ = conv_onnx("updown", levels=3)
    original = onnx.load(str(path))
    rewritten = rewrite(original)
    assert "ConvTranspose" in {n.op_type for n in original.graph.node}
    assert "ConvTranspose" not in {n.op_type for n in rewritten.graph.node}
    x = rng.normal(size=(2, 1, 64, 48)).astype(np.float32)
    a = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"])
    ya, yb = a.run(None, {"image": x})[0], b.run(None, {"image": x})[0]
    np.testing.assert_allclose(yb, ya, rtol=0, atol=1e-5 * np.abs(ya).max())


def test_phases_with_unequal_taps_are_padded_for_int8(rng):
    # kernel 3, stride 2 (the Pix2PixHD decoder): phases of 1 and 2 taps along each axis.
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b")
    node = helper.make_node("ConvTranspose", ["image", "w", "b"], ["out"], strides=[2, 2], pads=[1, 1, 1, 1])
    node.attribute.append(helper.make_attribute("output_padding", [1, 1]))
    graph = helper.make_graph(
        [node],
        "up",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 4, None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 3, None, None])],
        [w, b],
    )
    original = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    original.ir_version = 8
    assert phase_graph(original) is None  # float32 graphs keep it: padding adds arithmetic
    padded = phase_graph(original, pad_taps=True)
    assert {n.op_type for n in padded.graph.node} == {"Conv", "DepthToSpace"}
    kernel = next(i for i in padded.graph.initializer if i.name.endswith("__phase_w"))
    assert tuple(kernel.dims[2:]) == (2, 2)  # 2x2 taps for every phase, not sub-pixel's 3x3
    x = rng.normal(size=(2, 4, 24, 20)).astype(np.float32)
    a = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(padded.SerializeToString(), providers=["CPUExecutionProvider"])
    ya, yb = a.run(None, {"image": x})[0], b.run(None, {"image": x})[0]
    assert ya.shape == (2, 3, 48, 40)
    np.testing.assert_allclose(yb, ya, rtol=0, atol=1e-5 * np.abs(ya).max())


def _narrow_convolution(rng, kernel, *, reflect=0, pads=0, channels=5, outputs=1):
    """A graph of one convolution to ``outputs`` channels, after a reflect ``Pad`` when ``reflect``."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(rng.normal(size=(outputs, channels, kernel, kernel)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(size=outputs).astype(np.float32), "b"),
        numpy_helper.from_array(np.array([0, 0, reflect, reflect, 0, 0, reflect, reflect], np.int64), "p"),
    ]
    nodes = [
        helper.make_node("Conv", ["padded" if reflect else "image", "w", "b"], ["out"], name="conv", pads=[pads] * 4)
    ]
    if reflect:
        nodes.insert(0, helper.make_node("Pad", ["image", "p"], ["padded"], name="pad", mode="reflect"))
    graph = helper.make_graph(
        nodes,
        "narrow",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, channels, None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, outputs, None, None])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize(("kernel", "reflect", "pads"), [(7, 3, 0), (5, 0, 2), (7, 0, 1), (9, 2, 0)])
def test_narrow_convolutions_on_blocks_equal_the_convolution(rng, kernel, reflect, pads):
    # As the generators' last layer (reflect Pad 3, 7x7 to one channel), with zero padding, and
    # padded to a smaller output; images of any size, also not whole blocks.
    original = _narrow_convolution(rng, kernel, reflect=reflect, pads=pads)
    rewritten = block_graph(original)
    ops = [n.op_type for n in rewritten.graph.node]
    assert "SpaceToDepth" in ops
    assert ops.count("Pad") == 1  # the Pad node folded into the new one
    a = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"])
    for height, width in ((32, 32), (37, 53), (64, 22)):
        x = rng.normal(size=(2, 5, height, width)).astype(np.float32)
        ya, yb = a.run(None, {"image": x})[0], b.run(None, {"image": x})[0]
        assert yb.shape == ya.shape
        np.testing.assert_allclose(yb, ya, rtol=0, atol=1e-5 * np.abs(ya).max())


def test_only_narrow_wide_kernels_go_on_blocks(rng):
    # 3x3 kernels are faster as they are; 2 output channels would need 32 on 4x4 blocks.
    assert block_graph(_narrow_convolution(rng, 3, pads=1)) is None
    assert block_graph(_narrow_convolution(rng, 7, pads=3, outputs=2)) is None
    shared = _narrow_convolution(rng, 7, reflect=3)
    shared.graph.output.append(onnx.helper.make_tensor_value_info("padded", onnx.TensorProto.FLOAT, None))
    kept = block_graph(shared)  # a Pad read elsewhere too stays, and the new Pad adds to it
    assert [n.op_type for n in kept.graph.node].count("Pad") == 2


def test_float_graphs_run_their_phases_on_the_cpu(mdi_map):
    # The shipped denoiser as loaded (transposed convolutions over their phases) against its file as it is.
    model = load_model("denoise-m2", device="cpu")
    assert "ConvTranspose" in {n.op_type for n in onnx.load(str(model.path)).graph.node}
    data = np.nan_to_num(mdi_map.data[256:768, 256:768])
    as_file = _session(str(model.path), model.sha256, "cpu", None, rewrite=False)
    expected = model.spec.output.normalization.inverse(
        as_file.run(None, {as_file.get_inputs()[0].name: model.spec.inputs[0].normalization.forward(data)[None, None]})[
            0
        ][0, 0]
    )
    out = model.predict(data, progress=False)
    assert np.abs(out - expected).max() < 1e-3  # G, float32 rounding of fields up to thousands of G


def test_int8_is_built_once_checked_and_close_to_float(conv_onnx, mdi_map):
    path, _ = conv_onnx("quantized", task="denoise", unit="G")
    fp32 = load_model(path, device="cpu")
    int8 = load_model(path, device="cpu", precision="int8")
    assert int8.precision == "int8"
    assert int8.sha256 == fp32.sha256  # the verified weights it was made from
    assert int8._graph.parent == cache_dir()
    assert "QuantizeLinear" in {n.op_type for n in onnx.load(str(int8._graph)).graph.node}
    data = np.nan_to_num(mdi_map.data[256:768, 256:768])
    a, b = fp32.predict(data), int8.predict(data)
    # A tiny random network: int8 follows float32 closely, not exactly (gates on real ones: docs/performance.rst).
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.85
    # Reused from the cache while it matches its recorded sha256; rebuilt when tampered with.
    stamp = int8._graph.stat().st_mtime_ns
    assert load_model(path, device="cpu", precision="int8")._graph.stat().st_mtime_ns == stamp
    int8._graph.write_bytes(b"tampered")
    again = load_model(path, device="cpu", precision="int8")
    np.testing.assert_array_equal(again.predict(data), b)


def test_precision_must_fit_the_device(conv_onnx):
    path, _ = conv_onnx()
    with pytest.raises(ValueError, match="precision must be one of"):
        load_model(path, device="cpu", precision="int4")
    with pytest.raises(DeviceNotAvailableError, match="needs CUDA"):
        load_model(path, device="cpu", precision="fp16")


def test_int8_keeps_the_leading_layers_float_where_int8_strays(tmp_path, euvi_map):
    # A small Pix2PixHD generator (random weights) with the aisfm-v2 spec: quantizing its
    # high-resolution first layers costs most of the correlation with float32.
    torch = pytest.importorskip("torch")
    from sunpy_dlmag.training import export_to_onnx
    from sunpy_dlmag.training.networks import GlobalGenerator
    from sunpy_dlmag.training.presets import get_preset

    torch.manual_seed(0)
    net = GlobalGenerator(3, 1, base_filters=8, n_down=4, n_res=2, norm="instance").eval()
    spec = get_preset("aisfm-v2").model_spec(training_data="none: random weights", version="test")
    path = tmp_path / "small-generator.onnx"
    export_to_onnx(net, path, in_channels=3, example_size=64, spec=spec)
    # Real EUV data other than the calibration sample: STEREO/EUVI 171 in DN/s, three rotations.
    euv = np.asarray(euvi_map.data, dtype=np.float32) / euvi_map.exposure_time.to_value("s")
    x = np.stack([euv, np.rot90(euv), np.rot90(euv, 2)])
    fp32 = load_model(path, device="cpu")
    int8 = load_model(path, device="cpu", precision="int8")
    a, b = fp32.predict_array(x, progress=False), int8.predict_array(x, progress=False)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.99
    graph = onnx.load(str(int8._graph)).graph
    first = next(n for n in graph.node if n.op_type in ("Conv", "QLinearConv"))
    assert all(not name.endswith("DequantizeLinear_Output") for name in first.input)  # float32
    # The last layer, a 7x7 convolution to one channel, runs on blocks, in float32 too.
    last = next(n for n in graph.node if n.name.endswith("__blocks"))
    assert last.op_type == "Conv"
    assert not any(name.endswith("DequantizeLinear_Output") for name in last.input[1:])
    blocks = next(n for n in graph.node if n.op_type == "SpaceToDepth")
    assert graph.node[[n.op_type for n in graph.node].index("SpaceToDepth") - 1].op_type == "Pad"  # no QDQ between
    assert last.input[0] == blocks.output[0]
    # The blocks' size is read off the quantized tensor: no dequantized copy made for it alone.
    shape = next(n for n in graph.node if n.op_type == "Shape")
    assert shape.input[0] in {out for n in graph.node if n.op_type == "QuantizeLinear" for out in n.output}
    # Only the input's and the output's layers in float32 (the recipe before): int8 strays.
    model = onnx.load(str(path))
    edges = _edge_nodes(int8_rewrites(model))
    only_edges = quantize_graph(model, calibration_batches(spec), keep_float=edges)
    session = ort.InferenceSession(only_edges.SerializeToString(), providers=["CPUExecutionProvider"])
    normalised = np.stack([c.normalization.forward(v) for c, v in zip(spec.inputs, x, strict=True)])[np.newaxis]
    c = spec.output.normalization.inverse(session.run(None, {"image": normalised.astype(np.float32)})[0][0, 0])
    assert np.corrcoef(a.ravel(), c.ravel())[0, 1] < 0.98


def test_derived_graphs_follow_sunpys_download_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("SUNPY_DOWNLOADDIR", str(tmp_path))
    assert cache_dir() == tmp_path / "sunpy_dlmag_graphs"
