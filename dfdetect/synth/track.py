"""Face tracks for self-blending: per-frame detections -> one steady face per frame of a clip.

Short gaps between two detections are interpolated and boxes and landmarks are smoothed over time, so a mask that
follows the track does not jitter with the detector's noise (:func:`track_faces`). A track is plain data
(:meth:`FaceTrack.to_dict`), so a run can record it and a resumed run skip the detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from face_crop.mesh import FaceLike, face_arrays  # noqa: F401 (re-exported)
from face_crop.track import smooth_along_time, true_runs

MAX_GAP = 8
"""Frames without a detection between two detections are interpolated when the gap is at most this long."""
TRACK_SIGMA = 1.5
"""Gaussian sigma (frames) of the temporal smoothing of boxes and landmarks."""


@dataclass
class FaceTrack:
    """The face along a clip after gap interpolation and temporal smoothing.

    Attributes:
        boxes: float32 (T, 4), NaN where there is no face.
        landmarks: float32 (T, 5, 2), NaN where there is no face; None when the faces came without landmarks.
        detected: bool (T,): the detector found the face in that frame.
        valid: bool (T,): detected, or interpolated inside a short gap between two detections.
    """

    boxes: np.ndarray
    landmarks: np.ndarray | None
    detected: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    def face(self, i: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Frame ``i``'s face as a ``(box, landmarks)`` tuple, or None."""
        if not self.valid[i]:
            return None
        return self.boxes[i], (None if self.landmarks is None else self.landmarks[i])

    def slice(self, start: int, stop: int) -> FaceTrack:
        """Frames ``[start, stop)``."""
        lms = None if self.landmarks is None else self.landmarks[start:stop]
        return FaceTrack(self.boxes[start:stop], lms, self.detected[start:stop], self.valid[start:stop])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for JSON: boxes and landmarks rounded to 0.01 px, a frame without a face as None.

        Example:
            >>> track = track_faces([(np.array([10.0, 10, 50, 60]), None), None], sigma=0)
            >>> track.to_dict()
            {'boxes': [[10.0, 10.0, 50.0, 60.0], None], 'landmarks': None, 'detected': [1, 0], 'valid': [1, 0]}
            >>> FaceTrack.from_dict(track.to_dict()).valid.tolist()
            [True, False]
        """

        def plain(a: np.ndarray) -> list:
            return [None if not np.isfinite(r).all() else np.round(r, 2).tolist() for r in a]

        return {
            "boxes": plain(self.boxes),
            "landmarks": None if self.landmarks is None else plain(self.landmarks),
            "detected": self.detected.astype(int).tolist(),
            "valid": self.valid.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaceTrack:
        """Inverse of :meth:`to_dict`."""

        def arr(rows: list, shape: tuple[int, ...]) -> np.ndarray:
            out = np.full((len(rows), *shape), np.nan, np.float32)
            for i, r in enumerate(rows):
                if r is not None:
                    out[i] = np.asarray(r, np.float32).reshape(shape)
            return out

        lms = None if d.get("landmarks") is None else arr(d["landmarks"], (5, 2))
        return cls(arr(d["boxes"], (4,)), lms, np.asarray(d["detected"], bool), np.asarray(d["valid"], bool))


def track_faces(faces: Sequence[FaceLike | tuple | None], max_gap: int = MAX_GAP,
                sigma: float = TRACK_SIGMA) -> FaceTrack:
    """Turn per-frame detections into a steady face track.

    Short gaps (at most ``max_gap`` frames between two detections) are filled by linear interpolation; frames
    before the first / after the last detection, or inside a longer gap, stay without a face. Boxes and landmarks are
    then smoothed with a Gaussian over time, within each run of frames with a face, so the mask does not jitter.

    Args:
        faces: one face (or None) per frame, e.g. from :meth:`face_crop.detect.FaceDetector.detect`.
        max_gap: longest gap that is interpolated.
        sigma: temporal smoothing, frames (0 = none).

    Returns:
        A :class:`FaceTrack`.

    Example:
        >>> box = np.array([10.0, 10, 50, 60])
        >>> track = track_faces([(box, None), None, (box + 4, None)], sigma=0)
        >>> track.valid.tolist(), track.boxes[1].tolist()
        ([True, True, True], [12.0, 12.0, 52.0, 62.0])
    """
    t = len(faces)
    boxes = np.full((t, 4), np.nan, np.float64)
    lms = np.full((t, 5, 2), np.nan, np.float64)
    has_lms = True
    for i, f in enumerate(faces):
        if f is None:
            continue
        b, lm = face_arrays(f)
        if not np.isfinite(b).all():
            continue
        boxes[i] = b
        if lm is None:
            has_lms = False
        else:
            lms[i] = lm
    detected = np.isfinite(boxes).all(axis=1)
    valid = detected.copy()
    idx = np.flatnonzero(detected)
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= max_gap + 1:
            w = ((np.arange(a + 1, b) - a) / (b - a))[:, None]  # (gap, 1)
            boxes[a + 1 : b] = boxes[a] * (1 - w) + boxes[b] * w
            lms[a + 1 : b] = lms[a] * (1 - w[..., None]) + lms[b] * w[..., None]
            valid[a + 1 : b] = True
    for start, stop in true_runs(valid):
        boxes[start:stop] = smooth_along_time(boxes[start:stop], sigma)
        if has_lms:
            lms[start:stop] = smooth_along_time(lms[start:stop], sigma)
    landmarks = lms.astype(np.float32) if has_lms and detected.any() else None
    return FaceTrack(boxes.astype(np.float32), landmarks, detected, valid)

