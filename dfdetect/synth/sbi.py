"""Self-blended fakes (SBI, Shiohara & Yamasaki, CVPR 2022): the blend parameters, the mask and one blended frame.

A fake is made from ONE real frame and the SAME person's face in it: a copy of the frame is colour/contrast-jittered,
blurred (down- then up-scaled) or sharpened, and slightly shifted/scaled, then blended back through a soft, deformed
mask around the face. No other identity is ever used (identity-preserving only), yet the result carries what every
face swap leaves behind: a blending boundary, a colour and sharpness mismatch, a slightly misaligned face.

Geometry: the mask is drawn on a canonical canvas of :data:`CANVAS` pixels where the face box fills the central half,
so hull shapes, elastic warps and blur kernels are relative to the face whatever its size in pixels, and a fixed
parameter set describes the same mask relative to the face in every frame. Only pixels under the mask change; the
rest of the frame is bit-identical (before encoding).

Magnitudes are those of SBI's released code (``src/utils/sbi.py``, ``get_source_transforms``): an RGB shift of up to
±20 per channel with p = 0.3 (:data:`RGB_SHIFT_P`), hue/saturation/value shifts of ±0.3 in uint8 units (added, so no
visible change) and brightness/contrast ±0.1: the blend is meant to be hard to see, a tinted face would teach a detector
"tinted = fake". The mask is the convex hull of the face's dense landmarks (468 Face Mesh points,
:mod:`dfdetect.synth.landmarks`), or a hull / ellipse from MTCNN's five points when there are none.

:func:`blend_region` is the one blending routine: the other generators (:mod:`~dfdetect.synth.temporal`,
:mod:`~dfdetect.synth.resample`, :mod:`~dfdetect.synth.selfswap`) give it another source. :func:`sbi_plan` is the
``sbi`` generator's recipe on a clip (one parameter set per clip); the encoder is :mod:`dfdetect.synth.encode`'s.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from dfdetect.synth.base import Clip, Edit, Plan
from dfdetect.synth.landmarks import five_from_dense
from dfdetect.synth.track import FaceLike, face_arrays

CANVAS = 256
"""Side of the canonical mask canvas; the face box maps to its central half ``[CANVAS/4, 3*CANVAS/4]``."""
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
"""SBI's blend ratios (the mask's peak value), 1 drawn half of the time."""
RGB_SHIFT_P = 0.3
"""Share of fakes whose source gets an RGB shift (SBI: ``RGBShift((-20, 20), ..., p=0.3)``)."""
RGB_SHIFT_MAX = 20.0
"""Largest RGB shift per channel, 0-255 scale."""
HSV_SHIFT_MAX = 0.3
"""Largest hue / saturation / value shift, added in uint8 units (SBI's ``HueSaturationValue`` limits of ±0.3)."""
MIN_DOWNSCALED_FACE = 16
"""The downscale jitter never shrinks the face box below this many pixels (tiny faces stay recognisable)."""


# ---------------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlendParams:
    """Everything that defines one self-blend, relative to the face (plain values: recordable as JSON).

    Attributes:
        mask_kind: ``"hull"`` (convex hull of the dense landmarks, forehead included, like SBI's 81 points; with
            five points: those extended to forehead, cheeks and chin) or ``"ellipse"`` (dense: the hull of the points
            below the brows, like SBI's 68; five points: an ellipse from them; none: an ellipse in the box).
        mask_scale: growth of the hull / ellipse around its centre.
        elastic_seed: seed of the smooth random displacement field that deforms the mask (fixed field = fixed
            deformation relative to the face).
        elastic_amp: displacement amplitude, canvas pixels (the face box is ``CANVAS / 2`` wide).
        shift_x: source and mask translation, fraction of the box width.
        shift_y: source and mask translation, fraction of the box height.
        scale: source and mask scale about the box centre.
        rgb_shift: added to R, G, B (0-255 scale; zero for the 70 % of fakes without an RGB shift).
        hue_shift: added to OpenCV hue (0-180 scale).
        sat_shift: added to saturation (0-255 scale).
        val_shift: added to value (0-255 scale).
        brightness: added, fraction of 255.
        contrast: pixel values multiplied by ``1 + contrast``.
        quality: ``"downscale"`` (nearest down, linear up: a blurrier face) or ``"sharpen"``.
        downscale: downscale factor (2 or 4, as in SBI).
        sharpen_alpha: strength of the sharpening kernel.
        sharpen_lightness: centre weight of the sharpening kernel.
        blur1: odd kernel (canvas px) eroding the mask before the soft blur (SBI's first blur + threshold).
        blur2: odd Gaussian kernel (canvas px) softening the mask's edge.
        blur2_sigma: sigma of that blur.
        ratio: the blended mask's peak value (one of :data:`BLEND_RATIOS`).
    """

    mask_kind: str
    mask_scale: float
    elastic_seed: int
    elastic_amp: float
    shift_x: float
    shift_y: float
    scale: float
    rgb_shift: tuple[float, float, float]
    hue_shift: float
    sat_shift: float
    val_shift: float
    brightness: float
    contrast: float
    quality: str
    downscale: int
    sharpen_alpha: float
    sharpen_lightness: float
    blur1: int
    blur2: int
    blur2_sigma: float
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (floats rounded for the record)."""
        out: dict[str, Any] = {}
        for k, v in dataclasses.asdict(self).items():
            if isinstance(v, float):
                v = round(v, 4)
            elif isinstance(v, tuple):
                v = [round(float(x), 4) for x in v]
            out[k] = v
        return out


def sample_blend_params(rng: np.random.Generator) -> BlendParams:
    """Draw one set of self-blending parameters (SBI's ranges, expressed relative to the face).

    Args:
        rng: the generator; the same state gives the same parameters.

    Returns:
        A :class:`BlendParams`.

    Example:
        >>> p = sample_blend_params(np.random.default_rng(0))
        >>> p.ratio in BLEND_RATIOS, p.quality in ("downscale", "sharpen")
        (True, True)
    """
    odd = np.arange(5, 26, 2)  # SBI: random.randrange(5, 26, 2)
    shift = rng.random() < RGB_SHIFT_P
    rgb = rng.uniform(-RGB_SHIFT_MAX, RGB_SHIFT_MAX, size=3)  # drawn either way: one stream for every outcome
    return BlendParams(
        mask_kind=str(rng.choice(["hull", "ellipse"])),
        mask_scale=float(rng.uniform(0.9, 1.1)),
        elastic_seed=int(rng.integers(0, 2**31 - 1)),
        elastic_amp=float(rng.uniform(2.0, 8.0)),
        shift_x=float(rng.uniform(-0.04, 0.04)),
        shift_y=float(rng.uniform(-0.02, 0.02)),
        scale=float(rng.uniform(0.95, 1 / 0.95)),
        rgb_shift=tuple(float(x) if shift else 0.0 for x in rgb),  # type: ignore[arg-type]
        hue_shift=float(rng.uniform(-HSV_SHIFT_MAX, HSV_SHIFT_MAX)),
        sat_shift=float(rng.uniform(-HSV_SHIFT_MAX, HSV_SHIFT_MAX)),
        val_shift=float(rng.uniform(-HSV_SHIFT_MAX, HSV_SHIFT_MAX)),
        brightness=float(rng.uniform(-0.1, 0.1)),
        contrast=float(rng.uniform(-0.1, 0.1)),
        quality=str(rng.choice(["downscale", "sharpen"])),
        downscale=int(rng.choice([2, 4])),
        sharpen_alpha=float(rng.uniform(0.2, 0.5)),
        sharpen_lightness=float(rng.uniform(0.5, 1.0)),
        blur1=int(rng.choice(odd)),
        blur2=int(rng.choice(odd)),
        blur2_sigma=float(rng.integers(5, 46)),
        ratio=float(rng.choice(BLEND_RATIOS)),
    )


# ---------------------------------------------------------------------------------------------------------------------
# One frame
# ---------------------------------------------------------------------------------------------------------------------


def _canvas_to_frame(box: np.ndarray) -> np.ndarray:
    """3x3 affine: canonical canvas -> frame (continuous coordinates); the box maps to the canvas's central half."""
    x1, y1, x2, y2 = box
    sx = max(x2 - x1, 1e-3) / (CANVAS / 2)
    sy = max(y2 - y1, 1e-3) / (CANVAS / 2)
    q = CANVAS / 4
    return np.array([[sx, 0.0, x1 - sx * q], [0.0, sy, y1 - sy * q], [0.0, 0.0, 1.0]])


def _jitter_matrix(box: np.ndarray, p: BlendParams) -> np.ndarray:
    """3x3 affine (frame -> frame): SBI's source/mask jitter, scale about the box centre then translate."""
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    s = p.scale
    return np.array([[s, 0.0, (1 - s) * cx + p.shift_x * w], [0.0, s, (1 - s) * cy + p.shift_y * h], [0, 0, 1.0]])


def _cv_affine(m: np.ndarray) -> np.ndarray:
    """Continuous-coordinate affine (pixel p's centre at p + 0.5) -> the 2x3 OpenCV matrix (centre at p)."""
    shift = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
    unshift = np.array([[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1.0]])
    return (unshift @ m @ shift)[:2]


def _mask_polygon(lms_c: np.ndarray | None, p: BlendParams) -> np.ndarray:
    """The mask outline in canvas coordinates, (N, 2) float64.

    With dense landmarks (N > 5 points), the convex hull of all of them (``hull``) or of those below the brows (the
    other kind). With five landmarks (canvas coordinates; left eye, right eye, nose, left / right mouth corner),
    ``hull`` extends the
    five points to the forehead, temples, jaw and chin (five points alone only cover eyes-nose-mouth) and takes
    their convex hull; ``ellipse`` is oriented along the eye line and sized by the eye distance and the eye-mouth
    distance. Without landmarks: an ellipse inside the box.
    """
    if lms_c is not None and len(lms_c) > 5:  # dense: SBI's convex hull (81 points, or the 68 below the brows)
        pts = lms_c
        if p.mask_kind != "hull":
            five = five_from_dense(lms_c)
            ec, mc = (five[0] + five[1]) / 2, (five[3] + five[4]) / 2
            v = mc - ec
            below = (lms_c - ec) @ v / max(float(v @ v), 1e-9) > -0.45  # the brows sit about 0.4 |v| above the eyes
            pts = lms_c[below] if below.sum() >= 3 else lms_c
        hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        centre = hull.mean(axis=0)
        return centre + (hull - centre) * p.mask_scale
    if lms_c is None:
        c = np.array([CANVAS / 2, CANVAS / 2 + 0.03 * CANVAS])  # faces sit slightly low in MTCNN boxes
        a, b, angle = 0.5 * (CANVAS / 2) * 0.85, 0.5 * (CANVAS / 2) * 1.0, 0.0
        kind = "ellipse"
    else:
        kind = p.mask_kind
        le, re_, nose, ml, mr = lms_c
        ec, mc = (le + re_) / 2, (ml + mr) / 2
        v, h = mc - ec, re_ - le  # eyes -> mouth, left eye -> right eye
        if kind == "hull":
            pts = np.stack([
                le, re_, nose, ml, mr,
                le - 0.9 * v - 0.2 * h, re_ - 0.9 * v + 0.2 * h,  # forehead
                le - 0.4 * h + 0.1 * v, re_ + 0.4 * h + 0.1 * v,  # temples
                ml - 0.3 * h + 0.4 * v, mr + 0.3 * h + 0.4 * v,  # jaw
                mc + 0.6 * v,  # chin
            ])
            centre = pts.mean(axis=0)
            pts = centre + (pts - centre) * p.mask_scale
            return cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        c = ec + 0.4 * v  # the face spans about 0.9 |v| above the eyes to 0.6 |v| below the mouth
        a, b = 0.95 * np.linalg.norm(h), 1.3 * np.linalg.norm(v)
        angle = math.atan2(h[1], h[0])
    a, b = a * p.mask_scale, b * p.mask_scale
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ca, sa = math.cos(angle), math.sin(angle)
    x, y = a * np.cos(t), b * np.sin(t)
    return np.stack([c[0] + ca * x - sa * y, c[1] + sa * x + ca * y], axis=1)


@functools.lru_cache(maxsize=16)
def _elastic_maps(seed: int, amp: float) -> tuple[np.ndarray, np.ndarray]:
    """Remap tables (CANVAS, CANVAS) float32 for a smooth random displacement (a coarse 5x5 grid, bicubic-upsampled).

    Cached: consistent clips reuse one field for every frame. The arrays are read-only.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1, 1, size=(2, 5, 5)).astype(np.float32) * amp
    dx = cv2.resize(coarse[0], (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)  # (S, S)
    dy = cv2.resize(coarse[1], (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    grid = np.arange(CANVAS, dtype=np.float32)
    map_x = grid[None, :] + dx
    map_y = grid[:, None] + dy
    map_x.flags.writeable = False
    map_y.flags.writeable = False
    return map_x, map_y


def canvas_mask(landmarks_canvas: np.ndarray | None, params: BlendParams) -> np.ndarray:
    """The soft blend mask on the canonical canvas, float32 (CANVAS, CANVAS) in [0, ratio].

    Steps (SBI): polygon -> elastic deformation -> erosion by ``blur1`` (SBI's blur + ``mask[mask < 1] = 0``) ->
    Gaussian blur ``blur2`` -> normalised to peak 1 -> times the blend ratio.

    Args:
        landmarks_canvas: (5, 2) or dense (N, 2) landmarks in canvas coordinates, or None (ellipse from the box).
        params: the blend parameters.

    Returns:
        float32 (CANVAS, CANVAS), peak ``params.ratio`` (all zero only for a degenerate polygon).

    Example:
        >>> p = sample_blend_params(np.random.default_rng(0))
        >>> m = canvas_mask(None, p)
        >>> m.shape, abs(float(m.max()) - p.ratio) < 1e-6, float(m[0, 0])
        ((256, 256), True, 0.0)
    """
    poly = _mask_polygon(landmarks_canvas, params)
    mask = np.zeros((CANVAS, CANVAS), np.float32)
    # 4 fractional bits: sub-pixel outline; OpenCV's pixel centres are at integer coordinates, hence the -0.5.
    cv2.fillPoly(mask, [np.round((poly - 0.5) * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_8, shift=4)
    map_x, map_y = _elastic_maps(params.elastic_seed, round(params.elastic_amp, 6))
    mask = cv2.remap(mask, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderValue=0)
    eroded = cv2.erode(mask, np.ones((params.blur1, params.blur1), np.uint8))
    if eroded.max() > 0.5:  # a tiny mask would vanish: keep it un-eroded instead
        mask = eroded
    mask = cv2.GaussianBlur(mask, (params.blur2, params.blur2), params.blur2_sigma)
    peak = float(mask.max())
    if peak <= 0:
        return mask
    return mask * np.float32(params.ratio / peak)


def _lut(fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """A uint8 lookup table (256,) from a function on float values 0..255 (rounded, saturated)."""
    return np.clip(np.rint(fn(np.arange(256, dtype=np.float64))), 0, 255).astype(np.uint8)


def _jitter_colour(img: np.ndarray, p: BlendParams, face_side: float) -> np.ndarray:
    """SBI's source transform on an RGB uint8 patch: RGB shift, HSV, brightness/contrast, then downscale or sharpen.

    Every colour step is a per-channel uint8 lookup table (the same arithmetic as on floats, saturated to 0..255,
    and about 5x faster on a face-sized patch).
    """
    x = cv2.merge([cv2.LUT(c, _lut(lambda v, s=s: v + s)) for c, s in zip(cv2.split(img), p.rgb_shift)])
    hsv = cv2.split(cv2.cvtColor(x, cv2.COLOR_RGB2HSV))  # H in [0, 180), S and V in [0, 255]
    hue = np.mod(np.rint(np.arange(256) + p.hue_shift), 180).astype(np.uint8)  # only 0..179 occur
    hsv = [cv2.LUT(hsv[0], hue), cv2.LUT(hsv[1], _lut(lambda v: v + p.sat_shift)),
           cv2.LUT(hsv[2], _lut(lambda v: v + p.val_shift))]
    x = cv2.cvtColor(cv2.merge(hsv), cv2.COLOR_HSV2RGB)
    x = cv2.LUT(x, _lut(lambda v: v * (1 + p.contrast) + p.brightness * 255))
    h, w = x.shape[:2]
    if p.quality == "downscale":
        r = max(1.0, min(float(p.downscale), face_side / MIN_DOWNSCALED_FACE))
        if r > 1:
            small = cv2.resize(x, (max(1, round(w / r)), max(1, round(h / r))), interpolation=cv2.INTER_NEAREST)
            x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        effect = np.full((3, 3), -1.0, np.float32)
        effect[1, 1] = 8 + p.sharpen_lightness
        identity = np.zeros((3, 3), np.float32)
        identity[1, 1] = 1
        kernel = (1 - p.sharpen_alpha) * identity + p.sharpen_alpha * effect  # albumentations' Sharpen
        x = cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return x


def _blend_geometry(
    shape: tuple[int, ...], face: FaceLike | tuple, params: BlendParams
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Region of interest (x0, y0, x1, y1), its mask (h, w) float32 and the ROI->jittered-source affine, or None."""
    box, lms = face_arrays(face)
    if not np.isfinite(box).all() or box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    height, width = shape[:2]
    c2f = _canvas_to_frame(box)
    jit = _jitter_matrix(box, params)
    lms_c = None
    if lms is not None:
        f2c = np.linalg.inv(c2f)
        lms_c = (f2c[:2, :2] @ lms.T).T + f2c[:2, 2]  # (N, 2) canvas coordinates
    mask_c = canvas_mask(lms_c, params)  # (S, S)
    # ROI: the bounding rectangle of the mask's support (1 canvas px of slack for interpolation), moved into the
    # frame and clipped; everything outside it keeps its pixels.
    cx, cy, cw, ch = cv2.boundingRect((mask_c > 0).astype(np.uint8))
    if cw == 0 or ch == 0:
        return None
    corners = np.array([[cx - 1, cy - 1, 1], [cx + cw + 1, cy - 1, 1], [cx - 1, cy + ch + 1, 1],
                        [cx + cw + 1, cy + ch + 1, 1]], np.float64).T
    fx, fy = (jit @ c2f @ corners)[:2]
    x0, y0 = max(0, math.floor(fx.min())), max(0, math.floor(fy.min()))
    x1, y1 = min(width, math.ceil(fx.max())), min(height, math.ceil(fy.max()))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    roi = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1.0]])
    mask = cv2.warpAffine(mask_c, _cv_affine(roi @ jit @ c2f), (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # (h, w)
    return (x0, y0, x1, y1), mask, roi @ jit


def blend_mask(shape: tuple[int, ...], face: FaceLike | tuple, params: BlendParams) -> np.ndarray:
    """The full-frame blend mask of :func:`self_blend`, float32 (H, W) in [0, ratio] (zero far from the face).

    Args:
        shape: the frame's shape, ``(H, W)`` or ``(H, W, 3)``.
        face: a :class:`~dfdetect.synth.track.FaceLike` or a ``(box, landmarks)`` tuple, in the frame's pixels.
        params: the blend parameters.

    Returns:
        float32 (H, W); all zero when the face is degenerate (under 2 px) or outside the frame.

    Example:
        >>> p = sample_blend_params(np.random.default_rng(0))
        >>> m = blend_mask((360, 640, 3), (np.array([280.0, 80, 400, 240]), None), p)
        >>> m.shape, float(m[:, :150].max())
        ((360, 640), 0.0)
    """
    out = np.zeros(shape[:2], np.float32)
    geo = _blend_geometry(shape, face, params)
    if geo is not None:
        (x0, y0, x1, y1), mask, _ = geo
        out[y0:y1, x0:x1] = mask
    return out


def blend_with_mask(frame: np.ndarray, face: FaceLike | tuple, params: BlendParams,
                    render: Callable[[np.ndarray], np.ndarray], source: np.ndarray | None = None,
                    source_to_frame: np.ndarray | None = None,
                    interpolation: int = cv2.INTER_LINEAR) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`blend_region` that also returns the mask it blended through.

    Args:
        frame: RGB uint8 (H, W, 3).
        face: box and landmarks (five or dense) in the frame's pixels.
        params: mask shape, jitter affine, blur and ratio.
        render: RGB uint8 (h, w, 3) -> RGB uint8 (h, w, 3), the source patch re-rendered.
        source: RGB uint8 image the source pixels come from (default ``frame``).
        source_to_frame: 3x3 affine, source pixels -> frame pixels (default identity).
        interpolation: OpenCV interpolation of the source warp.

    Returns:
        ``(new frame, mask)``: the mask float32 (H, W) in [0, ratio] (zero outside the face's region), or None when
        the face is degenerate or outside the frame (the frame is then a copy of the input).

    Raises:
        ValueError: the frame is not RGB uint8.
    """
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
    out = frame.copy()
    geo = _blend_geometry(frame.shape, face, params)
    if geo is None:
        return out, None
    (x0, y0, x1, y1), mask, roi_jit = geo
    img = frame if source is None else source
    to_roi = roi_jit if source_to_frame is None else roi_jit @ source_to_frame
    # Source: pixels seen through the affines, computed only over the ROI (warpAffine's output size).
    src = cv2.warpAffine(img, _cv_affine(to_roi), (x1 - x0, y1 - y0), flags=interpolation,
                         borderMode=cv2.BORDER_REFLECT_101)  # (h, w, 3)
    src = render(src)
    tgt = frame[y0:y1, x0:x1].astype(np.float32)
    m = mask[..., None]  # (h, w, 1)
    blended = tgt + m * (src.astype(np.float32) - tgt)  # == tgt exactly where m == 0
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    full = np.zeros(frame.shape[:2], np.float32)  # (H, W)
    full[y0:y1, x0:x1] = mask
    return out, full


def blend_region(frame: np.ndarray, face: FaceLike | tuple, params: BlendParams,
                 render: Callable[[np.ndarray], np.ndarray], source: np.ndarray | None = None,
                 source_to_frame: np.ndarray | None = None) -> np.ndarray:
    """THE blend: ``out = mask * render(source) + (1 - mask) * frame`` over the face's region only.

    The source image is seen through ``source_to_frame`` (default: the frame itself, identity), then through the
    jitter affine of ``params`` (shift / scale), computed only over the mask's bounding rectangle; ``render`` re-makes
    those pixels (colour jitter, a lossy path...). Pixels where the mask is zero are returned unchanged, bit for bit.
    :func:`blend_with_mask` also returns the mask.

    Args:
        frame: RGB uint8 (H, W, 3).
        face: box and landmarks (five or dense) in the frame's pixels.
        params: mask shape, jitter affine, blur and ratio.
        render: RGB uint8 (h, w, 3) -> RGB uint8 (h, w, 3), the source patch re-rendered.
        source: RGB uint8 image the source pixels come from (default ``frame``).
        source_to_frame: 3x3 affine, source pixels -> frame pixels (default identity).

    Returns:
        A new RGB uint8 (H, W, 3) frame.
    """
    return blend_with_mask(frame, face, params, render, source, source_to_frame)[0]


def self_blend(frame: np.ndarray, face: FaceLike | tuple, params: BlendParams) -> np.ndarray:
    """Blend a jittered copy of the frame's own face back onto it (one SBI fake).

    ``out = mask * source + (1 - mask) * frame``, where ``source`` is the frame shifted/scaled by the jitter affine
    and colour/quality-jittered, and ``mask`` the soft deformed face mask moved by the same affine. Pixels where the
    mask is zero (everything away from the face) are returned unchanged, bit for bit.

    Args:
        frame: RGB uint8 (H, W, 3).
        face: a :class:`face_crop.detect.Face`, or a ``(box, landmarks)`` tuple (landmarks: five, dense or None), in
            the frame's pixels.
        params: from :func:`sample_blend_params`.

    Returns:
        A new RGB uint8 (H, W, 3) frame (the input is not modified).

    Example:
        >>> frame = np.full((120, 160, 3), 128, np.uint8)
        >>> params = sample_blend_params(np.random.default_rng(1))
        >>> fake = self_blend(frame, (np.array([50.0, 30, 110, 100]), None), params)
        >>> fake.shape, bool((fake[:, :20] == frame[:, :20]).all())
        ((120, 160, 3), True)
    """
    return self_blend_with_mask(frame, face, params)[0]


def self_blend_with_mask(frame: np.ndarray, face: FaceLike | tuple,
                         params: BlendParams) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`self_blend` and the mask it blended through (:func:`blend_with_mask`)."""
    box, _ = face_arrays(face)
    side = float(min(box[2] - box[0], box[3] - box[1]))
    return blend_with_mask(frame, face, params, lambda src: _jitter_colour(src, params, face_side=side))


def sbi_plan(clip: Clip, rng: np.random.Generator, consistent: bool = True) -> Plan:
    """The ``sbi`` generator's recipe: every face of the clip self-blended (dense-landmark masks where the model runs).

    Args:
        clip: images and faces (:class:`~dfdetect.synth.base.Clip`); donors are not used.
        rng: draws the parameters (once per clip, or per image when not ``consistent``).
        consistent: one parameter set for the clip (True) or one per image (flicker).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`; run it with :func:`dfdetect.synth.registry.generate`.

    Example:
        >>> img = np.full((64, 64, 3), 120, np.uint8)
        >>> plan = sbi_plan(Clip([img, img], [(np.array([16.0, 12, 48, 52]), None)] * 2), np.random.default_rng(0))
        >>> a, b = plan.edit(0), plan.edit(1)
        >>> a.record == b.record, a.mask.shape, 0 < float(a.mask.max()) <= 1
        (True, (64, 64), True)
    """
    fixed = sample_blend_params(rng) if consistent else None

    def edit(t: int) -> Edit:
        p = fixed if fixed is not None else sample_blend_params(rng)
        frame, mask = self_blend_with_mask(clip.images[t], clip.faces[t], p)
        return Edit(frame, mask, p.to_dict())

    return Plan(edit)
