"""Fixtures shared by the inference tests: the tiny trained checkpoint, its Detector, one prepared sample video, and
P(fake) of a clip computed by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.data import to_tensor_clip
from dfdetect.inference import Detector, PreparedVideo


@pytest.fixture(scope="session")
def weights(tiny_checkpoint: Path) -> Path:
    """best.pt of the tiny training run on the sample crops (tests/fixtures.py; 64 px, T = 4, 2 val clips)."""
    return tiny_checkpoint / "best.pt"


@pytest.fixture(scope="module")
def det(weights: Path) -> Detector:
    return Detector.load(weights, device="cpu")


@pytest.fixture(scope="module")
def prepared(det: Detector, face_video: Path) -> PreparedVideo:
    """single_face.mp4 (72 frames, a face in every one) prepared by the detector."""
    return det.prepare(face_video)


@pytest.fixture(scope="module")
def p_fake(det: Detector) -> Callable[..., float]:
    """P(fake) of one clip computed by hand: the documented transform, the model, the checkpoint's calibration
    (``model.logit_scale``/``logit_bias`` in its config), a sigmoid."""

    def compute(crops: list[np.ndarray], flip: bool = False) -> float:
        x = to_tensor_clip(np.stack(crops), det.mean, det.std)  # (T, C, H, W)
        if flip:
            x = torch.flip(x, dims=[-1])  # mirror W
        with torch.no_grad():
            logit = float(det.model(x[None]))  # (1, T, C, H, W) -> scalar
        return float(1 / (1 + np.exp(-(det.cfg.model.logit_scale * logit + det.cfg.model.logit_bias))))

    return compute
