"""From clip windows to a video score: the test-time views of a clip (:func:`tta_views`; of a face image,
:func:`image_tta_views`), the video score from its clip scores (:func:`aggregate_scores`: the mean, the DFDC
winner's :func:`confident_strategy`, or the mean of the top k windows, :func:`top_k_mean`, the default:
:func:`video_score`), and where a video looks fake
(:func:`fake_segments`: the windows at or above the threshold, merged); a video of several people: each person's
score from its own clips, the video's the highest (:func:`persons_score`).

Pure functions on indices, names and numbers: no model, no video.

Example:
    >>> tta_views([0, 1], 3, 3)  # plain, flipped, then shifted one crop later
    [([0, 1], False), ([0, 1], True), ([1, 2], False)]
    >>> aggregate_scores([0.2, 0.6])
    0.4
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dfdetect.clips.transforms import TTA_VIEWS
from dfdetect.core.config import AGGREGATIONS, ScoreConfig  # the ways to turn clip scores into a video score
from dfdetect.core.schemas import ScoreStatus

TOP_K = ScoreConfig.top_k
"""Clip scores ``topk`` averages by default (:class:`~dfdetect.core.config.ScoreConfig`'s)."""

# DFDC winner's confident strategy (selim_sef), as published for 32 frames per video.
CONFIDENT_HIGH = 0.8
"""A clip scored above this is a confident fake."""
CONFIDENT_LOW = 0.2
"""A clip scored below this is a confident real."""
CONFIDENT_MIN_FRACTION = 11 / 32
"""Confident fakes needed, as a fraction of the scores: the winner's "more than 11 frames" out of the 32 it scored."""
CONFIDENT_FAKE_DIVISOR = 2.5
"""... and more than ``n // 2.5`` of them."""
CONFIDENT_REAL_FRACTION = 0.9
"""Confident reals needed: "more than 90% below 0.2"."""


def tta_views(window: Sequence[int], n_available: int, n_views: int) -> list[tuple[list[int], bool]]:
    """The distinct test-time views of one clip window: ``(crop indices, hflip)``.

    View ``v`` is flipped when ``v`` is odd and shifted by the ``v // 2``-th shift of 0, +1, -1, +2, -2, ... among
    those that keep the window inside ``[0, n_available)``; duplicates are dropped (so fewer views than asked when
    the window cannot move).

    Args:
        window: the clip's crop indices (positions in its sampling window's crops).
        n_available: crops in that sampling window.
        n_views: views wanted (``--tta``, >= 1).

    Returns:
        Up to ``n_views`` pairs ``(crop indices, hflip)``; the first is always ``(window, False)``.

    Raises:
        ValueError: ``n_views`` below 1.

    Example:
        >>> tta_views([0, 1, 2], 4, 4)
        [([0, 1, 2], False), ([0, 1, 2], True), ([1, 2, 3], False), ([1, 2, 3], True)]
        >>> tta_views([0], 1, 4)
        [([0], False), ([0], True)]
    """
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    lo, hi = -min(window), n_available - 1 - max(window)
    shifts = [0] + [s for j in range(1, n_available) for s in (j, -j) if lo <= s <= hi]
    views: list[tuple[list[int], bool]] = []
    for v in range(n_views):
        shift = shifts[(v // 2) % len(shifts)]
        view = ([i + shift for i in window], v % 2 == 1)
        if view not in views:
            views.append(view)
    return views


def image_tta_views(n_views: int) -> list[str]:
    """The test-time views of one face image (a frame model's clip): the first ``n_views`` of
    :data:`dfdetect.clips.transforms.TTA_VIEWS` (all of them when more are asked).

    Raises:
        ValueError: ``n_views`` below 1.

    Example:
        >>> image_tta_views(3), len(image_tta_views(99))
        (['none', 'hflip', 'rotate+'], 6)
    """
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    return list(TTA_VIEWS[:n_views])


def confident_strategy(
    scores: Sequence[float] | np.ndarray,
    high: float = CONFIDENT_HIGH,
    low: float = CONFIDENT_LOW,
    min_fraction: float = CONFIDENT_MIN_FRACTION,
) -> float:
    """The DFDC winner's video score from per-frame/clip scores, with its "11 frames" scaled to ``n`` scores.

    If more than ``min_fraction * n`` (11 of the winner's 32 frames) and more than ``n // 2.5`` scores are above
    ``high``, the mean of those; else if more than 90% are below ``low``, the mean of those; else the plain mean.
    With ``n`` clips instead of 32 frames, a fixed 11 could never be reached (K = 4 clips) or would mean nothing
    (K = 100); scaled, it is 11/32 of the scores, which for ``n >= 2`` the ``n // 2.5`` condition nearly always
    implies, as it did for the winner's 32 frames.

    Args:
        scores: P(fake) per clip (or frame), shape (n,).
        high: above it, a confident fake.
        low: below it, a confident real.
        min_fraction: confident fakes needed, as a fraction of ``n``.

    Returns:
        The video's P(fake).

    Raises:
        ValueError: no scores.

    Example:
        >>> confident_strategy([0.9, 0.95, 0.1, 0.85])  # 3 of 4 confident fakes: their mean
        0.9
        >>> round(confident_strategy([0.1] * 9 + [0.9]), 3)  # 90% low is not "more than 90%": plain mean
        0.18
        >>> round(confident_strategy([0.1] * 19 + [0.7]), 3)  # 95% below 0.2: the mean of those
        0.1
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)  # (n,)
    if s.size == 0:
        raise ValueError("no scores to aggregate")
    n = s.size
    fakes = s > high  # (n,) bool
    n_fake = int(fakes.sum())
    if n_fake > min_fraction * n and n_fake > n // CONFIDENT_FAKE_DIVISOR:
        return float(s[fakes].mean())
    reals = s < low  # (n,) bool
    if int(reals.sum()) > CONFIDENT_REAL_FRACTION * n:
        return float(s[reals].mean())
    return float(s.mean())


def top_k_mean(scores: Sequence[float] | np.ndarray, k: int = TOP_K) -> float:
    """The mean of the ``k`` highest scores (all of them when there are fewer): a short manipulated stretch of a long
    real video is not drowned by the real windows, as it is in the mean (one fake window of 15: the mean moves by
    1/15 of its score, the top-3 mean by 1/3). For a whole fake it is close to the mean; for a real video it is
    higher than the mean (its most suspicious windows), so its threshold is set on real videos too.

    Args:
        scores: P(fake) per clip, shape (n,).
        k: scores averaged (>= 1).

    Raises:
        ValueError: no scores, or ``k`` below 1.

    Example:
        >>> top_k_mean([0.1, 0.9, 0.2, 0.6, 0.1], k=2), top_k_mean([0.3], k=3)
        (0.75, 0.3)
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)  # (n,)
    if s.size == 0:
        raise ValueError("no scores to aggregate")
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    return float(np.sort(s)[::-1][:k].mean())


def verdict(score: float, status: str, threshold: float) -> str:
    """The decision a score stands for: ``fake``/``real`` by the threshold when scored, else ``not scored``.

    Example:
        >>> verdict(0.7, "ok", 0.5), verdict(0.2, "ok", 0.5), verdict(0.5, "no_face", 0.5)
        ('fake', 'real', 'not scored')
    """
    if status != str(ScoreStatus.OK):
        return "not scored"
    return "fake" if score >= threshold else "real"


def fake_segments(times: Sequence[tuple[float, float]], scores: Sequence[float],
                  threshold: float) -> list[tuple[float, float, float]]:
    """Where a video looks fake: windows scored at or above ``threshold``, consecutive ones (in time order) merged.

    Args:
        times: per window ``(start_s, end_s)``, in time order.
        scores: per window P(fake), same length.
        threshold: the verdict's threshold.

    Returns:
        ``(start_s, end_s, peak score)`` per segment, in time order: from the first window's start to the last's end
        of each run of windows at or above the threshold (a run spans the unsampled seconds between its windows).

    Example:
        >>> fake_segments([(0, 1), (4, 5), (8, 9), (12, 13)], [0.2, 0.7, 0.9, 0.1], 0.5)
        [(4, 9, 0.9)]
        >>> fake_segments([(0, 1), (4, 5), (8, 9)], [0.6, 0.1, 0.5], 0.5)
        [(0, 1, 0.6), (8, 9, 0.5)]
    """
    segments: list[tuple[float, float, float]] = []
    previous = False
    for (start, end), score in zip(times, scores):
        above = score >= threshold
        if above and previous:
            a, _, peak = segments[-1]
            segments[-1] = (a, end, max(peak, score))
        elif above:
            segments.append((start, end, score))
        previous = above
    return segments


def aggregate_scores(scores: Sequence[float] | np.ndarray, method: str = "mean", top_k: int = TOP_K) -> float:
    """One score from several: ``"mean"``, ``"confident"`` (:func:`confident_strategy`) or ``"topk"``
    (:func:`top_k_mean`). :func:`video_score` says which scores of a video each one takes.

    Args:
        scores: P(fake) per clip, shape (n,).
        method: one of :data:`AGGREGATIONS`.
        top_k: scores averaged by ``"topk"``.

    Returns:
        The video's P(fake).

    Raises:
        ValueError: an unknown ``method``, or no scores.

    Example:
        >>> aggregate_scores([0.2, 0.6]), aggregate_scores([0.9, 0.9, 0.1], "confident")
        (0.4, 0.9)
        >>> aggregate_scores([0.1, 0.1, 0.1, 0.9], "topk", top_k=2)
        0.5
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {method!r}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)  # (n,)
    if s.size == 0:
        raise ValueError("no scores to aggregate")
    if method == "topk":
        return top_k_mean(s, top_k)
    return float(s.mean()) if method == "mean" else confident_strategy(s)


def video_score(clip_scores: Sequence[float] | np.ndarray, window_scores: Sequence[float] | np.ndarray,
                method: str = "topk", top_k: int = TOP_K) -> float:
    """A video's (or one person's) P(fake), THE rule :class:`~dfdetect.inference.Detector` applies: ``"mean"`` and
    ``"confident"`` over its clip scores, ``"topk"`` (the default, ``score.aggregate``) the mean of its ``top_k``
    highest WINDOW scores (each window's score the mean of its clips: a frame model's window is many one-frame clips,
    and the top k windows, not the top k frames, say where the video is fake).

    ``bench/aggregate.py`` chose the default: on long videos of a person the model never saw, real, wholly fake and
    with a 4 s fake stretch, the top 3 windows scored the whole fakes at least as well as the mean and the partial
    fakes better (README, Scoring API). A video of at most ``top_k`` windows gets the mean of its windows.

    Args:
        clip_scores: P(fake) per clip, shape (n,).
        window_scores: P(fake) per window (the mean of its clips), shape (w,).
        method: one of :data:`AGGREGATIONS`.
        top_k: windows averaged by ``"topk"``.

    Raises:
        ValueError: an unknown ``method``, or no scores.

    Example:
        >>> clips, windows = [0.1, 0.1, 0.9, 0.7, 0.2, 0.2], [0.1, 0.8, 0.2]  # two clips in each of three windows
        >>> video_score(clips, windows, "mean"), video_score(clips, windows, "topk", top_k=1)
        (0.3666666666666667, 0.8)
    """
    return aggregate_scores(window_scores if method == "topk" else clip_scores, method, top_k)


def persons_score(scores: Sequence[float]) -> float:
    """A video's P(fake) from its persons' scores (each from that person's clips and windows, :func:`video_score`): the
    highest. A video with one manipulated person is fake however real the others look; the DFDC winner (selim_sef,
    ``kernel_utils.predict_on_video``) scored every face found in the frames for the same reason.

    Raises:
        ValueError: no scores.

    Example:
        >>> persons_score([0.41, 0.74]), persons_score([0.3])
        (0.74, 0.3)
    """
    if len(scores) == 0:
        raise ValueError("no person scores")
    return float(max(scores))
