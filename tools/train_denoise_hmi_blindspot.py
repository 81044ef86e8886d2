"""
Fine-tune ``denoise-m2-hmi`` on the real HMI 720-s maps with a blind-spot objective (issue 27, item 3).

    python tools/train_denoise_hmi_blindspot.py --out RUN [--minutes 25]

Noise2Self-style, allowing for correlated noise: on every 128-px patch of the training maps of
tools/hmi_denoise_data.py (the southern halves and their strongest-field boxes; never the
held-out halves), a grid of centres (one per ``--spacing`` px, random offset) is chosen and a
``--blind`` x ``--blind`` block around each centre is replaced by the mean of the ring that
surrounds it (2 px wide), so that nothing correlated with the noise at the centre is left (the
lag correlation of HMI noise is about 0 beyond 3-4 px; see the model card). The network is asked
for the 720-s map at the centres only: their 720-s noise is hidden from it, so it cannot learn to
keep it. The input also gets noise drawn from the measured HMI noise model (sigma N(10, 4) G at
disk centre, 70 % white, growing towards the limb), the 45-s level the network is used at. Loss:
the ``denoise-m2-hmi`` preset's, 1000 x (MSE + ``|B| / 100 G``-weighted MSE), at the centres.
Starts from the shipped weights; Adam (``--lr``, betas 0.5/0.999), batch ``--batch``, one
thread, stops after ``--minutes``. Writes RUN/checkpoint.pt, RUN/history.json and
RUN/denoise-m2-hmi-blindspot.onnx (evaluate it with tools/compare_denoise_hmi_noise.py and
tools/evaluate_denoise_hmi.py).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from hmi_denoise_data import training_magnetograms, training_mu
from scipy import ndimage

from sunpy_dlmag.models import get_model
from sunpy_dlmag.models.registry import WEIGHTS_DIR
from sunpy_dlmag.training._torch import torch
from sunpy_dlmag.training.datasets import NoiseDataset
from sunpy_dlmag.training.export import export_onnx, load_onnx_weights
from sunpy_dlmag.training.noise_model import NoiseModel
from sunpy_dlmag.training.trainer import Trainer

PRESET = "denoise-m2-hmi"
PATCH = 128
SCALE = 100.0  # G: the network's inputs and outputs are B / 100 G
NOISE_MODEL = Path(__file__).with_name("hmi_noise_model.json")


def blind(noisy, rng, block, spacing):
    """``noisy`` with a block around each centre of a random grid replaced by its ring mean; the centres."""
    ring = block + 4
    ring_sum = ndimage.uniform_filter(noisy, ring, mode="reflect") * ring**2
    block_sum = ndimage.uniform_filter(noisy, block, mode="reflect") * block**2
    ring_mean = (ring_sum - block_sum) / (ring**2 - block**2)
    half = block // 2
    oy, ox = rng.integers(0, spacing, 2)
    ys = np.arange(half + oy, PATCH - half, spacing)
    xs = np.arange(half + ox, PATCH - half, spacing)
    out = noisy.copy()
    for y in ys:
        for x in xs:
            out[y - half : y + half + 1, x - half : x + half + 1] = ring_mean[y, x]
    centres = np.zeros(noisy.shape, dtype=bool)
    centres[np.ix_(ys, xs)] = True
    return out, centres


def patches(arrays, mus, rng, noise_model, count, block, spacing):
    """``count`` (input, target, centres) triples, normalised, from patches without off-disk pixels."""
    inputs, targets, masks = [], [], []
    while len(inputs) < count:
        k = rng.integers(len(arrays))
        data, mu = arrays[k], mus[k]
        y, x = rng.integers(0, data.shape[0] - PATCH), rng.integers(0, data.shape[1] - PATCH)
        target = data[y : y + PATCH, x : x + PATCH]
        if not np.isfinite(target).all():
            continue
        m = None if mu is None else mu[y : y + PATCH, x : x + PATCH]
        sigma = max(1.0, rng.normal(10.0, 4.0))
        noisy = target + noise_model.draw(target.shape, rng, sigma, mu=m)
        masked, centres = blind(noisy.astype(np.float32), rng, block, spacing)
        inputs.append(masked / SCALE)
        targets.append(target / SCALE)
        masks.append(centres)
    as_tensor = lambda a: torch.from_numpy(np.stack(a)[:, np.newaxis].astype(np.float32))  # noqa: E731
    return as_tensor(inputs), as_tensor(targets), torch.from_numpy(np.stack(masks)[:, np.newaxis])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--block", type=int, default=5, help="side of the blind block (odd, px)")
    parser.add_argument("--spacing", type=int, default=10, help="px between blind centres")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    arrays, mu = training_magnetograms(), training_mu()
    names = [name for name in arrays if "full disk" in name]  # the real disk halves and their AR boxes
    sources, mus = [arrays[n] for n in names], [mu[n] for n in names]
    noise_model = NoiseModel(NOISE_MODEL, white_fraction=0.7)
    spec = get_model(PRESET)
    # The Trainer only holds the network and writes the checkpoint that export_onnx reads.
    dataset = NoiseDataset(sources[:1], patch_size=PATCH, normalization=spec.inputs[0].normalization)
    trainer = Trainer(PRESET, dataset, out_dir=out, device="cpu", seed=args.seed)
    net = trainer.generator
    load_onnx_weights(net, WEIGHTS_DIR / spec.weights.bundled)
    optimiser = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.5, 0.999))
    history, start, step = [], time.monotonic(), 0
    while time.monotonic() - start < 60 * args.minutes:
        x, y, centres = patches(sources, mus, rng, noise_model, args.batch, args.block, args.spacing)
        net.train()
        pred = net(x)
        weight = 1 + y.abs()  # MSE + field-weighted MSE (|B| / 100 G)
        loss = 1000 * (weight * (pred - y) ** 2)[centres].mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        history.append(
            {"step": step, "loss": round(loss.item(), 4), "minutes": round((time.monotonic() - start) / 60, 2)}
        )
        if step % 50 == 0:
            print(json.dumps(history[-1]), flush=True)
    (out / "history.json").write_text(json.dumps(history) + "\n")
    trainer.epoch, trainer.step = 1, step
    trainer.save_checkpoint(trainer.checkpoint_path)
    result = export_onnx(trainer.checkpoint_path, out / "denoise-m2-hmi-blindspot.onnx", version="blindspot")
    print(result)


if __name__ == "__main__":
    main()
