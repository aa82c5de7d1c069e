"""The audio branch and the fused audio-video model: shapes, forward/backward through every branch, the video
fallback for clips without audio, the three modalities built from the config and reloaded strictly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dfdetect.core.config import MODALITIES, ModelConfig
from dfdetect.training.step import batch_loss, predict_batch, train_step
from models.audio import AudioClassifier, AVClassifier, MelImageEncoder
from models.build import build_model

TINY = {"backbone": "efficientnet-lite0", "pretrained": False, "fc_hidden": 8, "audio_channels": 4, "dropout": 0.0}


def _batch(b: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"clip": torch.randn(b, 2, 3, 32, 32, generator=g), "mel": torch.randn(b, 64, 81, generator=g) * 20 - 40,
            "label": torch.tensor([0.0, 1.0] * (b // 2))}


@pytest.mark.parametrize("modalities", MODALITIES)
@pytest.mark.parametrize("kind", ["video", "frame"])
def test_forward_backward_each_modality(modalities: str, kind: str, one_torch_thread: None) -> None:
    if kind == "frame" and modalities == "audio":
        pytest.skip("an audio model has no picture: model.kind does not apply")
    model = build_model(ModelConfig(kind=kind, temporal="mean", modalities=modalities, **TINY))
    assert model.modalities == modalities
    batch = _batch()
    if kind == "frame":
        batch["clip"] = batch["clip"][:, :1]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    loss = train_step(model, batch, opt, torch.amp.GradScaler("cuda", enabled=False), nn.BCEWithLogitsLoss(),
                      torch.device("cpu"))
    assert torch.isfinite(loss)
    moved = {k.split(".")[0] for k, v in model.state_dict().items() if v.dtype.is_floating_point
             and not torch.equal(v, before[k])}
    expected = {"video": {"encoder", "head"}, "audio": {"audio", "head"},
                "av": {"video", "audio", "audio_head", "fusion_head"}}[modalities]
    assert expected <= moved  # every branch and head got a gradient
    model.eval()
    assert predict_batch(model, batch, torch.device("cpu")).shape == (4,)


def test_av_without_audio_is_the_video_head(one_torch_thread: None) -> None:
    model = build_model(ModelConfig(temporal="mean", modalities="av", **TINY)).eval()
    batch = _batch()
    with torch.no_grad():
        out = model(batch["clip"], batch["mel"], torch.tensor([True, False, True, False]))  # (B, 3)
        silent = model(batch["clip"], torch.zeros_like(batch["mel"]) - 100, torch.tensor([False] * 4))
    assert out.shape == (4, 3)
    assert torch.equal(out[[1, 3], 0], out[[1, 3], 1])  # no audio: the fused logit is the video logit
    assert not torch.equal(out[[0, 2], 0], out[[0, 2], 1])
    assert torch.allclose(silent[:, 0], out[:, 1])  # and it does not depend on the absent audio
    # the loss: fused plus half of each branch
    y = batch["label"]
    bce = nn.BCEWithLogitsLoss()
    expect = bce(out[:, 0], y) + 0.5 * (bce(out[:, 1], y) + bce(out[:, 2], y))
    assert torch.allclose(batch_loss(bce, out, y), expect)


def test_image_audio_encoder_and_strict_reload(one_torch_thread: None) -> None:
    cfg = ModelConfig(modalities="audio", audio_encoder="image", **TINY)
    model = build_model(cfg)
    assert isinstance(model, AudioClassifier) and isinstance(model.audio, MelImageEncoder)
    model.eval()
    mel = torch.randn(2, 64, 81)
    with torch.no_grad():
        a = model(mel)
        b = model(mel * 2 + 5)  # the mel picture is scaled per clip: an affine change of the dB values is invisible
    assert a.shape == (2,) and torch.allclose(a, b, atol=1e-5)
    again = build_model(ModelConfig(modalities="av", audio_encoder="image", **TINY))
    assert isinstance(again, AVClassifier)
    again.load_state_dict(build_model(ModelConfig(modalities="av", audio_encoder="image", **TINY)).state_dict(),
                          strict=True)
