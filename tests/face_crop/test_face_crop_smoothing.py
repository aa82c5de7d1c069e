"""Crop boxes steadied along each face track (face_crop.track.smooth_boxes, ``CropConfig.box_smoothing``): on the real
sample video the detector's frame-to-frame box noise shrinks while the box still follows the face; runs, missing
faces and frame-size changes; the setting travels from face_crop's settings.json and old crops and checkpoints
read as 0 (what they were made with)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.checkpoint import config_from_checkpoint
from dfdetect.core.config import Config, config_to_dict
from dfdetect.core.schemas import SETTINGS_FILE
from dfdetect.training.loop import adopt_preprocessing
from face_crop.detect import Face
from face_crop.pipeline import crop_tracks
from face_crop.track import box_iou, smooth_boxes


def _face(x: float, size: tuple[int, int] | None = None) -> Face:
    return Face(np.array([x, 10, x + 40, 50], np.float32), 0.9, np.full((5, 2), 7, np.float32), size)


def _shake(boxes: np.ndarray) -> float:
    """Median |second difference| of the box centre, a fraction of the box width: the box's own jitter, not the
    face's smooth motion."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (n, 2)
    width = boxes[:, 2] - boxes[:, 0]
    return float(np.median(np.abs(centre[2:] - 2 * centre[1:-1] + centre[:-2]).max(1) / width[1:-1]))


def test_no_smoothing_returns_the_faces_themselves() -> None:
    faces = [_face(10), None, _face(14)]
    assert all(a is b for a, b in zip(smooth_boxes(faces, 0.0), faces))


def test_runs_are_smoothed_on_their_own_and_only_boxes_change() -> None:
    faces = [_face(10), _face(20), None, _face(100), _face(0, (640, 360)), _face(50, (640, 360))]
    out = smooth_boxes(faces, 1.0)
    assert out[2] is None and out[3] is faces[3]  # a run of one face is left as it was
    assert 10 < out[0].box[0] < out[1].box[0] < 20  # pulled towards each other, not towards the face after the gap
    assert 0 < out[4].box[0] < out[5].box[0] < 50  # a new frame size starts a new run (boxes in other pixels)
    assert out[3].box[0] == 100 and out[1].landmarks is faces[1].landmarks and out[1].prob == faces[1].prob
    assert faces[0].box[0] == 10  # the input is not modified
    assert all(f is None or f.box.dtype == np.float32 for f in out)


def test_the_boxes_of_a_real_video_shake_less_and_still_follow_the_face(detector, sample, face_video: Path) -> None:
    """single_face.mp4, 15 frames at stride 2 as frame_extraction samples them: MTCNN's boxes jitter by about 2 % of the
    face from frame to frame (0.018); smoothed with the default sigma by 0.4 %, more than halved, and every
    smoothed box still overlaps its frame's detection (IoU > 0.85)."""
    _, frames = sample(face_video, n=15, mode="random")
    raw, steady = (crop_tracks(frames, detector, 0.3, 32, box_smoothing=s)[0] for s in (0.0, 1.0))
    assert all(f is not None for f in raw.faces)
    before = _shake(np.stack([f.box for f in raw.faces]))
    after = _shake(np.stack([f.box for f in steady.faces]))
    assert before > 0.003 and after < 0.5 * before, (before, after)
    assert min(box_iou(a.box, b.box) for a, b in zip(raw.faces, steady.faces)) > 0.85
    assert not all(np.array_equal(a, b) for a, b in zip(raw.crops, steady.crops))


@pytest.mark.parametrize("written, expected", [({}, 0.0), ({"box_smoothing": 2.0}, 2.0)])
def test_training_adopts_the_box_smoothing_its_crops_were_made_with(tmp_path: Path, written: dict,
                                                                       expected: float) -> None:
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"margin": 0.3, "min_faces": 10, **written}))
    assert Config().data.box_smoothing == 1.0
    assert adopt_preprocessing(Config(), tmp_path / "crops.csv").data.box_smoothing == expected


def test_a_checkpoint_from_before_the_setting_reads_as_per_frame_boxes() -> None:
    raw = config_to_dict(Config())
    del raw["data"]["box_smoothing"]
    assert config_from_checkpoint({"config": raw}).data.box_smoothing == 0.0
    assert config_from_checkpoint({"config": config_to_dict(Config())}).data.box_smoothing == 1.0
