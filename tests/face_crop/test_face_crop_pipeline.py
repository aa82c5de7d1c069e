"""face_crop.pipeline and .cli: crop_faces, the batch CLI's manifests, the min-faces rule, bad input and resume."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import face_crop.pipeline as pipeline
from dfdetect.core.io import InputError, load_image, read_csv, save_image, write_csv
from dfdetect.core.resume import read_marker
from dfdetect.core.schemas import CROPS_COLUMNS, FRAMES_COLUMNS, REJECTS_COLUMNS, SETTINGS_FILE, STATE_DIR
from face_crop.cli import get_args_parser, main
from face_crop.crop import crop_face
from face_crop.detect import Face, FaceDetector, RetryStats
from face_crop.pipeline import crop_faces, read_frames_manifest, run_crops
from frame_extraction.cli import main as extract_main

# ----------------------------------------------------------------------------------------------------------------
# Helpers and fixtures
# ----------------------------------------------------------------------------------------------------------------


def _write_frames(sample: Callable, videos: list[Path], out: Path, n: int = 15, label: str = "0") -> Path:
    """frame_extraction's output layout: OUT/<video>/<frame:06d>.png and OUT/frames.csv (paths relative to OUT)."""
    rows = []
    for video in videos:
        indices, frames = sample(video, n=n, mode="random")
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
def frames_dir(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path, sample: Callable) -> Path:
    """15 random-start frames each of single_face.mp4, carphone_pristine.mp4 and no_face.mp4."""
    out = tmp_path_factory.mktemp("frames")
    names = ["single_face.mp4", "carphone_pristine.mp4", "no_face.mp4"]
    return _write_frames(sample, [samples_dir / n for n in names], out)


class FixedDetector:
    """The same face box in every readable frame: the pipeline's bookkeeping without MTCNN."""

    detect = FaceDetector.detect  # the real main-face search over this stand-in's detect_all; every frame a key frame
    key_step, last_retry = 1, RetryStats()


    def settings(self) -> dict[str, object]:
        return {"fixed": [10, 10, 60, 60]}

    def detect_all(self, frames: list[np.ndarray | None]) -> list[list[Face]]:
        face = Face(np.array([10, 10, 60, 60], np.float32), 0.99, np.zeros((5, 2), np.float32))
        return [[] if f is None else [face] for f in frames]


# ----------------------------------------------------------------------------------------------------------------
# crop_faces: detect, track, crop for one video
# ----------------------------------------------------------------------------------------------------------------


def test_crop_faces_uses_the_one_crop_function(sample: Callable, detector: FaceDetector, face_video: Path) -> None:
    _, frames = sample(face_video, n=5, mode="linspace")
    pairs = crop_faces(frames + [None], detector, margin=0.25, size=128)
    assert len(pairs) == 6 and pairs[-1] == (None, None)  # an unreadable frame: no face, no crop
    for frame, (crop, face) in zip(frames, pairs):
        assert crop is not None and crop.shape == (128, 128, 3)
        assert np.array_equal(crop, crop_face(frame, face.box, 0.25, 128))


def test_crop_faces_tracks_windows_separately_with_one_detection_call(sample: Callable, detector: FaceDetector,
                                                                     samples_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Two windows far apart in a video (as evaluation with --clips 2 takes them): each is tracked like one
    # preprocessing sample, and the full MTCNN still runs once, over the key frames of both (every 4th and the last
    # of each window: positions 0, 5 and 6, 11); O-Net follows the face on the others.
    _, frames = sample(samples_dir / "WolfgangLanger_Pexels.mp4", n=12)
    first, second = list(range(6)), list(range(6, 12))
    calls = []
    full = detector.detect_all

    def counting(fr):
        calls.append(len(fr))
        return full(fr)

    monkeypatch.setattr(detector, "detect_all", counting)
    together = crop_faces(frames, detector, margin=0.3, size=64, tracks=[first, second])
    assert detector.key_step == 7 and calls == [4]
    apart = crop_faces(frames[:6], detector, 0.3, 64) + crop_faces(frames[6:], detector, 0.3, 64)
    for (a, fa), (b, fb) in zip(together, apart):
        assert (fa is None) == (fb is None)
        if fa is not None:
            # the same boxes (O-Net batched with other frames: float32 rounding) and the same crops
            assert np.allclose(fa.box, fb.box, atol=1e-3) and np.array_equal(a, b)
    assert sum(f is not None for _, f in together) >= 10


# ----------------------------------------------------------------------------------------------------------------
# The batch CLI: manifests, min-faces rule, bad input, resume
# ----------------------------------------------------------------------------------------------------------------


def test_cli_crops_rejects_and_leaves_sources_untouched(frames_dir: Path, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
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


def test_a_video_whose_crop_raises_is_listed_and_redone(frames_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    crops = tmp_path / "crops"
    real_crop = pipeline.crop_face

    def crop_or_fail(image: np.ndarray, box: np.ndarray, margin: float, size: int) -> np.ndarray:
        if image.shape[:2] == (144, 192):  # carphone_pristine.mp4's frames (176x144 stored, 128:117 pixels)
            raise RuntimeError("disk on fire")
        return real_crop(image, box, margin, size)

    monkeypatch.setattr(pipeline, "crop_face", crop_or_fail)
    first = run_crops(frames_dir, crops, FixedDetector(), size=32)
    assert (first.ok, first.rejected, first.resumed, first.frames_processed) == (2, 1, 0, 45)
    assert read_csv(crops / "rejects.csv") == [
        {"video": "carphone_pristine.mp4", "label": "0", "faces": "0", "reason": "error: RuntimeError: disk on fire"}]
    assert {r["video"] for r in read_csv(crops / "crops.csv")} == {"single_face.mp4", "no_face.mp4"}
    # the error marker is on disk but vouches for nothing
    marker = crops / STATE_DIR / "carphone_pristine.mp4.json"
    assert marker.is_file()
    vf = read_frames_manifest(frames_dir)["carphone_pristine.mp4"]
    settings = pipeline.CropSettings(size=32, detector=FixedDetector().settings())
    assert read_marker(marker, {**settings.as_dict(), "frames": vf.frames}) is None
    assert pipeline.load_done(crops, vf, settings) is None

    monkeypatch.setattr(pipeline, "crop_face", real_crop)  # the next run: only the failed video is done again
    second = run_crops(frames_dir, crops, FixedDetector(), size=32)
    assert (second.ok, second.rejected, second.resumed, second.frames_processed) == (3, 0, 2, 15)
    assert read_csv(crops / "rejects.csv") == []
    rows = read_csv(crops / "crops.csv")
    assert sorted({r["video"] for r in rows}) == ["carphone_pristine.mp4", "no_face.mp4", "single_face.mp4"]
    assert len(rows) == 45


def test_settings_file_and_cli_defaults(frames_dir: Path, tmp_path: Path) -> None:
    args = get_args_parser().parse_args(["frames", "crops"])
    defaults = pipeline.CropSettings()
    assert (args.margin, args.size, args.min_faces, args.box_smoothing) == (
        defaults.margin, defaults.size, defaults.min_faces, defaults.box_smoothing)
    frames = Path(shutil.copytree(frames_dir, tmp_path / "frames"))
    (frames / SETTINGS_FILE).write_text('{"n": 15, "stride": 2}')  # frame_extraction's settings travel along
    run_crops(frames, tmp_path / "crops", FixedDetector(), margin=0.2, size=32, min_faces=3)
    assert json.loads((tmp_path / "crops" / SETTINGS_FILE).read_text()) == {
        "margin": 0.2, "size": 32, "min_faces": 3, "min_face_size": 40, "box_smoothing": 1.0,
        "detector": {"fixed": [10, 10, 60, 60]},
        "frames": {"n": 15, "stride": 2}}


def test_read_frames_manifest_checks_the_header_against_the_schema(tmp_path: Path) -> None:
    for missing in FRAMES_COLUMNS:
        header = ",".join(c for c in FRAMES_COLUMNS if c != missing)
        (tmp_path / "frames.csv").write_text(header + "\n")
        with pytest.raises(InputError, match=f"missing {missing}"):
            read_frames_manifest(tmp_path)
    (tmp_path / "frames.csv").write_text(",".join(reversed(FRAMES_COLUMNS)) + "\n")  # any order will do
    assert read_frames_manifest(tmp_path) == {}
