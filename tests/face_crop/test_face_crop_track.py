"""face_crop.track: main-face tracking on synthetic candidates."""

from __future__ import annotations

import numpy as np

from face_crop.detect import Face
from face_crop.track import box_iou, main_faces, select_main_track


def _face(x1: float, y1: float, x2: float, y2: float, prob: float = 0.99) -> Face:
    return Face(np.array([x1, y1, x2, y2], np.float32), prob, np.zeros((5, 2), np.float32))


def test_select_main_track_keeps_the_main_face() -> None:
    big = [_face(100 + 3 * i, 50, 200 + 3 * i, 170) for i in range(6)]  # moves slowly
    small = [_face(400, 60, 450, 120) for _ in range(6)]  # a second, smaller face in every frame
    frames = [[small[0], big[0]], [big[1], small[1]], [small[2]], [small[3], big[3]], [], [big[5], small[5]]]
    chosen = select_main_track(frames)
    assert chosen[0] is big[0] and chosen[1] is big[1] and chosen[3] is big[3] and chosen[5] is big[5]
    assert chosen[2] is None  # main face missing: no jump to the other person
    assert chosen[4] is None


def test_select_main_track_prefers_the_persistent_face_over_a_one_frame_giant() -> None:
    face = [_face(100, 50, 200, 170) for _ in range(5)]
    giant = _face(300, 0, 640, 360, prob=0.95)  # e.g. a false positive in one frame
    chosen = select_main_track([[face[0]], [giant, face[1]], [face[2]], [face[3]], [face[4]]])
    assert all(c is f for c, f in zip(chosen, face))


def test_select_main_track_follows_a_split_track_by_overlap() -> None:
    # The face jumps (a far-apart sampled frame): the main track breaks, the next frame overlaps the previous box.
    a = [_face(100, 100, 200, 200), _face(100, 100, 200, 200), _face(100, 100, 200, 200)]
    jump = _face(170, 100, 270, 200)  # IoU with the last box ~0.18 < 0.3: a new track, but 0.7 sides away
    other = _face(420, 100, 520, 200)  # another face of the same size, far away
    chosen = select_main_track([[a[0]], [a[1]], [a[2]], [other, jump]], min_iou=0.3)
    assert chosen[3] is jump
    assert select_main_track([[a[0]], [a[1]], [a[2]], [other]], min_iou=0.3)[3] is None
    assert select_main_track([]) == [] and select_main_track([[], []]) == [None, None]


def test_box_iou() -> None:
    assert box_iou(np.array([0, 0, 10, 10]), np.array([0, 0, 10, 10])) == 1.0
    assert box_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 5, 15, 15])) == 25 / 175  # 5x5 overlap, 100 + 100 - 25


def test_main_faces_tracks_each_group_on_its_own() -> None:
    a = [_face(100, 100, 200, 200) for _ in range(4)]  # person a, large, in frames 0-3
    b = [_face(400, 100, 460, 160) for _ in range(3)]  # person b, smaller, in frames 3-5
    detections = [[a[0]], [a[1]], [a[2]], [a[3], b[0]], [b[1]], [b[2]]]
    one = main_faces(detections)  # one track: a is the main face; b far away is never taken
    assert one[:4] == a and one[4:] == [None, None]
    assert one == select_main_track(detections)
    apart = main_faces(detections, tracks=[[0, 1, 2], [3, 4, 5]])  # the second window's main face is b
    assert apart[:3] == a[:3] and apart[3:] == b
    assert main_faces(detections, tracks=[[0, 1]]) == [a[0], a[1], None, None, None, None]  # in no group: None
    assert main_faces([]) == [] and main_faces([[], []], tracks=[]) == [None, None]
