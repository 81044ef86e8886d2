"""Farside networks on the channels the user chooses: train, export and run a model of any EUV passbands."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import DATA, map_with  # noqa: E402

import sunpy.map  # noqa: E402

from sunpy_dlmag.cli import main  # noqa: E402
from sunpy_dlmag.exceptions import InvalidArgumentError  # noqa: E402
from sunpy_dlmag.farside import farside_magnetogram  # noqa: E402
from sunpy_dlmag.models import get_model, load_model, registry  # noqa: E402
from sunpy_dlmag.training.export import export_onnx  # noqa: E402
from sunpy_dlmag.training.presets import get_preset  # noqa: E402
from sunpy_dlmag.training.trainer import Trainer  # noqa: E402

AIA_171 = DATA / "aia_171_level1.fits"
EUVI_A_171 = DATA / "secchi_l0_a.fits"
MDI_SMALL = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
TINY = ["--base-filters", "4", "--n-res", "1", "--device", "cpu", "--quiet", "--patch-size", "64"]


def test_a_preset_on_other_channels():
    v2 = get_model("aisfm-v2")
    preset = get_preset("aisfm-v1").with_channels([171])
    spec = preset.base_spec()
    assert [c.label for c in spec.inputs] == ["AIA 171 Angstrom"]
    # The normalisation of the registered AIA 171 channel, not of aisfm-v1's 304.
    assert spec.inputs[0].normalization == v2.inputs[2].normalization
    assert spec.output == get_model("aisfm-v1").output
    assert preset.build_generator(depth=3, base_filters=4).down[0][0].in_channels == 1
    # EUVI passbands name their AIA counterparts: the network is applied to EUVI.
    three = get_preset("aisfm-v2").with_channels(["304", "195", 171 * u.AA])
    assert [c.label for c in three.base_spec().inputs] == [c.label for c in v2.inputs]
    assert (
        get_preset("aisfm-v2").with_channels([193]).build_generator(base_filters=4, n_res=1).encoder[1].in_channels == 1
    )
    with pytest.raises(InvalidArgumentError, match=r"AIA passbands in Angstrom, 171, 193, 304; got 94"):
        get_preset("aisfm-v1").with_channels([94])
    with pytest.raises(InvalidArgumentError, match="each passband once"):
        get_preset("aisfm-v2").with_channels([171, 171])
    with pytest.raises(InvalidArgumentError, match="only for presets whose inputs are EUV images of one instrument"):
        get_preset("denoise-m2").with_channels([171])


def test_train_export_and_run_a_171_model_from_the_command_line(tmp_path, capsys):
    # Pairs from real files (AIA 171 in, a real magnetogram as target): the mechanics of the path.
    manifest = tmp_path / "pairs" / "manifest.csv"
    manifest.parent.mkdir()
    rows = [f"2011-0{m}-15T00:00:00,{MDI_SMALL},{AIA_171}" for m in (2, 3)]
    manifest.write_text("time,target,input0\n" + "\n".join(rows) + "\n")
    run = tmp_path / "run"
    args = ["train", "aisfm-v2", "--data", str(manifest), "--out", str(run), "--epochs", "1", *TINY]
    # A 171 image where the network takes 304 is refused before any work, naming the flag.
    assert main([*args, "--channels", "304", "--held-out-months", "3"]) == 2
    err = capsys.readouterr().err
    assert "(171 Angstrom) in" in err
    assert "stands where the network takes AIA 304 Angstrom" in err
    assert "--channels" in err
    assert not run.exists()
    assert main([*args, "--channels", "171", "--held-out-months", "3"]) == 0
    # Resuming with other channels is refused, naming the flag (here on pairs relabelled 304).
    aia_304 = tmp_path / "aia_304.fits"
    map_with(sunpy.map.Map(AIA_171), wavelnth=304, blank=None).save(aia_304)
    other = manifest.with_name("manifest304.csv")
    other.write_text(manifest.read_text().replace(str(AIA_171), str(aia_304)))
    args[args.index(str(manifest))] = str(other)
    assert main([*args, "--channels", "304", "--held-out-months", "3", "--resume", "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "takes AIA 171 Angstrom, this run's AIA 304 Angstrom" in err
    assert "--channels" in err

    path = tmp_path / "euv171.onnx"
    assert main(["export", str(run / "checkpoint.pt"), str(path)]) == 0
    spec = load_model(path, device="cpu").spec
    assert [c.label for c in spec.inputs] == ["AIA 171 Angstrom"]
    assert spec.task == "farside"
    assert "from preset aisfm-v2, published size, inputs AIA 171 Angstrom;" in spec.architecture
    assert spec.architecture.startswith("GlobalGenerator (")
    assert main(["models", "info", str(path)]) == 0
    assert "AIA 171" in capsys.readouterr().out

    # The model takes real EUVI-A 171 (the packaged 171 cross-calibration), in Python and on the command line.
    out = farside_magnetogram(sunpy.map.Map(EUVI_A_171), model=path, device="cpu")
    assert out.meta["dlmodel"] == "euv171"
    assert "cross-calibrated: STEREO_A EUVI 171" in out.meta["history"].replace("\n", "")
    assert (
        main(["farside", str(EUVI_A_171), "--model", str(path), "--out", str(tmp_path / "f"), "--device", "cpu"]) == 0
    )
    assert (tmp_path / "f" / "secchi_l0_a_farside.fits").is_file()


def test_a_hand_made_preset_exports_without_the_registry(tmp_path, registered, mdi_map):
    # The path: a spec with AIA 171 registered by hand and a preset of one's own.
    spec = registered(
        dataclasses.replace(get_model("aisfm-v2"), name="lab-171", inputs=(get_model("aisfm-v2").inputs[2],))
    )
    preset = dataclasses.replace(get_preset("aisfm-v2"), name="lab-171-preset", model="lab-171")
    field = np.clip(np.nan_to_num(mdi_map.data[400:528, 300:428]).astype(np.float32) / 300, -1, 1)
    tiles = torch.from_numpy(field.reshape(4, 32, 4, 32).transpose(0, 2, 1, 3).reshape(16, 1, 32, 32).copy())
    data = torch.utils.data.TensorDataset(tiles, tiles)
    small = {"generator_kwargs": {"base_filters": 4, "n_down": 2, "n_res": 1}}
    small["discriminator_kwargs"] = {"base_filters": 4, "n_layers": 2}
    Trainer(preset, data, data, out_dir=tmp_path, device="cpu", batch_size=8, **small).fit(1, progress=False)
    registry._REGISTRY.pop(spec.name)  # a later session, without the hand registration

    result = export_onnx(tmp_path / "checkpoint.pt", tmp_path / "lab.onnx")
    exported = load_model(result.path, device="cpu").spec
    assert [c.label for c in exported.inputs] == ["AIA 171 Angstrom"]
    assert "from preset lab-171-preset, published size, inputs AIA 171 Angstrom;" in exported.architecture
    assert exported.architecture.startswith("GlobalGenerator (base_filters=4, ")
