"""Where the model looked: Grad-CAM heat maps over the face crops it scored and the log-mels it heard, and
``python -m dfdetect explain``.

Grad-CAM (Selvaraju et al., ICCV 2017) weighs each channel of a convolutional layer's activations by the mean gradient
of the output over its map, sums, and keeps the positive part: the regions that push the logit up (towards "fake").
The computation is pytorch-grad-cam's (``grad-cam`` on PyPI, :class:`pytorch_grad_cam.GradCAM` with
:class:`~pytorch_grad_cam.utils.model_targets.BinaryClassifierOutputTarget`), used as it is for an image model
``(B, C, H, W)`` and through a thin reshape for a clip model ``(B, T, C, H, W)``: the library reads a 5-D input as a
3-D volume (and resizes with a 3-D size), so :func:`grad_cam` hands it clips flattened to ``(B, T*C, H, W)`` and the
wrapper (:class:`_FlatClips`) unflattens them before the model. The target layer's activations are then
``(B*T, K, h, w)`` (the encoder runs every frame of every clip in one call), so each frame gets its own map, and the
gradient of the clip's one logit reaches each frame through the ConvLSTM: the map of frame t is what, in frame t,
moved the clip's score.

The sound (an ``audio`` or ``av`` model, :func:`spectrogram_cam`): the clip's log-mel ``(M, L)`` is a one-channel
picture ``(1, M, L)`` (:class:`_MelPicture` adds the channel the library wants and removes it for the model), and the
target layer is the audio branch's (:func:`audio_layer`: the audio CNN's last conv block, or the image backbone on the
mel picture, whose map is turned back to band order). An ``av`` model gets both kinds of map, each towards its fused
logit (the one scored) with the other input held fixed (:class:`_ClipsWithSound`, :class:`_MelPicture`): where in the
crops, and where in time and frequency, the evidence for "fake" sat. The log-mel is the very tensor scoring builds
(:meth:`~dfdetect.inference.Detector.clip_mel`); its PNG (:class:`SpectrogramMap`) is the grey log-mel, time on x and
the low bands at the bottom, with the map over it.

Generic over the input: :func:`grad_cam` takes any classifier with one logit per item, a ``(B, C, H, W)`` image or
spectrogram batch or a ``(B, T, C, H, W)`` clip batch, and a target layer (default ``model.encoder``, whose output is
the last feature map ``(N, 1280, S/32, S/32)``). Maps are resized to the input's ``(H, W)`` and scaled to [0, 1]
per map by the library (so the brightest part of each crop is 1, whatever its absolute strength).

The heat maps of an input (:class:`Explainer`): the clips :class:`~dfdetect.inference.Detector` scores
(:meth:`~dfdetect.inference.Detector.clips_of`, first TTA view) as the same tensors
(:meth:`~dfdetect.inference.Detector.clip_tensor`), at most ``max_clips`` of them; one PNG per crop: the crop with
the map blended over it (the library's ``show_cam_on_image``, JET colours: red = pushed towards fake).

Example:
    >>> from models.classifier import FrameClassifier, VideoClassifier
    >>> from models.encoder import Encoder
    >>> video = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), temporal="mean").eval()
    >>> grad_cam(video, torch.randn(2, 3, 3, 64, 64)).shape  # (B, T, H, W)
    (2, 3, 64, 64)
    >>> frame = FrameClassifier(Encoder("efficientnet-lite0", pretrained=False)).eval()
    >>> grad_cam(frame, torch.randn(2, 3, 64, 64)).shape  # (B, H, W)
    (2, 64, 64)
    >>> from models.audio import AudioClassifier
    >>> audio = AudioClassifier(AudioCNN(channels=4), fc_hidden=8).eval()
    >>> spectrogram_cam(audio, torch.randn(2, 64, 81)).shape  # (B, M, L) log-mels -> (B, M, L) maps
    (2, 64, 81)
"""

from __future__ import annotations

import argparse
import copy
import io
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget
from torch import nn

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import ScoreConfig, add_score_overrides, score_from_args
from dfdetect.core.io import InputError, write_bytes_atomic, write_json
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference.detector import Detector, VideoScore
from dfdetect.inference.prepare import PreparedVideo
from models.audio import AudioCNN, MelImageEncoder

log = logging.getLogger(__name__)

MAX_CLIPS = ScoreConfig.max_clips
"""Clips explained per input by default (a video model's clip is T crops, so up to 4 * T heat maps)."""
HEATMAP_WEIGHT = 0.45
"""How much of the colour map is blended over the crop (``show_cam_on_image``'s ``image_weight`` is 1 minus it)."""
SPECTROGRAM_ZOOM = 3
"""Pixels per mel band and per spectrogram frame in a spectrogram PNG (64 bands x 81 frames -> 192 x 243 pixels)."""


class _FlatClips(nn.Module):
    """``(B, T*C, H, W)`` -> the wrapped clip model's ``(B, T, C, H, W)`` (pytorch-grad-cam reads 5-D as volumes)."""

    def __init__(self, model: nn.Module, t: int) -> None:
        super().__init__()
        self.model, self.t = model, int(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.unflatten(1, (self.t, -1)))  # (B, T*C, H, W) -> (B, T, C, H, W) -> (B,) logits


class _MelPicture(nn.Module):
    """``(B, 1, M, L)`` -> the wrapped model's ``(B,)`` logit of the log-mels ``(B, M, L)``: the library wants a 4-D
    picture and one input; an ``av`` model's clips and ``has_audio`` stay fixed, and its fused logit is the one."""

    def __init__(self, model: nn.Module, clip: torch.Tensor | None = None,
                 has_audio: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model, self.clip, self.has_audio = model, clip, has_audio

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mel = x[:, 0]  # (B, M, L)
        if self.clip is None:
            return self.model(mel)  # (B,)
        return self.model(self.clip, mel, self.has_audio)[:, 0]  # (B, 3) -> the fused logit (B,)


class _ClipsWithSound(nn.Module):
    """``(B, T, C, H, W)`` clips -> an ``av`` model's fused logit ``(B,)``, its log-mels and ``has_audio`` fixed."""

    def __init__(self, model: nn.Module, mel: torch.Tensor, has_audio: torch.Tensor) -> None:
        super().__init__()
        self.model, self.mel, self.has_audio = model, mel, has_audio

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.model(clip, self.mel, self.has_audio)[:, 0]  # (B, 3) -> the fused logit (B,)


def picture_layer(model: nn.Module) -> nn.Module:
    """The face-crop heat maps' target layer: the image encoder (its last feature map), ``model.video.encoder`` in an
    ``av`` model, ``model.encoder`` otherwise."""
    return model.video.encoder if getattr(model, "modalities", "video") == "av" else model.encoder


def audio_layer(model: nn.Module) -> nn.Module:
    """The spectrogram heat maps' target layer, in the audio branch ``model.audio`` of an ``audio`` or ``av`` model:
    the audio CNN's last conv block (its ReLU, before the block's pooling: ``(N, 8c, M/8, L/8)``, twice the resolution
    of the pooled output), or the image backbone for ``model.audio_encoder: image``.

    Raises:
        ValueError: a model without an audio branch.
    """
    branch = getattr(model, "audio", None)
    if isinstance(branch, AudioCNN):
        return branch.blocks[-2]  # the last block's ReLU
    if isinstance(branch, MelImageEncoder):
        return branch.encoder
    raise ValueError(f"{type(model).__name__} has no audio branch (model.audio)")


def spectrogram_cam(model: nn.Module, mel: torch.Tensor, target_layer: nn.Module | None = None,
                    clip: torch.Tensor | None = None, has_audio: torch.Tensor | None = None) -> np.ndarray:
    """Grad-CAM over log-mel spectrograms: :func:`grad_cam` on the log-mels as one-channel pictures.

    Args:
        model: an ``audio`` model (``(B, M, L)`` -> ``(B,)`` logits) or, with ``clip``, an ``av`` model (its fused
            logit; the clips and ``has_audio`` are held fixed).
        mel: ``(B, M, L)`` log-mels in dB, as the model gets them (:meth:`~dfdetect.inference.Detector.clip_mel`).
        target_layer: default :func:`audio_layer`.
        clip: ``(B, T, C, H, W)`` the clips of an ``av`` model, None for an ``audio`` model.
        has_audio: ``(B,)`` bool, for an ``av`` model.

    Returns:
        float32 ``(B, M, L)`` maps in [0, 1], indexed like ``mel`` (row ``m`` is mel band ``m``). The image-backbone
        branch draws the mel upside down (low bands at the bottom of its picture); its map is turned back here.

    Raises:
        ValueError: ``mel`` not 3-D.
    """
    if mel.ndim != 3:
        raise ValueError(f"expected (B, M, L) log-mels, got shape {tuple(mel.shape)}")
    layer = target_layer if target_layer is not None else audio_layer(model)
    maps = grad_cam(_MelPicture(model, clip, has_audio), mel.unsqueeze(1), layer)  # (B, M, L)
    if isinstance(getattr(model, "audio", None), MelImageEncoder):
        maps = np.ascontiguousarray(maps[:, ::-1])  # picture rows (high bands first) -> mel bands
    return maps


def grad_cam(model: nn.Module, x: torch.Tensor, target_layer: nn.Module | None = None) -> np.ndarray:
    """Grad-CAM of the logit (towards class 1, "fake") for each item of a batch.

    Args:
        model: a classifier returning one logit per item, ``(B,)``.
        x: ``(B, C, H, W)`` images (or spectrograms) or ``(B, T, C, H, W)`` clips, prepared for the model.
        target_layer: the layer whose activations are weighed (default ``model.encoder``: the last feature map). It
            must run once per image: ``B`` or ``B*T`` activation maps.

    Returns:
        float32 maps in [0, 1]: ``(B, H, W)`` for images, ``(B, T, H, W)`` for clips.

    Raises:
        ValueError: ``x`` neither 4-D nor 5-D.
    """
    if x.ndim not in (4, 5):
        raise ValueError(f"expected (B, C, H, W) or (B, T, C, H, W), got shape {tuple(x.shape)}")
    layer = target_layer if target_layer is not None else model.encoder
    wrapped = _FlatClips(model, x.shape[1]) if x.ndim == 5 else model
    flat = x.flatten(1, 2) if x.ndim == 5 else x  # (B, T*C, H, W) or (B, C, H, W)
    modes = [(m, m.training) for m in model.modules()]  # each module's own (a wrapper's flag is not the model's)
    model.eval()
    try:
        with torch.enable_grad(), GradCAM(model=wrapped, target_layers=[layer]) as cam:
            # Gradients must reach the activations even when every weight is frozen.
            inputs = flat.detach().clone().requires_grad_(True)
            maps = cam(input_tensor=inputs, targets=[BinaryClassifierOutputTarget(1)] * x.shape[0])  # (N, H, W)
    finally:
        for m, mode in modes:
            m.training = mode
    maps = np.asarray(maps, dtype=np.float32)
    return maps.reshape(*x.shape[:2], *maps.shape[-2:]) if x.ndim == 5 else maps


def overlay(crop: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The crop with the heat map blended over it (JET colours, :data:`HEATMAP_WEIGHT` of the map).

    Args:
        crop: RGB uint8 ``(H, W, 3)``.
        heat: float ``(H, W)`` in [0, 1].

    Returns:
        RGB uint8 ``(H, W, 3)``.

    Example:
        >>> overlay(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.float32))[0, 0].tolist()  # JET's top: red
        [255, 0, 0]
    """
    img = crop.astype(np.float32) / 255.0  # (H, W, 3) in [0, 1]
    return show_cam_on_image(img, heat.astype(np.float32), use_rgb=True, image_weight=1.0 - HEATMAP_WEIGHT)


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes.

    Example:
        >>> png_bytes(np.zeros((2, 2, 3), np.uint8))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class HeatMap:
    """The heat map of one crop the model saw.

    Attributes:
        clip: the clip's index among the input's clips (``VideoScore.clip_frames``).
        frame: the frame index of the crop (0 for an image).
        crop: RGB uint8 ``(S, S, 3)``: the face crop as the model got it (before normalisation).
        heat: float32 ``(S, S)`` in [0, 1].
    """

    clip: int
    frame: int
    crop: np.ndarray
    heat: np.ndarray

    @property
    def name(self) -> str:
        """The PNG's file name, e.g. ``clip00_frame000012.png``."""
        return f"clip{self.clip:02d}_frame{self.frame:06d}.png"

    def png(self) -> bytes:
        """The crop with its heat map, as PNG bytes (what the page shows and ``explain`` writes)."""
        return png_bytes(overlay(self.crop, self.heat))


def mel_picture(mel: np.ndarray) -> np.ndarray:
    """A log-mel as a grey picture: time on x, mel band on y with the low bands at the bottom, dB scaled to [0, 1]
    by the clip's own minimum and maximum (all black when flat, e.g. silence).

    Args:
        mel: ``(M, L)`` dB.

    Returns:
        float32 ``(M, L)`` in [0, 1], row 0 the highest band.

    Example:
        >>> mel_picture(np.array([[-100.0, -100.0], [0.0, -50.0]]))  # band 1 (louder) drawn on top
        array([[1. , 0.5],
               [0. , 0. ]], dtype=float32)
    """
    lo, hi = float(mel.min()), float(mel.max())
    img = (mel - lo) / (hi - lo) if hi > lo else np.zeros_like(mel)
    return np.ascontiguousarray(img[::-1], dtype=np.float32)


@dataclass
class SpectrogramMap:
    """The heat map over one clip's log-mel spectrogram (what an ``audio`` or ``av`` model heard).

    Attributes:
        clip: the clip's index among the input's clips (``VideoScore.clip_frames``).
        frames: the clip's frame indices (its audio window is theirs).
        mel: float32 ``(M, L)``: the log-mel in dB as the model got it (row ``m`` = mel band ``m``).
        heat: float32 ``(M, L)`` in [0, 1], indexed like ``mel``.
    """

    clip: int
    frames: list[int]
    mel: np.ndarray
    heat: np.ndarray

    @property
    def name(self) -> str:
        """The PNG's file name, e.g. ``clip00_logmel.png``."""
        return f"clip{self.clip:02d}_logmel.png"

    def picture(self) -> np.ndarray:
        """RGB uint8 ``(M * z, L * z, 3)`` (``z`` = :data:`SPECTROGRAM_ZOOM`): the grey log-mel (:func:`mel_picture`:
        time on x, low bands at the bottom) with the heat map over it (:func:`overlay`)."""
        grey = (mel_picture(self.mel) * 255).round().astype(np.uint8)  # (M, L), high bands on top
        rgb = np.repeat(grey[:, :, None], 3, axis=2)  # (M, L, 3)
        img = overlay(rgb, np.ascontiguousarray(self.heat[::-1]))  # the heat map turned like the picture
        return np.repeat(np.repeat(img, SPECTROGRAM_ZOOM, axis=0), SPECTROGRAM_ZOOM, axis=1)

    def png(self) -> bytes:
        """:meth:`picture` as PNG bytes (what the page shows and ``explain`` writes)."""
        return png_bytes(self.picture())


@dataclass
class Explanation:
    """An input's score and the heat maps of the crops the model saw and of the log-mels it heard (or why there are
    none)."""

    result: VideoScore
    heatmaps: list[HeatMap] = field(default_factory=list)
    spectrograms: list[SpectrogramMap] = field(default_factory=list)
    reason: str = ""


class Explainer:
    """Grad-CAM for a :class:`~dfdetect.inference.Detector`'s torch model, safe beside concurrent scoring.

    Grad-CAM hooks its target layer during a call; hooks on the model that scores other requests at the same time
    would catch their activations too. So the explainer runs on its own copy of the model, one explanation at a
    time (a lock), and scoring never sees a hook.

    What it explains follows ``model.modalities``: a ``video`` model's face crops (:meth:`heatmaps`); an ``audio``
    model's log-mels (:meth:`spectrograms`); an ``av`` model's both, each towards its fused logit (the one scored),
    the other input held fixed: the crops' maps on the video encoder, the log-mels' on the audio branch.

    Args:
        det: the detector (its model must be a torch module: an ONNX export has no gradients).
        max_clips: clips explained per input.
        target_layer: picks the face-crop layer from the model copy (default :func:`picture_layer`).
        mel_layer: picks the spectrogram layer from the model copy (default :func:`audio_layer`).

    Raises:
        InputError: a detector running an exported (ONNX) model.
    """

    def __init__(self, det: Detector, max_clips: int = MAX_CLIPS,
                 target_layer: Callable[[nn.Module], nn.Module] | None = None,
                 mel_layer: Callable[[nn.Module], nn.Module] | None = None) -> None:
        if not isinstance(det.model, nn.Module):
            raise InputError("heat maps need the torch checkpoint (an exported ONNX model has no gradients)")
        self.det, self.max_clips = det, int(max_clips)
        self.sees, self.hears = det.modalities != "audio", det.modalities != "video"
        self.model = copy.deepcopy(det.model).eval()
        self.layer = (target_layer or picture_layer)(self.model) if self.sees else None
        self.mel_layer = (mel_layer or audio_layer)(self.model) if self.hears else None
        self._lock = threading.Lock()

    def _clips(self, prep: PreparedVideo) -> list[list[int]]:
        return self.det.clips_of(prep)[: self.max_clips] if prep.status == ScoreStatus.OK else []

    def _mels(self, prep: PreparedVideo, clips: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The clips' log-mels ``(N, M, L)`` and ``has_audio`` ``(N,)``, as scoring builds them, on the model's
        device."""
        mels, has = zip(*(self.det.clip_mel(prep, frames) for frames in clips))
        return torch.stack(mels).to(self._device), torch.stack(has).to(self._device)

    @property
    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def heatmaps(self, prep: PreparedVideo) -> list[HeatMap]:
        """Heat maps of the face crops of the first ``max_clips`` clips the detector scores for ``prep`` (empty when
        not scorable, and for an ``audio`` model, which sees no face)."""
        clips = self._clips(prep) if self.sees else []
        if not clips:
            return []
        x = torch.stack([self.det.clip_tensor(prep, frames) for frames in clips]).to(self._device)  # (N, T, C, H, W)
        with self._lock:
            if self.hears:  # av: the fused logit, the sound held fixed
                mel, has = self._mels(prep, clips)
                maps = grad_cam(_ClipsWithSound(self.model, mel, has), x, self.layer)  # (N, T, H, W)
            else:
                maps = grad_cam(self.model, x, self.layer)  # (N, T, H, W)
        return [HeatMap(c, f, prep.crops[f], maps[c, t])  # maps[c, t]: (H, W)
                for c, frames in enumerate(clips) for t, f in enumerate(frames)]

    def spectrograms(self, prep: PreparedVideo) -> list[SpectrogramMap]:
        """Heat maps over the log-mels of the first ``max_clips`` clips the detector scores for ``prep`` (an
        ``audio`` or ``av`` model; empty for a ``video`` model, when not scorable, and for a clip without sound,
        which an ``av`` model scores by its video head alone)."""
        clips = self._clips(prep) if self.hears else []
        if not clips:
            return []
        mel, has = self._mels(prep, clips)  # (N, M, L), (N,)
        with self._lock:
            if self.sees:  # av: the fused logit, the clips held fixed
                x = torch.stack([self.det.clip_tensor(prep, frames) for frames in clips]).to(self._device)
                maps = spectrogram_cam(self.model, mel, self.mel_layer, clip=x, has_audio=has)  # (N, M, L)
            else:
                maps = spectrogram_cam(self.model, mel, self.mel_layer)  # (N, M, L)
        mels = mel.cpu().numpy()
        return [SpectrogramMap(c, list(frames), mels[c], maps[c])
                for c, frames in enumerate(clips) if bool(has[c])]

    def explain(self, item: str | Path | PreparedVideo) -> Explanation:
        """Score an input (:meth:`Detector.predict`) and make its heat maps from the same crops and log-mels."""
        prep = self.det.prepare(item)
        (result,) = self.det.predict([prep])
        if result.status != ScoreStatus.OK:
            return Explanation(result, reason=result.reason)
        return Explanation(result, self.heatmaps(prep), self.spectrograms(prep))


def write_explanation(expl: Explanation, out: str | Path) -> list[Path]:
    """Write one PNG per heat map (:attr:`HeatMap.name`, :attr:`SpectrogramMap.name`) and ``explain.json`` (score,
    status, reason, clip scores and frames, the PNG names) into ``out``, atomically each.

    Returns:
        The PNG paths written (face crops, then spectrograms).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for h in [*expl.heatmaps, *expl.spectrograms]:
        write_bytes_atomic(out / h.name, h.png())
        paths.append(out / h.name)
    r = expl.result
    write_json(out / "explain.json", {
        "name": r.name, "score": r.score, "status": str(r.status), "reason": r.reason or expl.reason,
        "faces": r.faces, "sampled": r.sampled,
        "clips": [{"frames": f, "score": s} for f, s in zip(r.clip_frames, r.clip_scores)],
        "heatmaps": [{"clip": h.clip, "frame": h.frame, "png": h.name} for h in expl.heatmaps],
        "spectrograms": [{"clip": m.clip, "frames": m.frames, "png": m.name} for m in expl.spectrograms],
    })
    return paths


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect explain`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect explain", description=(
        "Score one video or face image and write the Grad-CAM heat map of every face crop the model saw and, for an "
        "audio or av model, of every clip's log-mel spectrogram it heard (PNGs, the same the serve page shows) and "
        "explain.json."))
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("input", help="a video or a face image (an audio model: a video with sound or an audio file)")
    p.add_argument("--out", required=True, help="output folder")
    add_score_overrides(p, "max_clips", "clips", "window_every", "max_windows", "device")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect explain``: exit status 0 with heat maps, 1 when the input could not be scored, 2 for a
    bad checkpoint or path."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    if not Path(args.input).is_file():
        raise InputError(f"{args.input}: no such file")
    score = score_from_args(args)
    det = Detector.load(args.weights, score)
    explainer = Explainer(det, max_clips=score.max_clips)
    expl = explainer.explain(args.input)
    paths = write_explanation(expl, args.out)
    r = expl.result
    log.info("%s: P(fake) %.4f (%s%s); %d heat maps (%d of spectrograms) in %s", r.name, r.score, r.status,
             f": {r.reason}" if r.reason else "", len(paths), len(expl.spectrograms), args.out)
    return 0 if r.status == ScoreStatus.OK else 1


if __name__ == "__main__":
    sys.exit(main())
