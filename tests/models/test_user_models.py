"""The path a user walks with a network of their own: train, export, load, run, read the card and header."""

import json
import re

import pytest

torch = pytest.importorskip("torch")

from conftest import DATA  # noqa: E402

import sunpy_dlmag  # noqa: E402
from sunpy_dlmag.cli import main  # noqa: E402
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM  # noqa: E402
from sunpy_dlmag.exceptions import InvalidArgumentError, OutputExistsError  # noqa: E402
from sunpy_dlmag.models import get_model, load_model  # noqa: E402
from sunpy_dlmag.models.registry import sha256sum  # noqa: E402
from sunpy_dlmag.training.export import export_onnx  # noqa: E402
from sunpy_dlmag.training.presets import get_preset  # noqa: E402
from sunpy_dlmag.training.trainer import load_checkpoint  # noqa: E402

MDI_SMALL = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
TINY = ["--base-filters", "4", "--n-res", "1", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A denoise-m2 network trained for one epoch on a real MDI magnetogram, from the command line."""
    out = tmp_path_factory.mktemp("user") / "run"
    args = ["train", "denoise-m2", "--data", str(MDI_SMALL), "--val", str(MDI_MAGNETOGRAM), "--out", str(out)]
    args += ["--epochs", "1", "--patch-size", "32", "--patches-per-image", "4", "--batch-size", "4", *TINY]
    assert main(args) == 0
    return out


def _n_parameters(checkpoint):
    state = load_checkpoint(checkpoint)
    network = get_preset(state["preset"]).build_generator(**state["generator_kwargs"])
    return sum(p.numel() for p in network.parameters())


def test_exported_model_card_describes_the_users_network(run, tmp_path, capsys, mdi_map):
    path = tmp_path / "quiet-sun-m2.onnx"
    assert main(["export", str(run / "checkpoint.pt"), str(path)]) == 0
    capsys.readouterr()
    shipped = get_model("denoise-m2")

    model = load_model(path, device="cpu")
    spec = model.spec
    assert spec.name == "quiet-sun-m2"
    assert spec.preset == "denoise-m2"
    assert spec.training_data.startswith("user-trained from preset denoise-m2 on 1 magnetogram(s) with added noise")
    assert MDI_SMALL.name in spec.training_data
    assert "1 epoch" in spec.training_data
    n = _n_parameters(run / "checkpoint.pt")
    assert f"; {n:,} parameters" in spec.architecture
    assert "base_filters=4" in spec.architecture
    assert "n_res=1" in spec.architecture
    assert spec.license == "unknown (user-trained weights)"
    assert "user-trained" in spec.reference
    assert "developers" not in spec.reference
    for field in ("architecture", "training_data", "license"):
        assert getattr(spec, field) != getattr(shipped, field)
    assert set(spec.scores) >= {"val_l1_G"}

    # The card the command line prints.
    assert main(["models", "info", str(path)]) == 0
    card = capsys.readouterr().out
    assert card.startswith("quiet-sun-m2 (version epoch1)")
    assert f"{n:,} parameters" in card
    assert "2.5 M parameters" not in card
    assert "licence:       unknown (user-trained weights)" in card
    assert "BSD-3-Clause" not in card
    assert shipped.training_data not in card
    assert f"a local file, sha256 {sha256sum(path)}" in card

    # The output of the network names it, not the shipped model.
    out = sunpy_dlmag.denoise(mdi_map, model=path)
    assert out.meta["dlmodel"] == "quiet-sun-m2"
    assert out.meta["dlmodver"] == "epoch1"
    assert out.meta["dlsha256"] == sha256sum(path)
    assert out.meta["instrume"] == "sunpy-dlmag quiet-sun-m2"
    assert "made by model quiet-sun-m2 version epoch1" in out.meta["history"]
    assert "denoise-m2 " not in out.meta["history"]


def test_export_takes_the_users_name_data_and_licence(run, tmp_path):
    result = export_onnx(
        run / "checkpoint.pt",
        tmp_path / "model.onnx",
        name="lab-m2",
        version="0.1",
        training_data="MDI 2010-10-15, one epoch",
        license="CC-BY-4.0",
    )
    spec = load_model(result.path, device="cpu").spec
    assert (spec.name, spec.version, spec.training_data, spec.license) == (
        "lab-m2",
        "0.1",
        "MDI 2010-10-15, one epoch",
        "CC-BY-4.0",
    )
    assert json.loads(spec.to_json())["name"] == "lab-m2"


@pytest.mark.parametrize("name", ["denoise-m2", "aisfm-v2"])
def test_export_never_takes_a_registered_name(run, tmp_path, name, capsys):
    # Outputs would claim to come from the published weights.
    with pytest.raises(InvalidArgumentError, match=f"'{name}' is the name of a registered model"):
        export_onnx(run / "checkpoint.pt", tmp_path / "x.onnx", name=name)
    assert main(["export", str(run / "checkpoint.pt"), str(tmp_path / "x.onnx"), "--name", name]) == 2
    assert "registered model" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
    # Nor from the file name: refused as the guide says, not silently renamed.
    named = tmp_path / f"{name}.onnx"
    assert main(["export", str(run / "checkpoint.pt"), str(named)]) == 2
    err = capsys.readouterr().err
    assert f"'{name}' (taken from the file name {name}.onnx) is the name of a registered model" in err
    assert "--name" in err
    assert not named.exists()
    # With a name of its own, the file may keep the registered name.
    assert main(["export", str(run / "checkpoint.pt"), str(named), "--name", f"{name}-mine"]) == 0
    assert load_model(named, device="cpu").spec.name == f"{name}-mine"


def test_export_refuses_to_overwrite_without_overwrite(run, tmp_path, capsys):
    path = tmp_path / "mine.onnx"
    checkpoint = str(run / "checkpoint.pt")
    assert main(["export", checkpoint, str(path), "--version", "1.0"]) == 0
    capsys.readouterr()
    before = sha256sum(path)
    # The card, version and sha256 of the existing file are kept.
    assert main(["export", checkpoint, str(path), "--version", "2.0"]) == 2
    err = capsys.readouterr().err
    assert f"{path} exists" in err
    assert "--overwrite" in err
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        export_onnx(checkpoint, path, version="2.0")
    assert sha256sum(path) == before
    assert load_model(path, device="cpu").spec.version == "1.0"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.onnx"]  # no temporaries left
    # Checked before the checkpoint is read: a missing checkpoint does not hide it.
    with pytest.raises(OutputExistsError):
        export_onnx(tmp_path / "missing.pt", path)
    assert main(["export", checkpoint, str(path), "--version", "2.0", "--overwrite"]) == 0
    assert load_model(path, device="cpu").spec.version == "2.0"


# --------------------------------------------------------------------------- training data checked up front


def _train(tmp_path, *extra, preset="denoise-m2", data=(str(MDI_SMALL),)):
    args = ["train", preset, "--data", *data, "--out", str(tmp_path / "run"), "--epochs", "1"]
    return main([*args, "--patch-size", "32", "--patches-per-image", "4", "--batch-size", "4", *TINY, *extra])


@pytest.fixture
def bad_files(tmp_path):
    """A text file named .fits, a real AIA image (not in G) and 16x16 px of a real magnetogram."""
    import shutil

    import numpy as np
    from astropy.io import fits

    (tmp_path / "notes.fits").write_text("not a FITS file")
    shutil.copy(DATA / "aia_171_level1.fits", tmp_path / "aia.fits")
    np.save(tmp_path / "small.npy", fits.getdata(MDI_SMALL)[:16, :16])
    return tmp_path


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("notes.fits", "cannot be read as a sunpy map"),
        ("aia.fits", "needs magnetograms in G"),
        ("small.npy", r"\(16, 16\)\) is smaller than patch_size=32"),
    ],
)
def test_train_checks_the_validation_data_before_the_first_epoch(bad_files, capsys, monkeypatch, name, match):
    from sunpy_dlmag.training.trainer import Trainer

    epochs = []
    monkeypatch.setattr(Trainer, "_train_epoch", lambda self, progress: epochs.append(1) or {})
    assert _train(bad_files, "--val", str(bad_files / name)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sunpy-dlmag: error: Validation magnetogram {bad_files / name} cannot be used: ")
    assert re.search(match, err), err
    assert epochs == []
    assert not (bad_files / "run" / "checkpoint.pt").exists()


def test_trainer_checks_both_data_sets_before_training(tmp_path):
    from sunpy_dlmag.exceptions import TrainingDataError
    from sunpy_dlmag.training.trainer import Trainer

    good = torch.utils.data.TensorDataset(torch.zeros(4, 1, 32, 32), torch.zeros(4, 1, 32, 32))
    cases = {
        "is empty": torch.utils.data.TensorDataset(torch.zeros(0, 1, 32, 32), torch.zeros(0, 1, 32, 32)),
        r"takes 1 input channel\(s\) and 1 target channel; the first item has input \(3, 32, 32\)": (
            torch.utils.data.TensorDataset(torch.zeros(4, 3, 32, 32), torch.zeros(4, 1, 32, 32))
        ),
        "multiples of the network's stride 16": torch.utils.data.TensorDataset(
            torch.zeros(4, 1, 40, 40), torch.zeros(4, 1, 40, 40)
        ),
    }
    for match, val in cases.items():
        trainer = Trainer("denoise-m2", good, val, out_dir=tmp_path, device="cpu", generator_kwargs={"base_filters": 4})
        with pytest.raises(TrainingDataError, match=f"The validation data .*{match}"):
            trainer.fit(1, progress=False)
        assert trainer.step == 0
        assert not trainer.checkpoint_path.exists()


def test_train_refuses_unusable_manifests_and_val_for_paired_presets(tmp_path, capsys):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("time,target,input0\n")
    assert _train(tmp_path, preset="aisfm-v2", data=(str(manifest),)) == 2
    assert f"Manifest {manifest} lists no pairs" in capsys.readouterr().err
    # Every pair in a held-out month: nothing to train on.
    manifest.write_text("time,target,input0\n2011-09-01T00:00:00,hmi/a.fits,aia/a.fits\n")
    assert _train(tmp_path, preset="aisfm-v2", data=(str(manifest),)) == 2
    assert "fall in the held-out months (9, 10); none are left to train on" in capsys.readouterr().err
    # --val is for noise-trained presets; paired ones hold out months and would ignore it.
    assert _train(tmp_path, "--val", str(MDI_SMALL), preset="aisfm-v2", data=(str(manifest),)) == 2
    assert "aisfm-v2 trains on pairs and holds out whole months" in capsys.readouterr().err
