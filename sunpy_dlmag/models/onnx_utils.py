"""
Helpers for ONNX files: their sha256, the spec stored in or beside them, their operator set,
writing them as the package ships them, and onnxruntime with its telemetry off.
"""

import functools
import hashlib
import importlib
import os
from pathlib import Path

from sunpy_dlmag.exceptions import InvalidModelSpecError
from sunpy_dlmag.models.spec import ONNX_METADATA_KEY, ModelSpec

__all__ = [
    "LazyModule",
    "helper",
    "numpy_helper",
    "onnx",
    "onnx_opset",
    "ort",
    "read_spec_for",
    "sha256sum",
    "strip_exporter_metadata",
    "write_spec_to_onnx",
]

# onnxruntime reports telemetry unless told not to before it is imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


class LazyModule:
    """
    A module imported on first use of one of its attributes.

    onnx takes about a fifth of ``import sunpy_dlmag`` (protobuf and its generated classes), and
    most uses of the package never read or rewrite a graph: the modules that do import these
    names at the top and pay for onnx only when they use it.
    """

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self):
        return f"<LazyModule {self._name}>"


onnx = LazyModule("onnx")
helper = LazyModule("onnx.helper")
numpy_helper = LazyModule("onnx.numpy_helper")


@functools.cache
def ort():
    """The ``onnxruntime`` module, its telemetry events off; imported on first use (not by ``import sunpy_dlmag``)."""
    import onnxruntime as ort

    if hasattr(ort, "disable_telemetry_events"):
        ort.disable_telemetry_events()
    return ort


def sha256sum(path):
    """sha256 hex digest of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_spec_for(path):
    """
    The spec of a weights file: ``<stem>.json`` beside it, else the ONNX metadata.

    Raises
    ------
    InvalidModelSpecError
        If neither holds a spec.
    """
    path = Path(path)
    sidecar = path.with_suffix(".json")
    try:
        # Parsed with a sidecar too: a corrupt file would otherwise fail later, in onnxruntime's words.
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise InvalidModelSpecError(
            f"{path} is not a readable ONNX file ({type(err).__name__}: {err}); expected a network exported "
            "with `sunpy-dlmag export` or torch.onnx."
        ) from err
    if sidecar.is_file():
        return ModelSpec.from_json(sidecar.read_text())
    metadata = {p.key: p.value for p in proto.metadata_props}
    if ONNX_METADATA_KEY not in metadata:
        raise InvalidModelSpecError(
            f"{path} carries no sunpy-dlmag model spec: neither {sidecar.name} beside it nor the ONNX "
            f"metadata key {ONNX_METADATA_KEY!r}. Export with `sunpy-dlmag export`, or write the spec "
            "with ModelSpec.to_json() into that JSON file."
        )
    return ModelSpec.from_json(metadata[ONNX_METADATA_KEY])


def write_spec_to_onnx(path, spec=None):
    """
    Rewrite the ONNX file at ``path`` as the package ships and exports it.

    The exporter's per-node records (source stack traces with local file paths, FX node
    names, name scopes, doc strings) are removed, so that the same weights give the same
    bytes wherever they are exported, and ``spec`` (a `~sunpy_dlmag.models.ModelSpec`), if
    given, is embedded in the file's metadata.
    """
    proto = onnx.load(str(path))
    strip_exporter_metadata(proto)
    if spec is not None:
        kept = [p for p in proto.metadata_props if p.key != ONNX_METADATA_KEY]
        del proto.metadata_props[:]
        proto.metadata_props.extend(kept)
        proto.metadata_props.add(key=ONNX_METADATA_KEY, value=spec.to_json())
    onnx.save(proto, str(path))


def onnx_opset(proto):
    """The version of the default ONNX operator set an ``onnx.ModelProto`` uses (0 if none)."""
    return max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)


def strip_exporter_metadata(proto):
    """
    Remove the metadata and doc strings of every graph, node and value of an ONNX ``ModelProto``.

    Only the model's own metadata (which holds the spec) are kept; the runtime needs none of
    what is removed. Modifies ``proto`` in place and returns it.
    """

    def strip_graph(graph):
        graph.doc_string = ""
        del graph.metadata_props[:]
        for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
            value.doc_string = ""
            del value.metadata_props[:]
        strip_nodes(graph.node)

    def strip_nodes(nodes):
        for node in nodes:
            node.doc_string = ""
            del node.metadata_props[:]
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    strip_graph(attribute.g)
                elif attribute.type == onnx.AttributeProto.GRAPHS:
                    for graph in attribute.graphs:
                        strip_graph(graph)

    strip_graph(proto.graph)
    for function in proto.functions:
        function.doc_string = ""
        del function.metadata_props[:]
        strip_nodes(function.node)
    return proto
