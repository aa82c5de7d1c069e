"""DFDC on a miniature of its real layout: metadata.json per part, `original` links kept, fakes with their original."""

from __future__ import annotations

import json
from pathlib import Path

from dfdetect.core.io import read_csv, read_labels
from dfdetect.datasets.cli import main
from tests.datasets.conftest import snapshot


def _run(root: Path, out: Path, *argv: str) -> dict:
    before = snapshot(root)
    assert main(["dfdc", str(root), "--out", str(out), *argv]) == 0
    assert snapshot(root) == before
    return json.loads((out / "summary.json").read_text())


def test_dfdc_labels_and_original_links(dfdc_root: Path, tmp_path: Path) -> None:
    s = _run(dfdc_root, tmp_path / "ds")
    rows = {r["video_name"]: r for r in read_csv(tmp_path / "ds" / "labels.csv")}
    # aaa.mp4 is a fake in part 0 and a real in part 1: both kept, under their folder's name
    assert read_labels(tmp_path / "ds" / "labels.csv") == {
        "dfdc_train_part_0_aaa.mp4": 1, "bbb.mp4": 0, "ccc.mp4": 1, "ddd.mp4": 0, "eee.mp4": 1, "hhh.mp4": 0,
        "iii.mp4": 1, "fff.mp4": 0, "ggg.mp4": 1, "dfdc_train_part_1_aaa.mp4": 0}
    assert {n: r["original"] for n, r in rows.items() if r["target"] == "1"} == {
        "dfdc_train_part_0_aaa.mp4": "bbb.mp4", "ccc.mp4": "bbb.mp4", "eee.mp4": "ddd.mp4", "iii.mp4": "hhh.mp4",
        "ggg.mp4": "fff.mp4"}
    assert rows["ggg.mp4"]["source"] == "dfdc_train_part_1/ggg.mp4"
    assert s["counts"]["real"] == 5 and s["counts"]["fake"] == 5 and s["counts"]["groups"] == 5
    assert s["info"]["parts"] == ["dfdc_train_part_0", "dfdc_train_part_1"]


def test_dfdc_fakes_stay_with_their_original(dfdc_root: Path, tmp_path: Path) -> None:
    s = _run(dfdc_root, tmp_path / "ds", "--val-fraction", "0.2", "--test-fraction", "0.2")
    split = {r["video_name"]: r["split"] for r in read_csv(tmp_path / "ds" / "split.csv")}
    for r in read_csv(tmp_path / "ds" / "labels.csv"):
        if r["original"]:
            assert split[r["video_name"]] == split[r["original"]], r["video_name"]
    assert all(sum(s["counts"]["by_split"][k].values()) > 0 for k in ("train", "val", "test"))


def test_dfdc_strays_missing_and_bad_labels_are_named(dfdc_root: Path, tmp_path: Path) -> None:
    s = _run(dfdc_root, tmp_path / "ds")
    assert {u["path"]: u["reason"] for u in s["unplaced"]} == {
        "dfdc_train_part_0/extra.mp4": "not in dfdc_train_part_0/metadata.json",
        "dfdc_train_part_0/odd.mp4": "label 'MAYBE' in dfdc_train_part_0/metadata.json is neither REAL nor FAKE",
        "stray.mp4": "in no folder with a metadata.json",
    }
    assert s["missing"] == [{"name": "dfdc_train_part_0/zzz.mp4", "listed_in": "dfdc_train_part_0/metadata.json"}]


def test_dfdc_test_only_and_reals_only(dfdc_root: Path, tmp_path: Path) -> None:
    s = _run(dfdc_root, tmp_path / "ds", "--test-only", "--reals-only")
    assert s["counts"]["by_split"] == {"train": {"real": 0, "fake": 0}, "val": {"real": 0, "fake": 0},
                                       "test": {"real": 5, "fake": 0}}
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["labels.csv", "split.csv", "summary.json", "test"]


def test_dfdc_malformed_metadata(dfdc_root: Path, tmp_path: Path, caplog) -> None:
    (dfdc_root / "dfdc_train_part_1" / "metadata.json").write_text('{"fff.mp4": "REAL"}')
    assert main(["dfdc", str(dfdc_root), "--out", str(tmp_path / "ds")]) == 2
    assert "dfdc_train_part_1/metadata.json: expected" in caplog.text
