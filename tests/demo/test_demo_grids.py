"""Pictures (dfdetect.demo.grids): the ``grid`` CLI (one row per clip, one column per timestep, flags that are config
overrides) and the real/fake example frames of the demo data set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dfdetect.core.config import overrides_from_args
from dfdetect.core.io import load_image, read_csv, write_csv
from dfdetect.core.schemas import SPLIT_COLUMNS
from dfdetect.data import CELL_INCHES, DPI, TITLE_INCHES
from dfdetect.demo import data as demo_data
from dfdetect.demo.grids import (
    EXAMPLE_DPI,
    ExampleError,
    get_args_parser,
    main,
    time_examples_main,
    write_examples,
)


def _grid_shape(rows: int, cols: int) -> tuple[int, int]:
    """Pixel (height, width) of a grid PNG: the figure size is fixed by rows and columns."""
    return round(rows * (CELL_INCHES + TITLE_INCHES) * DPI), round(cols * CELL_INCHES * DPI)


def test_grid_flags_are_config_overrides() -> None:
    args = get_args_parser().parse_args(["--data", "c.csv", "--out", "g.png", "--clip-len", "5", "--size", "96",
                                         "--synth-fakes", "0.5", "--seed", "3", "--no-augment"])
    assert overrides_from_args(args) == {"data.frames": 5, "data.size": 96, "train.synth_fakes": 0.5,
                                         "train.seed": 3, "data.augment": False}
    assert overrides_from_args(get_args_parser().parse_args(["--data", "c.csv", "--out", "g.png"])) == {}
    old_name = get_args_parser().parse_args(["--data", "c.csv", "--out", "g.png", "--frames", "6"])
    assert overrides_from_args(old_name) == {"data.frames": 6}


@pytest.mark.usefixtures("one_torch_thread")
def test_grid_cli_writes_one_row_per_clip_one_column_per_step(tmp_path: Path, sample_crops: Path) -> None:
    out3, out2 = tmp_path / "g3.png", tmp_path / "g2.png"
    assert main(["--data", str(sample_crops), "--out", str(out3), "--clips", "3", "--clip-len", "5"]) == 0
    assert main(["--data", str(sample_crops), "--out", str(out2), "--clips", "2", "--frames", "4",
                 "--synth-fakes", "1"]) == 0
    assert load_image(out3).shape[:2] == _grid_shape(3, 5)
    assert load_image(out2).shape[:2] == _grid_shape(2, 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g2.png", "g3.png"]  # atomic: no temp file left
    assert main(["--data", str(tmp_path / "none.csv"), "--out", str(out2)]) == 2
    assert main(["--data", str(sample_crops), "--out", str(out2), "--clips", "0"]) == 2
    assert main(["--data", str(sample_crops), "--out", str(out2), "--clip-len", "0"]) == 2  # validate_config


@pytest.fixture(scope="module")
def carphone_set(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Path:
    """A demo data set from the small carphone video alone: two real/fake pairs, all in the test split."""
    src = tmp_path_factory.mktemp("samples_carphone")
    os.symlink((samples_dir / "carphone_pristine.mp4").resolve(), src / "carphone_pristine.mp4")
    out = tmp_path_factory.mktemp("demo_carphone") / "data"
    assert demo_data.build_demo_data(src, out, test_person="carphone_man")["test"] == 4
    return out


@pytest.mark.usefixtures("one_torch_thread")
def test_write_examples_one_row_per_test_pair(carphone_set: Path, tmp_path: Path) -> None:
    png = write_examples(carphone_set, tmp_path / "examples.png", margin=0.3, size=64, pairs=3)
    # 2 pairs in the set (3 asked for): 2 rows of 3.2 in, 13 in wide, at EXAMPLE_DPI
    assert load_image(png).shape[:2] == (round(2 * 3.2 * EXAMPLE_DPI), 13 * EXAMPLE_DPI)
    assert load_image(write_examples(carphone_set, tmp_path / "one.png", 0.3, 64, pairs=1)).shape[0] == round(
        3.2 * EXAMPLE_DPI)
    # no test pair: an error, not an empty picture
    no_test = tmp_path / "no_test"
    no_test.mkdir()
    (no_test / "meta.csv").write_bytes((carphone_set / "meta.csv").read_bytes())
    write_csv(no_test / "split.csv", [{**r, "split": "train"} for r in read_csv(carphone_set / "split.csv")],
              SPLIT_COLUMNS)
    with pytest.raises(ExampleError):
        write_examples(no_test, tmp_path / "none.png", 0.3, 64)
    assert not (tmp_path / "none.png").exists()


def test_time_examples_draw_real_fake_and_difference_per_frame(face_video, tmp_path):
    """``python -m dfdetect synth-pictures``: one PNG per generator asked for, three rows (real, fake, difference) by
    one column per drawn frame (the figure is 1.6 x 5.4 inches per column at EXAMPLE_DPI)."""
    assert time_examples_main([str(face_video), str(tmp_path), "--frames", "6", "--columns", "3",
                               "--methods", "facejitter"]) == 0
    png = tmp_path / "synth_facejitter.png"
    assert load_image(png).shape[:2] == (round(5.4 * EXAMPLE_DPI), round(3 * 1.6 * EXAMPLE_DPI))
    assert not list(tmp_path.glob("synth_mouthretime.png"))
