"""Training, resume and export on small real magnetogram crops (torch, CPU)."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import DATA, make_spec  # noqa: E402

from sunpy_dlmag.cli import main  # noqa: E402
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM  # noqa: E402
from sunpy_dlmag.exceptions import InvalidArgumentError  # noqa: E402
from sunpy_dlmag.models import load_model, sha256sum  # noqa: E402
from sunpy_dlmag.training.export import export_onnx  # noqa: E402
from sunpy_dlmag.training.presets import get_preset, list_presets  # noqa: E402
from sunpy_dlmag.training.trainer import Trainer, build_datasets, load_checkpoint  # noqa: E402

MDI_SMALL = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
SMALL_GLOBAL = {"base_filters": 4, "n_down": 2, "n_res": 1}
SMALL_D = {"base_filters": 4, "n_layers": 2}


@pytest.fixture
def crops(mdi_map):
    """Pairs of real MDI crops (32x32): input = field + fixed noise, target = field, normalised."""
    rng = np.random.default_rng(0)
    field = np.nan_to_num(mdi_map.data[400:656, 300:556]).astype(np.float32)
    tiles = field.reshape(8, 32, 8, 32).transpose(0, 2, 1, 3).reshape(64, 1, 32, 32) / 300.0
    noisy = tiles + rng.normal(0, 0.05, tiles.shape).astype(np.float32)
    return torch.utils.data.TensorDataset(
        torch.from_numpy(np.clip(noisy, -1, 1)), torch.from_numpy(np.clip(tiles, -1, 1))
    )


def _trainer(preset, crops, out, **kwargs):
    return Trainer(
        preset,
        crops,
        crops,
        out_dir=out,
        device="cpu",
        seed=3,
        batch_size=16,
        generator_kwargs=kwargs.pop("generator_kwargs", {"depth": 3, "base_filters": 4}),
        discriminator_kwargs=kwargs.pop("discriminator_kwargs", SMALL_D),
        **kwargs,
    )


def test_every_preset_fills_a_model_spec():
    for name in list_presets():
        preset = get_preset(name)
        spec = preset.model_spec(version="test")
        assert spec.preset == name
        assert spec.geometry.tile_safe == preset.tile_safe
        if name.endswith("-tilesafe"):
            assert "instance" not in json.dumps(preset.generator_kwargs)
    assert not get_preset("aisfm-v2").tile_safe
    assert get_preset("aisfm-v2-tilesafe").tile_safe
    assert get_preset("denoise-m2").loss_weights == {"mse": 1000.0}
    assert get_preset("pix2pixcc").loss_weights == {"gan": 2.0, "fm": 10.0, "cc": 5.0}
    with pytest.raises(KeyError, match="Known presets"):
        get_preset("nope")


def test_gan_training_lowers_the_reconstruction_error(crops, tmp_path):
    trainer = _trainer("aisfm-v1", crops, tmp_path)
    before = trainer.validate()["val_l1_G"]
    history = trainer.fit(4, progress=False)
    assert len(history) == 4
    assert history[-1]["val_l1_G"] < before
    assert np.isfinite(history[-1]["train_d"])
    assert (tmp_path / "checkpoint.pt").is_file()
    assert json.loads((tmp_path / "history.json").read_text()) == history


def test_resume_reproduces_the_uninterrupted_run(crops, tmp_path):
    whole = _trainer("aisfm-v1", crops, tmp_path / "whole")
    whole.fit(2, progress=False)

    _trainer("aisfm-v1", crops, tmp_path / "split").fit(1, progress=False)
    resumed = _trainer("aisfm-v1", crops, tmp_path / "split")
    resumed.fit(2, resume=True, progress=False)

    assert resumed.epoch == 2
    for name, value in whole.generator.state_dict().items():
        torch.testing.assert_close(resumed.generator.state_dict()[name], value, rtol=0, atol=0, msg=name)
    assert resumed.history == whole.history


def test_pix2pixcc_losses_train(crops, tmp_path):
    trainer = _trainer("pix2pixcc", crops, tmp_path, generator_kwargs=SMALL_GLOBAL)
    # pix2pixcc takes three EUV channels: feed the same crop three times.
    x, y = crops.tensors
    trainer.train_data = torch.utils.data.TensorDataset(x.repeat(1, 3, 1, 1), y)
    trainer.val_data = trainer.train_data
    record = trainer.fit(1, progress=False)[-1]
    for key in ("train_gan", "train_fm", "train_cc", "val_pixel_cc_8x8"):
        assert np.isfinite(record[key]), key


def test_checkpoint_refuses_other_settings(crops, tmp_path):
    _trainer("aisfm-v1", crops, tmp_path).fit(1, progress=False)
    other = _trainer("aisfm-v1", crops, tmp_path, generator_kwargs={"depth": 3, "base_filters": 8})
    # The message gives the settings that rebuild the checkpoint's network (depth has no flag).
    with pytest.raises(
        ValueError,
        match=r"differs from this run's .* resume with Trainer\(size='published', "
        r"generator_kwargs=\{'depth': 3, 'base_filters': 4\}\) \(no command-line flag sets depth\)",
    ):
        other.fit(2, resume=True, progress=False)


def test_export_matches_torch_and_loads(crops, tmp_path):
    trainer = _trainer("aisfm-v1", crops, tmp_path)
    trainer.fit(1, progress=False)
    result = export_onnx(tmp_path / "checkpoint.pt", tmp_path / "v1.onnx")
    assert result.max_abs_difference < 1e-4
    assert len(result.sha256) == 64
    model = load_model(result.path, device="cpu")
    assert model.spec.preset == "aisfm-v1"
    assert model.spec.geometry.stride == 8
    assert "val_l1_G" in model.spec.scores

    x = crops.tensors[0][:1]
    with torch.no_grad():
        expected = trainer.generator.eval()(x).numpy()[0, 0]
    got = model.run(x.numpy())[0, 0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


class _Planted:
    """Unpickling this runs code: it would write the file named."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (self.path, "unpickled"))


def test_checkpoint_loading_never_unpickles(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidArgumentError, match="not a sunpy-dlmag training checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    planted = tmp_path / "planted.txt"
    torch.save({"format": 1, "generator": _Planted(planted)}, tmp_path / "evil.pt")
    with pytest.raises(InvalidArgumentError, match="never run"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not planted.exists()
    torch.save({"format": 99}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sunpy-dlmag training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_datasets_for_denoise_m2_and_missing_manifest(tmp_path):
    train_set, val_set = build_datasets("denoise-m2", [MDI_SMALL], val=[MDI_MAGNETOGRAM], patch_size=32)
    x, y = train_set[0]
    assert x.shape == y.shape == (1, 32, 32)
    assert val_set is not None
    with pytest.raises(FileNotFoundError, match="fetch-pairs"):
        build_datasets("aisfm-v2", tmp_path)


def test_command_line_trains_and_exports(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "denoise-m2", "--data", str(MDI_SMALL), "--val", str(MDI_MAGNETOGRAM), "--out", str(run)]
    args += ["--epochs", "1", "--patch-size", "32", "--patches-per-image", "4", "--batch-size", "4"]
    args += ["--base-filters", "4", "--n-res", "1", "--device", "cpu", "--quiet"]
    assert main(args) == 0
    assert main(["export", str(run / "checkpoint.pt"), str(tmp_path / "m2.onnx")]) == 0
    out = capsys.readouterr().out
    assert "sha256:" in out
    assert main(["models", "info", str(tmp_path / "m2.onnx")]) == 0
    assert "denoise-m2" in capsys.readouterr().out
    # A fresh export is not the registered file: its card names it a local file, by its own sha256.
    model = load_model(tmp_path / "m2.onnx", device="cpu")
    assert model.spec.weights.sha256 == sha256sum(tmp_path / "m2.onnx") == model.sha256
    assert not model.spec.weights.available
    assert f"weights:       a local file, sha256 {model.sha256}" in model.spec.summary()
    assert "none published" not in model.spec.summary()


def test_field_weighted_mse_counts_strong_fields_more(crops, tmp_path):
    trainer = _trainer("aisfm-v1", crops, tmp_path, loss_weights={"l1": 0.0, "mse_field": 1.0})
    assert trainer.weights["mse_field"] == 1.0
    assert get_preset("aisfm-v1").loss_weights.get("l1")  # the preset itself is untouched
    y = torch.tensor([[[[0.1, 2.0]]]])
    weak_error = trainer._reconstruction(torch.tensor([[[[0.6, 2.0]]]]), y)["mse_field"]
    strong_error = trainer._reconstruction(torch.tensor([[[[0.1, 2.5]]]]), y)["mse_field"]
    assert float(strong_error) == pytest.approx(20 * float(weak_error))  # same error, 20 times the field


def test_exported_weights_load_back_for_fine_tuning(tmp_path):
    from sunpy_dlmag.training.export import export_to_onnx, load_onnx_weights
    from sunpy_dlmag.training.networks import DenoiseGenerator

    kwargs = {"base_filters": 4, "n_down": 2, "n_res": 1, "residual": True, "full_res_filters": 4}
    torch.manual_seed(0)
    net = DenoiseGenerator(norm="batch", **kwargs)
    # Batch-norm statistics that are not the identity, as after training.
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(4, 1, 32, 32) * 2 + 0.5)
    path = tmp_path / "net.onnx"
    export_to_onnx(net, path, in_channels=1, example_size=32)
    plain = load_onnx_weights(DenoiseGenerator(norm="none", **kwargs), path).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(plain(x).numpy(), net.eval()(x).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="no weights of shape"):
        load_onnx_weights(DenoiseGenerator(norm="none", **{**kwargs, "base_filters": 8}), path)


NETWORK_SOURCE = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.out = torch.nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        return x + self.out(torch.relu(self.conv(x)))
"""


def _node_records(path):
    """Every metadata entry and doc string of the graph, its nodes and values (the model's own kept aside)."""
    import onnx

    graph = onnx.load(str(path)).graph
    records = [(graph.name, p.key) for p in graph.metadata_props] + ([graph.doc_string] if graph.doc_string else [])
    for item in (*graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer):
        records += [(item.name, p.key) for p in item.metadata_props] + ([item.doc_string] if item.doc_string else [])
    return records


def test_same_weights_export_to_the_same_bytes_from_any_folder(tmp_path):
    import importlib.util

    from sunpy_dlmag.models.registry import sha256sum
    from sunpy_dlmag.training.export import export_to_onnx

    # The same network code in two places, as in two clones of the package: the exporter records
    # each node's source file, which must not reach the file.
    paths = []
    for where in ("clone-a", "somewhere/else/clone-b"):
        folder = tmp_path / where
        folder.mkdir(parents=True)
        (folder / "net.py").write_text(NETWORK_SOURCE)
        spec = importlib.util.spec_from_file_location("net", folder / "net.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(0)
        paths.append(folder / "net.onnx")
        export_to_onnx(module.Net(), paths[-1], in_channels=1, example_size=32)
    assert sha256sum(paths[0]) == sha256sum(paths[1])
    assert _node_records(paths[0]) == []
    for path in paths:
        assert b"clone-" not in path.read_bytes()
        assert str(tmp_path).encode() not in path.read_bytes()


def test_writing_a_spec_removes_the_exporters_records_and_keeps_the_models_own(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from sunpy_dlmag.models.registry import write_spec_to_onnx
    from sunpy_dlmag.models.spec import ONNX_METADATA_KEY

    node = helper.make_node("Identity", ["image"], ["output"], doc_string="File /home/me/net.py, line 3")
    node.metadata_props.add(key="pkg.torch.onnx.stack_trace", value='File "/home/me/net.py", line 3')
    value = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    value.metadata_props.add(key="pkg.torch.onnx.original_node_name", value="x")
    graph = helper.make_graph([node], "g", [value], [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)])
    graph.metadata_props.add(key="pkg.torch.export.ExportedProgram.graph_signature", value="x: USER_INPUT")
    proto = helper.make_model(graph)
    proto.metadata_props.add(key="licence", value="mine")
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    write_spec_to_onnx(path, make_spec("tiny"))
    assert _node_records(path) == []
    assert b"/home/me" not in path.read_bytes()
    kept = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert kept["licence"] == "mine"
    assert json.loads(kept[ONNX_METADATA_KEY])["name"] == "tiny"
