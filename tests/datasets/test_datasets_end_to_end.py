"""The within-data-set protocol end to end on the FF++ miniature, with the commands the README gives: adapter ->
frames -> crops (train and val) -> train 1 epoch -> eval.py on the raw test videos with the metrics per method.

PLUMBING ONLY, the scores mean nothing: every video of the miniature is the same sample recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfdetect.core.io import read_csv, read_labels
from dfdetect.datasets.cli import main as dataset_main
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.training.cli import main as train_main
from face_crop.cli import main as crop_main
from frame_extraction.cli import main as extract_main

METHODS = ("Deepfakes", "Face2Face")


@pytest.mark.slow
def test_ffpp_within_data_set_protocol_end_to_end(tmp_path: Path, make_ffpp, one_torch_thread) -> None:
    root = make_ffpp(tmp_path / "FaceForensics++", methods=METHODS)
    ds = tmp_path / "ds"
    assert dataset_main(["ffpp", str(root), "--out", str(ds), "--methods", ",".join(METHODS)]) == 0

    for split in ("train", "val"):
        assert extract_main([str(ds / split), str(tmp_path / "frames" / split), "--labels",
                             str(ds / split / "labels.csv"), "--frames", "8", "--seed", "0", "--no-progress"]) == 0
        assert crop_main([str(tmp_path / "frames" / split), str(tmp_path / "crops" / split), "--size", "64",
                          "--min-faces", "2"]) == 0
        rows = read_csv(tmp_path / "crops" / split / "crops.csv")
        assert {r["video"] for r in rows} == set(read_labels(ds / split / "labels.csv"))  # names carried through

    cfg = tmp_path / "tiny.yaml"  # evaluation samples and counts faces as these crops were made
    cfg.write_text("data:\n  sample_frames: 8\n  min_faces: 2\n")
    run = tmp_path / "run"
    crops = tmp_path / "crops"
    assert train_main(["--data", str(crops / "train/crops.csv"), "--val", str(crops / "val/crops.csv"),
                       "--out", str(run), "--config", str(cfg), "--backbone", "efficientnet-lite0", "--no-pretrained",
                       "--clip-len", "4", "--size", "64", "--batch-size", "4", "--epochs", "1", "--seed", "0"]) == 0
    info = json.loads((run / "run.json").read_text())
    assert sorted(info["val_videos"]) == sorted(read_labels(ds / "val" / "labels.csv"))

    out = tmp_path / "eval"
    assert eval_main([str(run / "best.pt"), str(ds / "test"), "--labels", str(ds / "test" / "labels.csv"),
                      "--out", str(out), "--clips", "1", "--device", "cpu"]) == 0
    predictions = [r["video_name"] for r in read_csv(out / "predictions.csv")]
    assert predictions == sorted(read_labels(ds / "test" / "labels.csv"))  # the links' unique names, every one once
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_real"], metrics["n_fake"], metrics["n_unscored"]) == (2, 4, 0)
    assert sorted(metrics["by_method"]) == list(METHODS)
    assert all((m["n_real"], m["n_fake"]) == (2, 2) and 0.0 <= m["auc"] <= 1.0 for m in metrics["by_method"].values())
