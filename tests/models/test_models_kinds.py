"""models/ per model.kind: the frame model (forward, backward, no temporal part), the checkpoint round trip of every
kind, thop's parameter count against a hand count, and the parameter cap. CPU, 64 px, tiny heads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from dfdetect.core.checkpoint import save_checkpoint
from dfdetect.core.config import MODEL_KINDS, Config, DataConfig, ModelConfig, load_config, validate_config
from dfdetect.core.io import InputError
from models import Complexity, FrameClassifier, VideoClassifier, build_model, check_size, load_model, model_complexity

SIZE = 64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(kind: str, seed: int = 0, **kw) -> nn.Module:
    torch.manual_seed(seed)
    kw.setdefault("temporal", "convlstm")  # the video model with every part (the 1x1 reduction, the ConvLSTM)
    return build_model(ModelConfig(kind=kind, backbone="efficientnet-lite0", pretrained=False, hidden=16,
                                   reduce_channels=16, fc_hidden=16, **kw))


def inputs(kind: str, b: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    shape = (b, 3, SIZE, SIZE) if kind == "frame" else (b, 3, 3, SIZE, SIZE)
    return torch.randn(*shape, generator=g)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_forward_shape_finite_and_backward_reaches_every_parameter(kind: str) -> None:
    model = tiny(kind).train()
    dense = getattr(model, "mask_head", None) is not None  # the localisation heads train through their own outputs
    out = model(inputs(kind), aux=True) if dense else model(inputs(kind))
    logits = out[0] if dense else out
    assert logits.shape == (2,) and torch.isfinite(logits).all()
    (logits.sum() + out[1].mean() + out[2].mean() if dense else logits.sum()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing


def test_frame_model_has_no_temporal_part_and_takes_images_or_clips() -> None:
    model = tiny("frame").eval()
    assert isinstance(model, FrameClassifier) and model.kind == "frame"
    assert {k.split(".")[0] for k in model.state_dict()} == {"encoder", "head"}  # no reduce, no ConvLSTM
    assert not any("convlstm" in n for n, _ in model.named_modules())
    x = inputs("frame")  # (B, C, H, W)
    with torch.inference_mode():
        images, clips = model(x), model(x.unsqueeze(1))  # (B, C, H, W) and (B, T=1, C, H, W)
        both = model(torch.stack([x, x.flip(0)], dim=1))  # (B, T=2, C, H, W): the mean of per-frame logits
    assert torch.equal(images, clips)
    assert torch.allclose(both, (images + images.flip(0)) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="expected"):
        model(torch.zeros(2, 4, SIZE, SIZE))


def test_frame_model_equals_the_mean_model_on_one_frame() -> None:
    """kind frame and temporal mean share the encoder + pool + head design: on T = 1 they compute the same logit."""
    frame = tiny("frame", seed=3).eval()
    mean = tiny("video", seed=3, temporal="mean", aux_heads=False, landmarks=False).eval()
    mean.load_state_dict(frame.state_dict(), strict=True)  # the same keys: encoder.*, head.*
    x = inputs("frame")
    with torch.inference_mode():
        assert torch.allclose(frame(x), mean(x.unsqueeze(1)), atol=1e-6)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_checkpoint_round_trip_records_the_kind(kind: str, tmp_path: Path) -> None:
    cfg = load_config(None, {"model.kind": kind, "model.backbone": "efficientnet-lite0", "model.pretrained": False,
                             "model.hidden": 16, "model.reduce_channels": 16, "model.fc_hidden": 16,
                             "data.size": SIZE})
    model = build_model(cfg.model).eval()
    save_checkpoint(tmp_path / "m.pt", model, cfg)
    loaded, loaded_cfg = load_model(tmp_path / "m.pt")
    assert loaded_cfg.model.kind == kind and type(loaded) is type(model)
    assert isinstance(loaded, FrameClassifier if kind == "frame" else VideoClassifier)
    assert loaded_cfg.data.frames == (1 if kind == "frame" else DataConfig().frames)
    x = inputs(kind)
    with torch.inference_mode():
        assert torch.equal(loaded(x), model(x))


def test_frame_kind_fixes_one_frame_and_rejects_another() -> None:
    assert load_config(None, {"model.kind": "frame"}).data.frames == 1
    with pytest.raises(InputError, match="data.frames must be 1, got 4"):
        load_config(None, {"model.kind": "frame", "data.frames": 4})
    cfg = Config()
    cfg.model.kind = "image"
    with pytest.raises(InputError, match="model.kind must be video|frame"):
        validate_config(cfg)


def test_thop_counts_match_a_hand_count_on_a_small_model() -> None:
    # conv 3->4, 3x3 with bias: 4*3*3*3 + 4 = 112 parameters; on 8x8 it gives 4x6x6 = 144 outputs of 27 MACs each.
    # linear 144->2: 144*2 + 2 = 290 parameters, 288 MACs.
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(144, 2))
    c = model_complexity(model, size=8)
    assert (c.params, c.thop_params, c.macs) == (112 + 290, 112 + 290, 144 * 27 + 288)
    assert c.input_shape == (1, 3, 8, 8)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_thop_count_of_each_kind_is_the_plain_count_and_the_head_is_as_designed(kind: str) -> None:
    model = tiny(kind)
    keys = set(model.state_dict())
    c = model_complexity(model, frames=3, size=SIZE)
    heads = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("mask_head.", "frame_head.")))
    assert heads == (1280 + 1 + 16 + 1 if kind == "video" else 0)  # training-only localisation heads: not counted
    assert c.thop_params == c.params == sum(p.numel() for p in model.parameters()) - heads
    assert c.macs > 0 and set(model.state_dict()) == keys and model.training  # thop leaves the model as it was
    encoder = sum(p.numel() for p in model.encoder.parameters())
    head = 1280 * 16 + 16 + 16 + 1 if kind == "frame" else 16 * 16 + 16 + 16 + 1  # dense 1280|16 -> 16 -> 1
    if kind == "frame":
        assert c.params == encoder + head
    else:  # + the 1x1 reduction (1280*16 + BN 2*16) and the ConvLSTM's gates (4*16 x (16+16) x 3x3 + 4*16)
        assert c.params == encoder + head + 1280 * 16 + 2 * 16 + 4 * 16 * 32 * 9 + 4 * 16


def test_the_parameter_cap_is_enforced_with_a_clear_error() -> None:
    with pytest.raises(InputError) as err:
        build_model(ModelConfig(kind="frame", backbone="efficientnet-lite0", pretrained=False, max_params=1_000_000))
    msg = str(err.value)
    assert "\n" not in msg and "more than model.max_params = 1,000,000" in msg and "thop" in msg
    with pytest.raises(InputError, match="200,000,000"):
        check_size(Complexity(params=150_000_000, thop_params=200_000_001, macs=0.0, input_shape=(1, 3, 8, 8)),
                   200_000_000)
    check_size(Complexity(params=200_000_000, thop_params=200_000_000, macs=0.0, input_shape=(1, 3, 8, 8)),
               200_000_000)  # at the cap: allowed
