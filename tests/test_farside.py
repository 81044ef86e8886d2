import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import map_with

import sunpy.map

from sunpy_dlmag import calibration
from sunpy_dlmag.exceptions import (
    CalibrationNotAvailableError,
    ChannelMismatchError,
    DlmagUserWarning,
    IncompleteDiskError,
    InconsistentObservationsError,
    InputMapError,
    MissingObserverError,
    ModelTaskError,
    WeightsNotInstalledError,
)
from sunpy_dlmag.farside import farside_magnetogram, prepare_inputs
from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization, load_model
from sunpy_dlmag.models.graphs import convolution_network, gaussian_filter_network
from sunpy_dlmag.models.registry import write_spec_to_onnx

# A wide intensity range, so that a bright test feature is not clipped.
WIDE_LOG = Normalization("log10", 1.0, 1e5)
OUT_NORM = Normalization("linear", -3000.0, 3000.0, clip=False)
# An AISFM-like geometry at 1/8 of the size: north up, centred, radius 49 px in 128 px.
SMALL_FRAME = {"image_size": 128, "rsun_px": 49.0}
OBSERVER_KEYS = ("hgln_obs", "hglt_obs", "dsun_obs", "crln_obs", "crlt_obs")
OBSERVER_KEYS += tuple(f"{frame}{axis}_obs" for frame in ("hci", "hae", "hee", "heq") for axis in "xyz")


def farside_spec(channels, name="tiny-farside", **geometry):
    inputs = tuple(
        Channel(inst, None, "G", Normalization("linear", -1500.0, 1500.0), "reference magnetogram")
        if wl is None
        else Channel(inst, wl * u.AA, "DN/s", WIDE_LOG)
        for inst, wl in channels
    )
    return ModelSpec(
        name=name,
        task="farside",
        architecture="tiny test network",
        inputs=inputs,
        output=Channel("HMI", None, "G", OUT_NORM),
        geometry=Geometry(**{**SMALL_FRAME, **geometry}),
    )


@pytest.fixture
def gauss_model(tmp_path):
    """A one-channel farside network that smooths its input: features keep their place."""
    path = tmp_path / "gauss.onnx"
    radius = gaussian_filter_network(path, sigma=1.0)
    write_spec_to_onnx(path, farside_spec([("AIA", 171)], receptive_radius=radius))
    return load_model(path, device="cpu")


@pytest.fixture
def conv_model(tmp_path):
    def build(channels):
        path = tmp_path / f"conv{len(channels)}.onnx"
        radius = convolution_network(path, in_channels=len(channels), widths=(4,), levels=0)
        write_spec_to_onnx(path, farside_spec(channels, receptive_radius=radius))
        return load_model(path, device="cpu")

    return build


def stereo_b(smap):
    """The real EUVI-A image as if STEREO-B had taken it (B's position on 2011-03-05, AISFM sample)."""
    changes = dict.fromkeys(OBSERVER_KEYS)
    changes.update(obsrvtry="STEREO_B", hgln_obs=-94.782, hglt_obs=1.077, dsun_obs=1.52041e11)
    return map_with(smap, **changes)


def add_blob(smap, tx, ty, amplitude=3e4, sigma=1.2):
    """A bright Gaussian feature at helioprojective (tx, ty) of the map's own frame."""
    x, y = smap.wcs.world_to_pixel(SkyCoord(tx, ty, frame=smap.coordinate_frame))
    yy, xx = np.indices(smap.data.shape)
    blob = amplitude * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / sigma**2)
    return map_with(smap, data=smap.data + blob)


def peak_coordinate(smap, near, box=6):
    """World coordinate of the intensity-weighted centroid of the peak near a coordinate."""
    x0, y0 = (round(float(v)) for v in smap.wcs.world_to_pixel(near))
    cut = np.nan_to_num(smap.data[y0 - box : y0 + box + 1, x0 - box : x0 + box + 1])
    weights = np.clip(cut - np.median(cut), 0, None) ** 2
    yy, xx = np.indices(cut.shape)
    x = x0 - box + (weights * xx).sum() / weights.sum()
    y = y0 - box + (weights * yy).sum() / weights.sum()
    return smap.wcs.pixel_to_world(x, y)


def assert_feature_kept(inp, out, tx, ty, tolerance, without=None):
    """The response to the feature (``out`` minus the output ``without`` it) is centred on (tx, ty)."""
    where = SkyCoord(tx, ty, frame=inp.coordinate_frame)
    response = out if without is None else sunpy.map.Map(out.data - without.data, out.meta)
    found = peak_coordinate(response, where)
    # AIA maps date their frame by T_OBS, derived maps by DATE-OBS (1 s apart here).
    separation = found.separation(where, origin_mismatch="ignore").to(u.arcsec)
    assert separation < tolerance, f"feature moved by {separation}"


def test_feature_stays_at_its_coordinates_euvi(euvi_map, gauss_model):
    # A feature east of centre in STEREO-A's view; the image is rolled by 6.8 degrees.
    inp = add_blob(euvi_map, -300 * u.arcsec, 250 * u.arcsec)
    before = inp.data.copy()
    out = farside_magnetogram(inp, model=gauss_model)
    assert np.array_equal(inp.data, before)
    without = farside_magnetogram(euvi_map, model=gauss_model)
    scale = euvi_map.scale.axis1 * u.pix
    assert_feature_kept(inp, out, -300 * u.arcsec, 250 * u.arcsec, 0.25 * scale, without)
    # The input's grid, observer and time.
    assert out.data.shape == euvi_map.data.shape
    assert out.wcs.wcs.compare(euvi_map.wcs.wcs, tolerance=1e-9)
    assert out.date == euvi_map.date
    assert out.observer_coordinate.lon.to_value(u.deg) == pytest.approx(87.0596, abs=1e-4)
    assert out.observer_coordinate.radius.to_value(u.m) == pytest.approx(euvi_map.dsun.to_value(u.m))
    # G, NaN off the disk and finite on it, magnetogram plot settings.
    assert out.unit == u.G
    on_disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(out))
    assert np.isnan(out.data[~on_disk]).all()
    assert np.isfinite(out.data[on_disk]).all()
    assert out.plot_settings["cmap"] == "hmimag"
    # Provenance: an AI-generated magnetogram from that EUVI observation, not an observation.
    assert out.meta["instrume"] == "sunpy-dlmag tiny-farside"
    assert out.observatory == "STEREO A"
    assert "EUVI" in out.meta["dlinput"]
    assert out.meta["dlsha256"] == gauss_model.sha256
    history = out.meta["history"]
    assert "not an observation" in history
    assert "AI-generated magnetogram from the EUV observation(s): STEREO A SECCHI EUVI 171 Angstrom" in history
    assert "cross-calibrated" in history
    assert "EUVI" not in (out.detector or "")


def test_model_frame_inputs(euvi_map, gauss_model):
    inp = add_blob(euvi_map, -300 * u.arcsec, 250 * u.arcsec)
    (frame,) = prepare_inputs(inp, model=gauss_model)
    assert frame.data.shape == (128, 128)
    assert (frame.rsun_obs / frame.scale.axis1).to_value(u.pix) == pytest.approx(49.0)
    assert np.allclose(frame.wcs.wcs.get_pc(), np.eye(2))  # solar north up
    centre = frame.wcs.world_to_pixel(SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame.coordinate_frame))
    np.testing.assert_allclose(centre, (63.5, 63.5), atol=1e-6)
    (without,) = prepare_inputs(euvi_map, model=gauss_model)
    assert_feature_kept(inp, frame, -300 * u.arcsec, 250 * u.arcsec, 0.25 * frame.scale.axis1 * u.pix, without)
    # The values are AIA-equivalent DN/s: the EUVI rate times the packaged factor.
    factor = calibration.get_calibration("STEREO_A", 171 * u.AA).scale
    rate = calibration.normalize_exposure(euvi_map)
    plain = without
    centre_value = rate.data[60:68, 60:68].mean() * factor
    assert plain.data[58:70, 58:70].mean() == pytest.approx(centre_value, rel=0.1)
    assert plain.unit == u.DN / u.s


def test_calibration_enters_as_expected(euvi_map, gauss_model):
    calibrated = farside_magnetogram(euvi_map, model=gauss_model)
    with pytest.warns(
        DlmagUserWarning, match="channel not cross-calibrated, although the network was trained on the other"
    ):
        plain = farside_magnetogram(euvi_map, model=gauss_model, calibrate=False)
    # Intensities times s shift log10(I) by log10(s); the linear network passes that through
    # (away from the log range's clipping at 1 DN/s): 3000 G * 2 / 5 decades * log10(s).
    factor = calibration.get_calibration("STEREO_A", 171 * u.AA).scale
    rate = calibration.normalize_exposure(euvi_map).data
    bright = np.isfinite(calibrated.data) & (rate > 20)
    expected = 3000 * 2 / 5 * np.log10(factor)
    np.testing.assert_allclose((calibrated.data - plain.data)[bright], expected, rtol=0.02)
    assert "not cross-calibrated" in plain.meta["history"]


def test_stereo_b(euvi_map, gauss_model):
    inp = add_blob(stereo_b(euvi_map), 200 * u.arcsec, -350 * u.arcsec)
    with pytest.raises(CalibrationNotAvailableError, match="STEREO_B EUVI 171") as err:
        farside_magnetogram(inp, model=gauss_model)
    assert "derive_calibration" in str(err.value)
    # A user's own calibration (here: A's factor, labelled for B) is used ...
    own = calibration.Calibration("STEREO_B", 171 * u.AA, 171 * u.AA, scale=1.3)
    out = farside_magnetogram(inp, model=gauss_model, calibrate=own)
    assert "I_AIA = 1.3 x I_EUVI" in out.meta["history"]
    # ... and the output is in STEREO-B's frame, the feature where it was.
    assert out.observer_coordinate.lon.to_value(u.deg) == pytest.approx(-94.782)
    assert out.observatory == "STEREO B"
    without = farside_magnetogram(stereo_b(euvi_map), model=gauss_model, calibrate=own)
    assert_feature_kept(inp, out, 200 * u.arcsec, -350 * u.arcsec, 0.25 * euvi_map.scale.axis1 * u.pix, without)
    with pytest.warns(
        DlmagUserWarning, match="channel not cross-calibrated, although the network was trained on the other"
    ):
        farside_magnetogram(inp, model=gauss_model, calibrate=False)


def test_aia_frontside(aia_map, gauss_model):
    inp = add_blob(aia_map, 150 * u.arcsec, 100 * u.arcsec, amplitude=5e3)
    out = farside_magnetogram(inp, model=gauss_model)
    without = farside_magnetogram(aia_map, model=gauss_model)
    assert_feature_kept(inp, out, 150 * u.arcsec, 100 * u.arcsec, 0.25 * aia_map.scale.axis1 * u.pix, without)
    assert out.observer_coordinate.lon.to_value(u.deg) == pytest.approx(aia_map.observer_coordinate.lon.to_value(u.deg))
    assert out.meta["obsrvtry"] == "SDO"
    assert "cross-calibrated" not in out.meta["history"]  # AIA into an AIA channel


def test_three_channels(euvi_map, conv_model):
    model = conv_model([("EUVI", 304), ("EUVI", 195), ("EUVI", 171)])
    # Relabelled copies of the real 171 image stand in for 304 and 195: the mechanics only.
    m304, m195 = map_with(euvi_map, wavelnth=304), map_with(euvi_map, wavelnth=195)
    by_order = farside_magnetogram([m304, m195, euvi_map], model=model)
    by_wavelength = farside_magnetogram({171 * u.AA: euvi_map, "304": m304, 193: m195}, model=model)
    np.testing.assert_array_equal(by_order.data, by_wavelength.data)
    assert np.isfinite(by_order.data).sum() > 1000
    with pytest.raises(ChannelMismatchError, match="missing: EUVI 195"):
        farside_magnetogram({304: m304, 171: euvi_map}, model=model)
    with pytest.raises(ChannelMismatchError, match="takes 3 euv map"):
        farside_magnetogram([m304, euvi_map], model=model)
    with pytest.raises(ChannelMismatchError, match=r"The EUVI 304 Angstrom channel .* got STEREO A SECCHI EUVI 195"):
        farside_magnetogram([m195, m304, euvi_map], model=model)
    # One observer, nearly one time.
    with pytest.raises(InconsistentObservationsError, match="one observer"):
        farside_magnetogram([m304, stereo_b(m195), euvi_map], model=model)
    late = map_with(m195, **{"date-obs": "2011-02-15T02:30:00", "date-avg": None, "date_obs": None})
    with pytest.raises(InconsistentObservationsError, match=r"within 1\.0 h"):
        farside_magnetogram([m304, late, euvi_map], model=model)
    out = farside_magnetogram([m304, late, euvi_map], model=model, time_tolerance=3 * u.h)
    assert out.date == m304.date


def test_inputs_are_checked_without_weights(euvi_map):
    # No farside weights are installed here; prepare_inputs checks a model's inputs all the same.
    with pytest.raises(ChannelMismatchError, match="takes 3 euv map"):
        prepare_inputs(euvi_map, model="aisfm-v2")
    with pytest.raises(ChannelMismatchError, match="takes AIA 304 Angstrom or EUVI 304 Angstrom"):
        prepare_inputs(euvi_map, model="aisfm-v1")
    with pytest.raises(CalibrationNotAvailableError):
        prepare_inputs(map_with(euvi_map, wavelnth=304), model="aisfm-v1")


def test_reference_channels(euvi_map, aia_map, conv_model):
    # The AISFM-v3 layout: EUVI triple observed, the nearest frontside SDO pair as reference.
    channels = [("EUVI", 304), ("EUVI", 195), ("EUVI", 171), ("AIA", 304), ("AIA", 193), ("AIA", 171), ("HMI", None)]
    model = conv_model(channels)
    euv = [map_with(euvi_map, wavelnth=w) for w in (304, 195)] + [euvi_map]
    aia = [map_with(aia_map, wavelnth=w) for w in (304, 193)] + [aia_map]
    # A uniform 50 G field seen from SDO: only part of the disk STEREO-A sees was visible from there.
    magnetogram = map_with(aia_map, data=np.full(aia_map.data.shape, 50.0), bunit="G", instrume="HMI", detector="HMI")
    inputs = prepare_inputs(euv, model=model.spec, reference=[*aia, magnetogram])
    field = inputs[6].data
    seen = field != 0
    assert 0.1 < seen[np.isfinite(field)].mean() < 0.6
    np.testing.assert_allclose(field[seen], 50.0, rtol=1e-3)
    # STEREO-A, 87 degrees west of Earth, sees the Earth-facing hemisphere towards its east (left) limb.
    assert seen[:, :64].sum() > 5 * seen[:, 64:].sum()
    out = farside_magnetogram(
        euv, model=model, reference={304: aia[0], 193: aia[1], 171: aia[2], "magnetogram": magnetogram}
    )
    assert out.observer_coordinate.lon.to_value(u.deg) == pytest.approx(87.0596, abs=1e-4)
    assert "reference HMI" in out.meta["history"]
    with pytest.raises(ChannelMismatchError, match="needs reference= maps"):
        farside_magnetogram(euv, model=model)
    with pytest.raises(InputMapError, match="magnetogram with data in G"):
        farside_magnetogram(euv, model=model, reference=[*aia, aia_map])


def test_reference_refused_without_reference_channels(euvi_map, gauss_model, mdi_map):
    with pytest.raises(ChannelMismatchError, match="takes no reference input"):
        farside_magnetogram(euvi_map, model=gauss_model, reference=mdi_map)


def test_input_checks(euvi_map, mdi_map, gauss_model):
    with pytest.raises(
        ChannelMismatchError, match="takes AIA 171 Angstrom or EUVI 171 Angstrom; got STEREO A SECCHI EUVI 195"
    ):
        farside_magnetogram(map_with(euvi_map, wavelnth=195), model=gauss_model)
    with pytest.raises(ChannelMismatchError, match="got SOHO MDI"):
        farside_magnetogram(mdi_map, model=gauss_model)
    with pytest.raises(ChannelMismatchError, match="takes 1 euv map"):
        farside_magnetogram([euvi_map, euvi_map], model=gauss_model)
    with pytest.raises(ChannelMismatchError, match="must be a map"):
        farside_magnetogram(euvi_map.data, model=gauss_model)
    half = euvi_map.submap([0, 0] * u.pix, top_right=[127, 63] * u.pix)
    with pytest.raises(IncompleteDiskError, match="does not hold the whole solar disk"):
        farside_magnetogram(half, model=gauss_model)
    with pytest.raises(MissingObserverError, match="no observer position"):
        farside_magnetogram(map_with(euvi_map, **dict.fromkeys(OBSERVER_KEYS)), model=gauss_model)
    with pytest.raises(TypeError, match="calibrate must be"):
        farside_magnetogram(euvi_map, model=gauss_model, calibrate="yes")


def test_not_a_farside_model(euvi_map):
    with pytest.raises(ModelTaskError, match="'denoise' model; this needs a 'farside' model"):
        farside_magnetogram(euvi_map, model="denoise-m2", device="cpu")
    # prepare_inputs needs only the spec: a model without EUV channels is refused there.
    with pytest.raises(InputMapError, match="takes no EUV channel"):
        prepare_inputs(euvi_map, model="denoise-m2")


@pytest.mark.parametrize("name", ["aisfm-v1", "aisfm-v2", "pix2pixcc"])
def test_published_models_need_weights(euvi_map, name):
    # What is missing for the whole path comes first: the weights, before the channels (the real
    # 171 image alone fits none of these models) or their calibration.
    with pytest.raises(WeightsNotInstalledError) as err:
        farside_magnetogram(euvi_map, model=name, device="cpu")
    message = str(err.value)
    for step in (
        "sunpy-dlmag fetch-pairs",
        f"sunpy-dlmag train {name}",
        "sunpy-dlmag export",
        "load_model",
        f"--model my-{name}.onnx",
        "obtain the authors' weights",
    ):
        assert step in message


def test_aia_image_in_an_euvi_channel(aia_map):
    # Frontside validation of an EUVI-channel network: AIA intensities go back to EUVI ones.
    spec = farside_spec([("EUVI", 171)])
    with pytest.raises(CalibrationNotAvailableError, match="AIA 171 Angstrom image in an EUVI 171 Angstrom channel"):
        prepare_inputs(aia_map, model=spec)
    relation = calibration.get_calibration("STEREO_A", 171 * u.AA)
    (as_euvi,) = prepare_inputs(aia_map, model=spec, calibrate=relation)
    (as_aia,) = prepare_inputs(aia_map, model=farside_spec([("AIA", 171)]))
    finite = np.isfinite(as_aia.data)
    np.testing.assert_allclose(as_euvi.data[finite], as_aia.data[finite] / relation.scale, rtol=1e-5)


def test_predict_on_maps_prepares_farside_inputs_like_farside_magnetogram(euvi_map, aia_map, conv_model, gauss_model):
    # Raw EUVI-A 171 (level 0.5: bias not subtracted, DN) into an AIA 171 channel: the bias, the
    # exposure and the packaged cross-calibration are applied, as farside_magnetogram does.
    predicted = gauss_model.predict(euvi_map)
    expected = farside_magnetogram(euvi_map, model=gauss_model)
    np.testing.assert_array_equal(predicted.data, expected.data)
    assert "cross-calibrated: STEREO_A EUVI 171 -> AIA 171" in predicted.meta["history"].replace("\n", "")
    # Not what the network gives on the raw values.
    raw = gauss_model.translate([euvi_map], euvi_map)
    assert np.nanmax(np.abs(raw.data - predicted.data)) > 10
    # The same for several channels, in order or by wavelength (the guide's example).
    model = conv_model([("AIA", 304), ("AIA", 193), ("AIA", 171)])
    m304, m195 = map_with(euvi_map, wavelnth=304), map_with(euvi_map, wavelnth=195)
    with pytest.raises(CalibrationNotAvailableError, match="STEREO_A EUVI 304"):
        model.predict([m304, m195, euvi_map])
    a304, a193 = map_with(aia_map, wavelnth=304), map_with(aia_map, wavelnth=193)
    np.testing.assert_array_equal(
        model.predict({171: aia_map, 304: a304, 193: a193}).data,
        farside_magnetogram([a304, a193, aia_map], model=model).data,
    )
    with pytest.raises(ChannelMismatchError, match="takes 3 euv map"):
        model.predict([a304, aia_map])
