"""
Put exported denoise-m2 or denoise-m2-hmi weights into the package with the registry's spec embedded.

    python tools/package_denoise_m2.py RUN/denoise-m2.onnx
    python tools/package_denoise_m2.py RUN/denoise-m2-hmi.onnx

The model is named by the file (its stem). Writes sunpy_dlmag/models/weights/NAME.onnx whose
metadata hold the registry entry of NAME (without its own sha256, which cannot be inside
the file it hashes), and prints the sha256 to record in sunpy_dlmag/models/catalogue.py.
"""

import dataclasses
import shutil
import sys
from pathlib import Path

from sunpy_dlmag.models import WeightsSource, get_model, sha256sum
from sunpy_dlmag.models.registry import WEIGHTS_DIR, write_spec_to_onnx


def main():
    source = Path(sys.argv[1])
    name = source.stem
    if name not in ("denoise-m2", "denoise-m2-hmi"):
        raise SystemExit(f"Expected denoise-m2.onnx or denoise-m2-hmi.onnx, got {source.name}.")
    target = WEIGHTS_DIR / f"{name}.onnx"
    shutil.copyfile(source, target)
    spec = dataclasses.replace(get_model(name), weights=WeightsSource())
    write_spec_to_onnx(target, spec)
    print(f"{target}: sha256 {sha256sum(target)}")


if __name__ == "__main__":
    main()
