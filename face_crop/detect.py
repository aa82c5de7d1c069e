"""MTCNN face detection for one video at a time, on downscaled copies.

The detector settings live here, ONCE, as module constants (:data:`MAX_SIDE`, :data:`MIN_FACE_SIZE`,
:data:`THRESHOLDS`, :data:`FACTOR`): the preprocessing CLI, the synthetic-fake generator and inference all build a
:class:`FaceDetector` with these defaults, so training and test crops come from the same detector (the DFDC winner's
train/test mismatch came from two copies of these numbers).

Speed: all frames of a video go through MTCNN in one batched call (a video's frames share one size) on copies whose
longer side is at most :data:`MAX_SIDE` (never upscaled); boxes and landmarks are mapped back to full resolution and
the crops are cut from the full-resolution frames (see :mod:`face_crop.crop`). Which face is the main one in each
frame is :mod:`face_crop.track`'s job (:meth:`FaceDetector.detect` = :meth:`FaceDetector.detect_all` +
:func:`face_crop.track.main_faces`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from face_crop.track import main_faces

log = logging.getLogger(__name__)

# --- The one place for the detector settings (used by the CLI, synthesis and inference). ---------------------------
MAX_SIDE = 480
"""Detection runs on a copy whose longer side is at most this (1080p -> 480x270; 176x144 stays as it is)."""
MIN_FACE_SIZE = 20
"""Smallest face MTCNN searches for, in pixels of the DOWNSCALED copy (20 at 480 px ~ 80 px in a 1080p frame)."""
THRESHOLDS = (0.6, 0.7, 0.7)
"""P-Net / R-Net / O-Net score thresholds; the last one is the minimum ``Face.prob``."""
FACTOR = 0.709
"""Scale step of MTCNN's image pyramid (facenet-pytorch's default)."""
BATCH_SIZE = 32
"""Frames per batched MTCNN call (bounds memory for long frame lists; one call for the usual 15-32 frames)."""

@dataclass
class Face:
    """One detected face, in full-frame pixels.

    Attributes:
        box: float32 (4,) ``x1, y1, x2, y2`` (may extend slightly past the frame when the face is cut by the border).
        prob: MTCNN O-Net confidence in [0, 1].
        landmarks: float32 (5, 2) ``x, y`` of the eyes, the nose tip and the mouth corners (MTCNN order: left eye,
            right eye, nose, left mouth corner, right mouth corner, as seen in the image).
    """

    box: np.ndarray
    prob: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        """Box area in full-frame pixels."""
        return float(max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0))


def detection_scale(width: int, height: int, max_side: int = MAX_SIDE) -> float:
    """Downscale factor so the longer side is at most ``max_side``; 1.0 when already small (never upscale).

    Example:
        >>> detection_scale(1920, 1080), detection_scale(176, 144)
        (0.25, 1.0)
    """
    return min(1.0, max_side / max(width, height))


class FaceDetector:
    """facenet-pytorch MTCNN on downscaled copies of one video's frames; construct once per process.

    Args:
        device: ``"cpu"`` or ``"cuda"`` (a torch device string).
        max_side: longer side of the copy MTCNN sees (never upscaled).
        min_face_size: smallest face searched for, in pixels of that copy.
        thresholds: MTCNN's three stage thresholds (the last is the minimum confidence).
        batch_size: frames per batched MTCNN call.
        factor: MTCNN pyramid scale step.

    Raises:
        ValueError: ``max_side``, ``min_face_size`` or ``batch_size`` below 1.

    Example:
        >>> cap = cv2.VideoCapture("data/samples/single_face.mp4")
        >>> frames = [cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB) for _ in range(2)]  # (360, 640, 3) each
        >>> detector = FaceDetector()
        >>> [len(candidates) for candidates in detector.detect_all(frames + [None])]
        [1, 1, 0]
        >>> face = detector.detect(frames)[0]
        >>> face.box.shape, face.landmarks.shape, face.prob > 0.9, bool(200 < face.box[0] < face.box[2] < 400)
        ((4,), (5, 2), True, True)
        >>> detector.settings()
        {'max_side': 480, 'min_face_size': 20, 'thresholds': [0.6, 0.7, 0.7], 'factor': 0.709}
    """

    def __init__(
        self,
        device: str = "cpu",
        max_side: int = MAX_SIDE,
        min_face_size: int = MIN_FACE_SIZE,
        thresholds: Sequence[float] = THRESHOLDS,
        batch_size: int = BATCH_SIZE,
        factor: float = FACTOR,
    ) -> None:
        import torch
        from facenet_pytorch import MTCNN  # heavy imports, only when a detector is built

        if max_side < 1 or min_face_size < 1 or batch_size < 1:
            raise ValueError("max_side, min_face_size and batch_size must be positive")
        self.device = device
        self.max_side = int(max_side)
        self.min_face_size = int(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.batch_size = int(batch_size)
        self.factor = float(factor)
        # keep_all: we choose among all candidates ourselves; post_process off: we only use boxes and landmarks.
        self.mtcnn = MTCNN(
            keep_all=True,
            post_process=False,
            min_face_size=self.min_face_size,
            thresholds=list(self.thresholds),
            factor=self.factor,
            device=device,
        )
        # Channels-last weights make the convolutions emit channels-last activations, where CPU max-pooling is ~3x
        # faster than in channels-first: detection ~30 % faster with the same boxes (to 1e-3 px).
        for net in (self.mtcnn.pnet, self.mtcnn.rnet, self.mtcnn.onet):
            net.to(memory_format=torch.channels_last)

    def settings(self) -> dict[str, object]:
        """Plain-type settings (recorded by the CLI so a resumed run with other settings redoes the work)."""
        return {
            "max_side": self.max_side,
            "min_face_size": self.min_face_size,
            "thresholds": list(self.thresholds),
            "factor": self.factor,
        }

    def detect_all(self, frames: Sequence[np.ndarray | None]) -> list[list[Face]]:
        """All faces in each frame, sorted by decreasing ``area * prob``.

        Args:
            frames: RGB uint8 frames (H, W, 3) of one video; ``None`` entries (unreadable frames) give ``[]``.

        Returns:
            One list of :class:`Face` per frame (full-frame pixels).
        """
        out: list[list[Face]] = [[] for _ in frames]
        # Batched MTCNN needs equal sizes: group by shape (one group for a normal video).
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, f in enumerate(frames):
            if f is not None:
                groups.setdefault(tuple(f.shape), []).append(i)
        for shape, idxs in groups.items():
            h, w = shape[:2]
            scale = detection_scale(w, h, self.max_side)
            dw, dh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
            if min(dw, dh) < self.min_face_size:  # MTCNN's image pyramid would be empty (and it raises)
                log.warning("frames of %dx%d are smaller than the minimum face size: no face searched", w, h)
                continue
            for start in range(0, len(idxs), self.batch_size):
                chunk = idxs[start : start + self.batch_size]
                small = np.stack([self._downscale(frames[i], dw, dh) for i in chunk])  # (B, dh, dw, 3) uint8
                boxes, probs, points = self.mtcnn.detect(small, landmarks=True)
                # Map back to full resolution (continuous coordinates: multiply by the exact per-axis ratio).
                sxy = np.array([w / dw, h / dh], dtype=np.float32)
                for i, b, p, lm in zip(chunk, boxes, probs, points):
                    if b is None:
                        continue
                    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)  # object arrays under numpy 2
                    p = np.asarray(p, dtype=np.float32).reshape(-1)
                    lm = np.asarray(lm, dtype=np.float32).reshape(-1, 5, 2)
                    faces = [
                        Face(box=(b[k].reshape(2, 2) * sxy).reshape(4), prob=float(p[k]), landmarks=lm[k] * sxy)
                        for k in range(len(b))
                    ]
                    out[i] = sorted(faces, key=lambda f: f.area * f.prob, reverse=True)
        return out

    def detect(self, frames: Sequence[np.ndarray | None]) -> list[Face | None]:
        """The main face in each frame of one video, tracked consistently (:func:`face_crop.track.main_faces`).

        Args:
            frames: RGB uint8 frames (H, W, 3) of ONE video, in time order; ``None`` entries give ``None``.

        Returns:
            One :class:`Face` or ``None`` per frame.
        """
        return main_faces(self.detect_all(frames))

    @staticmethod
    def _downscale(frame: np.ndarray, dw: int, dh: int) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame.shape}")
        if (frame.shape[1], frame.shape[0]) == (dw, dh):
            return frame
        return cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_AREA)
