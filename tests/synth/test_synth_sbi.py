"""One self-blended frame (dfdetect.synth.sbi) on a real face: SBI's parameter ranges, face-only changes, the mask."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dfdetect.synth.sbi import BLEND_RATIOS, CANVAS, blend_mask, canvas_mask, sample_blend_params, self_blend


def test_sample_blend_params_seeded_and_in_sbi_ranges():
    draws = [sample_blend_params(np.random.default_rng(s)) for s in range(200)]
    assert sample_blend_params(np.random.default_rng(7)) == draws[7]
    assert len({p.elastic_seed for p in draws}) > 190  # really random across seeds
    for p in draws:
        assert p.ratio in BLEND_RATIOS and p.quality in ("downscale", "sharpen") and p.downscale in (2, 4)
        assert 0.95 <= p.scale <= 1 / 0.95 and abs(p.shift_x) <= 0.04 and abs(p.shift_y) <= 0.02
        assert all(abs(c) <= 20 for c in p.rgb_shift) and abs(p.brightness) <= 0.1 and abs(p.contrast) <= 0.1
        # SBI's HueSaturationValue limits: ±0.3 in uint8 units (added), no visible change
        assert max(abs(p.hue_shift), abs(p.sat_shift), abs(p.val_shift)) <= 0.3
        assert p.blur1 % 2 == 1 and 5 <= p.blur1 <= 25 and p.blur2 % 2 == 1 and 5 <= p.blur2 <= 25
    assert {p.mask_kind for p in draws} == {"hull", "ellipse"}
    assert np.mean([p.ratio == 1.0 for p in draws]) == pytest.approx(0.5, abs=0.12)
    assert np.mean([any(p.rgb_shift) for p in draws]) == pytest.approx(0.3, abs=0.08)  # RGBShift with p = 0.3


def test_self_blend_changes_only_the_face(clip, far_from_face):
    frames, faces = clip
    frame, face = frames[0], faces[0]
    before = frame.copy()
    far = far_from_face(frame.shape, face.box, 0.3)
    x1, y1, x2, y2 = face.box.astype(int)
    for seed in range(12):
        p = sample_blend_params(np.random.default_rng(seed))
        fake = self_blend(frame, face, p)
        assert fake.shape == frame.shape and fake.dtype == np.uint8
        assert np.array_equal(fake[far], frame[far]), f"seed {seed}: pixels far from the face changed"
        inner = np.abs(fake[y1:y2, x1:x2].astype(int) - frame[y1:y2, x1:x2]).mean()
        assert inner > 0.5, f"seed {seed}: the face hardly changed ({inner:.2f})"
        # every changed pixel lies under the mask (exactly unchanged where the mask is zero)
        mask = blend_mask(frame.shape, face, p)
        changed = (fake != frame).any(axis=2)
        assert not (changed & (mask == 0)).any()
        assert mask.max() == pytest.approx(p.ratio, rel=1e-4)
    assert np.array_equal(frame, before), "the input frame was modified"


def test_mask_follows_the_face_and_its_landmarks(clip):
    frames, faces = clip
    face = faces[0]
    p = sample_blend_params(np.random.default_rng(3))
    mask = blend_mask(frames[0].shape, face, p)
    ys, xs = np.nonzero(mask > 0.5 * p.ratio)
    centre = np.array([xs.mean(), ys.mean()])
    box_centre = (face.box[:2] + face.box[2:]) / 2
    assert np.linalg.norm(centre - box_centre) < 0.25 * (face.box[2] - face.box[0])
    for x, y in face.landmarks:  # eyes, nose and mouth corners are all inside the blended region
        assert mask[int(y), int(x)] > 0.5 * p.ratio
    # a hull and an ellipse are different shapes
    lms_canvas = np.array([[100, 110], [156, 110], [128, 140], [105, 165], [151, 165]], float)
    hull = canvas_mask(lms_canvas, dataclasses.replace(p, mask_kind="hull"))
    ell = canvas_mask(lms_canvas, dataclasses.replace(p, mask_kind="ellipse"))
    assert hull.shape == ell.shape == (CANVAS, CANVAS)
    assert np.abs(hull - ell).mean() > 0.01


def test_box_only_faces_use_an_ellipse(clip, far_from_face):
    frames, faces = clip
    p = sample_blend_params(np.random.default_rng(5))
    fake = self_blend(frames[0], (faces[0].box, None), p)
    far = far_from_face(frames[0].shape, faces[0].box, 0.3)
    assert np.array_equal(fake[far], frames[0][far]) and not np.array_equal(fake, frames[0])
