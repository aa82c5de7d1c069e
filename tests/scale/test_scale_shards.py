"""``--shard K/N`` and ``python -m dfdetect merge``: three shards, merged, write exactly what one run writes.

Real stages on the real sample videos: frame_extraction (with an unreadable file and a faceless video), face_crop,
synth and eval.py (the tiny checkpoint on a crops manifest); the outputs of one run and of three merged shards are
compared byte for byte.

What the byte equality rests on: both sides run on the same machine, seed and thread count, and no model is trained
here (the tiny checkpoint is only scored). Eval's scores are written to 6 decimals; they match because a clip's
score does not depend on which other clips share its forward batch on this CPU's kernels (checked on an AMD EPYC and,
by issue 25's clean run, on an Intel Xeon, both AVX-512). A CPU whose kernels sum a batch's clips together would
show here first.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import torch

from dfdetect.core.io import InputError
from dfdetect.core.shards import Shard, parse_shard, shard_of
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.merge import main as merge_main
from dfdetect.merge import merge
from dfdetect.synth.cli import main as synth_main
from face_crop.cli import main as crop_main
from frame_extraction.cli import main as extract_main

VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4", "no_face.mp4")
SHARDS = 3


def _same_files(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_shard_of_is_a_partition_by_name() -> None:
    names = [f"video{i:04d}.mp4" for i in range(300)]
    shards = [Shard(k, SHARDS) for k in range(1, SHARDS + 1)]
    owners = [[s.k for s in shards if s.holds(n)] for n in names]
    assert all(len(o) == 1 for o in owners)  # every input in exactly one shard
    counts = [sum(o == [k] for o in owners) for k in range(1, SHARDS + 1)]
    assert min(counts) > 60  # roughly even
    assert shard_of("a.mp4", 3) == 3 and shard_of("b.mp4", 3) == 2  # CRC32: the same on every machine
    with pytest.raises(InputError, match="K/N"):
        parse_shard("4/3")


def test_three_shards_merge_into_one_run(samples_dir: Path, tmp_path: Path, tiny_checkpoint: Path,
                                         one_torch_thread: None) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in VIDEOS:
        (inputs / name).symlink_to(samples_dir / name)
    (inputs / "notes.mp4").write_text("not a video")  # a skipped row, in its own shard
    assert sorted({shard_of(p.name, SHARDS) for p in inputs.iterdir()}) == [1, 2, 3]
    one, sharded = tmp_path / "one", tmp_path / "sharded"
    common = ["--frames", "4", "--stride", "3", "--seed", "1", "--no-progress"]
    assert extract_main([str(inputs), str(one / "frames"), *common]) == 0
    for k in range(1, SHARDS + 1):
        assert extract_main([str(inputs), str(sharded / "frames"), *common, "--shard", f"{k}/{SHARDS}"]) == 0
    with pytest.raises(InputError, match="missing"):  # a shard's manifest gone: named, nothing merged
        (sharded / "frames" / "frames.shard-2-of-3.csv").rename(tmp_path / "away.csv")
        merge(sharded / "frames")
    (tmp_path / "away.csv").rename(sharded / "frames" / "frames.shard-2-of-3.csv")
    assert merge_main([str(sharded / "frames")]) == 0
    _same_files(one / "frames", sharded / "frames", ["frames.csv", "videos.csv", "settings.json"])
    frames = sorted(p.relative_to(one / "frames") for p in (one / "frames").rglob("*.png"))
    assert len(frames) == 16 and filecmp.cmpfiles(one / "frames", sharded / "frames", frames, shallow=False)[0] == \
        frames

    crop_args = ["--size", "64", "--min-faces", "2"]
    assert crop_main([str(one / "frames"), str(one / "crops"), *crop_args]) == 0
    for k in range(1, SHARDS + 1):
        crop_main([str(sharded / "frames"), str(sharded / "crops"), *crop_args, "--shard", f"{k}/{SHARDS}"])
    assert merge(sharded / "crops") == "crops"
    _same_files(one / "crops", sharded / "crops", ["crops.csv", "rejects.csv"])
    assert "no_face.mp4" in (one / "crops" / "rejects.csv").read_text()

    weights = str(tiny_checkpoint / "best.pt")
    assert eval_main([weights, str(one / "crops"), "--out", str(one / "eval"), "--device", "cpu"]) == 0
    for k in range(1, SHARDS + 1):
        eval_main([weights, str(sharded / "crops"), "--out", str(sharded / "eval"), "--device", "cpu",
                   "--shard", f"{k}/{SHARDS}"])
    assert merge(sharded / "eval") == "eval"
    # the crop paths differ (one/ vs sharded/), so the status file's source column does too: compare the rest
    _same_files(one / "eval", sharded / "eval", ["predictions.csv"])
    one_status = (one / "eval" / "predictions_status.csv").read_text().replace(str(one), "ROOT")
    assert one_status == (sharded / "eval" / "predictions_status.csv").read_text().replace(str(sharded), "ROOT")
    assert (one / "eval" / "metrics.json").is_file() == (sharded / "eval" / "metrics.json").is_file()


def test_synth_shards_merge_into_one_run(samples_dir: Path, tmp_path: Path, one_torch_thread: None) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("single_face.mp4", "carphone_pristine.mp4", "no_face.mp4"):  # shards 2, 1 and 2 of 3
        (inputs / name).symlink_to(samples_dir / name)
    args = ["--method", "resample", "--max-frames", "6", "--seed", "3", "--no-reals"]
    assert synth_main([str(inputs), str(tmp_path / "one"), *args]) == 0
    for k in range(1, SHARDS + 1):  # shard 3 has no input: it writes empty tables and succeeds
        assert synth_main([str(inputs), str(tmp_path / "sharded"), *args, "--shard", f"{k}/{SHARDS}"]) == 0
    assert merge(tmp_path / "sharded") == "synth"
    _same_files(tmp_path / "one", tmp_path / "sharded", ["meta.csv", "labels.csv"])
    made = sorted(p.name for p in (tmp_path / "one").glob("v*.mp4"))
    assert made == sorted(p.name for p in (tmp_path / "sharded").glob("v*.mp4")) and len(made) == 2
    _same_files(tmp_path / "one", tmp_path / "sharded", made)  # the same bytes (seeded, same encoder)
    assert "no face" in (tmp_path / "one" / "meta.csv").read_text()
    assert torch.get_num_threads() == 1
