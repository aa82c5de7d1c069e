"""The torch runtime every stage shares: which device, how many CPU threads, mixed precision, stage timings, and the
description of the machine that trained figures depend on (:func:`machine_info`).

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
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
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


def _cpu_model() -> str:
    """The CPU's marketing name from ``/proc/cpuinfo`` (Linux), else what :mod:`platform` knows, else ``"unknown"``."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _allocator() -> str:
    """``tcmalloc``/``jemalloc`` when that allocator is mapped into this process (``LD_PRELOAD``), else ``system``."""
    try:
        maps = Path("/proc/self/maps").read_text(errors="replace")
    except OSError:
        maps = os.environ.get("LD_PRELOAD", "")  # no /proc (macOS): what was asked for, not checked
    for name in ("tcmalloc", "jemalloc"):
        if name in maps:
            return name
    return "system"


def machine_info() -> dict[str, Any]:
    """What this process's CPU figures depend on, for a run's record (``summary.json``, the model card).

    Training on a CPU is reproducible for one machine, seed and torch thread count; another instruction set (AVX2 vs
    AVX-512, Intel vs AMD) makes oneDNN/MKL reduce in another order, and a few hundred steps turn that rounding into
    other weights and other figures. The allocator only changes speed; it is recorded because the README's timings
    assume tcmalloc.

    Returns:
        ``{"cpu_model": str, "cpu_capability": str, "cpu_count": int, "platform": str, "allocator": str,
        "torch_threads": int, "torch": str, "numpy": str, "python": str}``: ``cpu_capability`` is the kernel set torch
        dispatches to (``torch.backends.cpu.get_cpu_capability()``: ``"AVX512"``, ``"AVX2"``, ``"DEFAULT"``...),
        ``torch_threads`` the intra-op thread count now in force, ``allocator`` ``"tcmalloc"``, ``"jemalloc"`` or
        ``"system"``.
    """
    return {
        "cpu_model": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count() or 1,
        "platform": platform.platform(),
        "allocator": _allocator(),
        "torch_threads": torch.get_num_threads(),
        "torch": str(torch.__version__),  # a TorchVersion (a str subclass): plain for JSON
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
