"""dfdetect.data.grid: pictures of the clips the model receives (one row per clip, one column per timestep)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.config import load_config
from dfdetect.core.io import load_image
from dfdetect.data import (
    CELL_INCHES,
    DPI,
    TITLE_INCHES,
    ClipDataset,
    build_clip_augmentation,
    epoch_plan,
    from_tensor_clip,
    read_crops_manifest,
    render_clips,
    save_clip_grid,
    training_clips,
)
from models import backbone_normalization

MEAN, STD = backbone_normalization("efficientnet-lite0")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _grid_shape(rows: int, cols: int) -> tuple[int, int]:
    """Pixel (height, width) of a grid PNG: the figure size is fixed by rows and columns."""
    return round(rows * (CELL_INCHES + TITLE_INCHES) * DPI), round(cols * CELL_INCHES * DPI)


def test_training_clips_are_the_training_plan_across_epochs(sample_crops: Path) -> None:
    videos = [v for v in read_crops_manifest(sample_crops).values() if v.label is not None]
    cfg = load_config(None, {"data.frames": 3, "train.seed": 5, "train.synth_fakes": 0.5})
    plans = [epoch_plan(videos, e, 5, 3, cfg.data.balance, 0.5)[0] for e in (2, 3, 4, 5)]
    n = len(plans[0]) + 1  # more than one epoch holds: the next epoch's plan continues
    assert training_clips(videos, cfg, n, first_epoch=2) == (plans[0] + plans[1])[:n]
    assert training_clips(videos, cfg, 1, first_epoch=2) == plans[0][:1]
    assert training_clips([], cfg, 3) == []


def test_render_clips_draws_what_the_model_receives(sample_crops: Path, tmp_path: Path) -> None:
    videos = [v for v in read_crops_manifest(sample_crops).values() if v.label is not None]
    cfg = load_config(None, {"data.frames": 5})
    specs = training_clips(videos, cfg, 3)
    ds = ClipDataset(videos, specs, 48, MEAN, STD, augment=build_clip_augmentation(48))
    assert render_clips(ds, range(3), tmp_path / "g.png") == 3
    assert load_image(tmp_path / "g.png").shape[:2] == _grid_shape(3, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png"]  # atomic: no temp file left
    # the picture de-normalises the dataset's own tensor: what the model receives, augmentation included
    assert np.array_equal(from_tensor_clip(ds[0]["clip"], MEAN, STD), ds.load_clip(0)[0])


def test_save_clip_grid_rejects_mismatched_input(tmp_path: Path) -> None:
    clip = np.zeros((4, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="no clips"):
        save_clip_grid([], [], tmp_path / "g.png")
    with pytest.raises(ValueError, match="titles"):
        save_clip_grid([clip], ["a", "b"], tmp_path / "g.png")
    with pytest.raises(ValueError, match="timesteps"):
        save_clip_grid([clip, clip[:3]], ["a", "b"], tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
