"""THE eval-time transform, shared by validation, ``eval.py`` and the Detector: uint8 RGB face crops ``(T, H, W, 3)``
-> normalised float32 ``(T, C, H, W)``. Training adds augmentation (:mod:`dfdetect.data.augmentation`) before it,
never after. The test-time views of a crop (:func:`view_transform`: flip, and the image track baselines' rotation,
grayscale and centre crop) are made here too.

Example:
    >>> clip = np.full((2, 8, 8, 3), 255, np.uint8)
    >>> to_tensor_clip(clip, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))[0, :, 0, 0].tolist()
    [2.0, 2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

TTA_VIEWS = ("none", "hflip", "rotate+", "rotate-", "gray", "centre")
"""The test-time views of a face image, in the order ``--tta N`` takes them: as it is, mirrored, then the transforms
of the image track's published baselines (a ResNet18 with flips; an SE-ResNet50 with rotation, grayscale and a
centre crop): rotated by +/- :data:`TTA_ROTATION` degrees, grayscale, the central :data:`TTA_CENTRE` of the crop
enlarged back to its size."""
TTA_ROTATION = 10.0
"""Degrees of the ``rotate+``/``rotate-`` views (borders reflected)."""
TTA_CENTRE = 0.875
"""Side share kept by the ``centre`` view (224 of 256, ImageNet's evaluation crop)."""


def view_transform(crop: np.ndarray, view: str) -> np.ndarray:
    """One test-time view of a face crop (:data:`TTA_VIEWS`), same size and dtype.

    Args:
        crop: uint8 RGB (H, W, 3).
        view: a name of :data:`TTA_VIEWS`.

    Returns:
        uint8 (H, W, 3), contiguous.

    Raises:
        ValueError: an unknown view.

    Example:
        >>> crop = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
        >>> bool((view_transform(crop, "hflip") == crop[:, ::-1]).all()), view_transform(crop, "gray").shape
        (True, (2, 3, 3))
    """
    h, w = crop.shape[:2]
    if view == "none":
        return crop
    if view == "hflip":
        return np.ascontiguousarray(crop[:, ::-1])  # mirror W
    if view in ("rotate+", "rotate-"):
        angle = TTA_ROTATION if view == "rotate+" else -TTA_ROTATION
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)  # (2, 3) about the centre
        return cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if view == "gray":
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)  # (H, W)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if view == "centre":
        ch, cw = max(1, round(h * TTA_CENTRE)), max(1, round(w * TTA_CENTRE))
        y, x = (h - ch) // 2, (w - cw) // 2
        return cv2.resize(np.ascontiguousarray(crop[y : y + ch, x : x + cw]), (w, h), interpolation=cv2.INTER_CUBIC)
    raise ValueError(f"unknown test-time view {view!r} (known: {', '.join(TTA_VIEWS)})")


def to_tensor_clip(
    crops: Sequence[np.ndarray] | np.ndarray, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """THE eval-time transform: uint8 RGB crops ``(T, H, W, 3)`` -> normalised float32 ``(T, C, H, W)``.

    Args:
        crops: T crops of equal size, RGB uint8.
        mean: per-channel mean in [0, 1] (the backbone's).
        std: per-channel std in [0, 1].

    Returns:
        float32 ``(T, 3, H, W)``, contiguous: ``(crops / 255 - mean) / std``.

    Raises:
        ValueError: crops that are not uint8 ``(T, H, W, 3)``.

    Example:
        >>> x = to_tensor_clip(np.zeros((10, 224, 224, 3), np.uint8), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        >>> tuple(x.shape), x.dtype
        ((10, 3, 224, 224), torch.float32)
    """
    arr = np.asarray(crops) if not isinstance(crops, np.ndarray) else crops
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops (T, H, W, 3), got {arr.dtype} {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float().div_(255.0)  # (T, C, H, W)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)  # (1, C, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)  # (1, C, 1, 1)
    return ((x - m) / s).contiguous()  # (T, C, H, W)


def from_tensor_clip(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Inverse of :func:`to_tensor_clip` (pictures of what the model sees): ``(T, C, H, W)`` -> uint8 ``(T, H, W, 3)``.

    Args:
        x: a normalised clip, float ``(T, 3, H, W)`` on any device.
        mean: the normalisation mean it was made with.
        std: the normalisation std it was made with.

    Returns:
        uint8 ``(T, H, W, 3)`` RGB, values clamped to [0, 255].

    Example:
        >>> clip = np.full((2, 8, 8, 3), 77, np.uint8)
        >>> bool((from_tensor_clip(to_tensor_clip(clip, (0.5,) * 3, (0.5,) * 3), (0.5,) * 3, (0.5,) * 3) == clip).all())
        True
    """
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)  # (1, C, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)  # (1, C, 1, 1)
    img = (x.detach().float().cpu() * s + m).clamp_(0, 1).mul_(255).round_()  # (T, C, H, W) in [0, 255]
    return img.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # (T, H, W, C)
