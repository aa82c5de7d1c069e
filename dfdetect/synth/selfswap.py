"""The ``selfswap`` generator: the same person's face from another moment of the video, aligned and blended in.

A face swap whose source is the target person himself: for each frame, the face of a donor frame (another moment of
the same video, so another pose and expression) is aligned on the landmarks with a similarity transform (Umeyama,
least squares: rotation, uniform scale, translation), its mean colour matched to the target face, and blended through
SBI's soft mask (:func:`dfdetect.synth.sbi.blend_region`). The identity stays, as in SBI (Shiohara & Yamasaki, CVPR
2022), but the blend carries a real swap's traces: misaligned eyes and mouth, another expression, a pose that does
not fit the head, a boundary. After the classic swap pipeline (detect, align on landmarks, warp, colour-correct,
blend: e.g. FaceSwap in FaceForensics++, Rossler et al., ICCV 2019) with the donor restricted to the same identity.

Donors come from the caller (:class:`~dfdetect.synth.base.Donors`: ``ClipDataset`` loads another window of the
video's crops) or, when there are none, from the clip itself shifted in time by a third to two thirds of its length.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dfdetect.synth.base import Clip, Donors, Edit, Face, Plan
from dfdetect.synth.landmarks import dense_faces, five_from_dense
from dfdetect.synth.sbi import blend_with_mask, sample_blend_params
from dfdetect.synth.track import face_arrays
from face_crop.mesh import similarity


def _points(face: Face) -> np.ndarray:
    """Alignment points of a face: its landmarks, or the box corners when it has none."""
    box, lms = face_arrays(face)
    if lms is not None:
        return lms
    return np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]])


def _matching(a: Face, b: Face) -> tuple[np.ndarray, np.ndarray]:
    """The two faces' alignment points in correspondence (dense with dense, else five with five, else corners)."""
    pa, pb = _points(a), _points(b)
    if len(pa) == len(pb):
        return pa, pb
    if len(pa) > 5 and len(pb) == 5:
        return five_from_dense(pa), pb
    if len(pb) > 5 and len(pa) == 5:
        return pa, five_from_dense(pb)
    return _points((a[0], None)), _points((b[0], None))


def _box_mean(image: np.ndarray, face: Face) -> np.ndarray:
    """Mean RGB (3,) of the inner half of the face box."""
    box, _ = face_arrays(face)
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    ys = slice(max(0, int(y1 + 0.25 * h)), max(1, int(np.ceil(y2 - 0.25 * h))))
    xs = slice(max(0, int(x1 + 0.25 * w)), max(1, int(np.ceil(x2 - 0.25 * w))))
    region = image[ys, xs].reshape(-1, 3)
    return region.mean(0) if len(region) else np.zeros(3)


def self_donors(images: list[np.ndarray], faces: list[Face | None], rng: np.random.Generator) -> Donors:
    """Donors from the clip itself: image ``(t + offset) % n`` (offset a third to two thirds of n), or the nearest
    other image with a face when that one has none.

    Example:
        >>> imgs = [np.full((8, 8, 3), i, np.uint8) for i in range(6)]
        >>> d = self_donors(imgs, [(np.array([1.0, 1, 7, 7]), None)] * 6, np.random.default_rng(0))
        >>> [int(x[0, 0, 0]) for x in d.images]
        [4, 5, 0, 1, 2, 3]
    """
    n = len(images)
    with_face = np.flatnonzero([f is not None for f in faces])
    offset = int(rng.integers(max(1, n // 3), max(2, 2 * n // 3 + 1))) if n > 1 else 0
    picks = []
    for t in range(n):
        j = (t + offset) % n
        if faces[j] is None and len(with_face):
            others = with_face[with_face != t] if len(with_face) > 1 else with_face
            j = int(others[np.argmin(np.abs(others - j))])
        picks.append(j)
    return Donors([images[j] for j in picks], [faces[j] for j in picks])


def selfswap_plan(clip: Clip, rng: np.random.Generator) -> Plan:
    """The ``selfswap`` generator's recipe: each face replaced by the same person's face from another moment.

    Args:
        clip: images and faces (:class:`~dfdetect.synth.base.Clip`); its donors, one image and face per image (e.g.
            another window of the same video), or None: the clip itself, shifted in time (:func:`self_donors`).
        rng: the generator (same state, same bytes).

    Returns:
        The :class:`~dfdetect.synth.base.Plan`; an image without a donor face is left alone.

    Raises:
        ValueError: not one donor per image.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> imgs = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
        >>> e = selfswap_plan(Clip(imgs, [(np.array([16.0, 12, 48, 52]), None)] * 2), np.random.default_rng(0)).edit(0)
        >>> bool((e.frame[:, :4] == imgs[0][:, :4]).all()), bool((e.frame != imgs[0]).any())
        (True, True)
    """
    images, targets = clip.images, clip.faces
    mask = dataclasses.replace(sample_blend_params(rng), shift_x=0.0, shift_y=0.0, scale=1.0)
    donors = clip.donors
    if donors is None:
        donors = self_donors(images, clip.given_faces, rng)  # the five points: the model runs on them again
    if len(donors.images) != len(images) or len(donors.faces) != len(images):
        raise ValueError(f"{len(images)} images but {len(donors.images)} donors")
    # The donors' own dense landmarks, smoothed along the donors' order (the clip's are in ``clip.faces``).
    sources = dense_faces(donors.images, donors.faces)

    def edit(t: int) -> Edit | None:
        img, face, donor, dface = images[t], targets[t], donors.images[t], sources[t]
        if dface is None:
            return None
        src_pts, dst_pts = _matching(dface, face)
        m = similarity(src_pts, dst_pts)  # donor pixels -> this image's pixels
        delta = (_box_mean(img, face) - _box_mean(donor, dface)).astype(np.float32)  # mean colour match

        def render(src: np.ndarray) -> np.ndarray:
            return np.clip(np.rint(src.astype(np.float32) + delta), 0, 255).astype(np.uint8)

        frame, m_used = blend_with_mask(img, face, mask, render, source=donor, source_to_frame=m)
        return Edit(frame, m_used, {"mask": mask.to_dict(),
                                    "scale": round(float(np.sqrt(abs(np.linalg.det(m[:2, :2])))), 4),
                                    "rotation_deg": round(float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))), 3)})

    return Plan(edit)
