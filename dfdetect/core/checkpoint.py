"""Checkpoints: the unwrapped state dict, the resolved config and plain values, loaded safely and strictly.

A checkpoint is ``{"model": state_dict, "config": config_to_dict(cfg), **extra}`` where everything is a plain type
(dict, list, tuple, str, int, float, bool, None) or a tensor, so ``torch.load(weights_only=True)`` reads it without
unpickling arbitrary objects. :func:`models.build.load_model` rebuilds the network from the checkpoint's config alone
and loads the weights after :func:`state_dict_mismatch` and with ``strict=True``: a renamed or missing key is an
error, never a silently random layer (a DFDC winner's user saw every prediction stuck at 0.3-0.4 because of
``strict=False``).

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "last.pt"
    >>> save_checkpoint(path, nn.Linear(2, 1), Config(), epoch=3)
    >>> ckpt = load_checkpoint(path)
    >>> ckpt["epoch"], sorted(ckpt["config"]), config_from_checkpoint(ckpt).data.sample_frames
    (3, ['data', 'model', 'train'], 15)
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dfdetect.core.config import Config, config_from_dict, config_to_dict
from dfdetect.core.io import InputError, write_bytes_atomic

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


_BEFORE_IT_EXISTED = {
    ("model", "aux_heads"): False,  # the localisation heads
    ("model", "motion_hidden"): 0,  # the motion stream
    ("model", "pixel_hidden"): 0,  # the pixel stream
    ("model", "landmarks"): False,  # the landmark stream
    ("model", "landmark_frames"): 0,  # the landmark stream read the clip's own frames
    ("model", "landmark_unusual"): False,  # the landmark stream had no one-class cue
    ("data", "box_smoothing"): 0.0,  # crops cut from per-frame boxes
}
"""What a checkpoint written before a setting existed was trained with: ``(section, key) -> value``."""


def config_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> Config:
    """The :class:`Config` saved in a checkpoint (unknown keys raise :class:`CheckpointError`).

    """
    raw = ckpt["config"]
    for (section, key), value in _BEFORE_IT_EXISTED.items():
        if isinstance(raw, dict) and isinstance(raw.get(section), dict) and key not in raw[section]:
            raw = {**raw, section: {**raw[section], key: value}}
    try:
        return config_from_dict(raw)
    except InputError as e:
        raise CheckpointError(f"{path}: bad config in checkpoint: {e}") from None


def state_dict_mismatch(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> str | None:
    """THE strict key and shape check: what differs between a module's state dict and one to load, or ``None``.

    Used for checkpoints and for backbone weights files alike, so a renamed or missing key is always an error that
    names it, never a silently random layer.

    Example:
        >>> state_dict_mismatch(nn.Linear(2, 1).state_dict(), {"weight": torch.zeros(1, 2)})
        '1 missing key(s) e.g. bias'
        >>> state_dict_mismatch(nn.Linear(2, 1).state_dict(), {"weight": torch.zeros(1, 3), "bias": torch.zeros(1)})
        '1 weight shape(s) differ, e.g. weight: (1, 3) given vs (1, 2) expected'
    """
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) e.g. {', '.join(unexpected[:3])}")
        return "; ".join(parts)
    bad = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        k = bad[0]
        return (f"{len(bad)} weight shape(s) differ, e.g. {k}: {tuple(state[k].shape)} given vs "
                f"{tuple(expected[k].shape)} expected")
    return None
