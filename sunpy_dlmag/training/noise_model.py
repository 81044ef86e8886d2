"""
Training noise drawn from a model of SDO/HMI noise measured on real magnetograms.

``tools/hmi_noise_model.py`` measures the model on the HMI 720-s data and writes it as JSON;
`NoiseModel` reads it and draws noise with its spatial correlation and its dependence on
mu and on the local field. The measurement primitives (`high_pass`, `lag_correlation`,
`curvature`, `robust_sigma`) live here so that the tool and the tests of the generated
noise measure in exactly the same way.

The correlation model: a radial power spectrum (isotropic: the correlations along x and y
agree within 0.02 on the HMI data); noise is white noise filtered by its square root in
Fourier space, of unit variance. The noise level
at each pixel is ``sigma * s_mu(mu) * s_B(|B|)`` (``s_B`` only on request) with ``s_mu`` and ``s_B`` interpolated in
the model's tables (1 at disk centre and in the quiet Sun).
"""

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError, MissingFileError

__all__ = ["NoiseModel", "check_noise_model", "curvature", "high_pass", "lag_correlation", "robust_sigma"]

HIGH_PASS_SIGMA = 4.0  # px: removes the solar field above ~10 px, keeps the pixel-scale noise
MAX_LAG = 5
# Product of second differences in x and y: blind to fields linear in either direction.
_CURVATURE = np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0])
FIELD_SMOOTHING = 2.0  # px: the local field of the |B| dependence is |B| smoothed by this Gaussian


def high_pass(data, sigma=HIGH_PASS_SIGMA):
    """``data`` minus its Gaussian-smoothed version (NaN-aware; NaN stays NaN)."""
    finite = np.isfinite(data)
    filled = np.where(finite, data, 0).astype(np.float32)
    weight = ndimage.gaussian_filter(finite.astype(np.float32), sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = ndimage.gaussian_filter(filled, sigma) / weight
    return np.where(finite, filled - smooth, np.nan).astype(np.float32)


def lag_correlation(values, mask, max_lag=MAX_LAG):
    """
    Correlation of ``values`` with itself shifted by 1..max_lag px along x and along y.

    Over the pairs of pixels both in ``mask`` (boolean): ``<v_i v_j> / <v^2>`` (``values``
    is taken to have zero mean, as a high-passed map does).

    Returns
    -------
    dict
        ``{"x": [...], "y": [...]}``, ``max_lag`` floats each.
    """
    v = np.where(mask, values, 0).astype(np.float64)
    m = mask.astype(np.float64)
    var = float((v * v).sum() / m.sum())
    out = {"x": [], "y": []}
    for lag in range(1, max_lag + 1):
        for axis, key in ((1, "x"), (0, "y")):
            a = [slice(None), slice(None)]
            b = [slice(None), slice(None)]
            a[axis], b[axis] = slice(None, -lag), slice(lag, None)
            a, b = tuple(a), tuple(b)
            pairs = (m[a] * m[b]).sum()
            out[key].append(float((v[a] * v[b]).sum() / pairs / var))
    return out


def curvature(data):
    """``data`` convolved with the 3x3 product of second differences; NaN next to NaN."""
    finite = np.isfinite(data)
    filled = np.where(finite, data, 0).astype(np.float32)
    out = ndimage.convolve(filled, _CURVATURE.astype(np.float32), mode="nearest")
    ok = ndimage.minimum_filter(finite, 3, mode="constant", cval=False)
    return np.where(ok, out, np.nan).astype(np.float32)


def robust_sigma(values):
    """Standard deviation from the median absolute deviation (1.4826 MAD)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _frequencies(shape):
    fy = np.fft.fftfreq(shape[0])[:, np.newaxis]
    fx = np.fft.fftfreq(shape[1])[np.newaxis, :]
    return np.hypot(fy, fx)


def model_psd(shape, frequency, power):
    """The radial power spectrum ``power(frequency)`` (1/px) on an FFT grid, normalised to mean 1."""
    grid = np.interp(_frequencies(shape), frequency, power)
    return grid / grid.mean()


def high_pass_transfer(shape, sigma=HIGH_PASS_SIGMA):
    """Power transfer ``|1 - G(k)|^2`` of `high_pass` on an FFT grid."""
    return high_pass_transfer_at(_frequencies(shape), sigma)


def high_pass_transfer_at(frequency, sigma=HIGH_PASS_SIGMA):
    return (1 - np.exp(-2 * np.pi**2 * sigma**2 * np.asarray(frequency) ** 2)) ** 2


def model_lag_correlation(frequency, power, *, filtered=True, max_lag=MAX_LAG, size=256):
    """
    Correlation at lags 1..max_lag along x and y of noise with this radial power spectrum.

    ``filtered``: after `high_pass`, i.e. what `lag_correlation` of the high-passed noise returns.
    """
    shape = (size, size)
    psd = model_psd(shape, frequency, power)
    if filtered:
        psd = psd * high_pass_transfer(shape)
    acf = np.fft.ifft2(psd).real
    acf /= acf[0, 0]
    lags = range(1, max_lag + 1)
    return {"x": [float(acf[0, k]) for k in lags], "y": [float(acf[k, 0]) for k in lags]}


def curvature_gain(frequency, power, size=256):
    """Standard deviation of `curvature` of unit-variance noise with this radial power spectrum."""
    kernel = np.zeros((size, size))
    kernel[:3, :3] = _CURVATURE
    response = np.abs(np.fft.fft2(kernel)) ** 2
    return float(np.sqrt((model_psd((size, size), frequency, power) * response).mean()))


class NoiseModel:
    """
    Noise drawn from a measured HMI noise model (the JSON of ``tools/hmi_noise_model.py``).

    Parameters
    ----------
    model : dict or path-like
        The model, or the path of its JSON. It needs ``correlation`` (``frequency`` in
        1/px, increasing, and ``psd``), ``mu_dependence`` (``mu``, ``relative_sigma``) and
        ``field_dependence`` (``field``, ``relative_sigma``).
    field : bool
        Whether the level also follows the local ``|B|``. Off by default: the measured
        dependence is an upper bound above about 20 G, where the solar fine structure adds to
        the noise estimate, and it differs from disk to disk.
    white_fraction : float
        Share of the variance drawn as white noise instead (0-1): the measured spectrum is
        that of the 720-s quiet Sun, redder than 45-s noise (see the ``denoise-m2-hmi`` card).
    """

    def __init__(self, model, *, field=False, white_fraction=0.0):
        self.use_field = bool(field)
        if (
            isinstance(white_fraction, bool)
            or not isinstance(white_fraction, int | float)
            or not 0 <= white_fraction <= 1
        ):
            raise InvalidArgumentError(f"white_fraction must be a number from 0 to 1, got {white_fraction!r}.")
        self.white_fraction = float(white_fraction)
        if isinstance(model, str | Path):
            if not Path(model).is_file():
                raise MissingFileError(f"Noise model file {model} does not exist.")
            model = json.loads(Path(model).read_text())
        if not isinstance(model, dict):
            raise InvalidArgumentError(f"model must be a dict or a JSON path, got {type(model).__name__}.")
        try:
            corr = model["correlation"]
            self.frequency = np.asarray(corr["frequency"], dtype=float)
            self.psd = np.asarray(corr["psd"], dtype=float)
            self.mu_table = np.asarray(model["mu_dependence"]["mu"], dtype=float)
            self.mu_sigma = np.asarray(model["mu_dependence"]["relative_sigma"], dtype=float)
            self.field_table = np.asarray(model["field_dependence"]["field"], dtype=float)
            self.field_sigma = np.asarray(model["field_dependence"]["relative_sigma"], dtype=float)
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidArgumentError(
                "model needs correlation {frequency, psd}, mu_dependence {mu, relative_sigma} and "
                f"field_dependence {{field, relative_sigma}}; {err!r} in the one given."
            ) from None
        for name, x, y in (
            ("correlation", self.frequency, self.psd),
            ("mu", self.mu_table, self.mu_sigma),
            ("field", self.field_table, self.field_sigma),
        ):
            if x.ndim != 1 or x.shape != y.shape or x.size < 2 or np.any(np.diff(x) <= 0) or np.any(y <= 0):
                raise InvalidArgumentError(
                    f"{name} needs an increasing table of at least 2 values and as many positive ones."
                )

    def unit_noise(self, shape, rng):
        """Stationary correlated noise of unit variance (periodic at the edges)."""
        white = rng.standard_normal(shape)
        psd = (1 - self.white_fraction) * model_psd(shape, self.frequency, self.psd) + self.white_fraction
        amplitude = np.sqrt(psd)
        return np.fft.ifft2(np.fft.fft2(white) * amplitude).real.astype(np.float32)

    def relative_sigma(self, mu=None, field=None):
        """Noise level relative to disk centre and quiet Sun at ``mu`` and local ``|B|`` (G)."""
        scale = np.float32(1)
        if mu is not None:
            scale = scale * np.interp(np.nan_to_num(mu, nan=self.mu_table[0]), self.mu_table, self.mu_sigma)
        if field is not None and self.use_field:
            local = ndimage.gaussian_filter(np.abs(np.nan_to_num(field)).astype(np.float32), FIELD_SMOOTHING)
            scale = scale * np.interp(local, self.field_table, self.field_sigma)
        return np.asarray(scale, dtype=np.float32)

    def draw(self, shape, rng, sigma, *, mu=None, field=None):
        """
        Noise of level ``sigma`` (G at disk centre in the quiet Sun).

        Parameters
        ----------
        shape : tuple of int
        rng : `numpy.random.Generator`
        sigma : float
        mu : `numpy.ndarray`, optional
            Cosine of the heliocentric angle of each pixel (NaN off the disk).
        field : `numpy.ndarray`, optional
            The clean field (G) the noise is added to; its smoothed ``|B|`` sets the level.
        """
        shape = tuple(int(n) for n in shape)
        for name, arr in (("mu", mu), ("field", field)):
            if arr is not None and np.shape(arr) != shape:
                raise InvalidArgumentError(f"{name} must have the noise's shape {shape}, got {np.shape(arr)}.")
        return (np.float32(sigma) * self.relative_sigma(mu, field) * self.unit_noise(shape, rng)).astype(np.float32)


def check_noise_model(noise_model, mu, count):
    """The ``noise_model`` and ``mu`` arguments of `~sunpy_dlmag.training.datasets.NoiseDataset`, checked."""
    if noise_model is not None and not callable(getattr(noise_model, "draw", None)):
        raise ArgumentTypeError(f"noise_model must be a NoiseModel, got {type(noise_model).__name__}.")
    mu = [None] * count if mu is None else list(mu)
    if len(mu) != count:
        raise InvalidArgumentError(f"mu needs one entry per magnetogram ({count}), got {len(mu)}.")
    return noise_model, mu
