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

- with ``unusual`` (``model.landmark_unusual``), a third cue learnt from the training reals alone: how far a clip's
  standardised statistics lie from theirs (Mahalanobis distance under a Ledoit-Wolf covariance; ``centre``,
  ``precision``; ``distance``: its mean and spread over the validation reals). The logistic regression learns the
  direction the training fakes take (their faces move MORE than real ones); a clip whose motion is unusual the other
  way (frozen eyes, a mouth that moves too little) scores below the reals on it but far from them on this cue. A
  model of the reals alone generalises to kinds of fake never seen (OC-FakeDect, Khalid and Woo, CVPR Workshops
  2020); measured first as a probe (``bench/landmark_probe.py``, probe ``linear+unusual``).

Until it is fitted (``fitted`` False: a run stopped before its end, or a recipe without time-only generators)
:meth:`LandmarkHead.fuse` returns the network's logit unchanged. A clip without a mesh in every frame has NaN features,
and keeps the network's logit.

Example:
    >>> f = N_FEATURES
    >>> head = LandmarkHead()
    >>> head.fuse(torch.tensor([0.5]), torch.ones(1, f)).tolist()  # not fitted: the network's logit
    [0.5]
    >>> head.set_fit(torch.zeros(f), torch.ones(f), torch.eye(f)[0], torch.tensor(0.0),  # logit: the first feature
    ...              torch.tensor([0.0, 1.0, 0.0, 2.0, 0.5]))
    >>> clips = torch.stack([torch.zeros(f), 6 * torch.eye(f)[0], torch.full((f,), float("nan"))])
    >>> head.fuse(torch.tensor([0.5, 0.5, 0.5]), clips).tolist()  # the stream's logits 0, 6 and NaN
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
    """Logistic regression on a clip's landmark-trajectory statistics, its one-class distance from the reals, and
    their fusion with the clip model's logit.

    Buffers (all float32 but ``fitted``): ``mean``, ``scale`` (F,) standardise the features; ``weight`` (F,) and
    ``bias`` () give the logit; ``reals`` (5,) = the network's logit mean and standard deviation, this head's logit
    mean and standard deviation over the validation reals, and the offset (the mean of the largest standardised cue
    over them); ``fitted`` () bool. With ``unusual``: ``centre`` (F,) and ``precision`` (F, F), the training reals'
    mean and inverse covariance in standardised units, and ``distance`` (2,), the Mahalanobis distance's mean and
    standard deviation over the validation reals.

    Args:
        n_features: F, :data:`N_FEATURES`.
        unusual: also score the distance from the reals (``model.landmark_unusual``).
    """

    def __init__(self, n_features: int = N_FEATURES, unusual: bool = False) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.register_buffer("weight", torch.zeros(n_features))
        self.register_buffer("bias", torch.zeros(()))
        self.register_buffer("reals", torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.unusual = unusual
        if unusual:
            self.register_buffer("centre", torch.zeros(n_features))
            self.register_buffer("precision", torch.eye(n_features))
            self.register_buffer("distance", torch.tensor([0.0, 1.0]))

    def standardise(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) trajectory statistics -> (B, F) in standard deviations of the training clips."""
        return (features.to(self.mean) - self.mean) / self.scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) trajectory statistics -> (B,) logits (NaN where a feature is NaN)."""
        return self.standardise(features) @ self.weight + self.bias  # (B,)

    def distance_from_reals(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) trajectory statistics -> (B,) Mahalanobis distance from the training reals (NaN where a feature is
        NaN; a head built with ``unusual``)."""
        d = self.standardise(features) - self.centre  # (B, F)
        return ((d @ self.precision) * d).sum(-1).clamp_min(0).sqrt()  # (B,)

    def cues(self, logits: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(B,) network logits and (B, F) statistics -> (B, K) cues in standard deviations above the validation
        reals: the network's, the logistic regression's and (``unusual``) the distance's (K = 2 or 3)."""
        net_mean, net_sd, lm_mean, lm_sd, _ = self.reals.to(logits).unbind()
        out = [(logits - net_mean) / net_sd, (self(features).to(logits) - lm_mean) / lm_sd]
        if self.unusual:
            d_mean, d_sd = self.distance.to(logits).unbind()
            out.append((self.distance_from_reals(features).to(logits) - d_mean) / d_sd)
        return torch.stack(out, dim=1)  # (B, K)

    def fuse(self, logits: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The fused logit: the largest cue in standard deviations above the validation reals, less the offset, on
        the network's scale.

        Args:
            logits: (B,) the network's raw logits (before ``logit_scale``/``logit_bias``).
            features: (B, F) the same clips' trajectory statistics (:func:`dfdetect.clips.landmarks.clip_features`;
                NaN: no landmarks, the network's logit is kept).

        Returns:
            (B,) logits on the network's scale (``logits`` unchanged while the head is not fitted).
        """
        if not bool(self.fitted):
            return logits
        net_mean, net_sd, _, _, offset = self.reals.to(logits).unbind()
        z = self.cues(logits, features)  # (B, K)
        fused = net_mean + net_sd * (z.max(dim=1).values - offset)
        return torch.where(torch.isnan(z).any(dim=1), logits, fused)

    def set_fit(self, mean: torch.Tensor, scale: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                reals: torch.Tensor, **unusual: torch.Tensor) -> None:
        """Store a fitted classifier and its fusion (shapes as the buffers; marks the head fitted).

        Args:
            mean, scale, weight, bias, reals: the buffers of the same names.
            **unusual: ``centre``, ``precision`` and ``distance``: all three for a head built with ``unusual``,
                none for another.

        Raises:
            ValueError: a shape that differs from the buffer's, a scale or spread that is not positive, a NaN, or
                one-class buffers that do not match ``unusual``.
        """
        if set(unusual) != ({"centre", "precision", "distance"} if self.unusual else set()):
            raise ValueError(f"landmark head: one-class buffers {sorted(unusual)} do not fit a head with "
                             f"unusual={self.unusual}")
        values = {"mean": mean, "scale": scale, "weight": weight, "bias": bias, "reals": reals, **unusual}
        for name, value in values.items():
            value = torch.as_tensor(value, dtype=torch.float32)
            if value.shape != getattr(self, name).shape or not torch.isfinite(value).all():
                raise ValueError(f"landmark head {name}: expected finite {tuple(getattr(self, name).shape)}, got "
                                 f"{tuple(value.shape)}")
            values[name] = value
        spreads = [values["scale"], values["reals"][[1, 3]], *([values["distance"][1:]] if self.unusual else [])]
        if any(bool((v <= 0).any()) for v in spreads):
            raise ValueError("landmark head: scales and spreads must be positive")
        for name, value in values.items():
            getattr(self, name).copy_(value)
        self.fitted.fill_(True)
