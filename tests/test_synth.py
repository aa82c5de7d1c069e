"""Self-blended fakes (dfdetect.synth.sbi) on the real sample videos: face-only changes, determinism, temporal
consistency vs flicker, detectability, the on-the-fly crop mode, encoding and the ``synth`` CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, read_labels
from dfdetect.synth import sbi as synth
from dfdetect.synth.sbi import (
    BLEND_RATIOS,
    CANVAS,
    blend_clip,
    blend_mask,
    canvas_mask,
    encode_video,
    sample_blend_params,
    self_blend,
    synth_video,
    track_faces,
)

CLIP_FRAMES = 24


@pytest.fixture(scope="module")
def detector():
    from face_crop.detect import FaceDetector

    return FaceDetector()


@pytest.fixture(scope="module")
def clip(face_video: Path, detector) -> tuple[list[np.ndarray], list]:
    """The first frames of single_face.mp4 (a man talking, 640x360) and the detector's face in each."""
    from frame_extraction.decode import read_frames

    frames = list(read_frames(face_video, range(CLIP_FRAMES)).values())
    faces = detector.detect(frames)
    assert len(frames) == CLIP_FRAMES and all(f is not None for f in faces)
    return frames, faces


def grow(box: np.ndarray, frac: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Integer box grown by ``frac`` of its size on each side, clipped to the image."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (max(0, int(x1 - frac * w)), max(0, int(y1 - frac * h)),
            min(shape[1], int(np.ceil(x2 + frac * w))), min(shape[0], int(np.ceil(y2 + frac * h))))


def outside(shape: tuple[int, ...], region: tuple[int, int, int, int]) -> np.ndarray:
    """Bool (H, W): True outside ``region``."""
    keep = np.ones(shape[:2], bool)
    x1, y1, x2, y2 = region
    keep[y1:y2, x1:x2] = False
    return keep


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# --------------------------------------------------------------------------------------------------------------------
# Parameters and one frame
# --------------------------------------------------------------------------------------------------------------------


def test_sample_blend_params_seeded_and_in_sbi_ranges():
    draws = [sample_blend_params(np.random.default_rng(s)) for s in range(200)]
    assert sample_blend_params(np.random.default_rng(7)) == draws[7]
    assert len({p.elastic_seed for p in draws}) > 190  # really random across seeds
    for p in draws:
        assert p.ratio in BLEND_RATIOS and p.quality in ("downscale", "sharpen") and p.downscale in (2, 4)
        assert 0.95 <= p.scale <= 1 / 0.95 and abs(p.shift_x) <= 0.04 and abs(p.shift_y) <= 0.02
        assert all(abs(c) <= 20 for c in p.rgb_shift) and abs(p.brightness) <= 0.1 and abs(p.contrast) <= 0.1
        assert p.blur1 % 2 == 1 and 5 <= p.blur1 <= 25 and p.blur2 % 2 == 1 and 5 <= p.blur2 <= 25
    assert {p.mask_kind for p in draws} == {"hull", "ellipse"}
    assert np.mean([p.ratio == 1.0 for p in draws]) == pytest.approx(0.5, abs=0.12)


def test_self_blend_changes_only_the_face(clip):
    frames, faces = clip
    frame, face = frames[0], faces[0]
    before = frame.copy()
    far = outside(frame.shape, grow(face.box, 0.3, frame.shape))
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


def test_box_only_faces_use_an_ellipse(clip):
    frames, faces = clip
    p = sample_blend_params(np.random.default_rng(5))
    fake = self_blend(frames[0], (faces[0].box, None), p)
    far = outside(frames[0].shape, grow(faces[0].box, 0.3, frames[0].shape))
    assert np.array_equal(fake[far], frames[0][far]) and not np.array_equal(fake, frames[0])


# --------------------------------------------------------------------------------------------------------------------
# Tracks and clips
# --------------------------------------------------------------------------------------------------------------------


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
    for i in range(12, CLIP_FRAMES):
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
    assert len({p for p in flick.params}) == CLIP_FRAMES

    # mask shape relative to the face: the canvas masks (face-normalised) barely change along a consistent clip
    def canvas_masks(res):
        out = []
        for i, p in enumerate(res.params):
            box, lms = res.track.face(i)
            c2f = synth._canvas_to_frame(box.astype(float))
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
    from face_crop.crop import crop_face, points_to_crop

    frames, faces = clip
    crops, boxes, lms = [], [], []
    for i in range(0, 20, 2):
        f, face = frames[i], faces[i]
        h, w = f.shape[:2]
        crops.append(crop_face(f, face.box, margin=0.3, size=224))
        boxes.append(points_to_crop(face.box.reshape(2, 2), face.box, 0.3, w, h, 224).reshape(4))
        lms.append(points_to_crop(face.landmarks, face.box, 0.3, w, h, 224))
    return np.stack(crops), np.stack(boxes), np.stack(lms)


def test_blend_clip_shape_determinism_and_face_only(crop_clip):
    crops, boxes, lms = crop_clip
    out = blend_clip(crops, boxes, lms, np.random.default_rng(9))
    assert out.shape == crops.shape and out.dtype == np.uint8
    assert np.array_equal(out, blend_clip(crops, boxes, lms, np.random.default_rng(9)))
    assert not np.array_equal(out, blend_clip(crops, boxes, lms, np.random.default_rng(10)))
    for t in range(len(crops)):
        far = outside(crops[t].shape, grow(boxes[t], 0.25, crops[t].shape))
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


# --------------------------------------------------------------------------------------------------------------------
# Encoding and the CLI
# --------------------------------------------------------------------------------------------------------------------


def test_encode_video_keeps_size_fps_and_frames(clip, tmp_path):
    from frame_extraction.decode import probe_video, read_all_frames

    frames, _ = clip
    out = encode_video(tmp_path / "a.mp4", frames[:12], fps=24000 / 1001)
    info = probe_video(out)
    assert (info.num_frames, info.width, info.height) == (12, 640, 360)
    assert info.fps == pytest.approx(23.976, abs=1e-3)
    back = read_all_frames(out)
    mse = np.mean([(a.astype(float) - b) ** 2 for a, b in zip(back, frames)])
    assert 10 * np.log10(255**2 / mse) > 30  # PSNR: faithful apart from codec noise
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]  # no temporary file left behind
    # same frames, same bytes (multi-threaded x264 is not deterministic: the same seed must give the same data set)
    again = encode_video(tmp_path / "again.mp4", frames[:12], fps=24000 / 1001)
    assert again.read_bytes() == out.read_bytes()
    again.unlink()
    # odd sizes lose their last row/column (yuv420p needs even sizes)
    odd = encode_video(tmp_path / "odd.mp4", [f[:143, :175] for f in frames[:3]], fps=30)
    assert (probe_video(odd).width, probe_video(odd).height) == (174, 142)


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory, clip, no_face_video: Path) -> Path:
    """A short real face video, a short cartoon (no face) and a file that is not a video."""
    from frame_extraction.decode import read_frames

    d = tmp_path_factory.mktemp("synth_in")
    frames, _ = clip
    encode_video(d / "talk.mp4", frames[:16], fps=30)
    encode_video(d / "cartoon.mp4", list(read_frames(no_face_video, range(8)).values()), fps=30)
    (d / "broken.mp4").write_bytes(b"this is not a video")
    return d


def test_synth_cli_writes_fakes_labels_and_recorded_skips(cli_inputs, clip, tmp_path):
    from frame_extraction.decode import read_all_frames

    out = tmp_path / "out"
    argv = [str(cli_inputs), str(out), "--per-video", "2", "--seed", "3"]  # reals re-encoded by default
    assert synth.main(argv) == 0
    labels = read_labels(out / "labels.csv")
    assert sorted(labels.values()) == [0, 1, 1]  # two fakes and the re-encoded real of talk.mp4
    assert all(synth.NAME_PATTERN.match(n) for n in labels)
    meta = read_csv(out / "meta.csv")
    skipped = {r["source"]: r["reason"] for r in meta if r["status"] == "skipped"}
    assert set(skipped) == {"cartoon.mp4", "broken.mp4"}
    assert "no face" in skipped["cartoon.mp4"] and "not a readable video" in skipped["broken.mp4"]
    # decoded fakes vs the decoded real: codec noise far from the face, a real change on it
    real = read_all_frames(out / next(n for n, t in labels.items() if t == 0))
    fakes = [read_all_frames(out / n) for n, t in labels.items() if t == 1]
    box = clip[1][0].box  # the man's face in the first frame (he barely moves in 16 frames)
    far = outside(real[0].shape, grow(box, 0.7, real[0].shape))
    x1, y1, x2, y2 = box.astype(int)
    for fake in fakes:
        assert len(fake) == len(real) == 16
        assert np.mean([np.abs(a[far].astype(int) - b[far]).mean() for a, b in zip(fake, real)]) < 1.5
        assert np.mean([np.abs(a[y1:y2, x1:x2].astype(int) - b[y1:y2, x1:x2]).mean()
                        for a, b in zip(fake, real)]) > 1.0
    assert not np.array_equal(fakes[0][5], fakes[1][5])  # two different fakes per video
    # resumable: a second run writes nothing new
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("v*.mp4")}
    assert synth.main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("v*.mp4")} == stamps


def test_synth_cli_flicker_option(cli_inputs, tmp_path):
    out = tmp_path / "flick"
    argv = [str(cli_inputs / "talk.mp4"), str(out), "--flicker", "--max-frames", "8", "--no-reals"]
    assert synth.main(argv) == 0
    (row,) = [r for r in read_csv(out / "meta.csv") if r["status"] == "ok"]  # --no-reals: the fake alone
    assert row["flicker"] == "1" and row["frames"] == "8" and '"flicker"' in row["params"]
    from frame_extraction.decode import probe_video

    assert probe_video(out / row["video_name"]).num_frames == 8


def test_synth_cli_never_overwrites_the_users_files(cli_inputs, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "v0000.mp4").write_bytes(b"the user's own video")
    assert synth.main([str(cli_inputs / "talk.mp4"), str(out), "--max-frames", "4"]) == 0
    assert (out / "v0000.mp4").read_bytes() == b"the user's own video"
    assert "v0000.mp4" not in read_labels(out / "labels.csv") and len(read_labels(out / "labels.csv")) == 2
    # OUT holding the inputs: refused (the fakes' neutral names could land on the user's videos)
    assert synth.main([str(out / "v0000.mp4"), str(out)]) == 2


def test_synth_cli_exit_codes(cli_inputs, tmp_path):
    assert synth.main([str(tmp_path / "missing.mp4"), str(tmp_path / "o1")]) == 2
    assert synth.main([str(cli_inputs / "broken.mp4"), str(tmp_path / "o2")]) == 1
    assert read_csv(tmp_path / "o2" / "meta.csv")[0]["status"] == "skipped"
