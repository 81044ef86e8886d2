"""Training datasets: preparing pairs into the cache, patch datasets, the noise dataset (real files)."""

import os
import shutil
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

import sunpy.map

torch = pytest.importorskip("torch")

from sunpy_dlmag import geometry  # noqa: E402
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM  # noqa: E402
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagUserWarning, InputMapError, InvalidArgumentError  # noqa: E402
from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization  # noqa: E402
from sunpy_dlmag.training import datasets  # noqa: E402
from sunpy_dlmag.training.datasets import (  # noqa: E402
    NoiseDataset,
    Pair,
    PatchDataset,
    PreparedPairs,
    prepare,
)

DATA = Path(__file__).parents[1] / "data"
AIA = DATA / "aia_171_level1.fits"
MDI = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
HMI_NO_WCS = DATA / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits"

EUV = Normalization("log10", 1.0, 200.0)
FIELD = Normalization("linear", -300.0, 300.0, clip=False)
FRAME = {"image_size": 64, "rsun_px": 24.0}


def make_spec(inputs=("AIA",), output="MDI", **geometry):
    """A spec with AIA 171 (DN/s, log10) and magnetogram (G, linear) channels."""

    def channel(kind):
        return Channel("AIA", 171 * u.AA, "DN/s", EUV) if kind == "AIA" else Channel(kind, None, "G", FIELD)

    return ModelSpec(
        name="test-data",
        task="test",
        architecture="none",
        inputs=tuple(channel(k) for k in inputs),
        output=channel(output),
        geometry=Geometry(**geometry),
    )


def forward(norm, values):
    """Normalised values with missing pixels as what 0 becomes, as prepare does."""
    out = norm.forward(values)
    out[~np.isfinite(values)] = norm.forward(0.0)
    return out


def load(path):
    return sunpy.map.Map(path)


@pytest.fixture
def files(tmp_path):
    """Copies of the real AIA 171 and MDI files (so that their times can be changed)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return shutil.copy(AIA, folder), shutil.copy(MDI, folder)


@pytest.fixture
def farside_pair(files):
    aia, mdi = files
    return Pair("2011-02-15T00:00", (aia,), mdi)


@pytest.fixture
def denoise_prepared(files, tmp_path):
    """MDI -> MDI on the native grid, strong field from 50 G (61 pixels): a prepared set for patch tests."""
    _, mdi = files
    spec = make_spec(inputs=("MDI",), output="MDI")
    pairs = [Pair("2011-02-15T00:00", (mdi,), mdi), Pair("2011-02-15T12:00", (mdi,), mdi)]
    return prepare(pairs, spec, tmp_path / "cache", strong_field=50 * u.G)


# --------------------------------------------------------------------------- prepare


def test_prepare_to_the_model_frame(farside_pair, tmp_path):
    spec = make_spec(**FRAME)
    prepared = prepare([farside_pair], spec, tmp_path / "cache")
    assert isinstance(prepared, PreparedPairs)
    assert len(prepared) == 1
    assert prepared.shapes == ((64, 64),)
    item = prepared[0]
    assert item.inputs.shape == (1, 64, 64)
    assert item.target.shape == item.mask.shape == (64, 64)
    assert item.inputs.dtype == item.target.dtype == np.float32
    assert item.mask.dtype == np.uint8
    assert not item.inputs.flags.writeable  # memory-mapped cache, read-only

    aia, mdi = load(farside_pair.inputs[0]), load(farside_pair.target)
    x = geometry.to_model_frame(aia, **FRAME).data / aia.exposure_time.to_value(u.s)  # DN -> DN/s
    y = geometry.to_model_frame(mdi, **FRAME).data
    np.testing.assert_allclose(item.inputs[0], forward(EUV, x), atol=1e-6)
    np.testing.assert_allclose(item.target, forward(FIELD, y), atol=1e-6)
    assert not np.isnan(item.inputs).any()
    assert not np.isnan(item.target).any()
    # On-disk pixels where every channel has data: inside the 24-px circle only.
    yy, xx = np.mgrid[:64, :64]
    circle = np.hypot(yy - 31.5, xx - 31.5) <= 24
    np.testing.assert_array_equal(item.mask & datasets.DISK > 0, circle & np.isfinite(x) & np.isfinite(y))
    assert (item.mask & datasets.DISK).sum() > 0.8 * circle.sum()


def test_prepare_on_the_native_grid(files, tmp_path):
    aia, _ = files
    # The same AIA image on another grid (shifted, coarser): the target's grid for a native spec.
    shifted = tmp_path / "aia_shifted.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # BLANK on float data, irrelevant here
        with fits.open(aia) as hdul:
            hdul[0].header["CRPIX1"] += 3.5
            hdul[0].header["CDELT1"] *= 1.25
            hdul[0].header["CDELT2"] *= 1.25
            hdul.writeto(shifted)
    spec = ModelSpec(
        name="native",
        task="test",
        architecture="none",
        inputs=(Channel("AIA", 171 * u.AA, "DN/s", EUV),) * 2,
        output=Channel("AIA", 171 * u.AA, "DN/s", EUV),
    )
    item = prepare([Pair("2011-02-15", (aia, shifted), shifted)], spec, tmp_path / "cache")[0]
    source, target = load(aia), load(shifted)
    exposure = target.exposure_time.to_value(u.s)
    resampled = geometry.resample(source.data, source.wcs, target.wcs, target.data.shape) / exposure
    x = np.stack([resampled, target.data / exposure])
    missing = ~np.isfinite(x).all(axis=0)
    assert missing.any()  # the shifted grid reaches past the original image
    for c in range(2):
        expected = EUV.forward(x[c])
        expected[missing] = EUV.forward(0.0)
        np.testing.assert_allclose(item.inputs[c], expected, atol=1e-6)
    np.testing.assert_allclose(item.target, EUV.forward(target.data / exposure), atol=1e-6)
    # Disk mask from the target's WCS: centre in, corners out; no strong field for an EUV target.
    disk_centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=target.coordinate_frame)
    col, row = (round(float(v)) for v in target.wcs.world_to_pixel(disk_centre))
    assert item.mask[row, col] & datasets.DISK
    assert item.mask[0, 0] == item.mask[-1, -1] == 0
    assert not (item.mask & datasets.STRONG).any()


def test_prepare_marks_strong_field(denoise_prepared):
    item = denoise_prepared[0]
    b = load(MDI).data
    assert item.inputs.shape == (1, 128, 128)
    np.testing.assert_allclose(item.inputs[0], forward(FIELD, b), atol=1e-6)
    strong = (item.mask & datasets.STRONG) > 0
    with np.errstate(invalid="ignore"):
        expected = np.abs(b) >= 50
    assert strong.sum() > 50
    np.testing.assert_array_equal(strong, expected & ((item.mask & datasets.DISK) > 0))


@pytest.mark.parametrize(
    ("strong_field", "error", "match"),
    [(5, ArgumentTypeError, r"strong_field=5 \* u.G"), (-5 * u.G, InvalidArgumentError, "positive")],
)
def test_prepare_refuses_a_threshold_without_unit_or_sign(files, tmp_path, strong_field, error, match):
    _, mdi = files
    spec = make_spec(inputs=("MDI",), output="MDI")
    with pytest.raises(error, match=match):
        prepare([Pair("2011-02-15T00:00", (mdi,), mdi)], spec, tmp_path / "cache", strong_field=strong_field)
    assert not (tmp_path / "cache").exists()  # refused before anything is written


def test_second_prepare_reads_no_fits(farside_pair, tmp_path, monkeypatch):
    spec = make_spec(**FRAME)
    cache = tmp_path / "cache"
    first = prepare([farside_pair], spec, cache)
    assert first.n_from_cache == 0
    before = {name: np.array(getattr(first[0], name)) for name in ("inputs", "target", "mask")}
    assert len(list(cache.glob("*.npy"))) == 3

    def no_fits(*args, **kwargs):
        raise AssertionError("FITS file read although it is cached")

    monkeypatch.setattr(sunpy.map, "Map", no_fits)
    second = prepare([farside_pair], spec, cache)
    assert second.n_from_cache == 1
    assert second.keys == first.keys
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(second[0], name), value)
    # Another normalisation, or a changed file, is prepared anew.
    with pytest.raises(AssertionError, match="FITS file read"):
        prepare([farside_pair], make_spec(image_size=64, rsun_px=20.0), cache)
    stat = farside_pair.target.stat()
    os.utime(farside_pair.target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="FITS file read"):
        prepare([farside_pair], spec, cache)


def test_prepare_checks_channels(farside_pair, tmp_path):
    wrong = ModelSpec(
        name="wrong",
        task="test",
        architecture="none",
        inputs=(Channel("AIA", 304 * u.AA, "DN/s", EUV),),
        output=Channel("MDI", None, "G", FIELD),
        geometry=Geometry(**FRAME),
    )
    with pytest.raises(InputMapError, match=r"171 Angstrom observation.*304.*order of the input files"):
        prepare([farside_pair], wrong, tmp_path / "cache")
    with pytest.warns(DlmagUserWarning, match="Skipped the pair"):
        assert len(prepare([farside_pair], wrong, tmp_path / "cache", on_error="skip")) == 0
    with pytest.raises(InputMapError, match="takes 2 input channel"):
        prepare([farside_pair], make_spec(inputs=("AIA", "AIA"), **FRAME), tmp_path / "cache")
    with pytest.raises(InputMapError, match=r"cannot be converted to .*unit G"):
        prepare([farside_pair], make_spec(inputs=("MDI",), **FRAME), tmp_path / "cache")
    with pytest.raises(ValueError, match="on_error"):
        prepare([farside_pair], make_spec(**FRAME), tmp_path / "cache", on_error="ignore")


# --------------------------------------------------------------------------- patches


def test_patch_shapes_and_content(denoise_prepared):
    ds = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=5)
    assert len(ds) == 10
    x, y = ds[7]
    assert x.dtype == y.dtype == torch.float32
    assert tuple(x.shape) == (1, 16, 16)
    assert tuple(y.shape) == (1, 16, 16)
    image, row, col = ds.position(7)
    assert image == 1
    item = denoise_prepared[image]
    np.testing.assert_array_equal(x.numpy(), item.inputs[:, row : row + 16, col : col + 16])
    np.testing.assert_array_equal(y.numpy()[0], item.target[row : row + 16, col : col + 16])
    x.add_(1.0)  # tensors are copies: the cache is untouched
    np.testing.assert_array_equal(ds[7][0].numpy(), item.inputs[:, row : row + 16, col : col + 16])
    with pytest.raises(IndexError):
        ds.position(10)


def test_patches_are_reproducible(denoise_prepared):
    def positions(ds):
        return [ds.position(i) for i in range(len(ds))]

    a = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=8, seed=3)
    b = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=8, seed=3)
    assert positions(a) == positions(b)
    # Any order of access gives the same item.
    assert [b.position(i) for i in reversed(range(len(b)))][::-1] == positions(a)
    for i in (0, 9):
        for t, u_ in zip(a[i], b[i], strict=True):
            assert torch.equal(t, u_)
    assert positions(PatchDataset(denoise_prepared, patch_size=16, patches_per_image=8, seed=4)) != positions(a)
    first = positions(a)
    a.set_epoch(1)
    assert positions(a) != first
    a.set_epoch(0)
    assert positions(a) == first


def test_patches_centred_on_disk_and_on_strong_field(denoise_prepared):
    mask = denoise_prepared[0].mask
    half = 8

    def centres(ds):
        return [mask[row + half, col + half] for _, row, col in (ds.position(i) for i in range(len(ds)))]

    on_disk = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=50)
    assert all(m & datasets.DISK for m in centres(on_disk))
    anywhere = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=50, on_disk=False)
    assert not all(m & datasets.DISK for m in centres(anywhere))
    strong = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=50, active_region_bias=1.0)
    assert all(m & datasets.STRONG for m in centres(strong))
    half_strong = PatchDataset(denoise_prepared, patch_size=16, patches_per_image=50, active_region_bias=0.5)
    fraction = np.mean([bool(m & datasets.STRONG) for m in centres(half_strong)])
    assert 0.3 < fraction < 0.8  # ~0.5 plus the few random on-disk centres that are strong
    # Patches stay inside the image.
    for _, row, col in (strong.position(i) for i in range(len(strong))):
        assert 0 <= row <= 128 - 16
        assert 0 <= col <= 128 - 16


def test_whole_images_and_data_loader(denoise_prepared):
    whole = PatchDataset(denoise_prepared, patch_size=None)
    assert len(whole) == 2
    x, y = whole[1]
    assert tuple(x.shape) == (1, 128, 128)
    assert tuple(y.shape) == (1, 128, 128)
    loader = torch.utils.data.DataLoader(
        PatchDataset(denoise_prepared, patch_size=32, patches_per_image=4), batch_size=3
    )
    shapes = [(tuple(x.shape), tuple(y.shape)) for x, y in loader]
    assert shapes == [((3, 1, 32, 32), (3, 1, 32, 32))] * 2 + [((2, 1, 32, 32), (2, 1, 32, 32))]


def test_patch_dataset_errors(denoise_prepared):
    with pytest.raises(ValueError, match="smaller than patch_size=256"):
        PatchDataset(denoise_prepared, patch_size=256)
    with pytest.raises(ValueError, match="active_region_bias"):
        PatchDataset(denoise_prepared, patch_size=16, active_region_bias=1.5)
    with pytest.raises(ValueError, match="patch_size"):
        PatchDataset(denoise_prepared, patch_size=0)
    with pytest.raises(TypeError, match="PreparedPairs"):
        PatchDataset([denoise_prepared[0]], patch_size=16)


# --------------------------------------------------------------------------- noise


@pytest.fixture
def hmi_array():
    """Real HMI 720-s LOS cutout of AR 11101 (G), a file without a WCS: read as an array."""
    return fits.getdata(HMI_NO_WCS)


def test_noise_dataset_items(hmi_array):
    original = hmi_array.copy()
    ds = NoiseDataset([MDI_MAGNETOGRAM, hmi_array, load(MDI)], patch_size=64, patches_per_image=4, seed=1)
    assert len(ds) == 12
    for i in (0, 5, 9):
        x, y = ds[i]
        assert x.dtype == y.dtype == torch.float32
        assert tuple(x.shape) == tuple(y.shape) == (1, 64, 64)
        sample = ds.draw(i)
        assert sample.image == i // 4
        assert np.isfinite(sample.clean).all()  # NaN-free, so on the disk
        np.testing.assert_array_equal(x.numpy()[0], ds.normalization.forward(sample.noisy))
        np.testing.assert_array_equal(y.numpy()[0], ds.normalization.forward(sample.clean))
    # The clean patch is the magnetogram itself.
    s = ds.draw(5)
    np.testing.assert_array_equal(s.clean, hmi_array[s.row : s.row + 64, s.col : s.col + 64])
    np.testing.assert_array_equal(hmi_array, original)  # inputs are never modified
    # Reproducible for a seed, new noise for another seed or epoch.
    again = NoiseDataset([MDI_MAGNETOGRAM, hmi_array, load(MDI)], patch_size=64, patches_per_image=4, seed=1)
    assert torch.equal(again[9][0], ds[9][0])
    other = NoiseDataset([MDI_MAGNETOGRAM], patch_size=64, patches_per_image=4, seed=2)
    assert not torch.equal(other[0][0], ds[0][0])
    first = ds.draw(0).sigma
    ds.set_epoch(1)
    assert ds.draw(0).sigma != first


def test_noise_statistics():
    ds = NoiseDataset([MDI_MAGNETOGRAM], patch_size=64, patches_per_image=300, seed=0)
    samples = [ds.draw(i) for i in range(len(ds))]
    for s in samples[:20]:
        noise = (s.noisy - s.clean).astype(np.float64)
        # 4096 pixels: the measured sigma lies within ~1 % (1 standard error) of the drawn one.
        assert noise.std() == pytest.approx(s.sigma, rel=0.05)
        assert abs(noise.mean() - s.mean) < 4 * s.sigma / 64
    sigmas = np.array([s.sigma for s in samples])
    means = np.array([s.mean for s in samples])
    assert (sigmas > 0).all()
    assert sigmas.mean() == pytest.approx(10, abs=0.8)
    assert sigmas.std() == pytest.approx(4, abs=0.7)
    assert (np.abs(means) <= 1).all()
    assert abs(means.mean()) < 0.15


def test_noise_dataset_normalisation_clips_like_denoise_m2(hmi_array):
    ds = NoiseDataset([hmi_array], patch_size=64, patches_per_image=8)
    assert ds.normalization == Normalization("linear", -100.0, 100.0)
    x, y = ds[3]
    assert x.abs().max() <= 1
    assert y.abs().max() <= 1


def test_noise_dataset_errors(tmp_path):
    with pytest.raises(InputMapError, match="needs magnetograms in G"):
        NoiseDataset([AIA], patch_size=64).draw(0)
    with pytest.raises(InputMapError, match=r"astropy.io.fits.getdata\(path\)"):
        NoiseDataset([HMI_NO_WCS], patch_size=64).draw(0)
    with pytest.raises(InputMapError, match="no 64x64 patch without NaN"):
        NoiseDataset([np.full((80, 80), np.nan)], patch_size=64)
    with pytest.raises(InputMapError, match="2D"):
        NoiseDataset([np.zeros((2, 80, 80))], patch_size=64)
    with pytest.raises(FileNotFoundError):
        NoiseDataset([tmp_path / "missing.fits"])
    with pytest.raises(ValueError, match="noise_sigma"):
        NoiseDataset([np.zeros((80, 80))], patch_size=64, noise_sigma=(-1, 4))
    with pytest.raises(ValueError, match="noise_mean"):
        NoiseDataset([np.zeros((80, 80))], patch_size=64, noise_mean=(1, -1))
    with pytest.raises(InputMapError, match="smaller than patch_size"):
        NoiseDataset([np.zeros((32, 32))], patch_size=64)


def test_noise_dataset_accepts_npy_and_quantities(tmp_path, hmi_array):
    path = tmp_path / "b.npy"
    np.save(path, hmi_array)
    ds = NoiseDataset([path], patch_size=32, noise_sigma=(10, 4) * u.G, noise_mean=(-1, 1) * u.G)
    assert ds.noise_sigma == (10.0, 4.0)
    assert ds.noise_mean == (-1.0, 1.0)
    s = ds.draw(0)
    np.testing.assert_array_equal(s.clean, hmi_array[s.row : s.row + 32, s.col : s.col + 32])
