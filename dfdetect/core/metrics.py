"""Video-level metrics from scikit-learn: ROC AUC (the main one), log loss, accuracy, EER, TPR at low FPR, F1.

Example:
    >>> m = compute_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(m["auc"], 2), m["n_fake"]
    (0.75, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score, roc_curve

from dfdetect.core.io import format_table

# The order metrics are printed in (and saved to metrics.json / metrics.csv).
METRIC_KEYS = (
    "auc", "log_loss", "accuracy", "eer", "tpr_at_fpr_1e-2", "tpr_at_fpr_1e-3", "f1", "acc_real", "acc_fake",
    "n", "n_real", "n_fake",
)


def tpr_at_fpr(y_true: np.ndarray, y_score: np.ndarray, max_fpr: float) -> float:
    """Highest true-positive rate reachable with a false-positive rate of at most ``max_fpr`` (NaN with one class).

    Conservative by construction: no interpolation between ROC points, so with few reals (e.g. 50) a 0.1% FPR
    means "no real video flagged at all".
    """
    if len(np.unique(y_true)) < 2:
        return math.nan
    fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def equal_error_rate(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Error rate where the false-positive rate equals the false-negative rate (linear interpolation on the ROC)."""
    if len(np.unique(y_true)) < 2:
        return math.nan
    fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # increasing along the curve: from -1 (fpr 0, fnr 1) to +1
    i = int(np.searchsorted(diff, 0.0))
    if i == 0:
        return float(fpr[0])
    if i >= len(diff):
        return float(fpr[-1])
    # Interpolate between points i-1 (diff < 0) and i (diff >= 0).
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(fpr[i - 1] + w * (fpr[i] - fpr[i - 1]))


def compute_metrics(y_true: Sequence[int], y_score: Sequence[float], threshold: float = 0.5) -> dict[str, float]:
    """All video-level metrics for binary labels (1 = fake) and scores P(fake).

    Metrics that need both classes (AUC, EER, TPR at FPR) are NaN when only one class is present.

    Args:
        y_true: labels in {0, 1}.
        y_score: scores in [0, 1].
        threshold: decision threshold for accuracy, F1 and per-class accuracy.

    Returns:
        A dict with the keys of :data:`METRIC_KEYS` (counts as ints, the rest as floats).
    """
    y = np.asarray(y_true, dtype=np.int64)
    s = np.asarray(y_score, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"y_true and y_score must be 1-D and the same length, got {y.shape} and {s.shape}")
    if y.size == 0:
        raise ValueError("no scores to evaluate")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    pred = (s >= threshold).astype(np.int64)
    two_classes = len(np.unique(y)) == 2
    real, fake = y == 0, y == 1
    return {
        "auc": float(roc_auc_score(y, s)) if two_classes else math.nan,
        # Clipped as in the DFDC scoring so one confident mistake is costly but finite.
        "log_loss": float(log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "accuracy": float(accuracy_score(y, pred)),
        "eer": equal_error_rate(y, s),
        "tpr_at_fpr_1e-2": tpr_at_fpr(y, s, 1e-2),
        "tpr_at_fpr_1e-3": tpr_at_fpr(y, s, 1e-3),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "acc_real": float((pred[real] == 0).mean()) if real.any() else math.nan,
        "acc_fake": float((pred[fake] == 1).mean()) if fake.any() else math.nan,
        "n": int(y.size),
        "n_real": int(real.sum()),
        "n_fake": int(fake.sum()),
    }


def metrics_by_method(y_true: Sequence[int], y_score: Sequence[float], methods: Sequence[str | None],
                      threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """The metrics of each manipulation method: that method's fakes against ALL the reals (FF++'s per-method AUC).

    Args:
        y_true: labels in {0, 1}.
        y_score: scores in [0, 1].
        methods: per input, the fake's method (ignored for reals; a fake without one counts as ``"unknown"``).
        threshold: as :func:`compute_metrics`.

    Returns:
        ``{method: compute_metrics(...)}``, methods sorted by name; ``{}`` when no fake names a method.

    Example:
        >>> by = metrics_by_method([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ["", "", "sbi", "resample"])
        >>> {k: round(v["auc"], 2) for k, v in by.items()}
        {'resample': 1.0, 'sbi': 0.5}
    """
    y = np.asarray(y_true, dtype=np.int64)
    s = np.asarray(y_score, dtype=np.float64)
    m = np.asarray([str(x) if x else "unknown" for x in methods], dtype=object)
    if not (len(y) == len(s) == len(m)):
        raise ValueError(f"y_true, y_score and methods differ in length: {len(y)}, {len(s)}, {len(m)}")
    named = sorted(set(m[y == 1]))
    if named in ([], ["unknown"]):
        return {}
    return {g: compute_metrics(y[(y == 0) | (m == g)], s[(y == 0) | (m == g)], threshold) for g in named}


def format_metrics(metrics: dict[str, float]) -> str:
    """A two-column table of the metrics, for logs and the terminal.

    Example:
        >>> print(format_metrics({"auc": 0.75, "n": 4}))
        metric  value
        auc     0.7500
        n       4
    """
    rows = [["metric", "value"]]
    rows += [[k, str(metrics[k]) if isinstance(metrics[k], int) else f"{metrics[k]:.4f}"] for k in METRIC_KEYS
             if k in metrics]
    return format_table(rows)
