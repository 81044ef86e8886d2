"""
Faster graphs for the CPU, each giving the original graph's result: transposed convolutions
as convolutions, and narrow convolutions on blocks of pixels (`block_graph`).

onnxruntime runs ``ConvTranspose`` slower than ``Conv`` on the CPU and has no int8 kernel
for it. A stride-``s`` transposed convolution computes ``s * s`` interleaved phases, each a
plain convolution of the input with part of the kernel: `phase_graph` runs them as one
``Conv`` with ``s * s`` times the output channels, crops each phase to its own offset and
interleaves them with ``DepthToSpace``, the same arithmetic as the transposed convolution
(float32 graphs on the CPU run this way: `cpu_graph`). `subpixel_graph` instead pads every
phase to one common kernel (more arithmetic, one ``Conv`` and no crops). Both give the
transposed convolution's result to float32 rounding. `int8_rewrites` is the float32 graph
that `~sunpy_dlmag.models.precision.quantize_graph` quantizes: phases padded with zero taps
to a common window where they have unequal numbers of taps (less arithmetic than sub-pixel,
which is left for any other), and narrow convolutions on blocks.
"""

import functools

import numpy as np

from sunpy_dlmag.models.onnx_utils import helper, numpy_helper, onnx, onnx_opset

__all__ = ["block_graph", "cpu_graph", "int8_rewrites", "phase_graph", "subpixel_graph"]


def subpixel_graph(model):
    """
    A copy of the ONNX ``model`` with each 2D ``ConvTranspose`` whose output is exactly
    ``stride`` times its input replaced by ``Conv`` + ``DepthToSpace``; others stay.
    """
    return _replace_transposed(model, _as_subpixel)[0]


def phase_graph(model, *, pad_taps=False):
    """
    A copy of the ONNX ``model`` with each 2D ``ConvTranspose`` whose output is exactly
    ``stride`` times its input replaced by one ``Conv`` over its phases, ``Slice`` to each
    phase's offset, ``Concat`` and ``DepthToSpace``; others stay. ``None`` when none is replaced.

    Only transposed convolutions whose phases have equal numbers of taps are rewritten, the
    same arithmetic as the original; with ``pad_taps`` the others too, each phase padded with
    zero taps to the window all phases span (for ``kernel=3, stride=2``: 2x2 taps for every
    phase, 16/9 of the arithmetic, against 3x3 in `subpixel_graph`).
    """
    model, replaced = _replace_transposed(model, functools.partial(_as_phases, pad_taps=pad_taps))
    return model if replaced else None


def _replace_transposed(model, rewrite):
    """
    A copy of ``model`` with each ``ConvTranspose`` that ``rewrite(node, initializers)`` turns
    into ``(nodes, initializers)`` replaced by them (``None``: kept), unused initializers
    dropped; and how many were replaced.
    """
    return _replace_nodes(model, "ConvTranspose", lambda node, inits, producer, users: rewrite(node, inits))


def _replace_nodes(model, op_type, rewrite):
    """
    A copy of ``model`` with each ``op_type`` node that ``rewrite(node, initializers,
    producer, users)`` turns into ``(nodes, initializers[, absorbed])`` replaced by them
    (``None``: kept; ``absorbed``: names of nodes before it that the new nodes take over),
    unused initializers dropped; and how many were replaced. ``producer`` maps a tensor to
    the node that makes it, ``users`` to the nodes that read it (``None``: the graph's output).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    users = {}
    for n in graph.node:
        for name in n.input:
            users.setdefault(name, []).append(n)
    for output in graph.output:
        users.setdefault(output.name, []).append(None)
    replacements, absorbed = {}, set()
    for index, node in enumerate(graph.node):
        new = rewrite(node, inits, producer, users) if node.op_type == op_type else None
        if new is not None:
            replacements[index] = new[0]
            graph.initializer.extend(new[1])
            absorbed.update(new[2] if len(new) > 2 else ())
    nodes = []
    for index, node in enumerate(graph.node):
        if node.name and node.name in absorbed:
            continue
        nodes.extend(replacements.get(index, [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for n in graph.node for name in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model, len(replacements)


def _transposed_taps(node, inits):
    """(weights, stride, taps per phase) of a ConvTranspose `phase_graph` and `subpixel_graph` can rewrite."""
    a = _attrs(node)
    if node.input[1] not in inits or a.get("group", 1) != 1 or "output_shape" in a:
        return None
    w = numpy_helper.to_array(inits[node.input[1]])  # (Cin, Cout, k, k)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        return None
    k = w.shape[2]
    s = a.get("strides", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    extra = a.get("output_padding", [0, 0])
    if len(set(s)) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        return None
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    s, p = s[0], pads[0]
    # Only where the output is exactly `s` times the input along both axes.
    if s < 2 or pads[0] != pads[1] or any(k - pads[i] - pads[i + 2] + extra[i] != s for i in (0, 1)):
        return None
    # Output row s*m + a is sum_j x[m + j] w[a + p - s*j] over the j with a valid tap.
    taps = {
        phase: [(j, phase + p - s * j) for j in range(-k, k + 1) if 0 <= phase + p - s * j < k] for phase in range(s)
    }
    return w, s, taps


def _bias(node, inits, repeats, name):
    """The bias of ``node`` repeated for each phase, as an initializer; (None,) without one; None if not constant."""
    if len(node.input) < 3 or not node.input[2]:
        return (None,)
    if node.input[2] not in inits:
        return None
    bias = numpy_helper.to_array(inits[node.input[2]])
    return (numpy_helper.from_array(np.tile(bias, repeats).astype(bias.dtype), name),)


def _as_phases(node, inits, *, pad_taps=False):
    found = _transposed_taps(node, inits)
    if found is None:
        return None
    w, s, taps = found
    # Phase a reads inputs m + shift_a + t for t < n: one window of n taps, shifted per phase.
    n = len(taps[0])
    shifts = {}
    for phase, pairs in taps.items():
        offsets = [j for j, _ in pairs]
        if len(pairs) != n or offsets != list(range(offsets[0], offsets[0] + n)):
            shifts = None
            break
        shifts[phase] = offsets[0]
    if shifts is None:
        if not pad_taps:
            return None
        # One window, the span of all phases' taps, for every phase (zero where it has none).
        offsets = [j for pairs in taps.values() for j, _ in pairs]
        n = max(offsets) - min(offsets) + 1
        shifts = dict.fromkeys(taps, min(offsets))
    low, high = min(shifts.values()), max(shifts.values())
    if low > 0 or high + n - 1 < 0:  # a convolution cannot crop its input
        return None
    cin, cout = w.shape[:2]
    kernel = _phase_kernels(w, s, taps, shifts, n)
    name = node.output[0]
    bias = _bias(node, inits, s * s, f"{name}__phase_b")
    if bias is None:
        return None
    new_inits = [numpy_helper.from_array(kernel.reshape(s * s * cout, cin, n, n), f"{name}__phase_w")]
    inputs = [node.input[0], f"{name}__phase_w"]
    if bias[0] is not None:
        new_inits.append(bias[0])
        inputs.append(bias[0].name)
    # Output i of the padded convolution reads inputs i - pad_low + t; phase a at m wants
    # m + shift_a + t, so it is output m + shift_a - low, for m < H (H + high - low outputs).
    conv_out = f"{name}__phase"
    nodes = [
        helper.make_node(
            "Conv",
            inputs,
            [conv_out],
            name=f"{node.name or name}__phase",
            kernel_shape=[n, n],
            pads=[-low, -low, high + n - 1, high + n - 1],
        )
    ]
    if low == high:  # every phase at the same offset: the convolution's channels are the phases
        return [*nodes, _interleave(conv_out, name, s)], new_inits
    parts, largest = [], np.iinfo(np.int64).max
    for ay in range(s):
        for ax in range(s):
            part, first = f"{name}__phase{ay}{ax}", (ay * s + ax) * cout
            ends = [first + cout] + [-(high - shifts[a]) if high > shifts[a] else largest for a in (ay, ax)]
            starts = [first, shifts[ay] - low, shifts[ax] - low]
            for key, values in (("starts", starts), ("ends", ends), ("axes", [1, 2, 3])):
                nodes.append(_int64_constant(f"{part}_{key}", values))
            nodes.append(
                helper.make_node(
                    "Slice", [conv_out, f"{part}_starts", f"{part}_ends", f"{part}_axes"], [part], name=part
                )
            )
            parts.append(part)
    nodes.append(helper.make_node("Concat", parts, [f"{name}__phases"], name=f"{name}__phases", axis=1))
    nodes.append(_interleave(f"{name}__phases", name, s))
    return nodes, new_inits


def _phase_kernels(w, s, taps, shifts, n):
    """
    The ``(s, s, cout, cin, n, n)`` kernels of the phases of a transposed convolution with
    weights ``w`` (``cin, cout, k, k``): phase ``a``'s tap at input offset ``j`` is at ``j -
    shifts[a]`` of its window (zero where it has no tap).
    """
    cin, cout = w.shape[:2]
    kernel = np.zeros((s, s, cout, cin, n, n), dtype=w.dtype)
    for ay in range(s):
        for jy, ty in taps[ay]:
            for ax in range(s):
                for jx, tx in taps[ax]:
                    kernel[ay, ax, :, :, jy - shifts[ay], jx - shifts[ax]] = w[:, :, ty, tx].T
    return kernel


def _interleave(phases, name, s):
    # Channels phase-major (DCR): channel (ay * s + ax) * cout + c goes to pixel (s*m + ay, s*n + ax).
    return helper.make_node("DepthToSpace", [phases], [name], name=f"{name}__interleave", blocksize=s, mode="DCR")


# Narrow convolutions (at most `_BLOCK_OUTPUTS` output channels once on 4x4 blocks) with
# kernels of at least this area run on blocks: 7x7 and 5x5 from 32 channels to one, 1024 px,
# 2 cores: 367 -> 154 ms and 224 -> 129 ms; 3x3: 122 -> 133 ms, so they stay.
_BLOCK_MIN_TAPS = 25
_BLOCK = 4
_BLOCK_OUTPUTS = 16


def block_graph(model):
    """
    A copy of the ONNX ``model`` with each narrow convolution (one output channel, as the
    last layer of a translation network; kernel 5x5 or more, stride 1) run on 4x4 blocks of
    pixels: ``SpaceToDepth``, one ``Conv`` with 16 times the channels and a 2x2 or 3x3
    kernel, ``DepthToSpace`` and a crop; ``None`` when none is replaced.

    onnxruntime's CPU convolutions work on 16 (or 8) output channels at a time, so a
    convolution to one channel costs as much as one to 16; on blocks every channel is used.
    A ``Pad`` that only feeds the convolution is folded into the new one. The result equals
    the convolution's to float32 rounding for any image size.
    """
    # Shape with start and end (the block count of any image size) needs opset 15.
    if onnx_opset(model) < 15:
        return None
    model, replaced = _replace_nodes(model, "Conv", _as_blocks)
    return model if replaced else None


def _as_blocks(node, inits, producer, users):
    a = _attrs(node)
    if (
        node.input[1] not in inits
        or a.get("group", 1) != 1
        or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
    ):
        return None
    if any(v != 1 for v in [*a.get("strides", [1, 1]), *a.get("dilations", [1, 1])]):
        return None
    w = numpy_helper.to_array(inits[node.input[1]])  # (Cout, Cin, kh, kw)
    b = _BLOCK
    if w.ndim != 4 or w.shape[0] * b * b > _BLOCK_OUTPUTS or w.shape[2] * w.shape[3] < _BLOCK_MIN_TAPS:
        return None
    bias = _bias(node, inits, b * b, f"{node.output[0]}__blocks_b")
    if bias is None:
        return None
    cout, cin, kh, kw = w.shape
    # Padding: the convolution's own (zeros), or that of a Pad node read only by it (any mode).
    source, pads, mode, fill, absorbed = node.input[0], list(a.get("pads", [0, 0, 0, 0])), "constant", [], []
    pad = producer.get(source)
    if pad is not None and pad.op_type == "Pad" and pad.name and len(users.get(source, ())) == 1 and not any(pads):
        amounts = numpy_helper.to_array(inits[pad.input[1]]) if pad.input[1] in inits else None
        every_axis = len(pad.input) < 4 or not pad.input[3]  # pads for all four axes, in order
        if every_axis and amounts is not None and amounts.shape == (8,) and not amounts[[0, 1, 4, 5]].any():
            source, pads = pad.input[0], [int(v) for v in amounts[[2, 3, 6, 7]]]
            mode = _attrs(pad).get("mode", b"constant")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            fill, absorbed = list(pad.input[2:3]), [pad.name]
    # Output pixel b*I + r reads padded inputs b*I + r + t (t < k): blocks I .. I + K - 1.
    blocks = [(b + k - 2) // b + 1 for k in (kh, kw)]
    kernel = np.zeros((b, b, cout, b, b, cin, *blocks), dtype=w.dtype)  # ry rx co sy sx ci qy qx
    for ry, rx, sy, sx, qy, qx in np.ndindex(b, b, b, b, *blocks):
        ty, tx = qy * b + sy - ry, qx * b + sx - rx
        if 0 <= ty < kh and 0 <= tx < kw:
            kernel[ry, rx, :, sy, sx, :, qy, qx] = w[:, :, ty, tx]
    name = node.output[0]
    n = f"{name}__blocks"
    new_inits = [numpy_helper.from_array(kernel.reshape(b * b * cout, b * b * cin, *blocks), f"{n}_w")]
    conv_inputs = [f"{n}_in", f"{n}_w"]
    if bias[0] is not None:
        new_inits.append(bias[0])
        conv_inputs.append(bias[0].name)
    # The input is padded at the end up to whole blocks, plus the blocks the kernel reaches.
    grow = [pads[0] + pads[2] - kh + 1, pads[1] + pads[3] - kw + 1]
    reach = [pads[2] + b * (blocks[0] - 1) - (kh - 1), pads[3] + b * (blocks[1] - 1) - (kw - 1)]
    nodes = [
        _int64_constant(f"{n}_grow", grow),
        _int64_constant(f"{n}_block", [b, b]),
        _int64_constant(f"{n}_reach", reach),
        _int64_constant(f"{n}_begin", [0, 0, pads[0], pads[1], 0, 0]),
        _int64_constant(f"{n}_origin", [0, 0]),
        _int64_constant(f"{n}_axes", [2, 3]),
        helper.make_node("Shape", [source], [f"{n}_size"], start=2, end=4),
        helper.make_node("Add", [f"{n}_size", f"{n}_grow"], [f"{n}_out_size"]),
        helper.make_node("Neg", [f"{n}_out_size"], [f"{n}_neg"]),
        helper.make_node("Mod", [f"{n}_neg", f"{n}_block"], [f"{n}_short"]),
        helper.make_node("Add", [f"{n}_short", f"{n}_reach"], [f"{n}_end"]),
        helper.make_node("Concat", [f"{n}_begin", f"{n}_end"], [f"{n}_pads"], axis=0),
        helper.make_node("Pad", [source, f"{n}_pads", *fill], [f"{n}_padded"], name=f"{n}_pad", mode=mode),
        helper.make_node("SpaceToDepth", [f"{n}_padded"], [f"{n}_in"], name=f"{n}_split", blocksize=b),
        helper.make_node("Conv", conv_inputs, [f"{n}_out"], name=f"{node.name or name}__blocks", kernel_shape=blocks),
        helper.make_node("DepthToSpace", [f"{n}_out"], [f"{n}_full"], name=f"{n}_join", blocksize=b, mode="DCR"),
        helper.make_node("Slice", [f"{n}_full", f"{n}_origin", f"{n}_out_size", f"{n}_axes"], [name], name=f"{n}_crop"),
    ]
    return nodes, new_inits, absorbed


def _int64_constant(name, values):
    return helper.make_node(
        "Constant", [], [name], name=name, value=numpy_helper.from_array(np.array(values, dtype=np.int64), name)
    )


def cpu_graph(path):
    """
    The serialised ONNX file at ``path`` with its transposed convolutions over their phases
    (`phase_graph`) and its narrow convolutions on blocks (`block_graph`), or ``None`` when
    neither applies (the file then runs as it is).
    """
    original = onnx.load(str(path))
    model = phase_graph(original) or original
    model = block_graph(model) or model
    return None if model is original else model.SerializeToString()


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _as_subpixel(node, inits):
    found = _transposed_taps(node, inits)
    if found is None:
        return None
    w, s, taps = found
    reach = max(abs(j) for pairs in taps.values() for j, _ in pairs)
    size = 2 * reach + 1
    cin, cout = w.shape[:2]
    # Every phase on the window -reach..reach, output channels major (c * s * s + phase).
    kernel = np.moveaxis(_phase_kernels(w, s, taps, dict.fromkeys(taps, -reach), size), 2, 0)
    name = node.output[0]
    new_inits = [numpy_helper.from_array(kernel.reshape(cout * s * s, cin, size, size), f"{name}__subpixel_w")]
    inputs = [node.input[0], f"{name}__subpixel_w"]
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in inits:
            return None
        bias = numpy_helper.to_array(inits[node.input[2]])
        new_inits.append(numpy_helper.from_array(np.repeat(bias, s * s).astype(bias.dtype), f"{name}__subpixel_b"))
        inputs.append(f"{name}__subpixel_b")
    conv = helper.make_node(
        "Conv",
        inputs,
        [f"{name}__subpixel"],
        name=f"{node.name or name}__subpixel",
        kernel_shape=[size, size],
        pads=[reach] * 4,
    )
    shuffle = helper.make_node(
        "DepthToSpace", [f"{name}__subpixel"], [name], name=f"{node.name or name}__shuffle", blocksize=s, mode="CRD"
    )
    return [conv, shuffle], new_inits


def int8_rewrites(model):
    """
    The float32 graph that `~sunpy_dlmag.models.precision.quantize_graph` quantizes: ``model`` with its transposed
    convolutions over their phases (zero-padded where they have unequal taps: onnxruntime has
    no int8 ``ConvTranspose``) and its narrow convolutions on blocks.
    """
    model = subpixel_graph(phase_graph(model, pad_taps=True) or model)
    return block_graph(model) or model
