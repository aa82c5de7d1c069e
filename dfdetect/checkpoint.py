"""Checkpoints: the unwrapped state dict, the resolved config and plain values, loaded safely and strictly.

A checkpoint is ``{"model": state_dict, "config": config_to_dict(cfg), **extra}`` where everything is a plain type
(dict, list, tuple, str, int, float, bool, None) or a tensor, so ``torch.load(weights_only=True)`` reads it without
unpickling arbitrary objects. :func:`load_model` rebuilds the network from the checkpoint's config alone and loads the
weights with ``strict=True``: a renamed or missing key is an error, never a silently random layer (a DFDC winner's
user saw every prediction stuck at 0.3-0.4 because of ``strict=False``).

Example:
    >>> save_checkpoint("runs/a/best.pt", model, cfg, epoch=3, val_auc=0.91)  # doctest: +SKIP
    >>> model, cfg = load_model("runs/a/best.pt")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dfdetect.config import Config, config_from_dict, config_to_dict
from dfdetect.io import InputError, write_bytes_atomic

log = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool, type(None))  # exact types: np.float64 subclasses float but weights_only refuses it


class CheckpointError(InputError):
    """A checkpoint that cannot be used: missing, unreadable, or not matching the model its config describes."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare module under DataParallel/DistributedDataParallel (``.module``) and ``torch.compile`` (``._orig_mod``),
    so saved keys never carry a ``module.`` or ``_orig_mod.`` prefix.

    Example:
        >>> net = nn.Linear(2, 1)
        >>> unwrap_model(nn.DataParallel(net)) is net
        True
    """
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _check_plain(obj: Any, where: str) -> None:
    """Raise TypeError for anything ``torch.load(weights_only=True)`` would refuse (numpy values, objects...)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if type(k) not in (str, int):
                raise TypeError(f"checkpoint key {where}[{k!r}] must be a str or int, got {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif type(obj) not in _PLAIN and not isinstance(obj, torch.Tensor):
        raise TypeError(f"checkpoint value {where} must be a plain type or tensor, got {type(obj).__name__}")


def save_checkpoint(path: str | Path, model: nn.Module, cfg: Config, **extra: Any) -> None:
    """Write ``{"model": unwrapped state dict (CPU), "config": plain config, **extra}`` atomically.

    Args:
        path: destination file (``.pt``).
        model: the network (wrappers are removed).
        cfg: the run's resolved config; saved as plain values, so the checkpoint alone rebuilds the model.
        **extra: plain values or tensors (epoch, metrics, optimiser/scheduler state, RNG state...).

    Raises:
        TypeError: an extra value that ``weights_only`` loading would reject (checked before writing anything).

    Example:
        >>> save_checkpoint(tmp / "last.pt", model, cfg, epoch=1, optimizer=opt.state_dict())  # doctest: +SKIP
    """
    reserved = {"model", "config"} & set(extra)
    if reserved:
        raise ValueError(f"extra keys {sorted(reserved)} are reserved")
    state = {k: v.detach().cpu() for k, v in unwrap_model(model).state_dict().items()}
    ckpt = {"model": state, "config": config_to_dict(cfg), **extra}
    _check_plain(ckpt, "ckpt")
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    write_bytes_atomic(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Raises:
        CheckpointError: missing file, unreadable content, or no ``model``/``config`` entry.

    Example:
        >>> ckpt = load_checkpoint("runs/a/last.pt")  # doctest: +SKIP
        >>> ckpt["epoch"], sorted(ckpt["config"])  # doctest: +SKIP
        (3, ['data', 'model', 'train'])
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupted file, not a torch file, or a pickled object weights_only refuses
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {msg}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path} is not a dfdetect checkpoint (needs 'model' and 'config' entries)")
    return ckpt


def config_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> Config:
    """The :class:`Config` saved in a checkpoint (unknown keys raise :class:`CheckpointError`).

    Example:
        >>> cfg = config_from_checkpoint(load_checkpoint("runs/a/best.pt"))  # doctest: +SKIP
    """
    try:
        return config_from_dict(ckpt["config"])
    except InputError as e:
        raise CheckpointError(f"{path}: bad config in checkpoint: {e}") from None


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Config]:
    """Rebuild the model from a checkpoint's config alone and load its weights strictly, in eval mode.

    The backbone is built with ``pretrained=False`` (the checkpoint holds all weights; nothing is downloaded).

    Args:
        path: a checkpoint written by :func:`save_checkpoint`.
        device: where to put the model.

    Returns:
        ``(model, cfg)``: the :class:`models.VideoDetector` in eval mode and the run's config.

    Raises:
        CheckpointError: unreadable file, or state-dict keys/shapes that do not match the model (lists the first keys).

    Example:
        >>> model, cfg = load_model("runs/a/best.pt")  # doctest: +SKIP
        >>> model.training, cfg.data.frames  # doctest: +SKIP
        (False, 10)
    """
    from models import build_model

    ckpt = load_checkpoint(path)
    cfg = config_from_checkpoint(ckpt, path)
    cfg.model.pretrained = False
    cfg.model.weights = None
    model = build_model(cfg.model)
    state = ckpt["model"]
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) e.g. {', '.join(unexpected[:3])}")
        raise CheckpointError(f"{path}: weights do not match the model of its config: {'; '.join(parts)}")
    bad = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        k = bad[0]
        raise CheckpointError(
            f"{path}: {len(bad)} weight shape(s) differ, e.g. {k}: {tuple(state[k].shape)} in the checkpoint vs "
            f"{tuple(expected[k].shape)} in the model"
        )
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    log.debug("loaded %s (%s, epoch %s)", path, cfg.model.backbone, ckpt.get("epoch"))
    return model, cfg


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; asking for CUDA without one is an :class:`InputError`.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)
