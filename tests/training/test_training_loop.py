"""dfdetect.training.loop: a tiny real run, its checkpoints (weights_only, strict), exact resume, freezing, model
selection, and the preprocessing settings training takes from the crops.

No test here asserts a learnt figure. The exact equalities compare two runs in ONE process on one machine (same
kernels, one torch thread: deterministic on any CPU), or weights that no arithmetic touched (a frozen encoder); none
compares with a number measured on another machine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dfdetect.core.config import load_config
from dfdetect.core.io import InputError, read_csv
from dfdetect.core.schemas import SETTINGS_FILE, TRAIN_METRICS_COLUMNS
from dfdetect.data import read_crops_manifest
from dfdetect.training.loop import adopt_preprocessing, selection_key, train, validate
from models import build_model
from models.build import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny_cfg(**overrides: object):
    base = {"model.backbone": "efficientnet-lite0", "data.frames": 4, "data.size": 64, "train.batch_size": 2}
    return load_config(None, {**base, **overrides})


# --- the tiny run and its checkpoints ------------------------------------------------------------------------------
def test_tiny_run_writes_the_run_folder(tiny_checkpoint: Path) -> None:
    run = tiny_checkpoint
    for name in ("config.yaml", "metrics.csv", "run.json", "last.pt", "best.pt", "val_predictions.csv"):
        assert (run / name).is_file(), name
    rows = read_csv(run / "metrics.csv")
    assert len(rows) == 1 and tuple(rows[0]) == TRAIN_METRICS_COLUMNS
    assert math.isfinite(float(rows[0]["train_loss"])) and float(rows[0]["lr"]) == load_config(None).train.lr
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
    model_cfg = ckpt["config"]["model"]
    other = dict(ckpt, config={**ckpt["config"], "model": {**model_cfg, "fc_hidden": model_cfg["fc_hidden"] + 1}})
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
    # The real chain: face_crop wrote settings.json (with frame_extraction's) beside crops.csv.
    settings = json.loads((sample_crops.parent / SETTINGS_FILE).read_text())
    cfg = adopt_preprocessing(load_config(None), sample_crops)
    assert cfg.data.margin == settings["margin"] and cfg.data.min_faces == settings["min_faces"]
    assert (cfg.data.sample_frames, cfg.data.stride) == (settings["frames"]["n"], settings["frames"]["stride"])
    # Crops made with another margin: the checkpoint's config must say so, whatever the YAML said.
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(
        {"margin": 0.45, "min_faces": 4, "size": 64, "frames": {"n": 20, "stride": 3, "mode": "random"}}))
    before = load_config(None, {"data.margin": 0.3})
    cfg = adopt_preprocessing(before, tmp_path / "crops.csv")
    assert (cfg.data.margin, cfg.data.min_faces, cfg.data.sample_frames, cfg.data.stride) == (0.45, 4, 20, 3)
    assert before.data.margin == 0.3  # the caller's config is left as it was
    (tmp_path / SETTINGS_FILE).write_text("{}")
    with pytest.raises(InputError, match="settings"):
        adopt_preprocessing(before, tmp_path / "crops.csv")
