"""face_crop.detect: MTCNN on the real sample videos, downscaled detection, and the tracked main face."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from face_crop.detect import Face, FaceDetector, detection_scale
from face_crop.track import box_iou


def test_detection_scale() -> None:
    assert detection_scale(1920, 1080) == 0.25 and detection_scale(640, 360) == 0.75
    assert detection_scale(176, 144) == 1.0  # never upscaled
    assert detection_scale(1000, 2000, max_side=500) == 0.25  # the longer side decides


@pytest.mark.parametrize(
    "name, min_found",
    [("single_face.mp4", 14), ("carphone_pristine.mp4", 14), ("WolfgangLanger_Pexels.mp4", 13), ("no_face.mp4", 0)],
)
def test_detector_on_sample_videos(sample: Callable, detector: FaceDetector, samples_dir: Path, name: str,
                                   min_found: int) -> None:
    _, frames = sample(samples_dir / name, n=15, mode="linspace")
    assert len(frames) == 15
    faces = detector.detect(frames)
    found = [f for f in faces if f is not None]
    if name == "no_face.mp4":
        assert found == [] and all(not c for c in detector.detect_all(frames))
        return
    assert len(found) >= min_found
    h, w = frames[0].shape[:2]
    for f in found:
        assert f.box.dtype == np.float32 and f.box.shape == (4,) and f.landmarks.shape == (5, 2)
        x1, y1, x2, y2 = f.box
        # Inside the frame: a face cut by the border (WolfgangLanger) may stick out a little.
        inside = (min(x2, w) - max(x1, 0)) * (min(y2, h) - max(y1, 0)) / ((x2 - x1) * (y2 - y1))
        assert x1 < x2 and y1 < y2 and inside > 0.85
        assert 0.15 * h <= x2 - x1 <= 0.9 * h and 0.15 * h <= y2 - y1 <= 0.95 * h  # a talking head, not a speck
        assert 0.7 <= f.prob <= 1.0
        # Landmarks are inside the box (eyes above the mouth) in full-resolution pixels.
        lm = f.landmarks
        assert (lm[:, 0] > x1).all() and (lm[:, 0] < x2).all() and (lm[:, 1] > y1).all() and (lm[:, 1] < y2).all()
        assert lm[:2, 1].mean() < lm[3:, 1].mean()
    # The same person: consecutive chosen boxes are about the same size.
    sides = np.array([f.box[2] - f.box[0] for f in found])
    assert sides.max() / sides.min() < 1.6


def test_detection_on_downscaled_copy_maps_back_to_full_resolution(sample: Callable, face_video: Path) -> None:
    _, frames = sample(face_video, n=4, mode="linspace")
    full = FaceDetector(max_side=10_000)  # no downscaling: the reference
    small = FaceDetector(max_side=240)  # 640x360 -> 240x135
    for a, b in zip(full.detect(frames), small.detect(frames)):
        assert a is not None and b is not None
        assert box_iou(a.box, b.box) > 0.75
        assert np.abs(a.landmarks - b.landmarks).max() < 0.08 * (a.box[2] - a.box[0])


def _paste_small_copy(frame: np.ndarray, face: Face, scale: float) -> np.ndarray:
    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    pad = int(0.3 * (x2 - x1))
    patch = frame[max(y1 - pad, 0) : y2 + pad, max(x1 - pad, 0) : x2 + pad]
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = frame.copy()
    ph, pw = patch.shape[:2]
    out[10 : 10 + ph, 10 : 10 + pw] = patch  # top-left corner, away from the man's face
    return out


def test_tracking_keeps_the_same_person_when_a_second_face_appears(sample: Callable, detector: FaceDetector,
                                                                   face_video: Path) -> None:
    _, frames = sample(face_video, n=10, mode="linspace")
    ref = detector.detect(frames)
    assert all(f is not None for f in ref)
    # Frames 4..9 get a smaller copy of the face pasted beside it; frame 8's own face is blanked out.
    mixed = list(frames[:4]) + [_paste_small_copy(f, r, 0.7) for f, r in zip(frames[4:], ref[4:])]
    x1, y1, x2, y2 = (int(v) for v in ref[8].box)
    mixed[8] = mixed[8].copy()
    mixed[8][max(y1, 0) : y2, max(x1, 0) : x2] = 128
    all_faces = detector.detect_all(mixed)
    assert sum(len(c) >= 2 for c in all_faces[4:]) >= 4  # the copy really is detected as a second face
    chosen = detector.detect(mixed)
    for i, (c, r) in enumerate(zip(chosen, ref)):
        if i == 8:
            assert c is None or box_iou(c.box, r.box) > 0.5  # never the pasted copy
        else:
            assert c is not None and box_iou(c.box, r.box) > 0.7, i


def test_detector_mixed_sizes_tiny_and_missing_frames(sample: Callable, detector: FaceDetector,
                                                      face_video: Path) -> None:
    _, frames = sample(face_video, n=2, mode="linspace")
    half = cv2.resize(frames[1], (320, 180), interpolation=cv2.INTER_AREA)
    tiny = np.zeros((12, 16, 3), np.uint8)  # smaller than the minimum face: searched for nothing, no error
    cands = detector.detect_all([frames[1], None, half, tiny])  # one MTCNN batch per frame size
    assert len(cands[0]) >= 1 and cands[1] == [] and len(cands[2]) >= 1 and cands[3] == []
    assert box_iou(cands[0][0].box / 2, cands[2][0].box) > 0.7  # the half-size frame's box is in its own pixels
    assert detector.detect([tiny, None]) == [None, None]
    assert detector.detect([]) == [] and detector.detect([None]) == [None]
