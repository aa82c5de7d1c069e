"""The landmark stream: a linear classifier on how a clip's face landmarks move, fused with the clip model's logit.

LRNet (Sun et al., "Improving the Efficiency and Robustness of Deepfakes Detection through Precise Geometric Features",
CVPR 2021) classifies the trajectories of facial landmarks. Here a clip's 468 Face Mesh points are aligned frame by
frame on the upper face oval (the head's motion removed) and summarised in :data:`N_FEATURES` statistics of how the
mouth, the eyes, the nose and the inner face move against the head (:func:`dfdetect.clips.landmarks.clip_features`).
This module holds what is learnt from them, as buffers of the classifier (a checkpoint stays tensors, loaded with
``weights_only=True`` and ``strict=True``):

- a standardised logistic regression (``mean``, ``scale``, ``weight``, ``bias``), fitted after the network's training
  on the training reals and on-the-fly time-only fakes (:mod:`dfdetect.training.landmarks`);
- the fusion (``reals``): the mean and spread of the network's logit and of this logit over the validation reals,
  and the mean of the larger of the two over them (the offset). Each logit is expressed as standard deviations above
  those reals, the larger is taken, less the offset, and mapped back to the network's scale
  (:meth:`LandmarkHead.fuse`): a clip whose motion is more unusual than its pixels scores by its motion; the offset
  keeps the reals' mean fused logit at the network's own (the larger of two cues is higher on average), so the
  network's threshold keeps its meaning. Measured as a probe (bench/landmark_probe.py), this fusion lifted
  the frame mean's left-out time-only AUC from 0.50 to 0.71 (README, "Landmark trajectories").

Until it is fitted (``fitted`` False: a run stopped before its end, or a recipe without time-only generators)
:meth:`LandmarkHead.fuse` returns the network's logit unchanged. A clip without a mesh in every frame has NaN features,
and keeps the network's logit.

Example:
    >>> head = LandmarkHead()
    >>> head.fuse(torch.tensor([0.5]), torch.tensor([9.0])).tolist()  # not fitted: the network's logit
    [0.5]
    >>> head.set_fit(torch.zeros(N_FEATURES), torch.ones(N_FEATURES), torch.ones(N_FEATURES), torch.tensor(0.0),
    ...              torch.tensor([0.0, 1.0, 0.0, 2.0, 0.5]))
    >>> head.fuse(torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.0, 6.0, float("nan")])).tolist()
    [0.0, 2.5, 0.5]
"""

from __future__ import annotations

import torch
from torch import nn

N_FEATURES = 22
"""Statistics per clip (:func:`dfdetect.clips.landmarks.trajectory_features`): 4 per region (mouth, eyes, nose, inner
face) and 2 per opening (mouth, left eye, right eye)."""
MIN_FRAMES = 3
"""A clip needs this many frames for a second difference (jerk)."""


class LandmarkHead(nn.Module):
    """Logistic regression on a clip's landmark-trajectory statistics, and its fusion with the clip model's logit.

    Buffers (all float32 but ``fitted``): ``mean``, ``scale`` (F,) standardise the features; ``weight`` (F,) and
    ``bias`` () give the logit; ``reals`` (5,) = the network's logit mean and standard deviation, this head's logit
    mean and standard deviation over the validation reals, and the offset (the mean of the larger standardised logit
    over them); ``fitted`` () bool.

    Args:
        n_features: F, :data:`N_FEATURES`.
    """

    def __init__(self, n_features: int = N_FEATURES) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.register_buffer("weight", torch.zeros(n_features))
        self.register_buffer("bias", torch.zeros(()))
        self.register_buffer("reals", torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) trajectory statistics -> (B,) logits (NaN where a feature is NaN)."""
        z = (features.to(self.mean) - self.mean) / self.scale  # (B, F)
        return z @ self.weight + self.bias  # (B,)

    def fuse(self, logits: torch.Tensor, landmark_logits: torch.Tensor) -> torch.Tensor:
        """The fused logit: the larger of the two logits in standard deviations above the validation reals, less
        the offset, on the network's scale.

        Args:
            logits: (B,) the network's raw logits (before ``logit_scale``/``logit_bias``).
            landmark_logits: (B,) :meth:`forward`'s logits of the same clips (NaN: no landmarks, the network's logit
                is kept as it is).

        Returns:
            (B,) logits on the network's scale (``logits`` unchanged while the head is not fitted).
        """
        if not bool(self.fitted):
            return logits
        net_mean, net_sd, lm_mean, lm_sd, offset = self.reals.to(logits).unbind()
        z_net = (logits - net_mean) / net_sd  # (B,)
        z_lm = (landmark_logits.to(logits) - lm_mean) / lm_sd  # (B,)
        fused = net_mean + net_sd * (torch.maximum(z_net, z_lm) - offset)
        return torch.where(torch.isnan(z_lm), logits, fused)

    def set_fit(self, mean: torch.Tensor, scale: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                reals: torch.Tensor) -> None:
        """Store a fitted classifier and its fusion (shapes as the buffers; marks the head fitted).

        Raises:
            ValueError: a shape that differs from the buffer's, a scale or spread that is not positive, or a NaN.
        """
        values = {"mean": mean, "scale": scale, "weight": weight, "bias": bias, "reals": reals}
        for name, value in values.items():
            value = torch.as_tensor(value, dtype=torch.float32)
            if value.shape != getattr(self, name).shape or not torch.isfinite(value).all():
                raise ValueError(f"landmark head {name}: expected finite {tuple(getattr(self, name).shape)}, got "
                                 f"{tuple(value.shape)}")
            values[name] = value
        if (values["scale"] <= 0).any() or (values["reals"][[1, 3]] <= 0).any():
            raise ValueError("landmark head: scales and spreads must be positive")
        for name, value in values.items():
            getattr(self, name).copy_(value)
        self.fitted.fill_(True)
