"""Which frames to take from a video.

- ``random`` (:func:`sample_indices`, the default ``--mode``): one clip of ``n`` frames ``stride`` apart from a random
  start in the first half of the video: how training data is sampled.
- ``linspace`` (``--mode linspace``): ``n`` frames spread evenly over the whole video, first and last included.
- A video too short for ``n`` frames at the stride (a slideshow, a 1 fps clip) is sampled at the largest smaller stride
  at which they fit (:func:`fitted_stride`; 1 at least), in preprocessing and scoring alike, so its frames are not
  halved by a stride meant for 30 fps video.
- Evaluation (:func:`eval_windows`): ``K`` windows of ``n`` frames at the training stride, their starts spread evenly
  over the video, so each window looks like one training clip (NOT linspace: frames spread over a whole video are far
  apart and look like jump cuts to a model trained at a small stride).

Frame indices count the frames a full sequential decode outputs, from 0 (see :mod:`frame_extraction.decode`). Every
random draw comes from :func:`video_rng`, i.e. from ``(seed, video name)`` only.
"""

from __future__ import annotations

import numpy as np

from dfdetect.core.config import DataConfig
from dfdetect.core.seeding import item_rng

MODES = ("random", "linspace")
"""Sampling modes of :func:`sample_indices` (``--mode`` of ``python -m frame_extraction``)."""

_DATA = DataConfig()  # THE defaults: frames per video and stride


def sample_indices(
    num_frames: int,
    n: int = _DATA.sample_frames,
    stride: int = _DATA.stride,
    mode: str = "random",
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Pick the frame indices to decode.

    ``random``: ``n`` frames ``stride`` apart from a start drawn uniformly from
    ``[0, min(num_frames // 2, num_frames - 1 - (n - 1) * stride)]``, so the clip starts no later than the middle of the
    video and always fits whole when the video is long enough. A video too short for the clip at ``stride`` is
    sampled at :func:`fitted_stride` (the largest smaller stride at which the clip fits, at least 1); one with fewer
    than ``n`` frames gives all of them.

    ``linspace``: ``n`` indices spread evenly over the whole video, first and last frames included (``stride`` and
    ``rng`` are ignored); fewer than ``n`` when the video has fewer frames.

    Args:
        num_frames: frames in the video (``<= 0`` gives an empty result).
        n: frames wanted (>= 1); default ``DataConfig().sample_frames``.
        stride: gap between consecutive frames in ``random`` mode (>= 1); default ``DataConfig().stride``.
        mode: one of :data:`MODES`.
        rng: a generator, a seed, or None (fresh entropy); only ``random`` mode draws from it.

    Returns:
        Sorted, unique int64 indices, all in ``[0, num_frames)``.

    Raises:
        ValueError: ``n`` or ``stride`` below 1, or an unknown ``mode``.

    Example:
        >>> sample_indices(100, n=3, stride=2, mode="random", rng=0).tolist()
        [43, 45, 47]
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
    stride = fitted_stride(num_frames, n, stride)
    max_start = min(num_frames // 2, num_frames - 1 - (n - 1) * stride)
    start = int(np.random.default_rng(rng).integers(0, max_start + 1)) if max_start > 0 else 0
    idx = start + stride * np.arange(n, dtype=np.int64)  # (n,)
    return idx[idx < num_frames]


def fitted_stride(num_frames: int, n: int, stride: int) -> int:
    """The stride at which ``n`` frames fit in a video of ``num_frames``: ``stride`` when they do, else the largest
    smaller one at which they do, 1 at least (a 15-frame slideshow at 1 fps gives its 15 frames, not 8 at stride 2).

    Example:
        >>> fitted_stride(300, 15, 2), fitted_stride(29, 15, 2), fitted_stride(20, 15, 2), fitted_stride(8, 15, 2)
        (2, 2, 1, 1)
    """
    if n <= 1 or num_frames <= 0:
        return max(1, int(stride))
    return max(1, min(int(stride), (int(num_frames) - 1) // (int(n) - 1)))


def video_rng(seed: int, video_name: str) -> np.random.Generator:
    """The generator for one video: :func:`dfdetect.core.seeding.item_rng` of ``(seed, video_name)``.

    A video gets the same frames whatever the order of the batch or the other videos in it.

    Example:
        >>> a = sample_indices(300, rng=video_rng(0, "a.mp4"))
        >>> bool((a == sample_indices(300, rng=video_rng(0, "a.mp4"))).all())
        True
    """
    return item_rng(int(seed), video_name)


def evenly_spaced(last: int, k: int) -> np.ndarray:
    """``k`` integers spread evenly over ``[0, last]`` (both ends included), rounded half up, duplicates removed.

    The one rule for "spread over the video": linspace sampling, evaluation windows and validation clip windows.
    floor(x + 0.5) rather than np.round: banker's rounding maps 1.5 and 2.5 both to 2 and loses a point.

    Example:
        >>> evenly_spaced(9, 4).tolist()
        [0, 3, 6, 9]
    """
    return np.unique(np.floor(np.linspace(0, max(int(last), 0), max(int(k), 1)) + 0.5).astype(np.int64))


def coverage_clips(num_frames: int, fps: float, every_s: float, minimum: int, maximum: int) -> int:
    """How many evaluation windows cover a video: one every ``every_s`` seconds of it, at least ``minimum`` (the
    checkpoint's ``train.val_clips``), at most ``maximum`` (a longer video gets windows further apart).

    Args:
        num_frames: frames in the video.
        fps: its frame rate (frames per second; <= 0: unknown, ``minimum`` windows).
        every_s: seconds between window starts (``score.window_every``).
        minimum, maximum: the bounds (``maximum`` below ``minimum`` counts as ``minimum``).

    Returns:
        K for :func:`eval_windows`.

    Example:
        >>> coverage_clips(1440, 24.0, 4.0, 1, 64), coverage_clips(72, 24.0, 4.0, 1, 64)  # 60 s, 3 s
        (15, 1)
        >>> coverage_clips(86400, 24.0, 4.0, 1, 64), coverage_clips(1440, 0.0, 4.0, 2, 64)  # 1 h; unknown fps
        (64, 2)
    """
    if fps <= 0 or every_s <= 0 or num_frames <= 0:
        return max(1, int(minimum))
    wanted = int(np.ceil(num_frames / fps / every_s - 1e-9))
    return max(1, int(minimum), min(int(maximum), wanted))


def eval_windows(num_frames: int, clips: int, n: int, stride: int) -> list[list[int]]:
    """Frame indices of ``clips`` evaluation windows, each ``n`` frames ``stride`` apart, spread over the video.

    Window starts are evenly spaced from 0 to the last start at which a whole window fits; a video too short for one
    window at ``stride`` is sampled at :func:`fitted_stride` (as in preprocessing), and one with fewer than ``n``
    frames gives a single window of all its frames. Identical windows are merged.

    Args:
        num_frames: frames in the video.
        clips: windows wanted (K >= 1).
        n: frames per window (``cfg.data.sample_frames``).
        stride: gap between frames of a window (``cfg.data.stride``), as in training.

    Returns:
        Up to ``clips`` lists of increasing frame indices in ``[0, num_frames)``.

    Raises:
        ValueError: ``clips``, ``n`` or ``stride`` below 1.

    Example:
        >>> eval_windows(72, clips=2, n=4, stride=2)
        [[0, 2, 4, 6], [65, 67, 69, 71]]
        >>> eval_windows(5, clips=3, n=4, stride=2), eval_windows(3, clips=3, n=4, stride=2)
        ([[0, 1, 2, 3], [1, 2, 3, 4]], [[0, 1, 2]])
    """
    if clips < 1 or n < 1 or stride < 1:
        raise ValueError(f"clips, n and stride must be >= 1, got {clips}, {n}, {stride}")
    if num_frames <= 0:
        return []
    stride = fitted_stride(num_frames, n, stride)
    last_start = max(0, num_frames - 1 - (n - 1) * stride)
    starts = evenly_spaced(last_start, clips)  # (<= clips,) distinct starts
    windows = []
    for s in starts.tolist():
        idx = s + stride * np.arange(n, dtype=np.int64)  # (n,)
        windows.append(idx[idx < num_frames].tolist())
    return windows
