"""The fakes that exist only in time (dfdetect.synth.motion) on 24 real frames of single_face.mp4 with their real
landmarks: every fake frame's face statistics stay within what the real clip shows between its own frames, the
manipulation differs across frames, and a temporal difference statistic tells the clip from the real one where the
design changes the amount of motion (facejitter, facewarp, a shuffled or frozen mouth); facewarp leaves no seam."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dfdetect.synth import GENERATORS, TIME_ONLY, generate
from dfdetect.synth.motion import warp_face

SEEDS = range(4)
TOLERANCE = 0.15  # share of the real clip's own range (max - min over its frames) allowed beyond it on either side


def _faces(faces):
    return [(f.box, f.landmarks) for f in faces]


def _face_stats(img: np.ndarray, box: np.ndarray) -> np.ndarray:
    """What a frame-level detector sees of a face: (mean, std, Laplacian variance) of the grey face box."""
    x1, y1, x2, y2 = box.astype(int)
    g = cv2.cvtColor(img[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY).astype(np.float64)
    return np.array([g.mean(), g.std(), cv2.Laplacian(g, cv2.CV_64F).var()])


def _in_mask_motion(frames, masks, reference) -> tuple[float, float]:
    """Mean |frame t - frame t-1| over the mask (> 0.5) of consecutive changed frames, of ``frames`` and of
    ``reference`` (the real clip) on the same pixels."""
    fake, real = [], []
    for t in range(1, len(frames)):
        if masks[t] is None or masks[t - 1] is None:
            continue
        m = (masks[t] > 0.5) | (masks[t - 1] > 0.5)
        fake.append(np.abs(frames[t][m].astype(float) - frames[t - 1][m]).mean())
        real.append(np.abs(reference[t][m].astype(float) - reference[t - 1][m]).mean())
    return float(np.mean(fake)), float(np.mean(real))


def test_the_motion_generators_are_registered_as_needing_time():
    assert TIME_ONLY == ("mouthretime", "eyefreeze", "facejitter", "facewarp", "timeblend")
    for name in TIME_ONLY:
        g = GENERATORS[name]
        assert g.needs_time and not g.needs_donors and g.source


@pytest.mark.parametrize("name", TIME_ONLY)
def test_every_frame_looks_like_a_real_frame_and_the_manipulation_changes_over_time(name, clip):
    frames, faces = clip
    real = np.array([_face_stats(f, face.box) for f, face in zip(frames, faces)])  # (T, 3)
    lo, hi = real.min(0), real.max(0)
    slack = TOLERANCE * (hi - lo)
    for seed in SEEDS:
        out = generate(name, frames, _faces(faces), np.random.default_rng(seed))
        changed = [t for t, m in enumerate(out.manipulated) if m]
        assert len(changed) >= 3, f"{name} seed {seed}: only {len(changed)} frames changed"
        for t in changed:  # a frame-level statistic does not tell any one fake frame from the real clip
            s = _face_stats(out.frames[t], faces[t].box)
            assert (s >= lo - slack).all() and (s <= hi + slack).all(), (
                f"{name} seed {seed} frame {t}: face stats {s.round(2)} outside the real clip's "
                f"[{lo.round(2)}, {hi.round(2)}] +- {TOLERANCE:.0%}")
        # ...while what was done differs from frame to frame: the difference to the real frame is not constant
        diffs = np.array([np.abs(out.frames[t].astype(float) - frames[t]).mean() for t in changed])
        assert diffs.std() > 0.1 * diffs.mean(), f"{name} seed {seed}: the same change in every frame"
        records = [out.records[t] for t in changed]
        if name == "facejitter":
            assert len({(r["dx"], r["dy"]) for r in records}) == len(records)  # a new jitter per frame
        elif name == "facewarp":
            assert len({r["peak"] for r in records}) == len(records)  # a new field per frame
        elif name == "timeblend":  # each changed frame: its region from another frame, moved or bent
            assert all(r["source"] != t or r["dx"] or r["warp"] is not None for r, t in zip(records, changed))
        else:
            assert all(r["source"] != t for r, t in zip(records, changed))  # each region from another frame


@pytest.mark.parametrize("name, factor", [("facejitter", 2.0), ("facewarp", 1.3)])
def test_the_face_shakes_or_boils_across_frames(name, factor, clip):
    """The inner face moves between consecutive fake frames more than the real face did (FTCN's cue)."""
    frames, faces = clip
    for seed in SEEDS:
        out = generate(name, frames, _faces(faces), np.random.default_rng(seed))
        fake, real = _in_mask_motion(out.frames, out.masks, frames)
        assert fake > factor * real, f"{name} seed {seed}: in-mask motion {fake:.2f} vs real {real:.2f}"


def _ring_sharpness(frames, masks, reference) -> float:
    """Mean over changed frames of Laplacian variance (fake / real) in the band where the mask crosses from kept to
    replaced (0.05 < mask < 0.95): a paste mixes two misaligned images there and blurs it (a seam a frame model can
    learn); a warp moves pixels without mixing."""
    ratios = []
    for t, m in enumerate(masks):
        if m is None:
            continue
        ring = (m > 0.05) & (m < 0.95)
        fake, real = (cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F)[ring].var()
                      for f in (frames[t], reference[t]))
        ratios.append(fake / real)
    return float(np.mean(ratios))


def test_facewarp_leaves_no_seam_where_facejitter_pastes_one(clip):
    """In the mask's edge band, facejitter's paste blurs the face (Laplacian variance down by a fifth); facewarp keeps
    it as sharp as the real frame, while its inner face does move."""
    frames, faces = clip
    sharp = {}
    for name in ("facejitter", "facewarp"):
        sharp[name] = np.mean([_ring_sharpness(out.frames, out.masks, frames) for out in
                               (generate(name, frames, _faces(faces), np.random.default_rng(s)) for s in SEEDS)])
    assert sharp["facejitter"] < 0.9 and abs(sharp["facewarp"] - 1) < 0.07, sharp
    out, mask = warp_face(frames[0], _faces(faces)[0], np.random.default_rng(0).normal(size=(2, 4, 4)), 0.03)
    assert np.abs(out.astype(float) - frames[0])[mask > 0.95].mean() > 1.0  # the inner face did move


def test_a_shuffled_mouth_moves_more_and_a_frozen_one_less_than_the_real_mouth(clip):
    frames, faces = clip
    seen = set()
    for seed in range(12):
        out = generate("mouthretime", frames, _faces(faces), np.random.default_rng(seed))
        mode = out.extra["mode"]
        if mode not in ("shuffle", "freeze"):
            continue
        fake, real = _in_mask_motion(out.frames, out.masks, frames)
        if mode == "shuffle":
            assert fake > 1.5 * real, f"seed {seed}: shuffled mouth motion {fake:.2f} vs real {real:.2f}"
        else:
            assert fake < 0.8 * real, f"seed {seed}: frozen mouth motion {fake:.2f} vs real {real:.2f}"
        seen.add(mode)
    assert seen == {"shuffle", "freeze"}


def test_eyefreeze_holds_one_frames_eyes(clip):
    frames, faces = clip
    holds = 0
    for seed in range(6):
        out = generate("eyefreeze", frames, _faces(faces), np.random.default_rng(seed))
        sources = {r["source"] for r in out.records if r is not None}
        start, stop = out.extra["span"]
        if out.extra["mode"] == "hold":
            holds += 1
            assert len(sources) == 1 and start <= next(iter(sources)) < stop
        else:  # slow motion: a stretch of k frames replays about k / 3 of them
            assert 1 <= len(sources) <= (stop - start) // 3 + 1
    assert holds >= 1


def test_one_image_has_no_time_and_is_left_alone(clip):
    frames, faces = clip
    for name in ("mouthretime", "eyefreeze"):  # their regions come from another frame: one image has none
        out = generate(name, frames[:1], _faces(faces[:1]), np.random.default_rng(0))
        assert out.masks == [None] and out.frames[0] is frames[0]


def test_timeblend_draws_every_kind_of_change_and_region_over_seeds(clip):
    """The generic time-only fake spans the family: over seeds it retimes, jitters and warps, on the whole inner face
    and on smaller random regions, and in every fake the region's pixels differ from the real frame's (a reversed
    face moves as much as the real one did, so the amount of motion alone cannot say it)."""
    frames, faces = clip
    parts, regions = set(), set()
    for seed in range(12):
        out = generate("timeblend", frames, _faces(faces), np.random.default_rng(seed))
        parts.update(out.extra["parts"])
        regions.add(out.extra["region"])
        gaps = [np.abs(out.frames[t].astype(float) - frames[t])[m > 0.5].mean() for t, m in enumerate(out.masks)
                if m is not None]
        assert np.mean(gaps) > 1.0, f"seed {seed} {out.extra}: the region barely differs from the real one"
    assert parts == {"retime", "jitter", "warp"} and regions == {"face", "blob"}
