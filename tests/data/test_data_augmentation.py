"""dfdetect.data.augmentation: one draw of parameters per clip, independent transform decisions, seeded."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest

from dfdetect.core.io import load_image
from dfdetect.data import augment_clip, build_clip_augmentation, read_crops_manifest, seed_augmentation


@pytest.fixture(scope="module")
def frames(sample_crops: Path) -> np.ndarray:
    """(4, H, W, 3) uint8: consecutive real face crops of the first video with at least 4 crops."""
    v = next(v for v in read_crops_manifest(sample_crops).values() if len(v) >= 4)
    return np.stack([load_image(p) for p in v.paths[:4]])


def test_augmentation_uses_the_same_parameters_for_every_frame(frames: np.ndarray) -> None:
    """Frames that are equal before augmentation stay equal after it: one draw of parameters per clip (flip, affine,
    colour, grey, blur and JPEG quality alike). The per-frame control shows the check would catch jitter."""
    a, b = frames[:2]
    clip = np.stack([a, b, a, b])  # (4, H, W, 3)
    aug = build_clip_augmentation(clip.shape[1])
    changed = 0
    for seed in range(12):
        out = augment_clip(aug, clip, seed)
        assert out.shape == clip.shape and out.dtype == np.uint8
        assert np.array_equal(out[0], out[2]) and np.array_equal(out[1], out[3])
        changed += not np.array_equal(out, clip)
    assert changed >= 10  # the augmentation really does something
    per_frame = np.stack([augment_clip(aug, clip[i : i + 1], seed=i)[0] for i in range(4)])
    assert not np.array_equal(per_frame[0], per_frame[2])  # independent draws differ: the check above can fail
    assert np.array_equal(augment_clip(aug, clip, 3), augment_clip(aug, clip, 3))  # seeded


def test_augmentation_flip_applies_to_the_whole_clip(frames: np.ndarray) -> None:
    """Over seeds, a clip is either mirrored in every frame or in none (frame differences keep their orientation)."""
    clip = frames[:3]
    aug = build_clip_augmentation(clip.shape[1])
    flips = A.Compose(aug.transforms, save_applied_params=True)
    seen = set()
    for seed in range(8):
        seed_augmentation(flips, seed)
        res = flips(images=clip)
        flipped = any(name == "HorizontalFlip" for name, _ in res["applied_transforms"])
        seen.add(flipped)
        # Undo the flip on the input side: the clip's frame differences must point the same way in every frame.
        ref = clip[:, :, ::-1] if flipped else clip
        d_in = ref[1].astype(int) - ref[0].astype(int)
        d_out = res["images"][1].astype(int) - res["images"][0].astype(int)
        mirrored = d_in[:, ::-1]
        assert np.abs(d_out - d_in).mean() < np.abs(d_out - mirrored).mean()
    assert seen == {True, False}


def test_augmentation_decisions_are_independent(frames: np.ndarray) -> None:
    """Each transform decides on its own (albumentations' set_random_seed would make them all-or-nothing)."""
    clip = frames[:1]
    aug = A.Compose(build_clip_augmentation(clip.shape[1]).transforms, save_applied_params=True)
    combos, flips, grays = set(), 0, 0
    for seed in range(100):
        seed_augmentation(aug, seed)
        applied = tuple(name for name, _ in aug(images=clip)["applied_transforms"])
        combos.add(applied)
        flips += "HorizontalFlip" in applied
        grays += "ToGray" in applied
    assert len(combos) > 12 and 30 < flips < 70 and 8 < grays < 35  # p = 0.5 and 0.2
