"""bench/lopo.py (leave one person out, the model card's figures): the figures on scores whose answer is known by hand,
the fold's split, the card they go into, and the whole script on the samples made quick."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from dfdetect.core.config import CARD_FILE, CARD_JSON, HOME_ENV, default_model_path
from dfdetect.core.io import InputError, read_csv
from dfdetect.data.shards import read_training_crops
from dfdetect.data.splits import split_videos
from dfdetect.demo.model import add_held_out_figures, card_markdown
from tests.fixtures import copy_build

lopo = importlib.import_module("bench.lopo")

def _rows(person: str, scores: list[tuple[int, str, float]]) -> list[dict]:
    return [{"person": person, "target": t, "method": m, "score": s} for t, m, s in scores]


def test_figures_per_person_pooled_and_per_generator() -> None:
    rows = _rows("a", [(0, "", 0.1), (0, "", 0.3), (1, "sbi", 0.9), (1, "eyefreeze", 0.2)])
    rows += _rows("b", [(0, "", 0.6), (1, "sbi", 0.7), (1, "eyefreeze", 0.5)])
    rows += _rows("c", [(0, "", 0.4)])  # no fake of theirs: no AUC of their own, still in the pooled figures
    f = lopo.figures(rows)
    assert list(f["per_person"]) == ["a", "b"]
    # a: fakes 0.9 and 0.2 against reals 0.1 and 0.3: 3 of 4 pairs in order; log loss the mean of -ln(0.9), -ln(0.7),
    # -ln(0.9), -ln(0.2). b: 0.7 above 0.6, 0.5 below
    assert f["per_person"]["a"] == {"auc": 0.75, "log_loss": 0.544, "n_real": 2, "n_fake": 2}
    assert f["per_person"]["b"]["auc"] == 0.5
    assert (f["auc_mean"], f["auc_spread"]) == (0.625, 0.177)
    # pooled: reals 0.1 0.3 0.6 0.4, fakes 0.9 0.7 0.2 0.5: 12 of 16 pairs in order
    assert f["pooled"] == {"auc": 0.75, "log_loss": 0.582, "n_real": 4, "n_fake": 4}
    assert f["by_method"] == {"eyefreeze": {"auc": 0.5, "n_fake": 2}, "sbi": {"auc": 1.0, "n_fake": 2}}


def test_fold_split_holds_the_person_out_and_draws_validation_as_training_does(tmp_path: Path) -> None:
    rows = ["video,label,frame,path,x1,y1,x2,y2,prob,landmarks"]
    names = [f"{p}{k}_{t}.mp4" for p in "abc" for k in range(3) for t in "rf"]
    for n in names:
        (tmp_path / f"{n}.png").write_bytes(b"")
        rows.append(f"{n},{int(n.endswith('f.mp4'))},0,{n}.png,0,0,9,9,1,")
    (tmp_path / "crops.csv").write_text("\n".join(rows) + "\n")
    held = {n for n in names if n.startswith("b")}
    split = {r["video_name"]: r["split"] for r in lopo.fold_split(tmp_path / "crops.csv", held, seed=4)}
    assert set(split) == set(names) and {split[n] for n in held} == {"test"}
    others = {n: v for n, v in read_training_crops(tmp_path / "crops.csv").items() if n not in held}
    train, val = split_videos(others, seed=4)
    assert sorted(n for n, s in split.items() if s == "train") == train
    assert sorted(n for n, s in split.items() if s == "val") == val and val


def _card() -> dict:
    machine = {"cpu_model": "x", "cpu_count": 2, "cpu_capability": "AVX2", "platform": "p", "allocator": "glibc"}
    return {"name": "m", "checkpoint": "model.pt", "built": "t", "training_time_s": {"total": 1.0}, "device": "cpu",
            "torch_threads": 2, "seed": 0, "best_epoch": 1, "validation": {}, "held_out_figures": None,
            "software": {"torch": "2"}, "machine": machine, "config": {},
            "data": {"kind": "samples", "root": "r", "people": ["a", "b"], "videos_real": 2, "videos_fake": 2,
                     "train_videos": 3, "val_videos": 1, "sources": ["s.mp4"]},
            "recipe": {"config_file": "c.yaml", "held_out_people": [], "synth_methods": "all", "synth_fakes": 1}}


def test_the_figures_go_into_the_model_card(tmp_path: Path) -> None:
    assert "Not measured yet" in card_markdown(_card())
    with pytest.raises(InputError, match="no model card"):
        add_held_out_figures(tmp_path, {})
    (tmp_path / CARD_JSON).write_text(json.dumps(_card()))
    fig = lopo.figures(_rows("a", [(0, "", 0.1), (1, "sbi", 0.9)]) + _rows("b", [(0, "", 0.2), (1, "sbi", 0.1)]))
    fig.update({"protocol": "bench/lopo.py", "epochs": 5, "seed": 0, "minutes": 3.0,
                "machine": {"cpu_model": "x", "torch_threads": 2}})
    add_held_out_figures(tmp_path, fig)
    assert json.loads((tmp_path / CARD_JSON).read_text())["held_out_figures"]["per_person"]["b"]["auc"] == 0.0
    md = (tmp_path / CARD_FILE).read_text()
    # sbi pooled: 0.9 above both reals, 0.1 ties one and is below the other: 2.5 of 4
    assert "| a | 1.0 |" in md and "| b | 0.0 |" in md and "| sbi | 0.625 | 2 |" in md
    assert "AUC over people: 0.5 ± 0.707" in md and "Not measured yet" not in md


@pytest.mark.slow
def test_lopo_on_the_samples_scores_each_held_out_person_with_a_model_that_never_saw_them(
        samples_dir: Path, tiny_recipe: Path, quick_samples_build: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    """Its data steps resume from the session's build of the same data (``quick_samples_build``)."""
    recipe = tiny_recipe
    card = tmp_path / "model"
    card.mkdir()
    (card / CARD_JSON).write_text(json.dumps(_card()))
    out = tmp_path / "lopo"
    copy_build(quick_samples_build, out / "build")
    assert lopo.main(["--samples", str(samples_dir), "--out", str(out), "--config", str(recipe), "--people",
                      "franck", "--max-clips", "1", "--threads", "1", "--card", str(card)]) == 0
    person_of = {r["video_name"]: r["person"] for r in read_csv(out / "build" / "data" / "meta.csv")}
    franck = sorted(n for n, p in person_of.items() if p == "franck")
    rows = read_csv(out / "lopo.csv")
    assert sorted(r["video_name"] for r in rows) == franck and {r["target"] for r in rows} == {"0", "1"}
    split = {r["video_name"]: r["split"] for r in read_csv(out / "runs" / "franck" / "split.csv")}
    assert {split[n] for n in franck if n in split} == {"test"}  # never trained on, never validated on
    assert {s for n, s in split.items() if person_of[n] != "franck"} == {"train", "val"}
    trained = json.loads((out / "runs" / "franck" / "train" / "run.json").read_text())
    assert not set(trained["train_videos"]) & set(franck) and not set(trained["val_videos"]) & set(franck)
    fig = json.loads((out / "lopo.json").read_text())
    assert list(fig["per_person"]) == ["franck"] and 0.0 <= fig["pooled"]["auc"] <= 1.0
    assert json.loads((card / CARD_JSON).read_text())["held_out_figures"] == fig
    assert "| franck |" in (card / CARD_FILE).read_text() and "Leave one person out" in capsys.readouterr().out


def test_a_quick_run_leaves_the_default_detectors_card_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    """--epochs or --max-clips measure another model than the default detector: its card is not written unless
    --card names one (the runs are stubbed: only the card decision is under test)."""
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    card_dir = default_model_path().parent
    card_dir.mkdir(parents=True)
    (card_dir / CARD_JSON).write_text(json.dumps(_card()))
    data = tmp_path / "lopo" / "build" / "data"
    data.mkdir(parents=True)
    (data / "meta.csv").write_text("video_name,person\na.mp4,p\nb.mp4,p\n")
    monkeypatch.setattr(lopo, "build_training_crops", lambda *a, **k: (
        {}, [{"video_name": "a.mp4", "target": "0"}, {"video_name": "b.mp4", "target": "1"}], Path("crops.csv")))
    monkeypatch.setattr(lopo, "run_person", lambda person, *a: _rows(person, [(0, "", 0.2), (1, "sbi", 0.8)]))
    base = ["--out", str(tmp_path / "lopo"), "--threads", "1"]
    assert lopo.main([*base, "--epochs", "1"]) == 0
    assert json.loads((card_dir / CARD_JSON).read_text())["held_out_figures"] is None
    assert "card is left alone" in capsys.readouterr().out
    assert lopo.main(base) == 0  # the recipe itself: its card gets the figures
    assert json.loads((card_dir / CARD_JSON).read_text())["held_out_figures"]["per_person"]["p"]["auc"] == 1.0
