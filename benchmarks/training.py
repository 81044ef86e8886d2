"""
Training-speed benchmark of sunpy-dlmag: steps per second of every training preset.

    python benchmarks/training.py [--quick] [--presets NAME ...] [--json PATH]

For each preset (`sunpy_dlmag.training.presets.list_presets`), a
`~sunpy_dlmag.training.trainer.Trainer` is built on a synthetic in-memory
``TensorDataset`` of 256x256 images with the preset's input channel count (random values in
[-1, 1]: the figures are about speed, not science), and its own training step
(``Trainer._gan_step`` or ``Trainer._autoencoder_step``: discriminator and generator
updates, all loss terms, Adam) is timed after warm-up steps. Batch 1 for the GAN presets,
as published; batch 4 for the denoising presets (published: 32). Networks are the published
sizes, except the ``aisfm-v1`` U-Net: depth 8 in place of 10, because a depth-10 U-Net
needs images of a multiple of 1024 px.

Columns: the CPU with 2 threads (``torch.set_num_threads(2)``, float32), and CUDA when
``torch.cuda.is_available()`` (mixed precision, the trainer's default there; else "n/a").
On CUDA, extra rows compare mixed precision with float32 for two presets.

The table is printed and written as JSON to ``benchmarks/results/training.json``.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import write_json

THREADS = 2
SIZE = 256
DENOISE_BATCH = 4
RESULTS = Path(__file__).parent / "results" / "training.json"
# Network changes needed at SIZE px (a U-Net of depth d needs a multiple of 2**d px).
REDUCTIONS = {"aisfm-v1": ({"depth": 8}, "U-Net depth 8 (published 10: needs 1024 px)")}
# Presets whose mixed precision and float32 speeds are compared on CUDA.
AMP_PRESETS = ("pix2pixcc", "denoise-m2")


def _batch_size(preset):
    # Published batch for the GAN presets (1); the denoising ones publish 32, too slow on a CPU.
    return DENOISE_BATCH if preset.model.startswith("denoise") else preset.batch_size


def _parameters(module):
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def time_preset(name, device, *, steps, warmup, amp=None):
    """Seconds per training step of one preset on one device (median of ``steps`` after ``warmup``)."""
    import torch
    from torch.utils.data import TensorDataset

    from sunpy_dlmag.training.presets import get_preset
    from sunpy_dlmag.training.trainer import Trainer

    preset = get_preset(name)
    overrides, note = REDUCTIONS.get(name, ({}, ""))
    batch = _batch_size(preset)
    n_inputs = preset.base_spec().n_inputs
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, n_inputs, SIZE, SIZE, generator=generator) * 2 - 1
    y = torch.rand(batch, 1, SIZE, SIZE, generator=generator) * 2 - 1
    with tempfile.TemporaryDirectory(prefix="sunpy_dlmag_train_bench_") as out_dir:
        trainer = Trainer(
            preset,
            TensorDataset(x, y),
            out_dir=out_dir,
            device=device,
            seed=0,
            batch_size=batch,
            generator_kwargs=overrides,
            amp=amp,
        )
        trainer.generator.train()
        if trainer.discriminator is not None:
            trainer.discriminator.train()
        step = trainer._gan_step if trainer.discriminator is not None else trainer._autoencoder_step
        xd, yd = x.to(trainer.device), y.to(trainer.device)

        on_cuda = trainer.device == "cuda"

        def sync():
            if on_cuda:
                torch.cuda.synchronize()

        for _ in range(warmup):
            step(xd, yd)
        sync()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step(xd, yd)
            sync()
            times.append(time.perf_counter() - start)
        result = {
            "preset": name,
            "device": trainer.device,
            "amp": trainer.amp,
            "batch_size": batch,
            "image_size": SIZE,
            "in_channels": n_inputs,
            "generator": preset.generator,
            "discriminator": preset.discriminator,
            "generator_kwargs": trainer.generator_kwargs,
            "generator_parameters": _parameters(trainer.generator),
            "discriminator_parameters": _parameters(trainer.discriminator),
            "tile_safe": preset.tile_safe,
            "note": note,
            "seconds_per_step": statistics.median(times),
            "all_seconds": times,
            "warmup": warmup,
        }
        result["steps_per_s"] = 1.0 / result["seconds_per_step"]
        result["images_per_s"] = batch / result["seconds_per_step"]
        del trainer, step
    if on_cuda:
        torch.cuda.empty_cache()
    return result


def _fmt(value):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:.3g}"


def print_table(header, lines):
    cells = [header, *lines]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for k, line in enumerate(cells):
        print(
            "  ".join(
                p.ljust(widths[i]) if i in (0, 1, len(header) - 1) else p.rjust(widths[i]) for i, p in enumerate(line)
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 warm-up and 1 timed step per preset, for a smoke test")
    parser.add_argument("--presets", nargs="+", help="only these presets (default: all)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the JSON (default {RESULTS})")
    args = parser.parse_args(argv)

    import torch

    from sunpy_dlmag.training.presets import get_preset, list_presets

    torch.set_num_threads(THREADS)
    names = args.presets or list_presets()
    for name in names:
        get_preset(name)  # unknown names fail before any timing
    cuda = torch.cuda.is_available()
    cpu_steps, cpu_warmup = (1, 1) if args.quick else (5, 1)
    cuda_steps, cuda_warmup = (3, 2) if args.quick else (10, 3)

    wall = time.perf_counter()
    results = []
    for name in names:
        cpu = time_preset(name, "cpu", steps=cpu_steps, warmup=cpu_warmup)
        gpu = time_preset(name, "cuda", steps=cuda_steps, warmup=cuda_warmup) if cuda else None
        results.append({"preset": name, "cpu": cpu, "cuda": gpu})
        print(
            f"  {name}: CPU {cpu['seconds_per_step']:.2f} s/step"
            + (f", CUDA {gpu['seconds_per_step'] * 1e3:.1f} ms/step" if gpu else ""),
            file=sys.stderr,
            flush=True,
        )
    amp_rows = []
    if cuda:
        for name in (n for n in AMP_PRESETS if n in names):
            fp32 = time_preset(name, "cuda", steps=cuda_steps, warmup=cuda_warmup, amp=False)
            mixed = time_preset(name, "cuda", steps=cuda_steps, warmup=cuda_warmup, amp=True)
            amp_rows.append(
                {
                    "preset": name,
                    "fp32": fp32,
                    "amp": mixed,
                    "speedup": fp32["seconds_per_step"] / mixed["seconds_per_step"],
                }
            )
    wall = time.perf_counter() - wall

    gpu_name = torch.cuda.get_device_name(0) if cuda else "none"
    print(
        f"sunpy-dlmag training benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
        f"({THREADS} torch threads), GPU: {gpu_name}; torch {torch.__version__}; {SIZE}x{SIZE} images; "
        f"batch 1 (GAN presets, as published), {DENOISE_BATCH} (denoise presets, published 32); "
        f"median of {cpu_steps} step(s) after {cpu_warmup} warm-up on the CPU"
        + (f", {cuda_steps} after {cuda_warmup} on CUDA (mixed precision)" if cuda else "")
    )
    print()
    header = ("preset", "networks", "batch", "params G+D [M]", "CPU steps/s", "CUDA steps/s", "note")
    lines = []
    for r in results:
        cpu, gpu = r["cpu"], r["cuda"]
        networks = f"{cpu['generator']} / {cpu['discriminator'] or '-'}"
        params = (cpu["generator_parameters"] + cpu["discriminator_parameters"]) / 1e6
        lines.append(
            (
                r["preset"],
                networks,
                str(cpu["batch_size"]),
                f"{params:.1f}",
                _fmt(cpu["steps_per_s"]),
                _fmt(gpu["steps_per_s"] if gpu else None),
                cpu["note"],
            )
        )
    print_table(header, lines)
    print()
    if amp_rows:
        header = ("preset (CUDA)", "batch", "fp32 steps/s", "AMP steps/s", "AMP speed-up")
        lines = [
            (
                a["preset"],
                str(a["fp32"]["batch_size"]),
                _fmt(a["fp32"]["steps_per_s"]),
                _fmt(a["amp"]["steps_per_s"]),
                f"{a['speedup']:.2f}x",
            )
            for a in amp_rows
        ]
        print_table(header, lines)
    else:
        print("mixed precision vs fp32: n/a (no CUDA device; mixed precision is CUDA-only)")
    print()
    print(f"wall time {wall:.1f} s")

    result = {
        "presets": results,
        "amp_vs_fp32": amp_rows,
        "settings": {
            "threads": THREADS,
            "image_size": SIZE,
            "denoise_batch_size": DENOISE_BATCH,
            "cpu_steps": cpu_steps,
            "cpu_warmup": cpu_warmup,
            "cuda_steps": cuda_steps if cuda else None,
            "cuda_warmup": cuda_warmup if cuda else None,
            "quick": args.quick,
            "reductions": {k: v[1] for k, v in REDUCTIONS.items()},
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "gpu": gpu_name,
        },
        "wall_s": wall,
    }
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
