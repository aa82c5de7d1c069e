"""Where the model looked: Grad-CAM heat maps over the face crops it scored, and ``python -m dfdetect explain``.

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

from dfdetect.core.config import ServeConfig
from dfdetect.core.io import InputError, setup_logging, write_bytes_atomic, write_json
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference.detector import Detector, VideoScore
from dfdetect.inference.prepare import PreparedVideo

log = logging.getLogger(__name__)

MAX_CLIPS = ServeConfig().max_clips
"""Clips explained per input by default (a video model's clip is T crops, so up to 4 * T heat maps)."""
HEATMAP_WEIGHT = 0.45
"""How much of the colour map is blended over the crop (``show_cam_on_image``'s ``image_weight`` is 1 minus it)."""


class _FlatClips(nn.Module):
    """``(B, T*C, H, W)`` -> the wrapped clip model's ``(B, T, C, H, W)`` (pytorch-grad-cam reads 5-D as volumes)."""

    def __init__(self, model: nn.Module, t: int) -> None:
        super().__init__()
        self.model, self.t = model, int(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.unflatten(1, (self.t, -1)))  # (B, T*C, H, W) -> (B, T, C, H, W) -> (B,) logits


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
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad(), GradCAM(model=wrapped, target_layers=[layer]) as cam:
            # Gradients must reach the activations even when every weight is frozen.
            inputs = flat.detach().clone().requires_grad_(True)
            maps = cam(input_tensor=inputs, targets=[BinaryClassifierOutputTarget(1)] * x.shape[0])  # (N, H, W)
    finally:
        model.train(was_training)
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


@dataclass
class Explanation:
    """An input's score and the heat maps of the crops the model saw (or why there are none)."""

    result: VideoScore
    heatmaps: list[HeatMap] = field(default_factory=list)
    reason: str = ""


class Explainer:
    """Grad-CAM for a :class:`~dfdetect.inference.Detector`'s torch model, safe beside concurrent scoring.

    Grad-CAM hooks its target layer during a call; hooks on the model that scores other requests at the same time
    would catch their activations too. So the explainer runs on its own copy of the model, one explanation at a
    time (a lock), and scoring never sees a hook.

    Args:
        det: the detector (its model must be a torch module: an ONNX export has no gradients).
        max_clips: clips explained per input.
        target_layer: picks the layer from the model copy (default: ``model.encoder``).

    Raises:
        InputError: a detector running an exported (ONNX) model, or an audio or ``av`` model.
    """

    def __init__(self, det: Detector, max_clips: int = MAX_CLIPS,
                 target_layer: Callable[[nn.Module], nn.Module] | None = None) -> None:
        if not isinstance(det.model, nn.Module):
            raise InputError("heat maps need the torch checkpoint (an exported ONNX model has no gradients)")
        if det.modalities != "video":
            raise InputError(f"heat maps are built for video and frame models; a {det.modalities!r} model's "
                             "spectrogram heat maps are not built yet")
        self.det, self.max_clips = det, int(max_clips)
        self.model = copy.deepcopy(det.model).eval()
        self.layer = target_layer(self.model) if target_layer is not None else self.model.encoder
        self._lock = threading.Lock()

    def heatmaps(self, prep: PreparedVideo) -> list[HeatMap]:
        """Heat maps of the first ``max_clips`` clips the detector scores for ``prep`` (empty when not scorable)."""
        if prep.status != ScoreStatus.OK:
            return []
        clips = self.det.clips_of(prep)[: self.max_clips]
        x = torch.stack([self.det.clip_tensor(prep, frames) for frames in clips])  # (N, T, C, H, W)
        x = x.to(next(self.model.parameters()).device)
        with self._lock:
            maps = grad_cam(self.model, x, self.layer)  # (N, T, H, W)
        return [HeatMap(c, f, prep.crops[f], maps[c, t])  # maps[c, t]: (H, W)
                for c, frames in enumerate(clips) for t, f in enumerate(frames)]

    def explain(self, item: str | Path | PreparedVideo) -> Explanation:
        """Score an input (:meth:`Detector.predict`) and make its heat maps from the same crops."""
        prep = self.det.prepare(item)
        (result,) = self.det.predict([prep])
        if result.status != ScoreStatus.OK:
            return Explanation(result, [], result.reason)
        return Explanation(result, self.heatmaps(prep))


def write_explanation(expl: Explanation, out: str | Path) -> list[Path]:
    """Write one PNG per heat map (:attr:`HeatMap.name`) and ``explain.json`` (score, status, reason, clip scores
    and frames, the PNG names) into ``out``, atomically each.

    Returns:
        The PNG paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for h in expl.heatmaps:
        write_bytes_atomic(out / h.name, h.png())
        paths.append(out / h.name)
    r = expl.result
    write_json(out / "explain.json", {
        "name": r.name, "score": r.score, "status": str(r.status), "reason": r.reason or expl.reason,
        "faces": r.faces, "sampled": r.sampled,
        "clips": [{"frames": f, "score": s} for f, s in zip(r.clip_frames, r.clip_scores)],
        "heatmaps": [{"clip": h.clip, "frame": h.frame, "png": h.name} for h in expl.heatmaps],
    })
    return paths


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect explain`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect explain", description=(
        "Score one video or face image and write the Grad-CAM heat map of every face crop the model saw (PNGs, the "
        "same the serve page shows) and explain.json."))
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("input", help="a video or a face image")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-clips", type=int, default=MAX_CLIPS, help=f"clips explained (default {MAX_CLIPS})")
    p.add_argument("--clips", type=int, default=None, help="clip windows per video (default: the checkpoint's)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect explain``: exit status 0 with heat maps, 1 when the input could not be scored, 2 for a
    bad checkpoint or path."""
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        if not Path(args.input).is_file():
            raise InputError(f"{args.input}: no such file")
        det = Detector.load(args.weights, device=args.device, clips=args.clips)
        explainer = Explainer(det, max_clips=args.max_clips)
    except InputError as e:
        log.error("%s", e)
        return 2
    expl = explainer.explain(args.input)
    paths = write_explanation(expl, args.out)
    r = expl.result
    log.info("%s: P(fake) %.4f (%s%s); %d heat maps in %s", r.name, r.score, r.status,
             f": {r.reason}" if r.reason else "", len(paths), args.out)
    return 0 if r.status == ScoreStatus.OK else 1


if __name__ == "__main__":
    sys.exit(main())
