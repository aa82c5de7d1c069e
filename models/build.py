"""Build the network from its config, count its parameters, and rebuild a trained one from a checkpoint alone.

Example:
    >>> model = build_model(ModelConfig(backbone="efficientnet-lite0", temporal="mean"))
    >>> model.mean, count_parameters(model) > 3_000_000
    ((0.5, 0.5, 0.5), True)
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch
from torch import nn

from dfdetect.core.checkpoint import CheckpointError, config_from_checkpoint, load_checkpoint, state_dict_mismatch
from dfdetect.core.config import Config, ModelConfig
from dfdetect.core.io import InputError
from models.classifier import VideoClassifier
from models.encoder import Encoder

log = logging.getLogger(__name__)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``).

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def build_model(cfg: ModelConfig) -> VideoClassifier:
    """Build the detector described by ``cfg``, loading backbone weights as configured.

    Logs the parameter count; raises :class:`InputError` when it exceeds ``cfg.max_params`` or a setting is invalid,
    and :class:`models.encoder.WeightsUnavailableError` when pretrained weights cannot be had.

    """
    encoder = Encoder(cfg.backbone, pretrained=cfg.pretrained, weights=cfg.weights)
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
    )
    n_params = count_parameters(model)
    log.info(
        "model %s + %s: %.2fM parameters (encoder %.2fM)",
        cfg.backbone, cfg.temporal, n_params / 1e6, count_parameters(encoder) / 1e6,
    )
    if n_params > cfg.max_params:
        raise InputError(f"model has {n_params:,} parameters, more than model.max_params = {cfg.max_params:,}")
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[VideoClassifier, Config]:
    """Rebuild the model from a checkpoint's config alone and load its weights strictly, in eval mode.

    The backbone is built with ``pretrained=False`` (the checkpoint holds all weights; nothing is downloaded).

    Args:
        path: a checkpoint written by :func:`dfdetect.core.checkpoint.save_checkpoint`.
        device: where to put the model.

    Returns:
        ``(model, cfg)``: the :class:`VideoClassifier` in eval mode and the run's config.

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
    model.to(device).eval()
    log.debug("loaded %s (%s, epoch %s)", path, cfg.model.backbone, ckpt.get("epoch"))
    return model, cfg
