"""Face tracks (dfdetect.synth.track) from real detections: short gaps interpolated, detector jitter smoothed."""

from __future__ import annotations

import numpy as np

from dfdetect.synth.track import track_faces
from face_crop.track import box_iou


def test_track_interpolates_short_gaps_only(clip):
    _, faces = clip
    holey = list(faces)
    for i in (5, 6, 7):  # a 3-frame gap: interpolated, close to what the detector saw
        holey[i] = None
    track = track_faces(holey, max_gap=4, sigma=0)
    assert track.valid[5:8].all() and not track.detected[5:8].any()
    for i in (5, 6, 7):
        assert box_iou(track.boxes[i], faces[i].box) > 0.85
    # a gap longer than max_gap, and frames after the last detection, stay without a face
    holey = list(faces[:4]) + [None] * 10 + list(faces[14:20]) + [None] * 4
    track = track_faces(holey, max_gap=4)
    assert track.valid.tolist() == [True] * 4 + [False] * 10 + [True] * 6 + [False] * 4
    assert np.isnan(track.boxes[~track.valid]).all()


def test_track_smoothing_removes_detector_jitter(clip):
    _, faces = clip
    rng = np.random.default_rng(0)
    noisy = [(f.box + rng.normal(0, 4, 4), f.landmarks + rng.normal(0, 2, (5, 2))) for f in faces]
    raw = np.stack([b for b, _ in noisy])
    smooth = track_faces(noisy).boxes
    jitter = lambda b: np.abs(np.diff(b, n=2, axis=0)).mean()  # noqa: E731  (second difference: frame-to-frame jitter)
    assert jitter(smooth) < 0.5 * jitter(raw)
    truth = np.stack([f.box for f in faces])
    assert np.abs(smooth - truth).mean() < np.abs(raw - truth).mean()
