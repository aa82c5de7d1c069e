"""The ``temporal`` generator: a self-blend whose parameters drift and jitter from frame to frame.

Frame-by-frame face generation (a face swap or a talking-head model run per frame, then pasted back) leaves an
inconsistency visible only across time: the pasted region's outline, position, colour, sharpness and opacity wander
between frames, and the manipulation may start and stop within a clip. Here two SBI parameter sets
(:func:`dfdetect.synth.sbi.sample_blend_params`) are the clip's start and end; every frame interpolates between them
along a smooth random path and adds its own jitter (:data:`JITTER`), and with probability :data:`PARTIAL_P` only a
contiguous part of the clip is blended. Inspired by the flickering / temporally inconsistent blends of FTCN
(Zheng et al., ICCV 2021) and AltFreezing (Wang et al., CVPR 2023), which detect exactly this.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dfdetect.synth.base import Clip, Edit, Plan
from dfdetect.synth.sbi import BLEND_RATIOS, BlendParams, sample_blend_params, self_blend_with_mask

PARTIAL_P = 0.5
"""Probability that only a contiguous part of the clip is blended."""
MIN_COVER = 0.4
"""A partial blend covers at least this share of the clip's faces (and leaves at least one face real)."""
JITTER = {
    "shift_x": 0.012, "shift_y": 0.008, "scale": 0.012, "mask_scale": 0.03, "elastic_amp": 1.0,
    "brightness": 0.015, "contrast": 0.015, "sharpen_alpha": 0.05, "blur2_sigma": 3.0, "ratio": 0.08,
}
"""Per-frame Gaussian jitter (standard deviation) of each field, in the field's units, on top of the drift."""
DRIFTING = ("mask_scale", "elastic_amp", "shift_x", "shift_y", "scale", "hue_shift", "sat_shift", "val_shift",
            "brightness", "contrast", "sharpen_alpha", "sharpen_lightness", "blur2_sigma", "ratio")
"""Fields interpolated between the start and end parameter sets (the rest, e.g. mask kind, stay the start's)."""


def _odd(x: float) -> int:
    """Nearest odd integer in [5, 25] (SBI's blur kernels)."""
    return int(np.clip(2 * round((x - 1) / 2) + 1, 5, 25))


def drift_params(rng: np.random.Generator, n: int) -> list[BlendParams]:
    """``n`` per-frame parameter sets drifting from one SBI draw to another, with per-frame jitter.

    Args:
        rng: the generator.
        n: frames.

    Returns:
        n :class:`~dfdetect.synth.sbi.BlendParams`, all different (jitter), within SBI's ranges.

    Example:
        >>> ps = drift_params(np.random.default_rng(0), 4)
        >>> len(ps), len({p.shift_x for p in ps}), all(0.25 <= p.ratio <= 1 for p in ps)
        (4, 4, True)
    """
    a, b = sample_blend_params(rng), sample_blend_params(rng)
    # A smooth monotone path from a to b with a random pace: cumulative sums of positive steps.
    steps = np.concatenate([[0.0], rng.uniform(0.2, 1.0, size=max(n - 1, 0))])
    w = np.cumsum(steps) / max(float(steps.sum()), 1e-9)  # (n,) from 0 to 1
    rgb_a, rgb_b = np.asarray(a.rgb_shift), np.asarray(b.rgb_shift)
    out = []
    for t in range(n):
        values = {}
        for name in DRIFTING:
            v = (1 - w[t]) * getattr(a, name) + w[t] * getattr(b, name)
            values[name] = float(v + rng.normal(0.0, JITTER.get(name, 0.0)))
        values["ratio"] = float(np.clip(values["ratio"], min(BLEND_RATIOS), 1.0))
        values["scale"] = float(np.clip(values["scale"], 0.9, 1 / 0.9))
        values["sharpen_alpha"] = float(np.clip(values["sharpen_alpha"], 0.0, 1.0))
        values["blur2_sigma"] = float(max(values["blur2_sigma"], 1.0))
        values["rgb_shift"] = tuple(float(x) for x in (1 - w[t]) * rgb_a + w[t] * rgb_b)
        values["blur1"] = _odd((1 - w[t]) * a.blur1 + w[t] * b.blur1)
        values["blur2"] = _odd((1 - w[t]) * a.blur2 + w[t] * b.blur2)
        out.append(dataclasses.replace(a, **values))
    return out


def blended_span(rng: np.random.Generator, n: int) -> tuple[int, int]:
    """``[start, stop)`` of the faces to blend: all of them, or (p = :data:`PARTIAL_P`) a contiguous part.

    Example:
        >>> [blended_span(np.random.default_rng(s), 10) for s in range(3)]
        [(0, 10), (0, 10), (2, 6)]
    """
    partial = rng.random() < PARTIAL_P
    length = int(rng.integers(max(1, round(MIN_COVER * n)), n)) if n > 1 else n
    start = int(rng.integers(0, n - length + 1))
    return (start, start + length) if partial and n > 1 else (0, n)


def temporal_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``temporal`` generator's recipe: self-blends whose mask, colour, sharpness and ratio drift per frame.

    Args:
        clip: images in time order and their faces (:class:`~dfdetect.synth.base.Clip`); donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`; ``extra["span"]`` is the blended ``[start, stop)`` among the faces.

    Example:
        >>> img = np.full((64, 64, 3), 120, np.uint8)
        >>> plan = temporal_plan(Clip([img] * 3, [(np.array([16.0, 12, 48, 52]), None)] * 3), np.random.default_rng(1))
        >>> start, stop = plan.extra["span"]
        >>> [plan.edit(t) is not None for t in range(3)] == [start <= t < stop for t in range(3)]
        True
    """
    with_face = [i for i, f in enumerate(clip.faces) if f is not None]
    params = drift_params(rng, len(with_face))
    start, stop = blended_span(rng, len(with_face))
    chosen = {i: params[j] for j, i in enumerate(with_face) if start <= j < stop}

    def edit(t: int) -> Edit | None:
        if t not in chosen:
            return None
        frame, mask = self_blend_with_mask(clip.images[t], clip.faces[t], chosen[t])
        return Edit(frame, mask, chosen[t].to_dict())

    return Plan(edit, {"span": [start, stop]})
