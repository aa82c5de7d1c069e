"""Calibration after training: Platt scaling of the logit fitted on the validation clips (Platt, 1999).

A detector trained on few people ranks an unseen person's fakes above their reals long before its scores mean what
they say (the demo's held-out reals and fakes all scored below 0.5 at first). Two numbers fitted on the validation
videos, ``P(fake) = sigmoid(a * logit + b)``, fix the threshold and the confidence without touching the ranking (the
AUC is unchanged for ``a > 0``); they live in the checkpoint's config (``model.logit_scale``, ``model.logit_bias``).

Example:
    >>> logits = np.array([-3.0, -2.5, -2.0, -1.0, -0.5, 0.0])  # every clip "real" at 0.5, fakes higher
    >>> scale, bias = fit_platt(logits, np.array([0, 0, 0, 1, 1, 1]))
    >>> bool(scale > 0), bool((1 / (1 + np.exp(-(scale * logits[3:] + bias))) > 0.5).all())
    (True, True)
"""

from __future__ import annotations

import numpy as np
import torch


def fit_platt(logits: np.ndarray, labels: np.ndarray, steps: int = 200, l2: float = 1e-3) -> tuple[float, float]:
    """``(a, b)`` minimising the mean BCE of ``sigmoid(a * logit + b)`` against ``labels`` (LBFGS, float64).

    A small L2 pull of ``(a, b)`` towards ``(1, 0)`` keeps the fit finite when the classes are perfectly separated
    (a handful of validation videos often are).

    Args:
        logits: raw logits (N,).
        labels: 0 real / 1 fake (N,), both classes present.
        steps: LBFGS iterations at most.
        l2: weight of the pull towards no change.

    Returns:
        ``(scale, bias)`` as floats.

    Raises:
        ValueError: fewer than two classes, or shapes that differ.
    """
    z = torch.as_tensor(np.asarray(logits, np.float64).reshape(-1))
    y = torch.as_tensor(np.asarray(labels, np.float64).reshape(-1))
    if z.shape != y.shape or len(set(y.tolist())) < 2:
        raise ValueError("Platt scaling needs logits and labels of one length, with both classes")
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    prior = torch.tensor([1.0, 0.0], dtype=torch.float64)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(params[0] * z + params[1], y)
        loss = loss + l2 * ((params - prior) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    scale, bias = (float(v) for v in params.detach())
    return scale, bias
