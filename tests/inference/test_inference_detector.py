"""The scoring API (dfdetect.Detector): same scores as eval.py, the documented clips, TTA, frames, images, timings."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dfdetect import Detector
from dfdetect.core.checkpoint import CheckpointError
from dfdetect.core.io import load_image, read_csv, save_image
from dfdetect.core.schemas import ScoreStatus
from dfdetect.data import clip_windows
from dfdetect.inference import NEUTRAL_SCORE
from dfdetect.inference.detector import TIMING_STAGES
from dfdetect.inference.evaluate import main as eval_main
from face_crop.crop import crop_face
from face_crop.track import main_faces


@pytest.mark.slow
def test_detector_score_equals_eval_score(weights: Path, det, samples_dir: Path, face_video: Path,
                                          tmp_path: Path) -> None:
    other = samples_dir / "carphone_pristine.mp4"
    # both videos' clips share one batch in eval.py; Detector.score sees one video at a time
    assert eval_main([str(weights), str(face_video), str(other), "--out", str(tmp_path), "--device", "cpu",
                      "--batch-size", "8"]) == 0
    csv_scores = {r["video_name"]: float(r["score"]) for r in read_csv(tmp_path / "predictions.csv")}
    assert det.score(face_video) == pytest.approx(csv_scores[face_video.name], abs=2e-6)
    assert det.score(other) == pytest.approx(csv_scores[other.name], abs=2e-6)


def test_video_score_is_the_model_on_the_documented_clips(det, prepared, p_fake) -> None:
    (result,) = det.predict([prepared])
    expected_frames = [[w[i] for i in clip_windows(len(w), det.cfg.data.frames, 1)[0]] for w in prepared.windows]
    assert len(prepared.windows) == det.clips  # every window of single_face.mp4 has a face
    assert result.status == ScoreStatus.OK and result.clip_frames == expected_frames
    expected = [p_fake([prepared.crops[f] for f in frames]) for frames in expected_frames]
    assert result.clip_scores == pytest.approx(expected, abs=1e-6)
    assert result.score == pytest.approx(np.mean(expected), abs=1e-6)  # at most top_k windows: topk is their mean


def test_tta_averages_the_flipped_view(det, prepared, p_fake) -> None:
    det2 = Detector(det.model, det.cfg, tta=2, face_detector=det.face_detector)
    (result,) = det2.predict([prepared])
    crops = [prepared.crops[f] for f in result.clip_frames[0]]
    plain, flipped = p_fake(crops), p_fake(crops, flip=True)
    assert plain != flipped
    assert result.clip_scores[0] == pytest.approx((plain + flipped) / 2, abs=1e-6)


def test_frame_scores_score_each_crop_as_a_one_frame_clip(det, prepared, p_fake) -> None:
    scores = det.frame_scores(prepared)
    assert sorted(scores) == sorted(prepared.crops)
    for frame in list(scores)[:3]:
        assert scores[frame] == pytest.approx(p_fake([prepared.crops[frame]]), abs=1e-6)


def test_score_many_is_ordered_and_batch_independent(det, samples_dir: Path, face_video: Path) -> None:
    paths = [samples_dir / "no_face.mp4", face_video]
    batched = det.score_many(paths)
    single = Detector(det.model, det.cfg, batch_size=1, face_detector=det.face_detector).score_many(paths)
    assert batched[0] == NEUTRAL_SCORE and batched[1] != NEUTRAL_SCORE
    assert batched == pytest.approx(single, abs=1e-6)


def test_image_score_is_the_model_on_its_crop(det, prepared, tmp_path: Path, p_fake) -> None:
    d = det.cfg.data
    face = tmp_path / "face.jpg"
    crop = prepared.crops[sorted(prepared.crops)[0]]
    save_image(face, cv2.resize(crop, (160, 160), interpolation=cv2.INTER_CUBIC))  # a face crop saved as JPEG
    image = load_image(face)
    box = main_faces(det.face_detector.detect_all([image]))[0].box
    assert det.score(face) == pytest.approx(p_fake([crop_face(image, box, d.margin, d.size)]), abs=1e-6)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    (r,) = det.predict([broken])
    assert (r.status, r.score) == (ScoreStatus.UNREADABLE, NEUTRAL_SCORE) and "broken.jpg" in r.reason


def test_timings_add_up_to_the_time_of_the_call(det, face_video: Path) -> None:
    assert det.face_detector is not None  # built beforehand: building it is no stage
    t: dict[str, float] = {}
    start = time.perf_counter()
    (r,) = det.predict([face_video], timings=t)
    wall = time.perf_counter() - start
    assert r.status == ScoreStatus.OK
    assert set(t) == set(TIMING_STAGES)  # every documented stage ran, and nothing else is reported
    # The stages are disjoint parts of the call: together at most its wall time, and nearly all of it.
    assert sum(t.values()) <= wall
    assert sum(t.values()) >= 0.9 * wall - 0.02, f"stages {t} cover {sum(t.values()):.3f} s of {wall:.3f} s"


def test_load_names_a_missing_key(weights: Path, tmp_path: Path) -> None:
    ckpt = torch.load(weights, map_location="cpu", weights_only=True)
    del ckpt["model"]["head.3.weight"]
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"head\.3\.weight"):
        Detector.load(tmp_path / "bad.pt")
