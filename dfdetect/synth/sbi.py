"""Self-blended fake videos: SBI (Shiohara & Yamasaki, CVPR 2022) extended to video.

A fake is made from ONE real frame and the SAME person's face in it: a copy of the frame is colour/contrast-jittered,
blurred (down- then up-scaled) or sharpened, and slightly shifted/scaled, then blended back through a soft, deformed
mask around the face. No other identity is ever used (identity-preserving only), yet the result carries what every
face swap leaves behind: a blending boundary, a colour and sharpness mismatch, a slightly misaligned face.

Video extension:
    * ``consistent`` (default): the parameters are drawn once per clip and the mask follows the tracked face. The
      detections are interpolated over short gaps and smoothed over time (:func:`track_faces`), so the mask does not
      jitter with the detector's noise.
    * ``flicker``: the parameters are redrawn for every frame (mask shape, colour, blur, blend ratio), the temporal
      inconsistency many real face-swap videos show.

Geometry: the mask is drawn on a canonical canvas of :data:`CANVAS` pixels where the face box fills the central half,
so hull shapes, elastic warps and blur kernels are relative to the face whatever its size in pixels, and a fixed
parameter set describes the same mask relative to the face in every frame. Only pixels under the mask change; the
rest of the frame is bit-identical (before encoding).

Entry points: :func:`self_blend` (one frame), :func:`synth_video` (a clip of full frames with the detector's faces),
:func:`blend_clip` (on-the-fly training fakes from face crops), :func:`encode_video` (THE video writer: H.264 via
libx264, yuv420p, constant bitrate, used for fakes and re-encoded reals alike so that encoding and file size do not
leak the label), and the CLI::

    python -m dfdetect synth VIDEOS... OUT --per-video 2 --seed 0 [--flicker] [--no-reals]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from tqdm import tqdm

from dfdetect.core.io import InputError, atomic_write, collect_files, read_csv, setup_logging, write_csv

log = logging.getLogger(__name__)

CANVAS = 256
"""Side of the canonical mask canvas; the face box maps to its central half ``[CANVAS/4, 3*CANVAS/4]``."""
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
"""SBI's blend ratios (the mask's peak value), 1 drawn half of the time."""
MAX_GAP = 8
"""Frames without a detection between two detections are interpolated when the gap is at most this long."""
TRACK_SIGMA = 1.5
"""Gaussian sigma (frames) of the temporal smoothing of boxes and landmarks."""
MIN_DOWNSCALED_FACE = 16
"""The downscale jitter never shrinks the face box below this many pixels (tiny faces stay recognisable)."""
ENCODER = "libx264"
PIX_FMT = "yuv420p"
ENCODER_PRESET = "veryfast"
BITS_PER_PIXEL = 0.1
"""Constant bitrate = this x width x height x fps (640x360 at 24 fps: 553 kbit/s; 1080p30: 6.2 Mbit/s).

Why constant bitrate rather than constant quality (CRF): a self-blended face (sharpened, or flickering) costs more
bits than the real one, so under CRF 23 the fakes of the demo set came out 0-50% larger than their reals and file size
alone told them apart. Under CBR (x264 ``nal-hrd=cbr``, filler included) a fake and its real differ by about 1%.
"""
MIN_BITRATE = 200_000
"""Floor (bit/s) for small frames, where x264 needs more bits per pixel (176x144 at 30 fps: 0.26 bit/pixel)."""
NAME_PATTERN = re.compile(r"^v\d{4,}\.mp4$")
"""Neutral output names (``v0007.mp4``): nothing in a name says real or fake."""


class FaceLike(Protocol):
    """Anything with a face box ``(4,)`` ``x1, y1, x2, y2`` and landmarks ``(5, 2)`` (or ``None``) in image pixels."""

    box: np.ndarray
    landmarks: np.ndarray | None


# ---------------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlendParams:
    """Everything that defines one self-blend, relative to the face (plain values: recordable as JSON).

    Attributes:
        mask_kind: ``"hull"`` (convex hull of the five landmarks extended to forehead, cheeks and chin) or
            ``"ellipse"`` (from the landmarks, or from the box when there are none).
        mask_scale: growth of the hull / ellipse around its centre.
        elastic_seed: seed of the smooth random displacement field that deforms the mask (fixed field = fixed
            deformation relative to the face).
        elastic_amp: displacement amplitude, canvas pixels (the face box is ``CANVAS / 2`` wide).
        shift_x: source and mask translation, fraction of the box width.
        shift_y: source and mask translation, fraction of the box height.
        scale: source and mask scale about the box centre.
        rgb_shift: added to R, G, B (0-255 scale).
        hue_shift: added to OpenCV hue (0-180 scale).
        sat_shift: saturation multiplied by ``1 + sat_shift``.
        val_shift: value multiplied by ``1 + val_shift``.
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
    return BlendParams(
        mask_kind=str(rng.choice(["hull", "ellipse"])),
        mask_scale=float(rng.uniform(0.9, 1.1)),
        elastic_seed=int(rng.integers(0, 2**31 - 1)),
        elastic_amp=float(rng.uniform(2.0, 8.0)),
        shift_x=float(rng.uniform(-0.04, 0.04)),
        shift_y=float(rng.uniform(-0.02, 0.02)),
        scale=float(rng.uniform(0.95, 1 / 0.95)),
        rgb_shift=tuple(float(x) for x in rng.uniform(-20, 20, size=3)),  # type: ignore[arg-type]
        hue_shift=float(rng.uniform(-3, 3)),
        sat_shift=float(rng.uniform(-0.3, 0.3)),
        val_shift=float(rng.uniform(-0.1, 0.1)),
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


def _face_arrays(face: FaceLike | tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """(box (4,), landmarks (5, 2) or None) as float64 from a Face, a (box, landmarks) tuple or a bare box."""
    if isinstance(face, tuple):
        box, lms = face if len(face) == 2 else (face, None)
    elif isinstance(face, np.ndarray):
        box, lms = face, None
    else:
        box, lms = face.box, getattr(face, "landmarks", None)
    box = np.asarray(box, dtype=np.float64).reshape(4)
    if lms is not None:
        lms = np.asarray(lms, dtype=np.float64).reshape(5, 2)
        if not np.isfinite(lms).all():
            lms = None
    return box, lms


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

    With landmarks (canvas coordinates; left eye, right eye, nose, left / right mouth corner), ``hull`` extends the
    five points to the forehead, temples, jaw and chin (five points alone only cover eyes-nose-mouth) and takes
    their convex hull; ``ellipse`` is oriented along the eye line and sized by the eye distance and the eye-mouth
    distance. Without landmarks: an ellipse inside the box.
    """
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
        landmarks_canvas: (5, 2) landmarks in canvas coordinates, or None (ellipse from the box).
        params: the blend parameters.

    Example:
        >>> m = canvas_mask(None, sample_blend_params(np.random.default_rng(0)))
        >>> m.shape, float(m.max()) <= 1.0
        ((256, 256), True)
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
    hsv = [cv2.LUT(hsv[0], hue), cv2.LUT(hsv[1], _lut(lambda v: v * (1 + p.sat_shift))),
           cv2.LUT(hsv[2], _lut(lambda v: v * (1 + p.val_shift)))]
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
    box, lms = _face_arrays(face)
    if not np.isfinite(box).all() or box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    height, width = shape[:2]
    c2f = _canvas_to_frame(box)
    jit = _jitter_matrix(box, params)
    lms_c = None
    if lms is not None:
        f2c = np.linalg.inv(c2f)
        lms_c = (f2c[:2, :2] @ lms.T).T + f2c[:2, 2]  # (5, 2) canvas coordinates
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


def self_blend(frame: np.ndarray, face: FaceLike | tuple, params: BlendParams) -> np.ndarray:
    """Blend a jittered copy of the frame's own face back onto it (one SBI fake).

    ``out = mask * source + (1 - mask) * frame``, where ``source`` is the frame shifted/scaled by the jitter affine
    and colour/quality-jittered, and ``mask`` the soft deformed face mask moved by the same affine. Pixels where the
    mask is zero (everything away from the face) are returned unchanged, bit for bit.

    Args:
        frame: RGB uint8 (H, W, 3).
        face: a :class:`face_crop.detect.Face`, or a ``(box, landmarks)`` tuple (landmarks may be None), in the
            frame's pixels.
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
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
    out = frame.copy()
    geo = _blend_geometry(frame.shape, face, params)
    if geo is None:
        return out
    (x0, y0, x1, y1), mask, roi_jit = geo
    box, _ = _face_arrays(face)
    # Source: frame pixels seen through the jitter affine, computed only over the ROI (warpAffine's output size).
    src = cv2.warpAffine(frame, _cv_affine(roi_jit), (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)  # (h, w, 3)
    src = _jitter_colour(src, params, face_side=float(min(box[2] - box[0], box[3] - box[1])))
    tgt = frame[y0:y1, x0:x1].astype(np.float32)
    m = mask[..., None]  # (h, w, 1)
    blended = tgt + m * (src.astype(np.float32) - tgt)  # == tgt exactly where m == 0
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Clips
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class FaceTrack:
    """The face along a clip after gap interpolation and temporal smoothing.

    Attributes:
        boxes: float32 (T, 4), NaN where there is no face.
        landmarks: float32 (T, 5, 2), NaN where there is no face; None when the faces came without landmarks.
        detected: bool (T,): the detector found the face in that frame.
        valid: bool (T,): detected, or interpolated inside a short gap between two detections.
    """

    boxes: np.ndarray
    landmarks: np.ndarray | None
    detected: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    def face(self, i: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Frame ``i``'s face as a ``(box, landmarks)`` tuple, or None."""
        if not self.valid[i]:
            return None
        return self.boxes[i], (None if self.landmarks is None else self.landmarks[i])

    def slice(self, start: int, stop: int) -> FaceTrack:
        """Frames ``[start, stop)``."""
        lms = None if self.landmarks is None else self.landmarks[start:stop]
        return FaceTrack(self.boxes[start:stop], lms, self.detected[start:stop], self.valid[start:stop])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists (NaN as None) for JSON."""

        def plain(a: np.ndarray) -> list:
            return [None if not np.isfinite(r).all() else np.round(r, 2).tolist() for r in a]

        return {
            "boxes": plain(self.boxes),
            "landmarks": None if self.landmarks is None else plain(self.landmarks),
            "detected": self.detected.astype(int).tolist(),
            "valid": self.valid.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaceTrack:
        """Inverse of :meth:`to_dict`."""

        def arr(rows: list, shape: tuple[int, ...]) -> np.ndarray:
            out = np.full((len(rows), *shape), np.nan, np.float32)
            for i, r in enumerate(rows):
                if r is not None:
                    out[i] = np.asarray(r, np.float32).reshape(shape)
            return out

        lms = None if d.get("landmarks") is None else arr(d["landmarks"], (5, 2))
        return cls(arr(d["boxes"], (4,)), lms, np.asarray(d["detected"], bool), np.asarray(d["valid"], bool))


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True values.

    Example:
        >>> true_runs(np.array([0, 1, 1, 0, 1], bool))
        [(1, 3), (4, 5)]
    """
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with edge replication (x: (n, ...))."""
    n = len(x)
    if sigma <= 0 or n < 2:
        return x
    r = max(1, math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(x, [(r, r)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    return sum(k[j] * padded[j : j + n] for j in range(2 * r + 1)).astype(x.dtype)


def track_faces(faces: Sequence[FaceLike | tuple | None], max_gap: int = MAX_GAP,
                sigma: float = TRACK_SIGMA) -> FaceTrack:
    """Turn per-frame detections into a steady face track.

    Short gaps (at most ``max_gap`` frames between two detections) are filled by linear interpolation; frames
    before the first / after the last detection, or inside a longer gap, stay without a face. Boxes and landmarks are
    then smoothed with a Gaussian over time, within each run of frames with a face, so the mask does not jitter.

    Args:
        faces: one face (or None) per frame, e.g. from :meth:`face_crop.detect.FaceDetector.detect`.
        max_gap: longest gap that is interpolated.
        sigma: temporal smoothing, frames (0 = none).

    Returns:
        A :class:`FaceTrack`.

    Example:
        >>> box = np.array([10.0, 10, 50, 60])
        >>> track = track_faces([(box, None), None, (box + 4, None)], sigma=0)
        >>> track.valid.tolist(), track.boxes[1].tolist()
        ([True, True, True], [12.0, 12.0, 52.0, 62.0])
    """
    t = len(faces)
    boxes = np.full((t, 4), np.nan, np.float64)
    lms = np.full((t, 5, 2), np.nan, np.float64)
    has_lms = True
    for i, f in enumerate(faces):
        if f is None:
            continue
        b, lm = _face_arrays(f)
        if not np.isfinite(b).all():
            continue
        boxes[i] = b
        if lm is None:
            has_lms = False
        else:
            lms[i] = lm
    detected = np.isfinite(boxes).all(axis=1)
    valid = detected.copy()
    idx = np.flatnonzero(detected)
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= max_gap + 1:
            w = ((np.arange(a + 1, b) - a) / (b - a))[:, None]  # (gap, 1)
            boxes[a + 1 : b] = boxes[a] * (1 - w) + boxes[b] * w
            lms[a + 1 : b] = lms[a] * (1 - w[..., None]) + lms[b] * w[..., None]
            valid[a + 1 : b] = True
    for start, stop in true_runs(valid):
        boxes[start:stop] = _smooth(boxes[start:stop], sigma)
        if has_lms:
            lms[start:stop] = _smooth(lms[start:stop], sigma)
    landmarks = lms.astype(np.float32) if has_lms and detected.any() else None
    return FaceTrack(boxes.astype(np.float32), landmarks, detected, valid)


@dataclass
class SynthResult:
    """A blended clip: the frames (unchanged where there is no face), the parameters used per frame, the track."""

    frames: list[np.ndarray]
    params: list[BlendParams | None]
    track: FaceTrack


def blend_track(frames: Sequence[np.ndarray], track: FaceTrack, rng: np.random.Generator,
                consistent: bool = True, params: BlendParams | None = None) -> SynthResult:
    """Self-blend every frame that has a face in ``track`` (see :func:`synth_video`).

    ``params`` (consistent mode only) fixes the clip's parameters instead of drawing them from ``rng``.
    """
    if len(frames) != len(track):
        raise ValueError(f"{len(frames)} frames but a track of {len(track)}")
    fixed = (params or sample_blend_params(rng)) if consistent else None
    out: list[np.ndarray] = []
    used: list[BlendParams | None] = []
    for i, frame in enumerate(frames):
        face = track.face(i)
        if face is None:
            out.append(frame)
            used.append(None)
            continue
        p = fixed if fixed is not None else sample_blend_params(rng)
        out.append(self_blend(frame, face, p))
        used.append(p)
    return SynthResult(out, used, track)


def synth_video(frames: Sequence[np.ndarray], faces: Sequence[FaceLike | tuple | None], rng: np.random.Generator,
                consistent: bool = True, max_gap: int = MAX_GAP, sigma: float = TRACK_SIGMA) -> SynthResult:
    """Make a self-blended fake of a clip of full frames.

    Args:
        frames: RGB uint8 frames (H, W, 3) of one clip, consecutive.
        faces: the detector's face per frame (None where none was found), e.g. ``FaceDetector().detect(frames)``.
        rng: draws the parameters; the same seed gives the same pixels.
        consistent: one parameter set for the whole clip (True) or a new one for every frame (flicker).
        max_gap: longest run of missed detections that is interpolated (longer: frames left unchanged).
        sigma: temporal smoothing of boxes and landmarks, frames.

    Returns:
        :class:`SynthResult` (frames without a face are the input arrays, unchanged).

    Example:
        >>> detector = FaceDetector()  # doctest: +SKIP
        >>> res = synth_video(frames, detector.detect(frames), np.random.default_rng(0))  # doctest: +SKIP
        >>> encode_video("fake.mp4", res.frames, fps=30)  # doctest: +SKIP
    """
    return blend_track(frames, track_faces(faces, max_gap, sigma), rng, consistent)


def blend_clip(crops: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None, rng: np.random.Generator,
               consistent: bool = True) -> np.ndarray:
    """On-the-fly self-blended fake of a clip of face crops (training with ``train.synth_fakes > 0``).

    Args:
        crops: uint8 (T, H, W, 3) face crops of one video, in time order.
        boxes: (T, 4) face boxes in crop pixels (NaN rows: no face, crop left unchanged).
        landmarks: (T, 5, 2) landmarks in crop pixels, or None (elliptic masks from the boxes).
        rng: draws the parameters (same seed, same output).
        consistent: one parameter set for the clip, or one per crop (flicker).

    Returns:
        uint8 (T, H, W, 3); only the face region differs from ``crops``.

    Example:
        >>> crops = np.full((4, 224, 224, 3), 120, np.uint8)
        >>> boxes = np.tile([[52.0, 40, 172, 190]], (4, 1))
        >>> blend_clip(crops, boxes, None, np.random.default_rng(0)).shape
        (4, 224, 224, 3)
    """
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops (T, H, W, 3), got {crops.dtype} {crops.shape}")
    boxes = np.asarray(boxes, np.float64).reshape(len(crops), 4)
    lms = None if landmarks is None else np.asarray(landmarks, np.float64).reshape(len(crops), 5, 2)
    faces = [(boxes[t], None if lms is None else lms[t]) if np.isfinite(boxes[t]).all() else None
             for t in range(len(crops))]
    # Crops are sampled frames (stride 2): lighter smoothing than on consecutive frames.
    res = synth_video(list(crops), faces, rng, consistent=consistent, sigma=1.0)
    return np.stack(res.frames)  # (T, H, W, 3) uint8


# ---------------------------------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------------------------------


def encoder_options(bitrate: int) -> dict[str, str]:
    """libx264 options for constant bitrate ``bitrate`` (bit/s): the one encoder setting of the project.

    One encoder thread: multi-threaded x264 with rate control gives different bytes on every run, and so a different
    data set (and a different trained model) from the same seed; one thread costs ~30% on a short clip.
    """
    return {"preset": ENCODER_PRESET, "maxrate": str(bitrate), "bufsize": str(bitrate // 2),
            "x264-params": "nal-hrd=cbr", "threads": "1"}


def encode_video(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames as H.264 MP4 (libx264, yuv420p, constant bitrate from :data:`BITS_PER_PIXEL`), atomically.

    THE video writer: reals and fakes go through this one function, so bitrate, file size (about 1% apart for a fake
    and its real) and container metadata do not tell them apart.
    yuv420p needs even sizes: an odd width/height loses its last column/row (logged).

    Args:
        path: output ``.mp4``.
        frames: RGB uint8 (H, W, 3), all the same size.
        fps: frame rate (a fraction close to it is used, e.g. 24000/1001 for 23.976).

    Returns:
        The path written.

    Example:
        >>> encode_video("out/v0000.mp4", frames, fps=30.0)  # doctest: +SKIP
    """
    import av

    if not frames:
        raise ValueError("no frames to encode")
    h, w = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError("frames differ in size")
    ew, eh = w - w % 2, h - h % 2
    if ew < 2 or eh < 2:
        raise ValueError(f"frame too small to encode: {w}x{h}")
    if (ew, eh) != (w, h):
        log.warning("%s: odd frame size %dx%d cropped to %dx%d for yuv420p", path, w, h, ew, eh)
    rate = Fraction(fps if fps and fps > 0 else 25.0).limit_denominator(1001)
    with atomic_write(path, "wb") as f:
        container = av.open(f, mode="w", format="mp4")
        try:
            stream = container.add_stream(ENCODER, rate=rate)
            stream.width, stream.height, stream.pix_fmt = ew, eh, PIX_FMT
            bitrate = max(MIN_BITRATE, int(BITS_PER_PIXEL * ew * eh * float(rate)))
            stream.bit_rate = bitrate
            stream.options = encoder_options(bitrate)
            for frame in frames:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:eh, :ew]), format="rgb24")
                container.mux(stream.encode(vf))
            container.mux(stream.encode(None))  # flush the encoder's delayed frames
        finally:
            container.close()
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------------
# CLI: python -m dfdetect synth VIDEOS... OUT
# ---------------------------------------------------------------------------------------------------------------------

META_FIELDS = ("video_name", "target", "source", "k", "flicker", "seed", "max_frames", "status", "reason", "frames",
               "fps", "width", "height", "face_frames", "params")


def stable_seed(*parts: int | str) -> list[int]:
    """Entropy for ``np.random.default_rng`` from ints and strings (CRC32; stable across runs and machines).

    Example:
        >>> stable_seed(0, "a.mp4", 1) == stable_seed(0, "a.mp4", 1)
        True
    """
    return [int(p) if isinstance(p, int) else zlib.crc32(p.encode("utf-8")) for p in parts]


def assign_names(keys: Sequence[Any], taken: set[str], seed: int) -> dict[Any, str]:
    """Neutral names ``v0000.mp4``... for new outputs, in a seeded random order (the order leaks nothing).

    Args:
        keys: the outputs needing a name, in a deterministic order.
        taken: names already used in the folder.
        seed: shuffles which key gets which number.

    Example:
        >>> sorted(assign_names(["a", "b"], {"v0000.mp4"}, seed=0).values())
        ['v0001.mp4', 'v0002.mp4']
    """
    used = {int(n[1:-4]) for n in taken if NAME_PATTERN.match(n)}
    numbers: list[int] = []
    i = 0
    while len(numbers) < len(keys):
        if i not in used:
            numbers.append(i)
        i += 1
    order = np.random.default_rng(stable_seed(seed, "names", len(used))).permutation(len(keys))
    return {k: f"v{numbers[j]:04d}.mp4" for k, j in zip(keys, order)}


def _params_record(params: list[BlendParams | None], flicker: bool, seed: list[int]) -> str:
    """The params column: the clip's parameter set (consistent) or the seed that redraws them (flicker)."""
    if flicker:
        return json.dumps({"mode": "flicker", "seed": seed})
    first = next((p for p in params if p is not None), None)
    return json.dumps({"mode": "consistent", **(first.to_dict() if first else {})})


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dfdetect synth",
        description="Write self-blended fake videos (SBI extended to video) from real videos, plus OUT/labels.csv.",
    )
    p.add_argument("videos", nargs="+", help="real videos or folders of videos")
    p.add_argument("out", help="output folder (fakes v0000.mp4..., labels.csv, meta.csv)")
    p.add_argument("--per-video", type=int, default=1, help="fakes per input video (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed: same seed, same blended pixels")
    p.add_argument("--flicker", action="store_true", help="redraw the blend parameters every frame")
    p.add_argument("--no-reals", dest="with_reals", action="store_false",
                   help="write only the fakes (by default each real video is re-encoded into OUT with the same encoder "
                        "settings, target 0: otherwise the codec, bitrate and size alone would tell fakes from reals)")
    p.add_argument("--with-reals", dest="with_reals", action="store_true", help=argparse.SUPPRESS)  # the default
    p.add_argument("--max-frames", type=int, default=0,
                   help="use only the first N frames of each video (0 = all; bounds memory on long videos)")
    p.add_argument("--device", default="cpu", help="face detector device")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return _run(args)
    except InputError as e:
        log.error("%s", e)
        return 2


def _check_args(args: argparse.Namespace) -> list[Path]:
    """Validate the CLI arguments; returns the input files."""
    if args.per_video < 0 or args.max_frames < 0:
        raise InputError("--per-video and --max-frames must be >= 0")
    if args.per_video == 0 and not args.with_reals:
        raise InputError("nothing to write: --per-video 0 with --no-reals")
    files = collect_files(args.videos)
    if not files:
        raise InputError(f"no videos found in {', '.join(args.videos)}")
    names = [f.name for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"several inputs share the file name {dup[0]!r} (names key the seeds and the record)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output is not a folder: {out}")
    if any(f.resolve().parent == out.resolve() for f in files):
        raise InputError(f"OUT ({out}) holds input videos: write the fakes to another folder")
    return files


def _read_video(path: Path, max_frames: int) -> tuple[Any, list[np.ndarray]]:
    """(VideoInfo, frames) of one input; raises VideoError with the reason."""
    from frame_extraction.decode import VideoError, read_planned

    info, decoded = read_planned(path, lambda i: range(min(max_frames, i.num_frames) if max_frames else i.num_frames))
    frames = list(decoded.values())
    if not frames:
        raise VideoError(f"{path}: no decodable frame")
    if any(f.shape != frames[0].shape for f in frames):
        raise VideoError(f"{path}: frame size changes mid-video")
    return info, frames


def _run(args: argparse.Namespace) -> int:
    import av

    from frame_extraction.decode import VideoError

    files = _check_args(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "meta.csv"
    old = read_csv(meta_path) if meta_path.is_file() else []
    if old and set(META_FIELDS) - set(old[0]):
        raise InputError(f"{meta_path} was not written by this tool (columns differ)")

    # Outputs keyed by (source, target, k); a previous run's names are kept so that a resumed run continues.
    rows = {(r["source"], int(r["target"]), int(r["k"])): r for r in old if r["status"] == "ok" and r["video_name"]}
    skips: dict[str, dict[str, Any]] = {}
    wanted = [(f.name, 1, k) for f in files for k in range(args.per_video)]
    wanted += [(f.name, 0, 0) for f in files] if args.with_reals else []
    # Never a name already in OUT (ours from meta.csv, or any file of the user's): nothing there is overwritten.
    taken = {r["video_name"] for r in rows.values()} | ({p.name for p in out.iterdir()} if out.is_dir() else set())
    fresh = assign_names([k for k in wanted if k not in rows], taken, args.seed)
    name_of = {k: rows[k]["video_name"] if k in rows else fresh[k] for k in wanted}
    settings = {"seed": str(args.seed), "flicker": str(int(args.flicker)), "max_frames": str(args.max_frames)}

    def done(key: tuple[str, int, int]) -> bool:
        r = rows.get(key)
        if r is None or not (out / r["video_name"]).is_file():
            return False
        checked = settings if key[1] == 1 else {"max_frames": settings["max_frames"]}  # a real has no seed
        return all(str(r[s]) == v for s, v in checked.items())

    def flush() -> None:
        table = sorted(rows.values(), key=lambda r: r["video_name"]) + list(skips.values())
        write_csv(meta_path, table, META_FIELDS)
        write_csv(out / "labels.csv", [r for r in table if r["status"] == "ok"], ("video_name", "target"))

    detector = None
    n_ok = n_skipped = 0
    for path in tqdm(files, desc="synth", unit="video"):
        todo = [k for k in wanted if k[0] == path.name and not done(k)]
        skips.pop(path.name, None)
        try:
            if todo:
                info, frames = _read_video(path, args.max_frames)
                track = None
                if any(k[1] == 1 for k in todo):
                    if detector is None:
                        from face_crop.detect import FaceDetector

                        detector = FaceDetector(device=args.device)
                    track = track_faces(detector.detect(frames))
                    if not track.valid.any():
                        raise VideoError("no face detected")
                for key in todo:
                    rows[key] = _write_output(out / name_of[key], key, info, frames, track, args, settings)
        except (VideoError, ValueError, OSError, RuntimeError, av.error.FFmpegError) as e:
            log.warning("skipped %s: %s", path, e)
            skips[path.name] = {"source": path.name, "status": "skipped", "reason": str(e)}
            n_skipped += 1
        else:
            n_ok += 1
        flush()
    log.info("%d videos done, %d skipped; %s", n_ok, n_skipped, out / "labels.csv")
    return 0 if n_ok else 1


def _write_output(path: Path, key: tuple[str, int, int], info: Any, frames: list[np.ndarray],
                  track: FaceTrack | None, args: argparse.Namespace, settings: dict[str, str]) -> dict[str, Any]:
    """Encode one output (a fake of ``frames``, or the re-encoded real) and return its meta row."""
    source, target, k = key
    h, w = frames[0].shape[:2]
    row: dict[str, Any] = {"video_name": path.name, "target": target, "source": source, "k": k, "status": "ok",
                           "reason": "", "frames": len(frames), "fps": round(info.fps, 6), "width": w - w % 2,
                           "height": h - h % 2, "max_frames": settings["max_frames"]}
    if target == 1 and track is not None:
        seed = stable_seed(args.seed, source, k)
        res = blend_track(frames, track, np.random.default_rng(seed), consistent=not args.flicker)
        encode_video(path, res.frames, info.fps)
        row.update(seed=settings["seed"], flicker=settings["flicker"], face_frames=int(track.valid.sum()),
                   params=_params_record(res.params, args.flicker, seed))
    else:
        encode_video(path, frames, info.fps)
    log.info("%s -> %s (%s)", source, path.name, "fake" if target else "real")
    return row
