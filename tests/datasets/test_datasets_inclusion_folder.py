"""The Inclusion tracks and real/fake folders on miniatures: label files with either header, strays named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dfdetect.core.io import read_labels
from dfdetect.datasets.cli import main
from tests.datasets.conftest import snapshot


def _run(name: str, root: Path, out: Path, *argv: str) -> dict:
    before = snapshot(root)
    assert main([name, str(root), "--out", str(out), *argv]) == 0
    assert snapshot(root) == before
    return json.loads((out / "summary.json").read_text())


def test_inclusion_ffdv_train_val_test(inclusion_root: Path, tmp_path: Path) -> None:
    s = _run("inclusion", inclusion_root, tmp_path / "ds", "--val-fraction", "0.2")
    # the public validation set (its labels were published) is the test split; val is drawn from the train labels
    assert read_labels(tmp_path / "ds" / "test" / "labels.csv") == {"v0.mp4": 0, "v1.mp4": 1}
    train_val = {**read_labels(tmp_path / "ds" / "train" / "labels.csv"),
                 **read_labels(tmp_path / "ds" / "val" / "labels.csv")}
    assert train_val == {"t0.mp4": 0, "t1.mp4": 1, "t2.mp4": 0, "t3.mp4": 1, "t4.mp4": 1}
    assert s["unplaced"] == [{"path": "phase1/trainset/unlabelled.mp4", "reason": "not in phase1/trainset_label.txt"}]
    assert s["missing"] == [{"name": "phase1/valset/gone.mp4", "listed_in": "phase1/valset_label.txt"}]


def test_inclusion_ffdi_image_labels(tmp_path: Path, face_video: Path) -> None:
    root = tmp_path / "multiFFDI"
    for folder, rows in (("train", ["img_name,target", "a.jpg,1", "b.jpg,0"]), ("val", ["img_name,target", "c.jpg,1"])):
        (root / folder).mkdir(parents=True)
        (root / f"{folder}_label.txt").write_text("\n".join(rows) + "\n")
        for row in rows[1:]:
            os.symlink(face_video, root / folder / row.split(",")[0])  # content is never read by the adapter
    s = _run("inclusion", root, tmp_path / "ds")
    assert read_labels(tmp_path / "ds" / "labels.csv") == {"a.jpg": 1, "b.jpg": 0, "c.jpg": 1}
    assert s["counts"]["by_split"]["test"] == {"real": 0, "fake": 1}


def test_inclusion_bad_header(inclusion_root: Path, tmp_path: Path, caplog) -> None:
    (inclusion_root / "phase1" / "valset_label.txt").write_text("name,label\nv0.mp4,0\n")
    assert main(["inclusion", str(inclusion_root), "--out", str(tmp_path / "ds")]) == 2
    assert "header must be video_name,target or img_name,target" in caplog.text


@pytest.fixture
def folder_root(tmp_path: Path, face_video: Path) -> Path:
    root = tmp_path / "mine"
    for rel in ("real/a.mp4", "real/person2/b.mov", "fake/Deepfakes/a.mp4", "fake/c.mp4", "other/x.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(face_video, root / rel)
    (root / "fake" / "notes.txt").write_text("made with tool X\n")
    return root


def test_folder_classes_methods_and_strays(folder_root: Path, tmp_path: Path) -> None:
    s = _run("folder", folder_root, tmp_path / "ds", "--test-fraction", "0.25", "--val-fraction", "0.25")
    # a.mp4 is in real/ and in fake/Deepfakes/: each gets its folders in front
    assert read_labels(tmp_path / "ds" / "labels.csv") == {"real_a.mp4": 0, "b.mov": 0, "fake_Deepfakes_a.mp4": 1,
                                                           "c.mp4": 1}
    assert s["counts"]["by_method"].keys() == {"Deepfakes", "unknown"}
    assert {u["path"]: u["reason"] for u in s["unplaced"]} == {
        "fake/notes.txt": "not a video or an image (extension '.txt')", "other/x.mp4": "not in real/ or fake/"}
    sizes = [sum(s["counts"]["by_split"][k].values()) for k in ("train", "val", "test")]
    assert sum(sizes) == 4 and min(sizes) >= 1  # no identity here: by video, every split asked for gets one


def test_folder_without_classes(tmp_path: Path, caplog) -> None:
    (tmp_path / "videos").mkdir()
    assert main(["folder", str(tmp_path / "videos"), "--out", str(tmp_path / "ds")]) == 2
    assert "no real/ or fake/ folder" in caplog.text
