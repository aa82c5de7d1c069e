"""Build the network of ``model.kind`` from its config, count its parameters (plain and with thop, the challenge's
counter), enforce the parameter cap, and rebuild a trained one from a checkpoint alone.

Example:
    >>> model = build_model(ModelConfig(backbone="efficientnet-lite0", temporal="mean"))
    >>> model.mean, count_parameters(model) > 3_000_000
    ((0.5, 0.5, 0.5), True)
    >>> frame = build_model(ModelConfig(kind="frame", backbone="efficientnet-lite0", pretrained=False))
    >>> type(frame).__name__, frame.kind
    ('FrameClassifier', 'frame')
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import thop
import torch
from torch import nn

from dfdetect.core.checkpoint import CheckpointError, config_from_checkpoint, load_checkpoint, state_dict_mismatch
from dfdetect.core.config import AUDIO_ENCODERS, MODALITIES, MODEL_KINDS, Config, ModelConfig
from dfdetect.core.io import InputError
from models.audio import AudioBranch, AudioClassifier, AudioCNN, AVClassifier, MelImageEncoder
from models.classifier import Classifier, FrameClassifier, VideoClassifier
from models.encoder import Encoder

log = logging.getLogger(__name__)
M = TypeVar("M")  # a torch module, or anything with to(device) (an ONNX classifier)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``).

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


TRAINING_ONLY_HEADS = ("mask_head", "frame_head")
"""Modules of :class:`~models.classifier.VideoClassifier` run only by the training loss (``model.aux_heads``): left
out of the parameter counts of :func:`model_complexity` (what scoring runs and the challenge's cap counts)."""
PROFILE_MEL = (64, 81)
"""(bands, frames) of the dummy log-mel an audio or ``av`` model is profiled with (0.8 s at the default settings)."""
PROFILE_SIZE = 32
"""Side (pixels) of the dummy input :func:`build_model` counts parameters with: the smallest the encoders take (1/32
of it is one feature cell); parameters do not depend on the input size, multiply-accumulates do (see
:func:`model_complexity`)."""


@dataclass(frozen=True)
class Complexity:
    """A model's size and cost.

    Attributes:
        params: parameters, plain count (:func:`count_parameters`).
        thop_params: parameters counted by thop (``ultralytics-thop``'s ``profile``), the challenge's counter.
        macs: multiply-accumulates of one forward pass on the profiled input, counted by thop (FLOPs ~ 2 x MACs).
        input_shape: the profiled input, ``(1, C, H, W)`` or ``(1, T, C, H, W)``.
    """

    params: int
    thop_params: int
    macs: float
    input_shape: tuple[int, ...]


def model_complexity(model: nn.Module, frames: int = 1, size: int = PROFILE_SIZE) -> Complexity:
    """Count a classifier's parameters (plain and with thop) and its MACs for one input of ``frames`` x ``size`` px.

    thop runs one forward pass in eval mode without gradients on zeros and removes its hooks and counters after, so
    the model, its mode and its state-dict keys are left as they were (a strict checkpoint load still matches).

    Args:
        model: a :class:`~models.classifier.Classifier` (a frame model gets ``(1, 3, S, S)``, a video model
            ``(1, T, 3, S, S)``).
        frames: T for a video model (ignored for a frame model).
        size: input side in pixels.

    Returns:
        The :class:`Complexity`.

    Example:
        >>> c = model_complexity(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2)), size=8)
        >>> c.params, c.thop_params, c.macs  # conv 4*3*3*3+4 and linear 144*2+2 parameters; 36*108 + 144*2 MACs
        (402, 402, 4176.0)
    """
    kind = getattr(model, "kind", "frame")
    modalities = getattr(model, "modalities", "video")
    shape = (1, 3, size, size) if kind == "frame" else (1, max(1, frames), 3, size, size)
    device = next(iter(model.parameters()), torch.empty(0)).device
    x = torch.zeros(shape, device=device)
    mel = torch.zeros(1, *PROFILE_MEL, device=device)  # (1, M, L)
    inputs = {"video": (x,), "audio": (mel,), "av": (x, mel)}[modalities]
    if modalities == "audio":
        shape = tuple(mel.shape)
    macs, thop_params = thop.profile(model, inputs=inputs, verbose=False)
    # The localisation heads of model.aux_heads train only: scoring never runs them and exports leave them out.
    extra = sum(p.numel() for n, p in model.named_parameters() if n.split(".")[-2] in TRAINING_ONLY_HEADS)
    return Complexity(params=count_parameters(model) - extra, thop_params=int(thop_params) - extra, macs=float(macs),
                      input_shape=tuple(shape))


def check_size(complexity: Complexity, cap: int) -> None:
    """Enforce the parameter cap on the plain count and on thop's (the image track's rule: at most 200M, with thop).

    Raises:
        InputError: either count above ``cap``, in one line naming both counts.

    Example:
        >>> check_size(Complexity(300_000_000, 300_000_000, 0.0, (1, 3, 32, 32)), 200_000_000)
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: model has 300,000,000 parameters (thop: 300,000,000), more than model.max_params \
= 200,000,000 (the challenge's cap, counted with thop)
    """
    n = max(complexity.params, complexity.thop_params)
    if n > cap:
        raise InputError(f"model has {complexity.params:,} parameters (thop: {complexity.thop_params:,}), more than "
                         f"model.max_params = {cap:,} (the challenge's cap, counted with thop)")


def _audio_branch(cfg: ModelConfig) -> AudioBranch:
    if cfg.audio_encoder not in AUDIO_ENCODERS:
        raise InputError(f"unknown model.audio_encoder {cfg.audio_encoder!r} (choose from {', '.join(AUDIO_ENCODERS)})")
    if cfg.audio_encoder == "image":
        return MelImageEncoder(Encoder(cfg.backbone, pretrained=cfg.pretrained, weights=cfg.weights))
    return AudioCNN(cfg.audio_channels)


def build_model(cfg: ModelConfig) -> Classifier | AudioClassifier | AVClassifier:
    """Build the classifier of ``cfg.kind``, loading backbone weights as configured, and check its size.

    ``kind: video`` gives a :class:`~models.classifier.VideoClassifier` (``temporal``: ConvLSTM or frame mean),
    ``kind: frame`` a :class:`~models.classifier.FrameClassifier` (pooled head only). ``modalities: audio`` gives an
    :class:`~models.audio.AudioClassifier` (no picture), ``av`` an :class:`~models.audio.AVClassifier` around the
    classifier of ``kind`` (``audio_encoder``: the audio CNN or the image backbone on the mel picture). The parameter
    count, plain and thop's, is logged at INFO (:func:`model_complexity` on a :data:`PROFILE_SIZE` px input) and
    checked against ``cfg.max_params``.

    Args:
        cfg: the model config.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        InputError: an unknown kind or backbone, an invalid setting, or more parameters than ``cfg.max_params``.
        models.encoder.WeightsUnavailableError: pretrained weights that cannot be had.
    """
    if cfg.kind not in MODEL_KINDS:
        raise InputError(f"unknown model.kind {cfg.kind!r} (choose from {', '.join(MODEL_KINDS)})")
    if cfg.modalities not in MODALITIES:
        raise InputError(f"unknown model.modalities {cfg.modalities!r} (choose from {', '.join(MODALITIES)})")
    if cfg.modalities == "audio":
        branch = _audio_branch(cfg)
        audio = AudioClassifier(branch, fc_hidden=cfg.fc_hidden, dropout=cfg.dropout, logit_scale=cfg.logit_scale,
                                logit_bias=cfg.logit_bias)
        size = model_complexity(audio)
        log.info("model audio (%s): %.2fM parameters (thop %.2fM)", cfg.audio_encoder, size.params / 1e6,
                 size.thop_params / 1e6)
        check_size(size, cfg.max_params)
        return audio
    encoder = Encoder(cfg.backbone, pretrained=cfg.pretrained, weights=cfg.weights)
    model: Classifier
    if cfg.kind == "frame":
        model = FrameClassifier(encoder, fc_hidden=cfg.fc_hidden, dropout=cfg.dropout, logit_scale=cfg.logit_scale,
                                logit_bias=cfg.logit_bias)
    else:
        model = VideoClassifier(
            encoder,
            temporal=cfg.temporal,
            reduce_channels=cfg.reduce_channels,
            hidden=cfg.hidden,
            kernel_size=cfg.kernel_size,
            num_layers=cfg.num_layers,
            fc_hidden=cfg.fc_hidden,
            dropout=cfg.dropout,
            logit_scale=cfg.logit_scale,
            logit_bias=cfg.logit_bias,
            aux_heads=cfg.aux_heads and cfg.modalities == "video",
            motion_hidden=cfg.motion_hidden,
            pixel_hidden=cfg.pixel_hidden,
            landmarks=cfg.landmark_stream,
            landmark_unusual=cfg.landmark_unusual,
        )
    if cfg.modalities == "av":
        model = AVClassifier(model, _audio_branch(cfg), fc_hidden=cfg.fc_hidden, dropout=cfg.dropout,
                             logit_scale=cfg.logit_scale, logit_bias=cfg.logit_bias)
    size = model_complexity(model, frames=2)
    log.info(
        "model %s %s%s: %.2fM parameters (thop %.2fM; encoder %.2fM; cap %.0fM)",
        cfg.kind, cfg.backbone, f" + {cfg.temporal}" if cfg.kind == "video" else "", size.params / 1e6,
        size.thop_params / 1e6, count_parameters(encoder) / 1e6, cfg.max_params / 1e6,
    )
    check_size(size, cfg.max_params)
    return model


def to_device(model: M, device: str | torch.device, amp: bool = False) -> M:
    """Move ``model`` to ``device`` in the memory layout its convolutions run fastest in there: channels-last on the
    CPU (oneDNN) and on CUDA with AMP (tensor cores); the plain layout on CUDA in fp32.

    A classifier turns its frames channels-last to match (:meth:`models.classifier.Classifier._layout`); the outputs
    equal the plain layout's within float rounding. Measured on a 2-core AMD EPYC (AVX2, 2 torch threads): a training
    step of the demo's model (Lite0 + ConvLSTM, 8 clips, T = 8, 128 px) 1.30x faster and its inference 1.23x
    (``bench/train.py``, README, Performance, "CPU memory layout"); the other kinds' training steps 1.26x (audio,
    audio-video) to 1.38x (frame model), the two-stream model's 1.28x.

    Args:
        model: any module (its 4-D weights change layout; nothing else does); anything else with ``to(device)`` (an
            ONNX classifier) is only moved.
        device: where it goes.
        amp: mixed precision is on (only CUDA's layout depends on it).

    Returns:
        ``model`` itself, moved.

    Example:
        >>> m = to_device(nn.Conv2d(3, 8, 3), "cpu")
        >>> m.weight.is_contiguous(memory_format=torch.channels_last)
        True
    """
    device = torch.device(device)
    model.to(device)
    if isinstance(model, nn.Module) and (device.type == "cpu" or (device.type == "cuda" and amp)):
        model.to(memory_format=torch.channels_last)
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[Classifier, Config]:
    """Rebuild the model from a checkpoint's config alone and load its weights strictly, in eval mode.

    The backbone is built with ``pretrained=False`` (the checkpoint holds all weights; nothing is downloaded).

    Args:
        path: a checkpoint written by :func:`dfdetect.core.checkpoint.save_checkpoint`.
        device: where to put the model (in the layout :func:`to_device` picks).

    Returns:
        ``(model, cfg)``: the classifier of the checkpoint's ``model.kind`` in eval mode and the run's config.

    Raises:
        CheckpointError: unreadable file, or state-dict keys/shapes that do not match the model (names the first
            keys).
    """
    ckpt = load_checkpoint(path)
    cfg = config_from_checkpoint(ckpt, path)
    cfg.model = dataclasses.replace(cfg.model, pretrained=False, weights=None)
    model = build_model(cfg.model)
    problem = state_dict_mismatch(model.state_dict(), ckpt["model"])
    if problem:
        raise CheckpointError(f"{path}: weights do not match the model of its config: {problem}")
    model.load_state_dict(ckpt["model"], strict=True)
    to_device(model, device).eval()
    log.debug("loaded %s (%s, epoch %s)", path, cfg.model.backbone, ckpt.get("epoch"))
    return model, cfg
