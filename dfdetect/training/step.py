"""THE training step and THE clip prediction, shared by the training loop, validation and ``bench/train.py``.

Example:
    >>> net = nn.Sequential(nn.Flatten(1), nn.Linear(2 * 3 * 1 * 1, 1), nn.Flatten(0))  # (B, T, C, H, W) -> (B,)
    >>> batch = {"clip": torch.zeros(4, 2, 3, 1, 1), "label": torch.ones(4)}
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.5)
    >>> scaler = torch.amp.GradScaler("cuda", enabled=False)
    >>> with torch.no_grad():
    ...     _ = net[1].bias.fill_(0.0)
    >>> loss = train_step(net, batch, opt, scaler, nn.BCEWithLogitsLoss(), torch.device("cpu"), None)
    >>> round(loss.item(), 4), round(net[1].bias.item(), 4)  # log(2); the bias moves by lr * (1 - sigmoid(0))
    (0.6931, 0.25)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from dfdetect.core.runtime import autocast

AUX_WEIGHT = 0.5
"""Weight of the video and audio heads' losses beside the fused head's in an ``av`` model (each branch keeps learning
on its own, so it can score alone: a video without audio gets the video head)."""


def model_inputs(model: nn.Module, batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    """What ``model`` is called with, by its ``modalities``: ``(clip,)``, ``(mel,)`` or ``(clip, mel, has_audio)``.

    Example:
        >>> batch = {"clip": torch.zeros(2, 1, 3, 4, 4), "mel": torch.zeros(2, 64, 81)}
        >>> [tuple(t.shape) for t in model_inputs(nn.Identity(), batch, torch.device("cpu"))]
        [(2, 1, 3, 4, 4)]
    """
    modalities = getattr(model, "modalities", "video")
    if modalities == "audio":
        return (batch["mel"].to(device, non_blocking=True),)  # (B, M, L)
    clip = batch["clip"].to(device, non_blocking=True)  # (B, T, C, H, W)
    if modalities == "av":
        has_audio = batch.get("has_audio")
        return clip, batch["mel"].to(device, non_blocking=True), (None if has_audio is None else has_audio.to(device))
    return (clip,)


def batch_loss(criterion: nn.Module, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of (B,) logits, or of an ``av`` model's (B, 3) ``[fused, video, audio]``: the fused head's plus
    :data:`AUX_WEIGHT` times each branch head's."""
    logits = logits.float()
    if logits.ndim == 1:
        return criterion(logits, y)
    return criterion(logits[:, 0], y) + AUX_WEIGHT * (criterion(logits[:, 1], y) + criterion(logits[:, 2], y))


def localisation_loss(mask_logits: torch.Tensor, frame_logits: torch.Tensor, batch: dict[str, torch.Tensor],
                      weights: tuple[float, float], device: torch.device) -> torch.Tensor:
    """The dense supervision of ``model.aux_heads`` (Face X-ray, Li et al. CVPR 2020; LAA-Net, Nguyen et al. CVPR
    2024): ``mask_weight`` x per-cell BCE between the predicted map and the blending mask area-averaged to it, plus
    ``frame_weight`` x per-frame BCE of "this frame was manipulated", over the clips whose manipulation is known
    (``aux_known``: reals and twins; a fake from disk is left out).

    Args:
        mask_logits: (B, T, h, w).
        frame_logits: (B, T).
        batch: ``mask`` (B, T, m, m), ``frame_target`` (B, T), ``aux_known`` (B,) from
            :class:`~dfdetect.data.ClipDataset` (``aux_targets``).
        weights: ``(train.mask_weight, train.frame_weight)``.
        device: where the logits are.

    Returns:
        A 0-d float32 loss (0 when no clip of the batch is known).

    Example:
        >>> b = {"mask": torch.zeros(2, 3, 4, 4), "frame_target": torch.zeros(2, 3), "aux_known": torch.tensor([1, 0])}
        >>> round(localisation_loss(torch.zeros(2, 3, 2, 2), torch.zeros(2, 3), b, (1.0, 1.0), torch.device("cpu"))
        ...       .item(), 4)  # log 2 + log 2
        1.3863
    """
    known = batch["aux_known"].to(device).bool()  # (B,)
    if not bool(known.any()):
        return mask_logits.new_zeros((), dtype=torch.float32)
    h, w = mask_logits.shape[-2:]
    target = F.adaptive_avg_pool2d(batch["mask"].to(device).float(), (h, w))  # (B, T, h, w)
    bce = F.binary_cross_entropy_with_logits
    loss = weights[0] * bce(mask_logits.float()[known], target[known])
    return loss + weights[1] * bce(frame_logits.float()[known], batch["frame_target"].to(device).float()[known])


def train_step(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    criterion: nn.Module,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
    loss_weight: float = 1.0,
    aux_weights: tuple[float, float] = (0.0, 0.0),
) -> torch.Tensor:
    """One optimiser step on a batch of clips: forward (autocast when ``amp_dtype``), loss in fp32, scaled backward.

    Args:
        model: clips ``(B, T, C, H, W)`` -> logits ``(B,)``; in train mode (the caller sets it). An audio or ``av``
            model takes what :func:`model_inputs` gives it.
        batch: ``clip`` float ``(B, T, C, H, W)`` and ``label`` float ``(B,)`` (1 = fake), as
            :class:`~dfdetect.data.ClipDataset` batches them; ``mel`` ``(B, M, L)`` (and optionally ``has_audio``)
            for audio and ``av`` models.
        optimizer: steps the trainable parameters.
        scaler: a GradScaler (disabled unless fp16: it then passes the loss and the step through unchanged).
        criterion: the loss on (logits, labels), e.g. ``BCEWithLogitsLoss``.
        device: where the model is.
        amp_dtype: the autocast dtype, ``None`` for fp32.
        loss_weight: multiplies the loss before backward (distributed training: this rank's share of the global
            batch, :func:`dfdetect.data.rank_batches`); 1 for one process.
        aux_weights: ``(train.mask_weight, train.frame_weight)``: with a positive one and the batch's ``mask``
            targets, the model is called with ``aux=True`` and :func:`localisation_loss` is added.

    Returns:
        The batch's mean loss (unweighted, the clip loss plus the localisation loss), a detached 0-d float32 tensor.
    """
    inputs = model_inputs(model, batch, device)  # (clip,), (mel,) or (clip, mel, has_audio)
    y = batch["label"].to(device)  # (B,)
    dense = max(aux_weights) > 0 and "mask" in batch
    optimizer.zero_grad(set_to_none=True)
    with autocast(device, amp_dtype):
        out = model(*inputs, aux=True) if dense else model(*inputs)  # (B,) or (B, 3); with aux three outputs
    logits = out[0] if dense else out
    loss = batch_loss(criterion, logits, y)
    if dense:
        loss = loss + localisation_loss(out[1], out[2], batch, aux_weights, device)
    scaler.scale(loss * loss_weight if loss_weight != 1.0 else loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.detach()


@torch.no_grad()
def refresh_batchnorm(model: nn.Module, mels: Iterable[torch.Tensor], device: torch.device) -> int:
    """Recompute the running statistics of the audio branch's trainable BatchNorm layers from the log-mels scoring
    will see (PreciseBN: Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021; pycls, Detectron2).

    Why: a BatchNorm's running statistics are a moving average over training batches, which (1) saw other inputs
    than scoring (half the clips start with silence, ``data.lead_jitter``: it doubles the dB variance) and (2) were
    computed with weights that kept moving. On a small set at a high rate the eval-mode model then answers
    differently from the train-mode one: an audio model that learnt the vocoder answered "real" to everything in
    eval mode on one CPU and not on another (issue 25). Called after each training epoch; a model without an audio
    branch, or a branch without BatchNorm, is left as it is.

    Args:
        model: an ``audio`` or ``av`` model (``model.audio`` is its branch); other models are left alone.
        mels: batches of log-mels ``(B, M, L)`` in dB, computed as scoring computes them (no jitter).
        device: where the model is.

    Returns:
        The number of clips the statistics were computed on (0 when nothing was refreshed).

    Example:
        >>> from models.audio import AudioClassifier, AudioCNN
        >>> m = AudioClassifier(AudioCNN(channels=2), fc_hidden=4)
        >>> refresh_batchnorm(m, [torch.full((4, 64, 32), -40.0)], torch.device("cpu")), m.audio.norm.running_mean
        (4, tensor([-40.]))
    """
    branch = getattr(model, "audio", None)
    if getattr(model, "modalities", "video") == "video" or not isinstance(branch, nn.Module):
        return 0
    was_training = branch.training
    branch.train()  # a frozen module stays in eval mode (Encoder.train): its statistics are kept
    norms = [m for m in branch.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
    if not norms:
        branch.train(was_training)
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches, not a moving one
    n = 0
    for mel in mels:
        branch(mel.to(device))  # (B, M, L) -> updates the statistics
        n += len(mel)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    branch.train(was_training)
    return n


@torch.no_grad()
def predict_batch(
    model: nn.Module, batch: dict[str, torch.Tensor], device: torch.device, amp_dtype: torch.dtype | None = None,
    head: int = 0,
) -> torch.Tensor:
    """The logits of a batch of clips, without gradients (the caller picks train or eval mode).

    Args:
        model: clips ``(B, T, C, H, W)`` -> logits ``(B,)``.
        batch: ``clip`` float ``(B, T, C, H, W)``.
        device: where the model is.
        amp_dtype: the autocast dtype, ``None`` for fp32.
        head: for an ``av`` model, the column of ``[fused, video, audio]`` returned.

    Returns:
        float32 logits ``(B,)`` on ``device``.
    """
    with autocast(device, amp_dtype):
        logits = model(*model_inputs(model, batch, device))  # (B,) or (B, 3)
    return (logits[:, head] if logits.ndim == 2 else logits).float()


def predict_logits(
    model: nn.Module, loader: DataLoader, device: torch.device, amp_dtype: torch.dtype | None = None
) -> np.ndarray:
    """The raw logit of every clip of ``loader``, in order (float64 (N,)); puts the model in eval mode."""
    model.eval()
    logits = [predict_batch(model, batch, device, amp_dtype).cpu() for batch in loader]  # [(B,)]
    return torch.cat(logits).numpy().astype(np.float64) if logits else np.zeros(0)


def predict_clips(
    model: nn.Module, loader: DataLoader, device: torch.device, amp_dtype: torch.dtype | None = None
) -> np.ndarray:
    """sigmoid(logit) of every clip of ``loader``, in order; puts the model in eval mode.

    Args:
        model: clips ``(B, T, C, H, W)`` -> logits ``(B,)``.
        loader: batches with a ``clip`` entry.
        device: where the model is.
        amp_dtype: the autocast dtype, ``None`` for fp32.

    Returns:
        float64 scores in [0, 1], one per clip (empty for an empty loader).

    Example:
        >>> net = nn.Sequential(nn.Flatten(1), nn.Linear(2, 1), nn.Flatten(0))  # (B, T, C, H, W) -> (B,)
        >>> with torch.no_grad():
        ...     _ = net[1].weight.fill_(1.0), net[1].bias.fill_(0.0)
        >>> clips = [{"clip": torch.full((1, 2, 1, 1), v)} for v in (0.0, 0.5)]  # T = 2, C = 1, H = W = 1
        >>> predict_clips(net, DataLoader(clips, batch_size=2), torch.device("cpu")).round(4)
        array([0.5   , 0.7311])
    """
    return 1.0 / (1.0 + np.exp(-predict_logits(model, loader, device, amp_dtype)))  # sigmoid, (N,)
