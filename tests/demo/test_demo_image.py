"""The image demo end to end, in small (4 frames per video person, 2 epochs at 64 px): the data set split by person,
training on the training people's reals with on-the-fly fakes, eval.py's img_name,score CSV on the held-out people.
``make demo-image`` runs the full size (README, "Image track").

No learnt figure is asserted (2 epochs at 64 px learn little): the AUC is only checked against its own predictions,
so the test holds on any CPU; the full-size AUC (0.855 here, 0.858 on an Intel Xeon: issue 25) is README material."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dfdetect.core.io import read_csv, read_labels
from dfdetect.demo import samples as samples_mod
from dfdetect.demo.image import TEST_PEOPLE, VAL_PEOPLE, group_prefix, group_reals, main, run_image_demo
from face_crop.detect import FaceDetector, face_side


def test_stills_are_real_and_checksummed(stills_dir: Path) -> None:
    for s in samples_mod.STILLS:
        assert hashlib.sha256((stills_dir / s.name).read_bytes()).hexdigest() == s.sha256
    people = {s.person for s in samples_mod.STILLS if s.person}
    assert len(people) == 6 and "feat_man" in people  # kept with the man of the videos: the split cannot leak him


def test_group_photos_are_real_checksummed_and_all_training_people(groups_dir: Path) -> None:
    """face-api's six group photos: each checksummed; MTCNN finds at least 15 faces over the six (measured: 22, three
    to five per photo), each face becomes its own person, and every one of them is on the training side."""
    assert len(samples_mod.GROUPS) == 6 and samples_mod.GROUPS[0].package in samples_mod.PACKAGE_SHA256
    detector = FaceDetector()
    people: list[str] = []
    for s in samples_mod.GROUPS:
        path = groups_dir / s.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
        reals = group_reals(path, detector, f"{group_prefix(s.name)}_")
        assert len(reals) >= 2, s.name  # a group photo: several faces
        assert all(r.source == s.name and face_side(r.face) <= 100.5 for r in reals)  # scaled to FACE_SIDE
        people += [r.person for r in reals]
    assert len(people) >= 15 and len(set(people)) == len(people)  # every face its own person
    assert not set(people) & (set(TEST_PEOPLE) | set(VAL_PEOPLE))  # all of them train


def _pairwise_auc(scores: dict[str, float], labels: dict[str, int]) -> float:
    reals = [s for n, s in scores.items() if labels[n] == 0]
    fakes = [s for n, s in scores.items() if labels[n] == 1]
    return sum((f > r) + 0.5 * (f == r) for f in fakes for r in reals) / (len(reals) * len(fakes))


@pytest.mark.slow
def test_image_demo_in_small(samples_dir: Path, stills_dir: Path, groups_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "small.yaml"
    config.write_text("model:\n  kind: frame\n  backbone: efficientnet-lite0\ndata:\n  size: 64\ntrain:\n  epochs: 2\n"
                      "  batch_size: 8\n  lr: 3.0e-4\n  synth_fakes: 1.0\n  synth_methods: sbi:1,resample:1\n")
    out = tmp_path / "demo"
    s = run_image_demo(samples_dir, out, config=config, frames_per_person=4)
    meta = {r["img_name"]: r for r in read_csv(out / "data" / "meta.csv")}
    assert s["counts"]["people"] == 37 and s["counts"]["test_real"] == s["counts"]["test_fake"]  # 22 group faces
    group_people = {r["person"] for r in meta.values() if r["source"] in {g.name for g in samples_mod.GROUPS}}
    assert len(group_people) == 22 and {r["split"] for r in meta.values() if r["person"] in group_people} == {"train"}
    # Split by person: training crops come from the training people only; the test holds the test people only.
    trained = {r["video"] for r in read_csv(out / "run" / "crops" / "crops.csv")}
    assert {meta[n]["split"] for n in trained} == {"train", "val"}
    assert {meta[n]["person"] for n in trained if meta[n]["split"] == "val"} == set(VAL_PEOPLE)
    assert not {meta[n]["person"] for n in trained} & set(TEST_PEOPLE)
    assert all(meta[n]["target"] == "0" for n in trained if meta[n]["split"] == "train")  # reals only: fakes on the fly
    # The challenge CSV: every test image once; the reported AUC is the AUC of these scores.
    preds = {r["img_name"]: float(r["score"]) for r in read_csv(out / "eval" / "predictions.csv")}
    test = sorted(n for n, r in meta.items() if r["split"] == "test")
    assert sorted(preds) == test and {meta[n]["person"] for n in test} == set(TEST_PEOPLE)
    m = s["metrics"]
    assert m["n"] == len(test) and m["auc"] == pytest.approx(_pairwise_auc(preds, read_labels(out / "data" /
                                                                                              "labels.csv")))
    assert set(m["by_method"]) == {"sbi", "resample"} and "tpr_at_fpr_1e-3" in m
    assert s["model_size"]["kind"] == "frame" and s["crops"]["used_whole"] >= 3  # the portraits
    assert {"cpu_model", "cpu_capability", "allocator", "torch_threads", "torch", "numpy"} <= set(s["machine"])
    # Again: everything resumes, nothing is trained again.
    stamp = (out / "run" / "best.pt").stat().st_mtime_ns
    assert main(["--samples", str(samples_dir), "--out", str(out), "--config", str(config),
                 "--frames-per-person", "4"]) == 0
    assert (out / "run" / "best.pt").stat().st_mtime_ns == stamp
    assert json.loads((out / "summary.json").read_text())["metrics"]["auc"] == m["auc"]
