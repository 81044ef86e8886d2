"""
Export of trained torch networks to ONNX files the runtime can load.
"""

import dataclasses
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sunpy import log

from sunpy_dlmag.exceptions import InvalidArgumentError, ModelOutputError, OutputExistsError
from sunpy_dlmag.training._torch import torch

__all__ = ["ExportResult", "export_onnx", "export_to_onnx", "load_onnx_weights"]

INPUT_NAME = "image"
OUTPUT_NAME = "output"
# Opset of the fallback (TorchScript) exporter; the default exporter uses its own, newer one.
FALLBACK_OPSET = 17
MIN_OPSET = 17


def export_to_onnx(module, path, *, in_channels, example_size=256, spec=None):
    """
    Export a network to ONNX with a dynamic batch size, height and width.

    The module is exported in eval mode (its previous mode is restored afterwards), with
    one input named ``"image"`` of shape ``(batch, in_channels, height, width)`` and one
    output named ``"output"``. torch's default exporter (``dynamo=True``, which needs
    onnxscript) is tried first; if it fails, or leaves any of the three axes static, the
    TorchScript exporter (``dynamo=False``, opset 17) is used instead. The exporter's
    per-node records (stack traces with local paths, doc strings) are removed, so the same
    weights and the same torch give the same file wherever they are exported. The file is
    then run with onnxruntime on a random input and compared with torch.

    Parameters
    ----------
    module : `torch.nn.Module`
        Takes ``(N, in_channels, H, W)`` float32 and returns ``(N, C_out, H, W)``.
    path : str or `os.PathLike`
        Where to write the ONNX file.
    in_channels : int
        Number of input channels.
    example_size : int
        Height and width of the example input used for the export and the check; must
        be a size the module accepts (a multiple of its stride).
    spec : `~sunpy_dlmag.models.ModelSpec`, optional
        Embedded in the file's metadata, so that ``load_model(path)`` works.

    Returns
    -------
    float
        The largest absolute difference between the torch and the onnxruntime outputs
        on a random input of shape ``(2, in_channels, example_size, example_size)``.
    """
    path = Path(path)
    was_training = module.training
    module.eval()
    try:
        parameter = next(module.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        example = torch.randn(1, in_channels, example_size, example_size, device=device)
        try:
            _export_dynamo(module, example, path)
            _check_dynamic(path)
        except Exception as err:  # any failure of the new exporter: use the TorchScript one
            log.info(f"torch's default ONNX exporter failed ({type(err).__name__}: {err}); using dynamo=False.")
            _export_torchscript(module, example, path)
            _check_dynamic(path)
        from sunpy_dlmag.models.registry import write_spec_to_onnx

        # Without the exporter's node records (local paths): the same weights give the same bytes.
        write_spec_to_onnx(path, spec)
        return _max_difference(module, path, in_channels, example_size, device)
    finally:
        module.train(was_training)


def _export_dynamo(module, example, path):
    from torch.export import Dim

    # Height and width must be multiples of the network's stride; the exporter infers that.
    axes = {0: Dim("batch", min=1), 2: Dim.AUTO, 3: Dim.AUTO}
    # The exporter logs a warning for every optional torchvision operator it cannot register.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=(axes,),
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    finally:
        registration.setLevel(level)


def _export_torchscript(module, example, path):
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=FALLBACK_OPSET,
            dynamo=False,
        )


def _check_dynamic(path):
    """Raise unless the file has one input and one output of the right names, dynamic N, H, W."""
    import onnx

    from sunpy_dlmag.models.registry import onnx_opset

    proto = onnx.load(str(path), load_external_data=False)
    graph = proto.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in graph.output] != [OUTPUT_NAME]:
        raise ModelOutputError(
            f"Exported graph has inputs {[i.name for i in inputs]} and outputs {[o.name for o in graph.output]}."
        )
    opset = onnx_opset(proto)
    if opset < MIN_OPSET:
        raise ModelOutputError(f"Exported graph uses opset {opset}; need {MIN_OPSET} or newer.")
    for value in (inputs[0], graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        static = [axis for axis in (0, 2, 3) if len(dims) != 4 or dims[axis].HasField("dim_value")]
        if static:
            raise ModelOutputError(f"Exported {value.name!r} has static axes {static}; expected dynamic N, H, W.")


def _max_difference(module, path, in_channels, size, device):
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    x = torch.randn(2, in_channels, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = module(x.to(device)).float().cpu().numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    if got.shape != expected.shape:
        raise ModelOutputError(f"onnxruntime returned shape {got.shape}, torch {expected.shape}.")
    return float(np.max(np.abs(got.astype(np.float64) - expected)))


@dataclass(frozen=True)
class ExportResult:
    """What `export_onnx` wrote: the file, its sha256, the torch-vs-onnxruntime check and the spec."""

    path: Path
    sha256: str
    max_abs_difference: float
    spec: object

    def __str__(self):
        return (
            f"Exported {self.spec.name} to {self.path}\n"
            f"  sha256: {self.sha256}\n"
            f"  max |torch - onnxruntime| on a random input: {self.max_abs_difference:.3g} (network units)\n"
            f"  load it with sunpy_dlmag.models.load_model({str(self.path)!r})"
        )


def export_onnx(
    checkpoint,
    path,
    *,
    name=None,
    version=None,
    training_data=None,
    license=None,
    scores=None,
    example_size=None,
    overwrite=False,
):
    """
    Export the generator of a training checkpoint to an ONNX file the runtime can load.

    The file has a dynamic batch size, height and width and carries its
    `~sunpy_dlmag.models.ModelSpec` in its metadata, so ``load_model(path)`` and the
    public functions (``model=path``) take it directly. The spec is the card of this
    network, not of the registered model the preset trains: its own name (which the
    headers of its outputs give as ``DLMODEL``), the architecture and parameter count of
    the trained network, what it was trained on, its validation scores, and no licence
    unless one is given. Input channels, normalisation and geometry are those the checkpoint
    was trained with (the preset's, or the channels chosen with ``Preset.with_channels``).

    Parameters
    ----------
    checkpoint : path
        A ``checkpoint.pt`` written by `~sunpy_dlmag.training.trainer.Trainer`.
    path : path
        The ONNX file to write.
    name : str, optional
        Name of the model (default: the file's stem). A registered name is refused, given or
        taken from the file name: outputs would claim to come from the published model.
    version : str, optional
        Version of the weights (default: ``"epochN"``).
    training_data : str, optional
        What the network was trained on (default: ``"user-trained from preset P on
        <the training data the checkpoint records> for N epoch(s)"``).
    license : str, optional
        Licence of the weights (default: ``"unknown (user-trained weights)"``).
    scores : dict, optional
        Held-out scores for the spec (default: the last validation record of the checkpoint).
    example_size : int, optional
        Image size of the export and of the numerical check (default: the smallest multiple
        of the network's stride that is at least 64 px).
    overwrite : bool
        Replace an existing file at ``path`` (its card, version and sha256 are lost).
        The file is written atomically: a failed export leaves any existing file as it was.

    Returns
    -------
    `ExportResult`

    Raises
    ------
    InvalidArgumentError
        A ``name`` (or, without one, a file name) that is registered, empty or not a string.
    OutputExistsError
        ``path`` exists and ``overwrite`` is False (checked before the checkpoint is read).
    """
    from sunpy_dlmag.io import write_atomic
    from sunpy_dlmag.models import WeightsSource
    from sunpy_dlmag.models.registry import sha256sum
    from sunpy_dlmag.training.trainer import load_checkpoint, preset_of

    name = _model_name(name, path)
    if Path(path).exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it.")
    state = load_checkpoint(checkpoint)
    preset = preset_of(state)
    generator = preset.build_generator(**state["generator_kwargs"])
    generator.load_state_dict(state["generator"])
    generator.eval()
    if scores is None:
        history = json.loads(state["history"])
        scores = _scores(history[-1]) if history else {}
    epochs = f"{state['epoch']} epoch{'s' if state['epoch'] != 1 else ''}"
    base = preset.base_spec()
    spec = preset.model_spec(
        name=name,
        version=version or f"epoch{state['epoch']}",
        architecture=_architecture(generator, state["generator_kwargs"], preset, state.get("size", "published")),
        training_data=training_data
        or f"user-trained from preset {preset.name} on {state.get('data') or 'unrecorded data'} for {epochs}",
        scores=scores,
        license=license or "unknown (user-trained weights)",
        reference=_method_reference(base.reference),
    )
    geometry = dataclasses.replace(
        spec.geometry, stride=generator.stride, receptive_radius=int(generator.receptive_radius)
    )
    # A new export is not the registered file: it carries no sha256 or download location.
    spec = dataclasses.replace(spec, geometry=geometry, weights=WeightsSource())
    if example_size is None:
        example_size = -(-64 // generator.stride) * generator.stride
    checked = []

    def write(tmp):
        checked.append(export_to_onnx(generator, tmp, in_channels=spec.n_inputs, example_size=example_size, spec=spec))

    write_atomic(path, write, overwrite=overwrite)
    return ExportResult(Path(path), sha256sum(path), checked[0], spec)


def _model_name(name, path):
    from sunpy_dlmag.exceptions import InvalidArgumentError
    from sunpy_dlmag.models import list_models

    given = name is not None
    if not given:
        name = Path(path).name.removesuffix(".onnx")
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"name must be a non-empty string, got {name!r}.")
    if name in list_models():
        where = "" if given else f" (taken from the file name {Path(path).name})"
        raise InvalidArgumentError(
            f"{name!r}{where} is the name of a registered model; the outputs of this network would claim to "
            f"come from it. Give the export another name (name=..., --name), e.g. '{name}-mine'."
        )
    return name


def _method_reference(reference):
    """The publication of the method, without what the registry says about its shipped weights."""
    # Registry references name the publication first; a note on the shipped weights follows a ';'.
    publication = reference.split(";")[0].strip()
    return f"method: {publication}; weights: user-trained" if publication else "weights: user-trained"


def _scores(record):
    """The validation scores of an epoch's record, without a flux CC over too few images to mean anything."""
    from sunpy_dlmag.training.trainer import MIN_FLUX_CC_IMAGES

    scores = {k: round(v, 4) for k, v in record.items() if k.startswith("val_")}
    if scores.get("val_images", MIN_FLUX_CC_IMAGES) < MIN_FLUX_CC_IMAGES:
        scores.pop("val_unsigned_flux_cc", None)
    return scores


def _architecture(generator, kwargs, preset, size="published"):
    """What the trained network is: its class, size, settings, inputs, parameter count and weight size."""
    settings = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    n = sum(p.numel() for p in generator.parameters())
    count = f"{n / 1e6:.2f} M" if n >= 1e5 else f"{n:,}"
    megabytes = 4 * n / 1e6  # float32
    return (
        f"{type(generator).__name__} ({settings}) from preset {preset.name}, {size} size, inputs "
        f"{preset.channels_label}; {count} parameters ({megabytes:.3g} MB of float32 weights)"
    )


def load_onnx_weights(module, path):
    """
    Load the weights of an exported ONNX file back into a torch network, to fine-tune it.

    The exporter folds batch normalisation into the preceding convolution, storing the
    folded bias as ``<name>.weight_bias``; such files load exactly into the same network
    built with ``norm="none"`` (whose convolutions have biases). Only weights are read
    (``onnx.numpy_helper``), never code.

    Parameters
    ----------
    module : `torch.nn.Module`
        The network, with the parameter names and shapes of the exported one.
    path : str or `os.PathLike`

    Returns
    -------
    `torch.nn.Module`
        ``module``, with its parameters replaced.

    Raises
    ------
    ValueError
        If a parameter of ``module`` has no counterpart of the same shape in the file.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path), load_external_data=False)
    stored = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    state = {}
    for name, tensor in module.state_dict().items():
        candidates = [name] + ([name[: -len(".bias")] + ".weight_bias"] if name.endswith(".bias") else [])
        found = next((stored[c] for c in candidates if c in stored), None)
        if found is None or tuple(found.shape) != tuple(tensor.shape):
            raise InvalidArgumentError(
                f"{path} has no weights of shape {tuple(tensor.shape)} for {name!r}; it is not an export of this "
                "network (batch-normalised exports load into the same network with norm='none')."
            )
        state[name] = torch.from_numpy(np.array(found, dtype=np.float32))
    module.load_state_dict(state)
    return module
