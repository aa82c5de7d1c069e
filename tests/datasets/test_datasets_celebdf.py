"""Celeb-DF on a miniature of its real layout: the testing list's inverted labels, the split by person, strays."""

from __future__ import annotations

import json
from pathlib import Path

from dfdetect.core.io import read_csv, read_labels
from dfdetect.datasets.cli import main
from tests.datasets.conftest import CELEBDF_FAKE, CELEBDF_REAL, CELEBDF_YOUTUBE, snapshot


def _run(root: Path, out: Path, *argv: str) -> dict:
    before = snapshot(root)
    assert main(["celebdf", str(root), "--out", str(out), *argv]) == 0
    assert snapshot(root) == before
    return json.loads((out / "summary.json").read_text())


def test_celebdf_testing_list_labels_are_inverted(celebdf_root: Path, tmp_path: Path) -> None:
    s = _run(celebdf_root, tmp_path / "ds")
    test = read_labels(tmp_path / "ds" / "test" / "labels.csv")
    # the list says "1 Celeb-real/id0_0000.mp4" (1 = REAL): target 0; "0 Celeb-synthesis/..." (0 = fake): target 1
    assert test == {"Celeb-real_id0_0000.mp4": 0, "Celeb-synthesis_id0_id1_0000.mp4": 1, "YouTube-real_00000.mp4": 0}
    assert s["counts"]["by_split"]["test"] == {"real": 2, "fake": 1}
    assert s["info"]["test_listed"] == 5


def test_celebdf_counts_strays_and_missing(celebdf_root: Path, tmp_path: Path) -> None:
    s = _run(celebdf_root, tmp_path / "ds")
    labels = read_labels(tmp_path / "ds" / "labels.csv")
    # every video but the one whose listed label disagrees with its folder
    assert len(labels) == len(CELEBDF_REAL) + len(CELEBDF_FAKE) + len(CELEBDF_YOUTUBE) - 1
    assert sum(labels.values()) == len(CELEBDF_FAKE) - 1
    assert {u["path"]: u["reason"] for u in s["unplaced"]} == {
        "Celeb-real/id0_0000 copy.mp4": "name fits no Celeb-real video (^id(\\d+)_(\\d+)\\.mp4$)",
        "Celeb-synthesis/id2_id3_0000.mp4": "List_of_testing_videos.txt says real (1) but it is in Celeb-synthesis/",
        "README.txt": "not directly in Celeb-real/, Celeb-synthesis/, YouTube-real/",
    }
    assert s["missing"] == [{"name": "Celeb-synthesis/id9_id1_0000.mp4", "listed_in": "List_of_testing_videos.txt"}]


def test_celebdf_split_by_person_outside_the_test_list(celebdf_root: Path, tmp_path: Path) -> None:
    _run(celebdf_root, tmp_path / "ds", "--val-fraction", "0.3")
    rows = read_csv(tmp_path / "ds" / "labels.csv")
    split = {r["video_name"]: r["split"] for r in read_csv(tmp_path / "ds" / "split.csv")}
    by_person: dict[str, set[str]] = {}
    for r in rows:
        if split[r["video_name"]] != "test":
            by_person.setdefault(r["group"], set()).add(split[r["video_name"]])
    assert all(len(s) == 1 for s in by_person.values())  # a person's non-test videos on one side
    assert {s for ss in by_person.values() for s in ss} == {"train", "val"}
    fake = next(r for r in rows if r["video_name"] == "Celeb-synthesis_id1_id0_0000.mp4")
    assert fake["group"] == "id1" and fake["original"] == "Celeb-real_id1_0000.mp4" and fake["method"]


def test_celebdf_without_the_list_draws_test_by_person(celebdf_root: Path, tmp_path: Path) -> None:
    (celebdf_root / "List_of_testing_videos.txt").unlink()
    s = _run(celebdf_root, tmp_path / "ds", "--test-fraction", "0.3", "--val-fraction", "0.2")
    assert all(sum(s["counts"]["by_split"][k].values()) > 0 for k in ("train", "val", "test"))
    assert s["info"]["test_list"] is None and s["missing"] == []


def test_celebdf_malformed_list_is_one_line(celebdf_root: Path, tmp_path: Path, caplog) -> None:
    (celebdf_root / "List_of_testing_videos.txt").write_text("1 Celeb-real/id0_0000.mp4\nREAL id1_0000.mp4\n")
    assert main(["celebdf", str(celebdf_root), "--out", str(tmp_path / "ds")]) == 2
    assert "List_of_testing_videos.txt:2: expected '<1 real | 0 fake> <folder>/<file>.mp4'" in caplog.text


def test_celebdf_folder_spelling_of_other_copies(celebdf_root: Path, tmp_path: Path) -> None:
    (celebdf_root / "YouTube-real").rename(celebdf_root / "Youtube-real")  # as some copies spell it
    _run(celebdf_root, tmp_path / "ds")
    test = read_labels(tmp_path / "ds" / "test" / "labels.csv")
    assert test["Youtube-real_00000.mp4"] == 0 and len(test) == 3
