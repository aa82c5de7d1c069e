"""Evaluation plots (ROC curve, score histogram) drawn with matplotlib's Agg canvas and written atomically.

No ``pyplot``: each plot builds its own :class:`matplotlib.figure.Figure`, so nothing depends on a display, a global
backend setting or global figure state (safe in tests and in worker threads).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter
from sklearn.metrics import roc_auc_score, roc_curve

from dfdetect.core.io import write_bytes_atomic


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Render ``fig`` on its own Agg canvas and write the PNG atomically."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def plot_roc(
    y_true: Sequence[int], y_score: Sequence[float], path: str | Path, title: str = "ROC (video level)"
) -> Path:
    """Draw the ROC curve with its AUC (linear axes, and a log-FPR panel for the low false-positive region).

    Args:
        y_true: labels, 1 = fake (both classes needed).
        y_score: P(fake).
        path: output PNG.
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: only one class present.

    Example:
        >>> import tempfile
        >>> png = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], Path(tempfile.mkdtemp()) / "roc.png")
        >>> png.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """

    y = np.asarray(y_true, dtype=np.int64)
    s = np.asarray(y_score, dtype=np.float64)
    if len(np.unique(y)) < 2:
        raise ValueError("a ROC curve needs both real and fake videos")
    fpr, tpr, _ = roc_curve(y, s)
    auc = roc_auc_score(y, s)
    fig = Figure(figsize=(9, 4.2))
    ax_lin, ax_log = fig.subplots(1, 2)
    for ax in (ax_lin, ax_log):
        ax.plot(fpr, tpr, lw=2, label=f"AUC = {auc:.4f} (n = {len(y)}: {int((y == 0).sum())} real, "
                f"{int((y == 1).sum())} fake)")
        ax.set_xlabel("false-positive rate (reals flagged fake)")
        ax.set_ylabel("true-positive rate (fakes caught)")
        ax.grid(alpha=0.3)
    ax_lin.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="chance")
    ax_lin.set_xlim(0, 1)
    ax_lin.set_ylim(0, 1.01)
    ax_lin.legend(loc="lower right", fontsize=8)
    ax_lin.set_title(title)
    # Log FPR: the region that matters when most videos are real (TPR at FPR 1% / 0.1%).
    ax_log.set_xscale("log")
    ax_log.set_xlim(max(1e-3, min(1e-2, 0.5 / max(1, int((y == 0).sum())))), 1)
    ax_log.xaxis.set_major_locator(FixedLocator([1e-3, 1e-2, 1e-1, 1.0]))
    ax_log.xaxis.set_minor_formatter(NullFormatter())
    for x in (1e-3, 1e-2):
        ax_log.axvline(x, color="grey", lw=0.8, ls=":")
    ax_log.set_ylim(0, 1.01)
    ax_log.set_title("low false-positive region (log FPR)")
    return save_figure(fig, path)


def plot_score_histogram(
    y_score: Sequence[float],
    path: str | Path,
    y_true: Sequence[int | None] | None = None,
    bins: int = 20,
    title: str = "Video scores",
) -> Path:
    """Histogram of video scores in [0, 1], split by label when labels are given (``None`` = unlabelled).

    Args:
        y_score: P(fake) per video.
        path: output PNG.
        y_true: optional labels aligned with ``y_score`` (1 = fake, 0 = real, None = unknown).
        bins: number of bins over [0, 1].
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``y_true`` and ``y_score`` of different lengths.

    Example:
        >>> import tempfile
        >>> png = plot_score_histogram([0.1, 0.9, 0.5], Path(tempfile.mkdtemp()) / "hist.png", [0, 1, None])
        >>> png.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """

    s = np.asarray(y_score, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    if y_true is None:
        groups = [("all", s, "tab:blue")]
    else:
        labels = list(y_true)
        if len(labels) != len(s):
            raise ValueError(f"{len(labels)} labels for {len(s)} scores")
        groups = [
            (name, s[[lab == value for lab in labels]], color)
            for name, value, color in (("real", 0, "tab:green"), ("fake", 1, "tab:red"), ("unlabelled", None, "grey"))
        ]
    groups = [g for g in groups if len(g[1])]
    if groups:  # stacked, so overlapping classes stay readable
        ax.hist([g[1] for g in groups], bins=edges, stacked=True, color=[g[2] for g in groups],
                label=[f"{g[0]} (n = {len(g[1])})" for g in groups], edgecolor="white", linewidth=0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(0.5, color="black", lw=1, ls="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel("score = P(fake)")
    ax.set_ylabel("videos")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
