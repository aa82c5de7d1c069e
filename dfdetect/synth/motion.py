"""Fakes that exist only in time: every frame is a real frame of the person, the face moves as that face did not.

Three generators (:data:`dfdetect.synth.registry.GENERATORS`), each after a published description of the traces that
lip-sync, reenactment and frame-by-frame generation leave across frames. Each pastes only the same person's own
pixels from the same clip (another frame, or the same frame moved), aligned on the face's rigid points (eye corners,
nose, cheeks: :data:`RIGID_DENSE`, or MTCNN's eyes and nose) with a least-squares similarity, and blends them through
a soft mask (an ellipse of the region, Gaussian-blurred, peak 1); the mask is what :class:`~dfdetect.synth.base.Edit`
records. A single frame shows a real mouth, real eyes, a real face; the sequence is what is wrong:

- ``mouthretime`` (:func:`mouthretime_plan`): the mouth of each frame is the same person's mouth from another frame of
  the clip, in an order speech did not have (reversed, shuffled, frozen, or lagging by a few frames): lip-sync's
  mismatch between mouth and time (Wav2Lip, Prajwal et al., ACM MM 2020, as LipForensics, Haliassos et al., CVPR 2021,
  detects it; phoneme-viseme mismatches, Agarwal et al., CVPRW 2020).
- ``eyefreeze`` (:func:`eyefreeze_plan`): the eye region held from one frame (eyes open), or replayed in slow motion,
  while the rest of the face moves: no or abnormal blinking ("In Ictu Oculi", Li et al., WIFS 2018).
- ``facejitter`` (:func:`facejitter_plan`): the inner face re-pasted on its own frame with a small per-frame shift,
  rotation and scale the head does not have: the face shakes against the head, as frame-by-frame swaps do (FTCN,
  Zheng et al., ICCV 2021: "temporal incoherence").
- ``facewarp`` (:func:`facewarp_plan`): no paste at all. Each frame's inner face is bent by its own smooth random
  displacement field that fades to zero towards the face's edge (no seam, no blend, no colour change: one frame is
  a plausible face of that person), drawn anew for every frame: the features "boil" from frame to frame, as
  frame-by-frame generation leaves them (FTCN; STIL, Gu et al., ACM MM 2021: frame-level inconsistency in time).
  The three above paste a region through a soft mask, whose edge a frame model can learn; this one leaves none.

With probability :data:`~dfdetect.synth.temporal.PARTIAL_P` only a contiguous stretch of the clip is changed
(:func:`~dfdetect.synth.temporal.blended_span`); a frame whose source is itself is left alone (mask None). On one
image there is no time: the image is left alone.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from dfdetect.synth.base import Clip, Edit, Face, Plan
from dfdetect.synth.landmarks import five_from_dense
from dfdetect.synth.selfswap import similarity
from dfdetect.synth.temporal import blended_span

RIGID_DENSE = (33, 133, 362, 263, 6, 168, 197, 1, 4, 234, 454, 10, 151)
"""Face Mesh points that move with the head, not with the mouth or the eyes: eye corners, nose bridge and tip, cheeks,
forehead."""
MAX_COLOUR_MATCH = 8.0
"""The pasted region's mean colour is matched to the frame's under the mask, by at most this much per channel."""
MOUTH_MODES = ("reverse", "shuffle", "freeze", "lag")
"""How ``mouthretime`` reorders the mouths of the changed stretch."""
EYE_MODES = ("hold", "slow")
"""How ``eyefreeze`` replays the eyes: held from one frame, or at a third to a quarter of their speed."""
JITTER_SHIFT = (0.01, 0.025)
"""Range of the per-clip standard deviation of ``facejitter``'s per-frame shift, fraction of the face box."""
JITTER_MAX_SHIFT = 0.03
"""``facejitter``'s per-frame shift is clipped to this fraction of the face box."""
JITTER_ANGLE_DEG = 1.0
"""Standard deviation of ``facejitter``'s per-frame rotation (clipped to twice that)."""
JITTER_SCALE = 0.01
"""Standard deviation of ``facejitter``'s per-frame relative scale change (clipped to twice that)."""
WARP_AMPLITUDE = (0.015, 0.035)
"""Range of the per-clip standard deviation of ``facewarp``'s displacement, fraction of the face box width."""
WARP_MAX = 2.5
"""``facewarp``'s displacement is clipped to this many standard deviations."""
WARP_GRID = 4
"""``facewarp``'s displacement field: a random ``WARP_GRID x WARP_GRID`` grid per frame and axis over the inner face,
interpolated bicubically (smooth: features bend, edges do not tear)."""


# ---------------------------------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------------------------------


def _five(face: Face) -> np.ndarray:
    """Eyes, nose, mouth corners (5, 2): from dense landmarks, the five given, or guessed inside the box."""
    box, lms = face
    if lms is not None and len(lms) > 5:
        return five_from_dense(lms)
    if lms is not None and len(lms) == 5:
        return lms
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    rel = np.array([[0.33, 0.4], [0.67, 0.4], [0.5, 0.58], [0.37, 0.75], [0.63, 0.75]])  # a frontal face in its box
    return np.array([x1, y1]) + rel * np.array([w, h])


def _rigid(face: Face) -> np.ndarray:
    """Points that move with the head (N, 2): :data:`RIGID_DENSE` of dense landmarks, else eyes and nose."""
    lms = face[1]
    if lms is not None and len(lms) > 5:
        return lms[list(RIGID_DENSE)]
    return _five(face)[:3]


def _axes(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eye centre, eye-line vector h: left -> right eye, eyes-to-mouth vector v), image pixels."""
    le, re_, _, ml, mr = _five(face)
    ec = (le + re_) / 2
    return ec, re_ - le, (ml + mr) / 2 - ec


def _ellipse(mask: np.ndarray, centre: np.ndarray, a: float, b: float, angle_rad: float) -> None:
    """Fill a solid ellipse (semi-axes ``a`` along ``angle``, ``b`` across) into ``mask`` float32 (H, W) with 1."""
    cv2.ellipse(mask, (int(round(centre[0] * 16)), int(round(centre[1] * 16))),
                (max(1, int(round(a * 16))), max(1, int(round(b * 16)))), math.degrees(angle_rad), 0, 360, 1.0,
                thickness=-1, lineType=cv2.LINE_AA, shift=4)


def _soften(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-blurred mask, peak rescaled to 1 (the inside fully replaced, a soft edge)."""
    sigma = max(sigma, 0.5)
    k = 2 * int(math.ceil(3 * sigma)) + 1
    out = cv2.GaussianBlur(mask, (k, k), sigma)
    peak = float(out.max())
    return out / np.float32(peak) if peak > 0 else out


def _region_mask(shape: tuple[int, ...], faces: list[Face], region: str) -> np.ndarray:
    """Soft mask float32 (H, W) in [0, 1] of a region (``mouth``, ``eyes`` or ``face``) of each face, united.

    Sizes follow the face's own axes (eye distance |h|, eyes-to-mouth distance |v|), so the same region is covered
    at any face size; the mouth ellipse reaches down towards the chin so an opening jaw stays inside it.
    """
    mask = np.zeros(shape[:2], np.float32)
    sigma = 0.0
    for face in faces:
        ec, h, v = _axes(face)
        nh, nv = float(np.linalg.norm(h)), float(np.linalg.norm(v))
        angle = math.atan2(h[1], h[0])
        if region == "mouth":
            _ellipse(mask, ec + 1.12 * v, 0.78 * nh, 0.42 * nv, angle)
            sigma = max(sigma, 0.07 * nh)
        elif region == "eyes":
            le, re_ = _five(face)[:2]
            for eye in (le, re_):
                _ellipse(mask, eye - 0.06 * v, 0.34 * nh, 0.2 * nh, angle)
            sigma = max(sigma, 0.06 * nh)
        else:  # the inner face: brows to chin, cheek to cheek, as a swap's blend region
            _ellipse(mask, ec + 0.4 * v, 0.9 * nh, 1.2 * nv, angle)
            sigma = max(sigma, 0.08 * nh)
    return _soften(mask, sigma)


def paste(target: np.ndarray, source: np.ndarray, source_to_target: np.ndarray,
          mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``out = mask * warp(source) + (1 - mask) * target`` over the mask's support only, mean colour matched.

    Args:
        target: RGB uint8 (H, W, 3).
        source: RGB uint8 (H', W', 3), the same person (another frame of the clip, or ``target`` itself).
        source_to_target: 3x3 affine, source pixels -> target pixels.
        mask: float32 (H, W) in [0, 1].

    Returns:
        ``(new frame, mask)``; ``(copy of target, None)`` when the mask is empty. Pixels where the mask is 0 keep
        their bytes.

    Example:
        >>> img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> m = np.zeros((32, 32), np.float32); m[8:16, 8:16] = 1
        >>> shift = np.array([[1.0, 0, 3], [0, 1, 0], [0, 0, 1]])
        >>> out, used = paste(img, img, shift, m)
        >>> bool((out[m == 0] == img[m == 0]).all()), bool((out[m > 0] != img[m > 0]).any()), used is m
        (True, True, True)
    """
    out = target.copy()
    x, y, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return out, None
    to_roi = np.array([[1.0, 0, -x], [0, 1.0, -y], [0, 0, 1.0]]) @ source_to_target
    src = cv2.warpAffine(source, to_roi[:2], (w, h), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT_101).astype(np.float32)  # (h, w, 3)
    tgt = target[y:y + h, x:x + w].astype(np.float32)
    m = mask[y:y + h, x:x + w, None]  # (h, w, 1)
    weight = float(m.sum())
    delta = ((tgt - src) * m).reshape(-1, 3).sum(0) / max(weight, 1e-6)  # (3,) mean colour difference under the mask
    src += np.clip(delta, -MAX_COLOUR_MATCH, MAX_COLOUR_MATCH).astype(np.float32)
    out[y:y + h, x:x + w] = np.clip(np.rint(tgt + m * (src - tgt)), 0, 255).astype(np.uint8)
    return out, mask


def _transplant(clip: Clip, t: int, s: int, region: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Frame ``t`` with ``region`` taken from frame ``s`` of the clip, aligned on the rigid points."""
    tgt_face, src_face = clip.faces[t], clip.faces[s]
    m = similarity(_rigid(src_face), _rigid(tgt_face))  # frame s pixels -> frame t pixels
    # The mask covers the region in frame t and where frame s's region lands (an open mouth is not cut off).
    mask = _region_mask(clip.images[t].shape, [tgt_face, (tgt_face[0], _moved_lms(src_face, m))], region)
    return paste(clip.images[t], clip.images[s], m, mask)


def _moved_lms(face: Face, m: np.ndarray) -> np.ndarray:
    """The face's five points (from dense ones where there are) mapped through the affine ``m``."""
    return _five(face) @ m[:2, :2].T + m[:2, 2]


# ---------------------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------------------


MIN_SPAN = 3
"""A changed stretch holds at least this many faces (where the clip has them): a retimed stretch of two frames
changes only one."""


def _span_frames(clip: Clip, rng: np.random.Generator) -> tuple[list[int], int, int]:
    """The images with a face, and the changed ``[start, stop)`` among them (at least :data:`MIN_SPAN` long)."""
    with_face = [i for i, f in enumerate(clip.faces) if f is not None]
    n = len(with_face)
    start, stop = blended_span(rng, n)
    if stop - start < min(MIN_SPAN, n):
        stop = min(n, start + MIN_SPAN)
        start = max(0, stop - MIN_SPAN)
    return with_face, start, stop


def mouth_schedule(mode: str, n: int, rng: np.random.Generator) -> list[int]:
    """Source position (0..n-1) of each of ``n`` changed frames' mouths.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mouth_schedule("reverse", 4, rng), mouth_schedule("freeze", 3, rng)
        ([3, 2, 1, 0], [2, 2, 2])
    """
    if mode == "reverse":
        return list(range(n - 1, -1, -1))
    if mode == "shuffle":
        return [int(i) for i in rng.permutation(n)]
    if mode == "freeze":
        return [int(rng.integers(0, n))] * n
    lag = int(rng.integers(2, max(3, n // 3 + 1))) * int(rng.choice([-1, 1]))  # a lip-sync offset of a few frames
    return [min(max(j + lag, 0), n - 1) for j in range(n)]


def _eye_opening(face: Face) -> float:
    """Eye opening (lid distance / eye width, both eyes), dense landmarks only; 0 without them."""
    lms = face[1]
    if lms is None or len(lms) <= 5:
        return 0.0
    return float(sum(np.linalg.norm(lms[u] - lms[d]) / max(np.linalg.norm(lms[a] - lms[b]), 1e-6)
                     for u, d, a, b in ((159, 145, 33, 133), (386, 374, 263, 362))))


def eye_schedule(mode: str, openings: list[float], rng: np.random.Generator) -> list[int]:
    """Source position of each changed frame's eyes: one frame held (the widest-open one where dense landmarks tell,
    else a random one), or the stretch replayed at a third to a quarter of its speed.

    Example:
        >>> eye_schedule("hold", [0.1, 0.5, 0.2], np.random.default_rng(0)), eye_schedule("slow", [0] * 5,
        ...     np.random.default_rng(0))
        ([1, 1, 1], [0, 0, 0, 0, 1])
    """
    n = len(openings)
    if mode == "hold":
        k = int(np.argmax(openings)) if max(openings) > 0 else int(rng.integers(0, n))
        return [k] * n
    factor = int(rng.integers(3, 5))
    return [j // factor for j in range(n)]


# ---------------------------------------------------------------------------------------------------------------------
# The generators' recipes
# ---------------------------------------------------------------------------------------------------------------------


def _retime_plan(clip: Clip, rng: np.random.Generator, region: str) -> Plan:
    """Shared recipe of ``mouthretime`` and ``eyefreeze``: each changed frame's ``region`` from a scheduled frame."""
    with_face, start, stop = _span_frames(clip, rng)
    span = with_face[start:stop]
    if region == "mouth":
        mode = str(rng.choice(MOUTH_MODES))
        order = mouth_schedule(mode, len(span), rng)
    else:
        mode = str(rng.choice(EYE_MODES))
        order = eye_schedule(mode, [_eye_opening(clip.faces[i]) for i in span], rng)
    source = {t: span[j] for t, j in zip(span, order)}

    def edit(t: int) -> Edit | None:
        s = source.get(t)
        if s is None or s == t:  # outside the stretch, or its own region: left alone
            return None
        frame, mask = _transplant(clip, t, s, region)
        return Edit(frame, mask, {"mode": mode, "source": s})

    return Plan(edit, {"span": [start, stop], "mode": mode})


def mouthretime_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``mouthretime`` generator's recipe: each frame's mouth is the person's mouth from another frame of the clip.

    Lip-sync (Wav2Lip, Prajwal et al., ACM MM 2020) regenerates only the mouth, frame by frame, to fit another sound;
    LipForensics (Haliassos et al., CVPR 2021) and the phoneme-viseme mismatches of Agarwal et al. (CVPRW 2020) catch
    it by the mouth's movement. Here the mouths of a stretch are reordered (:data:`MOUTH_MODES`): each is a real mouth
    of that person, aligned on the face's rigid points; the speech they show is not the clip's.

    Args:
        clip: images in time order and their faces (:class:`~dfdetect.synth.base.Clip`); donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`: records ``{"mode", "source"}`` (the mouth's frame index), extra
        ``{"span", "mode"}``.
    """
    return _retime_plan(clip, rng, "mouth")


def eyefreeze_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``eyefreeze`` generator's recipe: the eye region held from one frame, or replayed slowly, over a stretch.

    Generated faces blink too rarely or oddly ("In Ictu Oculi: Exposing AI Created Fake Videos by Detecting Eye
    Blinking", Li, Chang & Lyu, WIFS 2018). Here the eyes of a stretch come from one frame of it (the widest-open,
    where dense landmarks tell) or from the stretch slowed 3-4x (:data:`EYE_MODES`), aligned on the rigid points while
    the rest of the face moves on.

    Args:
        clip: images in time order and their faces; donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`: records ``{"mode", "source"}``, extra ``{"span", "mode"}``.
    """
    return _retime_plan(clip, rng, "eyes")


def facejitter_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``facejitter`` generator's recipe: the inner face re-pasted on its own frame with a per-frame jitter.

    Frame-by-frame face swaps align, generate and paste each frame on its own, so the pasted face shakes a little
    against the head across frames, the "temporal incoherence" FTCN (Zheng et al., ICCV 2021) learns to see. Here the
    inner face of each frame of a stretch is shifted (per-clip standard deviation in :data:`JITTER_SHIFT` of the face
    box, clipped to :data:`JITTER_MAX_SHIFT`), rotated (:data:`JITTER_ANGLE_DEG`) and scaled (:data:`JITTER_SCALE`)
    about its centre, independently per frame, and blended back through a soft mask fixed to the head.

    Args:
        clip: images in time order and their faces; donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`: records ``{"dx", "dy"}`` (fractions of the box), ``"angle_deg"``,
        ``"scale"``; extra ``{"span", "shift_std"}``.
    """
    with_face, start, stop = _span_frames(clip, rng)
    std = float(rng.uniform(*JITTER_SHIFT))
    draws = {}
    for t in with_face[start:stop]:
        d = np.clip(rng.normal(0.0, std, size=2), -JITTER_MAX_SHIFT, JITTER_MAX_SHIFT)
        angle = float(np.clip(rng.normal(0.0, JITTER_ANGLE_DEG), -2 * JITTER_ANGLE_DEG, 2 * JITTER_ANGLE_DEG))
        scale = float(1 + np.clip(rng.normal(0.0, JITTER_SCALE), -2 * JITTER_SCALE, 2 * JITTER_SCALE))
        draws[t] = (float(d[0]), float(d[1]), angle, scale)

    def edit(t: int) -> Edit | None:
        if t not in draws:
            return None
        dx, dy, angle, scale = draws[t]
        face = clip.faces[t]
        x1, y1, x2, y2 = face[0]
        ec, _, v = _axes(face)
        c = ec + 0.4 * v  # the inner face's centre
        rot = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), angle, scale)  # (2, 3) about c
        m = np.vstack([rot, [0.0, 0.0, 1.0]])
        m[:2, 2] += (dx * (x2 - x1), dy * (y2 - y1))
        mask = _region_mask(clip.images[t].shape, [face], "face")
        frame, used = paste(clip.images[t], clip.images[t], m, mask)
        return Edit(frame, used, {"dx": round(dx, 4), "dy": round(dy, 4), "angle_deg": round(angle, 3),
                                  "scale": round(scale, 4)})

    return Plan(edit, {"span": [start, stop], "shift_std": round(std, 4)})


def warp_face(image: np.ndarray, face: Face, grid: np.ndarray,
              amplitude: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The inner face of ``image`` bent by a smooth displacement field that fades to zero at the face's edge.

    Args:
        image: RGB uint8 (H, W, 3).
        face: its face (box, landmarks).
        grid: (2, g, g) displacement control points (x and y), in standard deviations.
        amplitude: one standard deviation of displacement, fraction of the face box width.

    Returns:
        ``(new frame, mask)``: the mask float32 (H, W) is the fading window (1 where the field acts fully, 0 where
        pixels keep their bytes); ``(copy, None)`` for a degenerate face.

    Example:
        >>> img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        >>> box = np.array([16.0, 12, 48, 52])
        >>> out, mask = warp_face(img, (box, None), np.ones((2, 4, 4)), 0.05)
        >>> bool((out[mask == 0] == img[mask == 0]).all()), bool((out != img).any())
        (True, True)
    """
    window = _region_mask(image.shape, [face], "face")  # (H, W) soft ellipse of the inner face, peak 1
    x, y, w, h = cv2.boundingRect((window > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return image.copy(), None
    scale = amplitude * float(face[0][2] - face[0][0])  # px per standard deviation
    g = np.clip(grid, -WARP_MAX, WARP_MAX).astype(np.float32) * np.float32(scale)
    win = window[y:y + h, x:x + w]  # (h, w)
    dx = cv2.resize(g[0], (w, h), interpolation=cv2.INTER_CUBIC) * win  # (h, w) px, 0 wherever the window is
    dy = cv2.resize(g[1], (w, h), interpolation=cv2.INTER_CUBIC) * win
    xs, ys = np.meshgrid(np.arange(x, x + w, dtype=np.float32), np.arange(y, y + h, dtype=np.float32))
    # Lanczos: at whole-pixel positions (no displacement) it returns the pixel itself; inside, it blurs least.
    roi = cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT_101)
    out = image.copy()
    keep = (win > 0)[..., None]
    out[y:y + h, x:x + w] = np.where(keep, roi, image[y:y + h, x:x + w])
    return out, window


def facewarp_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``facewarp`` generator's recipe: each frame's inner face bent by its own smooth displacement field.

    A face generated frame by frame (a swap or a reenactment run on each frame alone) is a plausible face in every
    frame, but its features do not stay put between frames: they flicker and "boil" where the real face moves
    smoothly, the temporal incoherence FTCN (Zheng et al., ICCV 2021) and STIL (Gu et al., ACM MM 2021) detect.
    Here each frame of a stretch gets its own random displacement field (:data:`WARP_GRID` control points per axis,
    per-clip standard deviation in :data:`WARP_AMPLITUDE` of the face width, bicubic, faded to zero at the inner
    face's edge): no paste, no blend edge, no colour or sharpness change in any one frame; only the sequence shows it.

    Args:
        clip: images in time order and their faces; donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`: records ``{"peak"}`` (the frame's largest control displacement, in
        standard deviations); extra ``{"span", "amplitude"}``.
    """
    with_face, start, stop = _span_frames(clip, rng)
    amplitude = float(rng.uniform(*WARP_AMPLITUDE))
    grids = {t: rng.normal(0.0, 1.0, size=(2, WARP_GRID, WARP_GRID)) for t in with_face[start:stop]}

    def edit(t: int) -> Edit | None:
        if t not in grids:
            return None
        frame, mask = warp_face(clip.images[t], clip.faces[t], grids[t], amplitude)
        return Edit(frame, mask, {"peak": round(float(np.abs(grids[t]).max()), 3)})

    return Plan(edit, {"span": [start, stop], "amplitude": round(amplitude, 4)})
