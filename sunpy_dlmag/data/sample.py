"""
Real observations bundled with the package, for examples, the demo and quick checks.

Each name is the path of a FITS file that loads with `sunpy.map.Map`.
"""

from pathlib import Path

__all__ = ["MDI_MAGNETOGRAM"]

_DIR = Path(__file__).parent / "_sample"

#: SOHO/MDI 96-minute line-of-sight magnetogram, 2010-10-15 00:00 TAI, full disk, 1024x1024 px, G
#: (from the sunpy repository history, BSD-2-Clause).
MDI_MAGNETOGRAM = _DIR / "mdi.fd_M_96m_lev182.20101015_000000_TAI.data.fits"
