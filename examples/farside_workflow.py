"""
=========================================================
From a STEREO/EUVI image to a farside magnetogram map
=========================================================

The farside networks of sunpy-dlmag (AISFM v1, v2, v3 and Pix2PixCC) are trained on SDO/AIA
images and SDO/HMI magnetograms, and applied to STEREO/EUVI images of the far side. This
example walks through what `sunpy_dlmag.farside.farside_magnetogram` does with a real
STEREO-A/EUVI 171 image of 2011-02-15, using the co-temporal SDO/AIA 171 image that ships
with it:

1. the EUVI -> AIA intensity cross-calibration, derived from the two images;
2. the model frame the networks were trained on (north up, disk centred, solar radius 392 px);
3. the output: a new map in STEREO-A's frame, on the EUVI image's own grid.

No trained farside weights exist in the package (no paired AIA/HMI training data could be
obtained here), so step 3 runs a **pipeline-check network**: a fixed Gaussian smoothing of
the normalised EUV intensity, registered with an AISFM-like spec. Its output is **not a
magnetogram**; it only shows that the geometry, calibration and provenance are right.
The last section runs the papers' evaluation table (`sunpy_dlmag.metrics.evaluate`) on real
magnetograms with the one real network that ships, ``denoise-m2``.
"""

import tempfile
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.visualization import ImageNormalize, LogStretch

import sunpy.map

from sunpy_dlmag import calibration, metrics
from sunpy_dlmag.data.sample import AIA_171, EUVI_171, MDI_MAGNETOGRAM
from sunpy_dlmag.farside import farside_magnetogram, prepare_inputs
from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization, load_model
from sunpy_dlmag.models.graphs import gaussian_filter_network

###############################################################################
# Two co-temporal full-disk 171 Angstrom images, binned to 128 x 128 px: STEREO-A/EUVI
# (level 0.5: DN, bias not subtracted) from 87 degrees west of Earth, and SDO/AIA (level 1).

euvi = sunpy.map.Map(EUVI_171)
aia = sunpy.map.Map(AIA_171)
for smap in (euvi, aia):
    observer = smap.observer_coordinate
    print(
        f"{smap.observatory:8s} {smap.detector:4s} {smap.date.isot}  observer lon {observer.lon:.1f}, "
        f"{observer.radius.to(u.AU):.3f}, exposure {smap.exposure_time}"
    )

###############################################################################
# Cross-calibration
# -----------------
# Both images are exposure-normalised to DN/s (`~sunpy_dlmag.calibration.normalize_exposure`;
# the EUVI bias, ``BIASMEAN``, is subtracted first), then the on-disk intensity
# distributions (mu >= 0.3) are matched: ``I_AIA = scale x I_EUVI`` with the scale the
# geometric mean of the ratios of their 5 %, 10 %, ..., 95 % quantiles. The two spacecraft
# see different hemispheres, so the distributions differ in their active-region tails; the
# single scale factor describes the quiet-Sun bulk.

relation = calibration.derive_calibration(euvi, aia)
print(relation)
print(f"scatter of the quantile fit: {relation.scatter:.3f} dex")
print("the packaged factor:", calibration.get_calibration("STEREO_A", 171 * u.AA).scale)

###############################################################################
# The packaged table has this factor (derived from exactly these files); the other
# spacecraft and passbands say 'not available', and `~sunpy_dlmag.farside_magnetogram` then asks for a
# calibration derived from the user's own co-temporal pair.

print(calibration.calibration_table()["observatory", "wavelength", "aia_wavelength", "scale"])

###############################################################################
# The on-disk intensity histograms before and after: the calibrated EUVI distribution lies
# on the AIA one in its bulk.


def on_disk(smap, values):
    coords = sunpy.map.all_coordinates_from_map(smap)
    rho = np.hypot(coords.Tx, coords.Ty) / smap.rsun_obs
    return values[(rho < np.sqrt(1 - 0.3**2)) & (values > 0)]


euvi_rate = calibration.normalize_exposure(euvi)
aia_rate = calibration.normalize_exposure(aia)
euvi_as_aia = calibration.cross_calibrate(euvi)
bins = np.logspace(1.4, 3.2, 60)
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
ax.hist(on_disk(euvi, euvi_rate.data), bins=bins, histtype="step", density=True, label="EUVI-A 171 [DN/s]")
ax.hist(
    on_disk(euvi, euvi_as_aia.data),
    bins=bins,
    histtype="step",
    density=True,
    lw=2,
    label=f"EUVI-A 171 x {relation.scale:.3f} (AIA-equivalent)",
)
ax.hist(on_disk(aia, aia_rate.data), bins=bins, histtype="step", density=True, color="k", label="AIA 171 [DN/s]")
ax.set_xscale("log")
ax.set_xlabel("on-disk 171 intensity (mu >= 0.3) [DN/s]")
ax.set_ylabel("density")
ax.set_title("EUVI-A -> AIA 171 cross-calibration, 2011-02-15 00:00-00:14 UT")
ax.legend()

###############################################################################
# A pipeline-check network
# ------------------------
# The spec has the AISFM geometry (1024 x 1024 px, solar radius 392 px) and the AISFM-v2
# EUV normalisation, ``log10(clip(I, 1, 200))`` to [-1, 1], for one AIA 171 channel; the
# network smooths that normalised image and the runtime maps [-1, 1] to +-3000 G. It is a
# check of the pipeline: its "field" is brightness, NOT a magnetic field.

spec = ModelSpec(
    name="pipeline-check",
    task="farside",
    architecture="Gaussian smoothing (sigma 4 px) of the normalised EUV image; NOT a science model",
    inputs=(Channel("AIA", 171 * u.AA, "DN/s", Normalization("log10", 1.0, 200.0)),),
    output=Channel("HMI", None, "G", Normalization("linear", -3000.0, 3000.0)),
    geometry=Geometry(image_size=1024, rsun_px=392.0, stride=1, receptive_radius=12),
    training_data="none: a fixed filter, for checking the pipeline",
)
workdir = Path(tempfile.mkdtemp())
gaussian_filter_network(workdir / "pipeline-check.onnx", sigma=4.0, spec=spec)
network = load_model(workdir / "pipeline-check.onnx", device="cpu")

###############################################################################
# What the network sees: `~sunpy_dlmag.farside.prepare_inputs` runs the checks, the
# exposure normalisation, the cross-calibration and the resampling to the model frame,
# without running the network. The EUVI image is rolled by 6.8 degrees; the model frame is
# north up, with the disk centred and 392 px in radius.

(frame,) = prepare_inputs(euvi, model=network)
radius = (frame.rsun_obs / frame.scale.axis1).to_value(u.pix)
print(f"model frame: {frame.data.shape}, solar radius {radius:.1f} px, {frame.unit}")

###############################################################################
# The farside map: a new map on the EUVI image's grid, in STEREO-A's frame at the EUVI
# time, NaN off the disk, with provenance that names the model, its weights and the EUVI
# observation.

out = farside_magnetogram(euvi, model=network, device="cpu")
print(out.observatory, out.date.isot, out.observer_coordinate.lon, out.unit)
print(out.meta["history"].splitlines()[-1][:400], "...")

###############################################################################
# The EUVI input, the model frame and the output. On the output, the orange line is the
# limb as seen from SDO: STEREO-A sees about half of the Earth-facing hemisphere; the rest
# of its disk (right of the line) is the far side.

# The two EUV panels are the same AIA-equivalent 171 data, in one colour map and one scale.

when = euvi.date.strftime("%Y-%m-%d %H:%M UT")
fig = plt.figure(figsize=(15, 5.4), layout="constrained")
euv = {"cmap": "sdoaia171", "norm": ImageNormalize(vmin=20, vmax=2000, stretch=LogStretch())}
ax = fig.add_subplot(1, 3, 1, projection=euvi_as_aia)
image = euvi_as_aia.plot(axes=ax, title=f"STEREO-A/EUVI 171 (observed)\n{when}, AIA-equivalent", **euv)
euv_ticks = [30, 100, 300, 1000, 2000]
fig.colorbar(image, ax=ax, shrink=0.8, extend="both", ticks=euv_ticks, label="AIA-equivalent 171 [DN/s]")
ax = fig.add_subplot(1, 3, 2, projection=frame)
image = frame.plot(axes=ax, title=f"the same in the model frame\n1024 px, R = {radius:.0f} px, north up", **euv)
frame.draw_limb(axes=ax, color="w", lw=0.5)
ax.coords[1].set_axislabel(" ")
fig.colorbar(image, ax=ax, shrink=0.8, extend="both", ticks=euv_ticks, label="AIA-equivalent 171 [DN/s]")
ax = fig.add_subplot(1, 3, 3, projection=out)
# Its "field" spans the whole +-3000 G output range of the spec: shown on that range, not on
# the package's +-1500 G magnetogram scale, which it is not.
image = out.plot(
    axes=ax,
    norm=ImageNormalize(vmin=-3000, vmax=3000),
    title=f"PIPELINE CHECK\nNOT A SCIENCE MODEL\n{when}",
)
aia.draw_limb(axes=ax, color="black", lw=1.2)
ax.coords[1].set_axislabel(" ")
fig.colorbar(image, ax=ax, shrink=0.8, extend="both", label="network output [G]: brightness, not field")

###############################################################################
# The papers' evaluation table
# ----------------------------
# `sunpy_dlmag.metrics.evaluate` runs a model over (input, target) pairs and returns the
# table of Jeong et al. (2020, 2022): full disk, active-region (AR) and quiet-region (QR)
# 128 x 128 px patches (selected on the target, `~sunpy_dlmag.metrics.select_patches`), with
# the CCs of total unsigned and net flux and the mean 8 x 8-binned pixel CC. A farside model
# is evaluated on frontside AIA -> HMI pairs; none can be had here, so this shows the table
# on what is real: the shipped ``denoise-m2`` network given the real SOHO/MDI magnetogram of
# 2010-10-15 with 10 G of Gaussian noise added, and the original as target. It measures how
# well denoise-m2 recovers that magnetogram, not a farside score. With one image, the
# full-disk flux CCs (over images) are undefined and come out NaN, with a warning.
#
# The papers' active-region threshold, 100 G, is for HMI. MDI's noise (about 15 G in its
# 2-arcsec pixels) lifts network and plage over it in 1 % of a patch's pixels, so the
# patches here take 200 G, which leaves only the active regions of that day.

mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
noisy = sunpy.map.Map(mdi.data + np.random.default_rng(0).normal(0, 10, mdi.data.shape), mdi.meta)
denoiser = load_model("denoise-m2", device="cpu")
ar_threshold = 200 * u.G
table = metrics.evaluate(denoiser, [(noisy, mdi)], threshold=ar_threshold, qr_per_image=5)
table

###############################################################################
# The patches the table is made of, on the target magnetogram.

ar_patches = metrics.select_patches(mdi, kind="ar", threshold=ar_threshold)
qr_patches = metrics.select_patches(mdi, kind="qr", threshold=ar_threshold, n=5)
fig = plt.figure(figsize=(7.5, 6.5), layout="constrained")
ax = fig.add_subplot(projection=mdi)
image = mdi.plot(
    axes=ax,
    cmap="gray",
    norm=ImageNormalize(vmin=-500, vmax=500),
    title=f"SOHO/MDI {mdi.date.strftime('%Y-%m-%d %H:%M UT')}: AR (red) and QR (blue) patches",
)
fig.colorbar(image, ax=ax, shrink=0.8, extend="both", label=r"$B_\mathrm{LOS}$ [G]")
ax.coords.grid(False)
for patches, color in ((ar_patches, "tab:red"), (qr_patches, "tab:blue")):
    for patch in patches:
        ax.add_patch(
            plt.Rectangle((patch.x0 - 0.5, patch.y0 - 0.5), patch.size, patch.size, fill=False, ec=color, lw=1.2)
        )

plt.show()
