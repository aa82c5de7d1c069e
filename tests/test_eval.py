"""eval.py / inference.evaluate: predictions, statuses, metrics, plots, resume, manifests; aggregation functions."""

from __future__ import annotations

import json
import logging
import shutil
import types
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, save_image, write_csv
from dfdetect.inference.detector import aggregate_scores, confident_strategy, eval_windows, needed_faces, tta_views
from dfdetect.inference.evaluate import evaluate_scores, main, output_paths

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def weights(tiny_checkpoint: Path) -> Path:
    """best.pt of the tiny training run on the sample crops (tests/fixtures.py; 64 px, T = 4, 2 val clips)."""
    return tiny_checkpoint / "best.pt"


@pytest.fixture(scope="session")
def corrupt_video(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3 KB of a real sample: a header and no decodable frame."""
    data = (samples_dir / "single_face.mp4").read_bytes()
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.mp4"
    path.write_bytes(data[:3000])
    return path


HELD_OUT = ("face_noface.mov", "no_face.mp4", "noface_face.mov")
LABELS = {"face_noface.mov": 0, "no_face.mp4": 1, "noface_face.mov": 1, "corrupt.mp4": 0}


@pytest.fixture(scope="session")
def eval_run(weights: Path, samples_dir: Path, corrupt_video: Path, tmp_path_factory: pytest.TempPathFactory):
    """One eval.py run on held-out sample videos + a corrupt file, with labels and 2 clips per video."""
    tmp = tmp_path_factory.mktemp("eval")
    labels = tmp / "labels.csv"
    write_csv(labels, [{"video_name": k, "target": v} for k, v in LABELS.items()], ["video_name", "target"])
    inputs = [str(samples_dir / HELD_OUT[0]), str(corrupt_video), *(str(samples_dir / n) for n in HELD_OUT[1:])]
    out = tmp / "out"
    rc = main([str(weights), *inputs, "--labels", str(labels), "--out", str(out), "--clips", "2",
               "--device", "cpu"])
    return types.SimpleNamespace(rc=rc, out=out, inputs=inputs, labels=labels, weights=weights)


# ---------------------------------------------------------------------------------------------------- pure functions


def test_confident_strategy_fake_branch_averages_the_confident_scores() -> None:
    s = [0.95] * 6 + [0.3] * 4  # 6 of 10 above 0.8: more than 11/32 * 10 and more than 10 // 2.5
    assert confident_strategy(s) == pytest.approx(0.95)
    assert aggregate_scores(s, "mean") == pytest.approx(0.69)


def test_confident_strategy_real_branch_needs_more_than_90_percent_low() -> None:
    assert confident_strategy([0.05] * 19 + [0.6]) == pytest.approx(0.05)  # 95% below 0.2
    assert confident_strategy([0.05] * 9 + [0.6]) == pytest.approx(0.105)  # exactly 90%: plain mean


def test_confident_strategy_falls_back_to_the_mean() -> None:
    s = [0.9, 0.5, 0.5, 0.5, 0.1]  # 1 confident fake of 5: not more than 5 // 2.5 = 2
    assert confident_strategy(s) == pytest.approx(np.mean(s))


def test_confident_strategy_matches_the_winner_at_32_frames() -> None:
    # The published rule at n = 32: fakes > 11 and fakes > 32 // 2.5 = 12, so 12 confident frames are not enough.
    twelve = [0.9] * 12 + [0.5] * 20
    thirteen = [0.9] * 13 + [0.5] * 19
    assert confident_strategy(twelve) == pytest.approx(np.mean(twelve))
    assert confident_strategy(thirteen) == pytest.approx(0.9)


def test_aggregate_scores_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        aggregate_scores([0.5], "median")
    with pytest.raises(ValueError, match="no scores"):
        aggregate_scores([], "mean")


def test_eval_windows_spread_over_the_video_at_the_training_stride() -> None:
    windows = eval_windows(300, clips=3, n=15, stride=2)
    assert [w[0] for w in windows] == [0, 136, 271]
    assert all(np.diff(w).tolist() == [2] * 14 for w in windows)
    assert windows[-1][-1] == 299  # the last window ends on the last frame
    assert eval_windows(20, clips=4, n=15, stride=2) == [list(range(0, 20, 2))]  # too short: one partial window
    assert eval_windows(0, clips=2) == []


def test_needed_faces_scales_the_preprocessing_rule() -> None:
    assert needed_faces(15, 10, 15) == 10
    assert needed_faces(30, 10, 15) == 20
    assert needed_faces(4, 10, 15) == 3
    assert needed_faces(2, 15, 15) == 2


def test_tta_views_flip_then_shift_inside_the_window() -> None:
    views = tta_views([2, 3], 5, 6)
    assert views == [([2, 3], False), ([2, 3], True), ([3, 4], False), ([3, 4], True), ([1, 2], False),
                     ([1, 2], True)]
    assert tta_views([0, 1, 2], 3, 5) == [([0, 1, 2], False), ([0, 1, 2], True)]  # no room: duplicates dropped


def test_output_paths_for_a_folder_or_a_csv(tmp_path: Path) -> None:
    p = output_paths(tmp_path / "out")
    assert p.predictions == tmp_path / "out" / "predictions.csv"
    assert p.status.name == "predictions_status.csv"
    q = output_paths(tmp_path / "res" / "sub.csv")
    assert q.predictions.name == "sub.csv" and q.status.name == "sub_status.csv" and q.metrics.parent.name == "res"


def test_evaluate_scores_matches_sklearn_and_skips_unlabelled(caplog: pytest.LogCaptureFixture) -> None:
    from sklearn.metrics import log_loss, roc_auc_score

    names = ["a", "b", "c", "d", "e"]
    scores = [0.1, 0.7, 0.4, 0.9, 0.5]
    labels = {"a": 0, "b": 0, "c": 1, "d": 1}
    with caplog.at_level(logging.WARNING):
        m, y = evaluate_scores(names, scores, ["ok"] * 4 + ["no_face"], labels)
    assert y == [0, 0, 1, 1, None]
    assert m["n"] == 4 and m["n_unlabelled"] == 1 and m["n_unscored"] == 0
    assert m["auc"] == pytest.approx(roc_auc_score([0, 0, 1, 1], scores[:4]))
    assert m["log_loss"] == pytest.approx(log_loss([0, 0, 1, 1], scores[:4]))
    assert "no label" in caplog.text


# ---------------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_eval_writes_every_video_once_in_input_order(eval_run) -> None:
    assert eval_run.rc == 0
    rows = read_csv(eval_run.out / "predictions.csv")
    assert list(rows[0]) == ["video_name", "score"]
    assert [r["video_name"] for r in rows] == [Path(p).name for p in eval_run.inputs]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)


@pytest.mark.slow
def test_eval_records_unscorable_videos_with_neutral_score_and_reason(eval_run) -> None:
    status = {r["video_name"]: r for r in read_csv(eval_run.out / "predictions_status.csv")}
    assert status["no_face.mp4"]["status"] == "no_face"
    assert status["no_face.mp4"]["reason"] and float(status["no_face.mp4"]["score"]) == 0.5
    assert status["corrupt.mp4"]["status"] == "unreadable" and status["corrupt.mp4"]["reason"]
    assert float(status["corrupt.mp4"]["score"]) == 0.5
    # A man then a cartoon, and the reverse: of the two clip windows (start, end), only the one on the man is used.
    for name in ("face_noface.mov", "noface_face.mov"):
        row = status[name]
        assert row["status"] == "ok" and 0 < int(row["faces"]) < int(row["sampled"])
        assert len(row["clip_scores"].split()) == 1 and float(row["clip_scores"]) == pytest.approx(float(row["score"]))


@pytest.mark.slow
def test_eval_metrics_match_sklearn_on_the_written_scores(eval_run) -> None:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    rows = read_csv(eval_run.out / "predictions.csv")
    y = [LABELS[r["video_name"]] for r in rows]
    s = [float(r["score"]) for r in rows]
    m = json.loads((eval_run.out / "metrics.json").read_text())
    assert m["n"] == 4 and m["n_real"] == 2 and m["n_fake"] == 2 and m["n_unscored"] == 2
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-6)
    assert m["log_loss"] == pytest.approx(log_loss(y, s), abs=1e-5)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, [int(v >= 0.5) for v in s]))
    for name in ("roc.png", "scores_hist.png"):
        data = (eval_run.out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


@pytest.mark.slow
def test_eval_resumes_without_scoring_again(eval_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfdetect.inference.detector import Detector

    out = tmp_path / "out"
    shutil.copytree(eval_run.out, out)
    (out / "predictions.csv").unlink()

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a finished video was scored again")

    monkeypatch.setattr(Detector, "prepare_video", boom)
    rc = main([str(eval_run.weights), *eval_run.inputs, "--labels", str(eval_run.labels), "--out", str(out),
               "--clips", "2", "--device", "cpu"])
    assert rc == 0
    assert (out / "predictions.csv").read_text() == (eval_run.out / "predictions.csv").read_text()


def _write_manifest(root: Path, weights: Path, video: Path) -> None:
    """A crops.csv/rejects.csv like face_crop's, from the detector's own crops of ``video``."""
    from dfdetect.inference.detector import Detector

    det = Detector.load(weights)
    prep = det.prepare_video(video)
    assert prep.status == "ok"
    rows = []
    for frame, crop in prep.crops.items():
        rel = f"{video.name}/{frame:06d}.png"
        save_image(root / rel, crop)
        rows.append({"video": video.name, "label": 0, "frame": frame, "path": rel, "x1": 0, "y1": 0, "x2": 10,
                     "y2": 10, "prob": 0.99, "landmarks": ""})
    write_csv(root / "crops.csv", rows, "video,label,frame,path,x1,y1,x2,y2,prob,landmarks".split(","))
    write_csv(root / "rejects.csv", [{"video": "cartoon.mp4", "label": 1, "faces": 0, "reason": "no face found"}],
              ["video", "label", "faces", "reason"])


@pytest.mark.slow
def test_eval_on_a_crop_manifest_uses_its_labels_and_rejects(weights: Path, face_video: Path,
                                                             tmp_path: Path) -> None:
    _write_manifest(tmp_path / "crops", weights, face_video)
    rc = main([str(weights), str(tmp_path / "crops" / "crops.csv"), "--out", str(tmp_path / "o"), "--tta", "2"])
    assert rc == 0
    status = {r["video_name"]: r for r in read_csv(tmp_path / "o" / "predictions_status.csv")}
    assert status["single_face.mp4"]["status"] == "ok" and 0 <= float(status["single_face.mp4"]["score"]) <= 1
    assert status["cartoon.mp4"]["status"] == "rejected" and status["cartoon.mp4"]["reason"] == "no face found"
    assert float(status["cartoon.mp4"]["score"]) == 0.5
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (m["n_real"], m["n_fake"]) == (1, 1)


def test_eval_exit_codes_for_bad_input(weights: Path, face_video: Path, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    assert main([str(weights), str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")]) == 2
    bad = tmp_path / "labels.csv"
    bad.write_text("name,label\na.mp4,1\n")
    assert main([str(weights), str(face_video), "--labels", str(bad), "--out", str(tmp_path / "o")]) == 2
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(face_video, twin / face_video.name)
    assert main([str(weights), str(face_video), str(twin), "--out", str(tmp_path / "o")]) == 2
    assert "two inputs named" in caplog.text
    assert not (tmp_path / "o" / "predictions.csv").exists()


def test_eval_exits_1_when_nothing_is_scored(weights: Path, corrupt_video: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert main([str(weights), str(corrupt_video), str(text), "--out", str(tmp_path / "o")]) == 1
    rows = read_csv(tmp_path / "o" / "predictions.csv")
    assert [(r["video_name"], float(r["score"])) for r in rows] == [("corrupt.mp4", 0.5), ("notes.mp4", 0.5)]


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_eval_refuses_a_checkpoint_with_a_missing_or_extra_key(weights: Path, face_video: Path, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture, change: str) -> None:
    import torch

    ckpt = torch.load(weights, map_location="cpu", weights_only=True)
    key = "head.0.bias"
    if change == "missing":
        del ckpt["model"][key]
    else:
        key = "head.9.weight"
        ckpt["model"][key] = torch.zeros(3)
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    with caplog.at_level(logging.ERROR):
        assert main([str(bad), str(face_video), "--out", str(tmp_path / "o")]) == 2
    assert key in caplog.text
