"""
Training loops for the presets: conditional GANs and the denoising autoencoder.

Runs on the CPU or CUDA (mixed precision on CUDA), seeded, with a tqdm progress bar,
validation after every epoch with the papers' metrics, and checkpoints that hold the
full optimiser and random-number state, so that ``resume=True`` continues exactly where
an interrupted run stopped.
"""

import contextlib
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sunpy import log

from sunpy_dlmag.exceptions import (
    DeviceNotAvailableError,
    InvalidArgumentError,
    MissingFileError,
    TrainingDataError,
    UnknownModelError,
)
from sunpy_dlmag.io import write_atomic
from sunpy_dlmag.metrics import pixel_cc
from sunpy_dlmag.training._torch import torch
from sunpy_dlmag.training.losses import GANLoss, correlation_loss, feature_matching_loss
from sunpy_dlmag.training.presets import Preset, get_preset

F = torch.nn.functional
DataLoader = torch.utils.data.DataLoader

__all__ = ["CHECKPOINT_NAME", "Trainer", "build_datasets", "check_resume", "format_record", "load_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
# Fewer held-out images than this make the flux CC a matter of chance (two points give +-1).
MIN_FLUX_CC_IMAGES = 10


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceNotAvailableError("device='cuda' was requested but torch sees no CUDA device; use device='cpu'.")
    if device not in ("cpu", "cuda"):
        raise InvalidArgumentError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}.")
    return device


def load_checkpoint(path):
    """
    Read a checkpoint written by `Trainer` (never unpickles code: ``weights_only=True``).

    Raises
    ------
    ValueError
        If the file is not a sunpy-dlmag checkpoint.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch raises its own unpickling and zip error types
        raise InvalidArgumentError(
            f"{path} is not a sunpy-dlmag training checkpoint: it cannot be read as plain tensors and numbers "
            f"(code in a pickle is never run) ({type(error).__name__}: {str(error).splitlines()[0][:200]})."
        ) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InvalidArgumentError(f"{path} is not a sunpy-dlmag training checkpoint (format {CHECKPOINT_FORMAT}).")
    return state


class Trainer:
    """
    Train the generator (and discriminator) of a preset.

    Parameters
    ----------
    preset : `~sunpy_dlmag.training.presets.Preset` or str
    train_data : `torch.utils.data.Dataset`
        Yields ``(input, target)`` float32 tensors ``(C, H, W)`` and ``(1, H, W)`` in
        network units (normalised). If it has ``set_epoch(epoch)``, it is called at the
        start of every epoch (new random patches and noise per epoch, reproducibly).
    val_data : `torch.utils.data.Dataset`, optional
        Evaluated after every epoch.
    out_dir : path
        Where ``checkpoint.pt`` and ``history.json`` go.
    device : {"auto", "cpu", "cuda"}
    seed : int
    batch_size : int, optional
        Default: the preset's.
    lr : float, optional
        Default: the preset's.
    size : {"published", "small"}
        The generator's size: the preset's settings, or a network of at most 5 M parameters
        that trains on a CPU (`~sunpy_dlmag.training.presets.Preset.generator_settings`).
    generator_kwargs, discriminator_kwargs : dict, optional
        Override the preset's network settings (after ``size``), e.g. ``max_filters``.
    loss_weights : dict, optional
        Override or add loss weights of the preset. Besides the preset's terms, ``"mse_field"``
        weights the squared error of each pixel by the target's field strength (network
        units), so that strong fields count more than the quiet Sun.
    amp : bool, optional
        Mixed precision; default on for CUDA, always off on the CPU.
    data_description : str, optional
        What ``train_data`` is, recorded in the checkpoint for the exported model's card
        (default: the magnetogram files or pairs of this package's data sets).
    """

    def __init__(
        self,
        preset,
        train_data,
        val_data=None,
        *,
        out_dir,
        device="auto",
        seed=0,
        batch_size=None,
        lr=None,
        size="published",
        generator_kwargs=None,
        discriminator_kwargs=None,
        loss_weights=None,
        amp=None,
        data_description=None,
    ):
        self.preset = preset if isinstance(preset, Preset) else get_preset(preset)
        self.size = size
        self.train_data = train_data
        self.val_data = val_data
        self.out_dir = Path(out_dir)
        self.device = _resolve_device(device)
        self.seed = int(seed)
        self.batch_size = int(batch_size or self.preset.batch_size)
        self.lr = float(lr or self.preset.lr)
        self.generator_kwargs = self.preset.generator_settings(size, **(generator_kwargs or {}))
        self.discriminator_kwargs = {**self.preset.discriminator_settings(size), **(discriminator_kwargs or {})}
        self.amp = self.device == "cuda" if amp is None else bool(amp) and self.device == "cuda"
        self.epoch = 0
        self.saved_epoch = None
        self.step = 0
        self.history = []
        self.data_description = data_description or _describe_data(train_data)

        _seed_everything(self.seed)
        self.generator = self.preset.build_generator(**self.generator_kwargs).to(self.device)
        self.discriminator = self.preset.build_discriminator(**self.discriminator_kwargs)
        if self.discriminator is not None:
            self.discriminator = self.discriminator.to(self.device)
        betas = tuple(self.preset.betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=betas)
        self.opt_d = (
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=betas)
            if self.discriminator is not None
            else None
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.gan_loss = GANLoss(self.preset.gan_mode) if self.preset.gan_mode else None
        self.weights = {**self.preset.loss_weights, **(loss_weights or {})}

    @property
    def checkpoint_path(self):
        return self.out_dir / CHECKPOINT_NAME

    # ------------------------------------------------------------------ loop
    def fit(self, epochs, *, resume=False, progress=True):
        """
        Train until ``epochs`` epochs are done in total, validating after each one.

        Parameters
        ----------
        epochs : int
            Total number of epochs (with ``resume``, the epochs already done count).
        resume : bool
            Continue from ``out_dir/checkpoint.pt``; refused if there is none, so that a
            mistyped run folder does not start from scratch.
        progress : bool
            Show a tqdm progress bar.

        Returns
        -------
        list of dict
            One record per epoch: losses and validation metrics.

        Raises
        ------
        MissingFileError
            ``resume`` without a checkpoint in ``out_dir``.
        InvalidArgumentError
            ``resume`` with a checkpoint of another preset, other channels or another network.

        Notes
        -----
        ``saved_epoch`` is the last epoch whose checkpoint is on disk, also after an interrupt
        (``KeyboardInterrupt`` is not caught: the epoch in progress is lost).
        """
        # Bad data fail here, not after an epoch of training.
        for role, data in (("training", self.train_data), ("validation", self.val_data)):
            if data is not None:
                _check_data(data, role, self.preset, getattr(self.generator, "stride", 1))
        if resume:
            self.load_state(
                check_resume(self.out_dir, self.preset, self.generator_kwargs, self.size, self.discriminator_kwargs)
            )
            log.info(f"Resuming {self.preset.name} after epoch {self.epoch} from {self.checkpoint_path}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        while self.epoch < epochs:
            record = {"epoch": self.epoch + 1, **self._train_epoch(progress)}
            if self.val_data is not None:
                record.update(self.validate())
            self.epoch += 1
            self.history.append(record)
            self.save_checkpoint(self.checkpoint_path)
            self.saved_epoch = self.epoch
            write_atomic(
                self.out_dir / "history.json",
                lambda p: p.write_text(json.dumps(self.history, indent=2)),
                overwrite=True,
            )
            log.info(f"{self.preset.name} epoch {self.epoch}: {format_record(record)}")
        return self.history

    def _loader(self):
        if hasattr(self.train_data, "set_epoch"):
            self.train_data.set_epoch(self.epoch)
        # The shuffle order depends on (seed, epoch) only, so a resumed run sees the same batches.
        order = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return DataLoader(self.train_data, batch_size=self.batch_size, shuffle=True, generator=order, drop_last=False)

    def _train_epoch(self, progress):
        self.generator.train()
        if self.discriminator is not None:
            self.discriminator.train()
        sums, batches = {}, 0
        bar = tqdm(self._loader(), desc=f"{self.preset.name} epoch {self.epoch + 1}", disable=not progress, leave=False)
        for x, y in bar:
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
            losses = self._gan_step(x, y) if self.discriminator is not None else self._autoencoder_step(x, y)
            self.step += 1
            batches += 1
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value
            bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()})
        if batches == 0:
            raise InvalidArgumentError("The training data set is empty.")
        return {f"train_{k}": v / batches for k, v in sums.items()}

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.float16, enabled=self.amp)

    def _reconstruction(self, fake, y):
        w = self.weights
        terms = {}
        if w.get("l1"):
            terms["l1"] = w["l1"] * F.l1_loss(fake, y)
        if w.get("mse"):
            terms["mse"] = w["mse"] * F.mse_loss(fake, y)
        if w.get("mse_field"):
            terms["mse_field"] = w["mse_field"] * (y.abs() * (fake - y) ** 2).mean()
        if w.get("cc"):
            terms["cc"] = w["cc"] * correlation_loss(
                fake.float(), y.float(), scales=self.preset.cc_scales, kind=self.preset.cc_kind
            )
        return terms

    def _autoencoder_step(self, x, y):
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            terms = self._reconstruction(self.generator(x), y)
            loss = sum(terms.values())
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        return {"g": loss.item(), **{k: v.item() for k, v in terms.items()}}

    def _gan_step(self, x, y):
        w = self.weights
        # Discriminator: real pairs towards 1, generated pairs towards 0.
        with self._autocast():
            fake = self.generator(x)
        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            d_real = self.discriminator(torch.cat([x, y], dim=1))
            d_fake = self.discriminator(torch.cat([x, fake.detach()], dim=1))
            loss_d = 0.5 * (self.gan_loss(d_real, True) + self.gan_loss(d_fake, False))
        self.scaler.scale(loss_d).backward()
        self.scaler.step(self.opt_d)

        # Generator: fool the discriminator and match the target.
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            d_fake = self.discriminator(torch.cat([x, fake], dim=1))
            terms = {"gan": w.get("gan", 1.0) * self.gan_loss(d_fake, True)}
            if w.get("fm"):
                terms["fm"] = w["fm"] * feature_matching_loss(d_fake, d_real)
            terms.update(self._reconstruction(fake, y))
            loss_g = sum(terms.values())
        self.scaler.scale(loss_g).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        return {"d": loss_d.item(), "g": loss_g.item(), **{k: v.item() for k, v in terms.items()}}

    # ------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self):
        """
        The papers' metrics on the validation set, in physical units.

        ``val_l1_G``: mean absolute difference; ``val_pixel_cc_8x8``: mean pixel-to-pixel CC
        after 8x8 binning; ``val_unsigned_flux_cc``: CC over the set of the per-image sums of
        ``|B|`` (pixel areas are equal within a patch set, so this is the flux CC);
        ``val_images``: how many held-out images (or patches) the scores are over. With fewer
        than ``MIN_FLUX_CC_IMAGES`` (10) the flux CC is chance (two images give +-1): the epoch
        log says so, and `~sunpy_dlmag.training.export.export_onnx` leaves it off the card.
        """
        self.generator.eval()
        inverse = self.preset.base_spec().output.normalization.inverse
        l1, ccs, flux_true, flux_pred = [], [], [], []
        for x, y in DataLoader(self.val_data, batch_size=self.batch_size, shuffle=False):
            with self._autocast():
                fake = self.generator(x.to(self.device)).float().cpu().numpy()
            for pred, true in zip(inverse(fake[:, 0]), inverse(y.numpy()[:, 0]), strict=True):
                l1.append(float(np.mean(np.abs(pred - true))))
                binning = 8 if min(true.shape) >= 16 else 1
                if np.std(true) > 0 and np.std(pred) > 0:
                    ccs.append(pixel_cc(pred, true, binning=binning))
                flux_true.append(float(np.abs(true).sum()))
                flux_pred.append(float(np.abs(pred).sum()))
        record = {"val_images": len(l1), "val_l1_G": float(np.mean(l1)) if l1 else float("nan")}
        record["val_pixel_cc_8x8"] = float(np.mean(ccs)) if ccs else float("nan")
        if len(flux_true) >= 2 and np.std(flux_true) > 0 and np.std(flux_pred) > 0:
            record["val_unsigned_flux_cc"] = float(np.corrcoef(flux_true, flux_pred)[0, 1])
        return record

    # ----------------------------------------------------------- checkpoints
    def state(self):
        """Everything needed to continue exactly: weights, optimisers, RNG states, history."""
        return {
            "format": CHECKPOINT_FORMAT,
            "preset": self.preset.name,
            # The channels of the network (a preset's, Preset.with_channels' or a hand-made preset's) and
            # its generator, so that export rebuilds them without the registry.
            "spec": self.preset._spec().to_json(),
            "generator_type": self.preset.generator,
            "generator_kwargs": dict(self.generator_kwargs),
            "size": self.size,
            "discriminator_kwargs": dict(self.discriminator_kwargs),
            "seed": self.seed,
            "data": self.data_description,
            "epoch": self.epoch,
            "step": self.step,
            "history": json.dumps(self.history),
            "generator": self.generator.state_dict(),
            "discriminator": None if self.discriminator is None else self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def save_checkpoint(self, path):
        write_atomic(path, lambda p: torch.save(self.state(), p), overwrite=True)

    def load_state(self, state):
        """Continue from a checkpoint's state (refused if it is of another preset, channels or network)."""
        _check_compatible(state, self.preset, self.generator_kwargs, self.size, self.discriminator_kwargs)
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.saved_epoch = self.epoch
        self.history = json.loads(state["history"])
        torch.set_rng_state(state["rng_torch"])
        if state["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])


def check_resume(out_dir, preset, generator_kwargs, size="published", discriminator_kwargs=None):
    """
    The checkpoint a run in ``out_dir`` would resume from, checked against this run's settings.

    Called by `Trainer.fit` and, before any data are prepared, by ``sunpy-dlmag train --resume``.

    Parameters
    ----------
    out_dir : path
        The run folder.
    preset : `~sunpy_dlmag.training.presets.Preset`
    generator_kwargs : dict
        The full generator settings of this run (``Trainer.generator_kwargs``).
    size : str
        The size this run was asked for.
    discriminator_kwargs : dict, optional
        The discriminator settings of this run (default: those of the preset at ``size``).

    Returns
    -------
    dict
        The checkpoint's state.

    Raises
    ------
    MissingFileError
        No checkpoint in ``out_dir``.
    InvalidArgumentError
        A checkpoint of another preset, other channels or another network, with the flags
        that give the checkpoint's network.
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise MissingFileError(
            f"No checkpoint to resume from: {path} does not exist. Check the run folder (--out), or start a new "
            "run without --resume (resume=False)."
        )
    state = load_checkpoint(path)
    _check_compatible(state, preset, generator_kwargs, size, discriminator_kwargs)
    return state


def _check_compatible(state, preset, generator_kwargs, size, discriminator_kwargs=None):
    if state["preset"] != preset.name:
        raise InvalidArgumentError(
            f"The checkpoint is for preset {state['preset']!r}, not {preset.name!r}; resume with "
            f"`sunpy-dlmag train {state['preset']} ... --resume`."
        )
    trained_on = preset_of(state).channels_label
    if trained_on != preset.channels_label:
        raise InvalidArgumentError(
            f"The checkpoint's network takes {trained_on}, this run's {preset.channels_label}; "
            "resume with the channels it was trained on (--channels, Preset.with_channels)."
        )
    trained = state["generator_kwargs"]
    if trained != generator_kwargs:
        raise InvalidArgumentError(
            f"The checkpoint's network ({_settings(trained)}) differs from this run's "
            f"({_settings(generator_kwargs)}, size {size}); resume with {_resume_flags(state, preset)}."
        )
    if discriminator_kwargs is None:
        discriminator_kwargs = preset.discriminator_settings(size)
    if state.get("discriminator") is not None and state["discriminator_kwargs"] != discriminator_kwargs:
        raise InvalidArgumentError(
            f"The checkpoint's discriminator ({_settings(state['discriminator_kwargs'])}) differs from this run's "
            f"({_settings(discriminator_kwargs)}, size {size}); resume with {_resume_flags(state, preset)}."
        )


def _settings(kwargs):
    return ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))


def _resume_flags(state, preset):
    """The flags (and the Python arguments) that build the checkpoint's network."""
    from sunpy_dlmag.training.presets import GENERATOR_FLAGS

    trained = state["generator_kwargs"]
    size = state.get("size", "published")
    base = preset.generator_settings(size)
    extra = {k: v for k, v in trained.items() if base.get(k) != v}
    flags = ([f"--size {size}"] if size != "published" else []) + [
        f"{GENERATOR_FLAGS[k]} {v}" for k, v in extra.items() if k in GENERATOR_FLAGS
    ]
    python = f"Trainer(size={size!r}" + (f", generator_kwargs={extra}" if extra else "") + ")"
    without_flag = [k for k in extra if k not in GENERATOR_FLAGS]
    if without_flag:
        return f"{python} (no command-line flag sets {', '.join(without_flag)})"
    return f"{' '.join(flags) or 'no network flags'} ({python})"


def format_record(record):
    """An epoch's record for the log: 4 significant digits, and a note on an unreliable flux CC."""
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
    n = record.get("val_images")
    if n is not None and n < MIN_FLUX_CC_IMAGES and "val_unsigned_flux_cc" in record:
        text += (
            f" (val_unsigned_flux_cc over {n} held-out image(s) is not a reliable score: "
            f"it needs {MIN_FLUX_CC_IMAGES} or more)"
        )
    return text


def preset_of(state):
    """The `Preset` of a checkpoint, with the channels it was trained on."""
    import dataclasses

    from sunpy_dlmag.models import ModelSpec

    spec = ModelSpec.from_json(state["spec"]) if state.get("spec") else None
    try:
        preset = get_preset(state["preset"])
    except UnknownModelError:
        if spec is None or not state.get("generator_type"):
            raise
        # A preset made by hand: the checkpoint holds all export needs.
        preset = Preset(
            name=state["preset"],
            model=spec.name,
            generator=state["generator_type"],
            generator_kwargs=dict(state["generator_kwargs"]),
        )
    return preset if spec is None else dataclasses.replace(preset, spec=spec)


def _check_passbands(pair, spec, manifest):
    """The EUV inputs of a pair in the passbands of the spec's channels (the manifest has no labels)."""
    import sunpy.map

    from sunpy_dlmag.calibration import EUVI_TO_AIA, wavelength_aa

    for path, channel in zip(pair.inputs, spec.inputs, strict=False):
        if channel.wavelength is None or not Path(path).is_file():
            continue  # a missing file is reported when the pairs are prepared
        found = wavelength_aa(sunpy.map.Map(path))
        wavelength = round(channel.wavelength.to_value("AA"))
        # The EUVI passband of an AIA channel (and the reverse) is its counterpart.
        if (
            found is not None
            and wavelength not in (found, EUVI_TO_AIA.get(found))
            and found != EUVI_TO_AIA.get(wavelength)
        ):
            raise TrainingDataError(
                f"{path} ({found} Angstrom) in {manifest} stands where the network takes {channel.label}; the "
                f"network's inputs are {', '.join(c.label for c in spec.inputs)}: choose them with --channels "
                "(Preset.with_channels) in the manifest's order, or fetch pairs of those passbands "
                "(fetch-pairs --wavelengths)."
            )


def _describe_data(dataset):
    """A short description of a training data set, for the model card of its export."""
    sources = getattr(dataset, "_sources", None)  # NoiseDataset
    if sources is not None:
        names = [Path(s).name if isinstance(s, str | Path) else type(s).__name__ for s in sources]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f"{len(names)} magnetogram(s) with added noise ({shown})"
    prepared = getattr(dataset, "prepared", None)  # PatchDataset
    if prepared is not None and len(prepared.pairs):
        times = sorted(pair.time for pair in prepared.pairs)
        return f"{len(times)} pair(s) observed {times[0].isot[:10]} to {times[-1].isot[:10]}"
    try:
        return f"{len(dataset)} item(s) of a {type(dataset).__name__}"
    except TypeError:
        return f"a {type(dataset).__name__}"


def _check_data(dataset, role, preset, stride):
    """Raise `TrainingDataError` unless ``dataset`` has items of the shapes the preset's network takes."""
    try:
        n = len(dataset)
    except TypeError:
        return  # an iterable data set: checked as it is read
    if n == 0:
        raise TrainingDataError(f"The {role} data set is empty.")
    try:
        x, y = dataset[0]
    except (OSError, ValueError, TypeError, IndexError, KeyError) as err:
        raise TrainingDataError(f"The first item of the {role} data cannot be read: {err}") from err
    n_inputs = preset.base_spec().n_inputs
    shapes = tuple(getattr(t, "shape", ()) for t in (x, y))
    problem = None
    if len(shapes[0]) != 3 or len(shapes[1]) != 3:
        problem = "items must be (input, target) tensors of shape (C, H, W)"
    elif shapes[0][0] != n_inputs or shapes[1][0] != 1:
        problem = f"{preset.name} takes {n_inputs} input channel(s) and 1 target channel"
    elif shapes[0][1:] != shapes[1][1:]:
        problem = "input and target must have the same height and width"
    elif shapes[0][1] % stride or shapes[0][2] % stride:
        problem = f"height and width must be multiples of the network's stride {stride}"
    if problem:
        raise TrainingDataError(
            f"The {role} data do not fit {preset.name}: {problem}; the first item has input "
            f"{tuple(shapes[0])} and target {tuple(shapes[1])}."
        )


def _check_magnetograms(dataset, role):
    """Read every magnetogram of a `NoiseDataset` now, so that an unusable file fails before training."""
    for i, source in enumerate(dataset._sources):
        try:
            dataset._load(i)
        except (OSError, ValueError, TypeError) as err:
            raise TrainingDataError(f"{role.capitalize()} magnetogram {source} cannot be used: {err}") from err


def _seed_everything(seed):
    # Data sets draw from their own seeded generators; torch's global RNG drives
    # initialisation and dropout.
    torch.manual_seed(seed)


MAGNETOGRAM_SUFFIXES = (".fits", ".fts", ".fit", ".fits.gz", ".fts.gz", ".npy")


def _magnetogram_files(data, role="training"):
    """Magnetogram files from a folder, a file, or a list of them."""
    items = [data] if isinstance(data, str | Path) else list(data)
    files = []
    for item in map(Path, items):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.name.lower().endswith(MAGNETOGRAM_SUFFIXES))
        elif item.is_file():
            files.append(item)
        else:
            raise MissingFileError(f"No {role} magnetogram file or folder at {item}.")
    if not files:
        raise TrainingDataError(f"No {role} magnetogram files ({', '.join(MAGNETOGRAM_SUFFIXES)}) in {data}.")
    return files


def _manifest(data):
    if isinstance(data, list | tuple):
        if len(data) != 1:
            raise InvalidArgumentError(f"Paired presets take one manifest (or its folder), got {len(data)} paths.")
        data = data[0]
    path = Path(data)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise MissingFileError(
            f"No training manifest at {path}. Build one with `sunpy-dlmag fetch-pairs` (or "
            "sunpy_dlmag.data.fetch.manifest_from_folders for files you already have)."
        )
    return path


def build_datasets(
    preset,
    data,
    *,
    val=None,
    patch_size=None,
    patches_per_image=None,
    held_out_months=(9, 10),
    cache_dir=None,
    seed=0,
):
    """
    Training and validation data sets for a preset, from files on disk.

    Parameters
    ----------
    preset : `~sunpy_dlmag.training.presets.Preset` or str
    data : path or list of paths
        Noise-trained presets (``denoise-m2``): magnetogram files or folders of them. Paired
        presets: a training manifest (CSV written by ``sunpy-dlmag fetch-pairs``) or a folder
        that holds ``manifest.csv``.
    val : path or list of paths, optional
        Noise-trained presets: held-out magnetograms (default: none), each read and checked
        here, before any training. Paired presets use the months in ``held_out_months``
        instead, as the papers do, and refuse ``val``.
    patch_size : int, optional
        Default: the preset's.
    patches_per_image : int, optional
        Patches per image per epoch; default 1 for whole-image presets (patch >= 512 px),
        16 otherwise.
    held_out_months : tuple of int
    cache_dir : path, optional
        Where prepared arrays are cached (paired presets); default ``<manifest folder>/cache``.
    seed : int

    Returns
    -------
    tuple
        ``(train_dataset, val_dataset or None)``.

    Raises
    ------
    TrainingDataError
        A manifest without pairs, no pairs left outside the held-out months, no magnetogram
        files, or a validation magnetogram that cannot be read, is not in G, or is smaller
        than the patches.
    InvalidArgumentError
        ``val`` given for a paired preset.
    """
    from sunpy_dlmag.data.fetch import pairs_from_manifest, split_by_month
    from sunpy_dlmag.training.datasets import NoiseDataset, PatchDataset, prepare

    preset = preset if isinstance(preset, Preset) else get_preset(preset)
    patch_size = patch_size or preset.patch_size
    if patches_per_image is None:
        patches_per_image = 1 if patch_size >= 512 else 16
    spec = preset.base_spec()
    if preset.noise_training:
        norm = spec.inputs[0].normalization
        common = dict(patch_size=patch_size, patches_per_image=patches_per_image, normalization=norm)
        train_set = NoiseDataset(_magnetogram_files(data), seed=seed, **common)
        val_set = None
        if val is not None:
            val_set = NoiseDataset(_magnetogram_files(val, "validation"), seed=seed + 1, **common)
            _check_magnetograms(val_set, "validation")
        return train_set, val_set
    if val is not None:
        raise InvalidArgumentError(
            f"val (--val) takes held-out magnetograms for noise-trained presets; {preset.name} trains on pairs "
            "and holds out whole months of its manifest instead (held_out_months, --held-out-months)."
        )
    manifest = _manifest(data)
    train_pairs, val_pairs = split_by_month(pairs_from_manifest(manifest), held_out_months=held_out_months)
    if not train_pairs:
        raise TrainingDataError(
            f"All {len(val_pairs)} pair(s) of {manifest} fall in the held-out months {tuple(held_out_months)}; "
            "none are left to train on. Add pairs from other months or hold out other months."
        )
    cache = Path(cache_dir) if cache_dir else manifest.parent / "cache"
    common = dict(patch_size=patch_size, patches_per_image=patches_per_image)
    with _each_message_once():
        _check_passbands(train_pairs[0], spec, manifest)
        train_set = PatchDataset(prepare(train_pairs, spec, cache), seed=seed, **common)
        val_set = PatchDataset(prepare(val_pairs, spec, cache), seed=seed + 1, **common) if val_pairs else None
    return train_set, val_set


@contextlib.contextmanager
def _each_message_once():
    """sunpy's log says each message once inside (not once per file read: "Missing metadata for solar radius")."""
    import logging

    seen = set()

    class Once(logging.Filter):
        def filter(self, record):
            key = (record.levelno, record.getMessage())
            new = key not in seen
            seen.add(key)
            return new

    once = Once()
    log.addFilter(once)
    try:
        yield
    finally:
        log.removeFilter(once)
