"""Fakes that exist only in time: every frame is a real frame of the person, the face moves as that face did not.

Five generators (:data:`dfdetect.synth.registry.GENERATORS`), each after a published description of the traces that
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
- ``timeblend`` (:func:`timeblend_plan`): the generic one, SBI's idea applied to time: a random region of the face
  retimed, moved and/or bent per frame with random strength and random smoothness in time; the four above are narrow
  cases of it. Trained on, it teaches how a face moves rather than one generator's trace.

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
from dfdetect.synth.temporal import blended_span
from face_crop.mesh import similarity

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


def warp_face(image: np.ndarray, face: Face, grid: np.ndarray, amplitude: float,
              window: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The inner face of ``image`` bent by a smooth displacement field that fades to zero at the face's edge.

    Args:
        image: RGB uint8 (H, W, 3).
        face: its face (box, landmarks).
        grid: (2, g, g) displacement control points (x and y), in standard deviations.
        amplitude: one standard deviation of displacement, fraction of the face box width.
        window: float32 (H, W) in [0, 1], where the field acts (faded to 0 at its edge); None: the inner face.

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
    if window is None:
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


TB_WHOLE_P = 0.3
"""``timeblend``: probability that the region is the whole inner face (otherwise a random ellipse on the face)."""
TB_BLOB = (0.3, 0.9)
"""``timeblend``: range of the random region's semi-axes, fraction of the eye distance."""
TB_PARTS = {"retime": 0.6, "jitter": 0.5, "warp": 0.4}
"""``timeblend``: probability of each kind of change in a clip (at least one is always drawn): the region taken from
other frames (retime), moved per frame (jitter), bent per frame (warp)."""
TB_SPEED = (-1.0, 0.6)
"""``timeblend``'s retiming: range of the region's playback speed relative to the clip (negative: backwards; 0: held;
never 1, real time)."""
TB_JUMP_P = (0.0, 0.5)
"""``timeblend``'s retiming: range of the per-clip probability that a frame's source jumps by 1-3 frames."""
TB_SHIFT = (0.005, 0.03)
"""``timeblend``'s jitter: range of the per-clip standard deviation of the shift, fraction of the face box."""
TB_ANGLE_DEG = (0.0, 1.5)
"""``timeblend``'s jitter: range of the per-clip standard deviation of the rotation, degrees."""
TB_SCALE = (0.0, 0.015)
"""``timeblend``'s jitter: range of the per-clip standard deviation of the relative scale change."""
TB_RHO = (0.0, 0.9)
"""``timeblend``: range of the frame-to-frame correlation of the jitter and of the warp (0: a new draw per frame, as
frame-by-frame generation; 0.9: a slow drift)."""
TB_MAX_SIGMA = 2.5
"""``timeblend``'s per-frame draws are clipped to this many standard deviations."""


def _ar1(rng: np.random.Generator, n: int, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """``n`` draws (n, *shape) of a stationary AR(1) process with unit variance and correlation ``rho``, clipped to
    :data:`TB_MAX_SIGMA`.

    Example:
        >>> x = _ar1(np.random.default_rng(0), 4000, (1,), 0.9)
        >>> round(float(x.std()), 1), round(float(np.corrcoef(x[1:, 0], x[:-1, 0])[0, 1]), 1)
        (1.0, 0.9)
    """
    out = np.empty((n, *shape))
    state = rng.normal(size=shape)
    for t in range(n):
        if t:
            state = rho * state + math.sqrt(1 - rho * rho) * rng.normal(size=shape)
        out[t] = state
    return np.clip(out, -TB_MAX_SIGMA, TB_MAX_SIGMA)


def _blob_mask(shape: tuple[int, ...], face: Face, blob: tuple[float, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """``timeblend``'s soft region in this frame and its centre: the inner face (``blob`` None) or an ellipse placed
    by ``blob = (u, w, a, b, angle, sigma)`` in the face's own axes (centre = eye centre + u h + w v, semi-axes a|h|
    and b|h|, angle from the eye line, edge blur sigma|h|), so the region follows the face from frame to frame."""
    ec, h, v = _axes(face)
    if blob is None:
        return _region_mask(shape, [face], "face"), ec + 0.4 * v
    u, w, a, b, angle, sigma = blob
    nh = float(np.linalg.norm(h))
    centre = ec + u * h + w * v
    mask = np.zeros(shape[:2], np.float32)
    _ellipse(mask, centre, a * nh, b * nh, math.atan2(h[1], h[0]) + angle)
    return _soften(mask, sigma * nh), centre


def retime_schedule(n: int, speed: float, jump_p: float, rng: np.random.Generator) -> list[int]:
    """Source position (0..n-1) of each of ``n`` frames: the stretch played at ``speed`` about a random frame, each
    source jumping by 1-3 frames with probability ``jump_p``.

    Example:
        >>> retime_schedule(5, 0.0, 0.0, np.random.default_rng(0))  # held
        [4, 4, 4, 4, 4]
        >>> retime_schedule(5, -1.0, 0.0, np.random.default_rng(1))  # backwards
        [4, 3, 2, 1, 0]
        >>> retime_schedule(3, 0.6, 0.0, np.random.default_rng(1))  # rounds to real time: held instead
        [1, 1, 1]
    """
    c = int(rng.integers(0, n))
    jumps = np.where(rng.random(n) < jump_p, rng.integers(1, 4, n) * rng.choice([-1, 1], n), 0)
    order = [int(min(max(round(c + speed * (j - c) + jumps[j]), 0), n - 1)) for j in range(n)]
    # a slow speed on a short stretch can round back to real time: then the stretch is held
    return [c] * n if order == list(range(n)) else order


def timeblend_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``timeblend`` generator's recipe: a self-blended video in time, the generic fake of the time-only family.

    SBI (Shiohara & Yamasaki, CVPR 2022) does not imitate one face swap: it draws blend regions and mismatches at
    random, so that a detector learns the blend itself rather than one method's trace. This is the same idea for
    time: a random region of the face (the inner face, or an ellipse of random place, size and angle that follows the
    face) is, over a stretch of the clip, taken from other frames of the same clip (played at a random speed,
    backwards, held, or with random jumps: :data:`TB_SPEED`, :data:`TB_JUMP_P`), moved per frame by a random shift,
    rotation and scale (:data:`TB_SHIFT`, :data:`TB_ANGLE_DEG`, :data:`TB_SCALE`) and/or bent per frame by a random
    smooth field (:func:`warp_face`), the per-frame draws correlated in time by a random amount (:data:`TB_RHO`: from
    frame-by-frame flicker to a slow drift). Each kind is drawn with :data:`TB_PARTS`' probabilities, at least one.
    Every pixel comes from the same person in the same clip: one frame shows a real face; the sequence moves as that
    face did not. FakeSTormer (ICCV 2025) trains a video detector on self-blended videos whose artefacts vary over
    time; here the artefact is ONLY the variation. The four named time-only generators are narrow cases of it (one
    region, one kind of change): train on it to learn how a face should move, not one generator's trace; a benchmark
    that leaves a named one out while training on this one tests a recipe never seen, not a kind of motion never seen.

    Args:
        clip: images in time order and their faces; donors are not used.
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`: records ``{"source", "dx", "dy", "angle_deg", "scale", "warp"}`` (the
        region's source frame; the jitter, fractions of the box and degrees; the warp's peak in standard deviations
        or None); extra ``{"span", "region", "parts", "speed", "rho"}``.
    """
    with_face, start, stop = _span_frames(clip, rng)
    span = with_face[start:stop]
    parts = [k for k, p in TB_PARTS.items() if rng.random() < p] or [str(rng.choice(list(TB_PARTS)))]
    blob = None if rng.random() < TB_WHOLE_P else (
        float(rng.uniform(-0.45, 0.45)), float(rng.uniform(-0.1, 1.3)), float(rng.uniform(*TB_BLOB)),
        float(rng.uniform(*TB_BLOB)), float(rng.uniform(-math.pi / 2, math.pi / 2)), float(rng.uniform(0.05, 0.12)))
    rho = float(rng.uniform(*TB_RHO))
    speed = float(rng.uniform(*TB_SPEED))
    n = len(span)
    order = (retime_schedule(n, speed, float(rng.uniform(*TB_JUMP_P)), rng) if "retime" in parts
             else list(range(n)))
    source = {t: span[j] for t, j in zip(span, order)}
    jitter = None
    if "jitter" in parts:
        stds = np.array([rng.uniform(*TB_SHIFT), rng.uniform(*TB_SHIFT), rng.uniform(*TB_ANGLE_DEG),
                         rng.uniform(*TB_SCALE)])
        jitter = dict(zip(span, _ar1(rng, n, (4,), rho) * stds))  # per frame (dx, dy, angle_deg, scale - 1)
    warp, amplitude = None, 0.0
    if "warp" in parts:
        amplitude = float(rng.uniform(*WARP_AMPLITUDE))
        warp = dict(zip(span, _ar1(rng, n, (2, WARP_GRID, WARP_GRID), rho)))

    def edit(t: int) -> Edit | None:
        s = source.get(t)
        if s is None or (s == t and jitter is None and warp is None):
            return None
        face = clip.faces[t]
        mask, centre = _blob_mask(clip.images[t].shape, face, blob)
        m = similarity(_rigid(clip.faces[s]), _rigid(face)) if s != t else np.eye(3)  # frame s px -> frame t px
        dx = dy = angle = 0.0
        scale = 1.0
        if jitter is not None:
            dx, dy, angle, ds = (float(x) for x in jitter[t])
            scale = 1.0 + ds
            x1, y1, x2, y2 = face[0]
            rot = np.vstack([cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale),
                             [0.0, 0.0, 1.0]])
            rot[:2, 2] += (dx * (x2 - x1), dy * (y2 - y1))
            m = rot @ m
        frame = clip.images[t]
        if s != t or jitter is not None:
            frame, _ = paste(frame, clip.images[s], m, mask)
        peak = None
        if warp is not None:
            frame, _ = warp_face(frame, face, warp[t], amplitude, window=mask)
            peak = round(float(np.abs(warp[t]).max()), 3)
        return Edit(frame, mask, {"source": s, "dx": round(dx, 4), "dy": round(dy, 4), "angle_deg": round(angle, 3),
                                  "scale": round(scale, 4), "warp": peak})

    return Plan(edit, {"span": [start, stop], "region": "face" if blob is None else "blob", "parts": parts,
                       "speed": round(speed, 3) if "retime" in parts else None, "rho": round(rho, 3)})
