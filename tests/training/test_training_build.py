"""dfdetect.training.build: what a fresh run builds, freezing, and what --resume accepts."""

from __future__ import annotations

import torch

from dfdetect.core.config import load_config
from dfdetect.training.build import RESUME_FREE_KEYS, _config_diff, build_training, training_extras

CPU = torch.device("cpu")
SMALL = {"model.backbone": "efficientnet-lite0", "model.pretrained": False, "model.reduce_channels": 8,
         "model.hidden": 8, "model.fc_hidden": 8}


def test_build_training_is_seeded_and_freezes_what_the_config_says() -> None:
    cfg = load_config(None, {**SMALL, "train.freeze_blocks": 2, "train.lr": 0.01, "train.scheduler": "none"})
    a, b = build_training(cfg, CPU), build_training(cfg, CPU)
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    trainable = {id(p) for p in a.model.parameters() if p.requires_grad}
    frozen = [p for p in a.model.encoder.parameters() if id(p) not in trainable]
    assert frozen and trainable  # part of the encoder frozen, the rest trains
    assert {id(p) for g in a.optimizer.param_groups for p in g["params"]} == trainable  # Adam sees trainable only
    assert a.optimizer.param_groups[0]["lr"] == 0.01 and a.scheduler is None and a.amp_dtype is None
    assert not a.scaler.is_enabled() and (a.start_epoch, a.best_key, a.history) == (0, None, [])
    extras = training_extras(a, CPU)
    assert extras["scaler"] is None and extras["cuda_rng"] is None and extras["scheduler"] is None


def test_config_diff_ignores_only_where_and_how_long() -> None:
    run = {"train": {"device": "cpu", "epochs": 2, "lr": 0.1}, "data": {"workers": 0, "frames": 4}}
    now = {"train": {"device": "cuda", "epochs": 5, "lr": 0.1}, "data": {"workers": 3, "frames": 4}}
    assert _config_diff(run, now) == []  # device, workers, epochs: RESUME_FREE_KEYS
    assert {("train", "device"), ("data", "workers"), ("train", "epochs")} == set(RESUME_FREE_KEYS)
    now["data"]["frames"] = 6
    assert _config_diff(run, now) == ["data.frames: 4 in the run vs 6 now"]
