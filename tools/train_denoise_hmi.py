"""
Train and export the ``denoise-m2-hmi`` weights: denoise-m2 fine-tuned on real SDO/HMI data.

    python tools/train_denoise_hmi.py --out runs/denoise-m2-hmi

Starts from the shipped ``denoise-m2`` ONNX weights (loaded into the same network without
batch normalisation, whose statistics the export folded into the convolutions), and trains
on the HMI data of tools/hmi_denoise_data.py at full resolution, with the M2 recipe: added
Gaussian noise of mean U(-1, 1) G and sigma N(10, 4) G, 1000 x (MSE + field-weighted MSE)
(the shipped weights). With ``--noise-model tools/hmi_noise_model.json`` the noise is drawn
instead from the HMI noise model of tools/hmi_noise_model.py (spatially correlated, growing
towards the limb and, with ``--noise-field``, in strong fields; ``--noise-white-fraction``
mixes in white noise), sigma N(10, 4) G being its level at disk centre in the quiet Sun.
Writes the checkpoint, history.json and denoise-m2-hmi-candidate.onnx to --out (an export may not take a
registered name; tools/package_denoise_m2.py makes it denoise-m2-hmi). Every epoch is seeded,
so ``--epochs N`` reproduces the weights of epoch N bit for bit on the same machine type
(``--resume`` continues an interrupted run exactly).
"""

import argparse
import json
import time

from hmi_denoise_data import held_out_magnetograms, held_out_mu, training_magnetograms, training_mu

from sunpy_dlmag.models import get_model
from sunpy_dlmag.models.registry import WEIGHTS_DIR
from sunpy_dlmag.training._torch import torch
from sunpy_dlmag.training.datasets import NoiseDataset
from sunpy_dlmag.training.export import export_onnx, load_onnx_weights
from sunpy_dlmag.training.noise_model import NoiseModel
from sunpy_dlmag.training.trainer import Trainer, load_checkpoint

PRESET = "denoise-m2-hmi"
EPOCHS = 16  # the shipped weights: epoch 16 (about 30 min on 2 busy CPU cores)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--patches-per-image", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init", default=str(WEIGHTS_DIR / "denoise-m2.onnx"), help="ONNX weights to start from")
    parser.add_argument("--noise-model", default=None, help="JSON of tools/hmi_noise_model.py (default: white noise)")
    parser.add_argument("--noise-field", action="store_true", help="with --noise-model: its |B| dependence too")
    parser.add_argument("--noise-white-fraction", type=float, default=0.0, help="with --noise-model: white share")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    spec = get_model(PRESET)
    common = dict(patch_size=128, normalization=spec.inputs[0].normalization, noise_sigma=(10.0, 4.0))
    train_arrays = training_magnetograms()
    # The full-disk halves twice as often as the cutouts: most of a user's disk is quiet Sun.
    disks = [name for name in train_arrays if "half" in name and "box" not in name]
    names = disks + disks + [name for name in train_arrays if name not in disks]
    held_out = {name: a for name, a in held_out_magnetograms().items() if "full disk" in name}
    train_mu = val_mu = None
    if args.noise_model:
        common["noise_model"] = NoiseModel(
            args.noise_model, field=args.noise_field, white_fraction=args.noise_white_fraction
        )
        mu, val_mu = training_mu(), held_out_mu()
        train_mu, val_mu = [mu[name] for name in names], [val_mu[name] for name in held_out]
    sources = [train_arrays[name] for name in names]
    train = NoiseDataset(sources, patches_per_image=args.patches_per_image, seed=args.seed, mu=train_mu, **common)
    val = NoiseDataset(list(held_out.values()), patches_per_image=4, seed=args.seed + 1, mu=val_mu, **common)
    trainer = Trainer(PRESET, train, val, out_dir=args.out, device=args.device, seed=args.seed)
    if args.resume and trainer.checkpoint_path.is_file():
        trainer.load_state(load_checkpoint(trainer.checkpoint_path))
    else:
        load_onnx_weights(trainer.generator, args.init)
        print(json.dumps({"epoch": 0, **trainer.validate()}), flush=True)
    start = time.monotonic()
    while trainer.epoch < args.epochs:
        if args.max_minutes is not None and time.monotonic() - start > 60 * args.max_minutes:
            print(f"Time budget reached after epoch {trainer.epoch}")
            break
        history = trainer.fit(trainer.epoch + 1, progress=False)
        print(json.dumps(history[-1]), flush=True)
    result = export_onnx(trainer.checkpoint_path, f"{args.out}/{PRESET}-candidate.onnx", version="1.0")
    print(result)


if __name__ == "__main__":
    main()
