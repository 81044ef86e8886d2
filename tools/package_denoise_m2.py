"""
Put exported denoise-m2 or denoise-m2-hmi weights into the package with the registry's spec embedded.

    python tools/package_denoise_m2.py RUN/denoise-m2-candidate.onnx
    python tools/package_denoise_m2.py RUN/denoise-m2-hmi-candidate.onnx

The model is named by the file (its stem, less ``-candidate``: the training tools' exports may not
take the registered name). Writes sunpy_dlmag/models/weights/NAME.onnx whose
metadata hold the registry entry of NAME (without its own sha256, which cannot be inside
the file it hashes) and no exporter records of the machine that wrote it, prints the sha256
to record in sunpy_dlmag/models/catalogue.py, and says whether the weights (the ONNX
initializers) are bit-identical to those of the file it replaces. The same weights, the same
catalogue entry and the same torch and onnx versions give the same sha256.
"""

import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

from onnx import load, numpy_helper

from sunpy_dlmag.models import WeightsSource, get_model, sha256sum
from sunpy_dlmag.models.registry import WEIGHTS_DIR, write_spec_to_onnx


def main():
    source = Path(sys.argv[1])
    name = source.stem.removesuffix("-candidate")
    if name not in ("denoise-m2", "denoise-m2-hmi"):
        raise SystemExit(f"Expected denoise-m2[-hmi][-candidate].onnx, got {source.name}.")
    target = WEIGHTS_DIR / f"{name}.onnx"
    previous = _initializers(target) if target.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        packaged = Path(tmp) / target.name  # the source may be the shipped file itself
        shutil.copyfile(source, packaged)
        spec = dataclasses.replace(get_model(name), weights=WeightsSource())
        write_spec_to_onnx(packaged, spec)
        shutil.copyfile(packaged, target)
    print(f"{target}: sha256 {sha256sum(target)}")
    if previous is not None:
        same = previous == _initializers(target)
        print(f"weights: {'bit-identical to' if same else 'DIFFERENT from'} those of the file it replaced")


def _initializers(path):
    """The weights of an ONNX file: each initializer's name, type, shape and raw bytes."""
    graph = load(str(path)).graph
    return {i.name: (i.data_type, tuple(i.dims), numpy_helper.to_array(i).tobytes()) for i in graph.initializer}


if __name__ == "__main__":
    main()
