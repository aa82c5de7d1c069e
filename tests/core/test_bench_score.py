"""bench/score.py's untrained checkpoint: the default model with its landmark stream marked fitted (the one-class
cue included), so that the benchmark times the face mesh as a trained default pays for it."""

from __future__ import annotations

import importlib

import numpy as np
import torch

from models.build import load_model

score = importlib.import_module("bench.score")


def test_untrained_checkpoint_loads_with_a_fitted_stream_and_its_one_class_cue(tmp_path) -> None:
    path = score.untrained_checkpoint(tmp_path, "efficientnet-lite0", "convlstm")
    model, cfg = load_model(path)
    head = model.landmark_head
    assert cfg.model.landmarks and cfg.model.landmark_unusual and head is not None and head.unusual
    assert bool(head.fitted) and torch.equal(head.precision, torch.eye(head.mean.numel()))
    features = torch.as_tensor(np.random.default_rng(0).normal(size=(3, head.mean.numel())), dtype=torch.float32)
    cues = head.cues(torch.zeros(3), features)  # (3, K): the network, the linear stream, the distance
    assert cues.shape[0] == 3 and torch.isfinite(cues).all()
