"""eval.py / inference.evaluate: predictions, statuses, metrics, plots, resume, manifests, exit codes."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import socket
import types
from pathlib import Path

import pytest
import torch

from dfdetect.core.io import read_csv, save_image, write_csv
from dfdetect.core.schemas import CROPS_REQUIRED, LABELS_COLUMNS, REJECTS_COLUMNS, STATUS_COLUMNS, ScoreStatus
from dfdetect.inference import NEUTRAL_SCORE, Detector
from dfdetect.inference.evaluate import evaluate_scores, load_resume_state, main, output_paths, save_state
from dfdetect.inference.prepare import prepare_crops

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def corrupt_video(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3 KB of a real sample: a header and no decodable frame."""
    data = (samples_dir / "single_face.mp4").read_bytes()
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.mp4"
    path.write_bytes(data[:3000])
    return path


HELD_OUT = ("face_noface.mov", "no_face.mp4", "noface_face.mov")
LABELS = {"face_noface.mov": 0, "no_face.mp4": 1, "noface_face.mov": 1, "corrupt.mp4": 0}
METHODS = {"no_face.mp4": "sbi", "noface_face.mov": "resample"}  # the labels' optional method column


@pytest.fixture(scope="session")
def eval_run(weights: Path, samples_dir: Path, corrupt_video: Path, tmp_path_factory: pytest.TempPathFactory):
    """One eval.py run on held-out sample videos + a corrupt file, with labels and 2 clips per video."""
    tmp = tmp_path_factory.mktemp("eval")
    labels = tmp / "labels.csv"
    write_csv(labels, [{"video_name": k, "target": v, "method": METHODS.get(k, "")} for k, v in LABELS.items()],
              (*LABELS_COLUMNS, "method"))
    inputs = [str(samples_dir / HELD_OUT[0]), str(corrupt_video), *(str(samples_dir / n) for n in HELD_OUT[1:])]
    out = tmp / "out"
    rc = main([str(weights), *inputs, "--labels", str(labels), "--out", str(out), "--clips", "2",
               "--device", "cpu"])
    return types.SimpleNamespace(rc=rc, out=out, inputs=inputs, labels=labels, weights=weights)


def _auc_by_hand(y: list[int], s: list[float]) -> float:
    """P(a fake scores above a real), ties counting half: the Mann-Whitney definition of ROC AUC."""
    fakes = [v for v, t in zip(s, y) if t == 1]
    reals = [v for v, t in zip(s, y) if t == 0]
    return sum((f > r) + 0.5 * (f == r) for f in fakes for r in reals) / (len(fakes) * len(reals))


# ---------------------------------------------------------------------------------------------------- pure functions


def test_output_paths_for_a_folder_or_a_csv(tmp_path: Path) -> None:
    p = output_paths(tmp_path / "out")
    assert p.predictions == tmp_path / "out" / "predictions.csv"
    assert p.status.name == "predictions_status.csv" and p.run.name == "eval_run.json"
    q = output_paths(tmp_path / "res" / "sub.csv")
    assert q.predictions.name == "sub.csv" and q.status.name == "sub_status.csv" and q.metrics.parent.name == "res"


def test_evaluate_scores_known_answer_and_skips_unlabelled(caplog: pytest.LogCaptureFixture) -> None:
    # 2 reals at 0.2 and 0.6, 2 fakes at 0.4 and 0.9: 3 of the 4 (fake, real) pairs are ordered right.
    names = ["a", "b", "c", "d", "e"]
    scores = [0.2, 0.6, 0.4, 0.9, 0.5]
    labels = {"a": 0, "b": 0, "c": 1, "d": 1}
    with caplog.at_level(logging.WARNING):
        m, y = evaluate_scores(names, scores, ["ok"] * 4 + ["no_face"], labels)
    assert y == [0, 0, 1, 1, None]
    assert (m["n"], m["n_real"], m["n_fake"], m["n_unlabelled"], m["n_unscored"]) == (4, 2, 2, 1, 0)
    assert m["auc"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.5)  # 0.2 and 0.9 right at the 0.5 threshold, 0.6 and 0.4 wrong
    assert m["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.4) + math.log(0.4) + math.log(0.9)) / 4)
    assert "no label" in caplog.text
    m, _ = evaluate_scores(["a", "b"], [NEUTRAL_SCORE, 0.1], [ScoreStatus.NO_FACE, ScoreStatus.OK], {"a": 1, "b": 0})
    assert (m["n_unscored"], m["auc"]) == (1, 1.0)  # an unscored input counts, at 0.5
    assert evaluate_scores(["a"], [0.3], ["ok"], {}) == (None, [None])


def test_resume_trusts_only_the_rows_its_marker_vouches_for(tmp_path: Path) -> None:
    paths = output_paths(tmp_path)
    sig = {"weights": "/w/best.pt", "clips": 1, "tta": 1, "aggregate": "mean"}
    rows = [{"video_name": "a.mp4", "score": "0.9", "status": "ok", "source": "/v/a.mp4"},
            {"video_name": "b.mp4", "score": "0.5", "status": "error", "source": "/v/b.mp4"}]
    save_state(paths, sig, rows)
    assert list(load_resume_state(paths, sig)) == ["/v/a.mp4"]  # an "error" row is tried again
    assert load_resume_state(paths, {**sig, "clips": 2}) == {}  # other settings
    # rows written after the marker (a run interrupted between the two writes): not trusted
    write_csv(paths.status, [*rows, {"video_name": "c.mp4", "score": "0.1", "status": "ok", "source": "/v/c.mp4"}],
              STATUS_COLUMNS)
    assert load_resume_state(paths, sig) == {}


# ---------------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_eval_writes_every_video_once_in_input_order(eval_run) -> None:
    assert eval_run.rc == 0
    rows = read_csv(eval_run.out / "predictions.csv")
    assert list(rows[0]) == ["video_name", "score"]
    assert [r["video_name"] for r in rows] == [Path(p).name for p in eval_run.inputs]
    status = read_csv(eval_run.out / "predictions_status.csv")
    assert list(status[0]) == list(STATUS_COLUMNS)
    assert [(r["video_name"], r["score"]) for r in rows] == [(r["video_name"], r["score"]) for r in status]


@pytest.mark.slow
def test_eval_records_unscorable_videos_with_neutral_score_and_reason(eval_run) -> None:
    status = {r["video_name"]: r for r in read_csv(eval_run.out / "predictions_status.csv")}
    assert status["no_face.mp4"]["status"] == "no_face"
    assert status["no_face.mp4"]["reason"] and float(status["no_face.mp4"]["score"]) == NEUTRAL_SCORE
    assert status["corrupt.mp4"]["status"] == "unreadable" and status["corrupt.mp4"]["reason"]
    assert float(status["corrupt.mp4"]["score"]) == NEUTRAL_SCORE
    # A man then a cartoon, and the reverse: of the two clip windows (start, end), only the one on the man is used.
    for name in ("face_noface.mov", "noface_face.mov"):
        row = status[name]
        assert row["status"] == "ok" and 0 < int(row["faces"]) < int(row["sampled"])
        assert len(row["clip_scores"].split()) == 1 and float(row["clip_scores"]) == pytest.approx(float(row["score"]))


@pytest.mark.slow
def test_eval_metrics_are_computed_on_the_written_scores(eval_run) -> None:
    rows = read_csv(eval_run.out / "predictions.csv")
    y = [LABELS[r["video_name"]] for r in rows]
    s = [float(r["score"]) for r in rows]
    m = json.loads((eval_run.out / "metrics.json").read_text())
    assert m["n"] == 4 and m["n_real"] == 2 and m["n_fake"] == 2 and m["n_unscored"] == 2
    assert (m["clips"], m["tta"], m["aggregate"]) == (2, 1, "topk")
    assert m["auc"] == pytest.approx(_auc_by_hand(y, s), abs=1e-6)
    log_loss = -sum(t * math.log(v) + (1 - t) * math.log(1 - v) for t, v in zip(y, s)) / len(y)
    assert m["log_loss"] == pytest.approx(log_loss, abs=1e-5)
    assert m["accuracy"] == pytest.approx(sum(int(v >= 0.5) == t for t, v in zip(y, s)) / len(y))
    for name in ("roc.png", "scores_hist.png"):
        data = (eval_run.out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_eval_reports_each_method_against_all_reals(eval_run) -> None:
    scores = {r["video_name"]: float(r["score"]) for r in read_csv(eval_run.out / "predictions.csv")}
    by = json.loads((eval_run.out / "metrics.json").read_text())["by_method"]
    assert sorted(by) == ["resample", "sbi"]
    reals = [n for n, t in LABELS.items() if t == 0]
    for method in by:
        names = reals + [n for n, m in METHODS.items() if m == method]
        y, s = [LABELS[n] for n in names], [scores[n] for n in names]
        assert (by[method]["n_real"], by[method]["n_fake"]) == (2, 1)
        assert by[method]["auc"] == pytest.approx(_auc_by_hand(y, s), abs=1e-6)


@pytest.mark.slow
def test_eval_resumes_without_scoring_again(eval_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    shutil.copytree(eval_run.out, out)
    (out / "predictions.csv").unlink()

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a finished video was scored again")

    monkeypatch.setattr(Detector, "prepare", boom)
    rc = main([str(eval_run.weights), *eval_run.inputs, "--labels", str(eval_run.labels), "--out", str(out),
               "--clips", "2", "--device", "cpu"])
    assert rc == 0
    assert (out / "predictions.csv").read_text() == (eval_run.out / "predictions.csv").read_text()


def _write_manifest(root: Path, det: Detector, video: Path) -> dict:
    """A crops.csv/rejects.csv like face_crop's, from the detector's own crops of ``video``; returns those crops."""
    prep = det.prepare(video)
    assert prep.status == ScoreStatus.OK
    rows = []
    for frame, crop in prep.crops.items():
        rel = f"{video.name}/{frame:06d}.png"
        save_image(root / rel, crop)  # PNG: lossless, the manifest holds exactly these crops
        rows.append({"video": video.name, "label": 0, "frame": frame, "path": rel, "x1": 0, "y1": 0, "x2": 10,
                     "y2": 10, "prob": 0.99, "landmarks": ""})
    write_csv(root / "crops.csv", rows, CROPS_REQUIRED)
    write_csv(root / "rejects.csv", [{"video": "cartoon.mp4", "label": 1, "faces": 0, "reason": "no face found"}],
              REJECTS_COLUMNS)
    return prep.crops


@pytest.mark.slow
def test_eval_on_a_crop_manifest_uses_its_labels_and_rejects(weights: Path, det, face_video: Path,
                                                             tmp_path: Path) -> None:
    crops = _write_manifest(tmp_path / "crops", det, face_video)
    rc = main([str(weights), str(tmp_path / "crops" / "crops.csv"), "--out", str(tmp_path / "o"), "--tta", "2",
               "--device", "cpu"])
    assert rc == 0
    status = {r["video_name"]: r for r in read_csv(tmp_path / "o" / "predictions_status.csv")}
    # the manifest's crops, all in one window, det.clips clip windows from it, 2 TTA views each
    det2 = Detector(det.model, det.cfg, tta=2, face_detector=det.face_detector)
    (expected,) = det2.predict([prepare_crops(face_video.name, crops, det.cfg.data, det.clips)])
    assert status["single_face.mp4"]["status"] == "ok"
    assert float(status["single_face.mp4"]["score"]) == pytest.approx(expected.score, abs=2e-6)
    assert len(status["single_face.mp4"]["clip_scores"].split()) == det.clips
    assert status["cartoon.mp4"]["status"] == "rejected" and status["cartoon.mp4"]["reason"] == "no face found"
    assert float(status["cartoon.mp4"]["score"]) == NEUTRAL_SCORE
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
    assert main([str(weights), str(corrupt_video), str(text), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 1
    rows = read_csv(tmp_path / "o" / "predictions.csv")
    assert [(r["video_name"], float(r["score"])) for r in rows] == [("corrupt.mp4", 0.5), ("notes.mp4", 0.5)]


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_eval_refuses_a_checkpoint_with_a_missing_or_extra_key(weights: Path, face_video: Path, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture, change: str) -> None:
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


# ------------------------------------------------------------------------- runs kept apart (issue 23 items 6, 7, 8)
def _text_video(folder: Path) -> Path:
    path = folder / "notes.mp4"
    path.write_text("not a video")
    return path


@pytest.mark.parametrize("full_at", ["predictions_status.csv", ".staged-"])  # the resume state; the results
def test_a_write_failure_is_one_line_and_leaves_no_mix_of_runs(weights: Path, corrupt_video: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture, full_at: str) -> None:
    # issue 23 item 6: disk full gave a traceback, and the failed run's predictions.csv sat beside the earlier run's
    # metrics.json and plots
    import errno

    import dfdetect.core.io as core_io

    labels = tmp_path / "labels.csv"
    labels.write_text("video_name,target\ncorrupt.mp4,0\nnotes.mp4,1\n")
    out = tmp_path / "o"
    args = [str(weights), str(corrupt_video), str(_text_video(tmp_path)), "--out", str(out), "--device", "cpu"]
    assert main([*args, "--labels", str(labels)]) == 1  # nothing scorable, every output written
    assert {"predictions.csv", "metrics.json", "roc.png", "scores_hist.png"} <= {p.name for p in out.iterdir()}
    real_fdopen = core_io.os.fdopen

    def full_disk(fd, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202 - the disk is full from that file on
        if full_at in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *a, **k)

    monkeypatch.setattr(core_io.os, "fdopen", full_disk)
    caplog.clear()
    assert main([*args[:2], *args[3:], "--no-resume"]) == 3  # another run, no labels
    monkeypatch.undo()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage() and not errors[0].exc_info
    assert "Traceback" not in caplog.text
    # the earlier run's results were removed before this run wrote anything, and this run's results were never moved
    # into place: at most this run's own resume state is left (a rerun resumes from it), nothing of the earlier run
    left = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert left <= {"eval_run.json", "predictions_status.csv"}
    if "predictions_status.csv" in left:
        assert [r["video_name"] for r in read_csv(out / "predictions_status.csv")] == ["corrupt.mp4"]
    assert not list(out.glob(".staged-*")) and not list(out.glob(".*.tmp"))


def test_a_second_run_on_the_same_out_is_refused(weights: Path, corrupt_video: Path, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    # issue 23 item 7: two runs on one --out both exited 0 and one run's results were lost
    import subprocess
    import sys

    out = tmp_path / "o"
    out.mkdir()
    lock = out / ".predictions.lock"
    lock.write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live process holds it
    args = [str(weights), str(corrupt_video), "--out", str(out), "--device", "cpu"]
    assert main(args) == 2
    assert "another run is writing these evaluation outputs" in caplog.text and f"pid {os.getpid()}" in caplog.text
    assert not (out / "predictions.csv").exists() and lock.is_file()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(f"{dead.stdout.strip()} {socket.gethostname()}\n")  # left by a process that has ended
    caplog.clear()
    assert main(args) == 1  # runs (the corrupt video is not scorable)
    assert "taking over the lock" in caplog.text and (out / "predictions.csv").is_file() and not lock.exists()


def test_a_file_replaced_under_the_same_name_is_scored_again(weights: Path, face_video: Path, corrupt_video: Path,
                                                             tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # issue 23 item 8: the resumed row of the old file was kept (matched by path and settings only)
    videos, out = tmp_path / "videos", tmp_path / "o"
    videos.mkdir()
    shutil.copy(corrupt_video, videos / "v.mp4")
    args = [str(weights), str(videos), "--out", str(out), "--device", "cpu"]
    assert main(args) == 1
    assert read_csv(out / "predictions_status.csv")[0]["status"] == "unreadable"
    stat = (videos / "v.mp4").stat()
    shutil.copy(face_video, videos / "v.mp4")
    os.utime(videos / "v.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old time
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert "1 file(s) changed since they were scored" in caplog.text
    assert read_csv(out / "predictions_status.csv")[0]["status"] == "ok"
