"""
Training presets: the published settings of each network (see SCIENCE.md and the papers).

A preset knows its generator, discriminator, losses and optimiser settings, and fills a
`~sunpy_dlmag.models.ModelSpec` (input channels, geometry, normalisation) from the
registry entry of the same name, so an exported network carries everything the runtime
needs.

Pix2PixHD-family generators normalise with instance norm over the whole image, as
published; their networks cannot be run in tiles (the spec says ``tile_safe=False`` and
the runtime then runs the whole 1024x1024 image). Each of them has a ``-tilesafe``
variant with batch normalisation, which uses fixed statistics at inference time and so
gives the same result tiled or whole.
"""

import dataclasses
from dataclasses import dataclass, field

from sunpy_dlmag.exceptions import UnknownModelError
from sunpy_dlmag.models import get_model
from sunpy_dlmag.models.spec import Geometry

__all__ = ["SIZES", "Preset", "get_preset", "list_presets"]

# Generator settings of a network small enough to train on a laptop CPU: at most 5 M
# parameters (20 MB of float32 weights) for every preset and channel count.
_SMALL = {
    "unet": {"base_filters": 8, "max_filters": 128},
    "global": {"base_filters": 8},
    "denoise": {"base_filters": 32, "max_filters": 128, "n_res": 4},
}
# Their discriminators, whose 64 base filters would otherwise take most of the time of a step.
_SMALL_DISCRIMINATOR = {"base_filters": 16}
SIZES = ("published", "small")
# The command-line flag of each generator setting that has one.
GENERATOR_FLAGS = {"base_filters": "--base-filters", "n_res": "--n-res", "max_filters": "--max-filters"}


@dataclass(frozen=True)
class Preset:
    """
    Everything needed to train one published network.

    Parameters
    ----------
    name : str
        Preset name (``sunpy-dlmag train NAME``).
    model : str
        Registry entry whose channels, geometry and normalisation the network uses.
    generator : str
        ``"unet"`` (pix2pix), ``"global"`` (Pix2PixHD/Pix2PixCC) or ``"denoise"`` (Park et al. 2020).
    generator_kwargs : dict
        Arguments of the generator class beyond the channel counts.
    discriminator : str or None
        ``"patch"`` (PatchGAN), ``"multiscale"`` (PatchGANs at several scales) or `None`
        (autoencoder training).
    discriminator_kwargs : dict
    gan_mode : str or None
        ``"bce"`` or ``"lsgan"``.
    loss_weights : dict
        Weights of the loss terms: ``gan``, ``l1``, ``mse``, ``fm`` (feature matching), ``cc``.
    cc_kind : str
        ``"concordance"`` or ``"pearson"`` for the correlation loss.
    cc_scales : int
        Scales of the correlation loss.
    lr, betas : float, tuple
        Adam settings.
    batch_size, patch_size : int
        Published batch size and training image or patch size.
    noise_training : bool
        Trained on noise added to real magnetograms (``denoise-m2``) rather than on pairs.
    notes : str
        What a user should know (e.g. whether the network can be tiled).
    spec : `~sunpy_dlmag.models.ModelSpec`, optional
        Channels, geometry and normalisation in place of the registry entry ``model``'s
        (`with_channels` sets it).
    """

    name: str
    model: str
    generator: str
    generator_kwargs: dict = field(default_factory=dict)
    discriminator: str | None = None
    discriminator_kwargs: dict = field(default_factory=dict)
    gan_mode: str | None = None
    loss_weights: dict = field(default_factory=dict)
    cc_kind: str = "concordance"
    cc_scales: int = 4
    lr: float = 2e-4
    betas: tuple = (0.5, 0.999)
    batch_size: int = 1
    patch_size: int = 1024
    noise_training: bool = False
    notes: str = ""
    spec: object = None

    def _spec(self):
        """The spec whose channels the network takes: ``spec`` if set (`with_channels`), else the registry's."""
        return self.spec if self.spec is not None else get_model(self.model)

    def with_channels(self, wavelengths):
        """
        The same network and training settings, on EUV input channels of the user's choice.

        Parameters
        ----------
        wavelengths : sequence of int, str or `~astropy.units.Quantity`
            Passbands of the preset's EUV instrument, in the order the network takes them,
            e.g. ``[171]`` or ``[304, 193, 171]``. For AIA, an EUVI passband names its AIA
            counterpart (195 -> 193), since the network is later applied to EUVI images.

        Returns
        -------
        `Preset`
            Of the same name, whose ``spec`` has those input channels; each channel takes the
            normalisation of a registered channel of the same instrument and passband if one
            exists, else that of the preset's first channel.

        Raises
        ------
        InvalidArgumentError
            A preset whose inputs are not EUV images of one instrument, or a passband that
            instrument has no counterpart of on EUVI, or a passband given twice.
        """
        import astropy.units as u

        from sunpy_dlmag.calibration import EUVI_TO_AIA
        from sunpy_dlmag.exceptions import InvalidArgumentError
        from sunpy_dlmag.models import list_models

        base = get_model(self.model)
        instruments = {c.instrument.upper() for c in base.inputs}
        if any(c.wavelength is None for c in base.inputs) or len(instruments) != 1:
            raise InvalidArgumentError(
                f"Preset {self.name!r} takes {', '.join(c.label for c in base.inputs)}; channels (--channels) can "
                "be chosen only for presets whose inputs are EUV images of one instrument (aisfm-v1, aisfm-v2, "
                "pix2pixcc)."
            )
        (instrument,) = instruments
        allowed = sorted(set(EUVI_TO_AIA.values()) if instrument == "AIA" else set(EUVI_TO_AIA))
        if isinstance(wavelengths, str | int | u.Quantity) and not (
            isinstance(wavelengths, u.Quantity) and not wavelengths.isscalar
        ):
            wavelengths = [wavelengths]
        chosen = []
        for given in wavelengths:
            try:
                value = given.to_value(u.AA) if isinstance(given, u.Quantity) else float(str(given).strip())
            except (ValueError, TypeError, u.UnitsError):
                value = None
            if value is not None and instrument == "AIA":
                value = EUVI_TO_AIA.get(round(value), value)
            if value is None or round(value) not in allowed:
                raise InvalidArgumentError(
                    f"channels (--channels) are {instrument} passbands in Angstrom, "
                    f"{', '.join(map(str, allowed))}; got {given!r}."
                )
            chosen.append(round(value))
        if not chosen or len(set(chosen)) != len(chosen):
            raise InvalidArgumentError(f"channels (--channels) must name each passband once, got {list(wavelengths)}.")
        known = {
            (c.instrument.upper(), round(c.wavelength.to_value(u.AA))): c
            for name in [self.model, *list_models(task=base.task)]
            for c in get_model(name).inputs
            if c.wavelength is not None
        }
        inputs = tuple(
            dataclasses.replace(
                known.get((instrument, wl), base.inputs[0]),
                instrument=base.inputs[0].instrument,
                wavelength=wl * u.AA,
            )
            for wl in chosen
        )
        return dataclasses.replace(self, spec=dataclasses.replace(base, inputs=inputs))

    @property
    def channels_label(self):
        """The input channels, e.g. ``"AIA 171 Angstrom"``."""
        return ", ".join(c.label for c in self._spec().inputs)

    @property
    def tile_safe(self):
        """Whether tiles reproduce the whole image: no instance norm, and not a U-Net that sees the whole image."""
        return self.generator != "unet" and self.generator_kwargs.get("norm", "batch") != "instance"

    @property
    def stride(self):
        if self.generator == "unet":
            return 2 ** self.generator_kwargs.get("depth", 8)
        return 2 ** self.generator_kwargs.get("n_down", 4)

    def base_spec(self):
        """The registry entry this preset trains (or ``spec``), with the geometry of this preset's network."""
        spec = self._spec()
        geometry = Geometry(
            image_size=spec.geometry.image_size,
            rsun_px=spec.geometry.rsun_px,
            stride=self.stride,
            receptive_radius=spec.geometry.receptive_radius,
            tile_safe=self.tile_safe,
        )
        return dataclasses.replace(spec, name=self.name, geometry=geometry, preset=self.name, version="0")

    def model_spec(self, *, receptive_radius=None, **fields):
        """
        A `~sunpy_dlmag.models.ModelSpec` for a network trained with this preset.

        ``fields`` replace spec fields (``version``, ``training_data``, ``scores``...).
        """
        spec = self.base_spec()
        if receptive_radius is not None:
            spec = dataclasses.replace(
                spec, geometry=dataclasses.replace(spec.geometry, receptive_radius=receptive_radius)
            )
        return dataclasses.replace(spec, **fields)

    def _generator_class(self):
        from sunpy_dlmag.training import networks

        classes = {
            "unet": networks.UNetGenerator,
            "global": networks.GlobalGenerator,
            "denoise": networks.DenoiseGenerator,
        }
        return classes[self.generator]

    def generator_settings(self, size="published", **overrides):
        """
        The generator's settings at a size, with ``overrides`` on top, checked against the generator.

        Parameters
        ----------
        size : {"published", "small"}
            ``"published"``: the preset's `generator_kwargs`. ``"small"``: fewer filters (and, for
            the denoisers, fewer residual blocks), at most 5 M parameters, to train on a CPU
            (with the smaller discriminator of `discriminator_settings`).
        **overrides
            Settings of the generator class, e.g. ``base_filters``, ``max_filters``, ``n_res``.

        Returns
        -------
        dict

        Raises
        ------
        InvalidArgumentError
            An unknown size, or a setting the preset's generator does not take (checked here,
            before any data are prepared), named with its command-line flag where it has one.
        """
        import inspect

        from sunpy_dlmag.exceptions import InvalidArgumentError

        if size not in SIZES:
            raise InvalidArgumentError(f"size (--size) must be one of {', '.join(SIZES)}; got {size!r}.")
        generator = self._generator_class()
        taken = [k for k in inspect.signature(generator).parameters if k not in ("in_channels", "out_channels")]
        unknown = [k for k in overrides if k not in taken]
        if unknown:
            names = ", ".join(f"{k} ({GENERATOR_FLAGS[k]})" if k in GENERATOR_FLAGS else k for k in unknown)
            flags = ", ".join(GENERATOR_FLAGS[k] for k in taken if k in GENERATOR_FLAGS)
            raise InvalidArgumentError(
                f"The {generator.__name__} of preset {self.name!r} has no setting {names}; it takes "
                f"{', '.join(taken)}" + (f" (flags {flags})." if flags else ".")
            )
        small = _SMALL[self.generator] if size == "small" else {}
        return {**self.generator_kwargs, **small, **overrides}

    def discriminator_settings(self, size="published"):
        """The discriminator's settings at a size (``"small"``: 16 base filters in place of 64)."""
        return {**self.discriminator_kwargs, **(_SMALL_DISCRIMINATOR if size == "small" else {})}

    def build_generator(self, **overrides):
        """A freshly initialised generator (``overrides`` replace `generator_kwargs`)."""
        kwargs = self.generator_settings(**overrides)
        return self._generator_class()(in_channels=self._spec().n_inputs, out_channels=1, **kwargs)

    def build_discriminator(self, **overrides):
        """A freshly initialised discriminator, or `None` for autoencoder presets."""
        if self.discriminator is None:
            return None
        from sunpy_dlmag.training import discriminators

        classes = {"patch": discriminators.PatchDiscriminator, "multiscale": discriminators.MultiScaleDiscriminator}
        spec = self._spec()
        # Conditional GAN: the discriminator sees the input channels and the output.
        kwargs = {**self.discriminator_kwargs, **overrides}
        return classes[self.discriminator](in_channels=spec.n_inputs + 1, **kwargs)

    def tile_safe_variant(self):
        """The same preset with batch normalisation in place of instance normalisation."""
        if self.tile_safe or self.generator == "unet":
            return self
        return dataclasses.replace(
            self,
            name=f"{self.name}-tilesafe",
            generator_kwargs={**self.generator_kwargs, "norm": "batch"},
            notes=(
                f"Tile-safe variant of {self.name}: batch normalisation (fixed statistics at inference) "
                "in place of instance normalisation, so large images can run in tiles."
            ),
        )


_PIX2PIXHD_G = {"base_filters": 32, "n_down": 4, "n_res": 9, "norm": "instance"}
_MULTISCALE_D = {"n_scales": 2, "base_filters": 64, "n_layers": 3}
_NOT_TILED = "Instance normalisation over the whole image (as published): runs whole, not in tiles."

_PUBLISHED = (
    Preset(
        name="aisfm-v1",
        model="aisfm-v1",
        generator="unet",
        generator_kwargs={"depth": 10, "base_filters": 64, "max_filters": 512, "dropout_blocks": 3},
        discriminator="patch",
        discriminator_kwargs={"base_filters": 64, "n_layers": 3},
        gan_mode="bce",
        loss_weights={"gan": 1.0, "l1": 100.0},
        batch_size=1,
        patch_size=1024,
        notes="pix2pix (Kim et al. 2019): a U-Net down to 1x1 sees the whole image, so it runs whole.",
    ),
    Preset(
        name="aisfm-v2",
        model="aisfm-v2",
        generator="global",
        generator_kwargs=_PIX2PIXHD_G,
        discriminator="multiscale",
        discriminator_kwargs=_MULTISCALE_D,
        gan_mode="lsgan",
        loss_weights={"gan": 1.0, "fm": 10.0},
        batch_size=1,
        patch_size=1024,
        notes=_NOT_TILED,
    ),
    Preset(
        name="pix2pixcc",
        model="pix2pixcc",
        generator="global",
        generator_kwargs=_PIX2PIXHD_G,
        discriminator="multiscale",
        discriminator_kwargs=_MULTISCALE_D,
        gan_mode="lsgan",
        loss_weights={"gan": 2.0, "fm": 10.0, "cc": 5.0},
        batch_size=1,
        patch_size=1024,
        notes=_NOT_TILED,
    ),
    Preset(
        name="aisfm-v3",
        model="aisfm-v3",
        generator="global",
        generator_kwargs=_PIX2PIXHD_G,
        discriminator="multiscale",
        discriminator_kwargs=_MULTISCALE_D,
        gan_mode="lsgan",
        loss_weights={"gan": 2.0, "fm": 10.0, "cc": 5.0},
        batch_size=1,
        patch_size=1024,
        notes=_NOT_TILED + " Seven channels: EUVI 304/195/171, AIA 304/193/171 and a frontside reference.",
    ),
    Preset(
        name="denoise-m1",
        model="denoise-m1",
        generator="denoise",
        generator_kwargs={"base_filters": 64, "n_down": 4, "n_res": 9, "norm": "batch"},
        discriminator="patch",
        discriminator_kwargs={"base_filters": 64, "n_layers": 3},
        gan_mode="bce",
        loss_weights={"gan": 1.0, "l1": 100.0},
        batch_size=32,
        patch_size=256,
        notes="Translation to 21-frame stacked magnetograms (Park et al. 2020, M1). Tile-safe.",
    ),
    Preset(
        name="denoise-m2",
        model="denoise-m2",
        generator="denoise",
        generator_kwargs={"base_filters": 64, "n_down": 4, "n_res": 9, "norm": "batch"},
        loss_weights={"mse": 1000.0},
        batch_size=32,
        patch_size=256,
        noise_training=True,
        notes="Autoencoder trained to remove added Gaussian noise (Park et al. 2020, M2). Tile-safe.",
    ),
    Preset(
        name="denoise-m2-hmi",
        model="denoise-m2-hmi",
        generator="denoise",
        # The shipped denoise-m2 network; no batch norm, so that it can be fine-tuned from the
        # shipped ONNX file, whose batch-norm statistics are folded into the convolutions.
        generator_kwargs={
            "base_filters": 32,
            "n_down": 4,
            "n_res": 4,
            "max_filters": 128,
            "residual": True,
            "full_res_filters": 16,
            "norm": "none",
        },
        loss_weights={"mse": 1000.0, "mse_field": 1000.0},
        lr=1e-4,
        batch_size=8,
        patch_size=128,
        noise_training=True,
        notes="denoise-m2 fine-tuned on SDO/HMI at full resolution (tools/train_denoise_hmi.py). Tile-safe.",
    ),
    Preset(
        name="drawing",
        model="drawing",
        generator="global",
        generator_kwargs=_PIX2PIXHD_G,
        discriminator="multiscale",
        discriminator_kwargs=_MULTISCALE_D,
        gan_mode="lsgan",
        loss_weights={"gan": 1.0, "fm": 10.0},
        batch_size=1,
        patch_size=1024,
        notes=_NOT_TILED + " Sunspot drawings to magnetograms (Lee et al. 2021).",
    ),
)

_PRESETS = {p.name: p for p in _PUBLISHED}
_PRESETS.update({v.name: v for v in (p.tile_safe_variant() for p in _PUBLISHED) if v.name not in _PRESETS})


def list_presets():
    """Names of the training presets, sorted."""
    return sorted(_PRESETS)


def get_preset(name):
    """The `Preset` called ``name``; raises `KeyError` listing the known presets."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise UnknownModelError(
            f"Unknown training preset {name!r}. Known presets: {', '.join(list_presets())}."
        ) from None
