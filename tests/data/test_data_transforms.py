"""dfdetect.data.transforms: THE eval-time transform and its inverse, and stored crops resized to the model size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.io import load_image
from dfdetect.data import from_tensor_clip, load_crop, read_crops_manifest, to_tensor_clip
from models import backbone_normalization

MEAN, STD = backbone_normalization("efficientnet-lite0")


def test_to_tensor_clip_is_the_normalisation_and_inverts(sample_crops: Path) -> None:
    v = next(v for v in read_crops_manifest(sample_crops).values() if len(v) >= 4)
    clip = np.stack([load_image(p) for p in v.paths[:4]])  # (T, H, W, 3) uint8 real face crops
    x = to_tensor_clip(clip, MEAN, STD)
    assert x.shape == (clip.shape[0], 3, *clip.shape[1:3]) and x.dtype == torch.float32 and x.is_contiguous()
    c = 1  # channel 1 at pixel (5, 7) of frame 2, by hand
    assert x[2, c, 5, 7].item() == pytest.approx((clip[2, 5, 7, c] / 255.0 - MEAN[c]) / STD[c], abs=1e-6)
    assert np.array_equal(from_tensor_clip(x, MEAN, STD), clip)
    with pytest.raises(ValueError, match="uint8"):
        to_tensor_clip(clip.astype(np.float32), MEAN, STD)


def test_load_crop_resizes_to_the_model_size(sample_crops: Path) -> None:
    path = next(iter(read_crops_manifest(sample_crops).values())).paths[0]
    stored = load_image(path)
    assert load_crop(path, stored.shape[0]).tobytes() == stored.tobytes()
    assert load_crop(path, 48).shape == (48, 48, 3)
