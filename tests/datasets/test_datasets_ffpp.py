"""FF++ on a miniature of its real layout: counts, labels, pairs kept on one side, leave-one-manipulation-out, strays
named, the data set folder untouched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dfdetect.core.io import read_csv, read_label_methods, read_labels
from dfdetect.datasets.cli import main
from tests.datasets.conftest import FFPP_DEFAULT, FFPP_PAIRS, FFPP_STRAYS, snapshot


def _split_of_id(i: str) -> str:
    return next(s for s, pairs in FFPP_PAIRS.items() if any(i in p for p in pairs))


@pytest.fixture
def ffpp(tmp_path: Path, make_ffpp) -> tuple[Path, Path, dict]:
    root = make_ffpp(tmp_path / "FaceForensics++")
    before = snapshot(root)
    out = tmp_path / "ds"
    assert main(["ffpp", str(root), "--out", str(out)]) == 0
    assert snapshot(root) == before  # nothing in the data set folder was written, moved or touched
    return root, out, json.loads((out / "summary.json").read_text())


def test_ffpp_counts_labels_and_names(ffpp) -> None:
    _, out, summary = ffpp
    labels = read_labels(out / "labels.csv")
    # 6 originals in the split files, 4 methods x 6 fakes (both directions of 3 pairs); 006 and the strays set aside
    assert summary["counts"]["real"] == 6 and summary["counts"]["fake"] == 24
    assert {n for n, t in labels.items() if t == 0} == {f"youtube_00{i}.mp4" for i in range(6)}
    assert "Deepfakes_000_003.mp4" in labels and "NeuralTextures_003_000.mp4" in labels
    assert summary["counts"]["by_split"] == {"train": {"real": 2, "fake": 8}, "val": {"real": 2, "fake": 8},
                                             "test": {"real": 2, "fake": 8}}
    assert summary["counts"]["by_method"] == {m: {"train": 2, "val": 2, "test": 2} for m in FFPP_DEFAULT}
    methods = read_label_methods(out / "labels.csv")
    assert methods["Face2Face_004_005.mp4"] == "Face2Face" and "youtube_004.mp4" not in methods
    rows = {r["video_name"]: r for r in read_csv(out / "labels.csv")}
    assert rows["FaceSwap_005_004.mp4"]["source"] == "manipulated_sequences/FaceSwap/c23/videos/005_004.mp4"
    assert rows["FaceSwap_005_004.mp4"]["original"] == "youtube_005.mp4"  # the target's video: its boxes fit
    assert summary["info"]["pairs_per_split"] == {"train": 1, "val": 1, "test": 1}


def test_ffpp_pairs_never_cross_splits(ffpp) -> None:
    _, out, _ = ffpp
    split = {r["video_name"]: r["split"] for r in read_csv(out / "split.csv")}
    for name, s in split.items():
        ids = name.rsplit(".", 1)[0].split("_")[1:]  # youtube_000 -> [000]; Deepfakes_000_003 -> [000, 003]
        assert all(_split_of_id(i) == s for i in ids), name
    groups: dict[str, set[str]] = {}
    for r in read_csv(out / "labels.csv"):
        groups.setdefault(r["group"], set()).add(split[r["video_name"]])
    assert all(len(s) == 1 for s in groups.values()) and len(groups) == 3


def test_ffpp_strays_and_other_compressions(ffpp) -> None:
    _, out, summary = ffpp
    assert {u["path"]: u["reason"] for u in summary["unplaced"]} == FFPP_STRAYS
    sources = {r["source"] for r in read_csv(out / "labels.csv")}
    assert not any("/c40/" in s for s in sources)


def test_ffpp_split_folders_hold_links_to_the_originals(ffpp) -> None:
    root, out, _ = ffpp
    for split in FFPP_PAIRS:
        labels = read_labels(out / split / "labels.csv")
        links = sorted(p.name for p in (out / split).iterdir() if p.name != "labels.csv")
        assert links == sorted(labels)
        for name in links:
            assert (out / split / name).is_symlink()
    link = out / "test" / "Deepfakes_004_005.mp4"
    assert os.readlink(link) == os.path.abspath(root / "manipulated_sequences/Deepfakes/c23/videos/004_005.mp4")


def test_ffpp_leave_one_manipulation_out(tmp_path: Path, make_ffpp) -> None:
    root = make_ffpp(tmp_path / "ffpp")
    out = tmp_path / "lomo"
    assert main(["ffpp", str(root), "--out", str(out), "--test-methods", "neuraltextures"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["by_method"] == {"Deepfakes": {"train": 2, "val": 2}, "Face2Face": {"train": 2, "val": 2},
                                        "FaceSwap": {"train": 2, "val": 2}, "NeuralTextures": {"test": 2}}
    assert s["counts"]["by_split"]["test"] == {"real": 2, "fake": 2}
    assert len(s["left_out"]["held-out method (--test-methods), not in the test split"]) == 4
    assert len(s["left_out"]["trained method: the test split holds only --test-methods"]) == 6


def test_ffpp_reals_only_and_a_rerun_removes_stale_links(tmp_path: Path, make_ffpp) -> None:
    root = make_ffpp(tmp_path / "ffpp")
    out = tmp_path / "ds"
    assert main(["ffpp", str(root), "--out", str(out)]) == 0
    assert main(["ffpp", str(root), "--out", str(out), "--reals-only"]) == 0
    assert sorted(read_labels(out / "labels.csv")) == [f"youtube_00{i}.mp4" for i in range(6)]
    assert sorted(p.name for p in (out / "train").iterdir()) == ["labels.csv", "youtube_000.mp4", "youtube_003.mp4"]
    s = json.loads((out / "summary.json").read_text())
    assert len(s["left_out"]["fake (--reals-only)"]) == 24


def test_ffpp_compression_methods_and_the_split_files_given_as_a_path(tmp_path: Path, make_ffpp) -> None:
    root = make_ffpp(tmp_path / "ffpp", methods=("Deepfakes",))
    splits = tmp_path / "my_splits"
    (root / "splits").rename(splits)
    out = tmp_path / "ds"
    assert main(["ffpp", str(root), "--out", str(out)]) == 2  # no split files found: one line, exit 2
    assert main(["ffpp", str(root), "--out", str(out), "--splits", str(splits), "--compression", "c40",
                 "--methods", "Deepfakes,FaceShifter"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["info"]["missing_folders"] == ["manipulated_sequences/FaceShifter/c40/videos"]
    assert all("/c40/" in r["source"] for r in read_csv(out / "labels.csv"))
    assert s["counts"]["fake"] == 6 and s["unplaced"] == []  # the strays lie in c23


@pytest.mark.parametrize(("argv", "message"), [
    (["--methods", "DeepFaker"], "unknown FF++ method 'DeepFaker'"),
    (["--test-methods", "FaceShifter"], "--test-methods FaceShifter not among --methods"),
    (["--test-methods", ",".join(FFPP_DEFAULT)], "nothing would be left to train on"),
    (["--val-fraction", "0.2"], "--val-fraction does not apply to ffpp"),
])
def test_ffpp_bad_options_are_one_line(tmp_path: Path, make_ffpp, caplog, argv, message) -> None:
    root = make_ffpp(tmp_path / "ffpp")
    assert main(["ffpp", str(root), "--out", str(tmp_path / "ds"), *argv]) == 2
    assert message in caplog.text
    assert not (tmp_path / "ds").exists()


def test_ffpp_malformed_split_file(tmp_path: Path, make_ffpp, caplog) -> None:
    root = make_ffpp(tmp_path / "ffpp")
    (root / "splits" / "val.json").write_text('[["001", "002", "003"]]')
    assert main(["ffpp", str(root), "--out", str(tmp_path / "ds")]) == 2
    assert "val.json: item 0 is ['001', '002', '003'], expected a pair of ids" in caplog.text


def test_ffpp_deepfakedetection_is_test_only_with_its_actor_originals(tmp_path: Path, make_ffpp,
                                                                      face_video: Path) -> None:
    root = make_ffpp(tmp_path / "ffpp", methods=("Deepfakes",))
    for rel in ("original_sequences/actors/c23/videos/01__exit_phone_room.mp4",
                "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__exit_phone_room__YVGY8LOK.mp4",
                "manipulated_sequences/DeepFakeDetection/c23/videos/01_02.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(face_video, root / rel)
    out = tmp_path / "ds"
    assert main(["ffpp", str(root), "--out", str(out), "--methods", "Deepfakes,DeepFakeDetection"]) == 0
    rows = {r["video_name"]: r for r in read_csv(out / "test" / "labels.csv")}
    fake = rows["DeepFakeDetection_01_02__exit_phone_room__YVGY8LOK.mp4"]
    assert fake["target"] == "1" and fake["original"] == "actors_01__exit_phone_room.mp4"
    assert rows["actors_01__exit_phone_room.mp4"]["target"] == "0"
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["by_method"]["DeepFakeDetection"] == {"test": 1}
    assert {"path": "manipulated_sequences/DeepFakeDetection/c23/videos/01_02.mp4",
            "reason": "name fits no DeepFakeDetection fake (NN_NN__scene__CODE.mp4)"} in s["unplaced"]
