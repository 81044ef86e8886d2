"""
The command-line commands of the training workflow: ``fetch-pairs``, ``train`` and ``export``.

`sunpy_dlmag.cli` adds them to its parser; torch and the archive clients are imported only
when a command runs.
"""

import sys

from sunpy_dlmag.models.runtime import DEVICES

__all__ = ["add_training_commands"]


def _run_train(args):
    from sunpy_dlmag.training.presets import get_preset
    from sunpy_dlmag.training.trainer import Trainer, build_datasets, check_resume, format_record

    preset = get_preset(args.preset)
    if args.channels:
        preset = preset.with_channels([c for c in args.channels.split(",") if c.strip()])
    flags = (("base_filters", args.base_filters), ("n_res", args.n_res), ("max_filters", args.max_filters))
    network = {k: v for k, v in flags if v is not None}
    # Settings the generator does not take, and a checkpoint this run cannot continue, fail
    # here, before the data are prepared.
    generator_kwargs = preset.generator_settings(args.size, **network)
    if args.resume:
        check_resume(args.out, preset, generator_kwargs, args.size)
    trainer = None
    try:
        train_set, val_set = build_datasets(
            preset,
            args.data,
            val=args.val,
            patch_size=args.patch_size,
            patches_per_image=args.patches_per_image,
            held_out_months=tuple(args.held_out_months),
            cache_dir=args.cache,
            seed=args.seed,
        )
        trainer = Trainer(
            preset,
            train_set,
            val_set,
            out_dir=args.out,
            device=args.device,
            seed=args.seed,
            batch_size=args.batch_size,
            lr=args.lr,
            size=args.size,
            generator_kwargs=network,
        )
        history = trainer.fit(args.epochs, resume=args.resume, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"sunpy-dlmag: interrupted. {_kept(trainer, args)}", file=sys.stderr)
        return 130
    last = format_record(history[-1]) if history else "none run"
    print(f"Trained {args.preset} for {trainer.epoch} epochs; last epoch: {last}")
    print(f"Checkpoint: {trainer.checkpoint_path}  (export: sunpy-dlmag export {trainer.checkpoint_path} MODEL.onnx)")
    return 0


def _kept(trainer, args):
    """What an interrupted `train` left on disk, and the command that continues it."""
    import shlex

    saved = None if trainer is None else trainer.saved_epoch
    if saved is None:
        where = "while preparing the data" if trainer is None else f"in epoch {trainer.epoch + 1}"
        return f"Stopped {where}; no epoch was completed, so no checkpoint was written: run the command again."
    command = ["sunpy-dlmag", "train", args.preset, "--data", *args.data, "--out", args.out]
    for flag in (
        "channels",
        "epochs",
        "batch_size",
        "lr",
        "patch_size",
        "patches_per_image",
        "size",
        "base_filters",
        "max_filters",
        "n_res",
        "cache",
        "device",
        "seed",
    ):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    if args.val:
        command += ["--val", *args.val]
    command += ["--held-out-months", *map(str, args.held_out_months), "--resume"]
    if args.quiet:
        command.append("--quiet")
    return (
        f"Stopped in epoch {trainer.epoch + 1}; the checkpoint after epoch {saved} is kept in "
        f"{trainer.checkpoint_path}. Continue with:\n  {shlex.join(command)}"
    )


def _run_export(args):
    from sunpy_dlmag.training.export import export_onnx

    result = export_onnx(
        args.checkpoint,
        args.output,
        name=args.name,
        version=args.version,
        training_data=args.training_data,
        license=args.license,
        overwrite=args.overwrite,
    )
    print(result)
    return 0


def _run_fetch_pairs(args):
    import astropy.units as u

    from sunpy_dlmag.data.fetch import fetch_training_pairs
    from sunpy_dlmag.exceptions import InvalidArgumentError

    # Said with the flags here: fetch_training_pairs' own messages name its arguments.
    if args.provider == "jsoc" and not (args.email and "@" in args.email):
        raise InvalidArgumentError(
            f"--provider jsoc needs --email with the address you registered with JSOC (got {args.email!r}); "
            "register at http://jsoc.stanford.edu/ajax/register_email.html, or use --provider vso."
        )
    try:
        cadence = u.Quantity(args.cadence)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"--cadence is a time such as '12 h' or '30 min'; got {args.cadence!r}.") from None
    manifest = fetch_training_pairs(
        args.start,
        args.end,
        cadence,
        out_dir=args.out,
        pair=args.pair,
        wavelengths=args.wavelengths,
        provider=args.provider,
        email=args.email,
    )
    print(f"Manifest: {manifest}")
    return 0


def add_training_commands(sub):
    """Add ``fetch-pairs``, ``train`` and ``export`` to the sub-parsers ``sub`` of the command line."""
    fetch = sub.add_parser(
        "fetch-pairs",
        help="download training pairs from the archives with Fido and write their manifest",
        description="Search and download co-temporal input and target observations (resumable), "
        "then write manifest.csv for `sunpy-dlmag train`.",
    )
    fetch.add_argument("--start", required=True, help="first time, e.g. 2011-01-01")
    fetch.add_argument("--end", required=True, help="last time, e.g. 2017-12-31")
    fetch.add_argument("--cadence", default="12 h", help="time between pairs, e.g. '12 h' (the papers' cadence)")
    fetch.add_argument("--pair", default="aia-hmi", help="what to pair: aia-hmi (default) or euvi-hmi")
    fetch.add_argument("--wavelengths", type=int, nargs="+", help="EUV wavelengths in Angstrom (default: 304 193 171)")
    fetch.add_argument("--provider", default="vso", choices=["vso", "jsoc"], help="archive client (jsoc needs --email)")
    fetch.add_argument("--email", help="address registered with JSOC (for --provider jsoc)")
    fetch.add_argument("--out", required=True, help="folder to download into; the manifest is written there")
    fetch.set_defaults(func=_run_fetch_pairs)

    train = sub.add_parser(
        "train",
        help="train a network with a preset (needs the train extra: torch)",
        description="Train a preset's network on pairs (a manifest from fetch-pairs) or, for denoise-m2, "
        "on magnetograms with added noise. Writes OUT/checkpoint.pt and OUT/history.json after every epoch.",
    )
    train.add_argument("preset", help="training preset, e.g. aisfm-v2, pix2pixcc, denoise-m2 (see the docs)")
    train.add_argument(
        "--data", required=True, nargs="+", help="manifest.csv or its folder; magnetograms for denoise-m2"
    )
    train.add_argument(
        "--val",
        nargs="+",
        help="held-out magnetograms for noise-trained presets (denoise-m2*), each checked before training; "
        "paired presets hold out months instead",
    )
    train.add_argument(
        "--channels",
        help="input passbands in Angstrom, comma-separated, in the manifest's input order, e.g. 171 or 304,193,171 "
        "(farside presets aisfm-v1, aisfm-v2, pix2pixcc; EUVI 195 stands for AIA 193; default: the preset's)",
    )
    train.add_argument("--out", required=True, help="run folder for the checkpoint and history")
    train.add_argument("--epochs", type=int, default=10, help="total number of epochs (default 10)")
    train.add_argument("--batch-size", type=int, help="default: the preset's")
    train.add_argument("--lr", type=float, help="Adam learning rate (default: the preset's, 2e-4)")
    train.add_argument("--patch-size", type=int, help="training patch size in pixels (default: the preset's)")
    train.add_argument(
        "--patches-per-image", type=int, help="patches per image per epoch (default 1 for whole images, else 16)"
    )
    train.add_argument(
        "--held-out-months", type=int, nargs="*", default=[9, 10], help="months kept for validation (default 9 10)"
    )
    train.add_argument(
        "--size",
        default="published",
        choices=["published", "small"],
        help="generator size: the preset's (default) or small, at most 5 M parameters, to train on a CPU",
    )
    train.add_argument("--base-filters", type=int, help="override the generator's base filters (smaller = faster)")
    train.add_argument(
        "--max-filters",
        type=int,
        help="cap on the filters of any layer (aisfm-v1 and denoise presets; smaller = faster)",
    )
    train.add_argument(
        "--n-res", type=int, help="override the generator's number of residual blocks (Pix2PixHD and denoise presets)"
    )
    train.add_argument("--cache", help="folder for prepared arrays (default: beside the manifest)")
    train.add_argument("--device", default="auto", choices=DEVICES, help="where to train")
    train.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_run_train)

    export = sub.add_parser(
        "export",
        help="export a training checkpoint to ONNX (with its spec) for load_model / model=PATH",
        description="Export a checkpoint written by `sunpy-dlmag train` to an ONNX file with the model spec in "
        "its metadata, checked against the torch network on a test input; load it with "
        "sunpy_dlmag.load_model(PATH) or pass --model PATH to a command. Needs the train extra (torch).",
    )
    export.add_argument("checkpoint", help="checkpoint.pt written by `sunpy-dlmag train`")
    export.add_argument("output", help="ONNX file to write")
    export.add_argument(
        "--name",
        help="name of the model, written as DLMODEL into its outputs (default: the file's stem); "
        "registered names are refused",
    )
    export.add_argument("--version", help="version of the weights (default: epochN)")
    export.add_argument(
        "--training-data", help="description of the training data (default: the preset and data of the run)"
    )
    export.add_argument("--license", help="licence of the weights (default: unknown)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing ONNX file")
    export.set_defaults(func=_run_export)
