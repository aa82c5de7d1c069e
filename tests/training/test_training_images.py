"""train.py on a folder of images (the image track): cropped into the run folder by the one image crop, a frame model,
fakes made on the fly by the single-image generators, balance and model size recorded; bad combinations refused.

No learnt figure is asserted (the run is plumbing: counts, kinds, shapes), so nothing here depends on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint
from dfdetect.core.io import read_csv
from dfdetect.training.cli import main
from models import FrameClassifier, load_model


def test_a_folder_of_images_trains_a_frame_model(tiny_image_run: Path, face_images: Path) -> None:
    model, cfg = load_model(tiny_image_run / "best.pt")
    assert isinstance(model, FrameClassifier) and cfg.model.kind == "frame" and cfg.data.frames == 1
    assert cfg.data.min_faces == 1 and cfg.data.size == 64  # adopted from the image crops' settings
    images = read_csv(tiny_image_run / "crops" / "images.csv")
    assert sorted(r["img_name"] for r in images) == sorted(p.name for p in face_images.iterdir())
    assert {r["status"] for r in images} == {"ok"} and sum(r["tight"] == "1" for r in images) == 3  # the portraits
    run = json.loads((tiny_image_run / "run.json").read_text())
    assert run["model_size"]["kind"] == "frame" and run["model_size"]["input_shape"] == [1, 3, 64, 64]
    assert run["model_size"]["params"] == run["model_size"]["thop_params"] == sum(p.numel() for p in
                                                                                   model.parameters())
    assert run["data"] == str(face_images.resolve()) and run["data_crops"].endswith("crops/crops.csv")
    assert run["balance"] == "undersample" and run["synth_methods"] == "sbi:1,resample:1"
    row = read_csv(tiny_image_run / "metrics.csv")[0]
    assert int(row["n_train_real"]) == int(row["n_train_synth"]) == int(row["n_train_fake"]) > 0  # reals + twins
    assert config_from_checkpoint(load_checkpoint(tiny_image_run / "last.pt")).model.kind == "frame"


def _args(face_images: Path, out: Path, *extra: str) -> list[str]:
    return ["--data", str(face_images), "--out", str(out), "--backbone", "efficientnet-lite0", "--size", "64",
            "--epochs", "0", *extra]


def test_images_without_labels_are_refused(face_images: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(_args(face_images, tmp_path / "r")) == 2
    assert "give its labels with --labels (img_name,target)" in caplog.text


@pytest.mark.parametrize(("extra", "message"), [
    (["--kind", "video"], "they train a frame model"),
    (["--synth-fakes", "1", "--synth-methods", "sbi,temporal"], "temporal needs several frames"),
    (["--synth-fakes", "1", "--synth-methods", "selfswap"], "selfswap needs another moment"),
])
def test_images_refuse_what_a_frame_model_cannot_do(face_images: Path, tiny_image_run: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture, extra: list[str],
                                                    message: str) -> None:
    out = tmp_path / "r"
    out.mkdir()
    # The crops of the tiny run are reused (resume markers), so no image is detected again.
    (out / "crops").symlink_to(tiny_image_run / "crops", target_is_directory=True)
    labels = face_images.parent / "labels.csv"
    assert main(_args(face_images, out, "--labels", str(labels), *extra)) == 2
    assert message in caplog.text
