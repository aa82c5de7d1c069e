"""inference.prepare: the sampling windows, the face rule per window, crops, images, and never raising."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dfdetect.core.config import DataConfig
from dfdetect.core.io import load_image, save_image
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference.prepare import needed_faces, prepare_crops, prepare_image, prepare_input, prepare_video
from face_crop.crop import crop_face
from face_crop.detect import Face, FaceDetector, RetryStats
from face_crop.images import TIGHT_COVERAGE, image_coverage
from face_crop.track import main_faces
from frame_extraction.decode import read_frames
from frame_extraction.sampling import eval_windows

BOX = np.array([100, 50, 200, 150], np.float32)  # a face-sized box inside a 640x360 frame


class StubFaces:
    """A face detector that 'finds' one face at :data:`BOX` in the frames at the given positions of its first call
    (of every call with ``every_call``; later calls, the search over the whole video, find nothing otherwise)."""

    detect = FaceDetector.detect  # the real main-face search over this stand-in's detect_all; every frame a key frame
    key_step, last_retry = 1, RetryStats()


    def __init__(self, positions: set[int] | None = None, error: Exception | None = None,
                 every_call: bool = True) -> None:
        self.positions, self.error, self.calls, self.every_call = positions, error, 0, every_call

    def detect_all(self, frames: list[np.ndarray]) -> list[list[Face]]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        keep = set(range(len(frames))) if self.positions is None else self.positions
        if self.calls > 1 and not self.every_call:
            keep = set()
        return [[Face(BOX.copy(), 0.99, np.zeros((5, 2), np.float32))] if p in keep else [] for p in range(len(frames))]


def test_needed_faces_is_the_preprocessing_rule_never_scaled_down() -> None:
    assert needed_faces(15, 10, 15) == 10
    assert needed_faces(30, 10, 15) == 20
    assert needed_faces(4, 10, 15) == 10  # a short video is held to the same rule: too little to judge
    assert needed_faces(2, 15, 15) == 15
    assert needed_faces(0, 10, 15) == 10
    assert needed_faces(1, 0, 15) == 1


def test_prepare_video_uses_only_windows_with_enough_faces(face_video: Path) -> None:
    d = DataConfig(size=32)
    first, second = eval_windows(72, 2, d.sample_frames, d.stride)  # single_face.mp4 has 72 frames
    assert (first[0], first[-1], second[0], second[-1]) == (0, 28, 43, 71)
    timings: dict[str, float] = {}
    # faces in the whole first window (positions 0-14 of the 30 decoded frames) and 9 of the second's 15: 9 < 10
    prep = prepare_video(face_video, d, 2, StubFaces(set(range(15)) | set(range(15, 24))), timings)
    assert prep.status == ScoreStatus.OK and (prep.sampled, prep.faces) == (30, 24)
    assert prep.windows == [first]  # the second window is dropped, its crops stay unused
    assert set(timings) == {"probe", "decode", "detect", "crop"}
    frame = read_frames(face_video, [second[0]])[second[0]]
    assert np.array_equal(prep.crops[second[0]], crop_face(frame, BOX, d.margin, d.size))
    # 9 faces in every window: none is used
    # (then frames spread over the video are searched, in vain, and windows placed on the faces found: still 9)
    few = prepare_video(face_video, d, 2, StubFaces(set(range(9)) | set(range(15, 24)), every_call=False))
    assert few.status == ScoreStatus.TOO_FEW_FACES and few.faces == 18 and not few.crops
    # issue 23 item 11: faces kept against the frames of the windows tried (35: the two, then one placed on the
    # faces), not every decoded frame (42 with the probes)
    assert few.reason == ("a face in 18 of 35 sampled frames (at most 9 in one window), no window of 15 frames with "
                          "10 faces (min_faces 10)")
    none = prepare_video(face_video, d, 2, StubFaces(set()))
    assert (none.status, none.reason) == (ScoreStatus.NO_FACE, "no face in 38 sampled frames")


def test_prepare_input_never_raises(face_video: Path, tmp_path: Path) -> None:
    d = DataConfig(size=32)
    broken = prepare_input(face_video, d, 1, StubFaces(error=RuntimeError("detector broke")))
    assert (broken.status, broken.reason) == (ScoreStatus.ERROR, "RuntimeError: detector broke")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    faces = StubFaces()
    r = prepare_input(text, d, 1, faces)
    assert r.status == ScoreStatus.UNREADABLE and "notes.mp4" in r.reason and faces.calls == 0


def test_prepare_crops_makes_one_window_of_every_crop() -> None:
    crop = np.zeros((32, 32, 3), np.uint8)
    prep = prepare_crops("a.mp4", {8: crop, 2: crop, 5: crop}, DataConfig(frames=4), clips=3)
    assert prep.windows == [[2, 5, 8]] and (prep.clips_per_window, prep.clip_len, prep.faces) == (3, 4, 3)
    empty = prepare_crops("b.mp4", {}, DataConfig(), clips=1)
    assert (empty.status, empty.reason) == (ScoreStatus.NO_FACE, "no face crop listed")


def test_prepare_image_uses_a_face_crop_whole_and_never_guesses(det, prepared, no_face_video: Path,
                                                               tmp_path: Path) -> None:
    d = det.cfg.data
    face = tmp_path / "face.jpg"
    crop = prepared.crops[sorted(prepared.crops)[0]]
    save_image(face, cv2.resize(crop, (160, 160), interpolation=cv2.INTER_CUBIC))  # a face crop saved as JPEG
    image = load_image(face)
    found = main_faces(det.face_detector.detect_all([image]))[0]
    assert found is not None  # MTCNN finds the face in the crop...
    assert image_coverage(found.box, d.margin, 160, 160) >= TIGHT_COVERAGE  # ...and it fills the image: a face crop
    prep = prepare_image(face, d, det.face_detector)
    assert (prep.status, prep.name, prep.windows, prep.clip_len) == (ScoreStatus.OK, "face.jpg", [[0]], 1)
    assert np.array_equal(prep.crops[0], crop_face(image, (0, 0, 160, 160), 0.0, d.size))  # used whole
    # The same face in a larger photo is cut out with the crop function, as in videos.
    photo = np.zeros((480, 640, 3), np.uint8)
    photo[200:360, 300:460] = image
    prep = prepare_image(photo, d, det.face_detector)
    box = main_faces(det.face_detector.detect_all([photo]))[0].box
    assert prep.name == "<image>" and np.array_equal(prep.crops[0], crop_face(photo, box, d.margin, d.size))
    # No face in a cartoon frame: not scored, with the reason (never assumed to be a face crop).
    cartoon = read_frames(no_face_video, [0])[0]  # (540, 960, 3)
    prep = prepare_image(cartoon, d, det.face_detector)
    assert (prep.status, prep.reason, prep.crops) == (ScoreStatus.NO_FACE, "no face found in the 960x540 image", {})
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    prep = prepare_image(broken, d, det.face_detector)
    assert prep.status == ScoreStatus.UNREADABLE and "broken.jpg" in prep.reason


def test_prepared_video_follows_the_documented_sampling(det, prepared) -> None:
    d = det.cfg.data
    windows = eval_windows(72, det.clips, d.sample_frames, d.stride)  # single_face.mp4 has 72 frames
    assert len(windows) == det.clips and windows[0][0] == 0 and windows[-1][-1] == 71
    assert prepared.status == ScoreStatus.OK and prepared.sampled == len({i for w in windows for i in w})
    assert prepared.faces == len(prepared.crops) >= needed_faces(d.sample_frames, d.min_faces, d.sample_frames)
    assert set(prepared.crops) <= {i for w in windows for i in w}
    assert all(c.shape == (d.size, d.size, 3) and c.dtype == np.uint8 for c in prepared.crops.values())


def test_damaged_packets_are_skipped_and_named(face_video: Path, tmp_path: Path) -> None:
    # issue 23 items 3 and 11: decoding goes on past a damaged packet and the reason says how many frames were lost;
    # when the lost frames are what a window lacks, the status is a decode problem, not too_few_faces
    from tests.media import damage_packets

    d = DataConfig(size=32)
    one = prepare_video(damage_packets(face_video, tmp_path / "one.mp4", {6}), d, 1, StubFaces())
    assert one.status == ScoreStatus.OK and (one.sampled, one.faces) == (14, 14)
    assert one.reason == "1 of 15 sampled frames could not be decoded (damaged data skipped)"
    many = prepare_video(damage_packets(face_video, tmp_path / "many.mp4", set(range(1, 72, 2))), d, 1,
                          StubFaces(every_call=False))
    assert many.status == ScoreStatus.UNREADABLE, many.reason
    assert many.reason.startswith("5 of 15 sampled frames could not be decoded (damaged data skipped); "
                                  "a face in 8 of 10 ")
