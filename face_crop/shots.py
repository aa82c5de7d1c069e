"""Scene cuts: where the frames of one video jump to another shot, so that no face track (and no clip) crosses one.

A cut is found as PySceneDetect's ``ContentDetector`` finds it (Castellano, PySceneDetect,
``scenedetect/detectors/content_detector.py``): each frame is converted to HSV and the mean absolute difference of
its hue, saturation and value from the previous frame's, averaged over the three channels, is its *content change*; a
change of at least :data:`CUT_THRESHOLD` (ContentDetector's default, 27 on the 0-255 scale) is a cut. The frames are
compared on small copies (:data:`SIGNATURE_SIZE`, one size whatever the frame's: a stream whose frame size changes
is not cut there). Sampled frames are a few frames apart, so fast motion changes them more than consecutive frames:
a change must also be :data:`CUT_RATIO` times the median change of its group (PySceneDetect's ``AdaptiveDetector``
idea), so frames far apart (a slideshow, frames spread over a video) all changing alike are not cut everywhere.

Measured on the sample videos at stride 2: within a shot at most 13 (median 0.4-6), between two different videos a
median of 68; the cut of ``noface_face.mov`` (a cartoon, then a man) 69.

Pure numpy/OpenCV on frames: no detector, no video file.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CUT_THRESHOLD = 27.0
"""Content change (mean absolute HSV difference, 0-255) at or above which two frames are in different shots."""
CUT_RATIO = 3.0
"""... and at least this many times the median change of the other frame pairs of its group (when it has some)."""
SIGNATURE_SIZE = (64, 36)
"""Width and height of the copy frames are compared on."""


def frame_signature(frame: np.ndarray) -> np.ndarray:
    """A frame's small HSV copy: float32 (36, 64, 3), hue 0-179, saturation and value 0-255 (OpenCV's scale)."""
    small = cv2.resize(frame, SIGNATURE_SIZE, interpolation=cv2.INTER_AREA)  # (36, 64, 3) uint8 RGB
    return cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.float32)


def content_change(a: np.ndarray, b: np.ndarray) -> float:
    """PySceneDetect's content value of two :func:`frame_signature`: the mean absolute difference of H, S and V,
    averaged over the three.

    Example:
        >>> black, white = np.zeros((36, 64, 3), np.uint8), np.full((36, 64, 3), 255, np.uint8)
        >>> content_change(frame_signature(black), frame_signature(black)), content_change(frame_signature(black),
        ...                                                                                 frame_signature(white))
        (0.0, 85.0)
    """
    return float(np.abs(a - b).reshape(-1, 3).mean(axis=0).mean())


def shot_cuts(frames: Sequence[np.ndarray | None], signatures: dict[int, np.ndarray] | None = None,
              positions: Sequence[int] | None = None) -> list[int]:
    """Where a new shot starts in a run of frames in time order.

    Each readable frame is compared with the previous readable one (``None`` entries are skipped); see the module
    docstring for the rule.

    Args:
        frames: RGB uint8 frames (H, W, 3) of one video; ``None`` for an unreadable frame.
        signatures: optional cache ``{position: frame_signature}`` shared by calls over the same frames.
        positions: the positions in ``frames`` to compare, in time order (default all).

    Returns:
        The positions (of ``positions``) whose frame starts a new shot, in order.

    Example:
        >>> dark, light = np.full((36, 64, 3), 30, np.uint8), np.full((36, 64, 3), 220, np.uint8)
        >>> shot_cuts([dark, dark, None, light, light, dark])
        [3, 5]
        >>> shot_cuts([dark, dark, dark])
        []
    """
    cache = signatures if signatures is not None else {}
    readable = [p for p in (range(len(frames)) if positions is None else positions) if frames[p] is not None]
    for p in readable:
        if p not in cache:
            cache[p] = frame_signature(frames[p])
    changes = np.array([content_change(cache[a], cache[b]) for a, b in zip(readable, readable[1:])])  # (m,)
    cuts = []
    for k, change in enumerate(changes):
        others = np.delete(changes, k)
        if change >= CUT_THRESHOLD and (others.size == 0 or change >= CUT_RATIO * float(np.median(others))):
            cuts.append(readable[k + 1])
    return cuts


def split_at_cuts(frames: Sequence[np.ndarray | None],
                  groups: Sequence[Sequence[int]]) -> list[tuple[int, list[int]]]:
    """Each group of positions (e.g. an evaluation window) split into its shots (:func:`shot_cuts`).

    Args:
        frames: RGB uint8 frames (H, W, 3) of one video; ``None`` for an unreadable frame.
        groups: positions in ``frames``, each group in time order.

    Returns:
        ``(group index, positions of one shot of it)`` for every piece, in group order then time order; an unreadable
        frame stays with the piece before it (the first piece when it comes first).

    Example:
        >>> dark, light = np.full((36, 64, 3), 30, np.uint8), np.full((36, 64, 3), 220, np.uint8)
        >>> split_at_cuts([dark, dark, light, light], [[0, 1, 2, 3], [2, 3]])
        [(0, [0, 1]), (0, [2, 3]), (1, [2, 3])]
    """
    cache: dict[int, np.ndarray] = {}
    pieces: list[tuple[int, list[int]]] = []
    for g, group in enumerate(groups):
        cuts = set(shot_cuts(frames, cache, list(group)))
        current: list[int] = []
        for p in group:
            if p in cuts and current:
                pieces.append((g, current))
                current = []
            current.append(p)
        if current:
            pieces.append((g, current))
    return pieces
