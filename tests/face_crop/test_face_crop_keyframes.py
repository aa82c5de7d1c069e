"""FaceDetector.detect's key-frame search: full MTCNN on every KEY_STEP-th frame, O-Net following the face between,
full detection where that fails; on real frames of the sample videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from face_crop.detect import KEY_STEP, FaceDetector
from face_crop.track import box_iou


@pytest.fixture(scope="module")
def every_frame() -> FaceDetector:
    return FaceDetector(key_step=1)


def _count_full_calls(detector: FaceDetector, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    full = detector.detect_all

    def counting(frames):
        calls.append(len(frames))
        return full(frames)

    monkeypatch.setattr(detector, "detect_all", counting)
    return calls


@pytest.mark.parametrize("name", ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4"])
def test_key_frames_and_onet_find_the_faces_full_detection_finds(name: str, sample: Callable, samples_dir: Path,
                                                                  detector: FaceDetector, every_frame: FaceDetector,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, frames = sample(samples_dir / name, n=15, mode="random")  # one training sample: 15 frames at stride 2
    reference = every_frame.detect(frames)
    calls = _count_full_calls(detector, monkeypatch)
    faces = detector.detect(frames)
    assert KEY_STEP == 7 and calls == [3]  # positions 0, 7, 14 through MTCNN; O-Net on the other 12
    assert all(f is not None for f in faces) and all(f is not None for f in reference)
    ious = [box_iou(a.box, b.box) for a, b in zip(faces, reference)]
    assert min(ious) > 0.8, ious  # the same face, the same place (measured 0.84-0.97)
    assert all(f.prob > 0.9 and f.landmarks.shape == (5, 2) and f.frame_size == reference[0].frame_size
               for f in faces)


def test_refine_scores_a_face_box_and_refuses_an_empty_one(sample: Callable, face_video: Path,
                                                           detector: FaceDetector) -> None:
    _, frames = sample(face_video, n=2)
    face = detector.detect(frames[:1])[0]
    shifted = face.box + np.array([8, -6, 8, -6], np.float32)  # a prediction a few pixels off
    on_face, on_wall = detector.refine([frames[0], frames[0]], [shifted, np.array([0, 0, 60, 60], np.float32)])
    assert on_face is not None and on_face.prob > 0.9 and box_iou(on_face.box, face.box) > 0.8
    # the landmarks land inside the face box, eyes above the mouth
    assert ((on_face.landmarks >= face.box[:2]) & (on_face.landmarks <= face.box[2:])).all()
    assert on_face.landmarks[:2, 1].mean() < on_face.landmarks[3:, 1].mean()
    assert on_wall is None
    assert detector.refine([], []) == []


def test_frames_beside_a_faceless_key_frame_are_detected_in_full(sample: Callable, face_video: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    detector = FaceDetector(key_step=4)
    _, frames = sample(face_video, n=9, mode="random")
    frames = [f.copy() for f in frames]
    frames[4][:] = 0  # key frame 4 shows nothing: positions 1-3 and 5-7 cannot be interpolated
    calls = _count_full_calls(detector, monkeypatch)
    faces = detector.detect(frames)
    assert calls[0] == 3 and sorted(calls[1:]) == [6]  # keys 0, 4, 8; then the six frames beside the blank one
    assert [f is None for f in faces] == [i == 4 for i in range(9)]
