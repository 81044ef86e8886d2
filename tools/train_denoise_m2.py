"""
Train and export the ``denoise-m2`` weights that ship with sunpy-dlmag.

    python tools/train_denoise_m2.py --out runs/denoise-m2 [--epochs 70]

Uses only the package's own trainer and exporter on the real magnetograms listed in
tools/denoise_data.py; writes the checkpoint, history.json and denoise-m2-candidate.onnx to --out
(an export may not take a registered name; tools/package_denoise_m2.py makes it denoise-m2).
"""

import argparse
import json
import time

from denoise_data import held_out_magnetograms, training_magnetograms

from sunpy_dlmag.models import get_model
from sunpy_dlmag.training.datasets import NoiseDataset
from sunpy_dlmag.training.export import export_onnx
from sunpy_dlmag.training.trainer import Trainer

# Smaller than the published generator (64 filters, 9 residual blocks) so that it trains on
# a laptop CPU and runs a 4096-px disk in well under a minute; residual output keeps strong
# fields (the published M2 clips inputs at +-100 G); the full-resolution stage keeps their
# pixel-scale structure (without it MDI lost 6.7 % of the flux above 100 G).
GENERATOR = {"base_filters": 32, "n_down": 4, "n_res": 4, "max_filters": 128, "residual": True, "full_res_filters": 16}
# Weight of the field-strength-weighted MSE: halves the loss of strong-field flux on MDI.
FIELD_WEIGHT = 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=70)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--patches-per-image", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--noise-sigma", type=float, nargs=2, default=(12.0, 4.0), help="mean and spread, G")
    parser.add_argument("--base-filters", type=int, default=GENERATOR["base_filters"])
    parser.add_argument("--max-filters", type=int, default=GENERATOR["max_filters"])
    parser.add_argument("--n-res", type=int, default=GENERATOR["n_res"])
    parser.add_argument("--full-res-filters", type=int, default=GENERATOR["full_res_filters"])
    parser.add_argument(
        "--field-weight",
        type=float,
        default=FIELD_WEIGHT,
        help="weight of the field-strength-weighted MSE term (mse_field); 0 leaves it out",
    )
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this")
    args = parser.parse_args()

    norm = get_model("denoise-m2").inputs[0].normalization
    common = dict(patch_size=args.patch_size, normalization=norm, noise_sigma=tuple(args.noise_sigma))
    train = NoiseDataset(
        list(training_magnetograms().values()), patches_per_image=args.patches_per_image, seed=args.seed, **common
    )
    val = NoiseDataset(list(held_out_magnetograms().values()), patches_per_image=16, seed=args.seed + 1, **common)
    trainer = Trainer(
        "denoise-m2",
        train,
        val,
        out_dir=args.out,
        device=args.device,
        seed=args.seed,
        batch_size=args.batch_size,
        loss_weights={"mse_field": args.field_weight} if args.field_weight else None,
        generator_kwargs={
            **GENERATOR,
            "base_filters": args.base_filters,
            "max_filters": args.max_filters,
            "n_res": args.n_res,
            "full_res_filters": args.full_res_filters,
        },
    )
    start = time.monotonic()
    history = trainer.fit(1, resume=args.resume, progress=False)
    # One epoch at a time, so that a run with a time budget still ends with a finished epoch.
    while trainer.epoch < args.epochs:
        if args.max_minutes is not None and time.monotonic() - start > 60 * args.max_minutes:
            print(f"Time budget reached after epoch {trainer.epoch}")
            break
        history = trainer.fit(trainer.epoch + 1, progress=False)
    print(json.dumps(history[-1], indent=2))
    result = export_onnx(trainer.checkpoint_path, f"{args.out}/denoise-m2-candidate.onnx", version="1.0")
    print(result)


if __name__ == "__main__":
    main()
