"""Heat maps: Grad-CAM through pytorch-grad-cam, checked against known answers (a model that can only see where the
input has content; a clip where one frame alone has content; a model that reads some mel bands only; the mel picture
of the image-backbone branch, which is drawn upside down) and against Grad-CAM computed by hand on the real ConvLSTM
model and on the real audio CNN; the explainer and ``python -m dfdetect explain`` on a sample video, for a video model
and for an ``av`` model (face crops and log-mels)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from dfdetect.core.io import load_image
from dfdetect.inference import Detector
from dfdetect.inference.explain import SPECTROGRAM_ZOOM, Explainer, audio_layer, grad_cam, main, spectrogram_cam
from models.audio import AudioClassifier, AudioCNN, MelImageEncoder
from models.build import load_model


class _Tiny(nn.Module):
    """A one-layer "encoder" (1x1 conv + ReLU) and a head summing its map: generic input channels (3 for images, 1 for
    a spectrogram), clips ``(B, T, C, H, W)`` through the encoder in one call like the project's models."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(channels, 4, 1), nn.ReLU())
        with torch.no_grad():
            self.encoder[0].weight.fill_(1.0)
            self.encoder[0].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:
            b, t = x.shape[:2]
            return self.encoder(x.flatten(0, 1)).unflatten(0, (b, t)).mean(dim=(1, 2, 3, 4))  # (B,)
        return self.encoder(x).mean(dim=(1, 2, 3))  # (B,)


@pytest.mark.parametrize("channels", [3, 1])  # an image, a spectrogram
def test_the_map_is_where_the_content_is(channels: int) -> None:
    x = torch.zeros(2, channels, 16, 24)
    x[0, :, :, :8] = 1.0  # item 0: content in the left third only
    x[1, :, 10:, :] = 1.0  # item 1: the bottom rows only
    maps = grad_cam(_Tiny(channels).eval(), x)  # (B, H, W)
    assert maps.shape == (2, 16, 24)
    assert maps[0, :, :6].min() > 0.9 and maps[0, :, 10:].max() < 0.1
    assert maps[1, 12:, :].min() > 0.9 and maps[1, :8, :].max() < 0.1


def test_each_frame_of_a_clip_gets_its_own_map_in_order() -> None:
    x = torch.zeros(1, 3, 3, 8, 8)  # (B, T, C, H, W)
    x[0, 1, :, 2:5, 2:5] = 1.0  # only frame 1 has content, a square
    maps = grad_cam(_Tiny(3).eval(), x)  # (B, T, H, W)
    assert maps.shape == (1, 3, 8, 8)
    assert maps[0, 0].max() == 0 and maps[0, 2].max() == 0
    assert maps[0, 1, 3, 3] == pytest.approx(1.0) and maps[0, 1, 7, 7] < 0.1


def _by_hand(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Grad-CAM written out: hook the encoder output (B*T, K, h, w), weights = the mean gradient over (h, w), positive
    part of the weighted sum, resized to the input (cv2, bilinear), scaled to [0, 1] per map."""
    saved = {}

    def hook(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        out.retain_grad()
        saved["a"] = out

    handle = model.encoder.register_forward_hook(hook)
    try:
        model(x.clone().requires_grad_(True)).sum().backward()
    finally:
        handle.remove()
    a = saved["a"]  # (B*T, K, h, w)
    cam = torch.relu((a.grad.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1)).detach().numpy()  # (B*T, h, w)
    out = []
    for m in cam:
        m = cv2.resize(m, (x.shape[-1], x.shape[-2]))
        m = m - m.min()
        out.append(m / (m.max() + 1e-7))
    return np.stack(out).reshape(*x.shape[:2], x.shape[-2], x.shape[-1])


def test_grad_cam_of_the_convlstm_model_equals_the_computation_by_hand(untrained_checkpoints: dict[str, Path],
                                                                       one_torch_thread: None) -> None:
    model, _ = load_model(untrained_checkpoints["video"])
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 64, 64)  # (B, T, C, H, W)
    maps = grad_cam(model, x)
    assert maps.shape == (2, 4, 64, 64)
    np.testing.assert_allclose(maps, _by_hand(model, x), atol=1e-4)
    assert not model.training  # left in eval mode


def test_explainer_and_cli_on_a_sample_video(untrained_checkpoints: dict[str, Path], face_video: Path,
                                             no_face_video: Path, tmp_path: Path, one_torch_thread: None) -> None:
    det = Detector.load(untrained_checkpoints["video"], device="cpu", clips=2)
    prep = det.prepare(face_video)
    expl = Explainer(det, max_clips=1).explain(prep)
    (result,) = det.predict([prep])
    assert expl.result.score == result.score and expl.result.clip_frames == result.clip_frames
    first_clip = result.clip_frames[0]
    assert [h.frame for h in expl.heatmaps] == first_clip and {h.clip for h in expl.heatmaps} == {0}
    for h in expl.heatmaps:
        assert h.crop is prep.crops[h.frame]  # the crops the model scored, not new ones
        assert h.heat.shape == (64, 64) and 0.0 <= h.heat.min() and h.heat.max() <= 1.0
    assert max(h.heat.max() for h in expl.heatmaps) == pytest.approx(1.0)
    # The explainer's own model copy: the detector's model never carries a Grad-CAM hook.
    assert not det.model.encoder._forward_hooks

    out = tmp_path / "explain"
    assert main([str(untrained_checkpoints["video"]), str(face_video), "--out", str(out), "--max-clips", "1",
                 "--clips", "2", "--device", "cpu"]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == [h.name for h in expl.heatmaps]  # the same PNGs the page shows
    assert load_image(pngs[0]).shape == (64, 64, 3)
    assert pngs[0].read_bytes() == expl.heatmaps[0].png()
    summary = json.loads((out / "explain.json").read_text())
    assert summary["score"] == pytest.approx(result.score) and summary["status"] == "ok"

    assert main([str(untrained_checkpoints["video"]), str(no_face_video), "--out", str(tmp_path / "none"),
                 "--device", "cpu"]) == 1
    assert not list((tmp_path / "none").glob("*.png"))
    assert "no face" in json.loads((tmp_path / "none" / "explain.json").read_text())["reason"]
    assert main([str(untrained_checkpoints["video"]), str(tmp_path / "missing.mp4"), "--out", str(out)]) == 2


class _BandFeatures(nn.Module):
    """A 1x1 conv (weights 1) + ReLU whose features exist on mel bands 8-15 only (zero elsewhere)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 1)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros_like(x[:1, :1])  # (1, 1, M, L)
        mask[..., 8:16, :] = 1.0
        return torch.relu(self.conv(x)) * mask  # (B, 4, M, L)


class _Bands(nn.Module):
    """An audio "model" that hears mel bands 8-15 only: the mean of :class:`_BandFeatures` over the (1, M, L)
    picture."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = _BandFeatures()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.encoder(mel.unsqueeze(1)).mean(dim=(1, 2, 3))  # (B, M, L) -> (B,)


def test_the_spectrogram_map_is_on_the_bands_the_model_hears() -> None:
    mel = torch.rand(2, 32, 40) + 0.5  # (B, M, L): content everywhere
    model = _Bands().eval()
    maps = spectrogram_cam(model, mel, target_layer=model.encoder)  # (B, M, L), row m = band m
    assert maps.shape == (2, 32, 40) and maps.dtype == np.float32
    assert 0.0 <= maps.min() and maps.max() == pytest.approx(1.0, abs=1e-5)
    assert maps[:, 8:16].min() > 0.3 and maps[:, :8].max() == 0 and maps[:, 16:].max() == 0


class _OneConv(nn.Module):
    """A stand-in image backbone for the mel picture: a 1x1 conv (weights 1) + ReLU, so its map is the picture."""

    mean, std, out_channels = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))  # (B, 4, S, S)


class _MelImage(nn.Module):
    """``audio_encoder: image`` in small: the logit is the mean brightness of the mel picture."""

    def __init__(self) -> None:
        super().__init__()
        self.audio = MelImageEncoder(_OneConv(), size=32)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.audio(mel).sum(dim=1)  # (B,)


def test_the_image_branch_map_is_turned_back_to_band_order() -> None:
    """The image branch draws the low bands at the bottom of its picture; the map must still be indexed by band."""
    mel = torch.full((1, 32, 40), -80.0)
    mel[:, :8] = 0.0  # the 8 lowest bands loud
    model = _MelImage().eval()
    assert audio_layer(model) is model.audio.encoder
    maps = spectrogram_cam(model, mel)  # (B, M, L)
    assert maps[0, :6].min() > 0.9 and maps[0, 12:].max() < 0.05


def test_grad_cam_of_the_audio_cnn_equals_the_computation_by_hand(one_torch_thread: None) -> None:
    """The default target, the last conv block's ReLU (an in-place one), against Grad-CAM written out by hand on its
    output (before the block's pooling); the model left in eval mode."""
    torch.manual_seed(0)
    model = AudioClassifier(AudioCNN(channels=4), fc_hidden=8).eval()
    mel = torch.randn(2, 64, 81) * 20 - 40  # (B, M, L) dB
    maps = spectrogram_cam(model, mel)
    assert maps.shape == (2, 64, 81) and not model.training
    x = model.audio.norm(mel.unsqueeze(1))
    for layer in model.audio.blocks[:-1]:  # up to the last block's ReLU
        x = layer(x)
    x.retain_grad()  # (B, 32, 8, 10)
    model.head(model.audio.blocks[-1](x).mean(dim=(2, 3))).sum().backward()
    cam = torch.relu((x.grad.mean(dim=(2, 3), keepdim=True) * x).sum(dim=1)).detach().numpy()  # (B, 8, 10)
    hand = []
    for m in cam:
        m = cv2.resize(m, (81, 64))
        m = m - m.min()
        hand.append(m / (m.max() + 1e-7))
    np.testing.assert_allclose(maps, np.stack(hand), atol=1e-4)


def test_explainer_and_cli_on_an_av_checkpoint(untrained_sound_checkpoints: dict[str, Path], face_video: Path,
                                               samples_dir: Path, tmp_path: Path, one_torch_thread: None) -> None:
    weights = untrained_sound_checkpoints["av"]
    det = Detector.load(weights, device="cpu", clips=1)
    prep = det.prepare(face_video)
    expl = Explainer(det, max_clips=1).explain(prep)
    (result,) = det.predict([prep])
    assert expl.result.score == result.score and result.reason == ""
    (frames,) = result.clip_frames
    assert [h.frame for h in expl.heatmaps] == frames  # the face crops, towards the fused logit
    assert all(h.heat.shape == (64, 64) for h in expl.heatmaps)
    (spec,) = expl.spectrograms
    mel, has = det.clip_mel(prep, frames)
    assert spec.frames == frames and bool(has)
    assert torch.equal(torch.from_numpy(spec.mel), mel)  # the log-mel scoring used, not a new one
    assert spec.heat.shape == (64, 81) and 0.0 <= spec.heat.min() and spec.heat.max() == pytest.approx(1.0, abs=1e-5)
    assert not det.model.audio.blocks[-2]._forward_hooks and not det.model.video.encoder._forward_hooks

    # A video without a sound track: scored by the video head, face maps only.
    silent = det.prepare(samples_dir / "carphone_pristine.mp4")
    explainer = Explainer(det, max_clips=1)
    assert explainer.heatmaps(silent) and explainer.spectrograms(silent) == []

    out = tmp_path / "explain"
    assert main([str(weights), str(face_video), "--out", str(out), "--max-clips", "1", "--clips", "1",
                 "--device", "cpu"]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted([*(h.name for h in expl.heatmaps), "clip00_logmel.png"])
    assert (out / "clip00_logmel.png").read_bytes() == spec.png()
    picture = load_image(out / "clip00_logmel.png")
    assert picture.shape == (64 * SPECTROGRAM_ZOOM, 81 * SPECTROGRAM_ZOOM, 3)
    summary = json.loads((out / "explain.json").read_text())
    assert summary["spectrograms"] == [{"clip": 0, "frames": frames, "png": "clip00_logmel.png"}]
    assert len(summary["heatmaps"]) == len(frames)


def test_an_audio_model_gets_spectrogram_maps_and_no_face_maps(untrained_sound_checkpoints: dict[str, Path],
                                                                 face_video: Path, one_torch_thread: None) -> None:
    det = Detector.load(untrained_sound_checkpoints["audio"], device="cpu", clips=2)
    expl = Explainer(det).explain(face_video)
    assert expl.result.status == "ok" and expl.result.faces == 0 and expl.heatmaps == []
    assert [m.frames for m in expl.spectrograms] == expl.result.clip_frames and len(expl.spectrograms) == 2
    assert not np.array_equal(expl.spectrograms[0].mel, expl.spectrograms[1].mel)  # two windows of the track
    assert det.frame_scores(face_video) == {}  # it hears windows, not frames
