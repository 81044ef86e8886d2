"""
The real SDO/HMI magnetograms used to train and to evaluate the ``denoise-m2-hmi`` weights.

Three 720-s full disks at full resolution (4096 px, raw orientation: CROTA2 = 180, so array
rows below the centre are the solar north) and the SHARP 377 cutout, all from
``../shared/data`` (see its INVENTORY.md). The split keeps half of every disk out of
training: the northern half (array rows below ``SPLIT_ROW - GAP // 2``) is held out, the
southern half (rows from ``SPLIT_ROW + GAP // 2``) is trained on, so no training patch
touches an evaluation pixel. The HMI cutout of AR 11101 stays held out as for
``denoise-m2``.
"""

from pathlib import Path

import numpy as np
from scipy import ndimage

import sunpy.map

from sunpy_dlmag import disk

# ../shared/data beside the checkout (a worktree may sit one level deeper).
SHARED = next(
    (
        p / "shared" / "data" / "magnetograms"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "magnetograms",
)
FULL_DISK_DIR = SHARED / "hmi_fulldisk_720s"
FULL_DISKS = {
    "2016-07-07": "hmi.sharp_fulldisk_sample_1_TAI.magnetogram.fits",
    "2019-06-21": "hmi.sharp_fulldisk_sample_2_TAI.magnetogram.fits",
    "2011-12-17": "hmi.sharp_fulldisk_sample_3_TAI.magnetogram.fits",
}
SHARP_377 = SHARED / "sharp_377_20110215" / "hmi.sharp_cea_720s.377.20110215_020000_TAI.magnetogram.fits"
AR_11101 = SHARED / "magnet_ar11101_20100830" / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits"
SPLIT_ROW = 2048
GAP = 32
# Extra training sources: boxes around the strongest field of each training half, so that
# active regions (a few percent of the disk) are seen more often.
AR_BOX = 512


def full_disk_map(date):
    """The HMI 720-s full-disk map of ``date`` (a key of `FULL_DISKS`)."""
    return sunpy.map.Map(FULL_DISK_DIR / FULL_DISKS[date])


def held_out_rows():
    """Array rows of each disk never trained on (the northern half)."""
    return np.s_[: SPLIT_ROW - GAP // 2]


def training_rows():
    return np.s_[SPLIT_ROW + GAP // 2 :]


def strongest_box(data, size=AR_BOX):
    """The size x size box around the strongest smoothed |B| of ``data``, away from the limb."""
    binned = data[::4, ::4]
    # The outermost pixels of the disk hold spurious kG values.
    inside = ndimage.binary_erosion(np.isfinite(binned), iterations=32)
    strength = ndimage.uniform_filter(np.where(inside, np.abs(np.nan_to_num(binned)), 0), 9)
    y, x = (4 * int(v) for v in np.unravel_index(np.argmax(strength), strength.shape))
    y = int(np.clip(y - size // 2, 0, data.shape[0] - size))
    x = int(np.clip(x - size // 2, 0, data.shape[1] - size))
    return np.s_[y : y + size, x : x + size]


def training_magnetograms():
    """Arrays in G (NaN off the disk): the clean targets of training, as name -> array."""
    out = {}
    boxes = {}
    for date in FULL_DISKS:
        half = full_disk_map(date).data[training_rows()].astype(np.float32)
        out[f"HMI 720-s full disk {date}, southern half"] = half
        boxes[f"HMI 720-s full disk {date}, strongest-field box of the southern half"] = half[strongest_box(half)]
    out["HMI SHARP 377 (AR 11158) 720-s magnetogram 2011-02-15"] = sunpy.map.Map(SHARP_377).data.astype(np.float32)
    out.update(boxes)
    return out


def training_mu():
    """mu of each array of `training_magnetograms` (None for the SHARP cutout: CEA), by name."""
    out = {}
    for date in FULL_DISKS:
        smap = full_disk_map(date)
        half = smap.data[training_rows()]
        mu = disk.mu(smap)[training_rows()].astype(np.float32)
        out[f"HMI 720-s full disk {date}, southern half"] = mu
        out[f"HMI 720-s full disk {date}, strongest-field box of the southern half"] = mu[strongest_box(half)]
    out["HMI SHARP 377 (AR 11158) 720-s magnetogram 2011-02-15"] = None
    return out


def held_out_mu():
    """mu of the full-disk halves of `held_out_magnetograms`, by name."""
    return {
        f"HMI 720-s full disk {date}, northern half": disk.mu(full_disk_map(date))[held_out_rows()].astype(np.float32)
        for date in FULL_DISKS
    }


def held_out_magnetograms():
    """Arrays in G never used in training, as name -> array."""
    from astropy.io import fits

    out = {
        f"HMI 720-s full disk {date}, northern half": full_disk_map(date).data[held_out_rows()].astype(np.float32)
        for date in FULL_DISKS
    }
    out["HMI 720-s AR 11101 cutout 2010-08-30"] = fits.getdata(AR_11101).astype(np.float32)
    return out
