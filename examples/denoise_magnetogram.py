"""
=========================
Denoising a magnetogram
=========================

Remove the noise of a real SDO/HMI full-disk magnetogram with the ``denoise-m2-hmi`` network
that ships with sunpy-dlmag, with a per-pixel uncertainty, and check what was removed: the
noise level of the quiet Sun before and after, and the residual, which should look like
noise and not like the field.

The HMI 720-s full disk of 2011-12-17 is read from ``../shared/data`` when it is there (the
project's collection of real observations). Elsewhere the example uses the SOHO/MDI
magnetogram bundled with the package, which `sunpy_dlmag.denoise` gives to ``denoise-m2``,
the model for MDI: the choice follows the map's instrument.
"""

from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.visualization import ImageNormalize

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.denoise import quiet_sun_mask

###############################################################################
# A real full-disk magnetogram: HMI when the shared data are present, else the bundled MDI.

FULL_DISK = "magnetograms/hmi_fulldisk_720s/hmi.sharp_fulldisk_sample_3_TAI.magnetogram.fits"
here = Path(globals().get("__file__", Path.cwd() / "example.py")).resolve()
candidates = [p / "shared" / "data" / FULL_DISK for p in (*here.parents, *Path.cwd().resolve().parents)]
hmi_file = next((p for p in candidates if p.is_file()), None)
if hmi_file is not None:
    print(f"Using the real HMI 720-s full disk {hmi_file.name}")
    full_disk = sunpy.map.Map(hmi_file)
    # An active region of the northern half, which training never saw, and the quiet Sun
    # around it (arcsec; 512 x 512 px).
    corners = ((-287, 98), (-30, 355))
else:
    print("The shared HMI full disks are not here: using the bundled SOHO/MDI magnetogram instead")
    full_disk = sunpy.map.Map(MDI_MAGNETOGRAM)
    corners = ((-500, -700), (400, -150))
print(full_disk.instrument, full_disk.date.isot, full_disk.data.shape)

###############################################################################
# The network runs on any map, a whole disk included (``sunpy_dlmag.denoise(full_disk)``);
# a 4096-px disk takes a minute or more on a laptop CPU, and the uncertainty eight times
# that, so the gallery denoises a cut-out around an active region. ``uncertainty=True``
# runs the network on the 8 rotations and flips of the image: the output is their mean,
# the uncertainty their calibrated spread (see the model card).

cutout = full_disk.submap(
    SkyCoord(*corners[0], unit=u.arcsec, frame=full_disk.coordinate_frame),
    top_right=SkyCoord(*corners[1], unit=u.arcsec, frame=full_disk.coordinate_frame),
)
clean = sunpy_dlmag.denoise(cutout, device="cpu", uncertainty=True)
print(clean.meta["dlmodel"], clean.meta["dlmodver"], clean.meta["dlsha256"][:12])
sigma = clean.uncertainty.quantity

###############################################################################
# Noise levels: a Gaussian fitted to the histogram core of quiet-Sun pixels.

quiet = quiet_sun_mask(cutout)
before = sunpy_dlmag.noise_level(cutout, region=quiet)
after = sunpy_dlmag.noise_level(clean, region=quiet)
print(f"noise level: {before:.2f} -> {after:.2f}; median uncertainty {np.nanmedian(sigma):.2f}")

###############################################################################
# Input, output, what was removed, the uncertainty, and the quiet-Sun histograms. HMI
# data are stored upside down (CROTA2 = 180); the maps are turned north up for display only.

residual = sunpy.map.Map(cutout.data - clean.data, clean.meta)
uncertainty = sunpy.map.Map(sigma.to_value(u.G), clean.meta)
panels = [
    (cutout, f"{cutout.instrument} input", "gray", 300),
    (clean, f"{clean.meta['dlmodel']} output (AI product)", "gray", 300),
    (residual, "removed: input - output", "gray", 20),
    (uncertainty, "uncertainty (1 sigma)", "viridis", None),
]
fig = plt.figure(figsize=(15, 9), layout="constrained")
for i, (m, title, cmap, limit) in enumerate(panels, start=1):
    m = m.rotate(order=1)
    ax = fig.add_subplot(2, 3, i, projection=m)
    low, high = (0, float(np.nanpercentile(m.data, 99))) if limit is None else (-limit, limit)
    image = m.plot(axes=ax, cmap=cmap, norm=ImageNormalize(vmin=low, vmax=high), title=title)
    fig.colorbar(image, ax=ax, shrink=0.8, label="G")
ax = fig.add_subplot(2, 3, 5)
bins = np.arange(-30, 31, 0.5)
ax.hist(cutout.data[quiet], bins=bins, histtype="step", label=f"input, sigma {before:.1f}")
ax.hist(clean.data[quiet], bins=bins, histtype="step", label=f"denoised, sigma {after:.1f}")
ax.set_xlabel("line-of-sight field [G], quiet Sun")
ax.set_ylabel("pixels")
ax.legend()
ax = fig.add_subplot(2, 3, 6)
strength = np.abs(clean.data)
ok = np.isfinite(strength)
ax.hist2d(np.log10(strength[ok] + 1), sigma.to_value(u.G)[ok], bins=60, cmap="Greys", norm="log")
ax.set_xlabel("log10(|B| / G + 1) of the output")
ax.set_ylabel("uncertainty [G]")
fig.suptitle(f"sunpy-dlmag {clean.meta['dlmodel']}: an AI product, not an observation")
plt.show()
