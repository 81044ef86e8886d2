"""
=========================
Denoising a magnetogram
=========================

Remove the noise of a real full-disk magnetogram with the network that ships with
sunpy-dlmag, with a per-pixel uncertainty, and check what was removed: the noise level of the
quiet Sun before and after, and the residual, which should look like noise and not like the
field.

The example runs on the SOHO/MDI magnetogram of 2010-10-15 bundled with the package, which
`sunpy_dlmag.denoise` gives to ``denoise-m2``, the model for MDI: the choice follows the map's
instrument. The same code runs on an SDO/HMI full disk (``denoise-m2-hmi``), e.g. one fetched
and cached with sunpy's ``Fido``::

    from sunpy.net import Fido, attrs as a
    result = Fido.search(a.Time("2011-12-17 06:00", "2011-12-17 06:12"), a.jsoc.Series("hmi.M_720s"),
                         a.jsoc.Notify("you@example.org"))
    full_disk = sunpy.map.Map(Fido.fetch(result))

Part of this MDI disk was seen in training (see the model card); the numbers below show how the
network behaves, they are not its held-out score.
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
from sunpy_dlmag.plotting import label_panels, plot_map

###############################################################################
# The full-disk magnetogram bundled with the package, and a cut-out around its active region
# in the south with the quiet Sun around it (arcsec).

full_disk = sunpy.map.Map(MDI_MAGNETOGRAM)
print(full_disk.instrument, full_disk.date.isot, full_disk.data.shape)
corners = ((-500, -700), (400, -150))

###############################################################################
# The network runs on any map, a whole disk included (``sunpy_dlmag.denoise(full_disk)``,
# about 10 s for MDI's 1024 px on a laptop CPU, see :ref:`performance`); the uncertainty costs
# eight times that, so the gallery denoises the cut-out. ``uncertainty=True`` runs the network
# on the 8 rotations and flips of the image: the output is their mean, the uncertainty their
# calibrated spread (see the model card).

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
# Input and output in grey at +-100 G, where the noise shows; what was removed at +-20 G; the
# uncertainty; and the quiet-Sun histograms. Maps are shown north up (for display only).

residual = sunpy.map.Map(cutout.data - clean.data, cutout.meta)
removed = {"cmap": "gray", "norm": ImageNormalize(vmin=-20, vmax=20)}
fig = plt.figure(figsize=(15, 9), layout="constrained")
axes = [
    plot_map(cutout, figure=fig, position=(2, 3, 1), noise=True, title=f"{cutout.instrument} input", limb=False),
    plot_map(clean, figure=fig, position=(2, 3, 2), noise=True, title=f"{clean.meta['dlmodel']} output",
             limb=False),
    plot_map(residual, figure=fig, position=(2, 3, 3), title="removed: input - output", limb=False,
             settings=removed, label=r"$\Delta B_\mathrm{LOS}$ [G]"),
    plot_map(clean.uncertainty_map, figure=fig, position=(2, 3, 4), title="uncertainty (1 sigma)", limb=False),
]  # fmt: skip
ax = fig.add_subplot(2, 3, 5)
bins = np.arange(-30, 31, 0.5)
ax.hist(cutout.data[quiet], bins=bins, histtype="step", label=f"input, $\\sigma$ = {before.to_value(u.G):.1f} G")
ax.hist(clean.data[quiet], bins=bins, histtype="step", label=f"denoised, $\\sigma$ = {after.to_value(u.G):.1f} G")
ax.set_xlabel(r"$B_\mathrm{LOS}$ [G], quiet Sun")
ax.set_ylabel("pixels")
ax.set_ylim(top=ax.get_ylim()[1] * 1.35)  # room above the peak for the legend
ax.legend(loc="upper right", fontsize="small", frameon=False)  # the letter takes the left
axes.append(ax)
ax = fig.add_subplot(2, 3, 6)
strength = np.abs(clean.data)
ok = np.isfinite(strength)
*_, image = ax.hist2d(np.log10(strength[ok] + 1), sigma.to_value(u.G)[ok], bins=60, cmap="Greys", norm="log")
fig.colorbar(image, ax=ax, shrink=0.8, label="pixels per bin")
ax.set_xlabel(r"$\log_{10}(|B_\mathrm{LOS}|\,/\,\mathrm{G} + 1)$ of the output")
ax.set_ylabel(r"$\sigma$ [G]")
axes.append(ax)
label_panels(axes)
fig.suptitle(f"sunpy-dlmag {clean.meta['dlmodel']}: an AI product, not an observation")
plt.show()
