"""Fixtures of the synth tests: the detector, a real clip with its faces, and the "far from the face" region."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from face_crop.detect import FaceDetector
from frame_extraction.decode import read_frames

CLIP_FRAMES = 24


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def clip(face_video: Path, detector: FaceDetector) -> tuple[list[np.ndarray], list]:
    """The first 24 frames of single_face.mp4 (a man talking, 640x360) and the detector's face in each."""
    frames = list(read_frames(face_video, range(CLIP_FRAMES)).values())
    faces = detector.detect(frames)
    assert len(frames) == CLIP_FRAMES and all(f is not None for f in faces)
    return frames, faces


def _far_from_face(shape: tuple[int, ...], box: np.ndarray, frac: float) -> np.ndarray:
    """Bool (H, W): True outside ``box`` grown by ``frac`` of its size on each side (clipped to the image)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    far = np.ones(shape[:2], bool)
    far[max(0, int(y1 - frac * h)) : min(shape[0], int(np.ceil(y2 + frac * h))),
        max(0, int(x1 - frac * w)) : min(shape[1], int(np.ceil(x2 + frac * w)))] = False
    return far


@pytest.fixture(scope="session")
def far_from_face() -> Callable[[tuple[int, ...], np.ndarray, float], np.ndarray]:
    """``far_from_face(shape, box, frac)``: bool (H, W), True away from the face (where a blend must change nothing)."""
    return _far_from_face
