"""Self-blended clips (dfdetect.synth.video) on the real sample video: determinism, faceless frames left alone,
temporal consistency vs flicker, fakes the detector still finds, and the on-the-fly crop mode of training."""

from __future__ import annotations

import numpy as np
import pytest

from dfdetect.synth import sbi
from dfdetect.synth.sbi import canvas_mask
from dfdetect.synth.video import blend_clip, synth_video
from face_crop.crop import crop_face, points_to_crop
from face_crop.track import box_iou


def test_synth_video_is_deterministic_from_its_seed(clip):
    frames, faces = clip
    a = synth_video(frames[:8], faces[:8], np.random.default_rng(11))
    b = synth_video(frames[:8], faces[:8], np.random.default_rng(11))
    c = synth_video(frames[:8], faces[:8], np.random.default_rng(12))
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert not all(np.array_equal(x, y) for x, y in zip(a.frames, c.frames))


def test_frames_without_a_face_are_left_unchanged(clip):
    frames, faces = clip
    holey = list(faces[:12]) + [None] * 12  # the face "leaves" for the rest of the clip
    res = synth_video(frames, holey, np.random.default_rng(0))
    assert all(res.params[i] is not None for i in range(12))
    for i in range(12, len(frames)):
        assert res.params[i] is None and np.array_equal(res.frames[i], frames[i])


def _colour_shift_per_frame(frames, fakes, faces) -> np.ndarray:
    """Mean signed change (fake - real) inside the centre of the face box, per frame and channel: (T, 3)."""
    out = []
    for real, fake, f in zip(frames, fakes, faces):
        x1, y1, x2, y2 = f.box
        w, h = x2 - x1, y2 - y1
        sl = np.s_[int(y1 + 0.3 * h) : int(y2 - 0.3 * h), int(x1 + 0.3 * w) : int(x2 - 0.3 * w)]
        out.append((fake[sl].astype(float) - real[sl]).mean(axis=(0, 1)))
    return np.array(out)


def test_consistent_mode_is_consistent_and_flicker_is_not(clip):
    frames, faces = clip
    cons = synth_video(frames, faces, np.random.default_rng(4), consistent=True)
    flick = synth_video(frames, faces, np.random.default_rng(4), consistent=False)
    # parameters: one set for the clip vs one per frame
    assert len({p for p in cons.params}) == 1
    assert len(set(flick.params)) == len(frames)

    # mask shape relative to the face: the canvas masks (face-normalised) barely change along a consistent clip
    def canvas_masks(res):
        out = []
        for i, p in enumerate(res.params):
            box, lms = res.track.face(i)
            c2f = sbi._canvas_to_frame(box.astype(float))
            f2c = np.linalg.inv(c2f)
            out.append(canvas_mask((f2c[:2, :2] @ lms.T).T + f2c[:2, 2], p) > 0.05)
        return out

    def mean_iou(masks):
        return np.mean([(a & b).sum() / (a | b).sum() for a, b in zip(masks[:-1], masks[1:])])

    iou_cons, iou_flick = mean_iou(canvas_masks(cons)), mean_iou(canvas_masks(flick))
    assert iou_cons > 0.9 and iou_flick < iou_cons - 0.1, (iou_cons, iou_flick)
    # pixels: the colour change of the face is steady along a consistent clip and jumps in flicker mode
    steady = np.diff(_colour_shift_per_frame(frames, cons.frames, faces), axis=0).std()
    jumpy = np.diff(_colour_shift_per_frame(frames, flick.frames, faces), axis=0).std()
    assert jumpy > 3 * steady, (steady, jumpy)


def test_fakes_are_detected_like_the_reals(clip, detector):
    frames, faces = clip
    fakes = synth_video(frames, faces, np.random.default_rng(1)).frames
    found = detector.detect(fakes)
    assert all(f is not None for f in found)
    assert min(box_iou(a.box, b.box) for a, b in zip(found, faces)) > 0.8


# --------------------------------------------------------------------------------------------------------------------
# On-the-fly mode (training crops)
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crop_clip(clip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 face crops (stride 2) cut as preprocessing cuts them, with boxes and landmarks mapped into the crops."""
    frames, faces = clip
    crops, boxes, lms = [], [], []
    for i in range(0, 20, 2):
        f, face = frames[i], faces[i]
        h, w = f.shape[:2]
        crops.append(crop_face(f, face.box, margin=0.3, size=224))
        boxes.append(points_to_crop(face.box.reshape(2, 2), face.box, 0.3, w, h, 224).reshape(4))
        lms.append(points_to_crop(face.landmarks, face.box, 0.3, w, h, 224))
    return np.stack(crops), np.stack(boxes), np.stack(lms)


def test_blend_clip_shape_determinism_and_face_only(crop_clip, far_from_face):
    crops, boxes, lms = crop_clip
    out = blend_clip(crops, boxes, lms, np.random.default_rng(9))
    assert out.shape == crops.shape and out.dtype == np.uint8
    assert np.array_equal(out, blend_clip(crops, boxes, lms, np.random.default_rng(9)))
    assert not np.array_equal(out, blend_clip(crops, boxes, lms, np.random.default_rng(10)))
    for t in range(len(crops)):
        far = far_from_face(crops[t].shape, boxes[t], 0.25)
        assert far.sum() > 0.08 * far.size  # the test means something: a real border around the face
        assert np.array_equal(out[t][far], crops[t][far])
        x1, y1, x2, y2 = boxes[t].astype(int)
        assert np.abs(out[t][y1:y2, x1:x2].astype(int) - crops[t][y1:y2, x1:x2]).mean() > 0.5
    # without landmarks (box ellipse), and in flicker mode
    assert blend_clip(crops, boxes, None, np.random.default_rng(0)).shape == crops.shape
    assert blend_clip(crops, boxes, lms, np.random.default_rng(0), consistent=False).shape == crops.shape


def test_blend_clip_rejects_bad_input(crop_clip):
    crops, boxes, _ = crop_clip
    with pytest.raises(ValueError, match="uint8 crops"):
        blend_clip(crops.astype(np.float32), boxes, None, np.random.default_rng(0))
    with pytest.raises(ValueError):
        blend_clip(crops, boxes[:3], None, np.random.default_rng(0))
