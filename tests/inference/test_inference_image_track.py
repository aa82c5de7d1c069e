"""Scoring for the image track: eval.py on a folder of images writes the challenge's img_name,score CSV (every image,
in order, unreadable ones 0.5 with the reason) and the metrics; Detector.score is the test API; a frame model scores a
video as the mean of its frames; TTA views; importing the package has no side effect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.io import read_csv, read_image, save_image, write_csv
from dfdetect.core.schemas import IMAGE_PREDICTION_COLUMNS, IMAGE_STATUS_COLUMNS, PREDICTION_COLUMNS
from dfdetect.data import TTA_VIEWS, to_tensor_clip, view_transform
from dfdetect.inference import Detector
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.synth import generate
from face_crop.detect import FaceDetector
from face_crop.images import find_face

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def test_images(stills_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three reals, two self-blended fakes of them, an unreadable file; labels img_name,target."""
    folder = tmp_path_factory.mktemp("image_track") / "test"
    folder.mkdir()
    detector = FaceDetector()
    rows = []
    for k, name in enumerate(("15-f13-anc-ph.jpg", "single_face.jpg", "0-f15-hao-ph.jpg")):
        image = read_image(stills_dir / name)
        save_image(folder / f"r{k}.jpg", image)
        rows.append({"img_name": f"r{k}.jpg", "target": 0})
        if k < 2:
            face, _ = find_face(image, detector)
            fake = generate("sbi", [image], [(face.box.astype(float), face.landmarks.astype(float))],
                            np.random.default_rng(k)).frames[0]
            save_image(folder / f"f{k}.jpg", fake)
            rows.append({"img_name": f"f{k}.jpg", "target": 1})
    (folder / "z_broken.jpg").write_bytes((stills_dir / "single_face.jpg").read_bytes()[:2000])  # truncated
    rows.append({"img_name": "z_broken.jpg", "target": 1})
    labels = folder.parent / "labels.csv"
    write_csv(labels, rows, ("img_name", "target"))
    return folder, labels


def test_eval_writes_the_challenge_csv_for_a_folder_of_images(tiny_image_run: Path, test_images: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    folder, labels = test_images
    out = tmp_path / "eval"
    assert eval_main([str(tiny_image_run / "best.pt"), str(folder), "--labels", str(labels), "--out", str(out),
                      "--tta", "2"]) == 0
    preds = read_csv(out / "predictions.csv")
    assert list(preds[0]) == list(IMAGE_PREDICTION_COLUMNS)  # img_name,score
    assert [r["img_name"] for r in preds] == sorted(p.name for p in folder.iterdir())  # every image once, in order
    status = {r["img_name"]: r for r in read_csv(out / "predictions_status.csv")}
    assert list(next(iter(status.values()))) == list(IMAGE_STATUS_COLUMNS)
    broken = status["z_broken.jpg"]
    assert (broken["score"], broken["status"]) == ("0.500000", "unreadable") and "z_broken.jpg" in broken["reason"]
    assert all(0 <= float(r["score"]) <= 1 for r in preds)
    assert all(len(status[n]["clip_scores"].split()) == 1 for n in status if n != "z_broken.jpg")  # one crop each
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 6 and metrics["n_unscored"] == 1 and metrics["tta"] == 2
    assert "tpr_at_fpr_1e-3" in metrics and "auc" in metrics and (out / "roc.png").is_file()
    # The test API is the same scorer: Detector.load(weights).score(img_path) gives the CSV's number.
    score = Detector.load(tiny_image_run / "best.pt", tta=2).score
    assert score(folder / "f0.jpg") == pytest.approx(float({r["img_name"]: r["score"] for r in preds}["f0.jpg"]),
                                                     abs=1e-6)


def test_mixed_inputs_keep_the_video_header(tiny_image_run: Path, test_images: tuple[Path, Path], face_video: Path,
                                            tmp_path: Path) -> None:
    folder, _ = test_images
    out = tmp_path / "preds.csv"
    assert eval_main([str(tiny_image_run / "best.pt"), str(folder / "r0.jpg"), str(face_video), "--out",
                      str(out)]) == 0
    rows = read_csv(out)
    assert list(rows[0]) == list(PREDICTION_COLUMNS) and [r["video_name"] for r in rows] == ["r0.jpg",
                                                                                                "single_face.mp4"]


def test_a_frame_model_scores_a_video_as_the_mean_of_its_frames(tiny_image_run: Path, face_video: Path) -> None:
    det = Detector.load(tiny_image_run / "best.pt")
    assert det.kind == "frame"
    prep = det.prepare(face_video)
    (result,) = det.predict([prep])
    per_frame = det.frame_scores(prep)
    assert len(result.clip_scores) == len(prep.crops) == len(per_frame) >= 10  # every crop is a clip
    assert result.score == pytest.approx(float(np.mean(list(per_frame.values()))), abs=1e-9)


def test_image_tta_averages_the_documented_views(tiny_image_run: Path, test_images: tuple[Path, Path]) -> None:
    folder, _ = test_images
    det = Detector.load(tiny_image_run / "best.pt", tta=len(TTA_VIEWS))
    prep = det.prepare(folder / "r1.jpg")
    assert det._plan(prep) == [[([0], v) for v in TTA_VIEWS]]  # one crop, every view
    crop = prep.crops[0]  # (64, 64, 3)
    x = torch.stack([to_tensor_clip(view_transform(crop, v)[None], det.mean, det.std) for v in TTA_VIEWS])
    with torch.inference_mode():
        probs = det.model.probability(det.model(x)).numpy()  # (V,) one per view
    (result,) = det.predict([prep])
    assert result.score == pytest.approx(float(probs.mean()), abs=1e-6) and len(set(probs.round(6))) > 1


def test_importing_the_package_has_no_side_effect(tmp_path: Path) -> None:
    code = ("import logging, os, sys, torch as _t; n = _t.get_num_threads(); before = sorted(os.listdir('.'));"
            "import dfdetect; from dfdetect import Detector;"
            "assert callable(Detector.load) and 'dfdetect.inference.detector' in sys.modules;"
            "assert sorted(os.listdir('.')) == before and not logging.getLogger().handlers;"
            "assert _t.get_num_threads() == n; print('ok')")
    light = ("import sys, dfdetect; assert 'torch' not in sys.modules and 'dfdetect.inference' not in sys.modules;"
             "print('ok')")
    env_path = f"{ROOT}"
    for snippet in (code, light):
        proc = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                              env={"PYTHONPATH": env_path, "NO_ALBUMENTATIONS_UPDATE": "1", "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
        assert not list(tmp_path.iterdir())  # nothing written where it was imported
