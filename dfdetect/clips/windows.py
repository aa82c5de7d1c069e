"""Which crops of a video form a clip: fixed, evenly spread windows (validation and evaluation) or one random window
(training). A window is a list of ``T`` indices into a video's crops, consecutive in frame order.

Example:
    >>> clip_windows(15, 10, 2)
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]
"""

from __future__ import annotations

import numpy as np

from frame_extraction.sampling import evenly_spaced


def clip_windows(n_available: int, t: int, k: int) -> list[list[int]]:
    """Fixed, evenly spread windows of ``t`` consecutive crops (the validation/evaluation clips of one video).

    The ``k`` window starts are spread evenly from the first to the last possible start
    (:func:`frame_extraction.sampling.evenly_spaced`); windows that would repeat (fewer than ``k`` distinct starts)
    are dropped. With fewer crops than ``t`` there is one window, padded by repeating the last crop.

    Args:
        n_available: number of crops of the video (>= 1).
        t: timesteps per clip (>= 1).
        k: number of windows wanted (>= 1).

    Returns:
        A list of at most ``k`` windows, each a list of ``t`` crop indices in ``[0, n_available)``.

    Raises:
        ValueError: an argument below 1.

    Example:
        >>> clip_windows(100, 3, 4)
        [[0, 1, 2], [32, 33, 34], [65, 66, 67], [97, 98, 99]]
        >>> clip_windows(3, 5, 4)
        [[0, 1, 2, 2, 2]]
    """
    if n_available < 1 or t < 1 or k < 1:
        raise ValueError(f"need n_available, t and k >= 1, got {n_available}, {t}, {k}")
    if n_available < t:
        return [list(range(n_available)) + [n_available - 1] * (t - n_available)]
    starts = evenly_spaced(n_available - t, k)  # (<= k,) distinct window starts
    return [list(range(int(s), int(s) + t)) for s in starts]


def random_window(n_available: int, t: int, rng: np.random.Generator) -> list[int]:
    """A training window: ``t`` consecutive crops from a uniform random start (padded like :func:`clip_windows`).

    Args:
        n_available: number of crops of the video (>= 1).
        t: timesteps per clip (>= 1).
        rng: draws the start (one ``integers`` call, none when the video is shorter than ``t``).

    Returns:
        ``t`` crop indices in ``[0, n_available)``.

    Example:
        >>> random_window(15, 10, np.random.default_rng(0))
        [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    """
    if n_available < t:
        return clip_windows(n_available, t, 1)[0]
    start = int(rng.integers(0, n_available - t + 1))
    return list(range(start, start + t))


def stream_window(clip: list[int], n_available: int, frames: int) -> list[int]:
    """The crops the landmark stream reads for a clip: ``frames`` consecutive crop indices of its window, centred on
    the clip and shifted inside ``[0, n_available)`` (``model.landmark_frames``: a T = 8 clip is judged on the motion
    of the window's 15 sampled frames); the clip itself when that is no longer (``frames`` at most its span, or a
    window no longer than the clip).

    Args:
        clip: the clip's crop indices in its window (consecutive, as :func:`clip_windows` gives them).
        n_available: number of crops of the window.
        frames: ``model.landmark_frames`` (0: the clip itself).

    Returns:
        Crop indices in ``[0, n_available)``, in order.

    Example:
        >>> stream_window([0, 1, 2, 3, 4, 5, 6, 7], 15, 15)
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
        >>> stream_window([10, 11, 12], 20, 7), stream_window([10, 11, 12], 12 + 1, 7)
        ([8, 9, 10, 11, 12, 13, 14], [6, 7, 8, 9, 10, 11, 12])
        >>> stream_window([3, 4, 5], 15, 0)
        [3, 4, 5]
    """
    lo, hi = min(clip), max(clip)
    n = min(frames, n_available)
    if n <= hi - lo + 1:
        return list(clip)
    start = min(max(lo - (n - (hi - lo + 1)) // 2, 0), n_available - n)
    return list(range(start, start + n))
