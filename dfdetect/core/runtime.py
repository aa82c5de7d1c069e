"""The torch runtime every stage shares: which device, how many CPU threads, mixed precision, and stage timings.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> timings = {}
    >>> with timed(timings, "decode"):
    ...     pass
    >>> list(timings)
    ['decode']
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import torch

from dfdetect.core.io import InputError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; asking for CUDA without one is an :class:`InputError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def set_cpu_threads(workers: int, processes: int = 1) -> int:
    """Cap torch threads so loader workers + torch threads never exceed the cores (oversubscription slows a shared
    CPU 5-10x); a lower setting made by the caller (``torch.set_num_threads``, ``OMP_NUM_THREADS``) is kept.

    Args:
        workers: this process's loader workers.
        processes: training processes sharing this machine's cores (``torchrun --nproc_per_node``).

    Returns:
        The torch thread count now in force.
    """
    n = max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) // max(1, processes) - workers))
    torch.set_num_threads(n)
    return n


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 where supported (no loss scaling needed), else fp16 with a GradScaler; None on CPU or when disabled."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision when ``dtype`` is set (CUDA), nothing otherwise."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


@contextlib.contextmanager
def timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the block's wall time (seconds) to ``timings[stage]``; a no-op when ``timings`` is None."""
    if timings is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start
