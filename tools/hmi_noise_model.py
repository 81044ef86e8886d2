"""
Measure a noise model of SDO/HMI LOS magnetograms on the real 720-s data (issue 27).

    python tools/hmi_noise_model.py --json tools/hmi_noise_model.json --figure docs/_static/hmi_noise_model.png \
        --network-check

Where the Sun contributes little: the quiet Sun (``sunpy_dlmag.denoise.quiet_sun_mask``) at
high spatial frequency. On each map:

(a) spatial correlation: the map minus its Gaussian-smoothed version (sigma 4 px), its
    correlation at lags 1-5 px along x and y over quiet-Sun pixels with mu >= 0.7, and the
    radially averaged power spectrum of 256-px quiet tiles, against white noise of the same
    variance through the same high-pass;
(b) centre-to-limb: the noise level in mu bins from the 3x3 product of second differences
    (blind to fields linear in x or y) of the quiet Sun, robust sigma (1.4826 MAD), divided by
    what that filter makes of unit noise with the fitted correlation;
(c) field strength: the same estimate, divided by the fitted sigma(mu), in bins of the local
    |B| (|B| smoothed by a 2-px Gaussian), mu >= 0.3.

The model (correlation parameters, sigma(mu) and sigma(|B|) relative tables) is fitted on two
of the three full disks (2016-07-07, 2011-12-17: both camera modes); 2019-06-21 is held out and
reported separately, as are the SHARP 377 cutout (CEA-remapped, so its correlation is that of
the remapping too) and the AR 11101 cutout of MagNet (no WCS: no mu).

``--network-check``: the shipped ``denoise-m2-hmi`` (trained on white noise) on a 1024-px
disk-centre crop of each held-out northern half plus 10 G of noise drawn from the model with
several white fractions, its noise reduction (Gaussian fit to the quiet-Sun histogram core) to
compare with the x2.11 it reached on a real 45-s cutout (issue 27).
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).parent))
from hmi_denoise_data import AR_11101, SHARP_377, full_disk_map, held_out_rows

import sunpy.map

from sunpy_dlmag import disk, noise_level
from sunpy_dlmag.denoise import quiet_sun_mask
from sunpy_dlmag.training.noise_model import (
    FIELD_SMOOTHING,
    HIGH_PASS_SIGMA,
    MAX_LAG,
    NoiseModel,
    curvature,
    curvature_gain,
    high_pass,
    high_pass_transfer,
    high_pass_transfer_at,
    lag_correlation,
    model_lag_correlation,
    model_psd,
    robust_sigma,
)

FIT = ("2016-07-07", "2011-12-17")
CHECK = ("2019-06-21",)
FULL_DISKS_ORDER = ("2016-07-07", "2019-06-21", "2011-12-17")
MU_EDGES = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
FIELD_EDGES = np.array([0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000], dtype=float)
TILE = 256
MIN_PIXELS = 2000
# Below this frequency the high-pass leaves too little to measure: the spectrum is held flat.
LOWEST_FREQUENCY = 0.06


def radial_psd(residual, quiet):
    """Radially averaged power spectrum of 256-px tiles that are >= 95 % quiet, mean = variance."""
    window = np.outer(np.hanning(TILE), np.hanning(TILE))
    total, count = np.zeros((TILE, TILE)), 0
    for r in range(0, residual.shape[0] - TILE + 1, TILE):
        for c in range(0, residual.shape[1] - TILE + 1, TILE):
            m = quiet[r : r + TILE, c : c + TILE]
            if m.mean() < 0.95:
                continue
            tile = residual[r : r + TILE, c : c + TILE]
            tile = np.where(m, tile - tile[m].mean(), 0) * window
            total += np.abs(np.fft.fft2(tile)) ** 2
            count += 1
    power = total / count
    power *= (np.where(quiet, residual, 0) ** 2).sum() / quiet.sum() / power.mean()
    return _radial(power), count


def _radial(power):
    fy = np.fft.fftfreq(power.shape[0])[:, None]
    fx = np.fft.fftfreq(power.shape[1])[None, :]
    f = np.hypot(fy, fx)
    edges = np.arange(0, 0.715, 0.01)
    idx = np.digitize(f, edges) - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    sums = np.bincount(idx[ok], power[ok], minlength=edges.size - 1)
    counts = np.bincount(idx[ok], minlength=edges.size - 1)
    return {"frequency": list(0.5 * (edges[1:] + edges[:-1])), "power": list(sums / np.maximum(counts, 1))}


def measure_correlation(data, quiet):
    # Smoothing over the quiet pixels only: a strong feature's smoothed halo is no noise.
    residual = high_pass(np.where(quiet, data, np.nan))
    acf = lag_correlation(residual, quiet)
    psd, tiles = radial_psd(residual, quiet)
    # As a user would high-pass a map, strong features included (their halo then counts too).
    naive = lag_correlation(high_pass(data), quiet)
    return {
        "lag_correlation": acf,
        "lag_correlation_strong_features_in_smoothing": naive,
        "radial_psd": psd,
        "psd_tiles": tiles,
        "residual_sigma": robust_sigma(residual[quiet]),
        "pixels": int(quiet.sum()),
    }


def sigma_by_mu(curv, quiet, mu, gain):
    rows = []
    for lo, hi in itertools.pairwise(MU_EDGES):
        sel = quiet & (mu >= lo) & (mu < hi)
        if sel.sum() >= MIN_PIXELS:
            rows.append(
                {"mu": float(np.median(mu[sel])), "sigma": robust_sigma(curv[sel]) / gain, "pixels": int(sel.sum())}
            )
    return rows


def sigma_by_field(normalised, field, sel):
    rows = []
    for lo, hi in itertools.pairwise(FIELD_EDGES):
        b = sel & (field >= lo) & (field < hi)
        if b.sum() >= MIN_PIXELS // 10:
            rows.append(
                {"field": float(np.median(field[b])), "sigma": robust_sigma(normalised[b]), "pixels": int(b.sum())}
            )
    return rows


def local_field(data):
    return ndimage.gaussian_filter(np.abs(np.nan_to_num(data)).astype(np.float32), FIELD_SMOOTHING)


def load_disk(date):
    smap = full_disk_map(date)
    data = smap.data.astype(np.float32)
    mu = disk.mu(smap).astype(np.float32)
    # The outermost pixels of the disk hold spurious values: keep 4 px clear of the limb.
    inside = ndimage.binary_erosion(np.isfinite(data), iterations=4)
    data = np.where(inside, data, np.nan).astype(np.float32)
    return data, mu


def noise_spectrum(spectra):
    """The radial power spectrum of the noise before the high-pass, from measured high-passed ones."""
    f = np.array(spectra[0]["frequency"])
    power = np.mean([np.array(p["power"]) / np.mean(p["power"]) for p in spectra], axis=0)
    power = power / high_pass_transfer_at(f)
    power[f < LOWEST_FREQUENCY] = power[np.argmax(f >= LOWEST_FREQUENCY)]
    return f, power / power.mean()


def network_check(model, fractions=(0.0, 0.5, 0.7, 0.85, 1.0), size=1024):
    """Noise reduction of the shipped white-noise network on model noise of each white fraction."""
    from sunpy_dlmag.models import load_model

    net = load_model("denoise-m2-hmi", device="cpu")
    out = {}
    for i, date in enumerate(FULL_DISKS_ORDER):
        smap = full_disk_map(date)
        rows = held_out_rows()
        half = smap.data[rows].astype(np.float32)
        mu = disk.mu(smap)[rows].astype(np.float32)
        r0, c0 = half.shape[0] - size, half.shape[1] // 2 - size // 2
        window = np.s_[r0:, c0 : c0 + size]
        original, mu = half[window], mu[window]
        quiet = quiet_sun_mask(original) & (mu >= 0.9)
        rows_out = []
        for fraction in fractions:
            noise = NoiseModel(model, white_fraction=fraction).draw(
                original.shape, np.random.default_rng(100 + i), 10.0, mu=mu
            )
            noisy = original + noise
            denoised = net.predict_array(noisy)
            n_in = float(noise_level(noisy, region=quiet).to_value(u.G))
            n_out = float(noise_level(denoised, region=quiet).to_value(u.G))
            lag1 = lag_correlation(high_pass(noise), np.ones(noise.shape, bool))["x"][0]
            rows_out.append(
                {
                    "white_fraction": fraction,
                    "noise_lag1": lag1,
                    "noise_in_G": n_in,
                    "noise_out_G": n_out,
                    "reduction": n_in / n_out,
                }
            )
            print(date, rows_out[-1], flush=True)
        out[f"{date} northern half (held out), {size}-px disk-centre crop"] = rows_out
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--figure", default=None)
    parser.add_argument("--network-check", action="store_true", help="the shipped network on model noise")
    args = parser.parse_args()
    start = time.monotonic()

    disks, results = {}, {}
    for date in FIT + CHECK:
        data, mu = load_disk(date)
        quiet = quiet_sun_mask(data) & np.isfinite(mu)
        disks[date] = (data, mu, quiet)
        results[date] = {"role": "fit" if date in FIT else "held out", **measure_correlation(data, quiet & (mu >= 0.7))}
        print(date, results[date]["lag_correlation"], f"{time.monotonic() - start:.0f} s", flush=True)

    frequency, power = noise_spectrum([results[d]["radial_psd"] for d in FIT])
    corr = {"frequency": [float(v) for v in frequency], "psd": [float(v) for v in power]}
    corr["model_lag_correlation"] = model_lag_correlation(frequency, power)
    measured = np.mean([[results[d]["lag_correlation"][k] for k in ("x", "y")] for d in FIT], axis=0)
    corr["measured_lag_correlation"] = {"x": list(measured[0]), "y": list(measured[1])}
    model = np.array([corr["model_lag_correlation"][k] for k in ("x", "y")])
    corr["rms_misfit"] = float(np.sqrt(np.mean((model - measured) ** 2)))
    # The correlation of the model noise itself, without the high-pass (low frequencies held flat).
    corr["unfiltered_lag_correlation"] = model_lag_correlation(frequency, power, filtered=False)
    white = model_lag_correlation([0.0, 1.0], [1.0, 1.0])
    gain = curvature_gain(frequency, power)
    corr["curvature_gain"] = gain

    for date, (data, mu, quiet) in disks.items():
        curv = curvature(data)
        results[date]["sigma_mu"] = sigma_by_mu(curv, quiet, mu, gain)
        disks[date] = (data, mu, quiet, curv)

    mu_grid = np.array([r["mu"] for r in results[FIT[0]]["sigma_mu"]])

    def relative_mu(date):
        rows = results[date]["sigma_mu"]
        centre = rows[-1]["sigma"]
        return np.interp(mu_grid, [r["mu"] for r in rows], [r["sigma"] / centre for r in rows])

    rel_mu = np.mean([relative_mu(d) for d in FIT], axis=0)
    mu_model = {"mu": [float(v) for v in mu_grid], "relative_sigma": [float(v) for v in rel_mu]}

    for date, (data, mu, _, curv) in disks.items():
        centre = results[date]["sigma_mu"][-1]["sigma"]
        expected = centre * np.interp(np.nan_to_num(mu), mu_grid, rel_mu)
        normalised = curv / (gain * expected)
        field = local_field(data)
        sel = np.isfinite(normalised) & (mu >= 0.3)
        results[date]["sigma_field"] = sigma_by_field(normalised, field, sel)
        results[date]["sigma_centre"] = centre
        del data, curv, normalised
    disks.clear()

    field_grid = np.array([r["field"] for r in results[FIT[0]]["sigma_field"]])

    def relative_field(date):
        rows = results[date]["sigma_field"]
        return np.interp(field_grid, [r["field"] for r in rows], [r["sigma"] / rows[0]["sigma"] for r in rows])

    rel_field = np.mean([relative_field(d) for d in FIT], axis=0)
    field_model = {"field": [float(v) for v in field_grid], "relative_sigma": [float(v) for v in rel_field]}

    cutouts = {}
    for name, data in (
        ("SHARP 377 (AR 11158) 2011-02-15, CEA", sunpy.map.Map(SHARP_377).data.astype(np.float32)),
        ("MagNet AR 11101 2010-08-30, hmi.b_720s LOS", fits.getdata(AR_11101).astype(np.float32)),
    ):
        quiet = quiet_sun_mask(data)
        res = high_pass(np.where(quiet, data, np.nan))
        curv = curvature(data)
        sigma = robust_sigma(curv[quiet]) / gain
        field = local_field(data)
        normalised = curv / (gain * sigma)
        cutouts[name] = {
            "lag_correlation": lag_correlation(res, quiet),
            "quiet_pixels": int(quiet.sum()),
            "sigma_quiet": sigma,
            "sigma_field": sigma_by_field(normalised, field, np.isfinite(normalised)),
        }
        print(name, cutouts[name]["lag_correlation"], flush=True)

    model = {
        "description": (
            "Noise model of SDO/HMI LOS magnetograms measured on 720-s data by tools/hmi_noise_model.py "
            "(read by sunpy_dlmag.training.noise_model.NoiseModel). Levels are relative: 1 at disk centre "
            "(mu 0.9-1) and in the quiet Sun; the absolute level of 45-s data is not measured here."
        ),
        "method": {
            "high_pass_sigma_px": HIGH_PASS_SIGMA,
            "max_lag": MAX_LAG,
            "psd": f"{TILE}-px tiles >= 95 % quiet, mu >= 0.7, Hann window; below {LOWEST_FREQUENCY}/px held flat",
            "correlation_region": "quiet_sun_mask (|B| > 50 G clusters + 5 px), mu >= 0.7, 4 px inside the limb",
            "field_smoothing_px": FIELD_SMOOTHING,
            "fit_disks": list(FIT),
            "held_out_disks": list(CHECK),
        },
        "correlation": corr,
        "white_noise_lag_correlation": white,
        "mu_dependence": mu_model,
        "field_dependence": field_model,
        "full_disks": results,
        "cutouts": cutouts,
    }
    if args.network_check:
        model["network_check"] = network_check(model)
    Path(args.json).write_text(json.dumps(model, indent=1) + "\n")
    print(f"wrote {args.json} in {time.monotonic() - start:.0f} s")
    if args.figure:
        figure(model, args.figure)


def figure(model, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    colours = {"2016-07-07": "C0", "2011-12-17": "C1", "2019-06-21": "C3"}
    lags = np.arange(1, MAX_LAG + 1)
    corr = model["correlation"]
    ax = axes[0]
    for date, r in model["full_disks"].items():
        label = f"{date} ({r['role']})"
        ax.plot(lags, r["lag_correlation"]["x"], "o-", color=colours[date], label=label + ", x")
        ax.plot(lags, r["lag_correlation"]["y"], "s--", color=colours[date], label=label + ", y", mfc="none")
    ax.plot(lags, corr["model_lag_correlation"]["x"], "k-", lw=2, alpha=0.5, label="model, x")
    ax.plot(lags, corr["model_lag_correlation"]["y"], "k--", lw=2, alpha=0.5, label="model, y")
    ax.plot(lags, model["white_noise_lag_correlation"]["x"], ":", color="grey", label="white noise")
    for name, c in model["cutouts"].items():
        ax.plot(lags, c["lag_correlation"]["x"], "^:", ms=4, label=name.split(",")[0] + ", x")
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="lag [px]", ylabel="correlation", title="(a) high-passed quiet Sun, mu >= 0.7")
    ax.legend(fontsize=6)

    ax = axes[1]
    size = 256
    tf = high_pass_transfer((size, size))
    for date, r in model["full_disks"].items():
        f, p = np.array(r["radial_psd"]["frequency"]), np.array(r["radial_psd"]["power"])
        var = r["residual_sigma"] ** 2
        ax.semilogy(f, p / var, color=colours[date], label=date)
    white = _radial(tf / tf.mean())
    ax.semilogy(white["frequency"], white["power"], ":", color="grey", label="white noise, same variance")
    mp = model_psd((size, size), corr["frequency"], corr["psd"]) * tf
    m = _radial(mp / mp.mean())
    ax.semilogy(m["frequency"], m["power"], "k-", lw=2, alpha=0.5, label="model")
    ax.set(
        xlabel="spatial frequency [1/px]", ylabel="power / variance", title="(b) power spectrum, high-passed quiet Sun"
    )
    ax.legend(fontsize=7)

    ax = axes[2]
    for date, r in model["full_disks"].items():
        rows = r["sigma_mu"]
        label = f"{date} ({r['role']}), {rows[-1]['sigma']:.1f} G at centre"
        ax.plot(
            [x["mu"] for x in rows],
            [x["sigma"] / rows[-1]["sigma"] for x in rows],
            "o-",
            color=colours[date],
            label=label,
        )
    mm = model["mu_dependence"]
    ax.plot(mm["mu"], mm["relative_sigma"], "k-", lw=2, alpha=0.5, label="model")
    ax.set(xlabel="mu", ylabel="sigma / sigma at mu 0.9-1", title="(c) centre to limb, quiet Sun (720 s)")
    ax.legend(fontsize=7)

    ax = axes[3]
    for date, r in model["full_disks"].items():
        rows = r["sigma_field"]
        ax.semilogx(
            [x["field"] for x in rows],
            [x["sigma"] / rows[0]["sigma"] for x in rows],
            "o-",
            color=colours[date],
            label=date,
        )
    for name, c in model["cutouts"].items():
        rows = c["sigma_field"]
        ax.semilogx(
            [x["field"] for x in rows],
            [x["sigma"] / rows[0]["sigma"] for x in rows],
            "^:",
            ms=4,
            label=name.split(",")[0],
        )
    fm = model["field_dependence"]
    ax.semilogx(fm["field"], fm["relative_sigma"], "k-", lw=2, alpha=0.5, label="model")
    ax.set(xlabel="local |B| [G]", ylabel="sigma / quiet-Sun sigma", title="(d) against the field (upper bound > 20 G)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
