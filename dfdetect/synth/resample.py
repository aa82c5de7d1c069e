"""The ``resample`` generator: the face re-rendered through a lossy path, as generator output looks, blended back.

Face-swap and talking-head generators render the face at a low resolution (64-256 px), with a decoder's smooth,
detail-poor texture, and paste it back into a sharper frame; many pipelines also pass it through compression. Here the
face region is downscaled and upscaled (:data:`DOWNSCALE`), blurred, JPEG-compressed at low quality and smoothed in its
high frequencies (an edge-preserving bilateral filter, or damped detail), then blended back through SBI's soft mask
(:func:`dfdetect.synth.sbi.blend_region`) without any shift or colour change: the face differs from the frame only in
its texture and sharpness. After the "quality" branch of SBI's source transforms (Shiohara & Yamasaki, CVPR 2022) and
the upsampling artefacts studied by Durall et al. (CVPR 2020) and Frank et al. (ICML 2020).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from dfdetect.synth.base import Clip, Edit, Plan
from dfdetect.synth.sbi import MIN_DOWNSCALED_FACE, blend_with_mask, sample_blend_params
from dfdetect.synth.track import face_arrays

DOWNSCALE = (1.5, 4.0)
"""Range of the down-up scaling factor of the face region."""
JPEG_QUALITY = (15, 50)
"""Range of the JPEG quality of the re-rendered face."""


@dataclass(frozen=True)
class ResampleParams:
    """One lossy re-rendering (plain values).

    Attributes:
        downscale: down-up scaling factor (area down, cubic up).
        blur_sigma: Gaussian blur after upscaling, px of the face at 100 px (0 = none).
        jpeg_quality: JPEG quality, 0-100 (100 = skip).
        smoothing: ``"bilateral"`` (edge-preserving), ``"detail"`` (high frequencies damped) or ``"none"``.
        strength: bilateral colour sigma (0-255 scale), or the share of detail removed.
    """

    downscale: float
    blur_sigma: float
    jpeg_quality: int
    smoothing: str
    strength: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (floats rounded)."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in dataclasses.asdict(self).items()}


def sample_resample_params(rng: np.random.Generator) -> ResampleParams:
    """Draw one lossy path.

    Example:
        >>> p = sample_resample_params(np.random.default_rng(0))
        >>> 1.5 <= p.downscale <= 4 and 15 <= p.jpeg_quality <= 50 and p.smoothing in ("bilateral", "detail", "none")
        True
    """
    smoothing = str(rng.choice(["bilateral", "detail", "none"]))
    return ResampleParams(
        downscale=float(rng.uniform(*DOWNSCALE)),
        blur_sigma=float(rng.choice([0.0, rng.uniform(0.3, 1.2)])),
        jpeg_quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)),
        smoothing=smoothing,
        strength=float(rng.uniform(20, 60) if smoothing == "bilateral" else rng.uniform(0.4, 0.9)),
    )


def lossy_render(patch: np.ndarray, p: ResampleParams, face_side: float) -> np.ndarray:
    """Pass an RGB uint8 patch (h, w, 3) through the lossy path; returns the same shape and dtype.

    Args:
        patch: the face region.
        p: the path.
        face_side: the face box's shorter side in the patch's pixels (scales the blur; caps the downscale so the
            face keeps at least :data:`~dfdetect.synth.sbi.MIN_DOWNSCALED_FACE` px).

    Example:
        >>> img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        >>> out = lossy_render(img, sample_resample_params(np.random.default_rng(0)), 30.0)
        >>> out.shape, out.dtype, float(np.abs(out.astype(int) - img).mean()) > 10
        ((40, 40, 3), dtype('uint8'), True)
    """
    h, w = patch.shape[:2]
    x = patch
    r = max(1.0, min(p.downscale, face_side / MIN_DOWNSCALED_FACE))
    if r > 1:
        small = cv2.resize(x, (max(1, round(w / r)), max(1, round(h / r))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    if p.blur_sigma > 0:
        x = cv2.GaussianBlur(x, (0, 0), max(0.1, p.blur_sigma * face_side / 100))
    if p.jpeg_quality < 100:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(x, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, p.jpeg_quality])
        if ok:
            x = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if p.smoothing == "bilateral":
        x = cv2.bilateralFilter(x, 5, p.strength, 3)
    elif p.smoothing == "detail":
        low = cv2.GaussianBlur(x, (0, 0), max(0.5, face_side / 60)).astype(np.float32)
        x = np.clip(np.rint(low + (1 - p.strength) * (x.astype(np.float32) - low)), 0, 255).astype(np.uint8)
    return x


def resample_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``resample`` generator's recipe: one lossy path and one soft mask for the clip, no shift, no colour change.

    Args:
        clip: images and faces (:class:`~dfdetect.synth.base.Clip`); donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`.

    Example:
        >>> img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        >>> e = resample_plan(Clip([img], [(np.array([16.0, 12, 48, 52]), None)]), np.random.default_rng(0)).edit(0)
        >>> bool((e.frame[:, :4] == img[:, :4]).all()), bool((e.frame != img).any()), float(e.mask[:, :4].max())
        (True, True, 0.0)
    """
    mask = dataclasses.replace(sample_blend_params(rng), shift_x=0.0, shift_y=0.0, scale=1.0)
    path = sample_resample_params(rng)
    record = {**path.to_dict(), "mask": mask.to_dict()}

    def edit(t: int) -> Edit:
        face = clip.faces[t]
        box, _ = face_arrays(face)
        side = float(min(box[2] - box[0], box[3] - box[1]))
        frame, m = blend_with_mask(clip.images[t], face, mask, lambda src: lossy_render(src, path, side))
        return Edit(frame, m, record)

    return Plan(edit)
