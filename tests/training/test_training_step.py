"""dfdetect.training.step: THE training step (it learns, fp32 and with a scaler) and clip prediction."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from dfdetect.core.config import load_config
from dfdetect.data import ClipDataset, ClipSpec, read_crops_manifest, val_plan
from dfdetect.training.step import localisation_loss, predict_clips, train_step
from models import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")


def test_a_few_train_steps_on_real_crops_lower_the_loss(sample_crops: Path) -> None:
    """Overfit a fixed batch of real clips with THE step: the loss falls over 8 Adam steps (measured in train mode,
    on batch statistics: after so few steps BatchNorm's running averages still describe the initial network).

    Margin: the fall is 0.52-0.58 for seeds 0-2 (AMD EPYC, AVX-512, one thread; 0.69 -> 0.08-0.13), 0.1 asserted: a
    network memorising 4-6 clips, far from any rounding or instruction-set effect."""
    torch.manual_seed(0)
    cfg = load_config(None, {"model.backbone": "efficientnet-lite0", "data.frames": 4, "data.size": 64})
    videos = list(read_crops_manifest(sample_crops).values())
    model = build_model(cfg.model)
    ds = ClipDataset(videos, val_plan(videos, 4, 1), 64, model.mean, model.std)
    x = torch.stack([ds[i]["clip"] for i in range(len(ds))])  # (B, T, C, H, W)
    y = torch.tensor([float(i % 2) for i in range(len(ds))])  # both classes whatever the manifest's labels
    batch = {"clip": x, "label": y}
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=False)

    losses = []
    for _ in range(8):
        model.train()
        loss = train_step(model, batch, opt, scaler, loss_fn, CPU)
        assert not loss.requires_grad and loss.shape == ()
        losses.append(float(loss))
    assert max(losses[-2:]) < losses[0] - 0.1, losses


def test_train_step_is_one_plain_optimiser_step() -> None:
    """On a linear model the step is hand-computable: SGD moves w by -lr * dL/dw, with BCE gradient sigmoid(z) - y."""
    net = torch.nn.Sequential(torch.nn.Flatten(1), torch.nn.Linear(2, 1, bias=False), torch.nn.Flatten(0))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, -1.0]]))
    batch = {"clip": torch.tensor([[[[[2.0]]], [[[1.0]]]]]), "label": torch.tensor([0.0])}  # (B=1, T=2, 1, 1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = train_step(net, batch, opt, torch.amp.GradScaler("cuda", enabled=False), torch.nn.BCEWithLogitsLoss(), CPU)
    z = torch.tensor(1.0)  # 1 * 2 - 1 * 1
    assert loss.item() == pytest.approx(float(torch.nn.functional.softplus(z)))  # -log(1 - sigmoid(z))
    g = torch.sigmoid(z).item()  # dL/dz for label 0
    assert net[1].weight.detach()[0].tolist() == pytest.approx([1.0 - 0.1 * g * 2.0, -1.0 - 0.1 * g * 1.0])


def test_predict_clips_is_sigmoid_of_the_logits_in_order() -> None:
    net = torch.nn.Sequential(torch.nn.Flatten(1), torch.nn.Linear(1, 1), torch.nn.Flatten(0), torch.nn.Dropout(0.9))
    with torch.no_grad():
        net[1].weight.fill_(1.0)
        net[1].bias.fill_(0.0)
    items = [{"clip": torch.full((1, 1, 1, 1), v)} for v in (-2.0, 0.0, 3.0)]  # T = C = H = W = 1
    scores = predict_clips(net, DataLoader(items, batch_size=2), CPU)
    assert not net.training  # eval mode: dropout off, the scores are exact
    assert scores.tolist() == pytest.approx(torch.sigmoid(torch.tensor([-2.0, 0.0, 3.0])).tolist())
    assert predict_clips(net, DataLoader([], batch_size=2), CPU).shape == (0,)


def test_the_localisation_loss_trains_the_heads_on_twins(sample_crops: Path) -> None:
    """With ``aux_weights`` THE step adds the localisation loss on the twins' masks: the returned loss is the clip
    loss plus it, and a few steps teach the mask head which clips were blended (the predicted map is higher on the
    twins than on their real clips, on the training batch; measured for torch seeds 1 and 2: 0.149 / 0.138 against
    0.054 / 0.065)."""
    torch.manual_seed(0)
    cfg = load_config(None, {"model.backbone": "efficientnet-lite0", "data.frames": 4, "data.size": 64})
    v = max((v for v in read_crops_manifest(sample_crops).values() if v.label == 0), key=len)
    model = build_model(cfg.model)
    specs = [ClipSpec(0, tuple(range(4)), synth=synth, seed=k, method="sbi") for k in range(4) for synth in (0, 1)]
    ds = ClipDataset([v], specs, 64, model.mean, model.std, aux_targets=True)
    batch = next(iter(DataLoader(ds, batch_size=len(ds))))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler, loss_fn = torch.amp.GradScaler("cuda", enabled=False), torch.nn.BCEWithLogitsLoss()
    model.train()
    rng = torch.get_rng_state()  # the same dropout and drop-connect draws in the step's forward as here
    with torch.no_grad():
        logits, masks, frames = model(batch["clip"], aux=True)
    expected = float(loss_fn(logits, batch["label"])) + float(localisation_loss(masks, frames, batch, (0.5, 0.5), CPU))
    torch.set_rng_state(rng)
    first = float(train_step(model, batch, opt, scaler, loss_fn, CPU, aux_weights=(0.5, 0.5)))
    assert first == pytest.approx(expected, rel=1e-4)
    model.train()
    for _ in range(10):
        train_step(model, batch, opt, scaler, loss_fn, CPU, aux_weights=(0.5, 0.5))
    with torch.no_grad():  # in train mode, on batch statistics (as the first test: running averages lag 10 steps)
        _, masks, _ = model(batch["clip"], aux=True)
    target = torch.nn.functional.adaptive_avg_pool2d(batch["mask"], masks.shape[-2:])  # (B, T, 2, 2)
    p, twin = torch.sigmoid(masks), batch["label"] > 0  # 64 px crops: a 2 x 2 map, each cell a quarter of the crop
    assert target[twin].max() > 0.05 and target[~twin].max() == 0
    assert p[twin].mean() > p[~twin].mean() + 0.05, p.mean(dim=(1, 2, 3))
