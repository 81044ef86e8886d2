"""
PFSS and open-field maps from the three global maps of 2018-11-06, side by side, and a round trip
through disk views and synchronic_map.

    python tools/compare_pfss_20181106.py [--json tools/pfss_20181106.json]

Inputs (bundled with the package, ``sunpy_dlmag.data.sample``): the GONG synoptic map
(mrzqs, 00:04), the HMI daily synchronic frame (12:00 TAI) and the ADAPT-GONG map (00:00; the
mean of its 12 realisations, and each realisation for the spread). Each goes through
``pfss_extrapolate`` (180x360 grid, nrho 35, rss 2.5) and ``open_field_map`` (one field line
from each pixel of a 180x360 CEA grid at 1.01 R_sun).

Printed and written to JSON:
- per map: open fraction of the surface, open area (km^2), positive / negative open fractions,
  the highest latitude the source-surface polarity inversion line reaches;
- per pair: Dice and Jaccard of the open masks, and how often shared open pixels have the same
  polarity;
- the ADAPT realisations: open fraction min / mean / max, Dice of each with the ADAPT mean;
- round trip: the GONG map and the HMI frame seen as line-of-sight disk views (1024x1024) from
  four observers (Stonyhurst longitudes 0, 90, 180, -90 degrees; latitude B0 of the day) and
  merged back by ``synchronic_map`` (180x360), against the map reprojected onto the same grid
  (``reproject_adaptive``): Pearson CC over the observed pixels, and after 2x2 binning.
"""

import argparse
import itertools
import json
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from reproject import reproject_adaptive

from sunpy.coordinates import HeliographicStonyhurst, get_earth
from sunpy.map.header_helper import make_heliographic_header

from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC, GONG_SYNOPTIC, HMI_SYNCHRONIC
from sunpy_dlmag.exceptions import DlmagUserWarning
from sunpy_dlmag.io import read_adapt, read_gong_synoptic, read_hmi_synchronic
from sunpy_dlmag.metrics import pixel_cc
from sunpy_dlmag.pfss import open_field_area, open_field_fraction, open_field_map, pfss_extrapolate, source_surface_pil
from sunpy_dlmag.synchronic import disk_view, synchronic_map

JSON = Path(__file__).with_name("pfss_20181106.json")
NRHO, RSS, PFSS_SHAPE, OPEN_SHAPE = 35, 2.5, (180, 360), (180, 360)
VIEW_LONGITUDES = (0, 90, 180, -90)


def open_map_of(smap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)  # the HMI frame's polar NaNs are filled (zonal)
        output = pfss_extrapolate(smap, nrho=NRHO, rss=RSS, shape=PFSS_SHAPE)
    open_map = open_field_map(output, shape=OPEN_SHAPE)
    pil_lat = np.concatenate([p.lat.to_value(u.deg) for p in source_surface_pil(output)])
    open_map.meta["pilmaxlt"] = float(np.abs(pil_lat).max())
    return open_map


def describe(open_map):
    area = open_field_area(open_map).to_value(u.km**2)
    return {
        "source_surface_pil_max_abs_latitude_deg": open_map.meta["pilmaxlt"],
        "open_fraction": open_field_fraction(open_map),
        "open_area_km2": area,
        "positive_fraction": open_field_fraction(open_map, polarity=1),
        "negative_fraction": open_field_fraction(open_map, polarity=-1),
        "field_lines_at_step_limit": open_map.meta["nrunout"],
    }


def agreement(a, b):
    """Dice and Jaccard of two open masks (equal-area pixels), and polarity agreement where both are open."""
    open_a, open_b = a.data != 0, b.data != 0
    both = open_a & open_b
    return {
        "dice": 2 * both.sum() / (open_a.sum() + open_b.sum()),
        "jaccard": both.sum() / (open_a | open_b).sum(),
        "same_polarity": float(np.mean(a.data[both] == b.data[both])) if both.any() else float("nan"),
    }


def round_trip(global_map):
    """CC of synchronic_map(disk views of global_map) with global_map on the same grid."""
    date = global_map.date
    b0 = get_earth(date).lat
    views = [
        disk_view(global_map, SkyCoord(lon * u.deg, b0, 1 * u.AU, frame=HeliographicStonyhurst(obstime=date)))
        for lon in VIEW_LONGITUDES
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)  # the poles are not covered
        merged = synchronic_map(views[0], views[1:])
    header = make_heliographic_header(
        global_map.reference_date,
        get_earth(global_map.reference_date),
        merged.data.shape,
        frame="carrington",
        projection_code="CEA",
        map_center_longitude=180 * u.deg,
    )
    reference, _ = reproject_adaptive((global_map.data, global_map.wcs), WCS(header), shape_out=merged.data.shape)
    observed = np.isfinite(merged.data) & np.isfinite(reference)
    both = np.where(observed, merged.data, np.nan), np.where(observed, reference, np.nan)
    return {
        "observed_fraction": float(observed.mean()),
        "cc": pixel_cc(*both, binning=1),
        "cc_binned_2x2": pixel_cc(*both, binning=2),
    }


def print_table(results):
    maps = results["maps"]
    print(f"PFSS (nrho {NRHO}, rss {RSS}, {PFSS_SHAPE[0]}x{PFSS_SHAPE[1]}) and open field ({OPEN_SHAPE} footpoints)")
    print(f"{'map':<16} {'open %':>7} {'area [1e10 km^2]':>17} {'open + %':>9} {'open - %':>9} {'PIL max |lat|':>14}")
    for name, row in maps.items():
        print(
            f"{name:<16} {100 * row['open_fraction']:7.2f} {row['open_area_km2'] / 1e10:17.1f} "
            f"{100 * row['positive_fraction']:9.2f} {100 * row['negative_fraction']:9.2f} "
            f"{row['source_surface_pil_max_abs_latitude_deg']:14.1f}"
        )
    spread = results["adapt_realisations"]
    print(
        f"{'ADAPT 0..11':<16} {100 * spread['open_fraction_min']:7.2f}-{100 * spread['open_fraction_max']:.2f} "
        f"(mean {100 * spread['open_fraction_mean']:.2f}); Dice with the ADAPT mean "
        f"{spread['dice_with_mean_min']:.3f}-{spread['dice_with_mean_max']:.3f}"
    )
    print()
    print(f"{'pair':<32} {'Dice':>6} {'Jaccard':>8} {'same polarity':>14}")
    for pair, row in results["pairs"].items():
        print(f"{pair:<32} {row['dice']:6.3f} {row['jaccard']:8.3f} {row['same_polarity']:14.3f}")
    print()
    print("round trip: disk views from Stonyhurst longitudes 0, 90, 180, -90 deg merged by synchronic_map")
    print(f"{'global map':<16} {'observed %':>10} {'CC':>7} {'CC 2x2':>7}")
    for name, row in results["round_trip"].items():
        print(f"{name:<16} {100 * row['observed_fraction']:10.1f} {row['cc']:7.4f} {row['cc_binned_2x2']:7.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=JSON)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    globals_ = {
        "GONG synoptic": read_gong_synoptic(GONG_SYNOPTIC),
        "HMI synchronic": read_hmi_synchronic(HMI_SYNCHRONIC),
        "ADAPT mean": read_adapt(ADAPT_SYNCHRONIC),
    }
    open_maps = {name: open_map_of(smap) for name, smap in globals_.items()}
    realisations = [open_map_of(read_adapt(ADAPT_SYNCHRONIC, realization=k)) for k in range(12)]
    fractions = [describe(m)["open_fraction"] for m in realisations]
    dice_with_mean = [agreement(m, open_maps["ADAPT mean"])["dice"] for m in realisations]
    results = {
        "settings": {"nrho": NRHO, "rss": RSS, "pfss_shape": PFSS_SHAPE, "open_shape": OPEN_SHAPE},
        "maps": {name: {"date": globals_[name].date.isot, **describe(m)} for name, m in open_maps.items()},
        "adapt_realisations": {
            "open_fractions": fractions,
            "open_fraction_min": min(fractions),
            "open_fraction_mean": float(np.mean(fractions)),
            "open_fraction_max": max(fractions),
            "dice_with_mean": dice_with_mean,
            "dice_with_mean_min": min(dice_with_mean),
            "dice_with_mean_max": max(dice_with_mean),
        },
        "pairs": {f"{a} / {b}": agreement(open_maps[a], open_maps[b]) for a, b in itertools.combinations(open_maps, 2)},
        "round_trip": {name: round_trip(globals_[name]) for name in ("GONG synoptic", "HMI synchronic")},
    }
    results = json.loads(json.dumps(results, default=float))  # numpy scalars -> floats
    results["wall_s"] = time.perf_counter() - start
    print_table(results)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {args.json} ({results['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
