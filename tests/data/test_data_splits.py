"""dfdetect.data.splits: the hash split by video and the three ways to split (split file, --val manifest, hash)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import InputError, write_csv
from dfdetect.core.schemas import SPLIT_COLUMNS
from dfdetect.core.seeding import hash_unit
from dfdetect.data import VideoCrops, prepare_data, read_crops_manifest, split_videos


def _videos(n: int, fake_every: int = 4) -> dict[str, VideoCrops]:
    names = [f"v{i:02d}.mp4" for i in range(n)]
    return {name: VideoCrops(name, int(i % fake_every == 0), [0], [Path("x")], np.zeros((1, 4)), np.zeros((1, 5, 2)))
            for i, name in enumerate(names)}


def test_split_videos_is_by_video_stratified_and_deterministic(sample_crops: Path) -> None:
    many = _videos(40)
    train, val = split_videos(many, seed=0)
    assert not set(train) & set(val) and sorted(train + val) == sorted(many)
    assert len(val) == 8 and sum(many[n].label for n in val) == 2  # 20% of each class
    assert split_videos(many, seed=0) == (train, val)
    assert split_videos(many, seed=1) != (train, val)
    videos = read_crops_manifest(sample_crops)
    train, val = split_videos(videos, seed=0)
    assert not set(train) & set(val) and sorted(train + val) == sorted(videos)


def test_split_videos_takes_the_lowest_hash_units_per_label() -> None:
    """THE name-to-seed rule decides: per label, the names with the smallest hash_unit(seed, name) go to val."""
    many = _videos(10, fake_every=2)
    for label in (0, 1):
        names = [n for n, v in many.items() if v.label == label]
        expected = sorted(names, key=lambda n: hash_unit(3, n))[:1]  # round(0.2 * 5) = 1
        assert [n for n in split_videos(many, seed=3)[1] if many[n].label == label] == expected


def test_prepare_data_with_split_file_and_val_manifest(tmp_path: Path, sample_crops: Path) -> None:
    names = sorted(read_crops_manifest(sample_crops))
    split = tmp_path / "split.csv"
    parts = ["train", "val", "test"] + ["train"] * (len(names) - 3)
    write_csv(split, [dict(zip(SPLIT_COLUMNS, (n, s))) for n, s in zip(names[:-1], parts)], SPLIT_COLUMNS)
    ds = prepare_data(sample_crops, split=split)
    assert [v.video for v in ds.train] == [n for n, s in zip(names, parts[:-1]) if s == "train"]
    assert [v.video for v in ds.val] == [names[1]]
    assert ds.skipped == {names[2]: "test split", names[-1]: "not in the split file"}
    with pytest.raises(InputError, match="both --data and --val"):
        prepare_data(sample_crops, val=sample_crops)
    with pytest.raises(InputError, match="not both"):
        prepare_data(sample_crops, val=sample_crops, split=split)
