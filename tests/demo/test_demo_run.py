"""The whole demo, end to end, on the real sample videos: data set -> frames -> crops -> training -> evaluation.

Slow (about 8.5 minutes on 2 idle AVX2 cores: 32 real training videos of seven people and their on-the-fly twins,
20 epochs),
still run in CI: it is the project's main job. Its first step finds the demo's data set built (the session's
``demo_data_set``, tests/fixtures.py: the same command and seed as ``make demo``'s first step, shared with the data
set's tests).

Reproducibility: the demo runner pins torch to :data:`~dfdetect.demo.run.DEMO_THREADS` threads, so this test runs
exactly what ``make demo`` runs (same seed, same thread count: the same weights and figures on a given machine). The
AUC bound is a statement about learning, not a reproduced number: it held for every measured run (README), whatever
the seed or the thread count.

What the margin rests on: franck's last-epoch AUC with today's recipe (the ConvLSTM at 128 channels, 20 epochs) is
0.734 on an AMD EPYC with AVX2 (2 threads, seed 0) against the 0.65 asserted: 5 of his 64 real-fake pairs above the
bound; 0.703 and 0.703 with training seeds 0 and 1 when the training people's fakes were still in the manifest (other
random draws). Earlier recipes: 0.750 (AVX2) and 0.844 (AVX-512) with the ConvLSTM at 256 and 30 epochs, 0.891 with
seed 1, 0.875 for the frame mean on four generators (before 2026-12-06). The weights, and so the figure,
differ on a CPU with another instruction set (README, "What the figures depend on"); the test passed on an Intel Xeon
with AVX-512 too (issue 25, where the held-out woman's AUC moved from 0.594 to 0.547: reported, never asserted). Every
other assertion is plumbing (splits, counts, files) or compares the run with itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from dfdetect.core.config import load_config
from dfdetect.core.io import read_csv, read_labels
from dfdetect.demo import data as demo_data
from dfdetect.demo.run import DEFAULT_CONFIG, DEMO_THREADS, main, run_demo


def _pairwise_auc(scores: dict[str, float], labels: dict[str, int]) -> float:
    """ROC AUC by its definition: the share of (real, fake) pairs where the fake scores higher (ties count half)."""
    reals = [s for n, s in scores.items() if labels[n] == 0]
    fakes = [s for n, s in scores.items() if labels[n] == 1]
    wins = sum((f > r) + 0.5 * (f == r) for f in fakes for r in reals)
    return wins / (len(reals) * len(fakes))


@pytest.mark.slow
def test_demo_trains_and_detects_fakes_of_an_unseen_person(samples_dir: Path,
                                                           demo_data_set: tuple[Path, float]) -> None:
    out = demo_data_set[0].parent  # its data step finds the session's demo data set built (the same command and seed)
    threads_before = torch.get_num_threads()
    summary = run_demo(samples_dir, out)  # the defaults of `make demo` (python -m dfdetect demo)
    assert torch.get_num_threads() == threads_before  # the pin is undone for the caller
    # The pin reached training: the run records the thread count it trained with.
    assert summary["torch_threads"] == DEMO_THREADS
    assert summary["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # what the figures rest on
    trained_with = min(DEMO_THREADS, os.cpu_count() or 1)  # training never runs more threads than cores
    assert json.loads((out / "run" / "run.json").read_text())["torch_threads"] == trained_with
    m = summary["metrics"]
    # Held-out PERSON (never seen in training): every test video scored, balanced real/fake.
    split = {r["video_name"]: r["split"] for r in read_csv(out / "data" / "split.csv")}
    test_videos = sorted(v for v, s in split.items() if s == "test")
    assert m["n"] == summary["n_test_videos"] == len(test_videos) >= 10 and m["n_real"] == m["n_fake"]
    # The challenge CSV: every test video exactly once; the reported AUC is the one of these scores.
    preds = {r["video_name"]: float(r["score"]) for r in read_csv(out / "eval" / "predictions.csv")}
    assert sorted(preds) == test_videos
    labels = read_labels(out / "data" / "labels.csv")
    assert m["auc"] == pytest.approx(_pairwise_auc(preds, labels), abs=1e-9)
    # What the accuracy at 0.5 rests on, in the summary (and printed): each class's lowest and highest score.
    reals, fakes = ([p for v, p in preds.items() if labels[v] == k] for k in (0, 1))
    assert summary["score_range"] == {"real": [min(reals), max(reals)], "fake": [min(fakes), max(fakes)]}
    # Learning: the detector ranks an unseen person's fakes (the whole family) above their reals. The validation
    # person (franck, 16 videos) is never trained on; the last epoch's AUC on him avoids the best epoch's selection
    # bias. Measured (seed 0, 2 threads, AVX2): 0.734 (= the best epoch, 20). A detector that learnt nothing gives
    # 0.5 +- 0.15. The held-out woman's AUC is reported, not asserted: 0.859 (README, "The demo").
    history = read_csv(out / "run" / "metrics.csv")
    assert len(history) == load_config(DEFAULT_CONFIG).train.epochs
    assert float(history[-1]["val_auc"]) >= 0.65, history[-1]
    # Training saw every person but two (franck validates and calibrates), never the held-out woman.
    trained_on = {r["video"] for r in read_csv(out / "crops" / "crops.csv")}
    person = {r["video_name"]: r["person"] for r in read_csv(out / "data" / "meta.csv")}
    assert {person[v] for v in trained_on if split[v] == "train"} == {
        "clm_man", "carphone_man", "feat_man", "jwp", "obama", "ted_woman", "syncnet_man"}  # the AV track's people too
    assert {person[v] for v in trained_on if split[v] == "val"} == {"franck"}
    assert {person[v] for v in test_videos} == {"pexels_woman"} and all(split[v] != "test" for v in trained_on)
    # The recipe twins every real clip and undersamples, so it never draws a labelled fake: the training people's
    # fakes get no frames or crops (32 reals train); franck's reals and fakes validate.
    assert (summary["n_train_videos"], summary["n_val_videos"]) == (32, 16)
    assert all(labels[v] == 0 for v in trained_on if split[v] == "train")
    assert {labels[v] for v in trained_on if split[v] == "val"} == {0, 1}
    run = json.loads((out / "run" / "run.json").read_text())
    assert run["calibration"] is not None  # fitted on the validation people, stored in best.pt
    # The model the project was asked for: best.pt holds the ConvLSTM's weights, trained on the whole family.
    ckpt = torch.load(out / "run" / "best.pt", map_location="cpu", weights_only=True)
    assert ckpt["config"]["model"]["temporal"] == "convlstm" and any(k.startswith("convlstm.") for k in ckpt["model"])
    assert run["synth_methods"] == ",".join(demo_data.METHODS)
    # AUC of each generator, from the labels' method column: every generator has fakes of the held-out person
    assert sorted(m["by_method"]) == sorted(demo_data.METHODS)  # the whole family, the temporal-only fakes included
    for picture in ("augmentations.png", "examples.png", "eval/roc.png"):
        assert (out / picture).stat().st_size > 10_000
    assert json.loads((out / "summary.json").read_text())["metrics"] == m
    # Running it again resumes: every stage finds its outputs and the result is identical.
    stamp = (out / "run" / "best.pt").stat().st_mtime_ns
    assert main(["--samples", str(samples_dir), "--out", str(out)]) == 0
    assert (out / "run" / "best.pt").stat().st_mtime_ns == stamp  # not trained again
    assert json.loads((out / "summary.json").read_text())["metrics"] == m
