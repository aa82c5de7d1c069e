"""The training augmentation (albumentations), applied to a whole clip with ONE draw of random parameters.

A temporal model must not see per-frame jitter real videos do not have: a flipped clip is flipped in every frame and
has the same colour shift, JPEG quality and blur. Each clip is seeded on its own (:func:`augment_clip`), with the seed
its :class:`~dfdetect.data.dataset.ClipSpec` carries, so loader workers never change the result.

Example:
    >>> aug = build_clip_augmentation(32)
    >>> clip = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    >>> out = augment_clip(aug, np.stack([clip[0], clip[0], clip[1]]), seed=5)
    >>> out.shape, bool((out[0] == out[1]).all())
    ((3, 32, 32, 3), True)
"""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np

from dfdetect.core.config import DataConfig


def build_clip_augmentation(size: int = DataConfig().size) -> Callable[..., dict]:
    """The training augmentation pipeline for crops of ``size`` pixels.

    Called as ``aug(images=clip)`` with ``clip`` (T, H, W, 3) uint8: albumentations 2 applies every transform with
    the same parameters to all images of the ``images`` target. Geometry first, then colour, then blur and
    compression last, the order a camera and an encoder apply them. Seed it per clip with :func:`augment_clip`.

    Args:
        size: crop side in pixels (scales the blur kernel: 7 px at 224, 3 px at 64).

    Returns:
        An ``albumentations.Compose``.
    """
    # albumentations takes ~1.5 s to import and only training needs it; inference imports this package too.
    import albumentations as A

    blur = max(3, (size // 32) | 1)  # 7 px at 224, 3 px at 64: scale the kernel with the crop
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                translate_percent=(-0.05, 0.05),
                scale=(0.92, 1.08),
                keep_ratio=True,  # one scale for both axes: faces are not stretched
                rotate=(-8, 8),
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                p=0.5,
            ),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.03, p=0.5),
            A.ToGray(p=0.2),
            A.GaussianBlur(blur_limit=(3, blur), sigma_limit=(0.2, 1.5), p=0.1),
            A.ImageCompression(quality_range=(60, 100), p=0.5),
        ]
    )


def seed_augmentation(aug: Callable[..., dict], seed: int) -> None:
    """Seed an albumentations pipeline so that its transforms draw from ONE generator.

    Not ``aug.set_random_seed(seed)``: albumentations 2.0 then gives every transform its own generator seeded with the
    same seed, so all their "apply with probability p" draws come out equal (every transform or none).

    Args:
        aug: a pipeline from :func:`build_clip_augmentation`.
        seed: the clip's seed.
    """
    aug.set_random_state(np.random.default_rng(int(seed)), random.Random(int(seed)))


def augment_clip(aug: Callable[..., dict], clip: np.ndarray, seed: int,
                 masks: np.ndarray | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Apply a clip augmentation seeded with ``seed``: the same parameters for every frame.

    Args:
        aug: a pipeline from :func:`build_clip_augmentation`.
        clip: uint8 ``(T, H, W, 3)``.
        seed: the clip's seed (same seed, same output).
        masks: optional float32 ``(T, H, W)`` per-frame masks: moved by the same geometric transforms as the pixels
            (albumentations' mask targets; colour, blur and compression leave them alone).

    Returns:
        uint8 ``(T, H, W, 3)``, contiguous; with ``masks``, ``(clip, masks)``.

    Example:
        >>> aug = build_clip_augmentation(64)
        >>> clip = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
        >>> bool((augment_clip(aug, clip, seed=1) == augment_clip(aug, clip, seed=1)).all())
        True
    """
    seed_augmentation(aug, seed)
    if masks is None:
        out = aug(images=np.ascontiguousarray(clip))["images"]  # (T, H, W, 3)
        return np.ascontiguousarray(np.asarray(out, dtype=np.uint8))
    res = aug(images=np.ascontiguousarray(clip), masks=np.ascontiguousarray(masks, np.float32))
    return (np.ascontiguousarray(np.asarray(res["images"], dtype=np.uint8)),
            np.ascontiguousarray(np.asarray(res["masks"], dtype=np.float32)))  # (T, H, W, 3), (T, H, W)
