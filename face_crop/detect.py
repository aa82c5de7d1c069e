"""MTCNN face detection for one video at a time, on downscaled copies, with the main face tracked along the video.

The detector settings live here, ONCE, as module constants (:data:`MAX_SIDE`, :data:`MIN_FACE_SIZE`,
:data:`THRESHOLDS`, :data:`FACTOR`): the preprocessing CLI, the synthetic-fake generator and inference all build a
:class:`FaceDetector` with these defaults, so training and test crops come from the same detector (the DFDC winner's
train/test mismatch came from two copies of these numbers).

Speed: all frames of a video go through MTCNN in one batched call (a video's frames share one size) on copies whose
longer side is at most :data:`MAX_SIDE` (never upscaled); boxes and landmarks are mapped back to full resolution and
the crops are cut from the full-resolution frames (see :mod:`face_crop.crop`).

Tracking (:func:`select_main_track`): detections are linked frame to frame into tracks by IoU; the main face is the
track with the largest summed ``sqrt(area) * prob`` (large, confident and persistent), and each frame gets that
track's face. A frame where the main track has no detection takes a candidate close to the previous chosen box; a frame
with nothing there gets ``None`` rather than another face, so a second person or a false positive (e.g. on a hand
covering the face) never makes the crop jump.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

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
TRACK_IOU = 0.1
"""Minimum IoU linking a detection to a track (low: sampled frames can be far apart)."""
MAX_SHIFT = 0.75
"""Where the main track has no detection: a candidate this many box sides from the last chosen box may continue it."""
MAX_SIZE_RATIO = 1.5
"""... if its box side is within this ratio of the last chosen one."""


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


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes.

    Example:
        >>> box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10]))
        0.3333333333333333
    """
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = float(iw * ih)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def detection_scale(width: int, height: int, max_side: int = MAX_SIDE) -> float:
    """Downscale factor so the longer side is at most ``max_side``; 1.0 when already small (never upscale).

    Example:
        >>> detection_scale(1920, 1080), detection_scale(176, 144)
        (0.25, 1.0)
    """
    return min(1.0, max_side / max(width, height))


def _link_tracks(faces: Sequence[Sequence[Face]], min_iou: float) -> list[dict[int, Face]]:
    """Greedy IoU linking in time order; each track is {frame index: Face}, at most one face per frame."""
    tracks: list[dict[int, Face]] = []
    last: list[np.ndarray] = []  # last box of each track
    for i, cands in enumerate(faces):
        pairs = sorted(
            ((box_iou(last[t], f.box), t, c) for t in range(len(tracks)) for c, f in enumerate(cands)), reverse=True
        )
        used_t: set[int] = set()
        used_c: set[int] = set()
        for iou, t, c in pairs:
            if iou < min_iou:
                break
            if t in used_t or c in used_c:
                continue
            tracks[t][i] = cands[c]
            last[t] = cands[c].box
            used_t.add(t)
            used_c.add(c)
        for c, f in enumerate(cands):
            if c not in used_c:
                tracks.append({i: f})
                last.append(f.box)
    return tracks


def _same_place(ref: np.ndarray, box: np.ndarray, min_iou: float) -> float | None:
    """Distance score if ``box`` is plausibly the face that was at ``ref`` (overlap, or close and alike in size)."""
    side_r = np.sqrt(max(float((ref[2] - ref[0]) * (ref[3] - ref[1])), 1e-6))
    side_b = np.sqrt(max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6))
    dist = float(np.hypot((box[0] + box[2] - ref[0] - ref[2]) / 2, (box[1] + box[3] - ref[1] - ref[3]) / 2))
    alike = max(side_r, side_b) / min(side_r, side_b) <= MAX_SIZE_RATIO
    if box_iou(ref, box) >= min_iou or (alike and dist <= MAX_SHIFT * side_r):
        return dist
    return None


def select_main_track(faces: Sequence[Sequence[Face]], min_iou: float = TRACK_IOU) -> list[Face | None]:
    """Pick one face per frame: the video's main face, followed consistently.

    Detections are linked into tracks by IoU; the main track has the largest summed ``sqrt(area) * prob`` over its
    frames (box side rather than area, so a persistent face beats a one-frame giant false positive). Where the main
    track has no detection, the candidate nearest the previous chosen box is taken if it overlaps it or lies within
    :data:`MAX_SHIFT` box sides of it with a similar size (a face that moved between far-apart frames); otherwise the
    frame gets ``None`` rather than somebody else's face.

    Args:
        faces: per frame, all candidate faces (as from :meth:`FaceDetector.detect_all`).
        min_iou: IoU needed to link a face to a track.

    Returns:
        One ``Face`` or ``None`` per frame.

    Example:
        >>> big = Face(np.array([0, 0, 100, 100], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> small = Face(np.array([200, 0, 240, 40], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> [f is big for f in select_main_track([[small, big], [small]])]
        [True, False]
    """
    tracks = _link_tracks(faces, min_iou)
    if not tracks:
        return [None] * len(faces)
    main = max(tracks, key=lambda tr: sum(np.sqrt(f.area) * f.prob for f in tr.values()))
    main_frames = sorted(main)
    chosen: list[Face | None] = []
    prev: np.ndarray | None = None
    for i, cands in enumerate(faces):
        face = main.get(i)
        if face is None and cands:
            # The main track missed this frame (or split): take a candidate where the face was.
            ref = prev if prev is not None else main[min(main_frames, key=lambda j: abs(j - i))].box
            near = [(d, k) for k, f in enumerate(cands) if (d := _same_place(ref, f.box, min_iou)) is not None]
            face = cands[min(near)[1]] if near else None
        chosen.append(face)
        if face is not None:
            prev = face.box
    return chosen


class FaceDetector:
    """facenet-pytorch MTCNN on downscaled copies of one video's frames; construct once per process.

    Args:
        device: ``"cpu"`` or ``"cuda"`` (a torch device string).
        max_side: longer side of the copy MTCNN sees (never upscaled).
        min_face_size: smallest face searched for, in pixels of that copy.
        thresholds: MTCNN's three stage thresholds (the last is the minimum confidence).
        batch_size: frames per batched MTCNN call.
        factor: MTCNN pyramid scale step.

    Example:
        >>> detector = FaceDetector()  # doctest: +SKIP
        >>> faces = detector.detect(frames)  # doctest: +SKIP
        >>> faces[0].box, faces[0].prob  # doctest: +SKIP
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
        """The main face in each frame of one video, tracked consistently (see :func:`select_main_track`).

        Args:
            frames: RGB uint8 frames (H, W, 3) of ONE video, in time order; ``None`` entries give ``None``.

        Returns:
            One :class:`Face` or ``None`` per frame.

        Example:
            >>> faces = FaceDetector().detect(frames)  # doctest: +SKIP
            >>> sum(f is not None for f in faces)  # doctest: +SKIP
            15
        """
        return select_main_track(self.detect_all(frames))

    @staticmethod
    def _downscale(frame: np.ndarray, dw: int, dh: int) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame.shape}")
        if (frame.shape[1], frame.shape[0]) == (dw, dh):
            return frame
        return cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_AREA)
