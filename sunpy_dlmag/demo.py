"""
``sunpy-dlmag demo``: what the package can do today, run on its bundled real data.

It grows with each capability that has real weights or needs none. Now it shows the
registry, the geometry round trip that every full-disk network relies on (to the AISFM
model frame and back) and the tiled runtime, with a fixed pipeline-check network (a
Gaussian filter written as ONNX, not a trained model), on a real SOHO/MDI magnetogram.
"""

import json
import time
from pathlib import Path

import astropy.units as u
import numpy as np

import sunpy.map
from sunpy import log

from sunpy_dlmag import geometry
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.io import save_map, write_atomic
from sunpy_dlmag.models import (
    Channel,
    Geometry,
    ModelSpec,
    Normalization,
    get_model,
    list_models,
    load_model,
    weights_status,
)
from sunpy_dlmag.models.graphs import gaussian_filter_network

__all__ = ["run_demo"]


def run_demo(out, *, device="auto"):
    """
    Run the demo and write its outputs to ``out``.

    Returns
    -------
    dict
        The measured figures (also written to ``out/summary.json``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"models": {name: weights_status(get_model(name)) for name in list_models()}}
    _say("Registered models (weights): " + ", ".join(f"{k} ({v})" for k, v in summary["models"].items()))

    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    _say(
        f"Input: {mdi.observatory} {mdi.instrument} magnetogram {mdi.date.isot}, "
        f"{mdi.data.shape[1]}x{mdi.data.shape[0]} px"
    )
    summary["geometry"], frame, back = _geometry_round_trip(mdi)
    save_map(frame, out / "mdi_aisfm_frame.fits", overwrite=True)
    summary["runtime"], output = _runtime_check(mdi, out, device)
    save_map(output, out / "mdi_pipeline_check.fits", overwrite=True)
    _figure(mdi, frame, back, output, out / "demo.png")

    write_atomic(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2)), overwrite=True)
    _say(f"Wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}/")
    return summary


def _say(text):
    # The demo reports to the terminal; library code logs instead.
    print(text, flush=True)


def _geometry_round_trip(smap):
    spec_geometry = get_model("aisfm-v2").geometry
    start = time.perf_counter()
    frame = geometry.to_model_frame(smap, image_size=spec_geometry.image_size, rsun_px=spec_geometry.rsun_px)
    back = geometry.to_map_grid(frame.data, source=frame, target=smap)
    seconds = time.perf_counter() - start

    radius_px = (frame.rsun_obs / frame.scale.axis1).to_value(u.pix)
    shift_px = _round_trip_shift(smap.data, back)
    on_disk = np.isfinite(back) & np.isfinite(smap.data)
    cc = float(np.corrcoef(smap.data[on_disk], back[on_disk])[0, 1])
    result = {
        "model_frame": f"{frame.data.shape[1]}x{frame.data.shape[0]} px, solar radius {radius_px:.2f} px",
        "round_trip_shift_arcsec": round(shift_px * smap.scale.axis1.to_value(u.arcsec / u.pix), 3),
        "round_trip_pixel_cc": round(cc, 4),
        "seconds": round(seconds, 3),
    }
    _say(
        f"Geometry: to the AISFM frame ({result['model_frame']}) and back in {seconds:.2f} s; "
        f"features move by {result['round_trip_shift_arcsec']} arcsec (phase correlation); round-trip CC {cc:.4f}"
    )
    return result, frame, back


def _round_trip_shift(original, back):
    """Shift (pixels) between a map and its round trip, by upsampled phase correlation."""
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(np.nan_to_num(original), np.nan_to_num(back), upsample_factor=50)
    return float(np.hypot(*shift))


def _runtime_check(smap, out, device):
    sigma = 2.0
    spec = ModelSpec(
        name="pipeline-check",
        task="check",
        architecture=f"fixed Gaussian filter (sigma {sigma} px) written as ONNX; NOT a trained model",
        inputs=(Channel("magnetogram", None, "G", Normalization("linear", -3000.0, 3000.0, clip=False)),),
        output=Channel("magnetogram", None, "G", Normalization("linear", -3000.0, 3000.0, clip=False)),
        geometry=Geometry(stride=1, receptive_radius=int(np.ceil(3 * sigma))),
        training_data="none: the kernel is fixed",
    )
    path = out / "pipeline-check.onnx"
    gaussian_filter_network(path, sigma=sigma, spec=spec)
    model = load_model(path, device=device)

    start = time.perf_counter()
    whole = model.predict(smap.data, tile_size=max(smap.data.shape))
    whole_seconds = time.perf_counter() - start
    start = time.perf_counter()
    tiled = model.predict(smap.data, tile_size=256, overlap=32)
    tiled_seconds = time.perf_counter() - start
    output = model.predict(smap)
    both = np.isfinite(whole)
    result = {
        "network": spec.architecture,
        "device": model.device,
        "whole_image_seconds": round(whole_seconds, 3),
        "tiled_256px_seconds": round(tiled_seconds, 3),
        "tiled_vs_whole_max_abs_diff_G": float(np.abs(whole[both] - tiled[both]).max()),
        "nan_pixels_kept": int(np.isnan(output.data).sum()) == int(np.isnan(smap.data).sum()),
    }
    log.debug(f"pipeline check: {result}")
    _say(
        f"Runtime ({model.device}): whole image {whole_seconds:.2f} s, 256-px tiles {tiled_seconds:.2f} s, "
        f"largest tiled-vs-whole difference {result['tiled_vs_whole_max_abs_diff_G']:.2e} G, "
        f"off-disk NaN kept: {result['nan_pixels_kept']}"
    )
    return result, output


def _figure(smap, frame, back, output, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import ImageNormalize

    fig = plt.figure(figsize=(15, 5), layout="constrained")
    panels = [
        (smap, f"{smap.instrument} {smap.date.strftime('%Y-%m-%d %H:%M')}"),
        (frame, "AISFM model frame (north up, R = 392 px)"),
        (output, "pipeline check through the tiled runtime"),
    ]
    for i, (m, title) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 3, i, projection=m)
        m.plot(axes=ax, cmap="gray", norm=ImageNormalize(vmin=-200, vmax=200), title=title)
        m.draw_limb(axes=ax, color="tab:orange", lw=0.6)
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=90), overwrite=True)
    plt.close(fig)
