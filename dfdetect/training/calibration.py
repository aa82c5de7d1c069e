"""Calibration after training: temperature scaling of the logit fitted on the validation clips (Guo et al., "On
Calibration of Modern Neural Networks", ICML 2017), never sharper than the trained model.

One number fitted on the validation videos, ``P(fake) = sigmoid(logit / T)``, makes the confidence mean what it says
without touching the ranking (the AUC is unchanged) or the 0.5 threshold the balanced real/fake training set. It lives
in the checkpoint's config as ``model.logit_scale = 1 / T``.

Why temperature only, and only softer (``T >= 1``): the validation set of a detector trained on few people is one or
two more people. Fitted on them, a free temperature or a Platt scale and bias (Platt, 1999; this project's earlier
choice) learn how separable THOSE people are: on the demo, Platt scaling fitted on the validation man multiplied the
logit by 3.2 and shifted it by -1.3, and the held-out woman's log loss went from 0.694 (raw) to 1.33 (her misses made
confident). Softening a model that is overconfident on unseen validation people transfers; sharpening does not.

Example:
    >>> logits = np.array([-4.0, -3.0, 4.0, 3.0, 5.0, -5.0])
    >>> labels = np.array([1, 0, 0, 1, 1, 0])  # confident and often wrong: a higher temperature
    >>> scale = fit_temperature(logits, labels)
    >>> 0 < scale < 1
    True
    >>> fit_temperature(np.array([-0.2, -0.1, 0.1, 0.2]), np.array([0, 0, 1, 1]))  # under-confident: left as it is
    1.0
"""

from __future__ import annotations

import numpy as np
import torch


def fit_temperature(logits: np.ndarray, labels: np.ndarray, steps: int = 200, max_scale: float = 1.0) -> float:
    """The logit scale ``1 / T`` minimising the mean BCE of ``sigmoid(logit / T)`` against ``labels``, at most
    ``max_scale`` (LBFGS on ``log T``, float64).

    Args:
        logits: raw logits (N,).
        labels: 0 real / 1 fake (N,), both classes present.
        steps: LBFGS iterations at most.
        max_scale: the largest scale returned (1: never sharper than the trained model; ``inf``: the free fit).

    Returns:
        ``1 / T`` as a float in ``(0, max_scale]``.

    Raises:
        ValueError: fewer than two classes, or shapes that differ.
    """
    z = torch.as_tensor(np.asarray(logits, np.float64).reshape(-1))
    y = torch.as_tensor(np.asarray(labels, np.float64).reshape(-1))
    if z.shape != y.shape or len(set(y.tolist())) < 2:
        raise ValueError("temperature scaling needs logits and labels of one length, with both classes")
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)  # T = 1 to start
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        # log T is bounded so that perfectly separated validation clips (T -> 0) keep a finite fit
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z * torch.exp(-log_t.clamp(-5, 5)), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(min(max_scale, float(torch.exp(-log_t.detach().clamp(-5, 5)))))
