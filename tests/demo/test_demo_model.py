"""``dfdetect model build`` and the default detector: the checkpoint and its card, ``score``/``serve`` without a
checkpoint (the default one, or one line saying how to build it).

No learnt figure is asserted: the tiny build is plumbing, and a score is only compared with the same checkpoint's
score in the same process (the same kernels), so the tests hold on any CPU."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch

import dfdetect.__main__ as entry
from dfdetect.__main__ import main as dfdetect_main
from dfdetect.core.config import CARD_FILE, CARD_JSON, HOME_ENV, default_model_path
from dfdetect.core.io import read_csv
from dfdetect.demo import data as demo_data
from dfdetect.inference import Detector
from dfdetect.serve.cli import main as serve_main
from tests.fixtures import REALS, copy_build


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$DFDETECT_HOME``: nothing of the user's cache is read or written."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def test_without_the_default_model_score_and_serve_say_how_to_build_it(
        home: Path, face_video: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture) -> None:
    assert default_model_path() == home / "models" / "dfdetect-v1" / "model.pt"
    with caplog.at_level(logging.ERROR):
        assert dfdetect_main(["score", str(face_video)]) == 2
        assert serve_main([]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all("\n" not in e for e in errors)
    for e in errors:
        assert str(default_model_path()) in e and "dfdetect model build" in e and "make model" in e
    assert dfdetect_main(["model", "path"]) == 1  # not built
    assert capsys.readouterr().out.strip() == str(default_model_path())


def test_help_lists_every_command(capsys: pytest.CaptureFixture) -> None:
    assert dfdetect_main(["--help"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert {"score", "eval", "train", "serve", "explain", "export", "synth", "dataset", "model", "demo",
            "fetch-samples", "pack-shards", "merge", "grid", "demo-data", "demo-image", "demo-av"} <= listed


def test_a_missing_optional_part_is_one_install_line(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}", name="fastapi")

    monkeypatch.setattr(entry.importlib, "import_module", missing)
    assert entry.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == "dfdetect serve: fastapi is not installed: pip install 'dfdetect[serve]'\n"


def test_model_build_on_reals_writes_checkpoint_and_card_and_score_uses_it(
        home: Path, reals_dir: Path, tiny_recipe: Path, face_video: Path, capsys: pytest.CaptureFixture) -> None:
    """The whole build (synth, frames, crops, one epoch) takes about 15 s on one core: not marked slow."""
    reals, recipe = reals_dir, tiny_recipe
    assert dfdetect_main(["model", "build", "--reals", str(reals), "--config", str(recipe), "--threads", "1",
                          "--seed", "3"]) == 0
    ckpt = default_model_path()
    assert ckpt.is_file() and (ckpt.parent / CARD_FILE).is_file()
    card = json.loads((ckpt.parent / CARD_JSON).read_text())
    assert card["name"] == "dfdetect-v1" and card["checkpoint"] == "model.pt" and card["seed"] == 3
    assert card["data"]["kind"] == "reals" and card["data"]["sources"] == sorted(REALS)
    assert (card["data"]["videos_real"], card["data"]["videos_fake"]) == (2, 2)  # each real + its one SBI fake
    assert card["recipe"]["held_out_people"] == [] and card["held_out_figures"] is None
    # synth_fakes 1 with undersampling: the labelled fakes are never drawn in training, and the card says so
    assert card["recipe"]["labelled_fakes_trained"] is False
    assert card["recipe"]["config_file"] == str(recipe)  # outside the project: the path as given
    assert card["config"]["data"]["size"] == 64 and card["config"]["train"]["seed"] == 3
    assert card["torch_threads"] == 1 and card["training_time_s"]["total"] > 0
    assert card["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # what the weights rest on
    assert card["software"]["torch"] == torch.__version__.split("+")[0]
    md = (ckpt.parent / CARD_FILE).read_text()
    assert "# Model card: dfdetect-v1" in md and "## Held-out figures" in md and "single_face.mp4" in md
    assert "balancing draws none of the labelled fakes" in md
    assert f"torch kernels {card['machine']['cpu_capability']}" in md and "allocator" in md
    assert sorted(os.listdir(reals)) == sorted(REALS)  # the user's folder is only read
    capsys.readouterr()

    # score with no checkpoint: the default detector, the same score as loading it by path
    assert dfdetect_main(["model", "path"]) == 0
    capsys.readouterr()
    assert dfdetect_main(["score", str(face_video), "--device", "cpu"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == "single_face.mp4" and row[3] == "ok" and row[2] in ("real", "fake")
    assert float(row[1]) == pytest.approx(Detector.load(ckpt, device="cpu").score(face_video), abs=5e-5)


@pytest.mark.slow
def test_model_build_on_the_samples_trains_on_every_person(home: Path, samples_dir: Path, tiny_recipe: Path,
                                                           quick_samples_build: Path, tmp_path: Path) -> None:
    """``make model``'s path, made quick (one clip per sample video, the tiny recipe): no person is held out. Its
    data steps resume from the session's build of the same command (``quick_samples_build``)."""
    recipe = tiny_recipe
    out = tmp_path / "m" / "det.pt"
    copy_build(quick_samples_build, out.parent / "build")
    assert dfdetect_main(["model", "build", "--samples", str(samples_dir), "--max-clips", "1", "--config", str(recipe),
                          "--out", str(out), "--threads", "1"]) == 0
    card = json.loads((out.parent / CARD_JSON).read_text())
    # Every person with a usable face run trains: all five of the sample videos and the AV track's jwp and obama. With
    # one clip per video, ted_talk's one searched window is its title (no face) and syncnet's face run is too short:
    # recorded as skipped with the reason, never silently missing.
    sources = read_csv(out.parent / "build" / "data" / "sources.csv")
    used = sorted({r["person"] for r in sources if r["status"] == "used"})
    assert card["data"]["people"] == used
    assert {"carphone_man", "clm_man", "feat_man", "franck", "pexels_woman", "jwp", "obama"} <= set(used)
    assert {r["person"] for r in sources if r["person"]} == {p for p in demo_data.SOURCES.values() if p}
    assert all(r["reason"] for r in sources if r["status"] != "used")
    clips = card["data"]["clips_per_person"]
    assert min(clips.values()) >= 1 and sum(clips.values()) == card["data"]["videos_real"]
    split = (out.parent / "build" / "data" / "split.csv").read_text().splitlines()[1:]
    assert split and all(line.endswith(",train") for line in split)  # no test person, no validation person
    assert card["data"]["train_videos"] + card["data"]["val_videos"] == card["data"]["videos_real"] * 2
    assert not default_model_path().exists()  # --out: the default place is left alone


@pytest.mark.slow
def test_a_fresh_build_gives_the_same_checkpoint_file(home: Path, reals_dir: Path, tiny_recipe: Path,
                                                       tmp_path: Path) -> None:
    """Issue 24's reproducibility: the same command, seed and threads give the same weights, byte for byte (built
    from nothing twice: the second build must not resume from the first's work folder, which would only copy)."""
    reals, recipe = reals_dir, tiny_recipe
    out = tmp_path / "m" / "model.pt"
    digests = []
    for _ in range(2):
        assert dfdetect_main(["model", "build", "--reals", str(reals), "--config", str(recipe), "--threads", "1",
                              "--out", str(out)]) == 0
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        shutil.rmtree(out.parent)  # the checkpoint, its card and the work folder: the next build starts bare
    assert digests[0] == digests[1]
