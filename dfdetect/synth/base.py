"""What every fake generator takes and returns: a clip of images with one face (or none) per image, donors, results.

A generator (:mod:`dfdetect.synth.registry`) works on a clip of full frames or of face crops alike: images RGB uint8
(H, W, 3) and, per image, the face box ``(4,)`` ``x1, y1, x2, y2`` and landmarks (MTCNN's five, or None) in that
image's pixels. Only the face region may change; the same generator state gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Face = tuple[np.ndarray, np.ndarray | None]
"""A face: box (4,) and landmarks (N, 2) or None, float64, in image pixels."""


@dataclass
class Donors:
    """Other moments of the same video, one per clip image (for :mod:`dfdetect.synth.selfswap`).

    Attributes:
        images: RGB uint8 (H, W, 3), one per clip image.
        faces: the face in each donor image (or None), in that image's pixels.
    """

    images: list[np.ndarray]
    faces: list[Face | None]


@dataclass
class Generated:
    """A generator's output.

    Attributes:
        frames: RGB uint8 (H, W, 3) per input image (an image left alone is the input array itself).
        records: per image, the plain (JSON-ready) parameters used, or None where it was left unchanged.
        method: the generator's name.
        extra: clip-level record (e.g. the blended span of a temporal fake).
    """

    frames: list[np.ndarray]
    records: list[dict[str, Any] | None]
    method: str
    extra: dict[str, Any] = field(default_factory=dict)


def clip_faces(boxes: np.ndarray, landmarks: np.ndarray | None) -> list[Face | None]:
    """Per-image faces from stacked arrays (what :func:`dfdetect.data.clip_geometry` gives); a NaN box: no face.

    Args:
        boxes: (T, 4) boxes.
        landmarks: (T, K, 2) landmarks, or None.

    Returns:
        T faces (box, landmarks) or None.

    Example:
        >>> faces = clip_faces(np.array([[0, 0, 4, 4], [np.nan] * 4]), None)
        >>> faces[0][0].tolist(), faces[1]
        ([0.0, 0.0, 4.0, 4.0], None)
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    lms = None if landmarks is None else np.asarray(landmarks, np.float64).reshape(len(boxes), -1, 2)
    return [(boxes[t], None if lms is None or not np.isfinite(lms[t]).all() else lms[t])
            if np.isfinite(boxes[t]).all() else None for t in range(len(boxes))]


def check_images(images: list[np.ndarray] | np.ndarray, faces: list) -> list[np.ndarray]:
    """The images as a list of RGB uint8 (H, W, 3) arrays, checked against the faces.

    Raises:
        ValueError: wrong dtype or shape, or not one face entry per image.
    """
    out = list(images)
    for img in out:
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"expected RGB uint8 images (H, W, 3), got {img.dtype} {img.shape}")
    if len(out) != len(faces):
        raise ValueError(f"{len(out)} images but {len(faces)} faces")
    return out
