"""Dense face landmarks for blend masks: the 468 Face Mesh points of each face of a clip, smoothed over time, with
MTCNN's five points as the fallback.

SBI draws its mask as the convex hull of 68 / 81 dense landmarks (Shiohara & Yamasaki, CVPR 2022,
``src/utils/sbi.py``). The face mesh itself (the model, where it ships, its face region) is
:mod:`face_crop.mesh`, shared with the detector's motion stream; its names are re-exported here. When the model or
its runtime is missing, :func:`dense_faces` warns once and keeps the five points (elliptic / five-point hull masks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from face_crop.mesh import (  # noqa: F401 (re-exported: the synth package's face mesh is face_crop's)
    DenseLandmarker,
    FaceLike,
    LandmarkModelError,
    face_arrays,
    five_from_dense,
    load_landmarker,
)
from face_crop.track import smooth_along_time

log = logging.getLogger(__name__)

_warned: list[str] = []


def dense_landmarker_or_none() -> DenseLandmarker | None:
    """:func:`load_landmarker`, or None with a warning, once per process, that five-point masks are used instead."""
    try:
        return load_landmarker()
    except LandmarkModelError as e:
        if not _warned:
            log.warning("%s; blend masks use the five MTCNN points instead", e)
            _warned.append(str(e))
        return None


def dense_faces(images: Sequence[np.ndarray], faces: Sequence[FaceLike | tuple | None], sigma: float = 1.0,
                landmarker: DenseLandmarker | None | bool = True) -> list[tuple[np.ndarray, np.ndarray | None] | None]:
    """Replace each face's five landmarks by its 468 dense ones (smoothed over time), where the model finds them.

    Args:
        images: RGB uint8 frames or crops (H, W, 3) of one clip.
        faces: one face (box and five landmarks, in the images' pixels) or None per image.
        sigma: temporal Gaussian smoothing of the dense points, frames (0 = none), so masks do not jitter.
        landmarker: a :class:`DenseLandmarker`, True (the process's one, or five points when unavailable) or
            False/None (keep the five points).

    Returns:
        ``(box, landmarks)`` per image (None where ``faces`` has None): landmarks (468, 2) when every face of the clip
        got a mesh, else the input's five points (or None), so a clip's masks are all of one kind.
    """
    plain = [None if f is None else face_arrays(f) for f in faces]
    model = dense_landmarker_or_none() if landmarker is True else (landmarker or None)
    if model is None or all(f is None for f in plain):
        return plain
    dense = [None if f is None else model(img, f) for img, f in zip(images, plain)]
    if any(f is not None and d is None for f, d in zip(plain, dense)):
        return plain
    idx = [i for i, f in enumerate(plain) if f is not None]
    stacked = smooth_along_time(np.stack([dense[i] for i in idx]), sigma)  # (n, 468, 2)
    out: list[tuple[np.ndarray, np.ndarray | None] | None] = [None] * len(plain)
    for j, i in enumerate(idx):
        out[i] = (plain[i][0], stacked[j])  # type: ignore[index]
    return out
