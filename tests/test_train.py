"""Training: CLI and config, a tiny real run, checkpoints (weights_only, strict), exact resume, augmentation grids."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dfdetect.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dfdetect.core.config import load_config
from dfdetect.core.io import InputError, load_image, read_csv, write_csv
from dfdetect.data.dataset import ClipDataset, read_crops_manifest, val_plan
from dfdetect.data.grid import CELL_INCHES, DPI, TITLE_INCHES
from dfdetect.data.grid import main as grid_main
from dfdetect.training.loop import METRICS_COLUMNS, main, selection_key, train, validate
from models import build_model
from models.build import load_model

TINY = ["--backbone", "efficientnet-lite0", "--frames", "4", "--size", "64", "--batch-size", "2"]


def _grid_shape(rows: int, cols: int) -> tuple[int, int]:
    """Pixel (height, width) of a grid PNG: the figure size is fixed by rows and columns."""
    return round(rows * (CELL_INCHES + TITLE_INCHES) * DPI), round(cols * CELL_INCHES * DPI)


def _tiny_cfg(**overrides: object):
    base = {"model.backbone": "efficientnet-lite0", "data.frames": 4, "data.size": 64, "train.batch_size": 2}
    return load_config(None, {**base, **overrides})



pytestmark = pytest.mark.usefixtures("one_torch_thread")

# --- CLI and config -----------------------------------------------------------------------------------------------
def test_unknown_yaml_key_exits_2(tmp_path: Path, sample_crops: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochz: 3\n")
    assert main(["--data", str(sample_crops), "--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "unknown config key 'train.epochz'" in caplog.text
    assert not (tmp_path / "run").exists()


def test_cli_overrides_yaml_and_show_augmentations(tmp_path: Path, sample_crops: Path) -> None:
    """--epochs 0 --show-augmentations N: writes the resolved config and the picture, trains nothing."""
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("train:\n  lr: 0.003\n  epochs: 7\ndata:\n  frames: 6\n  size: 48\n")
    run = tmp_path / "run"
    argv = ["--data", str(sample_crops), "--config", str(cfg_file), "--out", str(run), "--epochs", "0", "--frames",
            "3", "--backbone", "efficientnet-lite0", "--show-augmentations", "2"]
    assert main(argv) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["lr"] == 0.003 and saved["data"]["size"] == 48  # from the YAML
    assert saved["train"]["epochs"] == 0 and saved["data"]["frames"] == 3  # CLI wins over the YAML
    assert saved["model"]["backbone"] == "efficientnet-lite0"
    assert load_image(run / "augmentations.png").shape[:2] == _grid_shape(2, 3)  # 2 clips x 3 timesteps
    assert not (run / "last.pt").exists()


def test_bad_values_exit_2(tmp_path: Path, sample_crops: Path) -> None:
    base = ["--data", str(sample_crops), "--out", str(tmp_path / "r"), *TINY, "--epochs", "0"]
    assert main([*base, "--synth-fakes", "1.5"]) == 2
    assert main([*base, "--val", str(sample_crops)]) == 2  # the same videos in train and val
    assert main(["--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")]) == 2
    assert main(["--data", str(sample_crops), "--resume"]) == 2  # --resume needs --out


def test_unlabelled_data_exits_1(tmp_path: Path, sample_crops: Path) -> None:
    rows = read_csv(sample_crops)
    for r in rows:
        r["label"] = ""
        r["path"] = str(sample_crops.parent / r["path"])  # absolute: the copy lives elsewhere
    unlabelled = tmp_path / "crops.csv"
    write_csv(unlabelled, rows, list(rows[0]))
    assert main(["--data", str(unlabelled), "--out", str(tmp_path / "r"), *TINY, "--epochs", "1"]) == 1


# --- learning -----------------------------------------------------------------------------------------------------
def test_a_few_steps_on_real_crops_lower_the_loss(sample_crops: Path) -> None:
    """Overfit a fixed batch of real clips: the eval-mode loss after 6 Adam steps is below the one before."""
    torch.manual_seed(0)
    cfg = _tiny_cfg()
    videos = list(read_crops_manifest(sample_crops).values())
    model = build_model(cfg.model)
    ds = ClipDataset(videos, val_plan(videos, 4, 1), 64, model.mean, model.std)
    x = torch.stack([ds[i]["clip"] for i in range(len(ds))])  # (B, T, C, H, W)
    y = torch.tensor([float(i % 2) for i in range(len(ds))])  # both classes whatever the manifest's labels
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def eval_loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(loss_fn(model(x), y))

    before = eval_loss()
    for _ in range(6):
        model.train()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    after = eval_loss()
    assert after < before - 0.05, (before, after)


# --- the tiny run and its checkpoints ------------------------------------------------------------------------------
def test_tiny_run_writes_the_run_folder(tiny_checkpoint: Path) -> None:
    run = tiny_checkpoint
    for name in ("config.yaml", "metrics.csv", "run.json", "last.pt", "best.pt", "val_predictions.csv"):
        assert (run / name).is_file(), name
    rows = read_csv(run / "metrics.csv")
    assert len(rows) == 1 and tuple(rows[0]) == METRICS_COLUMNS
    assert math.isfinite(float(rows[0]["train_loss"])) and float(rows[0]["seconds"]) > 0
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "done" and info["best_epoch"] == 1
    assert info["val_videos"] and not set(info["train_videos"]) & set(info["val_videos"])  # split by video
    counts = info["per_epoch_counts"][0]  # recorded in run.json and metrics.csv alike
    assert 2 <= counts["n_train_real"] + counts["n_train_fake"] <= len(info["train_videos"])
    assert counts["n_train_synth"] <= counts["n_train_fake"]
    assert [int(rows[0][k]) for k in ("n_train_real", "n_train_fake", "n_train_synth")] == [
        counts["n_train_real"], counts["n_train_fake"], counts["n_train_synth"]]


def test_checkpoint_loads_weights_only_and_strict(tiny_checkpoint: Path) -> None:
    """load_model rebuilds the trained network from the checkpoint alone: its validation scores are the run's."""
    ckpt = torch.load(tiny_checkpoint / "last.pt", map_location="cpu", weights_only=True)
    assert {"model", "config", "epoch", "optimizer", "torch_rng"} <= set(ckpt) and ckpt["epoch"] == 1
    assert not any(k.startswith(("module.", "_orig_mod.")) for k in ckpt["model"])
    model, cfg = load_model(tiny_checkpoint / "best.pt")
    assert not model.training and cfg.data.frames == 4 and cfg.data.size == 64
    preds = read_csv(tiny_checkpoint / "val_predictions.csv")
    videos = read_crops_manifest(json.loads((tiny_checkpoint / "run.json").read_text())["data"])
    val = [videos[r["video_name"]] for r in preds]
    _, scores = validate(model, val, cfg, torch.device("cpu"))
    assert scores == pytest.approx([float(r["score"]) for r in preds], abs=1e-5)


def test_load_model_rejects_mismatched_weights(tiny_checkpoint: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint / "best.pt")
    key = next(iter(ckpt["model"]))
    renamed = dict(ckpt, model={("module." + k if k == key else k): v for k, v in ckpt["model"].items()})
    torch.save(renamed, tmp_path / "renamed.pt")
    with pytest.raises(CheckpointError, match=r"1 missing key\(s\).*1 unexpected key\(s\)") as exc:
        load_model(tmp_path / "renamed.pt")
    assert key in str(exc.value) and "\n" not in str(exc.value)
    other = dict(ckpt, config={**ckpt["config"], "model": {**ckpt["config"]["model"], "hidden": 32}})
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="shape"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_save_checkpoint_refuses_non_plain_values(tmp_path: Path) -> None:
    cfg = _tiny_cfg()
    model = torch.nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"ckpt\['auc'\]"):
        save_checkpoint(tmp_path / "x.pt", model, cfg, auc=np.float64(0.5))
    assert not (tmp_path / "x.pt").exists()
    save_checkpoint(tmp_path / "x.pt", torch.nn.DataParallel(model), cfg, auc=0.5, rng=torch.get_rng_state())
    ckpt = torch.load(tmp_path / "x.pt", weights_only=True)
    assert set(ckpt["model"]) == {"weight", "bias"} and ckpt["auc"] == 0.5  # unwrapped: no "module." prefix


def test_existing_run_needs_resume_and_the_same_config(tiny_checkpoint: Path, tmp_path: Path) -> None:
    before = (tiny_checkpoint / "last.pt").read_bytes()
    data = json.loads((tiny_checkpoint / "run.json").read_text())["data"]
    assert main(["--data", data, "--out", str(tiny_checkpoint), *TINY, "--epochs", "1"]) == 2
    assert main(["--data", data, "--out", str(tiny_checkpoint), *TINY, "--epochs", "2", "--lr", "0.01", "--resume",
                 "--val-clips", "2"]) == 2
    assert (tiny_checkpoint / "last.pt").read_bytes() == before  # the run is left alone


def test_resume_gives_the_same_run(sample_crops: Path, tmp_path: Path) -> None:
    """2 epochs in one go == 1 epoch, a stop, then --resume: same weights bitwise, same metrics, same best epoch."""
    cfg = _tiny_cfg(**{"train.epochs": 2, "train.synth_fakes": 0.0})
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(cfg, sample_crops, whole)
    first = train(cfg, sample_crops, parts, stop_after=1)
    assert first["status"] == "stopped" and len(read_csv(parts / "metrics.csv")) == 1
    train(cfg, sample_crops, parts, resume=True)
    a = load_checkpoint(whole / "last.pt")
    b = load_checkpoint(parts / "last.pt")
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert torch.equal(a["torch_rng"], b["torch_rng"]) and a["best_epoch"] == b["best_epoch"]
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in read_csv(whole / "metrics.csv")]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in read_csv(parts / "metrics.csv")]
    assert float(strip[0]["train_loss"]) != float(strip[1]["train_loss"])  # the epochs really differ


# --- grids --------------------------------------------------------------------------------------------------------
def test_grid_cli_writes_one_row_per_clip_one_column_per_step(tmp_path: Path, sample_crops: Path) -> None:
    out3, out2 = tmp_path / "g3.png", tmp_path / "g2.png"
    assert grid_main(["--data", str(sample_crops), "--out", str(out3), "--clips", "3", "--frames", "5"]) == 0
    synth = ["--synth-fakes", "1"] if importlib.util.find_spec("dfdetect.synth.sbi") else []
    assert grid_main(["--data", str(sample_crops), "--out", str(out2), "--clips", "2", "--frames", "4", *synth]) == 0
    assert load_image(out3).shape[:2] == _grid_shape(3, 5)
    assert load_image(out2).shape[:2] == _grid_shape(2, 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g2.png", "g3.png"]  # atomic: no temp file left
    assert grid_main(["--data", str(tmp_path / "none.csv"), "--out", str(out2)]) == 2
    assert grid_main(["--data", str(sample_crops), "--out", str(out2), "--clips", "0"]) == 2


def test_selection_key_ranks_auc_then_log_loss_nan_last() -> None:
    nan = float("nan")
    ranked = sorted(
        [{"auc": nan, "log_loss": 0.1}, {"auc": 0.8, "log_loss": 0.7}, {"auc": 0.8, "log_loss": 0.5},
         {"auc": 0.9, "log_loss": 2.0}, {"auc": nan, "log_loss": nan}],
        key=selection_key, reverse=True,
    )
    assert [(m["auc"], m["log_loss"]) for m in ranked[:3]] == [(0.9, 2.0), (0.8, 0.5), (0.8, 0.7)]
    assert ranked[3]["log_loss"] == 0.1 and math.isnan(ranked[4]["log_loss"])


def test_freeze_encoder_trains_only_the_head(sample_crops: Path, tmp_path: Path) -> None:
    cfg = _tiny_cfg(**{"train.epochs": 1, "train.freeze_encoder": True, "train.lr": 1e-2})
    train(cfg, sample_crops, tmp_path / "run")
    trained = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    torch.manual_seed(cfg.train.seed)
    initial = build_model(cfg.model).state_dict()  # the same initialisation as the run's
    enc = [k for k in initial if k.startswith("encoder.")]
    rest = [k for k in initial if not k.startswith("encoder.") and initial[k].is_floating_point()]
    assert enc and all(torch.equal(trained[k], initial[k]) for k in enc)  # weights and BN statistics untouched
    assert any(not torch.equal(trained[k], initial[k]) for k in rest)


def test_training_takes_preprocessing_settings_from_the_crops(tmp_path: Path, sample_crops: Path) -> None:
    from dfdetect.training.loop import adopt_preprocessing

    # The real chain: face_crop wrote settings.json (with frame_extraction's) beside crops.csv.
    settings = json.loads((sample_crops.parent / "settings.json").read_text())
    cfg = adopt_preprocessing(load_config(None), sample_crops)
    assert cfg.data.margin == settings["margin"] and cfg.data.min_faces == settings["min_faces"]
    assert (cfg.data.sample_frames, cfg.data.stride) == (settings["frames"]["n"], settings["frames"]["stride"])
    # Crops made with another margin: the checkpoint's config must say so, whatever the YAML said.
    (tmp_path / "settings.json").write_text(json.dumps(
        {"margin": 0.45, "min_faces": 4, "size": 64, "frames": {"n": 20, "stride": 3, "mode": "random"}}))
    before = load_config(None, {"data.margin": 0.3})
    cfg = adopt_preprocessing(before, tmp_path / "crops.csv")
    assert (cfg.data.margin, cfg.data.min_faces, cfg.data.sample_frames, cfg.data.stride) == (0.45, 4, 20, 3)
    (tmp_path / "settings.json").write_text("{}")
    with pytest.raises(InputError, match="settings"):
        adopt_preprocessing(before, tmp_path / "crops.csv")
