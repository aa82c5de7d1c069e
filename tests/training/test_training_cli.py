"""dfdetect.training.cli (``train.py``): flags map to config keys, exit codes, --clip-len and its old name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from dfdetect.core.config import overrides_from_args
from dfdetect.core.io import load_image, read_csv, write_csv
from dfdetect.data import CELL_INCHES, DPI, TITLE_INCHES
from dfdetect.training.cli import get_args_parser, main

TINY = ["--backbone", "efficientnet-lite0", "--clip-len", "4", "--size", "64", "--batch-size", "2"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _grid_shape(rows: int, cols: int) -> tuple[int, int]:
    """Pixel (height, width) of a grid PNG: the figure size is fixed by rows and columns."""
    return round(rows * (CELL_INCHES + TITLE_INCHES) * DPI), round(cols * CELL_INCHES * DPI)


def test_every_override_flag_maps_to_its_config_key() -> None:
    argv = ["--data", "c.csv", "--epochs", "3", "--batch-size", "4", "--lr", "0.01", "--clip-len", "6", "--size",
            "96", "--backbone", "efficientnet-lite0", "--no-pretrained", "--weights", "w.pth", "--freeze-encoder",
            "--freeze-blocks", "2", "--synth-fakes", "0.5", "--balance", "none", "--no-augment", "--val-clips", "3",
            "--device", "cpu", "--workers", "1", "--seed", "7"]
    assert overrides_from_args(get_args_parser().parse_args(argv)) == {
        "train.epochs": 3, "train.batch_size": 4, "train.lr": 0.01, "data.frames": 6, "data.size": 96,
        "model.backbone": "efficientnet-lite0", "model.pretrained": False, "model.weights": "w.pth",
        "train.freeze_encoder": True, "train.freeze_blocks": 2, "train.synth_fakes": 0.5, "data.balance": "none",
        "data.augment": False, "train.val_clips": 3, "train.device": "cpu", "data.workers": 1, "train.seed": 7,
    }
    assert overrides_from_args(get_args_parser().parse_args(["--data", "c.csv"])) == {}  # nothing given: YAML wins


def test_frames_is_a_deprecated_alias_of_clip_len(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    args = get_args_parser().parse_args(["--data", "c.csv", "--frames", "5"])
    assert overrides_from_args(args) == {"data.frames": 5}
    with caplog.at_level(logging.WARNING):  # exits at the config check, after the warning
        assert main(["--data", "c.csv", "--out", str(tmp_path / "r"), "--frames", "5", "--lr", "-1"]) == 2
    assert "--frames is deprecated, use --clip-len" in caplog.text
    caplog.clear()
    assert main(["--data", "c.csv", "--out", str(tmp_path / "r"), "--clip-len", "5", "--lr", "-1"]) == 2
    assert "deprecated" not in caplog.text


def test_unknown_yaml_key_exits_2(tmp_path: Path, sample_crops: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochz: 3\n")
    assert main(["--data", str(sample_crops), "--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "unknown config key 'train.epochz'" in caplog.text
    assert not (tmp_path / "run").exists()


def test_cli_overrides_yaml_and_show_augmentations(tmp_path: Path, sample_crops: Path) -> None:
    """--epochs 0 --show-augmentations N: writes the resolved config and the picture, trains nothing."""
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("train:\n  lr: 0.003\n  epochs: 7\ndata:\n  frames: 6\n  size: 48\n")
    run = tmp_path / "run"
    argv = ["--data", str(sample_crops), "--config", str(cfg_file), "--out", str(run), "--epochs", "0",
            "--clip-len", "3", "--backbone", "efficientnet-lite0", "--show-augmentations", "2"]
    assert main(argv) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["lr"] == 0.003 and saved["data"]["size"] == 48  # from the YAML
    assert saved["train"]["epochs"] == 0 and saved["data"]["frames"] == 3  # CLI wins over the YAML
    assert saved["model"]["backbone"] == "efficientnet-lite0"
    assert load_image(run / "augmentations.png").shape[:2] == _grid_shape(2, 3)  # 2 clips x 3 timesteps
    assert not (run / "last.pt").exists()


def test_bad_values_exit_2(tmp_path: Path, sample_crops: Path) -> None:
    base = ["--data", str(sample_crops), "--out", str(tmp_path / "r"), *TINY, "--epochs", "0"]
    assert main([*base, "--synth-fakes", "1.5"]) == 2
    assert main([*base, "--val", str(sample_crops)]) == 2  # the same videos in train and val
    assert main(["--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")]) == 2
    assert main(["--data", str(sample_crops), "--resume"]) == 2  # --resume needs --out


def test_unlabelled_data_exits_1(tmp_path: Path, sample_crops: Path) -> None:
    rows = read_csv(sample_crops)
    for r in rows:
        r["label"] = ""
        r["path"] = str(sample_crops.parent / r["path"])  # absolute: the copy lives elsewhere
    unlabelled = tmp_path / "crops.csv"
    write_csv(unlabelled, rows, list(rows[0]))
    assert main(["--data", str(unlabelled), "--out", str(tmp_path / "r"), *TINY, "--epochs", "1"]) == 1


def test_existing_run_needs_resume_and_the_same_config(tiny_checkpoint: Path) -> None:
    before = (tiny_checkpoint / "last.pt").read_bytes()
    data = json.loads((tiny_checkpoint / "run.json").read_text())["data"]
    assert main(["--data", data, "--out", str(tiny_checkpoint), *TINY, "--epochs", "1"]) == 2
    assert main(["--data", data, "--out", str(tiny_checkpoint), *TINY, "--epochs", "2", "--lr", "0.01", "--resume",
                 "--val-clips", "2"]) == 2
    assert (tiny_checkpoint / "last.pt").read_bytes() == before  # the run is left alone
