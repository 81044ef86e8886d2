import shutil

import pytest
from conftest import make_spec

from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    DeviceNotAvailableError,
    InvalidArgumentError,
    InvalidModelSpecError,
    ModelInputMismatchError,
    UnknownModelError,
    WeightsHashMismatchError,
    WeightsNotInstalledError,
)
from sunpy_dlmag.models import (
    ModelSpec,
    WeightsSource,
    available_devices,
    get_model,
    list_models,
    load_model,
    registry,
    sha256sum,
)
from sunpy_dlmag.models.graphs import convolution_network

PUBLISHED = ["aisfm-v1", "aisfm-v2", "aisfm-v3", "denoise-m1", "denoise-m2", "denoise-m2-hmi", "drawing", "pix2pixcc"]


def test_published_models_are_registered():
    assert list_models() == PUBLISHED
    assert list_models(task="farside") == ["aisfm-v1", "aisfm-v2", "aisfm-v3", "pix2pixcc"]
    assert list_models(task="denoise") == ["denoise-m1", "denoise-m2", "denoise-m2-hmi"]


def test_unknown_name_lists_known_models():
    with pytest.raises(UnknownModelError, match="Unknown model 'aisfm-v9'") as info:
        get_model("aisfm-v9")
    assert "aisfm-v2" in str(info.value)
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownModelError):
        load_model("aisfm-v9")


def test_missing_weights_say_how_to_train_and_download():
    with pytest.raises(WeightsNotInstalledError) as info:
        load_model("aisfm-v2")
    message = str(info.value)
    assert "sunpy-dlmag train aisfm-v2 --data DIR --out RUN" in message
    assert "sunpy-dlmag export" in message
    assert "obtain the authors' weights" in message
    assert "none are published" not in message
    # Not the registered name: the outputs of the user's network must not claim the published weights.
    assert "sunpy-dlmag export RUN/checkpoint.pt my-aisfm-v2.onnx" in message
    assert "model='my-aisfm-v2.onnx'" in message
    assert "--model my-aisfm-v2.onnx" in message


@pytest.mark.parametrize("name", PUBLISHED)
def test_missing_weights_name_the_training_data_of_each_task(name):
    import dataclasses

    training = pytest.importorskip("sunpy_dlmag.training.presets")  # which presets are noise-trained
    spec = dataclasses.replace(get_model(name), weights=WeightsSource())
    with pytest.raises(WeightsNotInstalledError) as info:
        load_model(spec)
    message = str(info.value)
    assert f"sunpy-dlmag train {spec.preset} --data DIR" in message
    if training.get_preset(spec.preset).noise_training:
        # Magnetograms alone: noise is added in training, there are no pairs to fetch.
        assert "magnetogram FITS files in G" in message
        assert "no pairs" in message
        assert "fetch-pairs" not in message
    elif spec.task == "farside":
        assert "sunpy-dlmag fetch-pairs" in message
    else:
        assert "fetch-pairs" not in message


def test_missing_file_path():
    with pytest.raises(WeightsNotInstalledError, match="No weights file"):
        load_model("nowhere/model.onnx")


def test_user_file_with_spec_in_onnx_metadata(conv_onnx):
    import dataclasses

    path, spec = conv_onnx("mine")
    model = load_model(path, device="cpu")
    # The file's spec, with the sha256 of the file it runs (the spec inside cannot hold its own).
    assert model.spec == dataclasses.replace(spec, weights=WeightsSource(sha256=sha256sum(path)))
    assert model.sha256 == sha256sum(path)
    assert f"a local file, sha256 {model.sha256}" in model.spec.summary()
    # A str path works too.
    assert load_model(str(path), device="cpu").spec == model.spec


def test_spec_beside_the_file_wins_over_metadata(conv_onnx):
    path, spec = conv_onnx("mine")
    beside = make_spec("renamed", stride=spec.geometry.stride, receptive_radius=spec.geometry.receptive_radius)
    path.with_suffix(".json").write_text(beside.to_json())
    assert load_model(path, device="cpu").spec.name == "renamed"


def test_file_without_spec(tmp_path):
    path = tmp_path / "bare.onnx"
    convolution_network(path)
    with pytest.raises(InvalidModelSpecError, match="carries no sunpy-dlmag model spec"):
        load_model(path)


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a network")
    with pytest.raises(InvalidModelSpecError, match="not a readable ONNX file"):
        load_model(path)


def test_hash_in_spec_beside_the_file_is_verified(conv_onnx):
    path, spec = conv_onnx("mine")
    wrong = ModelSpec.from_dict({**spec.to_dict(), "weights": {"sha256": "0" * 64}})
    path.with_suffix(".json").write_text(wrong.to_json())
    with pytest.raises(WeightsHashMismatchError, match="0000"):
        load_model(path)


def test_bundled_weights_are_found_and_verified(conv_onnx, registered, tmp_path, monkeypatch):
    path, spec = conv_onnx("bundled-net")
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    shutil.copy(path, weights_dir / "bundled-net.onnx")
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights_dir)
    good = ModelSpec.from_dict(
        {**spec.to_dict(), "weights": {"sha256": sha256sum(path), "bundled": "bundled-net.onnx"}}
    )
    registered(good)
    assert registry.weights_status(good) == "bundled"
    model = load_model("bundled-net", device="cpu")
    assert model.path == weights_dir / "bundled-net.onnx"

    (weights_dir / "bundled-net.onnx").write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(WeightsHashMismatchError, match="bundled-net"):
        load_model("bundled-net")


def test_remote_weights_go_through_the_sunpy_data_manager(conv_onnx, registered, tmp_path):
    from sunpy.data import manager

    path, spec = conv_onnx("remote-net")
    remote = ModelSpec.from_dict(
        {
            **spec.to_dict(),
            "version": "1",
            "weights": {"sha256": sha256sum(path), "url": "https://example.org/remote-net.onnx"},
        }
    )
    registered(remote)
    assert registry.weights_status(remote) == "remote"
    with manager.override_file("sunpy_dlmag-remote-net-1.onnx", uri=f"file://{path}"):
        model = load_model("remote-net", device="cpu")
    assert model.sha256 == remote.weights.sha256

    other = tmp_path / "other.onnx"
    convolution_network(other, seed=99)
    with (
        manager.override_file("sunpy_dlmag-remote-net-1.onnx", uri=f"file://{other}"),
        pytest.raises(WeightsHashMismatchError),
    ):
        load_model("remote-net")


def test_graph_that_does_not_match_its_spec(tmp_path):
    path = tmp_path / "one-channel.onnx"
    convolution_network(path, in_channels=1)
    registry.write_spec_to_onnx(path, make_spec("three", n_inputs=3))
    with pytest.raises(ModelInputMismatchError, match="takes 1 input channels, but its spec lists 3"):
        load_model(path)


def test_register_model_refuses_silent_replacement(registered):
    registered(make_spec("dup"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model(make_spec("dup"))
    with pytest.raises(TypeError, match="expects a ModelSpec"):
        registry.register_model({"name": "dict"})


def test_weights_source_availability():
    assert not WeightsSource().available
    assert WeightsSource(sha256="ab", url="https://x").available


def test_device_choice(conv_onnx):
    path, _ = conv_onnx()
    assert load_model(path, device="cpu").device == "cpu"
    expected = "cuda" if "cuda" in available_devices() else "cpu"
    assert load_model(path, device="auto").device == expected
    with pytest.raises(ValueError, match="device must be"):
        load_model(path, device="gpu")
    if "cuda" not in available_devices():
        with pytest.raises(DeviceNotAvailableError, match="device='cpu'"):
            load_model(path, device="cuda")


def test_sessions_are_cached_per_file_and_threads(conv_onnx):
    path, _ = conv_onnx()
    a = load_model(path, device="cpu")
    b = load_model(path, device="cpu")
    c = load_model(path, device="cpu", num_threads=1)
    assert a.session is b.session
    assert a.session is not c.session
    assert c.session.get_session_options().intra_op_num_threads == 1


def test_one_loader_for_names_paths_specs_and_models_with_a_task_check(conv_onnx, registered, tmp_path, monkeypatch):
    from sunpy_dlmag.exceptions import ModelTaskError
    from sunpy_dlmag.models.registry import spec_of

    path, spec = conv_onnx("tasked", task="denoise")
    model = load_model(path, device="cpu", task="denoise")
    assert load_model(model, task="denoise") is model
    assert spec_of(model) is model.spec
    assert spec_of(path) == spec
    with pytest.raises(ModelTaskError, match=r"'denoise' model; this needs a 'farside' model.*aisfm-v2"):
        load_model(model, task="farside")
    with pytest.raises(ModelTaskError, match="'denoise' model"):
        load_model(path, task="drawing")
    # A spec loads through its weights source, as a registered name does.
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    bundled = ModelSpec(**{**spec.__dict__, "weights": WeightsSource(sha256=sha256sum(path), bundled=path.name)})
    assert load_model(bundled, device="cpu", task="denoise").sha256 == sha256sum(path)
    with pytest.raises(WeightsNotInstalledError):
        load_model(get_model("aisfm-v2"), task="farside")


@pytest.mark.parametrize("name", ["denoise-m2", "denoise-m2-hmi"])
def test_shipped_weights_carry_the_registry_entry_and_nothing_of_the_machine(name):
    import dataclasses

    import onnx

    spec = get_model(name)
    path = registry.WEIGHTS_DIR / spec.weights.bundled
    # The spec inside the file is the registry's, scores included (less its own sha256).
    assert registry.read_spec_for(path) == dataclasses.replace(spec, weights=WeightsSource())
    graph = onnx.load(str(path)).graph
    assert not graph.metadata_props
    for item in (*graph.node, *graph.input, *graph.output, *graph.value_info):
        assert not item.metadata_props, item.name
        assert not item.doc_string, item.name
    data = path.read_bytes()
    assert b"/work/" not in data
    assert b"site-packages" not in data


def test_a_corrupt_file_with_a_spec_beside_it(tmp_path):
    # Issue 25: the spec beside it used to let the protobuf parser fail later, in its own words.
    path = tmp_path / "random.onnx"
    path.write_bytes(bytes(range(256)) * 20)
    path.with_suffix(".json").write_text(get_model("denoise-m2").to_json())
    with pytest.raises(InvalidModelSpecError, match=r"random\.onnx is not a readable ONNX file"):
        load_model(path, device="cpu")


def test_num_threads_and_task_are_checked():
    for value, error in (("two", ArgumentTypeError), (0.5, ArgumentTypeError), (-1, InvalidArgumentError)):
        with pytest.raises(error, match="num_threads must be an integer"):
            load_model("denoise-m2", device="cpu", num_threads=value)
    assert load_model("denoise-m2", device="cpu", num_threads=2).num_threads == 2
    with pytest.raises(InvalidArgumentError, match="task must be one of 'denoise', 'drawing', 'farside'; got 'nope'"):
        list_models(task="nope")
    assert list_models(task="denoise") == ["denoise-m1", "denoise-m2", "denoise-m2-hmi"]
