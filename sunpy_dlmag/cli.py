"""
The ``sunpy-dlmag`` command line: parses arguments and calls the public API.
"""

import argparse
import sys

__all__ = ["main"]


def _models_list(args):
    from sunpy_dlmag.models import get_model, list_models, weights_status

    rows = [(name, get_model(name)) for name in list_models(task=args.task)]
    print(f"{'name':<12} {'task':<9} {'inputs':<62} {'weights':<14}")
    for name, spec in rows:
        inputs = ", ".join(c.label.replace(" Angstrom", "") for c in spec.inputs)
        print(f"{name:<12} {spec.task:<9} {inputs:<62} {weights_status(spec):<14}")
    return 0


def _models_info(args):
    from pathlib import Path

    from sunpy_dlmag.models import get_model
    from sunpy_dlmag.models.registry import read_spec_for

    spec = read_spec_for(args.name) if Path(args.name).is_file() else get_model(args.name)
    print(spec.summary())
    return 0


def _demo(args):
    from sunpy_dlmag.demo import run_demo

    run_demo(args.out, device=args.device)
    return 0


def _train(args):
    from sunpy_dlmag.training.trainer import Trainer, build_datasets

    train_set, val_set = build_datasets(
        args.preset,
        args.data,
        val=args.val,
        patch_size=args.patch_size,
        patches_per_image=args.patches_per_image,
        held_out_months=tuple(args.held_out_months),
        cache_dir=args.cache,
        seed=args.seed,
    )
    network = {k: v for k, v in (("base_filters", args.base_filters), ("n_res", args.n_res)) if v is not None}
    trainer = Trainer(
        args.preset,
        train_set,
        val_set,
        out_dir=args.out,
        device=args.device,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        generator_kwargs=network,
    )
    history = trainer.fit(args.epochs, resume=args.resume, progress=not args.quiet)
    print(f"Trained {args.preset} for {trainer.epoch} epochs; last epoch: {history[-1] if history else {}}")
    print(f"Checkpoint: {trainer.checkpoint_path}  (export: sunpy-dlmag export {trainer.checkpoint_path} MODEL.onnx)")
    return 0


def _export(args):
    from sunpy_dlmag.training.export import export_onnx

    result = export_onnx(args.checkpoint, args.output, version=args.version, training_data=args.training_data)
    print(result)
    return 0


def _fetch_pairs(args):
    import astropy.units as u

    from sunpy_dlmag.data.fetch import fetch_training_pairs

    manifest = fetch_training_pairs(
        args.start,
        args.end,
        u.Quantity(args.cadence),
        out_dir=args.out,
        pair=args.pair,
        wavelengths=args.wavelengths,
        provider=args.provider,
        email=args.email,
    )
    print(f"Manifest: {manifest}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sunpy-dlmag",
        description="Deep-learning image translation for solar data (sunpy-dlmag).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list the registered networks or describe one")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="registered models, their inputs and whether weights are installed")
    listing.add_argument("--task", help="only models for this task (farside, denoise, drawing)")
    listing.set_defaults(func=_models_list)
    info = models_sub.add_parser("info", help="the model card of one model: geometry, normalisation, data, scores")
    info.add_argument("name", help="registered model name, or the path of an ONNX file with its spec")
    info.set_defaults(func=_models_info)

    demo = sub.add_parser(
        "demo",
        help="run what the package can do on its bundled real data; writes FITS, figures and a summary",
    )
    demo.add_argument("--out", default="demo-output", help="folder for the outputs (default: ./demo-output)")
    demo.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where networks run")
    demo.set_defaults(func=_demo)

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
    fetch.set_defaults(func=_fetch_pairs)

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
    train.add_argument("--val", nargs="+", help="held-out magnetograms (denoise-m2); paired presets hold out months")
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
    train.add_argument("--base-filters", type=int, help="override the generator's base filters (smaller = faster)")
    train.add_argument("--n-res", type=int, help="override the generator's number of residual blocks")
    train.add_argument("--cache", help="folder for prepared arrays (default: beside the manifest)")
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    train.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    export = sub.add_parser(
        "export",
        help="export a training checkpoint to ONNX (with its spec) for load_model / model=PATH",
    )
    export.add_argument("checkpoint", help="checkpoint.pt written by `sunpy-dlmag train`")
    export.add_argument("output", help="ONNX file to write")
    export.add_argument("--version", help="version of the weights (default: epochN)")
    export.add_argument("--training-data", help="description of the training data for the model spec")
    export.set_defaults(func=_export)
    return parser


def _version():
    from sunpy_dlmag import __version__

    return __version__


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from sunpy_dlmag.exceptions import DlmagError

    try:
        return args.func(args)
    except DlmagError as err:
        print(f"sunpy-dlmag: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
