"""
Put exported denoise-m2 weights into the package with the registry's spec embedded.

    python tools/package_denoise_m2.py RUN/denoise-m2.onnx

Writes sunpy_dlmag/models/weights/denoise-m2.onnx whose metadata hold the registry entry
of ``denoise-m2`` (without its own sha256, which cannot be inside the file it hashes), and
prints the sha256 to record in sunpy_dlmag/models/catalogue.py.
"""

import dataclasses
import shutil
import sys

from sunpy_dlmag.models import WeightsSource, get_model, sha256sum
from sunpy_dlmag.models.registry import WEIGHTS_DIR, write_spec_to_onnx


def main():
    source = sys.argv[1]
    target = WEIGHTS_DIR / "denoise-m2.onnx"
    shutil.copyfile(source, target)
    spec = dataclasses.replace(get_model("denoise-m2"), weights=WeightsSource())
    write_spec_to_onnx(target, spec)
    print(f"{target}: sha256 {sha256sum(target)}")


if __name__ == "__main__":
    main()
