"""``torchrun --nproc_per_node 2 train.py``: two CPU processes (gloo) train the weights one process trains with the
same global batch, and a DDP run resumed from ``last.pt`` ends where an uninterrupted run ends.

What the equality rests on: both runs execute the same kernels on the same machine; they differ only in where the
per-clip gradients are summed (gloo's all-reduce of two rank means vs one batch), i.e. in float32 rounding. Measured
(AMD EPYC, AVX-512): the largest weight difference is 3.7e-9, 0.3 % of the tolerance asserted (atol 1e-6 + rtol
1e-5), and the losses agree to every written digit. The validation AUC is compared exactly: its two videos get
bitwise the same score in both runs (0.582894: the tiny head answers the same to both), and a different order would
need scores closer than that rounding. No figure from another machine is compared, so the test holds on any CPU;
Adam's step (about lr * sign of the gradient) would only amplify the rounding for a gradient component near 1e-8.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from dfdetect.core.config import config_from_dict
from dfdetect.core.io import read_csv, write_csv
from dfdetect.data import rank_batches
from dfdetect.training.build import build_training
from dfdetect.training.cli import main as train_main

ROOT = Path(__file__).resolve().parents[2]
# A tiny clip model whose result does not depend on how a batch is split: frozen encoder (its BatchNorm keeps its
# running statistics), no reduce block (its BatchNorm would see each rank's part), no dropout. A large lr, so that a
# wrong gradient would show in the weights (Adam's step is the same for any gradient scale).
CONFIG = """\
model: {backbone: efficientnet-lite0, pretrained: false, reduce_channels: 0, hidden: 8, fc_hidden: 8, dropout: 0.0}
data: {sample_frames: 8, min_faces: 2, frames: 4, size: 64}
train: {scheduler: none, freeze_encoder: true, batch_size: 3, lr: 0.01, synth_fakes: 1.0, device: cpu}
"""


@pytest.mark.parametrize(("n", "batch", "world"), [(4, 3, 2), (7, 4, 3), (5, 8, 2), (1, 2, 2)])
def test_rank_batches_cover_each_global_batch_once(n: int, batch: int, world: int) -> None:
    per_rank = [rank_batches(n, batch, r, world) for r in range(world)]
    assert all(len(p) == -(-n // batch) for p in per_rank)  # every rank takes every step
    for step in range(len(per_rank[0])):
        got = [i for r in range(world) if per_rank[r][step][1] > 0 for i in per_rank[r][step][0]]
        size = min(batch, n - step * batch)
        assert got == list(range(step * batch, step * batch + size))  # the global batch, in plan order, once
        for part, weight in (per_rank[r][step] for r in range(world)):  # DDP's mean of the weighted rank means:
            assert weight == 0 or weight / (world * len(part)) == pytest.approx(1 / size)  # 1/B per clip


def _torchrun(args: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "train.py"), *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "last.pt", weights_only=True)["model"]


@pytest.mark.slow
def test_two_gloo_processes_train_what_one_process_trains(sample_crops: Path, tmp_path: Path,
                                                          one_torch_thread: None) -> None:
    names = sorted({r["video"] for r in read_csv(sample_crops)})
    split = tmp_path / "split.csv"
    write_csv(split, [{"video_name": n, "split": "val" if n.startswith("carphone") else "train"} for n in names],
              ["video_name", "split"])
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    common = ["--data", str(sample_crops), "--split", str(split), "--config", str(tmp_path / "cfg.yaml")]
    # 2 training videos + their twins = 4 clips an epoch in global batches of 3: rank 0 trains clips 0-1 then 3,
    # rank 1 clip 2 then a weight-0 filler
    assert train_main([*common, "--out", str(tmp_path / "one"), "--epochs", "2"]) == 0
    _torchrun([*common, "--out", str(tmp_path / "ddp"), "--epochs", "1"])
    _torchrun([*common, "--out", str(tmp_path / "ddp"), "--epochs", "2", "--resume"])  # resumed under DDP

    one, ddp = _weights(tmp_path / "one"), _weights(tmp_path / "ddp")
    assert one.keys() == ddp.keys()
    fresh = build_training(config_from_dict(yaml.safe_load(CONFIG)), torch.device("cpu")).model.state_dict()
    moved = max((one[k].float() - fresh[k].float()).abs().max().item() for k in one)
    assert moved > 1e-3  # training changed the weights
    for k in one:
        torch.testing.assert_close(ddp[k], one[k], rtol=1e-5, atol=1e-6, msg=k)
    rows_one, rows_ddp = read_csv(tmp_path / "one" / "metrics.csv"), read_csv(tmp_path / "ddp" / "metrics.csv")
    assert [r["epoch"] for r in rows_ddp] == ["1", "2"]  # rank 0 alone wrote the CSV, once per epoch
    for a, b in zip(rows_one, rows_ddp):
        assert float(a["train_loss"]) == pytest.approx(float(b["train_loss"]), abs=1e-5)
        assert (a["val_auc"], a["n_train_real"], a["n_train_fake"]) == (b["val_auc"], b["n_train_real"],
                                                                        b["n_train_fake"])

