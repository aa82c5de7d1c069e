"""What every adapter shares: splits by group, the outputs, and what the command refuses."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from dfdetect.__main__ import COMMANDS
from dfdetect.core.io import InputError
from dfdetect.datasets import ADAPTERS, Options, Scan, Video, build_dataset, split_groups, write_dataset
from dfdetect.datasets.cli import main


def test_split_groups_is_stable_and_proportional() -> None:
    groups = [f"person{i}" for i in range(2000)]
    parts = split_groups(groups, seed=3, val_fraction=0.1, test_fraction=0.2)
    counts = Counter(parts.values())
    assert abs(counts["val"] - 200) < 60 and abs(counts["test"] - 400) < 80
    # a group's place depends on the seed and its key only: more groups move none of the others
    more = split_groups([*groups, *(f"new{i}" for i in range(500))], seed=3, val_fraction=0.1, test_fraction=0.2)
    assert all(more[g] == parts[g] for g in groups)
    assert split_groups(groups, seed=4, val_fraction=0.1, test_fraction=0.2) != parts


def test_split_groups_fills_each_asked_split_on_tiny_sets() -> None:
    parts = split_groups(["a", "b", "c"], seed=0, val_fraction=0.01, test_fraction=0.01)
    assert sorted(parts.values()) == ["test", "train", "val"]
    assert set(split_groups(["a", "b"], seed=0, val_fraction=0.0, test_fraction=0.0).values()) == {"train"}
    with pytest.raises(InputError, match="fractions"):
        split_groups(["a"], seed=0, val_fraction=0.6, test_fraction=0.5)


def test_write_refuses_out_inside_the_data_set(tmp_path: Path) -> None:
    (tmp_path / "ds" / "real").mkdir(parents=True)
    with pytest.raises(InputError, match="inside the data set folder"):
        build_dataset("folder", tmp_path / "ds", tmp_path / "ds" / "out")


def test_write_refuses_the_data_set_inside_out(tmp_path: Path, face_video: Path) -> None:
    (tmp_path / "train" / "real").mkdir(parents=True)
    os.symlink(face_video, tmp_path / "train" / "real" / "a.mp4")  # a data set of links, where OUT/train would be
    with pytest.raises(InputError, match="is inside --out"):
        build_dataset("folder", tmp_path / "train", tmp_path)
    assert (tmp_path / "train" / "real" / "a.mp4").is_symlink()


def test_write_never_replaces_a_file_that_is_not_its_link(tmp_path: Path, face_video: Path) -> None:
    scan = Scan([Video("a.mp4", "real/a.mp4", 0, group="a", split="train")])
    (tmp_path / "out" / "train").mkdir(parents=True)
    (tmp_path / "out" / "train" / "a.mp4").write_bytes(b"user data")
    with pytest.raises(InputError, match="is not a link written by this command"):
        write_dataset(scan, tmp_path / "root", tmp_path / "out")
    assert (tmp_path / "out" / "train" / "a.mp4").read_bytes() == b"user data"


def test_write_links_are_absolute_and_names_unique(tmp_path: Path) -> None:
    scan = Scan([Video("a.mp4", "x/a.mp4", 0, split="test"), Video("b.mp4", "y/a.mp4", 1, split="test")])
    write_dataset(scan, Path("rel_root"), tmp_path / "out")
    assert os.readlink(tmp_path / "out" / "test" / "b.mp4") == os.path.abspath("rel_root/y/a.mp4")
    with pytest.raises(ValueError, match="duplicate names"):
        write_dataset(Scan([Video("a.mp4", "x/a.mp4", 0, split="test")] * 2), Path("r"), tmp_path / "o2")


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_names_an_empty_folder_in_one_line(name: str, tmp_path: Path, caplog) -> None:
    (tmp_path / "empty").mkdir()
    assert main([name, str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1
    assert not (tmp_path / "out").exists()


def test_options_not_used_by_an_adapter_are_errors(tmp_path: Path) -> None:
    (tmp_path / "ds" / "real").mkdir(parents=True)
    with pytest.raises(InputError, match="--compression does not apply to folder"):
        build_dataset("folder", tmp_path / "ds", tmp_path / "out", Options(compression="c40"), given={"compression"})
    with pytest.raises(InputError, match="data set folder not found"):
        build_dataset("folder", tmp_path / "nope", tmp_path / "out")


def test_the_command_is_registered() -> None:
    assert COMMANDS["dataset"][0] == "dfdetect.datasets.cli"
    with pytest.raises(SystemExit) as e:
        main(["nosuchset", "x", "--out", "y"])
    assert e.value.code == 2
