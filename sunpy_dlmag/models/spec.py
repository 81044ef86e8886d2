"""
What a trained network needs to be used correctly: `ModelSpec` and its parts.

A spec travels with its weights (inside the ONNX metadata or as a JSON file beside
them), so a file trained by a user carries everything the runtime needs.
"""

import json
from dataclasses import asdict, dataclass, field, fields

import astropy.units as u
import numpy as np

from sunpy_dlmag.exceptions import InvalidModelSpecError

__all__ = ["Channel", "Geometry", "ModelSpec", "Normalization", "WeightsSource"]

# Key under which a spec is stored in an ONNX file's metadata_props.
ONNX_METADATA_KEY = "sunpy_dlmag.spec"


@dataclass(frozen=True)
class Normalization:
    """
    Maps physical values to the network's range and back.

    ``kind="linear"`` maps ``[vmin, vmax]`` linearly to ``[-1, 1]``; ``kind="log10"`` does
    the same with ``log10`` of the values (``vmin`` and ``vmax`` are then physical values,
    e.g. ``log10(clip(I, 1, 200))`` for AISFM-v2 EUV inputs). With ``clip=True`` values
    outside ``[vmin, vmax]`` are clipped first, as the papers do.
    """

    kind: str = "linear"
    vmin: float = -1.0
    vmax: float = 1.0
    clip: bool = True

    def __post_init__(self):
        if self.kind not in ("linear", "log10"):
            raise InvalidModelSpecError(f"Normalization kind must be 'linear' or 'log10', got {self.kind!r}.")
        if not self.vmax > self.vmin:
            raise InvalidModelSpecError(f"Normalization needs vmax > vmin, got vmin={self.vmin}, vmax={self.vmax}.")
        if self.kind == "log10" and self.vmin <= 0:
            raise InvalidModelSpecError(f"A log10 normalization needs vmin > 0, got vmin={self.vmin}.")

    def _bounds(self):
        if self.kind == "log10":
            return np.log10(self.vmin), np.log10(self.vmax)
        return self.vmin, self.vmax

    def forward(self, values):
        """Physical values to network values (float32); NaN stays NaN."""
        x = np.asarray(values, dtype=np.float32)
        if self.clip or self.kind == "log10":
            # log10 needs positive values whatever ``clip`` says.
            lo = self.vmin if self.clip else np.finfo(np.float32).tiny
            hi = self.vmax if self.clip else np.inf
            x = np.clip(x, lo, hi)
        if self.kind == "log10":
            x = np.log10(x)
        lo, hi = self._bounds()
        return ((x - lo) * np.float32(2.0 / (hi - lo)) - 1.0).astype(np.float32, copy=False)

    def inverse(self, values):
        """Network values back to physical values (float32)."""
        lo, hi = self._bounds()
        x = (np.asarray(values, dtype=np.float32) + 1.0) * np.float32((hi - lo) / 2.0) + np.float32(lo)
        if self.kind == "log10":
            x = np.power(np.float32(10.0), x)
        return x.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Channel:
    """
    One input or output channel of a network.

    Parameters
    ----------
    instrument : str
        Instrument whose data the channel expects, e.g. ``"AIA"``, ``"EUVI"``, ``"HMI"``.
    wavelength : `~astropy.units.Quantity` or None
        Wavelength for EUV channels, `None` for magnetograms.
    unit : str
        Physical unit of the values, e.g. ``"G"`` or ``"DN/s"``.
    normalization : `Normalization`
        How the values are mapped to the network's range.
    description : str
        Free text, e.g. ``"frontside HMI magnetogram one rotation earlier"``.
    """

    instrument: str
    wavelength: u.Quantity | None = None
    unit: str = ""
    normalization: Normalization = field(default_factory=Normalization)
    description: str = ""

    @property
    def label(self):
        """Short name such as ``'AIA 304 Angstrom'`` or ``'HMI'``."""
        if self.wavelength is None:
            return self.instrument
        return f"{self.instrument} {self.wavelength.to_value(u.AA):g} Angstrom"


@dataclass(frozen=True)
class Geometry:
    """
    The image geometry a network was trained on.

    ``image_size=None`` means the network runs on the input's own pixel grid (e.g. the
    denoising models); otherwise full-disk inputs are rotated solar north up, centred and
    rescaled so that the solar radius spans ``rsun_px`` pixels in an
    ``image_size x image_size`` image (AISFM: 1024 and 392).

    ``stride`` is the factor the input size must be a multiple of (2**downsamplings) and
    ``receptive_radius`` how far (in pixels) one output pixel sees; tiles overlap by at
    least four times that for seamless tiled inference. ``tile_safe=False`` marks networks
    with image-wide normalisation, whose tiles cannot reproduce the whole-image result.
    """

    image_size: int | None = None
    rsun_px: float | None = None
    stride: int = 1
    receptive_radius: int = 0
    tile_safe: bool = True

    def __post_init__(self):
        if (self.image_size is None) != (self.rsun_px is None):
            raise InvalidModelSpecError(
                "Geometry needs both image_size and rsun_px, or neither; "
                f"got image_size={self.image_size}, rsun_px={self.rsun_px}."
            )
        if self.stride < 1 or self.receptive_radius < 0:
            raise InvalidModelSpecError(
                f"Geometry needs stride >= 1 and receptive_radius >= 0, got {self.stride}, {self.receptive_radius}."
            )
        if self.image_size is not None and self.image_size % self.stride:
            raise InvalidModelSpecError(f"image_size {self.image_size} is not a multiple of the stride {self.stride}.")

    @property
    def native(self):
        """True when the network runs on the input's own pixel grid."""
        return self.image_size is None


@dataclass(frozen=True)
class WeightsSource:
    """
    Where a model's ONNX weights come from.

    ``bundled`` is a file name inside ``sunpy_dlmag/models/weights``; ``url`` a remote
    location fetched through `sunpy.data.manager`; ``sha256`` the hash both must have.
    All three empty means no weights are published for the model.
    """

    sha256: str | None = None
    bundled: str | None = None
    url: str | None = None

    @property
    def available(self):
        return bool(self.sha256 and (self.bundled or self.url))


@dataclass(frozen=True)
class ModelSpec:
    """
    Everything needed to use a trained network correctly, and to judge it.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"aisfm-v2"``.
    task : str
        ``"farside"``, ``"denoise"``, ``"drawing"`` or another task name.
    architecture : str
        Network family and size, e.g. ``"Pix2PixHD global generator (32 filters, 4 down, 9 res)"``.
    inputs : tuple of `Channel`
        Input channels in the order the network expects them.
    output : `Channel`
        The single output channel (its unit is the unit of the output map).
    geometry : `Geometry`
        Image geometry the network was trained on.
    version : str
        Version of the weights.
    training_data : str
        What the network was trained on.
    scores : dict
        Scores measured on held-out data, name to value.
    license : str
        Licence of the weights.
    reference : str
        Publication that describes the method.
    weights : `WeightsSource`
        Where the ONNX weights are and their sha256.
    preset : str
        Training preset that reproduces the network (``sunpy-dlmag train PRESET``).
    """

    name: str
    task: str
    architecture: str
    inputs: tuple[Channel, ...]
    output: Channel
    geometry: Geometry = field(default_factory=Geometry)
    version: str = "0"
    training_data: str = ""
    scores: dict = field(default_factory=dict)
    license: str = ""
    reference: str = ""
    weights: WeightsSource = field(default_factory=WeightsSource)
    preset: str = ""

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise InvalidModelSpecError(f"A model spec needs a non-empty name, got {self.name!r}.")
        if not self.inputs:
            raise InvalidModelSpecError(f"Model spec {self.name!r} has no input channels.")
        # Accept lists from JSON or callers; keep the spec hashable-looking and immutable.
        object.__setattr__(self, "inputs", tuple(self.inputs))

    @property
    def n_inputs(self):
        return len(self.inputs)

    def to_dict(self):
        """Plain JSON-compatible dictionary."""
        d = asdict(self)
        for channel in [*d["inputs"], d["output"]]:
            wl = channel["wavelength"]
            channel["wavelength"] = None if wl is None else float(wl.to_value(u.AA))
        return d

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Inverse of `to_dict`; raises `InvalidModelSpecError` on anything malformed."""
        try:
            data = dict(data)
            data["inputs"] = tuple(_channel_from_dict(c) for c in data["inputs"])
            data["output"] = _channel_from_dict(data["output"])
            data["geometry"] = Geometry(**data.get("geometry", {}))
            data["weights"] = WeightsSource(**data.get("weights", {}))
            known = {f.name for f in fields(cls)}
            unknown = set(data) - known
            if unknown:
                raise InvalidModelSpecError(f"Unknown model spec fields {sorted(unknown)}; known: {sorted(known)}.")
            return cls(**data)
        except InvalidModelSpecError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidModelSpecError(f"Malformed model spec: {err!r}") from err

    @classmethod
    def from_json(cls, text):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:  # RecursionError: nested too deep
            raise InvalidModelSpecError(f"Model spec is not valid JSON: {err}") from err
        return cls.from_dict(data)

    def summary(self):
        """Human-readable description, as printed by ``sunpy-dlmag models info``."""
        geometry = (
            "input's own pixel grid"
            if self.geometry.native
            else f"{self.geometry.image_size}x{self.geometry.image_size} px, solar north up, "
            f"disk centred, solar radius {self.geometry.rsun_px:g} px"
        )
        lines = [
            f"{self.name} (version {self.version})",
            f"  task:          {self.task}",
            f"  architecture:  {self.architecture}",
            f"  inputs:        {', '.join(c.label for c in self.inputs)}",
            f"  output:        {self.output.label} [{self.output.unit}]",
            f"  geometry:      {geometry}",
            f"  tiling:        stride {self.geometry.stride}, "
            + ("tile-safe" if self.geometry.tile_safe else "NOT tile-safe (image-wide normalisation)"),
            f"  training data: {self.training_data or 'n/a'}",
            f"  scores:        {_format_scores(self.scores)}",
            f"  licence:       {self.license or 'n/a'}",
            f"  reference:     {self.reference or 'n/a'}",
            f"  preset:        {self.preset or 'n/a'}",
            f"  weights:       {_format_weights(self.weights)}",
        ]
        for i, c in enumerate(self.inputs):
            n = c.normalization
            lines.append(
                f"  input {i} norm:  {n.kind} [{n.vmin:g}, {n.vmax:g}] -> [-1, 1]{' clipped' if n.clip else ''}"
            )
        n = self.output.normalization
        lines.append(f"  output norm:   [-1, 1] -> {n.kind} [{n.vmin:g}, {n.vmax:g}]")
        return "\n".join(lines)


def _channel_from_dict(d):
    d = dict(d)
    if d.get("wavelength") is not None:
        d["wavelength"] = d["wavelength"] * u.AA
    d["normalization"] = Normalization(**d.get("normalization", {}))
    return Channel(**d)


def _format_scores(scores):
    if not scores:
        return "none measured"
    return "; ".join(f"{k} = {v}" for k, v in scores.items())


def _format_weights(w):
    where = []
    if w.bundled:
        where.append(f"bundled ({w.bundled})")
    if w.url:
        where.append(f"remote ({w.url})")
    if not where and w.sha256:
        return f"a local file, sha256 {w.sha256} (no published copy)"
    if not where:
        return "none published (train your own, see the training guide)"
    return ", ".join(where) + f", sha256 {w.sha256}"
