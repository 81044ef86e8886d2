"""
The model registry: named `~sunpy_dlmag.models.ModelSpec` entries and where their weights come from.

Weights are resolved in this order:

1. an explicit file path (a model the user trained or downloaded), whose spec is stored
   beside it (``model.json`` next to ``model.onnx``) or inside the ONNX metadata;
2. weights bundled in the package (``sunpy_dlmag/models/weights``);
3. remote weights fetched through `sunpy.data.manager` (URL + sha256, cached).

The sha256 is verified before an onnxruntime session is created.
"""

import dataclasses
import os
from pathlib import Path

from sunpy import log

from sunpy_dlmag import checks
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    ModelTaskError,
    UnknownModelError,
    WeightsHashMismatchError,
    WeightsNotInstalledError,
)
from sunpy_dlmag.models.catalogue import PUBLISHED_MODELS
from sunpy_dlmag.models.onnx_utils import (  # noqa: F401  (the file helpers, importable from here as before)
    onnx_opset,
    read_spec_for,
    sha256sum,
    strip_exporter_metadata,
    write_spec_to_onnx,
)
from sunpy_dlmag.models.runtime import Model
from sunpy_dlmag.models.spec import ModelSpec

__all__ = [
    "check_task",
    "get_model",
    "list_models",
    "load_model",
    "register_model",
    "sha256sum",
    "spec_of",
    "weights_status",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"

_REGISTRY = {}


def register_model(spec, *, overwrite=False):
    """
    Add a `~sunpy_dlmag.models.ModelSpec` to the registry so that it can be loaded by name.

    Parameters
    ----------
    spec : `~sunpy_dlmag.models.ModelSpec`
    overwrite : bool
        Replace an entry of the same name instead of raising.
    """
    if not isinstance(spec, ModelSpec):
        raise ArgumentTypeError(f"register_model expects a ModelSpec, got {type(spec).__name__}.")
    if spec.name in _REGISTRY and not overwrite:
        raise InvalidArgumentError(
            f"A model named {spec.name!r} is already registered; pass overwrite=True to replace it."
        )
    _REGISTRY[spec.name] = spec


for _spec in PUBLISHED_MODELS:
    register_model(_spec)


def list_models(task=None):
    """
    Names of the registered models, sorted.

    Parameters
    ----------
    task : str, optional
        Only models for this task (``"farside"``, ``"denoise"``, ``"drawing"``, or the task of
        a model you registered).

    Raises
    ------
    InvalidArgumentError
        A task no registered model has.

    See Also
    --------
    sunpy_dlmag.get_model
        one model's description.
    sunpy_dlmag.load_model
        the runnable network.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.
    .. [2] Kim, T., Park, E., Lee, H., et al. 2019, Nature Astronomy 3, 397: solar farside magnetograms from deep
       learning analysis of STEREO/EUVI data.
    .. [3] Jeong, H.-J., Moon, Y.-J., Park, E., et al. 2022, ApJS 262, 50: improved AI-generated solar farside
       magnetograms by STEREO and SDO data sets and their release.

    Examples
    --------
    >>> import sunpy_dlmag
    >>> "denoise-m2" in sunpy_dlmag.list_models()
    True
    """
    if task is not None:
        tasks = sorted({"farside", "denoise", "drawing"} | {spec.task for spec in _REGISTRY.values()})
        checks.check_choice(task, tasks, "task")
    return sorted(name for name, spec in _REGISTRY.items() if task is None or spec.task == task)


def get_model(name):
    """
    The `~sunpy_dlmag.models.ModelSpec` registered under ``name``.

    Raises
    ------
    UnknownModelError
        If no model of that name is registered (the message lists the known ones).

    See Also
    --------
    sunpy_dlmag.list_models
        the registered names.
    sunpy_dlmag.load_model
        the runnable network.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.
    .. [2] Kim, T., Park, E., Lee, H., et al. 2019, Nature Astronomy 3, 397: solar farside magnetograms from deep
       learning analysis of STEREO/EUVI data.
    .. [3] Jeong, H.-J., Moon, Y.-J., Park, E., et al. 2022, ApJS 262, 50: improved AI-generated solar farside
       magnetograms by STEREO and SDO data sets and their release.

    Examples
    --------
    >>> import sunpy_dlmag
    >>> spec = sunpy_dlmag.get_model("denoise-m2")
    >>> spec.task, spec.geometry.stride
    ('denoise', 16)
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownModelError(
            f"Unknown model {name!r}. Known models: {', '.join(list_models())}. "
            "A trained ONNX file can be given by its path instead."
        ) from None


def weights_status(spec):
    """One of ``"bundled"``, ``"remote"`` or ``"not installed"`` for a registered spec."""
    if spec.weights.bundled and (WEIGHTS_DIR / spec.weights.bundled).is_file():
        return "bundled"
    if spec.weights.url and spec.weights.sha256:
        return "remote"
    return "not installed"


def load_model(model, *, device="auto", num_threads=None, task=None, precision="fp32"):
    """
    Load a trained network, ready to run.

    Parameters
    ----------
    model : str, `os.PathLike`, `~sunpy_dlmag.models.ModelSpec` or `~sunpy_dlmag.models.Model`
        A registered model name (see `list_models`), the path of an ONNX file, a spec (its
        weights are found as for a registered one), or a loaded model (returned as it is,
        after the task check).
    device : {"auto", "cpu", "cuda"}
        Where to run: ``"auto"`` uses CUDA when onnxruntime has the CUDA provider.
    num_threads : int, optional
        Threads onnxruntime uses on the CPU (default: its own choice, one per core).
    task : str, optional
        The task the caller needs (``"denoise"``, ``"farside"``, ``"drawing"``); a model for
        another task is refused.
    precision : {"fp32", "int8", "fp16"}
        ``"int8"`` (CPU only): the graph quantized statically (int8 weights, uint8
        activations calibrated on the sample data that ship with the package), built on
        first use into a cache and checked by its sha256 at every later use; faster, less
        exact (see the performance page). ``"fp16"`` (CUDA only, untested here): the graph
        in half precision. A loaded model is returned as it is.

    Returns
    -------
    `~sunpy_dlmag.models.Model`

    Raises
    ------
    UnknownModelError
        Neither a known name nor an existing file.
    WeightsNotInstalledError
        A known model without weights on this machine or a place to download them.
    WeightsHashMismatchError
        Weights whose sha256 differs from the spec's.
    ModelInputMismatchError
        An ONNX graph whose inputs do not match its spec.
    ModelTaskError
        A model made for another task than ``task``.

    See Also
    --------
    sunpy_dlmag.get_model
        the description without the weights.
    sunpy_dlmag.denoise
        the function that loads and runs it for you.

    References
    ----------
    .. [1] Park, E., Lee, H., Moon, Y.-J., et al. 2020, ApJL 891, L4: de-noising SDO/HMI solar magnetograms by image
       translation method based on deep learning.
    .. [2] Kim, T., Park, E., Lee, H., et al. 2019, Nature Astronomy 3, 397: solar farside magnetograms from deep
       learning analysis of STEREO/EUVI data.
    .. [3] Jeong, H.-J., Moon, Y.-J., Park, E., et al. 2022, ApJS 262, 50: improved AI-generated solar farside
       magnetograms by STEREO and SDO data sets and their release.

    Examples
    --------
    >>> import sunpy_dlmag
    >>> model = sunpy_dlmag.load_model("denoise-m2", device="cpu")
    >>> model.spec.name
    'denoise-m2'
    """
    num_threads = checks.check_int(num_threads, "num_threads", minimum=1, allow_none=True)
    if isinstance(model, Model):
        return check_task(model, task)
    path, spec = _resolve(model)
    check_task(spec, task)
    digest = sha256sum(path)
    expected = spec.weights.sha256
    if expected and digest != expected:
        raise WeightsHashMismatchError(
            f"The weights file {path} has sha256 {digest}, but the spec of {spec.name!r} expects {expected}. "
            "The file is corrupted or not the published one: delete it and fetch or export it again."
        )
    if not expected:  # e.g. a user's export: its card names the file it runs by its sha256
        spec = dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, sha256=digest))
    return Model(spec, path, sha256=digest, device=device, num_threads=num_threads, precision=precision)


def spec_of(model):
    """
    The `~sunpy_dlmag.models.ModelSpec` of a registered name, an ONNX path, a spec or a loaded model; no weights needed.

    Raises
    ------
    UnknownModelError
        Neither a known name nor an existing file.
    """
    if isinstance(model, Model):
        return model.spec
    if isinstance(model, ModelSpec):
        return model
    path = Path(str(model)).expanduser()
    if path.is_file():
        return read_spec_for(path)
    return get_model(model)


def check_task(model, task):
    """``model`` (a spec or loaded model) if it is made for ``task`` (or ``task`` is None), else raise."""
    spec = getattr(model, "spec", model)
    if task is not None and spec.task != task:
        others = ", ".join(list_models(task)) or "none registered"
        raise ModelTaskError(
            f"Model {spec.name!r} is a {spec.task!r} model; this needs a {task!r} model (registered: {others})."
        )
    return model


def _resolve(name_or_path):
    """(weights path, spec) following the documented order."""
    if isinstance(name_or_path, ModelSpec):
        return _weights_of(name_or_path), name_or_path
    if isinstance(name_or_path, os.PathLike) or (isinstance(name_or_path, str) and name_or_path not in _REGISTRY):
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path, read_spec_for(path)
        if isinstance(name_or_path, os.PathLike) or name_or_path.endswith(".onnx"):
            raise WeightsNotInstalledError(f"No weights file at {path}.")
    spec = get_model(name_or_path)
    return _weights_of(spec), spec


def _weights_of(spec):
    """The weights file of a spec: bundled, else downloaded."""
    if spec.weights.bundled:
        path = WEIGHTS_DIR / spec.weights.bundled
        if path.is_file():
            return path
        log.warning(f"The bundled weights of {spec.name} ({path}) are missing; trying the remote copy.")
    if spec.weights.url and spec.weights.sha256:
        return _download(spec)
    raise WeightsNotInstalledError(_not_installed_message(spec))


def _download(spec):
    from sunpy.data import manager

    key = f"sunpy_dlmag-{spec.name}-{spec.version}.onnx"

    @manager.require(key, [spec.weights.url], spec.weights.sha256)
    def fetch():
        return manager.get(key)

    try:
        return Path(fetch())
    except Exception as err:  # network, hash and cache errors all mean: not installed
        raise WeightsNotInstalledError(
            f"Could not download the weights of {spec.name!r} from {spec.weights.url}: {err}\n"
            + _not_installed_message(spec)
        ) from err


# How to get the training data of each preset, for the not-installed message. Noise-trained
# presets (denoise-m2*) learn from magnetograms alone; the others from input-target pairs.
_NOISE_TRAINED = "{instrument} magnetogram FITS files in G, in DIR (noise is added during training; no pairs)"
_DATA_STEPS = {
    "denoise-m1": (
        "sunpy_dlmag.data.fetch_hmi_series(...)  (21 consecutive 45-s magnetograms per target)\n"
        "      sunpy_dlmag.stack_magnetograms(maps)  (aligned 21-frame stacks as targets; write a manifest\n"
        "      of single-frame inputs and stacked targets with sunpy_dlmag.data.fetch.write_manifest)"
    ),
    "denoise-m2": _NOISE_TRAINED.format(instrument="line-of-sight (e.g. SOHO/MDI or SDO/HMI)"),
    "denoise-m2-hmi": _NOISE_TRAINED.format(instrument="SDO/HMI line-of-sight"),
    "drawing": (
        "sunpy_dlmag.training.drawings.drawing_training_pairs(hmi_files, DIR)\n"
        "      (drawings traced from HMI magnetograms;\n"
        "      or scans read with read_drawing, saved with save_map and listed with write_manifest)"
    ),
}
_PAIRS_BY_TASK = {
    "farside": "sunpy-dlmag fetch-pairs --start ... --end ... --out DIR   (EUV-magnetogram training pairs)",
}
_OTHER_PAIRS = "input and target FITS files listed in DIR/manifest.csv (sunpy_dlmag.data.fetch.write_manifest)"


def _data_step(spec):
    """How to get the training data of ``spec``'s preset."""
    preset = spec.preset or spec.name
    return _DATA_STEPS.get(preset) or _PAIRS_BY_TASK.get(spec.task, _OTHER_PAIRS)


def _not_installed_message(spec):
    preset = spec.preset or spec.name
    mine = f"my-{spec.name}.onnx"  # not the registered name: outputs must not claim the published weights
    return (
        f"No weights are installed for {spec.name!r}, and this package registers no download of them. Either\n"
        f"  * train them with this package:\n"
        f"      {_data_step(spec)}\n"
        f"      sunpy-dlmag train {preset} --data DIR --out RUN\n"
        f"      sunpy-dlmag export RUN/checkpoint.pt {mine}\n"
        f"    and pass the file: model='{mine}' in Python (or load_model('{mine}')),\n"
        f"    --model {mine} on the command line; or\n"
        f"  * obtain the authors' weights ({spec.reference or 'see the model card'}), export them to ONNX\n"
        f"    (see the training guide), and pass that file the same way."
    )
