"""
Real observations bundled with the package, for examples, the demo and quick checks.

Each name is the path of a FITS file. The full-disk images load with `sunpy.map.Map`; the global
magnetic maps need the reader of `sunpy_dlmag.io` named beside them (their headers are not standard).
"""

from pathlib import Path

__all__ = ["ADAPT_SYNCHRONIC", "AIA_171", "EUVI_171", "GONG_SYNOPTIC", "HMI_SYNCHRONIC", "MDI_MAGNETOGRAM"]

_DIR = Path(__file__).parent / "_sample"

#: SOHO/MDI 96-minute line-of-sight magnetogram, 2010-10-15 00:00 TAI, full disk, 1024x1024 px, G
#: (from the sunpy repository history, BSD-2-Clause).
MDI_MAGNETOGRAM = _DIR / "mdi.fd_M_96m_lev182.20101015_000000_TAI.data.fits"

#: STEREO-A/EUVI 171 Angstrom, 2011-02-15 00:14 UT, full disk binned to 128x128 px, level 0.5 (DN, bias
#: not subtracted), co-temporal with `AIA_171` (from the astropy/reproject test data, BSD-3-Clause).
EUVI_171 = _DIR / "secchi_l0_a.fits"

#: SDO/AIA 171 Angstrom, 2011-02-15 00:00 UT, full disk binned to 128x128 px, level 1 (DN), co-temporal
#: with `EUVI_171` (from the sunpy test data, BSD-2-Clause).
AIA_171 = _DIR / "aia_171_level1.fits"

#: GONG zero-point-corrected synoptic map (``mrzqs``), Carrington rotation 2210, 2018-11-06 00:04,
#: 360x180 Carrington CEA, G; read it with `sunpy_dlmag.io.read_gong_synoptic`
#: (from STBadman/magnetograms2pfsspy example data; NSO/GONG data).
GONG_SYNOPTIC = _DIR / "mrzqs181106t0004c2210_166.fits"

#: SDO/HMI daily synchronic frame (``hmi.mrdailysynframe_small_720s``), 2018-11-06 12:00 TAI,
#: 720x360 Carrington CEA, G; read it with `sunpy_dlmag.io.read_hmi_synchronic`
#: (from STBadman/magnetograms2pfsspy example data; JSOC).
HMI_SYNCHRONIC = _DIR / "hmi.mrdailysynframe_small_720s.20181106_120000_TAI.data.fits"

#: ADAPT-GONG synchronic map, 12 realisations, 2018-11-06 00:00, 360x180 Carrington plate carree, G;
#: read it with `sunpy_dlmag.io.read_adapt` (from STBadman/magnetograms2pfsspy example data; NSO/ADAPT).
ADAPT_SYNCHRONIC = _DIR / "adapt40311_02e012_201811060000_i00005600n0.fts"
