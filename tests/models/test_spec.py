import astropy.units as u
import numpy as np
import pytest

from sunpy_dlmag.exceptions import InvalidModelSpecError
from sunpy_dlmag.models import Geometry, ModelSpec, Normalization, get_model, list_models


def test_linear_normalization_maps_range_to_unit_interval_and_back():
    norm = Normalization("linear", -3000, 3000)
    values = np.array([-5000.0, -3000.0, 0.0, 1500.0, 3000.0])
    np.testing.assert_allclose(norm.forward(values), [-1, -1, 0, 0.5, 1])
    np.testing.assert_allclose(norm.inverse(norm.forward(values)), [-3000, -3000, 0, 1500, 3000], rtol=1e-6)


def test_unclipped_normalization_keeps_strong_fields():
    norm = Normalization("linear", -100, 100, clip=False)
    assert norm.forward(np.array([250.0]))[0] == pytest.approx(2.5)
    assert norm.inverse(norm.forward(np.array([250.0])))[0] == pytest.approx(250.0)


def test_log10_normalization_follows_aisfm_v2():
    # log10(clip(I, 1, 200)) mapped to [-1, 1] (Jeong et al. 2020)
    norm = Normalization("log10", 1, 200)
    out = norm.forward(np.array([0.0, 1.0, np.sqrt(200.0), 200.0, 1e4]))
    np.testing.assert_allclose(out, [-1, -1, 0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(norm.inverse(np.array([-1.0, 1.0])), [1, 200], rtol=1e-5)


def test_normalization_keeps_nan():
    assert np.isnan(Normalization("linear", -1, 1).forward(np.array([np.nan]))[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "asinh"}, "kind must be"),
        ({"vmin": 1, "vmax": 1}, "vmax > vmin"),
        ({"kind": "log10", "vmin": 0, "vmax": 10}, "vmin > 0"),
    ],
)
def test_bad_normalization_is_rejected(kwargs, match):
    with pytest.raises(InvalidModelSpecError, match=match):
        Normalization(**kwargs)


def test_geometry_needs_both_size_and_radius():
    with pytest.raises(InvalidModelSpecError, match="both image_size and rsun_px"):
        Geometry(image_size=1024)
    with pytest.raises(InvalidModelSpecError, match="multiple of the stride"):
        Geometry(image_size=1000, rsun_px=392, stride=16)


@pytest.mark.parametrize("name", list_models())
def test_every_registered_spec_survives_json(name):
    spec = get_model(name)
    again = ModelSpec.from_json(spec.to_json())
    assert again == spec
    assert again.inputs[0].wavelength == spec.inputs[0].wavelength


def test_published_aisfm_geometry():
    spec = get_model("aisfm-v2")
    assert (spec.geometry.image_size, spec.geometry.rsun_px) == (1024, 392)
    assert [c.wavelength for c in spec.inputs] == [304 * u.AA, 193 * u.AA, 171 * u.AA]
    assert spec.output.unit == "G"
    assert spec.output.normalization.vmax == 3000
    assert get_model("aisfm-v3").n_inputs == 7


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x"}', "Malformed model spec"),
    ],
)
def test_malformed_spec_json_is_rejected(text, match):
    with pytest.raises(InvalidModelSpecError, match=match):
        ModelSpec.from_json(text)


def test_unknown_spec_field_is_rejected():
    data = get_model("aisfm-v1").to_dict()
    data["colour"] = "blue"
    with pytest.raises(InvalidModelSpecError, match="colour"):
        ModelSpec.from_dict(data)


def test_summary_names_geometry_and_weights():
    text = get_model("aisfm-v2").summary()
    assert "solar radius 392 px" in text
    assert "none published" in text
    assert "NOT tile-safe" in text
