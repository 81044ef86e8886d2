"""
=========================
Denoising a magnetogram
=========================

Remove the noise of a real SOHO/MDI magnetogram with the ``denoise-m2`` network that ships
with sunpy-dlmag, and check what was removed: the noise level of the quiet Sun before and
after, and the residual, which should look like noise and not like the field.
"""

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
# A full-disk MDI 96-minute magnetogram from 2010-10-15, bundled with the package.

mdi = sunpy.map.Map(MDI_MAGNETOGRAM)

###############################################################################
# Denoise it. The result is a new map on the same grid, with the same observer and
# time; its header says which model made it.

clean = sunpy_dlmag.denoise(mdi, device="cpu")
print(clean.meta["dlmodel"], clean.meta["dlmodver"], clean.meta["dlsha256"][:12])

###############################################################################
# Noise levels: a Gaussian fitted to the histogram core of quiet-Sun pixels.

quiet = quiet_sun_mask(mdi)
before = sunpy_dlmag.noise_level(mdi, region=quiet)
after = sunpy_dlmag.noise_level(clean, region=quiet)
print(f"noise level: {before:.1f} -> {after:.1f}")

###############################################################################
# The active region in the south, before and after, what was removed, and the
# quiet-Sun histograms.

residual = sunpy.map.Map(mdi.data - clean.data, clean.meta)
corners = [SkyCoord(x * u.arcsec, y * u.arcsec, frame=mdi.coordinate_frame) for x, y in ((-500, -700), (400, -150))]
norm = ImageNormalize(vmin=-150, vmax=150)

fig = plt.figure(figsize=(14, 8), layout="constrained")
for i, (m, title) in enumerate(((mdi, "MDI"), (clean, "denoise-m2"), (residual, "removed")), start=1):
    sub = m.submap(corners[0], top_right=corners[1])
    ax = fig.add_subplot(2, 2, i, projection=sub)
    sub.plot(axes=ax, cmap="gray", norm=norm, title=title)
ax = fig.add_subplot(2, 2, 4)
bins = np.arange(-60, 61)
ax.hist(mdi.data[quiet], bins=bins, histtype="step", label=f"MDI, sigma {before:.1f}")
ax.hist(clean.data[quiet], bins=bins, histtype="step", label=f"denoised, sigma {after:.1f}")
ax.set_xlabel("line-of-sight field [G], quiet Sun")
ax.set_ylabel("pixels")
ax.legend()
plt.show()
