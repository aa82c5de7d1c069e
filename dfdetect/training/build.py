"""Build what training runs on, or rebuild it from ``last.pt``: the model (frozen parts, precision, memory format),
Adam, the learning-rate schedule, the GradScaler, and the bookkeeping a resumed run continues from.

A resumed run restores every piece a fresh run creates, plus torch's global RNG (dropout), so ``--resume`` gives the
same weights as an uninterrupted run: :func:`training_extras` is what ``last.pt`` holds for
:func:`restore_training`.

Example:
    >>> from dfdetect.core.config import load_config
    >>> cfg = load_config(None, {"model.backbone": "efficientnet-lite0", "model.pretrained": False,
    ...                          "model.reduce_channels": 8, "model.hidden": 8, "model.fc_hidden": 8,
    ...                          "train.freeze_encoder": True})
    >>> state = build_training(cfg, torch.device("cpu"))
    >>> state.start_epoch, state.amp_dtype, type(state.scheduler).__name__, state.scaler.is_enabled()
    (0, None, 'CosineAnnealingLR', False)
    >>> any(p.requires_grad for p in state.model.encoder.parameters())
    False
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint
from dfdetect.core.config import Config, config_to_dict
from dfdetect.core.io import InputError
from dfdetect.core.runtime import amp_dtype as resolve_amp_dtype
from models.build import build_model, to_device

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.pt"
"""The resumable checkpoint of a run folder, rewritten every epoch."""
BEST_CHECKPOINT = "best.pt"
"""The best epoch's weights (validation AUC, then log loss)."""
# Config keys that may differ between a run and its --resume: they change where/how fast it runs, not its result.
RESUME_FREE_KEYS = frozenset({("train", "device"), ("data", "workers"), ("train", "epochs")})


@dataclass
class TrainingState:
    """Everything an epoch updates, and where the run stands.

    Attributes:
        model: the network, on the device (train mode is set per epoch).
        optimizer: Adam over the parameters that are not frozen.
        scheduler: cosine annealing over ``train.epochs``, or ``None``.
        scaler: a GradScaler, enabled only for fp16 (bf16 and fp32 need no loss scaling).
        criterion: BCE-with-logits on the single logit.
        amp_dtype: the autocast dtype, ``None`` for fp32 (always on CPU).
        start_epoch: the first epoch still to run (0, or the epochs ``last.pt`` holds).
        best_key: :func:`~dfdetect.training.loop.selection_key` of the best epoch so far.
        best_epoch: the best epoch so far (from 1), ``None`` before the first.
        history: one ``metrics.csv`` row (a dict) per finished epoch.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    amp_dtype: torch.dtype | None
    start_epoch: int = 0
    best_key: tuple[float, float] | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def _config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """``"section.key: A in the run vs B now"`` for every key that differs outside :data:`RESUME_FREE_KEYS`."""
    diffs = []
    for section in sorted(set(a) | set(b)):
        sa, sb = a.get(section, {}), b.get(section, {})
        for key in sorted(set(sa) | set(sb)):
            if (section, key) not in RESUME_FREE_KEYS and sa.get(key) != sb.get(key):
                diffs.append(f"{section}.{key}: {sa.get(key)!r} in the run vs {sb.get(key)!r} now")
    return diffs


def resume_checkpoint(out: str | Path, cfg: Config, resume: bool) -> dict[str, Any] | None:
    """The ``last.pt`` of the run folder ``out`` to continue from, or ``None`` for a fresh run.

    Args:
        out: the run folder.
        cfg: the resolved config of this call.
        resume: continue an existing run (``--resume``); without a ``last.pt`` the run starts fresh.

    Returns:
        The checkpoint (CPU tensors), or ``None``.

    Raises:
        InputError: ``out`` holds a run and ``resume`` is off, or the run's config differs from ``cfg`` in a key
            that changes the result (anything but :data:`RESUME_FREE_KEYS`). CheckpointError (an InputError): an
            unreadable ``last.pt``.

    Example:
        >>> import tempfile
        >>> resume_checkpoint(tempfile.mkdtemp(), Config(), resume=False) is None
        True
    """
    out = Path(out)
    last_path = out / LAST_CHECKPOINT
    if not last_path.exists():
        if resume:
            log.info("--resume: no %s yet, starting a new run", last_path)
        return None
    if not resume:
        raise InputError(f"{out} already holds a run ({LAST_CHECKPOINT}): use --resume to continue it or another --out")
    ckpt = load_checkpoint(last_path)
    diffs = _config_diff(config_to_dict(config_from_checkpoint(ckpt, last_path)), config_to_dict(cfg))
    if diffs:
        raise InputError(f"--resume with a different config ({len(diffs)} change(s)): {diffs[0]}")
    return ckpt


def build_training(cfg: Config, device: torch.device, resume_ckpt: dict[str, Any] | None = None) -> TrainingState:
    """Build the model, freeze what ``train.freeze_*`` says, pick the precision, make Adam, the schedule and the
    GradScaler; with ``resume_ckpt``, restore all of them and the RNG state (:func:`restore_training`).

    Seeds torch's global RNG with ``train.seed`` first: the same seed gives the same initial weights, and dropout
    continues from that stream.

    Args:
        cfg: the resolved config (``model``, ``train.freeze_encoder|freeze_blocks|lr|weight_decay|scheduler|epochs|
            amp|seed``).
        device: where to train.
        resume_ckpt: a ``last.pt`` from :func:`resume_checkpoint`, or ``None``.

    Returns:
        The training state, at epoch 0 or where the checkpoint stopped.

    Raises:
        models.WeightsUnavailableError: pretrained backbone weights that cannot be had (fresh runs only).
    """
    torch.manual_seed(cfg.train.seed)  # model initialisation; dropout continues from this stream
    # A resumed run loads every weight from last.pt: no ImageNet weights to fetch (B0's may be unreachable offline).
    model = build_model(dataclasses.replace(cfg.model, pretrained=False) if resume_ckpt is not None else cfg.model)
    if cfg.train.freeze_encoder:
        model.freeze_encoder(None)
    elif cfg.train.freeze_blocks > 0:
        model.freeze_encoder(cfg.train.freeze_blocks)
    amp_dtype = resolve_amp_dtype(device, cfg.train.amp)
    to_device(model, device, amp=cfg.train.amp)  # channels-last on the CPU and with AMP: faster convolutions
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(cfg.train.epochs, 1))
        if cfg.train.scheduler == "cosine"
        else None
    )
    state = TrainingState(
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16),
        criterion=nn.BCEWithLogitsLoss(),
        amp_dtype=amp_dtype,
    )
    if resume_ckpt is not None:
        restore_training(state, resume_ckpt, cfg, device)
    return state


def restore_training(state: TrainingState, ckpt: dict[str, Any], cfg: Config, device: torch.device) -> None:
    """Load a ``last.pt`` into a freshly built state: weights (strict), optimiser, schedule, scaler, RNG, history.

    Args:
        state: from :func:`build_training` with the run's config.
        ckpt: the checkpoint, holding :func:`training_extras`.
        cfg: the config of this call (a larger ``train.epochs`` extends the cosine schedule).
        device: the training device (the CUDA RNG is restored only on CUDA).
    """
    state.model.load_state_dict(ckpt["model"], strict=True)
    state.optimizer.load_state_dict(ckpt["optimizer"])
    if state.scheduler is not None and ckpt.get("scheduler") is not None:
        state.scheduler.load_state_dict(ckpt["scheduler"])
        state.scheduler.T_max = max(cfg.train.epochs, 1)  # allows extending a run with more --epochs
    if ckpt.get("scaler"):
        state.scaler.load_state_dict(ckpt["scaler"])
    torch.set_rng_state(ckpt["torch_rng"])
    if device.type == "cuda" and ckpt.get("cuda_rng"):
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    state.start_epoch = int(ckpt["epoch"])
    state.best_key = tuple(ckpt["best_key"]) if ckpt.get("best_key") is not None else None
    state.best_epoch = ckpt.get("best_epoch")
    state.history = list(ckpt.get("history", []))


def training_extras(state: TrainingState, device: torch.device) -> dict[str, Any]:
    """What ``last.pt`` holds beyond the weights and config, for :func:`restore_training` (plain values, tensors).

    Args:
        state: the state after an epoch.
        device: the training device (the CUDA RNG is saved only on CUDA).

    Returns:
        ``optimizer``, ``scheduler``, ``scaler``, ``torch_rng``, ``cuda_rng``, ``best_key``, ``best_epoch``,
        ``history``.
    """
    return {
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
        "scaler": state.scaler.state_dict() if state.scaler.is_enabled() else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
        "best_key": list(state.best_key) if state.best_key is not None else None,
        "best_epoch": state.best_epoch,
        "history": state.history,
    }
