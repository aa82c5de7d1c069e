"""What the landmark stream sees of a clip: how its face landmarks move against the head, in a few statistics.

LRNet (Sun et al., CVPR 2021) classifies the trajectories of facial landmarks. Per clip, the 468 Face Mesh points of
every face crop (:meth:`face_crop.mesh.DenseLandmarker.on_crop`, unsmoothed: smoothing would hide the jitter to be
seen) are aligned frame by frame on the upper face oval (forehead and temples: they move with the head and lie outside
the regions the time-only generators change), so the head's own motion is removed, and :data:`N_FEATURES` statistics
describe how the mouth, the eyes, the nose and the whole inner face move against that head: log speed, log jerk
(second difference), log jerk / speed and the log jerk of each part's centre; the log spread and log jerk of the
mouth's and each eye's opening. Distances are in face widths (temple to temple), so the crop size does not matter.

The same functions give training (:mod:`dfdetect.training.landmarks`) and scoring (:mod:`dfdetect.inference.detector`)
their features; ``bench/landmark_probe.py`` measured them as a probe first (README, "Landmark trajectories").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from face_crop.mesh import N_DENSE, similarity
from models.landmarks import MIN_FRAMES, N_FEATURES

UPPER_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109)
"""Face Mesh points of the forehead and temples: they move with the head and lie outside every generator's region."""
REGIONS = {
    "mouth": (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 95, 88,
              178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415),
    "eyes": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246, 263, 249, 390, 373, 374, 380,
             381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    "nose": (1, 2, 4, 5, 6, 19, 94, 168, 195, 197),
}
"""Face Mesh points of each part followed (the inner face, every point off the upper oval, is the fourth)."""
OPENINGS = {"mouth": (13, 14), "left_eye": (159, 145), "right_eye": (386, 374)}
"""Upper and lower lid / lip point of each opening."""
TEMPLES = (234, 454)
"""The face width's two ends."""
_INNER = tuple(sorted(set(range(N_DENSE)) - set(UPPER_OVAL)))
_EPS = 1e-6


def trajectory_features(landmarks: np.ndarray, face_width: float | None = None) -> np.ndarray:
    """Statistics of how the face's parts move against the head, for one clip.

    Args:
        landmarks: (T, 468, 2) dense landmarks per frame, in pixels (T >= :data:`~models.landmarks.MIN_FRAMES`).
        face_width: the face's width in the same pixels (default: temple to temple in the clip's mean pose).

    Returns:
        float64 (:data:`N_FEATURES`,): per region (mouth, eyes, nose, inner face) log speed, log jerk, log jerk/speed
        and log jerk of its centre; per opening (mouth, left eye, right eye) log spread and log jerk.

    Raises:
        ValueError: fewer than 3 frames, or not 468 points per frame.

    Example:
        >>> still = np.repeat(np.random.default_rng(0).normal(size=(1, 468, 2)) * 30 + 60, 6, axis=0)
        >>> shaken = still + np.random.default_rng(1).normal(size=(6, 468, 2))  # every point shakes by ~1 px
        >>> bool(trajectory_features(shaken, 60)[1] > trajectory_features(still, 60)[1])
        True
    """
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_DENSE, 2) or len(landmarks) < MIN_FRAMES:
        raise ValueError(f"landmarks must be (T >= {MIN_FRAMES}, {N_DENSE}, 2), got {landmarks.shape}")
    ref = landmarks[:, list(UPPER_OVAL)].mean(0)  # (P, 2) the head's mean pose in the clip
    aligned = []
    for pts in landmarks:  # remove the head's motion: every frame onto the mean pose of the upper oval
        m = similarity(pts[list(UPPER_OVAL)], ref)
        aligned.append(pts @ m[:2, :2].T + m[:2, 2])
    stacked = np.stack(aligned)  # (T, 468, 2)
    if face_width is None:
        mean_pose = stacked.mean(0)
        face_width = float(np.linalg.norm(mean_pose[TEMPLES[1]] - mean_pose[TEMPLES[0]]))
    r = stacked / max(face_width, _EPS)  # (T, 468, 2) in face widths
    feats: list[float] = []
    for idx in (*REGIONS.values(), _INNER):
        part = r[:, list(idx)]  # (T, P, 2)
        speed = np.linalg.norm(np.diff(part, axis=0), axis=-1).mean()
        jerk = np.linalg.norm(np.diff(part, n=2, axis=0), axis=-1).mean()
        centre = part.mean(1)  # (T, 2)
        centre_jerk = np.linalg.norm(np.diff(centre, n=2, axis=0), axis=-1).mean()
        feats += [np.log(speed + _EPS), np.log(jerk + _EPS), np.log((jerk + _EPS) / (speed + _EPS)),
                  np.log(centre_jerk + _EPS)]
    for a, b in OPENINGS.values():
        opening = np.linalg.norm(r[:, a] - r[:, b], axis=-1)  # (T,)
        feats += [np.log(opening.std() + _EPS), np.log(np.abs(np.diff(opening, n=2)).mean() + _EPS)]
    out = np.asarray(feats)
    assert len(out) == N_FEATURES  # models.landmarks.LandmarkHead's buffers have this size
    return out


def clip_features(meshes: Sequence[np.ndarray | None]) -> np.ndarray:
    """THE landmark-stream input of one clip: :func:`trajectory_features` of its crops' meshes, or NaN.

    Args:
        meshes: per frame of the clip, its crop's 468 points (:meth:`face_crop.mesh.DenseLandmarker.on_crop`) or None
            where the mesh found no face.

    Returns:
        float64 (:data:`N_FEATURES`,); all NaN when a frame has no mesh or the clip has fewer than
        :data:`~models.landmarks.MIN_FRAMES` frames (the landmark stream then leaves the network's logit alone).

    Example:
        >>> bool(np.isnan(clip_features([None, None, None])).all())
        True
    """
    if len(meshes) < MIN_FRAMES or any(m is None for m in meshes):
        return np.full(N_FEATURES, np.nan)
    return trajectory_features(np.stack(meshes))  # type: ignore[arg-type]
