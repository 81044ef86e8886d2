"""The train command as a user meets it: a small network, settings checked first, resume and interrupt messages."""

import json
import shlex

import pytest

torch = pytest.importorskip("torch")

from conftest import DATA  # noqa: E402

from sunpy_dlmag.cli import main  # noqa: E402
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM  # noqa: E402
from sunpy_dlmag.exceptions import InvalidArgumentError  # noqa: E402
from sunpy_dlmag.models import load_model  # noqa: E402
from sunpy_dlmag.training.export import export_onnx  # noqa: E402
from sunpy_dlmag.training.presets import get_preset, list_presets  # noqa: E402
from sunpy_dlmag.training.trainer import Trainer, format_record  # noqa: E402

MDI_SMALL = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"


def _parameters(network):
    return sum(p.numel() for p in network.parameters())


@pytest.mark.parametrize("name", list_presets())
def test_the_small_size_is_small_for_every_preset(name):
    preset = get_preset(name)
    small = preset.build_generator(**preset.generator_settings("small"))
    assert _parameters(small) <= 5_000_000
    # The published networks are not (the denoise-m2-hmi network is the shipped small one).
    if name != "denoise-m2-hmi":
        assert _parameters(preset.build_generator()) > 5_000_000


def test_base_filters_alone_leave_aisfm_v1_large_and_max_filters_caps_it():
    preset = get_preset("aisfm-v1")
    assert _parameters(preset.build_generator(**preset.generator_settings(base_filters=8))) > 40e6
    assert _parameters(preset.build_generator(**preset.generator_settings(base_filters=8, max_filters=64))) < 2e6


def test_small_aisfm_v1_exports_under_50_mb_and_its_card_says_so(tmp_path, mdi_map):
    # Export of a checkpoint of the small network (no epoch needed: the size is the network's).
    preset = get_preset("aisfm-v1")
    data = torch.utils.data.TensorDataset(torch.zeros(1, 1, 1024, 1024), torch.zeros(1, 1, 1024, 1024))
    trainer = Trainer(preset, data, out_dir=tmp_path, device="cpu", size="small")
    trainer.save_checkpoint(tmp_path / "checkpoint.pt")
    result = export_onnx(tmp_path / "checkpoint.pt", tmp_path / "v1-small.onnx")
    assert result.path.stat().st_size <= 50e6
    n = _parameters(trainer.generator)
    architecture = load_model(result.path, device="cpu").spec.architecture
    assert "from preset aisfm-v1, small size" in architecture
    assert f"{n / 1e6:.2f} M parameters ({4 * n / 1e6:.3g} MB of float32 weights)" in architecture


def test_settings_the_generator_does_not_take_fail_before_the_data(tmp_path, capsys):
    missing = tmp_path / "no-such-pairs"  # never read: the settings are checked first
    args = ["train", "aisfm-v1", "--data", str(missing), "--out", str(tmp_path / "run")]
    assert main([*args, "--n-res", "1"]) == 2
    err = capsys.readouterr().err
    assert "The UNetGenerator of preset 'aisfm-v1' has no setting n_res (--n-res)" in err
    assert "(flags --base-filters, --max-filters)" in err
    assert "Traceback" not in err
    assert "TypeError" not in err
    assert main(["train", "aisfm-v2", "--data", str(missing), "--out", str(tmp_path), "--max-filters", "64"]) == 2
    assert "GlobalGenerator of preset 'aisfm-v2' has no setting max_filters (--max-filters)" in capsys.readouterr().err
    with pytest.raises(InvalidArgumentError, match=r"size .--size. must be one of published, small; got 'tiny'"):
        get_preset("aisfm-v1").generator_settings("tiny")


def test_resume_without_a_checkpoint_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "denoise-m2", "--data", str(tmp_path / "none"), "--out", str(run), "--resume"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"No checkpoint to resume from: {run / 'checkpoint.pt'} does not exist" in err
    assert "without --resume" in err
    assert not run.exists()


def _denoise_run(run, *extra):
    args = ["train", "denoise-m2", "--data", str(MDI_SMALL), "--val", str(MDI_MAGNETOGRAM), "--out", str(run)]
    args += ["--patch-size", "32", "--patches-per-image", "2", "--batch-size", "2", "--device", "cpu", "--quiet"]
    return [*args, *extra]


def test_resume_says_which_flags_rebuild_the_network_and_an_interrupt_how_to_continue(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    network = ["--size", "small", "--base-filters", "4", "--n-res", "1"]
    # Ctrl-C in the second epoch: the first is kept, and the message is the command that continues.
    original = Trainer._train_epoch

    def interrupted(self, progress):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, progress)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)
    assert main(_denoise_run(run, "--epochs", "3", *network)) == 130
    err = capsys.readouterr().err
    assert f"Stopped in epoch 2; the checkpoint after epoch 1 is kept in {run / 'checkpoint.pt'}" in err
    command = shlex.split(err.split("Continue with:")[1].strip())
    assert command[:3] == ["sunpy-dlmag", "train", "denoise-m2"]
    assert "--resume" in command
    assert command[command.index("--base-filters") + 1] == "4"
    assert command[command.index("--size") + 1] == "small"
    monkeypatch.setattr(Trainer, "_train_epoch", original)

    # Without the width it was trained with, resuming names the flags to pass.
    assert main(_denoise_run(run, "--epochs", "2", "--resume")) == 2
    err = capsys.readouterr().err
    assert "resume with --size small --base-filters 4 --n-res 1 (" in err
    # The printed command continues the run.
    assert main(command[1:]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3]


def test_epoch_records_are_rounded_and_a_flux_cc_over_few_images_is_flagged():
    record = {"epoch": 3, "train_g": 0.123456789012, "val_images": 2, "val_unsigned_flux_cc": -1.0}
    text = format_record(record)
    assert "train_g=0.1235" in text
    assert "0.123456789" not in text
    assert "val_unsigned_flux_cc over 2 held-out image(s) is not a reliable score: it needs 10 or more" in text
    assert "not a reliable" not in format_record({**record, "val_images": 12})


def test_a_run_on_pairs_of_real_files_logs_each_header_message_once(tmp_path, capsys):
    import logging
    import re

    from sunpy import log

    # Three pairs of the same real files (MDI has no solar radius in its header): read six times.
    rows = [f"2011-{m:02d}-15T00:00:00,{MDI_SMALL},{DATA / 'aia_171_level1.fits'}" for m in (2, 3, 9)]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("time,target,input0\n" + "\n".join(rows) + "\n")
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    log.addHandler(handler)
    try:
        args = ["train", "aisfm-v2", "--channels", "171", "--data", str(manifest), "--out", str(tmp_path / "run")]
        assert (
            main(
                [
                    *args,
                    "--size",
                    "small",
                    "--n-res",
                    "1",
                    "--patch-size",
                    "64",
                    "--epochs",
                    "1",
                    "--device",
                    "cpu",
                    "--quiet",
                ]
            )
            == 0
        )
    finally:
        log.removeHandler(handler)
    assert sum("Missing metadata for solar radius" in m for m in messages) == 1
    epoch = next(m for m in messages if "aisfm-v2 epoch 1:" in m)
    assert "val_images=16" in epoch
    out = capsys.readouterr().out
    assert not re.search(r"\d\.\d{8,}", epoch + out), epoch + out
