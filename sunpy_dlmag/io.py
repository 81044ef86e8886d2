"""
Reading and writing files: atomic FITS output.
"""

import copy
import os
import tempfile
from pathlib import Path

import numpy as np

import sunpy.map

__all__ = ["save_map", "write_atomic"]


def write_atomic(path, write, *, overwrite=False):
    """
    Call ``write(tmp_path)`` and move the finished file to ``path`` in one step.

    A crash or an error while writing leaves no partial file at ``path``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part" + path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_map(smap, path, *, overwrite=False):
    """Save a map as FITS atomically (see `write_atomic`)."""
    if "blank" in smap.meta and not np.issubdtype(smap.data.dtype, np.integer):
        # BLANK only applies to integer data; astropy warns when a float image carries it.
        meta = copy.deepcopy(smap.meta)
        meta.pop("blank")
        smap = sunpy.map.Map(smap.data, meta)
    return write_atomic(path, lambda tmp: smap.save(tmp, overwrite=True), overwrite=overwrite)
