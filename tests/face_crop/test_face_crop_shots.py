"""face_crop.shots and every face track (issue 23 items 1 and 2, the shared crop path): scene cuts found on real
frames, one track per person, tracks never across a cut, and preprocessing keeping one shot of a cut video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dfdetect.core.io import read_csv, save_image, write_csv
from dfdetect.core.schemas import FRAMES_COLUMNS
from face_crop.detect import Face, FaceDetector
from face_crop.pipeline import crop_tracks, main_shot, run_crops
from face_crop.shots import content_change, frame_signature, shot_cuts, split_at_cuts
from face_crop.track import face_tracks, link_places, select_main_track
from frame_extraction.decode import read_frames
from tests.media import shifted

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # a shared 2-core machine: see tests/conftest.py


@pytest.fixture(scope="module")
def man(face_video: Path) -> list[np.ndarray]:
    """single_face.mp4, frames 0, 2, ... 28 (640x360, a man talking)."""
    return list(read_frames(face_video, range(0, 30, 2)).values())


@pytest.fixture(scope="module")
def woman(samples_dir: Path) -> list[np.ndarray]:
    """WolfgangLanger_Pexels.mp4, frames 0, 2, ... 28 (640x360, a woman; her face at x 332-539), moved 130 px left:
    her face where the man's is."""
    return [shifted(f, -130) for f in read_frames(samples_dir / "WolfgangLanger_Pexels.mp4", range(0, 30, 2)).values()]


def _face(x1: float, y1: float, x2: float, y2: float, prob: float = 0.99) -> Face:
    return Face(np.array([x1, y1, x2, y2], np.float32), prob, np.zeros((5, 2), np.float32))


def test_cuts_between_two_videos_and_none_inside_one(man: list[np.ndarray], woman: list[np.ndarray]) -> None:
    assert shot_cuts(man) == []  # a man talking, stride 2: one shot
    assert shot_cuts(man[:8] + woman[8:]) == [8]
    assert shot_cuts(man[:5] + woman[5:10] + man[10:]) == [5, 10]
    half = [cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA) for f in man[7:]]
    assert shot_cuts(man[:7] + half) == []  # the same picture at another size is no cut (a re-encoded stream)
    assert shot_cuts([man[0], None, None, woman[3]]) == [3]  # compared across unreadable frames
    assert content_change(frame_signature(man[0]), frame_signature(woman[0])) > 27
    pieces = split_at_cuts(man[:8] + woman[8:], [list(range(15)), list(range(4, 12))])
    assert pieces == [(0, list(range(8))), (0, list(range(8, 15))), (1, list(range(4, 8))), (1, list(range(8, 12)))]


def test_every_face_is_tracked_the_main_first() -> None:
    big = [_face(100 + 3 * i, 50, 200 + 3 * i, 170) for i in range(6)]  # moves slowly
    small = [_face(400, 60, 450, 120) for _ in range(6)]  # a second, smaller face in every frame
    frames = [[small[0], big[0]], [big[1], small[1]], [small[2]], [small[3], big[3]], [], [big[5], small[5]]]
    main, second = face_tracks(frames)
    assert main == select_main_track(frames) == [big[0], big[1], None, big[3], None, big[5]]
    assert second == [small[0], small[1], small[2], small[3], None, small[5]]
    # a piece of the main face's track (it jumped between far-apart frames) is not a person of its own
    a = [_face(100, 100, 200, 200) for _ in range(3)]
    jump = _face(170, 100, 270, 200)  # IoU 0.18 with a: a new linked track, taken by the main one
    assert face_tracks([[a[0]], [a[1]], [a[2]], [jump]], min_iou=0.3) == [[a[0], a[1], a[2], jump]]
    assert face_tracks([]) == [] and face_tracks([[], []]) == []


def test_persons_are_told_apart_by_place() -> None:
    left, right = np.array([0.1, 0.2, 0.3, 0.6]), np.array([0.6, 0.2, 0.8, 0.6])
    tracks, windows = [left, right, right + 0.01, left - 0.01, left], ["w0", "w0", "w1", "w1", "w2"]
    assert link_places(tracks, windows) == [0, 1, 1, 0, 0]
    assert link_places([left, left + 0.01], ["w0", "w0"]) == [0, 1]  # one window, two faces: two people
    assert link_places([left, np.array([0.1, 0.2, 0.12, 0.24])], ["w0", "w1"]) == [0, 1]  # sizes far apart


def test_no_track_crosses_a_cut(man: list[np.ndarray], woman: list[np.ndarray], detector: FaceDetector) -> None:
    frames = man[:8] + woman[8:]  # a cut to another person at the same place
    tracks = crop_tracks(frames, detector, margin=0.3, size=32)
    assert [(t.group, t.positions, t.rank) for t in tracks] == [(0, list(range(8)), 0), (0, list(range(8, 15)), 0)]
    assert all(c is not None for t in tracks for c in t.crops)
    assert main_shot(tracks) is tracks[0]  # 8 faces against 7


def test_two_people_in_one_frame_are_two_tracks(man: list[np.ndarray], samples_dir: Path,
                                                detector: FaceDetector) -> None:
    other = list(read_frames(samples_dir / "WolfgangLanger_Pexels.mp4", range(0, 16, 2)).values())
    both = [np.hstack([a, b]) for a, b in zip(man[:8], other)]  # 1280x360: the man left, the woman right
    tracks = crop_tracks(both, detector, margin=0.3, size=32)
    assert [(t.positions, t.rank) for t in tracks] == [(list(range(8)), 0), (list(range(8)), 1)]
    for t in tracks:
        assert all(f is not None for f in t.faces)
        assert len({(f.box[0] + f.box[2]) / 2 > 640 for f in t.faces}) == 1  # never jumps to the other side


def test_preprocessing_keeps_the_longest_shot(man: list[np.ndarray], woman: list[np.ndarray], tmp_path: Path,
                                              detector: FaceDetector) -> None:
    # python -m face_crop on the frames of a video with a cut: a training clip must never cross it
    frames_dir, rows = tmp_path / "frames", []
    for k, frame in enumerate(man[:6] + woman[6:]):  # 6 frames of the man, then 9 of the woman
        rel = f"cut.mp4/{2 * k:06d}.png"
        save_image(frames_dir / rel, frame)
        rows.append({"video": "cut.mp4", "label": "0", "frame": 2 * k, "path": rel, "width": 640, "height": 360})
    write_csv(frames_dir / "frames.csv", rows, FRAMES_COLUMNS)
    summary = run_crops(frames_dir, tmp_path / "crops", detector, size=32, min_faces=2)
    assert (summary.ok, summary.crops) == (1, 9)
    assert [int(r["frame"]) for r in read_csv(tmp_path / "crops" / "crops.csv")] == list(range(12, 30, 2))
