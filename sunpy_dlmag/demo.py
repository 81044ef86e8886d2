"""
``sunpy-dlmag demo``: what the package can do today, run on its bundled real data.

It runs every capability that has real weights or needs none, on real data bundled with
the package:

- the registry, and the geometry round trip that every full-disk network relies on (a SOHO/MDI
  magnetogram to the AISFM model frame and back);
- denoising with the shipped ``denoise-m2`` weights through the tiled runtime, with the
  noise levels before and after;
- a synchronic map merged from three disk views of the real GONG synoptic map of 2018-11-06
  (a round trip, scored by its CC), PFSS on it with sunkit-magex and its open-field map;
- a sunspot drawing traced from the MDI magnetogram, read back (disk fit), its spot groups,
  and the bipole magnetogram made from them.

Farside magnetograms need trained weights that could not be made here; the demo says so.
"""

import json
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

import sunpy.map
from sunpy import log
from sunpy.coordinates import HeliographicStonyhurst, get_earth

from sunpy_dlmag import disk, drawings, geometry
from sunpy_dlmag.data.sample import GONG_SYNOPTIC, MDI_MAGNETOGRAM
from sunpy_dlmag.denoise import denoise, noise_level
from sunpy_dlmag.exceptions import OutputExistsError, WeightsNotInstalledError
from sunpy_dlmag.io import read_gong_synoptic, save_map, write_atomic
from sunpy_dlmag.models import get_model, list_models, load_model, weights_status
from sunpy_dlmag.pfss import open_field_fraction, open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import disk_view, synchronic_map

__all__ = ["run_demo"]


SUMMARY_NAME = "summary.json"


def run_demo(out, *, device="auto", overwrite=False):
    """
    Run the demo and write its outputs to ``out``.

    An earlier run's outputs there (its ``summary.json``) are refused unless ``overwrite``.

    Returns
    -------
    dict
        The measured figures (also written to ``out/summary.json``).
    """
    out = Path(out)
    if (out / SUMMARY_NAME).exists() and not overwrite:
        raise OutputExistsError(f"{out} holds the outputs of an earlier demo; pass overwrite=True to replace them.")
    out.mkdir(parents=True, exist_ok=True)
    summary = {"models": {name: weights_status(get_model(name)) for name in list_models()}}
    _say("Registered models (weights): " + ", ".join(f"{k} ({v})" for k, v in summary["models"].items()))

    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    _say(
        f"Input: {mdi.observatory} {mdi.instrument} magnetogram {mdi.date.isot}, "
        f"{mdi.data.shape[1]}x{mdi.data.shape[0]} px"
    )
    summary["geometry"], frame = _geometry_round_trip(mdi)
    save_map(frame, out / "mdi_aisfm_frame.fits", overwrite=True)
    try:
        summary["denoise"], output = _denoise(mdi, device)
    except WeightsNotInstalledError as err:
        _say(f"Denoising skipped: {err}")
        summary["denoise"], output = None, None
    else:
        save_map(output, out / "mdi_denoised.fits", overwrite=True)
    _say(f"Farside magnetograms: weights for {_farside_status()}")

    summary["synchronic_pfss"], synchronic, open_map = _synchronic_and_pfss()
    save_map(synchronic, out / "synchronic_20181106.fits", overwrite=True)
    save_map(open_map, out / "open_field_20181106.fits", overwrite=True)

    summary["drawing"], drawing_magnetogram, spots = _drawing(mdi, out)
    save_map(drawing_magnetogram, out / "drawing_bipoles.fits", overwrite=True)
    write_atomic(
        out / "drawing_spots.ecsv", lambda p: spots.write(p, format="ascii.ecsv", overwrite=True), overwrite=True
    )

    _figure(mdi, output, synchronic, open_map, drawing_magnetogram, out / "demo.png")

    write_atomic(out / SUMMARY_NAME, lambda p: p.write_text(json.dumps(summary, indent=2)), overwrite=True)
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

    radius_px = disk.radius_pixels(frame)[0]
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
    return result, frame


def _round_trip_shift(original, back):
    """Shift (pixels) between a map and its round trip, by upsampled phase correlation."""
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(np.nan_to_num(original), np.nan_to_num(back), upsample_factor=50)
    return float(np.hypot(*shift))


def _denoise(smap, device):
    model = load_model("denoise-m2", device=device)
    start = time.perf_counter()
    output = denoise(smap, model=model)
    seconds = time.perf_counter() - start
    # The same network in the tiles it uses for large images, against the whole image.
    tile_size = 704  # smaller than the sample disk, so it runs in tiles with their default margins
    tiled = denoise(smap, model=model, tile_size=tile_size).data
    both = np.isfinite(output.data)
    before, after = noise_level(smap), noise_level(output)
    result = {
        "model": f"{model.spec.name} {model.spec.version} (sha256 {model.sha256[:12]}...)",
        "device": model.device,
        "seconds": round(seconds, 3),
        "noise_before_G": round(float(before.to_value(u.G)), 2),
        "noise_after_G": round(float(after.to_value(u.G)), 2),
        "tile_size_px": tile_size,
        "tiled_vs_whole_max_abs_diff_G": round(float(np.abs(output.data[both] - tiled[both]).max()), 4),
        "nan_pixels_kept": bool(np.array_equal(np.isnan(output.data), np.isnan(smap.data))),
    }
    log.debug(f"denoise: {result}")
    _say(
        f"Denoise ({model.spec.name}, {model.device}): {seconds:.2f} s; quiet-Sun noise "
        f"{result['noise_before_G']} G -> {result['noise_after_G']} G; {tile_size}-px tiles differ from the whole "
        f"image by at most {result['tiled_vs_whole_max_abs_diff_G']} G; off-disk NaN kept: "
        f"{result['nan_pixels_kept']}"
    )
    return result, output


def _farside_status():
    names = list_models(task="farside")
    return ", ".join(f"{name} ({weights_status(get_model(name))})" for name in names) + (
        "; see `sunpy-dlmag models info aisfm-v2` for how to train or download them"
    )


def _synchronic_and_pfss():
    gong = read_gong_synoptic(GONG_SYNOPTIC)
    date = gong.date
    b0 = get_earth(date).lat
    frame = HeliographicStonyhurst(obstime=date)
    # Disk views of the real global map from Earth and three other longitudes, merged back.
    views = [
        disk_view(gong, SkyCoord(lon * u.deg, b0, 1 * u.AU, frame=frame), shape=(512, 512)) for lon in (0, 90, 180, -90)
    ]
    # GONG itself fills the poles no view sees, for the corona above the merged map; the
    # round trip is measured where the views saw the Sun.
    start = time.perf_counter()
    synchronic, sources = synchronic_map(views[0], views[1:], background=gong, return_sources=True)
    merge_seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sunpy's note on differing solar radii
        reference = gong.reproject_to(synchronic.wcs, algorithm="adaptive").data
    observed = (sources.data > 0) & np.isfinite(reference)  # codes of the input maps start at 1
    cc = float(np.corrcoef(synchronic.data[observed], reference[observed])[0, 1])

    start = time.perf_counter()
    output = pfss_extrapolate(synchronic, nrho=35, rss=2.5)
    open_map = open_field_map(output, shape=(90, 180))
    pfss_seconds = time.perf_counter() - start
    fraction = open_field_fraction(open_map)
    result = {
        "input": f"GONG synoptic map {date.isot}, seen from 4 observers (512 px disks)",
        "merge_seconds": round(merge_seconds, 3),
        "observed_fraction": round(float(observed.mean()), 3),
        "round_trip_cc": round(cc, 4),
        "pfss_and_open_map_seconds": round(pfss_seconds, 3),
        "open_field_fraction_of_surface": round(fraction, 4),
    }
    _say(
        f"Synchronic map: 4 disk views of the GONG map of {date.strftime('%Y-%m-%d')} merged back in "
        f"{merge_seconds:.2f} s; CC with the original over the observed {observed.mean():.0%}: {cc:.4f}. "
        f"PFSS + open-field map in {pfss_seconds:.2f} s: open field covers {fraction:.1%} of the surface"
    )
    return result, synchronic, open_map


def _drawing(mdi, out):
    from sunpy_dlmag.training.drawings import render_drawing

    centre, radius, north = (520.0, 440.0), 380.0, 25 * u.deg
    image = render_drawing(mdi, shape=(900, 1000), centre=centre, radius=radius, north_angle=north, threshold=300 * u.G)
    path = out / "drawing_20101015.png"
    from PIL import Image

    write_atomic(path, lambda p: Image.fromarray(image).save(p, format="png"), overwrite=True)
    start = time.perf_counter()
    drawing = drawings.read_drawing(path, date=mdi.date, north_angle=north)
    spots = drawings.detect_sunspots(drawing)
    magnetogram = drawings.drawing_to_magnetogram(drawing, spots=spots)
    seconds = time.perf_counter() - start
    centre_error = float(np.hypot(drawing.meta["drawx"] - centre[0], drawing.meta["drawy"] - centre[1]) / radius)
    radius_error = float(abs(drawing.meta["drawr"] - radius) / radius)
    n_groups = len(set(spots["group"])) if len(spots) else 0
    result = {
        "input": f"drawing traced from the MDI magnetogram (|B| > 300 G), north {north.to_value(u.deg):g} deg from up",
        "disk_centre_error_fraction_of_radius": round(centre_error, 5),
        "disk_radius_error_fraction": round(radius_error, 5),
        "spots": len(spots),
        "groups": n_groups,
        "seconds": round(seconds, 3),
    }
    _say(
        f"Drawing: disk found within {max(centre_error, radius_error):.2%} of its radius; {len(spots)} spots in "
        f"{n_groups} groups; bipole magnetogram in {seconds:.2f} s"
    )
    return result, magnetogram, spots


def _figure(smap, output, synchronic, open_map, drawing_magnetogram, path):
    """The demo's composite figure: north up, lettered panels, colorbars naming the field."""
    from astropy.visualization import ImageNormalize
    from matplotlib.figure import Figure

    from sunpy_dlmag.plotting import DPI, label_panels, plot_map

    when = f"{smap.date.strftime('%Y-%m-%d %H:%M')} UT"
    observed = f"{smap.observatory}/{smap.instrument}"
    global_date = synchronic.date.strftime("%Y-%m-%d")
    # The input and the output in grey at +-100 G, where the quiet-Sun noise shows (at the
    # +-1500 G of the colour map it is a speckle either way); the rest with their own settings.
    panels = [dict(smap=smap, title=f"{observed} magnetogram (observed)\n{when}", noise=True)]
    if output is not None:
        removed = sunpy.map.Map(smap.data - output.data, smap.meta)
        panels += [
            dict(smap=output, title=f"{output.meta['dlmodel']} output\ndenoised {observed}, {when}", noise=True),
            dict(smap=removed, title=f"removed by {output.meta['dlmodel']} (input - output)\n{when}",
                 settings={"cmap": "gray", "norm": ImageNormalize(vmin=-50, vmax=50)},
                 label=r"$\Delta B_\mathrm{LOS}$ [G]"),
        ]  # fmt: skip
    panels += [
        dict(smap=drawing_magnetogram, title=f"bipoles from the spot groups of a drawing\ntraced from {observed}"),
        dict(smap=synchronic, title=f"synchronic map, {global_date}\nfrom 4 disk views of GONG"),
        dict(smap=open_map,
             title=f"PFSS open field, {global_date}\nsource surface {open_map.meta['rss']:g} $R_\\odot$"),
    ]  # fmt: skip
    fig = Figure(figsize=(15, 8.6), layout="constrained")
    axes = [plot_map(figure=fig, position=(2, 3, i), **panel) for i, panel in enumerate(panels, start=1)]
    label_panels(axes)
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=DPI), overwrite=True)
