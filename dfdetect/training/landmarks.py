"""Fitting the landmark stream after training (``model.landmarks``): a logistic regression on the clips' landmark
trajectories and its fusion with the network, stored in the model's :class:`~models.landmarks.LandmarkHead`.

What it learns from (:func:`landmark_training_set`): the training videos' real clips (the validation windows of each
video, :func:`dfdetect.data.val_plan`) against fakes made from each of them by every time-only generator of the
recipe (``train.synth_methods`` within :data:`dfdetect.synth.TIME_ONLY`, ``draws`` fakes each, seeded by
``train.seed``): whatever else the recipe draws changes how a face looks, not how it moves. Each clip is read as the
stream reads it at scoring: the ``model.landmark_frames`` crops of its video around it (:func:`stream_specs`). The
classifier is scikit-learn's (standardised features, ``LogisticRegression(class_weight="balanced")``) and its numbers
are copied into the head's buffers (:func:`fit_head`), and with ``model.landmark_unusual`` the training reals' mean
and shrunk inverse covariance (scikit-learn's ``LedoitWolf``) for the one-class cue. The fusion's scales come from the
validation videos' reals: the mean and standard deviation of each cue (the network's raw logit, the head's logit, the
distance from the training reals) over their clips (:data:`SCALE_WINDOWS` windows per video), and the mean of the
largest standardised cue (the offset that keeps the reals' fused mean at the network's).

bench/landmark_probe.py measured this probe before it was part of the model (README, "Landmark trajectories").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from dfdetect.clips.landmarks import clip_features
from dfdetect.clips.windows import stream_window
from dfdetect.data import ClipSpec, VideoCrops, clip_geometry, load_crop, val_plan
from dfdetect.synth import GENERATORS, TIME_ONLY, clip_faces, dense_faces, generate, parse_mix
from face_crop.mesh import DenseLandmarker
from models.landmarks import LandmarkHead

log = logging.getLogger(__name__)

DRAWS = 2
"""Fakes per time-only generator per real training clip."""
MAX_CLIPS = 2000
"""At most this many real clips (a seeded draw) train the classifier and fix the fusion's scales: 22 features need no
more, and every clip costs a face mesh per frame (about 4 ms per crop on one CPU core)."""
SCALE_WINDOWS = 8
"""Clip windows per real video for the fusion's scales (at least ``train.val_clips``): a spread from a handful of clips
would be noise."""
MIN_SPREAD = 1e-3
"""Floor of a logit's standard deviation over the validation reals (a constant logit would divide by 0)."""


def time_only_methods(synth_methods: str) -> tuple[str, ...]:
    """The time-only generators of a recipe's mix (``train.synth_methods``), in its order.

    Example:
        >>> time_only_methods("sbi:2,facejitter,temporal,eyefreeze")
        ('facejitter', 'eyefreeze')
    """
    return tuple(m for m in parse_mix(synth_methods) if m in TIME_ONLY)


def at_most(specs: list[ClipSpec], n: int = MAX_CLIPS, seed: int = 0) -> list[ClipSpec]:
    """``specs``, or a seeded draw of ``n`` of them in their order when there are more.

    Example:
        >>> len(at_most([ClipSpec(video=i, window=(0,)) for i in range(5)], n=3))
        3
    """
    if len(specs) <= n:
        return specs
    keep = np.sort(np.random.default_rng(seed).choice(len(specs), size=n, replace=False))
    return [specs[i] for i in keep]


class StoredClips:
    """Stored crops and their meshes, each crop read once per run of clips of a video and meshed once: the windows of
    a video overlap, and the training reals may also be the reals that fix the fusion's scales.

    Crops are kept for the current video only (the plans go video by video); meshes (7.5 KB each) for every crop.

    Args:
        landmarker: the face mesh.
        size: the crop side the model takes (:func:`dfdetect.data.load_crop`).
    """

    def __init__(self, landmarker: DenseLandmarker, size: int) -> None:
        self.landmarker, self.size = landmarker, size
        self._video: str | None = None
        self._crops: dict[int, np.ndarray] = {}
        self._meshes: dict[tuple[str, int], np.ndarray | None] = {}

    def crops(self, video: VideoCrops, window: Sequence[int]) -> list[np.ndarray]:
        """The window's crops, RGB uint8 (S, S, 3) each."""
        if video.video != self._video:
            self._video, self._crops = video.video, {}
        for i in window:
            if i not in self._crops:
                self._crops[i] = load_crop(video.paths[i], self.size)
        return [self._crops[i] for i in window]

    def features(self, video: VideoCrops, window: Sequence[int]) -> np.ndarray:
        """:func:`dfdetect.clips.landmarks.clip_features` of the window's crops as stored, float64 (F,)."""
        for i in window:
            if (video.video, i) not in self._meshes:
                self._meshes[(video.video, i)] = self.landmarker.on_crop(self.crops(video, [i])[0])
        return clip_features([self._meshes[(video.video, i)] for i in window])


def stream_specs(videos: Sequence[VideoCrops], specs: Sequence[ClipSpec], frames: int) -> list[ClipSpec]:
    """Each clip as the landmark stream reads it: the ``frames`` crops of its video around it
    (:func:`dfdetect.clips.windows.stream_window`, ``model.landmark_frames``; 0: the clip itself), as at scoring.

    Example:
        >>> from pathlib import Path
        >>> one = VideoCrops("r.mp4", 0, list(range(15)), [Path("x.png")] * 15, np.zeros((15, 4)), None)
        >>> [s.window for s in stream_specs([one], val_plan([one], 8, 2), 15)]
        [(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)]
    """
    return [dataclasses.replace(s, window=tuple(stream_window(list(s.window), len(videos[s.video]), frames)))
            for s in specs]


def clips_features(videos: Sequence[VideoCrops], specs: Sequence[ClipSpec], stored: StoredClips) -> np.ndarray:
    """:func:`dfdetect.clips.landmarks.clip_features` of each clip ``specs`` names (crops as stored), float64 (M, F)."""
    return np.stack([stored.features(videos[s.video], s.window) for s in specs])


def landmark_training_set(videos: Sequence[VideoCrops], frames: int, clips: int, margin: float,
                          methods: Sequence[str], stored: StoredClips, seed: int = 0,
                          draws: int = DRAWS, stream_frames: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Trajectory features of the real videos' clips (at most :data:`MAX_CLIPS`) and of ``draws`` fakes of each of
    ``methods`` per clip, each clip read as the stream reads it (:func:`stream_specs`).

    Args:
        videos: the training videos (only the real ones, label 0, are used).
        frames, clips: T and windows per video (:func:`dfdetect.data.val_plan`).
        margin: the crops' margin (:func:`dfdetect.data.clip_geometry`).
        methods: time-only generators (:func:`time_only_methods`).
        stored: the crops and their meshes (the face mesh, the crop side).
        seed: seeds the fakes (with the clip, the generator and the draw).
        draws: fakes per generator per clip.
        stream_frames: ``model.landmark_frames`` (0: the clip's own T frames).

    Returns:
        ``(x, y)``: float64 (N, F) features and int (N,) labels (1 fake), clips without a mesh in every crop left out.
    """
    reals = [v for v in videos if v.label == 0]
    xs, ys = [], []
    specs = stream_specs(reals, at_most(val_plan(reals, frames, clips), seed=seed), stream_frames)
    for k, spec in enumerate(tqdm(specs, desc="landmark stream", unit="clip", leave=False)):
        video = reals[spec.video]
        crops = stored.crops(video, spec.window)  # (L) x (S, S, 3): the crops the stream reads
        boxes, marks = clip_geometry(video, spec.window, margin, stored.size)
        faces = clip_faces(boxes, marks)
        xs.append(stored.features(video, spec.window))
        ys.append(0)
        # The clip's faces meshed once for every generator and draw on it (each generate call would mesh them again).
        dense = dense_faces(crops, faces) if any(GENERATORS[m].dense_landmarks for m in methods) else None
        for j, method in enumerate(methods):
            for d in range(draws):
                made = generate(method, crops, faces, np.random.default_rng([seed, k, j, d]), dense=dense)
                if any(made.manipulated):
                    xs.append(clip_features([stored.landmarker.on_crop(c) for c in made.frames]))
                    ys.append(1)
    x, y = np.stack(xs) if xs else np.zeros((0, 0)), np.asarray(ys)
    ok = np.isfinite(x).all(axis=1) if len(x) else np.zeros(0, bool)
    return x[ok], y[ok]


def fit_head(head: LandmarkHead, x: np.ndarray, y: np.ndarray, val_features: np.ndarray,
             val_logits: np.ndarray) -> dict[str, float | int]:
    """Fit the logistic regression on ``(x, y)``, the one-class cue on its reals (a head built with ``unusual``) and
    the fusion on the validation reals, into ``head``.

    Args:
        head: the model's landmark head (changed in place, marked fitted).
        x, y: training features (N, F) and labels (N,), both classes present.
        val_features: (M, F) features of the validation reals' clips (rows with NaN are left out).
        val_logits: (M,) the network's raw logits of the same clips.

    Returns:
        What was fitted: counts, the training AUC of the classifier, the fusion numbers (and the distance's two).

    Raises:
        ValueError: a class missing from ``y``, or no validation real clip with landmarks.
    """
    if len(set(y.tolist())) < 2:
        raise ValueError("the landmark stream needs real and fake training clips with landmarks")
    ok = np.isfinite(val_features).all(axis=1)
    if not ok.any():
        raise ValueError("the landmark stream needs real clips with landmarks for the fusion's scales")
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)  # (N, F)
    clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(z, y)
    f32 = {"dtype": torch.float32}
    linear = {"mean": torch.tensor(scaler.mean_, **f32), "scale": torch.tensor(scaler.scale_, **f32),
              "weight": torch.tensor(clf.coef_[0], **f32), "bias": torch.tensor(float(clf.intercept_[0]), **f32)}
    unusual = {}
    if head.unusual:  # the training reals' Gaussian, shrunk (Ledoit-Wolf: 22 statistics, a few hundred clips)
        gauss = LedoitWolf().fit(z[y == 0])
        unusual = {"centre": torch.tensor(gauss.location_, **f32), "precision": torch.tensor(gauss.precision_, **f32),
                   "distance": torch.tensor([0.0, 1.0], **f32)}
    head.set_fit(**linear, reals=torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]), **unusual)  # the fusion's scales next
    net = torch.as_tensor(np.asarray(val_logits, np.float64)[ok])  # (M',)
    with torch.no_grad():
        cues = head.cues(net, torch.from_numpy(val_features[ok]))  # (M', K) float64: raw, the scales being 0 and 1
    spreads = cues.std(dim=0, unbiased=False).clamp_min(MIN_SPREAD)  # (K,)
    means = cues.mean(dim=0)
    offset = ((cues - means) / spreads).max(dim=1).values.mean()  # E[max] over the reals
    reals = [means[0], spreads[0], means[1], spreads[1], offset]
    if head.unusual:
        unusual["distance"] = torch.tensor([means[2], spreads[2]], **f32)
    head.set_fit(**linear, reals=torch.tensor(reals, **f32), **unusual)
    record = {"n_train_real": int((y == 0).sum()), "n_train_fake": int(y.sum()), "n_val_real_clips": int(ok.sum()),
              "train_auc": round(float(roc_auc_score(y, clf.decision_function(z))), 4),
              "net_mean": float(reals[0]), "net_sd": float(reals[1]), "landmark_mean": float(reals[2]),
              "landmark_sd": float(reals[3]), "offset": float(reals[4])}
    if head.unusual:
        record |= {"distance_mean": float(means[2]), "distance_sd": float(spreads[2])}
    return record
