"""Which frames to take from a video: a random clip of ``n`` frames at a fixed stride (training), or ``n`` frames spread
evenly over the whole video (evaluation).

Frame indices count the frames a full sequential decode outputs, from 0 (see :mod:`frame_extraction.decode`).
"""

from __future__ import annotations

import zlib

import numpy as np

MODES = ("random", "linspace")


def sample_indices(
    num_frames: int,
    n: int = 15,
    stride: int = 2,
    mode: str = "random",
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Pick the frame indices to decode.

    ``random``: ``n`` frames ``stride`` apart from a start drawn uniformly from
    ``[0, min(num_frames // 2, num_frames - 1 - (n - 1) * stride)]``, so the clip starts no later than the middle of the
    video and always fits whole when the video is long enough. A video too short for the whole clip starts at 0 and
    yields fewer than ``n`` indices.

    ``linspace``: ``n`` indices spread evenly over the whole video, first and last frames included (``stride`` and
    ``rng`` are ignored); fewer than ``n`` when the video has fewer frames.

    Args:
        num_frames: frames in the video (``<= 0`` gives an empty result).
        n: frames wanted (>= 1).
        stride: gap between consecutive frames in ``random`` mode (>= 1).
        mode: ``"random"`` or ``"linspace"``.
        rng: a generator, a seed, or None (fresh entropy); only ``random`` mode draws from it.

    Returns:
        Sorted, unique int64 indices, all in ``[0, num_frames)``.

    Example:
        >>> sample_indices(100, n=3, stride=2, mode="random", rng=0).tolist()  # doctest: +SKIP
        [42, 44, 46]
        >>> sample_indices(100, n=5, mode="linspace").tolist()
        [0, 25, 50, 74, 99]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    num_frames = int(num_frames)
    if num_frames <= 0:
        return np.empty(0, dtype=np.int64)
    if mode == "linspace":
        return evenly_spaced(num_frames - 1, n)
    max_start = min(num_frames // 2, num_frames - 1 - (n - 1) * stride)
    start = int(np.random.default_rng(rng).integers(0, max_start + 1)) if max_start > 0 else 0
    idx = start + stride * np.arange(n, dtype=np.int64)
    return idx[idx < num_frames]


def video_rng(seed: int, video_name: str) -> np.random.Generator:
    """The generator for one video, derived from ``(seed, video_name)`` only.

    A video gets the same frames whatever the order of the batch or the other videos in it.

    Example:
        >>> a = sample_indices(300, rng=video_rng(0, "a.mp4"))
        >>> bool((a == sample_indices(300, rng=video_rng(0, "a.mp4"))).all())
        True
    """
    return np.random.default_rng([int(seed), zlib.crc32(video_name.encode("utf-8"))])


def evenly_spaced(last: int, k: int) -> np.ndarray:
    """``k`` integers spread evenly over ``[0, last]`` (both ends included), rounded half up, duplicates removed.

    The one rule for "spread over the video": linspace sampling, evaluation windows and validation clip windows.
    floor(x + 0.5) rather than np.round: banker's rounding maps 1.5 and 2.5 both to 2 and loses a point.

    Example:
        >>> evenly_spaced(9, 4).tolist()
        [0, 3, 6, 9]
    """
    return np.unique(np.floor(np.linspace(0, max(int(last), 0), max(int(k), 1)) + 0.5).astype(np.int64))
