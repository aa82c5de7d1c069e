"""inference.prepare on the inputs people send: a face that appears late, a video too short to judge, a face too small.

Every video here is built from the samples at test time with PyAV (a few dozen frames at most).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from dfdetect.core.config import DataConfig
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference import NEUTRAL_SCORE, Detector
from dfdetect.inference.prepare import face_windows, prepare_input
from face_crop.detect import Face, FaceDetector, RetryStats
from frame_extraction.decode import read_frames, sample_video
from frame_extraction.sampling import eval_windows

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # a shared 2-core machine: see tests/conftest.py

FACE_FRAMES = range(96, 169)  # noface_face.mov: a cartoon, then a man in frames 96-168 of 169


def write_video(path: Path, frames: list[np.ndarray], fps: int | Fraction = 30) -> Path:
    """A small H.264 video of RGB frames (PyAV)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def face_frames(face_video: Path) -> list[np.ndarray]:
    """The first 30 frames of single_face.mp4 (640x360, a man talking in every one)."""
    return list(read_frames(face_video, range(30)).values())


class CountingDetector:
    """The real detector (its key-frame search, O-Net between), counting its full MTCNN calls and their frames."""

    detect = FaceDetector.detect  # the real search, calling this object's counting detect_all

    def __init__(self, detector: FaceDetector) -> None:
        self.detector, self.calls, self.frames = detector, 0, 0
        self.key_step, self.last_retry = detector.key_step, RetryStats()

    def detect_all(self, frames: list[np.ndarray]) -> list[list[Face]]:
        self.calls, self.frames = self.calls + 1, self.frames + len(frames)
        out = self.detector.detect_all(frames)
        self.last_retry = self.detector.last_retry
        return out

    def refine(self, frames: list[np.ndarray], boxes: list[np.ndarray]) -> list[Face | None]:
        return self.detector.refine(frames, boxes)


class UpscalingDetector:
    """The real detector on 8x upscaled copies (boxes mapped back): finds the tiny faces of a 32x32 video, as a
    detector that retries small faces at a higher resolution does."""

    detect = FaceDetector.detect  # every frame a key frame (key_step 1): no O-Net on the upscaled geometry
    key_step, last_retry = 1, RetryStats()

    def __init__(self, detector: FaceDetector, factor: int = 8) -> None:
        self.detector, self.factor = detector, factor

    def detect_all(self, frames: list[np.ndarray]) -> list[list[Face]]:
        k = self.factor
        big = [cv2.resize(f, (f.shape[1] * k, f.shape[0] * k), interpolation=cv2.INTER_CUBIC) for f in frames]
        return [[Face(f.box / k, f.prob, f.landmarks / k) for f in faces] for faces in self.detector.detect_all(big)]


def test_face_windows_go_where_the_faces_are() -> None:
    probes = {i: i >= 96 for i in range(0, 169, 11)}  # faces from frame 99 on
    (w,) = face_windows(probes, 169, clips=1, n=15, stride=2)
    assert len(w) == 15 and 99 <= w[0] and w[-1] <= 165
    two = face_windows(probes, 169, clips=2, n=15, stride=2)
    assert len(two) == 2 and all(99 <= w[0] and w[-1] <= 165 for w in two) and two[0][0] < two[1][0]
    # a short run: one window centred on it; no face anywhere: no window
    (w,) = face_windows({0: False, 50: True, 60: True, 100: False}, 169, clips=1, n=15, stride=2)
    assert (w[0], w[-1]) == (41, 69)
    assert face_windows({0: False, 50: False}, 169, clips=3, n=15, stride=2) == []


def test_a_face_that_appears_late_is_found_and_scored(det, samples_dir: Path) -> None:
    video = samples_dir / "noface_face.mov"
    d = det.cfg.data
    # The default window (frames 0-14 here) shows the cartoon only: the faces are looked for over the whole video.
    assert eval_windows(169, 1, d.sample_frames, d.stride)[0][-1] < 96
    one_clip = Detector(det.model, det.cfg, clips=1, face_detector=det.face_detector)  # as after --val-clips 1
    prep = one_clip.prepare(video)
    assert prep.status == ScoreStatus.OK, prep.reason
    (window,) = prep.windows
    assert len(window) >= d.min_faces and set(window) <= set(FACE_FRAMES)
    (r,) = one_clip.predict([prep])
    assert r.status == ScoreStatus.OK and r.score != NEUTRAL_SCORE
    assert r.clip_frames and all(set(frames) <= set(FACE_FRAMES) for frames in r.clip_frames)


def test_a_face_in_every_frame_keeps_the_default_windows_and_cost(det, face_video: Path) -> None:
    d = DataConfig(size=32)
    counting = CountingDetector(det.face_detector)
    prep = prepare_input(face_video, d, 1, counting)
    assert prep.status == ScoreStatus.OK and prep.windows == eval_windows(72, 1, d.sample_frames, d.stride)
    # one full MTCNN call on the window's key frames (positions 0, 7, 14; O-Net follows the face between),
    # 15 decoded frames, a face in each
    assert (counting.calls, counting.frames, prep.sampled, prep.faces) == (1, 3, 15, 15)


@pytest.mark.parametrize("n_frames", [1, 8])
def test_a_video_too_short_to_judge_is_not_scored(det, face_frames, tmp_path: Path, n_frames: int) -> None:
    video = write_video(tmp_path / f"short{n_frames}.mp4", face_frames[:n_frames])
    d = DataConfig(size=32)  # min_faces 10
    prep = prepare_input(video, d, 1, det.face_detector)
    assert prep.status == ScoreStatus.TOO_FEW_FACES and not prep.windows
    assert "min_faces 10" in prep.reason and f"of {n_frames} sampled frames" in prep.reason
    # Through the scoring API, with the user's rule (10 faces) in the checkpoint's config.
    cfg = dataclasses.replace(det.cfg, data=dataclasses.replace(det.cfg.data, min_faces=10))
    (r,) = Detector(det.model, cfg, face_detector=det.face_detector).predict([video])
    assert (r.status, r.score) == (ScoreStatus.TOO_FEW_FACES, NEUTRAL_SCORE) and "min_faces 10" in r.reason


def test_a_face_too_small_to_judge_is_not_scored(det, face_frames, tmp_path: Path) -> None:
    # The middle 360x360 square of single_face.mp4 shrunk to 32x32: the face is about 20 px.
    tiny = [cv2.resize(f[:, 140:500], (32, 32), interpolation=cv2.INTER_AREA) for f in face_frames]
    video = write_video(tmp_path / "tiny.mp4", tiny)
    d = DataConfig(size=32, min_faces=2, sample_frames=8)
    finder = UpscalingDetector(det.face_detector)
    assert any(finder.detect_all(tiny[:15:2])), "the upscaling detector should find the tiny face"
    prep = prepare_input(video, d, 1, finder)
    assert prep.status == ScoreStatus.TOO_FEW_FACES
    assert prep.reason.startswith("face too small (") and "px < 40 px)" in prep.reason
    # The checkpoint's own detector: never scored as if it were a face (too small, or not found at all).
    (r,) = det.predict([video])
    assert r.status != ScoreStatus.OK and r.score == NEUTRAL_SCORE


@pytest.mark.parametrize("fps", [1, Fraction(1, 2)])
def test_a_slideshow_shorter_than_one_window_keeps_every_frame(det, face_frames, tmp_path: Path, fps) -> None:
    # issue 23 item 4: 15 frames at 1 fps (or 0.5), a face in each: stride 2 kept 8 of them (too_few_faces); the
    # stride now fits the video, in preprocessing and scoring alike
    video = write_video(tmp_path / "slides.mp4", face_frames[::2], fps=fps)
    sampled = sample_video(video, n=15, stride=2, rng=0)  # preprocessing (python -m frame_extraction)
    assert sampled.indices == list(range(15)) and not sampled.short
    prep = prepare_input(video, DataConfig(size=32), 1, det.face_detector)  # scoring (min_faces 10)
    assert prep.status == ScoreStatus.OK, prep.reason
    assert (prep.sampled, prep.faces, prep.windows) == (15, 15, [list(range(15))])
