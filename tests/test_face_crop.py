"""face_crop: crop geometry, MTCNN on the real sample videos, main-face tracking, the batch CLI and its resume."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import load_image, read_csv, save_image, write_csv
from face_crop.crop import crop_face, expand_box, points_to_crop
from face_crop.detect import Face, FaceDetector, box_iou, detection_scale, select_main_track
from face_crop.pipeline import CROPS_COLUMNS, FRAMES_COLUMNS, REJECTS_COLUMNS, crop_faces, run_crops

# ----------------------------------------------------------------------------------------------------------------
# Helpers and fixtures
# ----------------------------------------------------------------------------------------------------------------


def _sample(video: Path, n: int = 15, mode: str = "linspace") -> tuple[list[int], list[np.ndarray]]:
    from frame_extraction import sample_video

    s = sample_video(video, n=n, stride=2, mode=mode, rng=0)
    return list(s.indices), list(s.frames)


def _write_frames(videos: list[Path], out: Path, n: int = 15, label: str = "0") -> Path:
    """frame_extraction's output layout: OUT/<video>/<frame:06d>.png and OUT/frames.csv (paths relative to OUT)."""
    rows = []
    for video in videos:
        indices, frames = _sample(video, n=n, mode="random")
        for idx, frame in zip(indices, frames):
            rel = f"{video.name}/{idx:06d}.png"
            save_image(out / rel, frame)
            rows.append({"video": video.name, "label": label, "frame": idx, "path": rel,
                         "width": frame.shape[1], "height": frame.shape[0]})
    write_csv(out / "frames.csv", rows, FRAMES_COLUMNS)
    return out


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Path:
    """15 random-start frames each of single_face.mp4, carphone_pristine.mp4 and no_face.mp4."""
    out = tmp_path_factory.mktemp("frames")
    names = ["single_face.mp4", "carphone_pristine.mp4", "no_face.mp4"]
    return _write_frames([samples_dir / n for n in names], out)


def _face(x1: float, y1: float, x2: float, y2: float, prob: float = 0.99) -> Face:
    return Face(np.array([x1, y1, x2, y2], np.float32), prob, np.zeros((5, 2), np.float32))


# ----------------------------------------------------------------------------------------------------------------
# Crop geometry (no detector)
# ----------------------------------------------------------------------------------------------------------------


def test_expand_box_margin_and_square_in_the_middle() -> None:
    # 100 x 100 box, 30 % per side -> 160 x 160 around the same centre.
    assert expand_box((200, 100, 300, 200), 0.3, 640, 360) == (170, 70, 330, 230)
    # 80 wide x 120 tall: grown to 128 x 192, squared to the longer side around the centre (240, 160).
    x1, y1, x2, y2 = expand_box((200, 100, 280, 220), 0.3, 640, 360)
    assert (x2 - x1, y2 - y1) == (192, 192)
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == (240, 160)
    # No margin: the square of the longer side.
    assert expand_box((10, 20, 30, 60), 0.0, 100, 100) == (0, 20, 40, 60)


@pytest.mark.parametrize(
    "box, expect",
    [
        ((0, 150, 60, 210), (0, 144, 72, 216)),  # left border: shifted right, still square
        ((590, 150, 640, 210), (568, 144, 640, 216)),  # right border: shifted left
        ((300, 0, 360, 40), (294, 0, 366, 72)),  # top border
        ((300, 330, 360, 360), (294, 288, 366, 360)),  # bottom border
        ((-20, -30, 40, 30), (0, 0, 72, 72)),  # box partly outside the top-left corner
        ((600, 320, 700, 400), (520, 240, 640, 360)),  # box partly outside the bottom-right corner
    ],
)
def test_expand_box_shifts_inside_at_every_border(box: tuple, expect: tuple) -> None:
    got = expand_box(box, 0.1, 640, 360)
    assert got == expect
    x1, y1, x2, y2 = got
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360 and x2 - x1 == y2 - y1


def test_expand_box_clamps_when_the_square_does_not_fit() -> None:
    # A face filling a 176x144 frame: the 1.6x square (~200 px) is wider and taller than the frame -> the whole frame.
    assert expand_box((40, 10, 150, 130), 0.3, 176, 144) == (0, 0, 176, 144)
    # Taller than the frame only: clamped vertically, square-sized horizontally.
    x1, y1, x2, y2 = expand_box((200, 20, 300, 140), 0.3, 640, 160)
    assert (y1, y2) == (0, 160) and x2 - x1 == 192


def test_expand_box_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        expand_box((0, 0, np.nan, 10), 0.3, 100, 100)
    with pytest.raises(ValueError):
        expand_box((0, 0, 10, 10), 0.3, 0, 100)


@pytest.mark.parametrize("size", [64, 224, 300])
def test_crop_face_output_size_and_content(size: int) -> None:
    img = np.zeros((360, 640, 3), np.uint8)
    img[100:200, 200:300] = (200, 50, 10)  # the "face" box
    crop = crop_face(img, (200, 100, 300, 200), margin=0.3, size=size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    # The box is the middle 100/160 of the crop: there the colour, outside black.
    c, q = size // 2, size // 16
    assert tuple(crop[c, c]) == (200, 50, 10)
    assert crop[:q, :q].max() == 0 and crop[-q:, -q:].max() == 0
    lo, hi = round(size * 30 / 160), round(size * 130 / 160)
    colour = np.array([200, 50, 10])
    assert np.abs(crop[c, lo + 3] - colour).max() <= 12 and crop[c, lo - 3].max() < 30  # cubic rings a little
    assert np.abs(crop[c, hi - 4] - colour).max() <= 12 and crop[c, hi + 2].max() < 30


def test_crop_face_pads_to_square_keeping_aspect_when_clamped() -> None:
    # 640x160 frame, tall box: region is 192 wide x 160 tall -> resized to 224 x 187, padded top/bottom with black.
    img = np.full((160, 640, 3), 90, np.uint8)
    crop = crop_face(img, (200, 20, 300, 140), margin=0.3, size=224)
    assert crop.shape == (224, 224, 3)
    new_h = round(160 * 224 / 192)
    pad = (224 - new_h) // 2
    assert pad > 10
    assert crop[: pad - 1].max() == 0 and crop[pad + new_h + 1 :].max() == 0  # black bands, top and bottom
    assert (crop[pad + 1 : pad + new_h - 1] == 90).all()  # the frame content, not stretched over the bands
    assert (crop[:, 0] == 90).any() and (crop[:, -1] == 90).any()  # full width used


def test_crop_face_never_modifies_the_frame_and_handles_tiny_frames() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (144, 176, 3), dtype=np.uint8)
    before = img.copy()
    crop = crop_face(img, (60, 40, 110, 100), margin=0.3, size=224)  # enlarging (78 px region -> 224)
    assert crop.shape == (224, 224, 3)
    assert np.array_equal(img, before)
    assert crop_face(img, (5, 5, 6, 6), margin=0.0, size=32).shape == (32, 32, 3)  # a 1-pixel box


@pytest.mark.parametrize(
    "shape, box, margin, size",
    [
        ((360, 640), (250, 100, 330, 200), 0.3, 224),  # enlarge, square, central
        ((1080, 1920), (800, 300, 1200, 760), 0.3, 224),  # shrink (INTER_AREA)
        ((360, 640), (0, 120, 70, 200), 0.2, 160),  # left border: shifted
        ((360, 640), (560, 280, 640, 360), 0.2, 160),  # bottom-right corner: shifted
        ((160, 640), (200, 20, 300, 140), 0.3, 224),  # clamped vertically -> padded
        ((144, 176), (30, 10, 150, 130), 0.3, 224),  # clamped both ways
    ],
)
def test_points_to_crop_agrees_with_crop_face(shape: tuple, box: tuple, margin: float, size: int) -> None:
    h, w = shape
    x1, y1, x2, y2 = expand_box(box, margin, w, h)
    rng = np.random.default_rng(1)
    for _ in range(3):
        img = np.zeros((h, w, 3), np.uint8)
        # A marked pixel (a 3x3 blob for shrinking cases) somewhere in the crop region, away from its edges.
        r = int(rng.integers(y1 + 4, y2 - 4))
        c = int(rng.integers(x1 + 4, x2 - 4))
        img[r - 1 : r + 2, c - 1 : c + 2] = 255
        crop = crop_face(img, box, margin, size).astype(np.float32).sum(axis=2)
        u, v = points_to_crop(np.array([[c + 0.5, r + 0.5]]), box, margin, w, h, size)[0]  # pixel centre
        # Intensity-weighted centre of the marked blob in the crop (pixel centres at index + 0.5).
        ys, xs = np.nonzero(crop > crop.max() * 0.2)
        wts = crop[ys, xs]
        cu, cv_ = (xs + 0.5) @ wts / wts.sum(), (ys + 0.5) @ wts / wts.sum()
        assert abs(cu - u) < 1.0 and abs(cv_ - v) < 1.0, (u, v, cu, cv_)
    # The corners of the expanded region map to the corners of the resized content.
    corners = points_to_crop(np.array([[x1, y1], [x2, y2]], float), box, margin, w, h, size)
    assert corners.min() >= -1e-4 and corners.max() <= size + 1e-4
    assert np.isclose(corners[1] - corners[0], size, atol=1.0).any()  # the longer side spans the crop


# ----------------------------------------------------------------------------------------------------------------
# Tracking (synthetic candidates)
# ----------------------------------------------------------------------------------------------------------------


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


def test_box_iou_and_detection_scale() -> None:
    assert box_iou(np.array([0, 0, 10, 10]), np.array([0, 0, 10, 10])) == 1.0
    assert box_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0
    assert detection_scale(1920, 1080) == 0.25 and detection_scale(640, 360) == 0.75
    assert detection_scale(176, 144) == 1.0  # never upscaled


# ----------------------------------------------------------------------------------------------------------------
# MTCNN on the real sample videos
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, min_found",
    [("single_face.mp4", 14), ("carphone_pristine.mp4", 14), ("WolfgangLanger_Pexels.mp4", 13), ("no_face.mp4", 0)],
)
def test_detector_on_sample_videos(detector: FaceDetector, samples_dir: Path, name: str, min_found: int) -> None:
    _, frames = _sample(samples_dir / name, n=15, mode="linspace")
    assert len(frames) == 15
    faces = detector.detect(frames)
    found = [f for f in faces if f is not None]
    if name == "no_face.mp4":
        assert found == [] and all(not c for c in detector.detect_all(frames))
        return
    assert len(found) >= min_found
    h, w = frames[0].shape[:2]
    for f in found:
        assert f.box.dtype == np.float32 and f.box.shape == (4,) and f.landmarks.shape == (5, 2)
        x1, y1, x2, y2 = f.box
        # Inside the frame: a face cut by the border (WolfgangLanger) may stick out a little.
        inside = (min(x2, w) - max(x1, 0)) * (min(y2, h) - max(y1, 0)) / ((x2 - x1) * (y2 - y1))
        assert x1 < x2 and y1 < y2 and inside > 0.85
        assert 0.15 * h <= x2 - x1 <= 0.9 * h and 0.15 * h <= y2 - y1 <= 0.95 * h  # a talking head, not a speck
        assert 0.7 <= f.prob <= 1.0
        # Landmarks are inside the box (eyes above the mouth) in full-resolution pixels.
        lm = f.landmarks
        assert (lm[:, 0] > x1).all() and (lm[:, 0] < x2).all() and (lm[:, 1] > y1).all() and (lm[:, 1] < y2).all()
        assert lm[:2, 1].mean() < lm[3:, 1].mean()
    # The same person: consecutive chosen boxes are about the same size.
    sides = np.array([f.box[2] - f.box[0] for f in found])
    assert sides.max() / sides.min() < 1.6


def test_detection_on_downscaled_copy_maps_back_to_full_resolution(detector: FaceDetector, face_video: Path) -> None:
    _, frames = _sample(face_video, n=4, mode="linspace")
    full = FaceDetector(max_side=10_000)  # no downscaling: the reference
    small = FaceDetector(max_side=240)  # 640x360 -> 240x135
    for a, b in zip(full.detect(frames), small.detect(frames)):
        assert a is not None and b is not None
        assert box_iou(a.box, b.box) > 0.75
        assert np.abs(a.landmarks - b.landmarks).max() < 0.08 * (a.box[2] - a.box[0])


def _paste_small_copy(frame: np.ndarray, face: Face, scale: float) -> np.ndarray:
    import cv2

    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    pad = int(0.3 * (x2 - x1))
    patch = frame[max(y1 - pad, 0) : y2 + pad, max(x1 - pad, 0) : x2 + pad]
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = frame.copy()
    ph, pw = patch.shape[:2]
    out[10 : 10 + ph, 10 : 10 + pw] = patch  # top-left corner, away from the man's face
    return out


def test_tracking_keeps_the_same_person_when_a_second_face_appears(detector: FaceDetector, face_video: Path) -> None:
    _, frames = _sample(face_video, n=10, mode="linspace")
    ref = detector.detect(frames)
    assert all(f is not None for f in ref)
    # Frames 4..9 get a smaller copy of the face pasted beside it; frame 8's own face is blanked out.
    mixed = list(frames[:4]) + [_paste_small_copy(f, r, 0.7) for f, r in zip(frames[4:], ref[4:])]
    x1, y1, x2, y2 = (int(v) for v in ref[8].box)
    mixed[8] = mixed[8].copy()
    mixed[8][max(y1, 0) : y2, max(x1, 0) : x2] = 128
    all_faces = detector.detect_all(mixed)
    assert sum(len(c) >= 2 for c in all_faces[4:]) >= 4  # the copy really is detected as a second face
    chosen = detector.detect(mixed)
    for i, (c, r) in enumerate(zip(chosen, ref)):
        if i == 8:
            assert c is None or box_iou(c.box, r.box) > 0.5  # never the pasted copy
        else:
            assert c is not None and box_iou(c.box, r.box) > 0.7, i


def test_crop_faces_uses_the_one_crop_function(detector: FaceDetector, face_video: Path) -> None:
    _, frames = _sample(face_video, n=5, mode="linspace")
    pairs = crop_faces(frames + [None], detector, margin=0.25, size=128)
    assert len(pairs) == 6 and pairs[-1] == (None, None)  # an unreadable frame: no face, no crop
    for frame, (crop, face) in zip(frames, pairs):
        assert crop is not None and crop.shape == (128, 128, 3)
        assert np.array_equal(crop, crop_face(frame, face.box, 0.25, 128))


def test_crop_faces_tracks_windows_separately_with_one_detection_call(
    detector: FaceDetector, samples_dir: Path
) -> None:
    # Two windows far apart in a video (as evaluation with --clips 2 takes them): each is tracked like one
    # preprocessing sample, and MTCNN still runs once over all the frames.
    _, frames = _sample(samples_dir / "WolfgangLanger_Pexels.mp4", n=12)
    first, second = list(range(6)), list(range(6, 12))
    calls = []

    class Counting:
        def detect_all(self, fr):
            calls.append(len(fr))
            return detector.detect_all(fr)

    together = crop_faces(frames, Counting(), margin=0.3, size=64, tracks=[first, second])
    assert calls == [12]
    apart = crop_faces(frames[:6], detector, 0.3, 64) + crop_faces(frames[6:], detector, 0.3, 64)
    for (a, fa), (b, fb) in zip(together, apart):
        assert (fa is None) == (fb is None)
        if fa is not None:
            assert np.array_equal(fa.box, fb.box) and np.array_equal(a, b)
    assert sum(f is not None for _, f in together) >= 10


def test_detector_mixed_sizes_tiny_and_missing_frames(detector: FaceDetector, face_video: Path) -> None:
    import cv2

    _, frames = _sample(face_video, n=2, mode="linspace")
    half = cv2.resize(frames[1], (320, 180), interpolation=cv2.INTER_AREA)
    tiny = np.zeros((12, 16, 3), np.uint8)  # smaller than the minimum face: searched for nothing, no error
    cands = detector.detect_all([frames[1], None, half, tiny])  # one MTCNN batch per frame size
    assert len(cands[0]) >= 1 and cands[1] == [] and len(cands[2]) >= 1 and cands[3] == []
    assert box_iou(cands[0][0].box / 2, cands[2][0].box) > 0.7  # the half-size frame's box is in its own pixels
    assert detector.detect([tiny, None]) == [None, None]
    assert detector.detect([]) == [] and detector.detect([None]) == [None]


# ----------------------------------------------------------------------------------------------------------------
# The batch CLI: manifests, min-faces rule, bad input, resume
# ----------------------------------------------------------------------------------------------------------------


def test_cli_crops_rejects_and_leaves_sources_untouched(frames_dir: Path, tmp_path: Path, caplog) -> None:
    from face_crop.__main__ import main

    frames = tmp_path / "frames"
    frames.mkdir()
    import shutil

    shutil.copytree(frames_dir, frames, dirs_exist_ok=True)
    # One unreadable frame in single_face.mp4: counted as no face, with a warning; the rest goes on.
    bad = sorted((frames / "single_face.mp4").glob("*.png"))[3]
    bad.write_bytes(b"not a png")
    before = _tree_digest(frames)
    crops = tmp_path / "crops"
    with caplog.at_level(logging.WARNING):
        assert main([str(frames), str(crops), "--min-faces", "10", "--size", "96", "--workers", "2"]) == 0
    assert any("unreadable frame" in r.message and bad.name in r.message for r in caplog.records)
    assert _tree_digest(frames) == before  # nothing deleted or modified

    rows = read_csv(crops / "crops.csv")
    assert rows and list(rows[0]) == list(CROPS_COLUMNS)
    by_video: dict[str, list[dict]] = {}
    for r in rows:
        by_video.setdefault(r["video"], []).append(r)
    assert set(by_video) == {"single_face.mp4", "carphone_pristine.mp4"}
    assert 13 <= len(by_video["single_face.mp4"]) <= 14  # 15 frames, one unreadable
    assert len(by_video["carphone_pristine.mp4"]) >= 14
    for r in rows:
        img = load_image(crops / r["path"])
        assert img.shape == (96, 96, 3)
        assert r["path"] == f"{r['video']}/{int(r['frame']):06d}.png" and r["label"] == "0"
        frame = load_image(frames / r["path"])  # the source frame has the same relative path
        assert (int(r["width"]), int(r["height"])) == (frame.shape[1], frame.shape[0])
        box = [float(r[k]) for k in ("x1", "y1", "x2", "y2")]
        lm = np.array(r["landmarks"].split(), float).reshape(5, 2)
        assert box[0] < lm[:, 0].min() and lm[:, 0].max() < box[2] and 0.7 <= float(r["prob"]) <= 1
    rejects = read_csv(crops / "rejects.csv")
    assert list(rejects[0]) == list(REJECTS_COLUMNS)
    assert [(r["video"], r["faces"], r["reason"]) for r in rejects] == [("no_face.mp4", "0", "0 faces < min 10")]
    assert not (crops / "no_face.mp4").exists()  # a rejected video's crops are not written


def test_min_faces_rule_and_exit_code_when_nothing_passes(frames_dir: Path, tmp_path: Path) -> None:
    from face_crop.__main__ import main

    crops = tmp_path / "crops"
    assert main([str(frames_dir), str(crops), "--min-faces", "16"]) == 1  # 15 frames each: all rejected
    rejects = {r["video"]: r for r in read_csv(crops / "rejects.csv")}
    assert set(rejects) == {"single_face.mp4", "carphone_pristine.mp4", "no_face.mp4"}
    assert rejects["single_face.mp4"]["reason"] == f"{rejects['single_face.mp4']['faces']} faces < min 16"
    assert int(rejects["single_face.mp4"]["faces"]) >= 14
    assert read_csv(crops / "crops.csv") == []
    assert (frames_dir / "frames.csv").is_file() and len(list(frames_dir.rglob("*.png"))) == 45


def test_resume_skips_finished_videos(frames_dir: Path, tmp_path: Path, detector: FaceDetector) -> None:
    crops = tmp_path / "crops"
    first = run_crops(frames_dir, crops, detector, margin=0.3, size=64, min_faces=10)
    assert (first.ok, first.rejected, first.resumed, first.frames_processed) == (2, 1, 0, 45)
    manifest = (crops / "crops.csv").read_bytes()
    mtimes = {p: p.stat().st_mtime_ns for p in crops.rglob("*.png")}

    again = run_crops(frames_dir, crops, detector, margin=0.3, size=64, min_faces=10)
    assert (again.ok, again.rejected, again.resumed, again.frames_processed) == (2, 1, 3, 0)
    assert (crops / "crops.csv").read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in crops.rglob("*.png")} == mtimes  # nothing rewritten

    # An interrupted video (its marker never written) is redone; the others are kept.
    (crops / ".state" / "carphone_pristine.mp4.json").unlink()
    partial = run_crops(frames_dir, crops, detector, margin=0.3, size=64, min_faces=10)
    assert (partial.resumed, partial.frames_processed) == (2, 15)
    assert (crops / "crops.csv").read_bytes() == manifest

    # Other settings: every video is redone, the new crop size is what gets listed.
    changed = run_crops(frames_dir, crops, detector, margin=0.3, size=48, min_faces=10)
    assert (changed.resumed, changed.frames_processed) == (0, 45)
    row = read_csv(crops / "crops.csv")[0]
    assert load_image(crops / row["path"]).shape == (48, 48, 3)


def test_bad_input_exits_2(tmp_path: Path) -> None:
    from face_crop.__main__ import main

    assert main([str(tmp_path / "missing"), str(tmp_path / "crops")]) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "frames.csv").write_text("video,frame,path\na.mp4,0,a.mp4/000000.png\n")
    assert main([str(bad), str(tmp_path / "crops")]) == 2
    (bad / "frames.csv").write_text("video,label,frame,path,width,height\na.mp4,0,x,a.mp4/000000.png,1,1\n")
    assert main([str(bad), str(tmp_path / "crops")]) == 2
    (bad / "frames.csv").write_text("video,label,frame,path,width,height\n../up,0,0,a.png,1,1\n")
    assert main([str(bad), str(tmp_path / "crops")]) == 2
    assert not (tmp_path / "crops" / "crops.csv").exists()


def test_videos_without_frames_are_recorded(tmp_path: Path, detector: FaceDetector) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    write_csv(frames / "frames.csv", [], FRAMES_COLUMNS)
    write_csv(frames / "videos.csv", [{"video": "broken.mp4", "label": "1", "status": "skipped",
                                       "reason": "not a video"}], ["video", "label", "status", "reason"])
    summary = run_crops(frames, tmp_path / "crops", detector)
    assert summary.ok == 0 and summary.rejected == 1
    assert read_csv(tmp_path / "crops" / "rejects.csv") == [
        {"video": "broken.mp4", "label": "1", "faces": "0", "reason": "no frames (skipped: not a video)"}
    ]


@pytest.mark.slow
def test_end_to_end_from_videos(samples_dir: Path, tmp_path: Path) -> None:
    """frame_extraction's CLI on two sample videos, then this CLI on its output."""
    from face_crop.__main__ import main
    from frame_extraction.extract import main as extract_main

    videos = [samples_dir / "single_face.mp4", samples_dir / "WolfgangLanger_Pexels.mp4"]
    assert extract_main([*map(str, videos), str(tmp_path / "frames")]) == 0
    assert main([str(tmp_path / "frames"), str(tmp_path / "crops"), "--workers", "2"]) == 0
    rows = read_csv(tmp_path / "crops" / "crops.csv")
    frames = read_csv(tmp_path / "frames" / "frames.csv")
    assert {r["video"] for r in rows} == {v.name for v in videos}
    assert len(rows) >= len(frames) - 2
    assert {(r["video"], r["frame"]) for r in rows} <= {(r["video"], r["frame"]) for r in frames}
    assert read_csv(tmp_path / "crops" / "rejects.csv") == []
    for r in rows:
        assert load_image(tmp_path / "crops" / r["path"]).shape == (224, 224, 3)
