"""
The real magnetograms used to train and to evaluate the shipped ``denoise-m2`` weights.

All are real observations from ``../shared/data`` (see its INVENTORY.md). The split keeps
whole regions of the Sun out of training: the southern half of the 2010-10-15 MDI disk
(with its active region) and the HMI cutout of AR 11101 are never seen in training.
"""

from pathlib import Path

import numpy as np
from astropy.io import fits

import sunpy.map

# ../shared/data beside the checkout (a worktree may sit one level deeper).
SHARED = next(
    (
        p / "shared" / "data" / "magnetograms"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "magnetograms",
)
MDI_FULL_DISK = SHARED / "mdi.fd_M_96m_lev182.20101015_000000_TAI.data.fits"
# Rows of the 1024-px MDI disk: north of the centre for training, south for evaluation,
# with a 32-px gap so no training patch touches an evaluation pixel.
MDI_SPLIT_ROW = 512
MDI_GAP = 32


def mdi_map():
    return sunpy.map.Map(MDI_FULL_DISK)


def bin2(data):
    """2x2 mean: halves the noise of the clean training targets (NaN where any pixel is NaN)."""
    ny, nx = data.shape[0] // 2 * 2, data.shape[1] // 2 * 2
    return data[:ny, :nx].reshape(ny // 2, 2, nx // 2, 2).mean(axis=(1, 3))


def training_magnetograms():
    """
    Arrays in G (NaN off the disk) that the network is trained on, as clean targets.

    The M2 autoencoder learns to remove the noise added to these, so they should be less
    noisy than the data it will clean: HMI 720-s data (about 5 G) as they are, MDI 96-min
    data (about 13 G) binned 2x2 (about 6-7 G).
    """
    mdi = mdi_map().data.astype(np.float32)
    return {
        "MDI 96-min full disk 2010-10-15, northern half, 2x2 binned": bin2(mdi[MDI_SPLIT_ROW + MDI_GAP // 2 :]),
        "HMI SHARP 377 (AR 11158) 720-s magnetogram 2011-02-15": sunpy.map.Map(
            SHARED / "sharp_377_20110215" / "hmi.sharp_cea_720s.377.20110215_020000_TAI.magnetogram.fits"
        ).data.astype(np.float32),
        "MDI AR 11101 cutout 2010-08-30, 2x2 binned": bin2(
            fits.getdata(SHARED / "magnet_ar11101_20100830" / "mdi_20100830_173600_AR11101.fits").astype(np.float32)
        ),
    }


def held_out_magnetograms():
    """Arrays in G never used in training."""
    mdi = mdi_map().data.astype(np.float32)
    return {
        "MDI 96-min full disk 2010-10-15, southern half": mdi[: MDI_SPLIT_ROW - MDI_GAP // 2],
        "HMI 720-s AR 11101 cutout 2010-08-30": fits.getdata(
            SHARED / "magnet_ar11101_20100830" / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits"
        ).astype(np.float32),
    }
