"""What every fake generator takes and returns: a clip of images with one face (or none) per image, donors, results.

A generator (:mod:`dfdetect.synth.registry`) works on a clip of full frames or of face crops alike: images RGB uint8
(H, W, 3) and, per image, the face box ``(4,)`` ``x1, y1, x2, y2`` and landmarks (MTCNN's five, or None) in that
image's pixels. Only the face region may change; the same generator state gives the same bytes.

A generator is only its recipe: ``plan(clip, rng) -> Plan`` draws the clip's parameters from ``rng`` and returns
:attr:`Plan.edit`, which makes one frame's :class:`Edit` (the new frame, the blend mask used, the record).
:func:`dfdetect.synth.registry.generate` owns the rest: it checks the images against the faces, runs the dense
landmarks (:class:`Clip` holds them), calls the edit for each image with a face in time order and builds
:class:`Generated`.
"""

from __future__ import annotations

from collections.abc import Callable
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
        masks: per image, float32 (H, W) in [0, 1], the same size as that image: how much of each pixel was replaced
            (the blend mask actually used, after blur and blend ratio), or None where the image was left unchanged.
        extra: clip-level record (e.g. the blended span of a temporal fake).

    Raises:
        ValueError: not one mask per frame, or a mask of another size than its frame.
    """

    frames: list[np.ndarray]
    records: list[dict[str, Any] | None]
    method: str
    masks: list[np.ndarray | None]
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.masks) != len(self.frames) or len(self.records) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames but {len(self.masks)} masks and {len(self.records)} records")
        for f, m in zip(self.frames, self.masks):
            if m is not None and m.shape != f.shape[:2]:
                raise ValueError(f"mask {m.shape} for a frame {f.shape}")

    @property
    def manipulated(self) -> list[bool]:
        """Per frame: something of it was replaced (a mask with a value above 0)."""
        return [m is not None and float(m.max()) > 0 for m in self.masks]


@dataclass
class Clip:
    """What a generator's recipe gets from :func:`dfdetect.synth.registry.generate`.

    Attributes:
        images: RGB uint8 (H, W, 3), checked, in time order.
        faces: per image, ``(box, landmarks)`` (468 dense landmarks where the model found every face of the clip,
            else the input's five points or None), or None: no face.
        donors: the caller's donors (other moments of the same video), or None.
        given_faces: the faces as the caller gave them (five points; default ``faces``), for a recipe that runs the
            landmark model on other images of the clip.
    """

    images: list[np.ndarray]
    faces: list[Face | None]
    donors: Donors | None = None
    given_faces: list[Face | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.given_faces:
            self.given_faces = list(self.faces)


@dataclass
class Edit:
    """One frame's change.

    Attributes:
        frame: the new RGB uint8 (H, W, 3) frame.
        mask: float32 (H, W) in [0, 1], how much of each pixel was replaced, or None: nothing was (e.g. a degenerate
            face); the frame is then a copy of the input.
        record: the plain parameters used (None: none to record).
    """

    frame: np.ndarray
    mask: np.ndarray | None
    record: dict[str, Any] | None


@dataclass
class Plan:
    """A generator's recipe for one clip, its clip-level draws done.

    Attributes:
        edit: ``edit(t) -> Edit | None`` for image ``t`` (which has a face), called once per such image in time
            order; None leaves the image alone.
        extra: the clip-level record (:attr:`Generated.extra`).
    """

    edit: Callable[[int], Edit | None]
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
