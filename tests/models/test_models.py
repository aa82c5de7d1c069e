"""Tests of models/: encoders and their weights, the ConvLSTM, the clip classifier, and bench/train.py (CPU, small)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import urllib.error
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dfdetect.core.checkpoint import config_from_checkpoint
from dfdetect.core.config import Config, ModelConfig, config_to_dict
from dfdetect.core.io import InputError, load_image, read_csv
from dfdetect.data import to_tensor_clip
from models import (
    ConvLSTM,
    ConvLSTMCell,
    Encoder,
    VideoClassifier,
    WeightsUnavailableError,
    backbone_normalization,
    build_model,
    count_parameters,
    create_efficientnet,
    model_complexity,
    to_device,
)
from models import encoder as encoder_mod
from models.landmarks import N_FEATURES, LandmarkHead

ROOT = Path(__file__).resolve().parents[2]
GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
SIZE = 64  # small frames keep the CPU tests fast; the encoder gives (1280, 2, 2) maps at 64 px
# ImageNet classes for the Grace Hopper portrait (officer in uniform with a tie); random or mis-built nets miss them.
ACADEMIC_GOWN, MILITARY_UNIFORM, MORTARBOARD, WINDSOR_TIE = 400, 652, 667, 906


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_model(temporal: str = "convlstm", seed: int = 0, **kw) -> VideoClassifier:
    torch.manual_seed(seed)
    cfg = ModelConfig(backbone="efficientnet-lite0", pretrained=False, temporal=temporal, hidden=32,
                      reduce_channels=32, fc_hidden=16, **kw)
    return build_model(cfg)


def clips(b: int = 2, t: int = 10, size: int = SIZE, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, 3, size, size, generator=g)  # (B, T, C, H, W)


def imagenet_input(path: Path, mean, std) -> torch.Tensor:
    """Resize the shorter side to 256 and centre-crop 224, the standard ImageNet evaluation transform."""
    img = load_image(path)
    h, w = img.shape[:2]
    s = 256 / min(h, w)
    img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    y, x = (h - 224) // 2, (w - 224) // 2
    return to_tensor_clip(img[None, y : y + 224, x : x + 224], mean, std)  # (1, 3, 224, 224)


# ------------------------------------------------------------------------------------------------ detector
@pytest.mark.parametrize("temporal", ["convlstm", "mean", "two-stream"])
@pytest.mark.parametrize("t", [1, 10])
@pytest.mark.parametrize("motion", [0, 8])
@pytest.mark.parametrize("pixel", [0, 4])
def test_forward_shapes_and_finite(temporal, t, motion, pixel):
    model = small_model(temporal, motion_hidden=motion, pixel_hidden=pixel).eval()
    with torch.no_grad():
        out = model(clips(t=t))
    assert out.shape == (2,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("temporal", ["convlstm", "mean", "two-stream"])
@pytest.mark.parametrize("t", [1, 5])
def test_localisation_heads_shapes_and_the_clip_logit_unchanged(temporal, t):
    """``aux=True`` gives the same clip logit as the plain forward, a (B, T, h, w) mask map and (B, T) frame logits;
    a model without the heads refuses, and its state dict has no head keys."""
    model = small_model(temporal).eval()
    x = clips(t=t)
    with torch.no_grad():
        logits, masks, frames = model(x, aux=True)
        assert torch.equal(logits, model(x))
    assert masks.shape == (2, t, SIZE // 32, SIZE // 32) and frames.shape == (2, t)
    assert torch.isfinite(masks).all() and torch.isfinite(frames).all()
    plain = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), temporal=temporal, fc_hidden=8,
                            aux_heads=False)
    assert not any(k.startswith(("mask_head", "frame_head")) for k in plain.state_dict())
    with pytest.raises(RuntimeError, match="aux_heads"):
        plain.forward_aux(x)


def test_encoder_feature_map_at_224():
    enc = Encoder("efficientnet-b0", pretrained=False).eval()
    with torch.no_grad():
        feats = enc(torch.zeros(1, 3, 224, 224))
    assert feats.shape == (1, 1280, 7, 7)


def test_all_frames_in_one_encoder_call():
    model = small_model().eval()
    calls = []
    model.encoder.register_forward_hook(lambda m, inp, out: calls.append(tuple(inp[0].shape)))
    with torch.no_grad():
        model(clips(b=2, t=5))
    assert calls == [(10, 3, SIZE, SIZE)]


@pytest.mark.parametrize("temporal", ["convlstm", "mean", "two-stream"])
@pytest.mark.parametrize(("motion", "pixel"), [(0, 0), (8, 0), (0, 4)])
def test_backward_reaches_every_trainable_parameter(temporal, motion, pixel):
    """The clip loss and the localisation losses together reach every parameter (the heads of ``aux_heads`` are
    trained only by theirs), the motion and pixel streams' included."""
    model = small_model(temporal, motion_hidden=motion, pixel_hidden=pixel).train()
    logits, masks, frames = model(clips(t=3), aux=True)
    loss = F.binary_cross_entropy_with_logits(logits, torch.tensor([0.0, 1.0]))
    loss = loss + F.binary_cross_entropy_with_logits(masks, torch.rand_like(masks))
    loss = loss + F.binary_cross_entropy_with_logits(frames, torch.ones_like(frames))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    zero = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.abs().sum() > 0]
    assert not missing and not zero, (missing, zero)


def test_two_stream_temporal_stream_sees_only_change():
    """The two-stream model's ConvLSTM is fed frame differences: two still clips of different faces get the same
    temporal vector (and different spatial ones); the plain ConvLSTM tells them apart."""
    model, plain = small_model("two-stream").eval(), small_model("convlstm").eval()
    a, b = clips(b=1, t=1, seed=1).expand(1, 4, -1, -1, -1), clips(b=1, t=1, seed=2).expand(1, 4, -1, -1, -1)
    with torch.no_grad():
        ea, eb = model.embed(a), model.embed(b)  # (1, 1280 + 32)
        moving = model.embed(clips(b=1, t=4, seed=3))
    assert ea.shape == (1, 1280 + 32) and model.embed_dim == 1280 + 32
    assert torch.equal(ea[:, 1280:], eb[:, 1280:])  # temporal stream: no change, same vector
    assert not torch.allclose(ea[:, :1280], eb[:, :1280], rtol=1e-3, atol=0)  # spatial stream: different faces
    assert not torch.allclose(moving[:, 1280:], ea[:, 1280:], rtol=1e-3, atol=0)  # change is seen
    with torch.no_grad():
        assert not torch.allclose(plain.embed(a), plain.embed(b), rtol=1e-3, atol=0)


def test_motion_stream_sees_only_change_at_one_eighth():
    """The motion stream is fed differences of the encoder's 1/8 maps: two still clips of different faces get the same
    motion vector; a clip that moves gets another; the per-frame steps of the localisation heads carry it (zero step in
    front); the clip logit with ``aux`` equals the plain one."""
    model = small_model("convlstm", motion_hidden=8).eval()
    assert model.motion.input_dim == model.encoder.tap_channels == 40
    a, b = clips(b=1, t=1, seed=1).expand(1, 4, -1, -1, -1), clips(b=1, t=1, seed=2).expand(1, 4, -1, -1, -1)
    with torch.no_grad():
        ea, eb, moving = model.embed(a), model.embed(b), model.embed(clips(b=1, t=4, seed=3))
        logits, masks, frames = model(clips(t=4), aux=True)
        assert torch.equal(logits, model(clips(t=4)))
    assert ea.shape == (1, 32 + 8) and model.embed_dim == 40
    assert torch.equal(ea[:, 32:], eb[:, 32:])  # no change, same motion vector
    assert not torch.allclose(moving[:, 32:], ea[:, 32:], rtol=1e-3, atol=0)
    assert frames.shape == (2, 4) and masks.shape == (2, 4, SIZE // 32, SIZE // 32)


def test_checkpoint_from_before_the_motion_stream_loads():
    """A checkpoint whose config has no ``model.motion_hidden`` (written before it existed) loads without it."""
    raw = config_to_dict(Config())
    del raw["model"]["motion_hidden"]
    assert config_from_checkpoint({"model": {}, "config": raw}).model.motion_hidden == 0


def test_pixel_stream_follows_each_place_through_time_alone():
    """The pixel stream (1x1 ConvLSTM over input-frame differences, mean and max over the face) sees only change and
    no spatial pattern: two still clips of different faces give the same pixel vector; a moving clip mirrored, or
    with its places shuffled the same way in every frame, gives the SAME vector as unshuffled (each place alone);
    a face that shakes gives another than the same face still; the per-frame steps carry it (zero step in front)."""
    model = small_model("convlstm", pixel_hidden=4).eval()
    assert model.pixel.cells[0].kernel_size == (1, 1) and model.embed_dim == 32 + 8
    a, b = clips(b=1, t=1, seed=1).expand(1, 4, -1, -1, -1), clips(b=1, t=1, seed=2).expand(1, 4, -1, -1, -1)
    moving = clips(b=1, t=4, seed=3)
    # Shuffle 2x2 blocks (the stream's half-size pixels) the same way in every frame.
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm((SIZE // 2) ** 2, generator=g)
    blocks = moving.unflatten(3, (SIZE // 2, 2)).unflatten(5, (SIZE // 2, 2))  # (1, T, 3, 32, 2, 32, 2)
    blocks = blocks.permute(0, 1, 2, 3, 5, 4, 6).flatten(3, 4)[:, :, :, perm]  # (1, T, 3, 1024, 2, 2)
    shuffled = blocks.unflatten(3, (SIZE // 2, SIZE // 2)).permute(0, 1, 2, 3, 5, 4, 6).reshape(moving.shape)
    with torch.no_grad():
        ea, eb, em = model.embed(a), model.embed(b), model.embed(moving)
        mirrored, em_shuffled = model.embed(moving.flip(-1)), model.embed(shuffled)
        logits, masks, frames = model(clips(t=4), aux=True)
        assert torch.equal(logits, model(clips(t=4)))
    assert torch.equal(ea[:, 32:], eb[:, 32:])  # no change, same pixel vector
    assert not torch.allclose(em[:, 32:], ea[:, 32:], rtol=1e-3, atol=0)  # change is seen
    torch.testing.assert_close(mirrored[:, 32:], em[:, 32:], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(em_shuffled[:, 32:], em[:, 32:], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(em_shuffled[:, :32], em[:, :32], rtol=1e-3, atol=0)  # the ConvLSTM sees the layout
    assert frames.shape == (2, 4) and masks.shape == (2, 4, SIZE // 32, SIZE // 32)


@pytest.mark.parametrize(("key", "before"), [("pixel_hidden", 0), ("landmarks", False), ("landmark_frames", 0),
                                             ("landmark_unusual", False)])
def test_checkpoint_from_before_a_stream_loads(key, before):
    """A checkpoint whose config has no ``model.pixel_hidden`` / ``model.landmarks`` (written before it existed)
    loads without that stream."""
    raw = config_to_dict(Config())
    del raw["model"][key]
    assert getattr(config_from_checkpoint({"model": {}, "config": raw}).model, key) == before


def test_landmark_head_buffers_round_trip_and_checks():
    """The landmark stream is buffers only (no parameter for the optimiser), saved in the state dict, NaN features
    give a NaN logit (then the network's is kept), and a bad fit is refused before anything is stored."""
    model = small_model("mean", landmarks=True, landmark_unusual=False)
    head = model.landmark_head
    assert isinstance(head, LandmarkHead) and not list(head.parameters())
    assert set(head.state_dict()) == {"mean", "scale", "weight", "bias", "reals", "fitted"}  # as saved before
    f = N_FEATURES
    with pytest.raises(ValueError):
        head.set_fit(torch.zeros(f), torch.zeros(f), torch.ones(f), torch.tensor(0.0), torch.tensor([0, 1, 0, 1, 0.0]))
    with pytest.raises(ValueError):
        head.set_fit(torch.zeros(f + 1), torch.ones(f + 1), torch.ones(f), torch.tensor(0.0), torch.ones(5))
    assert not bool(head.fitted)
    fusion = torch.tensor([0, 1, 0, 1, 0.0])
    head.set_fit(torch.zeros(f), torch.full((f,), 2.0), torch.ones(f), torch.tensor(-1.0), fusion)
    x = torch.ones(2, f)
    x[1, 3] = float("nan")
    logits = head(x)
    assert logits[0].item() == pytest.approx(f / 2 - 1) and torch.isnan(logits[1])
    other = small_model("mean", landmarks=True, landmark_unusual=False)
    other.load_state_dict(model.state_dict(), strict=True)
    assert bool(other.landmark_head.fitted) and torch.equal(other.landmark_head.scale, head.scale)
    assert small_model("mean", landmarks=False).landmark_head is None


def test_one_class_cue_flags_motion_unusual_either_way():
    """The default head's third cue: the distance from the training reals. A clip whose statistics sit far BELOW the
    reals on a feature the logistic regression reads as 'real' (a frozen part: less motion) is fused above every
    real clip; without the cue it scores lowest. The one-class buffers round-trip and are checked like the others."""
    f = N_FEATURES
    head = small_model("mean", landmarks=True).landmark_head
    assert head.unusual and {"centre", "precision", "distance"} <= set(head.state_dict())
    fusion = torch.tensor([0, 1, 0, 1, 0.0])
    with pytest.raises(ValueError, match="one-class"):  # the default head needs its one-class buffers
        head.set_fit(torch.zeros(f), torch.ones(f), torch.ones(f), torch.tensor(0.0), fusion)
    with pytest.raises(ValueError, match="spreads must be positive"):  # the distance's spread
        head.set_fit(torch.zeros(f), torch.ones(f), torch.ones(f), torch.tensor(0.0), fusion, centre=torch.zeros(f),
                     precision=torch.eye(f), distance=torch.tensor([0.0, 0.0]))
    reals = torch.randn(200, f, generator=torch.Generator().manual_seed(0))  # (N, F) standardised statistics
    weight = torch.zeros(f)
    weight[0] = 1.0  # the fakes trained on move more on feature 0
    head.set_fit(torch.zeros(f), torch.ones(f), weight, torch.tensor(0.0), fusion, centre=torch.zeros(f),
                 precision=torch.eye(f), distance=torch.tensor([float(np.sqrt(f)), 0.7]))
    frozen = torch.zeros(1, f)
    frozen[0, 0] = -8.0  # moves far LESS than any real
    net = torch.zeros(201)
    fused = head.fuse(net, torch.cat([reals, frozen]))  # (201,)
    assert head(frozen).item() < head(reals).min().item()  # the logistic regression alone: the least fake clip
    assert fused[-1] > fused[:-1].max()  # with the distance from the reals: the most
    other = small_model("mean", landmarks=True).landmark_head
    other.load_state_dict(head.state_dict(), strict=True)
    torch.testing.assert_close(other.fuse(net, torch.cat([reals, frozen])), fused)


def test_freeze_whole_encoder():
    model = small_model().train()
    model.freeze_encoder()
    bn = model.encoder.net._bn0
    stats = bn.running_mean.clone()
    model.train()  # frozen BatchNorm layers must stay in eval mode even after train()
    model(clips(t=3)).sum().backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.head.parameters())
    assert not bn.training and torch.equal(bn.running_mean, stats)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - count_parameters(model.encoder)
    model.unfreeze_encoder()
    assert all(p.requires_grad for p in model.encoder.parameters()) and bn.training


def test_freeze_first_blocks():
    model = small_model().train()
    model.freeze_encoder(3)
    model(clips(t=3)).sum().backward()
    net = model.encoder.net
    frozen = [net._conv_stem, net._bn0, *net._blocks[:3]]
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert all(p.grad is not None for p in net._blocks[3].parameters())
    assert net._conv_head.weight.grad is not None
    with pytest.raises(ValueError, match="freeze blocks"):
        model.freeze_encoder(99)


def test_channels_last_and_bf16_autocast_match_fp32():
    model = small_model().eval()
    x = clips(t=4)
    with torch.no_grad():
        ref = model(x)
        model.to(memory_format=torch.channels_last)
        cl = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf = model(x)
    torch.testing.assert_close(cl, ref, atol=1e-4, rtol=1e-4)
    assert torch.isfinite(bf).all() and bf.shape == (2,)
    assert (bf.float() - ref).abs().max() < 0.05  # bf16 keeps ~3 significant digits


@pytest.mark.parametrize(("temporal", "kind"), [("convlstm", "video"), ("two-stream", "video"), ("mean", "frame")])
def test_to_device_puts_the_cpu_model_channels_last_with_the_same_outputs_and_gradients(temporal, kind):
    plain = small_model(temporal, kind=kind)
    placed = to_device(small_model(temporal, kind=kind), "cpu")  # the same weights (seed 0)
    convs = [m.weight for m in placed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    x = clips(t=3) if kind == "video" else clips(b=4, t=1)[:, 0]  # (B, T, C, H, W) or (B, C, H, W)
    with torch.no_grad():  # training mode: batch statistics, the same dropout draws
        torch.manual_seed(1)
        train_plain = plain.train()(x)
        torch.manual_seed(1)
        torch.testing.assert_close(placed.train()(x), train_plain, atol=1e-4, rtol=1e-4)
    # Gradients in eval mode: in training mode a bias before a BatchNorm has a gradient of zero up to rounding, so
    # any two runs (even of one layout on other thread counts) differ there in every digit.
    grads = []
    for model in (plain.eval(), placed.eval()):
        model(x).sum().backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert grads[1].keys() == grads[0].keys() and len(grads[0]) > 100  # every parameter the clip logit uses
    ref = torch.cat([g.flatten() for g in grads[0].values()])
    got = torch.cat([grads[1][n].flatten() for n in grads[0]])
    assert (got - ref).norm() <= 1e-5 * ref.norm()  # the whole gradient (its encoder part vanishes at random init)


def test_state_dict_round_trip(tmp_path):
    a, b = small_model(seed=0).eval(), small_model(seed=1).eval()
    x = clips(t=3)
    with torch.no_grad():
        assert not torch.equal(a(x), b(x))
        torch.save(a.state_dict(), tmp_path / "m.pt")
        b.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True), strict=True)
        assert torch.equal(a(x), b(x))


def test_parameter_cap_raises():
    with pytest.raises(InputError, match="max_params"):
        build_model(ModelConfig(backbone="efficientnet-lite0", pretrained=False, max_params=1_000_000))


@pytest.mark.parametrize(
    "kw", [{"temporal": "lstm"}, {"backbone": "resnet50"}, {"dropout": 1.0}, {"hidden": 0}]
)
def test_bad_config_is_input_error(kw):
    with pytest.raises(InputError):
        build_model(ModelConfig(**{"backbone": "efficientnet-lite0", "pretrained": False, **kw}))


def test_default_sizes_and_normalization():
    model = build_model(ModelConfig(backbone="efficientnet-b0", pretrained=False))
    assert model.temporal == "convlstm" and model.convlstm is not None  # the default: the ConvLSTM (issue 22)
    mean = build_model(ModelConfig(backbone="efficientnet-b0", pretrained=False, temporal="mean", aux_heads=False))
    assert 4e6 < count_parameters(mean) < 5e6  # B0 without its classifier (4.0M) + the dense head (0.33M)
    # + 1x1 reduce + ConvLSTM (README's table); the training-only localisation heads are not counted
    assert model_complexity(model, frames=2).params == 9_121_405
    assert count_parameters(model) == 9_121_405 + 1281 + 257  # mask head 1280 + 1, frame head 256 + 1
    assert model.mean == backbone_normalization("efficientnet-b0")[0] == (0.485, 0.456, 0.406)
    assert backbone_normalization("efficientnet-lite0") == ((0.5,) * 3, (0.5,) * 3)


# ------------------------------------------------------------------------------------------------ weights
def test_lite0_offline_weights_give_imagenet_predictions():
    net = create_efficientnet("efficientnet-lite0", pretrained=True, include_top=True).eval()
    assert not any("_se_" in k for k in net.state_dict())  # Lite: no squeeze-excitation
    assert isinstance(net._swish, torch.nn.ReLU6) and all(isinstance(b._swish, torch.nn.ReLU6) for b in net._blocks)
    x = imagenet_input(GRACE_HOPPER, *backbone_normalization("efficientnet-lite0"))
    with torch.no_grad():
        probs = net(x).softmax(-1)[0]
        feats = net.extract_features(x)
    top5 = probs.topk(5).indices.tolist()
    # Random weights give ~0.001 everywhere; swish instead of ReLU6 predicts "comic book"/"ballplayer" here.
    assert top5[0] in (ACADEMIC_GOWN, MILITARY_UNIFORM, MORTARBOARD), top5
    assert MILITARY_UNIFORM in top5 and probs[top5].sum() > 0.5
    # The detector's encoder (same file, no classifier) computes exactly the network's feature map.
    enc = Encoder("efficientnet-lite0", pretrained=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(enc(x), feats)


def test_wrong_weights_file_is_refused(tmp_path):
    state = create_efficientnet("efficientnet-lite0", pretrained=False, include_top=True).state_dict()
    state["_conv_stem.renamed"] = state.pop("_conv_stem.weight")
    torch.save(state, tmp_path / "renamed.pth")
    with pytest.raises(WeightsUnavailableError, match=r"1 missing key\(s\) e.g. _conv_stem.weight"):
        Encoder("efficientnet-lite0", weights=str(tmp_path / "renamed.pth"))
    b0 = create_efficientnet("efficientnet-b0", pretrained=False, include_top=True).state_dict()
    torch.save(b0, tmp_path / "b0.pth")
    with pytest.raises(WeightsUnavailableError, match="does not match efficientnet-lite0"):
        Encoder("efficientnet-lite0", weights=str(tmp_path / "b0.pth"))
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="cannot read"):
        Encoder("efficientnet-b0", weights=str(tmp_path / "junk.pth"))


def test_b0_weights_from_file_and_from_hub_cache(tmp_path, monkeypatch):
    torch.manual_seed(3)
    ref = create_efficientnet("efficientnet-b0", pretrained=False, include_top=True)
    path = tmp_path / "b0.pth"
    torch.save(ref.state_dict(), path)
    enc = Encoder("efficientnet-b0", weights=str(path))
    torch.testing.assert_close(enc.net._conv_head.weight, ref._conv_head.weight, atol=0, rtol=0)

    def no_download(*a, **k):
        raise AssertionError("must not download when the weights are cached")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    cached = tmp_path / "hub" / "checkpoints" / Path(encoder_mod.B0_URL).name
    cached.parent.mkdir(parents=True)
    path.rename(cached)
    model = build_model(ModelConfig(backbone="efficientnet-b0"))
    torch.testing.assert_close(model.encoder.net._conv_stem.weight, ref._conv_stem.weight, atol=0, rtol=0)


def test_b0_without_weights_fails_clearly(tmp_path, monkeypatch):
    with pytest.raises(WeightsUnavailableError, match="not found") as err:
        build_model(ModelConfig(weights=str(tmp_path / "missing.pth")))
    assert "--backbone efficientnet-lite0" in str(err.value) and "\n" not in str(err.value)

    # No cache and no network: the real download path against a closed local port fails fast with the same hint.
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(encoder_mod, "B0_URL", "http://127.0.0.1:9/efficientnet-b0-355c32eb.pth")
    with pytest.raises(WeightsUnavailableError, match="cannot be downloaded") as err:
        build_model(ModelConfig())
    msg = str(err.value)
    assert "--backbone efficientnet-lite0" in msg and "model.pretrained: false" in msg and "\n" not in msg

    def offline(*a, **k):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match="Name or service not known"):
        Encoder("efficientnet-b0")


def test_config_import_stays_light():
    code = "import sys, dfdetect.core.config; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ------------------------------------------------------------------------------------------------ ConvLSTM
def test_convlstm_int_kernel_and_shapes():
    lstm = ConvLSTM(8, 16, kernel_size=3, num_layers=2, return_all_layers=True)
    outputs, states = lstm(torch.randn(2, 5, 8, 7, 7))
    assert [o.shape for o in outputs] == [(2, 5, 16, 7, 7)] * 2
    assert len(states) == 2 and states[-1][0].shape == states[-1][1].shape == (2, 16, 7, 7)
    torch.testing.assert_close(outputs[-1][:, -1], states[-1][0])  # the last output is the last hidden state
    outputs, states = ConvLSTM(8, [16, 4], kernel_size=[3, (1, 5)], num_layers=2)(torch.randn(2, 5, 8, 7, 7))
    assert len(outputs) == len(states) == 1 and outputs[0].shape == (2, 5, 4, 7, 7)


@pytest.mark.parametrize("kernel", [2, 4, (2, 3), (5, 4)])
def test_convlstm_even_kernel_keeps_spatial_size(kernel):
    outputs, (state,) = ConvLSTM(3, 4, kernel_size=kernel)(torch.randn(1, 3, 3, 8, 7))
    assert outputs[0].shape == (1, 3, 4, 8, 7) and state[0].shape == (1, 4, 8, 7)


def test_convlstm_matches_reference_step():
    """The split input/hidden convolutions equal one convolution of the concatenation [x, h] (the textbook cell)."""
    torch.manual_seed(0)
    cell = ConvLSTMCell(3, 4, kernel_size=3)
    x, h, c = torch.randn(2, 3, 6, 6), torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    weight = torch.cat([cell.input_conv.weight, cell.hidden_conv.weight], dim=1)
    gates = F.conv2d(torch.cat([x, h], dim=1), weight, cell.input_conv.bias, padding=1)
    i, f, o, g = gates.chunk(4, dim=1)
    c_ref = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new, c_new = cell(x, (h, c))
    torch.testing.assert_close(c_new, c_ref)
    torch.testing.assert_close(h_new, o.sigmoid() * c_ref.tanh())


def test_convlstm_initial_state_is_used():
    torch.manual_seed(0)
    lstm = ConvLSTM(3, 4, kernel_size=3, num_layers=2)
    x = torch.randn(2, 4, 3, 5, 5)
    zeros = [(torch.zeros(2, 4, 5, 5), torch.zeros(2, 4, 5, 5))] * 2
    given = [(torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)) for _ in range(2)]
    default_out, _ = lstm(x)
    zero_out, _ = lstm(x, zeros)
    given_out, _ = lstm(x, given)
    torch.testing.assert_close(zero_out[0], default_out[0])
    assert not torch.allclose(given_out[0], default_out[0])
    with pytest.raises(ValueError, match="initial state"):
        lstm(x, [(torch.zeros(2, 4, 6, 6), torch.zeros(2, 4, 6, 6))] * 2)


def test_convlstm_state_follows_input_dtype():
    torch.manual_seed(0)
    lstm = ConvLSTM(3, 4, kernel_size=3)
    x = torch.randn(2, 3, 3, 5, 5)
    ref, _ = lstm(x)
    outputs, [(h, c)] = lstm.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert outputs[0].dtype == h.dtype == c.dtype == torch.bfloat16
    assert (outputs[0].float() - ref[0]).abs().max() < 0.05
    with torch.autocast("cpu", dtype=torch.bfloat16):  # fp32 weights and input: bf16 convs, the cell state stays fp32
        outputs, [(h, c)] = lstm.float()(x)
        bf16_input, _ = lstm(x.to(torch.bfloat16))  # a bf16 input (as from the detector's reduce conv) gives bf16
    assert c.dtype == torch.float32 and bf16_input[0].dtype == torch.bfloat16
    assert (outputs[0].float() - ref[0]).abs().max() < 0.05


def test_convlstm_time_first_equals_batch_first():
    torch.manual_seed(0)
    batch_first = ConvLSTM(3, 4, kernel_size=3, num_layers=2, return_all_layers=True)
    time_first = ConvLSTM(3, 4, kernel_size=3, num_layers=2, batch_first=False, return_all_layers=True)
    time_first.load_state_dict(batch_first.state_dict())
    x = torch.randn(2, 5, 3, 6, 6)  # (B, T, C, H, W), with B != T so a missing permute cannot hide
    out_b, states_b = batch_first(x)
    out_t, states_t = time_first(x.transpose(0, 1))  # (T, B, C, H, W)
    for ob, ot in zip(out_b, out_t):
        assert ot.shape == (5, 2, 4, 6, 6)
        torch.testing.assert_close(ot, ob.transpose(0, 1))
    torch.testing.assert_close(states_t[-1][0], states_b[-1][0])


# ------------------------------------------------------------------------------------------------ bench
def test_bench_train_runs_tiny(capsys, tmp_path, samples_dir):
    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "bench" / "train.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    csv_path = tmp_path / "bench.csv"
    argv = ["--backbone", "efficientnet-lite0", "--batch-size", "2", "--clip-len", "2", "--size", "64", "--steps", "1",
            "--warmup", "0", "--threads", "1", "--no-isolate", "--samples", str(samples_dir), "--csv", str(csv_path)]
    assert bench.main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["phase", "precision", "device"] and len(table) == 7
    rows = read_csv(csv_path)
    cases = {(r["phase"], r["precision"]) for r in rows}
    assert cases == {(p, q) for p in ("train", "infer") for q in ("fp32-plain", "fp32", "bf16-autocast")}
    assert not any(r["error"] for r in rows)
    for r in rows:  # the derived figures follow from the measured ones (batch 2)
        step_s, data_s = float(r["step_s"]), float(r["data_s"])
        assert float(r["clips_per_s"]) == pytest.approx(2 / step_s, rel=1e-3)
        assert float(r["data_wait_pct"]) == pytest.approx(100 * data_s / (step_s + data_s), abs=0.05)
    losses = {(r["phase"], r["precision"]): float(r["loss"]) for r in rows}
    assert np.isfinite(losses["train", "fp32"]) and 0.0 < losses["train", "fp32"] < 5.0  # untrained BCE: about ln 2
    # the same step in either memory layout: the same loss but for float rounding
    assert losses["train", "fp32-plain"] == pytest.approx(losses["train", "fp32"], abs=1e-4)
    assert bench.main(["--backbone", "resnet", "--no-isolate"]) == 2
