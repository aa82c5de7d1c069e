"""Training crops in WebDataset tar shards: the same videos, the same batches and the same trained weights as the
PNG folder they were packed from (the real sample crops)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dfdetect.core.io import InputError, read_csv, write_csv
from dfdetect.data import (
    ClipDataset,
    build_clip_augmentation,
    epoch_plan,
    read_crops_manifest,
    read_training_crops,
    write_crop_shards,
)
from dfdetect.data.shards import main as pack_main
from dfdetect.training.cli import main as train_main


@pytest.fixture(scope="module")
def shards(sample_crops: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shards") / "shards"
    assert pack_main([str(sample_crops), str(out), "--videos-per-shard", "3"]) == 0
    return out


def test_shards_are_webdataset_tars_holding_every_crop(sample_crops: Path, shards: Path) -> None:
    rows = read_csv(sample_crops)
    tars = sorted(shards.glob("crops-*.tar"))
    assert [t.name for t in tars] == ["crops-000000.tar", "crops-000001.tar"]  # 4 videos, 3 per shard
    names = [m for t in tars for m in tarfile.open(t).getnames()]
    assert sum(n.endswith(".png") for n in names) == len(rows)
    assert all(n.split(".")[0].isdigit() for n in names)  # WebDataset keys: the part before the first dot
    assert (shards / "settings.json").read_bytes() == (sample_crops.parent / "settings.json").read_bytes()
    with pytest.raises(InputError, match="holds shards already"):
        write_crop_shards(sample_crops, shards)


def test_shards_give_the_same_videos_and_batches(sample_crops: Path, shards: Path) -> None:
    png, tar = read_crops_manifest(sample_crops), read_training_crops(shards)
    assert list(png) == list(tar)
    for name in png:
        a, b = png[name], tar[name]
        assert (a.label, a.frames, a.width, a.height) == (b.label, b.frames, b.width, b.height)
        for field in ("boxes", "landmarks", "regions"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    videos_png, videos_tar = list(png.values()), list(tar.values())
    specs, _ = epoch_plan(videos_png, epoch=1, seed=5, t=4, synth_fakes=0.5)
    augment = build_clip_augmentation(64)
    loaders = [DataLoader(ClipDataset(v, specs, 64, (0.5,) * 3, (0.25,) * 3, augment=augment), batch_size=3)
               for v in (videos_png, videos_tar)]
    n = 0
    for a, b in zip(*loaders):
        assert torch.equal(a["clip"], b["clip"]) and torch.equal(a["label"], b["label"])
        n += len(a["label"])
    assert n == len(specs) > 0


def test_train_py_reads_shards_like_the_png_folder(sample_crops: Path, shards: Path, tmp_path: Path,
                                                   one_torch_thread: None) -> None:
    names = sorted({r["video"] for r in read_csv(sample_crops)})
    split = tmp_path / "split.csv"
    write_csv(split, [{"video_name": n, "split": "val" if n.startswith("carphone") else "train"} for n in names],
              ["video_name", "split"])
    args = ["--split", str(split), "--backbone", "efficientnet-lite0", "--no-pretrained", "--clip-len", "4",
            "--size", "64", "--batch-size", "2", "--epochs", "1", "--freeze-encoder", "--synth-fakes", "1"]
    assert train_main(["--data", str(sample_crops), "--out", str(tmp_path / "png"), *args]) == 0
    assert train_main(["--data", str(shards), "--out", str(tmp_path / "tar"), *args]) == 0
    a = torch.load(tmp_path / "png" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "tar" / "last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert a["config"] == b["config"]  # the preprocessing settings travelled with the shards


def test_a_folder_without_index_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "shards.json").write_text("{not json")
    with pytest.raises(InputError, match="not a shards folder"):
        read_training_crops(tmp_path)
