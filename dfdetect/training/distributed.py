"""Training on several processes with ``torchrun``: DDP, each rank's share of every global batch, rank-0 outputs.

``torchrun --nproc_per_node N train.py ...`` (multi-node: torchrun's ``--nnodes``, ``--node_rank``,
``--rdzv_endpoint``) sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init_distributed` reads them, picks
``nccl`` for CUDA and ``gloo`` for CPU by itself, and gives each process its GPU (``cuda:LOCAL_RANK``). Every rank
draws the same seeded epoch plan (:func:`dfdetect.data.epoch_plan`: the per-epoch real/fake balance and every random
choice), and :func:`dfdetect.data.rank_batches` gives rank r its contiguous part of each GLOBAL batch of
``train.batch_size`` clips, with a loss weight so that DDP's gradient mean equals the mean over the global batch
(:func:`dfdetect.training.step.train_step`). So N processes train what one process with the same global batch
trains, up to floating-point order, dropout masks (each rank draws its own, seeded by ``(seed, epoch, rank)``) and
BatchNorm statistics (per rank, as in any DDP without SyncBatchNorm). Rank 0 alone logs, writes the checkpoints, the
CSVs and ``run.json``; validation clips are split over the ranks and their scores gathered.

Without ``torchrun`` (``WORLD_SIZE`` unset or 1) nothing here changes a run.

Example:
    >>> ctx = DistContext()
    >>> ctx.world, ctx.main, ctx.enabled
    (1, True, False)
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from torch import nn

from dfdetect.core.io import InputError
from dfdetect.core.runtime import resolve_device

log = logging.getLogger(__name__)

# Rank 0 validates its share, writes checkpoints and may calibrate while the others wait: a generous timeout.
_TIMEOUT = datetime.timedelta(hours=2)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands among the ``torchrun`` processes (one process: rank 0 of 1).

    Attributes:
        rank: global rank.
        world: number of processes.
        local_rank: rank on this machine (its GPU index).
        local_world: processes on this machine (they share its CPU cores).
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs and writes."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise InputError(f"environment variable {name} must be an integer, got {os.environ[name]!r}") from None


def context_from_env() -> DistContext:
    """The :class:`DistContext` ``torchrun`` describes in the environment (rank 0 of 1 without it)."""
    world = _env_int("WORLD_SIZE", 1)
    return DistContext(rank=_env_int("RANK", 0), world=world, local_rank=_env_int("LOCAL_RANK", 0),
                       local_world=_env_int("LOCAL_WORLD_SIZE", world))


def init_distributed(device_name: str) -> tuple[DistContext, torch.device]:
    """Join the process group when ``torchrun`` started this process; the training device of this rank.

    Args:
        device_name: ``train.device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    Returns:
        The context and the device: ``cuda:LOCAL_RANK`` under torchrun with CUDA (backend ``nccl``), else the
        resolved device (backend ``gloo`` on CPU).

    Raises:
        InputError: CUDA asked for and absent, or more processes on a machine than it has GPUs.
    """
    ctx = context_from_env()
    device = resolve_device(device_name)
    if not ctx.enabled:
        return ctx, device
    if device.type == "cuda":
        if ctx.local_rank >= torch.cuda.device_count():
            raise InputError(f"local rank {ctx.local_rank} but only {torch.cuda.device_count()} GPU(s): use "
                             "--nproc_per_node <= the GPUs, or --device cpu")
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend, timeout=_TIMEOUT)
    log.info("rank %d of %d (local %d), backend %s, device %s", ctx.rank, ctx.world, ctx.local_rank, backend, device)
    return ctx, device


def shutdown(ctx: DistContext) -> None:
    """Wait for every rank, then leave the process group (a no-op for one process)."""
    if ctx.enabled and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (a no-op for one process)."""
    if ctx.enabled:
        torch_dist.barrier()


def wrap_model(model: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """``DistributedDataParallel`` around ``model`` under torchrun (rank 0's weights broadcast), else ``model``."""
    if not ctx.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def sum_over_ranks(values: Sequence[float], ctx: DistContext) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (float64; ``values`` itself for one process)."""
    if not ctx.enabled:
        return [float(v) for v in values]
    t = torch.tensor(values, dtype=torch.float64)  # (K,)
    if torch_dist.get_backend() == "nccl":  # nccl reduces GPU tensors only
        t = t.cuda()
    torch_dist.all_reduce(t)
    return t.cpu().tolist()


def gather_by_index(n: int, mine: Sequence[int], values: np.ndarray, ctx: DistContext) -> np.ndarray:
    """Reassemble ``(n,)`` float64 values every rank computed a part of (``mine``: the positions of ``values``).

    Raises:
        RuntimeError: a position no rank computed.
    """
    if not ctx.enabled:
        out = np.full(n, np.nan)
        out[list(mine)] = values
        return out
    parts: list[Any] = [None] * ctx.world
    torch_dist.all_gather_object(parts, (list(mine), np.asarray(values, np.float64).tolist()))
    out = np.full(n, np.nan)
    seen = np.zeros(n, bool)
    for idx, vals in parts:
        out[idx] = vals
        seen[idx] = True
    if not seen.all():
        raise RuntimeError(f"{int((~seen).sum())} of {n} validation clips were scored by no rank")
    return out


def epoch_seed(seed: int, epoch: int, ctx: DistContext) -> None:
    """Under torchrun, seed torch's RNG (dropout) with ``(seed, epoch, rank)`` at an epoch's start, so a resumed
    run draws what an uninterrupted one drew; one process keeps its single stream (saved in ``last.pt``)."""
    if ctx.enabled:
        torch.manual_seed(int(np.random.SeedSequence([int(seed), int(epoch), ctx.rank]).generate_state(1)[0]))
