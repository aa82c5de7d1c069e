"""The scoring API (dfdetect.Detector) and ``python -m dfdetect score``: same scores as eval.py, images, frames, TTA."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, save_image


@pytest.fixture(scope="session")
def weights(tiny_checkpoint: Path) -> Path:
    """best.pt of the tiny training run on the sample crops (tests/fixtures.py; 64 px, T = 4, 2 val clips)."""
    return tiny_checkpoint / "best.pt"


@pytest.fixture(scope="module")
def det(weights: Path):

    from dfdetect import Detector

    return Detector.load(weights, device="cpu")


@pytest.fixture(scope="module")
def prepared(det, face_video: Path):
    return det.prepare_video(face_video)


def _p_fake(det, crops: list[np.ndarray], flip: bool = False) -> float:
    """P(fake) of one clip computed by hand: the documented transform, the model, a sigmoid."""
    import torch

    from dfdetect.data.dataset import to_tensor_clip

    x = to_tensor_clip(np.stack(crops), det.mean, det.std)  # (T, C, H, W)
    if flip:
        x = torch.flip(x, dims=[-1])
    with torch.no_grad():
        return float(torch.sigmoid(det.model(x[None])))


@pytest.mark.slow
def test_detector_score_equals_eval_score(weights: Path, det, samples_dir: Path, face_video: Path,
                                          tmp_path: Path) -> None:
    from dfdetect.inference.evaluate import main

    other = samples_dir / "carphone_pristine.mp4"
    # both videos' clips share one batch in eval.py; Detector.score sees one video at a time
    assert main([str(weights), str(face_video), str(other), "--out", str(tmp_path), "--device", "cpu",
                 "--batch-size", "8"]) == 0
    csv_scores = {r["video_name"]: float(r["score"]) for r in read_csv(tmp_path / "predictions.csv")}
    assert det.score(face_video) == pytest.approx(csv_scores[face_video.name], abs=2e-6)
    assert det.score(other) == pytest.approx(csv_scores[other.name], abs=2e-6)


def test_prepared_video_follows_the_documented_sampling(det, prepared) -> None:
    from dfdetect.inference.detector import eval_windows

    d = det.cfg.data
    windows = eval_windows(72, det.clips, d.sample_frames, d.stride)  # single_face.mp4 has 72 frames
    assert len(windows) == det.clips and windows[0][0] == 0 and windows[-1][-1] == 71
    assert prepared.status == "ok" and prepared.sampled == len({i for w in windows for i in w})
    assert prepared.faces == len(prepared.crops) >= needed(det)
    assert set(prepared.crops) <= {i for w in windows for i in w}
    assert all(c.shape == (d.size, d.size, 3) and c.dtype == np.uint8 for c in prepared.crops.values())


def needed(det) -> int:
    from dfdetect.inference.detector import needed_faces

    return needed_faces(det.cfg.data.sample_frames, det.cfg.data.min_faces, det.cfg.data.sample_frames)


def test_video_score_is_the_model_on_the_documented_clips(det, prepared) -> None:
    from dfdetect.data.dataset import clip_windows

    result = next(iter(det.predict([prepared])))
    expected_frames = [[w[i] for i in clip_windows(len(w), det.cfg.data.frames, 1)[0]] for w in prepared.windows]
    assert len(prepared.windows) == det.clips  # every window of single_face.mp4 has a face
    assert result.status == "ok" and result.clip_frames == expected_frames
    expected = [_p_fake(det, [prepared.crops[f] for f in frames]) for frames in expected_frames]
    assert result.clip_scores == pytest.approx(expected, abs=1e-6)
    assert result.score == pytest.approx(np.mean(expected), abs=1e-6)  # aggregate "mean"


def test_tta_averages_the_flipped_view(weights: Path, det, prepared) -> None:
    from dfdetect import Detector

    det2 = Detector(det.model, det.cfg, tta=2, face_detector=det.face_detector)
    result = next(iter(det2.predict([prepared])))
    crops = [prepared.crops[f] for f in result.clip_frames[0]]
    plain, flipped = _p_fake(det, crops), _p_fake(det, crops, flip=True)
    assert plain != flipped
    assert result.clip_scores[0] == pytest.approx((plain + flipped) / 2, abs=1e-6)


def test_frame_scores_score_each_crop_as_a_one_frame_clip(det, prepared) -> None:
    scores = det.frame_scores(prepared)
    assert sorted(scores) == sorted(prepared.crops)
    for frame in list(scores)[:3]:
        assert scores[frame] == pytest.approx(_p_fake(det, [prepared.crops[frame]]), abs=1e-6)


def test_score_many_is_ordered_and_batch_independent(det, samples_dir: Path, face_video: Path) -> None:
    from dfdetect import Detector

    paths = [samples_dir / "no_face.mp4", face_video]
    batched = det.score_many(paths)
    single = Detector(det.model, det.cfg, batch_size=1, face_detector=det.face_detector).score_many(paths)
    assert batched[0] == 0.5 and batched[1] != 0.5
    assert batched == pytest.approx(single, abs=1e-6)


def test_score_on_face_image_and_fallback_image(det, prepared, samples_dir: Path, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    import cv2

    from frame_extraction.decode import read_frames

    face = tmp_path / "face.jpg"
    crop = prepared.crops[sorted(prepared.crops)[0]]
    save_image(face, cv2.resize(crop, (160, 160), interpolation=cv2.INTER_CUBIC))  # a face crop saved as JPEG
    with caplog.at_level(logging.WARNING):
        s = det.score(face)
    assert isinstance(s, float) and 0.0 <= s <= 1.0
    assert "whole image" not in caplog.text  # MTCNN finds the face in the crop: it is re-cropped as in videos
    # No face in a cartoon frame: the whole image is scored (letterboxed), with a warning.
    cartoon = tmp_path / "cartoon.png"
    save_image(cartoon, read_frames(samples_dir / "no_face.mp4", [0])[0])
    with caplog.at_level(logging.WARNING):
        r = next(iter(det.predict([cartoon])))
    assert r.status == "ok" and 0.0 <= r.score <= 1.0 and "whole image" in caplog.text
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    r = next(iter(det.predict([broken])))
    assert (r.status, r.score) == ("unreadable", 0.5) and "broken.jpg" in r.reason


def test_timings_cover_every_stage(det, face_video: Path) -> None:
    t: dict[str, float] = {}
    list(det.predict([face_video], timings=t))
    assert {"probe", "decode", "detect", "crop", "transform", "model"} <= set(t)
    assert all(v >= 0 for v in t.values()) and t["detect"] > 0 and t["model"] > 0


def test_load_names_a_missing_key(weights: Path, tmp_path: Path) -> None:
    import torch

    from dfdetect import Detector
    from dfdetect.core.checkpoint import CheckpointError

    ckpt = torch.load(weights, map_location="cpu", weights_only=True)
    del ckpt["model"]["head.3.weight"]
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"head\.3\.weight"):
        Detector.load(tmp_path / "bad.pt")


def test_score_cli(weights: Path, face_video: Path, samples_dir: Path, tmp_path: Path,
                   capsys: pytest.CaptureFixture) -> None:
    from dfdetect.__main__ import main as dfdetect_main
    from dfdetect.inference.detector import main

    assert main([str(weights), str(face_video), "--frames"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "score", "status", "faces", "reason"]
    assert "single_face.mp4" in out and "per-frame" in out and "frame      0" in out
    assert dfdetect_main(["score", str(weights), str(samples_dir / "no_face.mp4")]) == 1
    assert "no_face" in capsys.readouterr().out
    assert main([str(weights), str(tmp_path / "missing.mp4")]) == 2
