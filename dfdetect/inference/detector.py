"""The scoring API: ``Detector.load(weights).score(path) -> P(fake)`` for a video or a face image.

This module holds THE one implementation of "video -> score", used by :class:`Detector` and by ``eval.py``
(:mod:`dfdetect.inference.evaluate` calls :meth:`Detector.predict`), so both give the same number for the same video:

1. Sampling (:func:`eval_windows`): ``K`` windows (``--clips K``) spread evenly over the video, each of
   ``cfg.data.sample_frames`` frames ``cfg.data.stride`` apart, exactly like one training sample. The frames inside a
   clip are therefore as far apart in time as in training (the ConvLSTM learned motion at that stride; frames spread
   over the whole video with ``np.linspace`` would be ~20 frames apart in a 10 s video and look like jump cuts to it).
   With the default ``K = cfg.train.val_clips`` (1) a video costs 15 decoded frames. Overlapping windows of a short
   video share their frames: every frame is decoded once, in one sequential pass
   (:func:`frame_extraction.decode.read_planned`).
2. Faces: ONE :meth:`face_crop.detect.FaceDetector.detect` call per video on all sampled frames (the detector's
   module defaults, as in preprocessing), crops by :func:`face_crop.pipeline.crop_faces` with the checkpoint's
   ``cfg.data.margin`` and ``cfg.data.size``.
3. Clips: in each window, the crops of the frames where a face was found; one clip of ``T = cfg.data.frames``
   consecutive crops per window (:func:`dfdetect.data.clip_windows`, the validation windows of training; a window
   with fewer than T faces repeats its last crop). A window is used only if a face was found in at least
   ``min_faces`` of its ``sample_frames`` frames (10 of 15 by default: the preprocessing rule for one training
   sample, scaled for a window cut short by the end of the video); a video with no such window is not scored.
4. Model: clips of several videos go through the model together (``batch_size`` clips per forward), under
   ``torch.inference_mode`` with the model in eval mode; :func:`dfdetect.data.to_tensor_clip` is the transform.
5. TTA (``tta = N`` views per clip, probabilities averaged): view ``v`` is horizontally flipped when ``v`` is odd
   and taken ``shift`` crops later/earlier in the window for ``v >= 2`` (``shift`` = 0, +1, -1, +2, ... among the
   shifts that stay inside the window): more clips from the frames already decoded. Duplicate views (a window with
   no room to shift) are dropped, so an image has at most 2 views.
6. Video score (:func:`aggregate_scores`): the mean of the clip scores, or the DFDC winner's confident strategy.

A video that cannot be scored (unreadable, no face, too few faces) gets :data:`NEUTRAL_SCORE` (0.5) and a status
and reason (:class:`VideoScore`), logged as a warning: never silently.

Images (``.jpg``, ``.png``...): a one-frame clip (T = 1). The face is detected and cropped with the same crop as
videos; if no face is detected the image is taken to be a face crop already and the whole image is used (letterboxed
to a square by the same crop function), with a warning.

Example:
    >>> from dfdetect import Detector
    >>> det = Detector.load("runs/demo/best.pt")  # doctest: +SKIP
    >>> det.score("data/samples/single_face.mp4")  # doctest: +SKIP
    0.1234
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dfdetect.core.config import Config
from dfdetect.core.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError, collect_files, load_image, setup_logging
from dfdetect.core.runtime import resolve_device
from frame_extraction.sampling import evenly_spaced

log = logging.getLogger(__name__)

NEUTRAL_SCORE = 0.5
"""The score of a video that cannot be scored (the DFDC convention: log loss ln 2 whatever the label)."""
AGGREGATIONS = ("mean", "confident")
STATUSES = ("ok", "unreadable", "no_face", "too_few_faces", "rejected", "error")
"""``ok``: scored; ``unreadable``: not a readable video/image; ``no_face``/``too_few_faces``: not enough faces;
``rejected``: listed in a crop manifest's rejects.csv; ``error``: an unexpected failure on this input (logged)."""

# DFDC winner's confident strategy (selim_sef), as published for 32 frames per video.
CONFIDENT_HIGH = 0.8
CONFIDENT_LOW = 0.2
CONFIDENT_MIN_FRACTION = 11 / 32  # "more than 11 frames" out of the 32 it scored
CONFIDENT_FAKE_DIVISOR = 2.5  # "and more than n // 2.5"
CONFIDENT_REAL_FRACTION = 0.9  # "more than 90% below 0.2"


# --------------------------------------------------------------------------------------------------------------------
# Pure functions: sampling windows, TTA views, aggregation.
# --------------------------------------------------------------------------------------------------------------------


def eval_windows(num_frames: int, clips: int, n: int = 15, stride: int = 2) -> list[list[int]]:
    """Frame indices of ``clips`` evaluation windows, each ``n`` frames ``stride`` apart, spread over the video.

    Window starts are evenly spaced from 0 to the last start at which a whole window fits; a video too short for one
    window gives a single window from frame 0 (fewer than ``n`` frames). Identical windows are merged.

    Args:
        num_frames: frames in the video.
        clips: windows wanted (K >= 1).
        n: frames per window (``cfg.data.sample_frames``).
        stride: gap between frames of a window (``cfg.data.stride``), as in training.

    Returns:
        Up to ``clips`` lists of increasing frame indices in ``[0, num_frames)``.

    Example:
        >>> eval_windows(72, clips=2, n=4, stride=2)
        [[0, 2, 4, 6], [65, 67, 69, 71]]
        >>> eval_windows(5, clips=3, n=4, stride=2)
        [[0, 2, 4]]
    """
    if clips < 1 or n < 1 or stride < 1:
        raise ValueError(f"clips, n and stride must be >= 1, got {clips}, {n}, {stride}")
    if num_frames <= 0:
        return []
    last_start = max(0, num_frames - 1 - (n - 1) * stride)
    starts = evenly_spaced(last_start, clips)
    windows = []
    for s in starts.tolist():
        idx = s + stride * np.arange(n, dtype=np.int64)
        windows.append(idx[idx < num_frames].tolist())
    return windows


def needed_faces(sampled: int, min_faces: int, sample_frames: int) -> int:
    """Faces a sampling window of ``sampled`` frames needs to be used: the preprocessing rule ``min_faces`` of
    ``sample_frames``, scaled to the frames actually sampled (at least 1, at most ``sampled``).

    Example:
        >>> needed_faces(15, 10, 15), needed_faces(45, 10, 15), needed_faces(3, 10, 15)
        (10, 30, 2)
    """
    if sampled <= 0:
        return 1
    return int(min(sampled, max(1, math.ceil(sampled * min_faces / max(1, sample_frames) - 1e-9))))


def tta_views(window: Sequence[int], n_available: int, n_views: int) -> list[tuple[list[int], bool]]:
    """The distinct test-time views of one clip window: ``(crop indices, hflip)``.

    View ``v`` is flipped when ``v`` is odd and shifted by the ``v // 2``-th shift of 0, +1, -1, +2, -2, ... among
    those that keep the window inside ``[0, n_available)``; duplicates are dropped (so fewer views than asked when
    the window cannot move).

    Example:
        >>> tta_views([0, 1, 2], 4, 4)
        [([0, 1, 2], False), ([0, 1, 2], True), ([1, 2, 3], False), ([1, 2, 3], True)]
        >>> tta_views([0], 1, 4)
        [([0], False), ([0], True)]
    """
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    lo, hi = -min(window), n_available - 1 - max(window)
    shifts = [0] + [s for j in range(1, n_available) for s in (j, -j) if lo <= s <= hi]
    views: list[tuple[list[int], bool]] = []
    for v in range(n_views):
        shift = shifts[(v // 2) % len(shifts)]
        view = ([i + shift for i in window], v % 2 == 1)
        if view not in views:
            views.append(view)
    return views


def confident_strategy(
    scores: Sequence[float] | np.ndarray,
    high: float = CONFIDENT_HIGH,
    low: float = CONFIDENT_LOW,
    min_fraction: float = CONFIDENT_MIN_FRACTION,
) -> float:
    """The DFDC winner's video score from per-frame/clip scores, with its "11 frames" scaled to ``n`` scores.

    If more than ``min_fraction * n`` (11 of the winner's 32 frames) and more than ``n // 2.5`` scores are above
    ``high``, the mean of those; else if more than 90% are below ``low``, the mean of those; else the plain mean.
    With ``n`` clips instead of 32 frames, a fixed 11 could never be reached (K = 4 clips) or would mean nothing
    (K = 100); scaled, it is 11/32 of the scores, which for ``n >= 2`` the ``n // 2.5`` condition nearly always
    implies, as it did for the winner's 32 frames.

    Example:
        >>> confident_strategy([0.9, 0.95, 0.1, 0.85])  # 3 of 4 confident fakes: their mean
        0.9
        >>> round(confident_strategy([0.1] * 9 + [0.9]), 3)  # 90% low is not "more than 90%": plain mean
        0.18
        >>> round(confident_strategy([0.1] * 19 + [0.7]), 3)  # 95% below 0.2: the mean of those
        0.1
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise ValueError("no scores to aggregate")
    n = s.size
    fakes = s > high
    n_fake = int(fakes.sum())
    if n_fake > min_fraction * n and n_fake > n // CONFIDENT_FAKE_DIVISOR:
        return float(s[fakes].mean())
    reals = s < low
    if int(reals.sum()) > CONFIDENT_REAL_FRACTION * n:
        return float(s[reals].mean())
    return float(s.mean())


def aggregate_scores(scores: Sequence[float] | np.ndarray, method: str = "mean") -> float:
    """Video score from its clip scores: ``"mean"`` or ``"confident"`` (:func:`confident_strategy`).

    Example:
        >>> aggregate_scores([0.2, 0.6]), aggregate_scores([0.9, 0.9, 0.1], "confident")
        (0.4, 0.9)
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {method!r}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise ValueError("no scores to aggregate")
    return float(s.mean()) if method == "mean" else confident_strategy(s)


def is_image(path: str | Path) -> bool:
    """True for an image file name (by extension)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# --------------------------------------------------------------------------------------------------------------------
# Results and prepared inputs.
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class VideoScore:
    """The result for one input.

    Attributes:
        name: the file name (``video_name`` in predictions.csv).
        score: P(fake); :data:`NEUTRAL_SCORE` when ``status != "ok"``.
        status: one of :data:`STATUSES`.
        reason: why it could not be scored ("" when ok).
        faces: sampled frames with a face.
        sampled: frames decoded.
        clip_scores: per-clip P(fake) after TTA (per-frame scores for :meth:`Detector.frame_scores`).
        clip_frames: the frame indices of each clip (its first view).
    """

    name: str
    score: float = NEUTRAL_SCORE
    status: str = "ok"
    reason: str = ""
    faces: int = 0
    sampled: int = 0
    clip_scores: list[float] = field(default_factory=list)
    clip_frames: list[list[int]] = field(default_factory=list)


@dataclass
class PreparedVideo:
    """Face crops of one input, ready for the model (or the reason it cannot be scored).

    Attributes:
        name: file name.
        crops: ``{frame index: (size, size, 3) uint8 crop}`` for every sampled frame with a face.
        windows: per sampling window, the frame indices (with a face) whose crops form its clips.
        clips_per_window: clip windows taken in each sampling window (:func:`dfdetect.data.clip_windows`'s k).
        clip_len: timesteps per clip (T; 1 for images and per-frame scores).
        faces: sampled frames with a face.
        sampled: frames decoded.
        status: ``"ok"`` or why not (see :data:`STATUSES`).
        reason: human-readable reason.
    """

    name: str
    crops: dict[int, np.ndarray] = field(default_factory=dict)
    windows: list[list[int]] = field(default_factory=list)
    clips_per_window: int = 1
    clip_len: int = 10
    faces: int = 0
    sampled: int = 0
    status: str = "ok"
    reason: str = ""

    def failed(self, status: str, reason: str) -> PreparedVideo:
        """Mark as unscorable (keeps the counts)."""
        self.status, self.reason, self.crops, self.windows = status, reason, {}, []
        return self


@dataclass
class _Pending:
    """A video waiting for its clips to go through the model."""

    prepared: PreparedVideo
    clips: list[list[tuple[list[int], bool]]]  # per clip: its TTA views as (frame indices, hflip)
    probs: dict[tuple[int, int], float] = field(default_factory=dict)  # (clip, view) -> P(fake)
    result: VideoScore | None = None

    @property
    def n_views(self) -> int:
        return sum(len(views) for views in self.clips)


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the block's wall time to ``timings[stage]`` (no-op without a dict)."""
    if timings is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


class _TimedFaceDetector:
    """Forwards to a FaceDetector and times its detection calls, so crop time = crop_faces time - detect time."""

    def __init__(self, detector: Any, timings: dict[str, float]) -> None:
        self._detector, self._timings = detector, timings

    def detect(self, frames: Sequence[np.ndarray]) -> list:
        with _timed(self._timings, "detect"):
            return self._detector.detect(frames)

    def detect_all(self, frames: Sequence[np.ndarray]) -> list:
        with _timed(self._timings, "detect"):
            return self._detector.detect_all(frames)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


# --------------------------------------------------------------------------------------------------------------------
# The detector.
# --------------------------------------------------------------------------------------------------------------------


class Detector:
    """Scores videos and face images with a trained checkpoint (see the module docstring for the pipeline).

    Args:
        model: a :class:`models.VideoClassifier` (put in eval mode here).
        cfg: the checkpoint's config (``cfg.data`` gives sampling, crop margin/size, T).
        device: torch device for the model and the face detector.
        clips: K clip windows per video (default ``cfg.train.val_clips``).
        tta: views per clip (1 = none, 2 = + horizontal flip, more = + shifted windows).
        aggregate: ``"mean"`` or ``"confident"``.
        batch_size: clips per model forward (TTA views count as clips); clips of several videos share a batch.
        face_detector: a :class:`face_crop.detect.FaceDetector` (built on first use otherwise).

    Example:
        >>> det = Detector.load("runs/demo/best.pt", tta=2)  # doctest: +SKIP
        >>> det.score_many(["a.mp4", "face.jpg"])  # doctest: +SKIP
        [0.93, 0.12]
    """

    def __init__(
        self,
        model: torch.nn.Module,
        cfg: Config,
        device: str = "cpu",
        clips: int | None = None,
        tta: int = 1,
        aggregate: str = "mean",
        batch_size: int = 8,
        face_detector: Any = None,
    ) -> None:
        clips = cfg.train.val_clips if clips is None else clips
        if clips < 1 or tta < 1 or batch_size < 1:
            raise InputError(f"clips, tta and batch_size must be >= 1, got {clips}, {tta}, {batch_size}")
        if aggregate not in AGGREGATIONS:
            raise InputError(f"aggregate must be one of {', '.join(AGGREGATIONS)}, got {aggregate!r}")
        self.device = str(resolve_device(device))
        self.model = model.to(self.device).eval()
        self.cfg = cfg
        self.clips, self.tta, self.aggregate, self.batch_size = int(clips), int(tta), aggregate, int(batch_size)
        self.mean, self.std = tuple(model.mean), tuple(model.std)
        self._face_detector = face_detector

    @classmethod
    def load(
        cls,
        weights: str | Path,
        device: str = "cpu",
        clips: int | None = None,
        tta: int = 1,
        aggregate: str = "mean",
        batch_size: int = 8,
    ) -> Detector:
        """Rebuild the model from a checkpoint alone (:func:`models.build.load_model`: strict, weights_only).

        Raises:
            dfdetect.core.checkpoint.CheckpointError: missing/unreadable file, or weights that do not match the model
                (names the missing/unexpected keys).

        Example:
            >>> det = Detector.load("runs/demo/best.pt", device="auto")  # doctest: +SKIP
        """
        from models.build import load_model

        dev = str(resolve_device(device))
        model, cfg = load_model(weights, device=dev)
        return cls(model, cfg, device=dev, clips=clips, tta=tta, aggregate=aggregate, batch_size=batch_size)

    @property
    def face_detector(self) -> Any:
        """The MTCNN face detector with the module defaults of :mod:`face_crop.detect` (the preprocessing ones)."""
        if self._face_detector is None:
            from face_crop.detect import FaceDetector

            self._face_detector = FaceDetector(device=self.device)
        return self._face_detector

    # ---------------------------------------------------------------- preparing inputs (decode, detect, crop)

    def _crop_faces(
        self,
        frames: Sequence[np.ndarray],
        timings: dict[str, float] | None,
        tracks: Sequence[Sequence[int]] | None = None,
    ) -> list[tuple[np.ndarray | None, Any]]:
        """One face detection call on all frames of a video, then the shared crop (margin/size of the checkpoint).

        ``tracks``: positions tracked separately (one per evaluation window, as preprocessing tracks one sample).
        """
        from face_crop.pipeline import crop_faces

        detector = self.face_detector if timings is None else _TimedFaceDetector(self.face_detector, timings)
        start = time.perf_counter()
        detect_before = timings.get("detect", 0.0) if timings is not None else 0.0
        out = crop_faces(frames, detector, margin=self.cfg.data.margin, size=self.cfg.data.size, tracks=tracks)
        if timings is not None:
            detect_s = timings.get("detect", 0.0) - detect_before
            timings["crop"] = timings.get("crop", 0.0) + time.perf_counter() - start - detect_s
        return out

    def prepare_video(self, path: str | Path, timings: dict[str, float] | None = None) -> PreparedVideo:
        """Decode the sampled frames (one pass), detect faces (one call) and crop them.

        Never raises for a bad video: the returned :class:`PreparedVideo` carries the status and reason.

        Args:
            path: video file.
            timings: optional dict; seconds are added under ``probe``, ``decode``, ``detect`` and ``crop``.

        Example:
            >>> prep = det.prepare_video("data/samples/single_face.mp4")  # doctest: +SKIP
            >>> prep.status, prep.sampled, prep.faces  # doctest: +SKIP
            ('ok', 15, 15)
        """
        from frame_extraction.decode import VideoError, read_planned

        d = self.cfg.data
        prep = PreparedVideo(name=Path(path).name, clips_per_window=1, clip_len=d.frames)
        windows: list[list[int]] = []
        probed_at: list[float] = []

        def plan(info: Any) -> list[int]:
            probed_at.append(time.perf_counter())
            windows.extend(eval_windows(info.num_frames, self.clips, n=d.sample_frames, stride=d.stride))
            return [i for w in windows for i in w]

        start = time.perf_counter()
        try:
            # One scan of the packets, one decoding pass: {index: RGB (H, W, 3)}, each frame decoded once.
            info, frames = read_planned(path, plan)
        except VideoError as e:
            return prep.failed("unreadable", str(e))
        finally:
            if timings is not None and probed_at:
                timings["probe"] = timings.get("probe", 0.0) + probed_at[0] - start
                timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - probed_at[0]
        prep.sampled = len(frames)
        if not frames:
            return prep.failed("unreadable", f"no frame could be decoded ({info.num_frames} frames in the header)")
        indices = list(frames)
        position = {i: p for p, i in enumerate(indices)}
        tracks = [[position[i] for i in w if i in position] for w in windows]
        crops = self._crop_faces([frames[i] for i in indices], timings, tracks=[t for t in tracks if t])
        prep.crops = {i: crop for i, (crop, _) in zip(indices, crops) if crop is not None}
        prep.faces = len(prep.crops)
        if prep.faces == 0:
            return prep.failed("no_face", f"no face in {prep.sampled} sampled frames")
        # A window is used only with enough faces, the preprocessing rule for one training sample; others are dropped.
        decoded = [[i for i in w if i in frames] for w in windows]
        prep.windows = [
            [i for i in w if i in prep.crops]
            for w in decoded
            if w and sum(i in prep.crops for i in w) >= needed_faces(len(w), d.min_faces, d.sample_frames)
        ]
        if not prep.windows:
            need = needed_faces(len(decoded[0]) if decoded else 0, d.min_faces, d.sample_frames)
            return prep.failed(
                "too_few_faces",
                f"a face in {prep.faces} of {prep.sampled} sampled frames, no window of {len(windows[0])} frames "
                f"with {need} faces",
            )
        return prep

    def prepare_crops(self, name: str, crops: dict[int, np.ndarray]) -> PreparedVideo:
        """An input whose face crops already exist (a crop manifest): one window of all crops, K clips from it
        (:func:`dfdetect.data.clip_windows`, the validation clips of training).

        Args:
            name: the video's file name.
            crops: ``{frame index: (size, size, 3) uint8 crop}`` (resized to ``cfg.data.size`` by the caller).
        """
        prep = PreparedVideo(name=name, crops=dict(sorted(crops.items())), clips_per_window=self.clips,
                             clip_len=self.cfg.data.frames, faces=len(crops), sampled=len(crops))
        if not crops:
            return prep.failed("no_face", "no face crop listed")
        prep.windows = [list(prep.crops)]
        return prep

    def prepare_image(self, path: str | Path | None = None, image: np.ndarray | None = None) -> PreparedVideo:
        """A face image as a one-frame clip: the detected face cropped as in videos, or the whole image if no face
        is found (it is then assumed to be a face crop already; a warning is logged).

        Args:
            path: image file (or give ``image``).
            image: RGB uint8 (H, W, 3).
        """
        from face_crop.crop import crop_face

        name = Path(path).name if path is not None else "<image>"
        prep = PreparedVideo(name=name, clip_len=1, sampled=1)
        if image is None:
            try:
                image = load_image(path)
            except OSError as e:
                return prep.failed("unreadable", str(e))
        d = self.cfg.data
        face = self.face_detector.detect([image])[0]
        if face is not None:
            crop = crop_face(image, face.box, margin=d.margin, size=d.size)
        else:
            h, w = image.shape[:2]
            log.warning("%s: no face detected; scoring the whole image as a face crop", name)
            crop = crop_face(image, (0, 0, w, h), margin=0.0, size=d.size)  # letterboxed, aspect kept
        prep.crops, prep.windows, prep.faces = {0: crop}, [[0]], 1
        return prep

    # ---------------------------------------------------------------- model

    def _plan(self, prep: PreparedVideo) -> list[list[tuple[list[int], bool]]]:
        """Per clip, its TTA views as (frame indices, hflip)."""
        from dfdetect.data.dataset import clip_windows

        clips = []
        for window in prep.windows:
            for cw in clip_windows(len(window), prep.clip_len, prep.clips_per_window):
                views = tta_views(cw, len(window), self.tta)
                clips.append([([window[i] for i in idx], flip) for idx, flip in views])
        return clips

    def _forward(self, pending: Sequence[_Pending], timings: dict[str, float] | None) -> None:
        """Run every view of the pending videos through the model, ``batch_size`` views per forward."""
        from dfdetect.data.dataset import to_tensor_clip

        jobs = [(p, c, v) for p in pending for c, views in enumerate(p.clips) for v in range(len(views))]
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start : start + self.batch_size]
            # Group by clip length: images (T = 1) and videos (T = cfg.data.frames) never share a tensor.
            by_len: dict[int, list[tuple[_Pending, int, int]]] = {}
            for job in chunk:
                by_len.setdefault(len(job[0].clips[job[1]][job[2]][0]), []).append(job)
            for group in by_len.values():
                with _timed(timings, "transform"):
                    tensors = []
                    for p, c, v in group:
                        frames, flip = p.clips[c][v]
                        x = to_tensor_clip(np.stack([p.prepared.crops[i] for i in frames]), self.mean, self.std)
                        tensors.append(torch.flip(x, dims=[-1]) if flip else x)  # (T, C, H, W); flip = mirror W
                    batch = torch.stack(tensors).to(self.device)  # (B, T, C, H, W)
                with _timed(timings, "model"), torch.inference_mode():
                    probs = torch.sigmoid(self.model(batch).float()).cpu().numpy()  # (B,)
                for (p, c, v), prob in zip(group, probs.tolist()):
                    p.probs[(c, v)] = prob

    def _finish(self, p: _Pending) -> VideoScore:
        prep = p.prepared
        clip_scores = [float(np.mean([p.probs[(c, v)] for v in range(len(views))])) for c, views in enumerate(p.clips)]
        return VideoScore(
            name=prep.name,
            score=aggregate_scores(clip_scores, self.aggregate),
            status="ok",
            faces=prep.faces,
            sampled=prep.sampled,
            clip_scores=clip_scores,
            clip_frames=[views[0][0] for views in p.clips],
        )

    def predict(
        self,
        inputs: Iterable[str | Path | PreparedVideo],
        progress: bool = False,
        timings: dict[str, float] | None = None,
        total: int | None = None,
    ) -> Iterator[VideoScore]:
        """Score inputs (video or image paths, or :class:`PreparedVideo`), yielding results in input order.

        Clips of consecutive inputs are batched together. An input that fails for an unexpected reason gets status
        ``"error"`` (logged with its traceback at debug level) and the rest goes on.

        Args:
            inputs: paths or prepared inputs.
            progress: show a progress bar over inputs.
            timings: optional dict accumulating seconds per stage (``probe``, ``decode``, ``detect``, ``crop``,
                ``transform``, ``model``) over the whole call.
            total: number of inputs, for the progress bar when ``inputs`` has no ``len``.

        Example:
            >>> for r in det.predict(["a.mp4", "b.mp4"], progress=True):  # doctest: +SKIP
            ...     print(r.name, r.score, r.status)
        """
        from tqdm.auto import tqdm

        if total is None and hasattr(inputs, "__len__"):
            total = len(inputs)  # type: ignore[arg-type]
        queue: deque[_Pending] = deque()
        queued_views = 0
        with tqdm(total=total, disable=not progress, unit="video", desc="scoring") as bar:
            for item in inputs:
                prep = self.prepare(item, timings)
                pending = _Pending(prep, [])
                if prep.status == "ok":
                    try:
                        pending.clips = self._plan(prep)
                    except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
                        log.debug("planning clips for %s failed", prep.name, exc_info=True)
                        prep.failed("error", f"{type(e).__name__}: {e}")
                if prep.status != "ok":
                    log.warning("%s: not scored (%s): %s; score %.1f", prep.name, prep.status, prep.reason,
                                NEUTRAL_SCORE)
                    pending.result = VideoScore(prep.name, NEUTRAL_SCORE, prep.status, prep.reason, prep.faces,
                                                prep.sampled)
                queue.append(pending)
                queued_views += pending.n_views
                if queued_views >= self.batch_size:
                    self._flush(queue, timings)
                    queued_views = 0
                while queue and queue[0].result is not None:
                    bar.update(1)
                    yield queue.popleft().result
            self._flush(queue, timings)
            while queue:
                bar.update(1)
                yield queue.popleft().result

    def _flush(self, queue: deque[_Pending], timings: dict[str, float] | None) -> None:
        todo = [p for p in queue if p.result is None]
        if not todo:
            return
        self._forward(todo, timings)
        for p in todo:
            p.result = self._finish(p)

    def prepare(self, item: str | Path | PreparedVideo, timings: dict[str, float] | None = None) -> PreparedVideo:
        """A video (:meth:`prepare_video`) or image (:meth:`prepare_image`) path ready for :meth:`predict`; never
        raises for a bad input (status ``"error"`` with the exception as reason)."""
        if isinstance(item, PreparedVideo):
            return item
        try:
            if is_image(item):
                return self.prepare_image(item)
            return self.prepare_video(item, timings)
        except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
            log.debug("preparing %s failed", item, exc_info=True)
            return PreparedVideo(name=Path(item).name).failed("error", f"{type(e).__name__}: {e}")

    # ---------------------------------------------------------------- convenience API

    def score(self, path: str | Path) -> float:
        """P(fake) of one video or face image (0.5 when it cannot be scored, with a warning).

        Example:
            >>> Detector.load("runs/demo/best.pt").score("data/samples/single_face.mp4")  # doctest: +SKIP
            0.08
        """
        return list(self.predict([path]))[0].score

    def score_many(self, paths: Sequence[str | Path], progress: bool = False) -> list[float]:
        """P(fake) of each path, in order (batched; see :meth:`predict` for statuses).

        Example:
            >>> det.score_many(["a.mp4", "b.mov"])  # doctest: +SKIP
            [0.91, 0.07]
        """
        return [r.score for r in self.predict(list(paths), progress=progress)]

    def frame_scores(self, video: str | Path | PreparedVideo) -> dict[int, float]:
        """Per-frame P(fake) of a video: each face crop of the sampled frames scored as a one-frame clip.

        Args:
            video: a video path, or its :meth:`prepare_video` result (reused as is: nothing is decoded again).

        Returns:
            ``{frame index: score}`` for the sampled frames where a face was found (empty if none).

        Example:
            >>> det.frame_scores("data/samples/single_face.mp4")  # doctest: +SKIP
            {0: 0.12, 2: 0.10, ...}
        """
        prep = video if isinstance(video, PreparedVideo) else self.prepare_video(video)
        if prep.status != "ok":
            log.warning("%s: no frame scores (%s): %s", prep.name, prep.status, prep.reason)
            return {}
        frames = sorted(prep.crops)
        # One single-frame window per frame: TTA can flip a frame but never shift it onto its neighbour.
        per_frame = dataclasses.replace(prep, windows=[[f] for f in frames], clip_len=1, clips_per_window=1)
        result = list(self.predict([per_frame]))[0]
        return {clip[0]: s for clip, s in zip(result.clip_frames, result.clip_scores)}


# --------------------------------------------------------------------------------------------------------------------
# CLI: python -m dfdetect score weights.pt PATH... [--frames]
# --------------------------------------------------------------------------------------------------------------------


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dfdetect score",
        description="Score videos or face images with a checkpoint; prints a table (score = P(fake)).",
    )
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("paths", nargs="+", help="videos, images, or folders of them")
    p.add_argument("--frames", action="store_true", help="also print per-frame scores of each video")
    p.add_argument("--clips", type=int, default=None, help="clip windows per video (default: the checkpoint's "
                   "train.val_clips)")
    p.add_argument("--tta", type=int, default=1, help="views per clip: 2 adds a horizontal flip, more add shifts")
    p.add_argument("--aggregate", choices=AGGREGATIONS, default="mean", help="video score from clip scores")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=8, help="clips per model forward")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def format_score_table(results: Sequence[VideoScore]) -> str:
    """A plain-text table: name, score, status, faces/sampled, reason.

    Example:
        >>> print(format_score_table([VideoScore("a.mp4", 0.25, "ok", "", 15, 15)]))
        name   score   status  faces  reason
        a.mp4  0.2500  ok      15/15
    """
    rows = [["name", "score", "status", "faces", "reason"]]
    rows += [[r.name, f"{r.score:.4f}", r.status, f"{r.faces}/{r.sampled}", r.reason] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect score``: 2 for bad input (missing path, bad checkpoint), 1 if nothing was scored."""
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        paths = collect_files(args.paths, VIDEO_EXTENSIONS | IMAGE_EXTENSIONS)
        if not paths:
            raise InputError(f"no video or image found in {', '.join(args.paths)}")
        det = Detector.load(args.weights, device=args.device, clips=args.clips, tta=args.tta,
                            aggregate=args.aggregate, batch_size=args.batch_size)
    except InputError as e:
        log.error("%s", e)
        return 2
    frame_lines: list[str] = []
    if not args.frames:
        results = list(det.predict(paths, progress=len(paths) > 1))
    else:
        results = []
        for path in paths:  # one video at a time so its prepared crops serve both scores (decoded once)
            prep = det.prepare(path)
            results.extend(det.predict([prep]))
            if not is_image(path) and prep.status == "ok":
                scores = det.frame_scores(prep)
                frame_lines.append(f"\n{prep.name}: per-frame P(fake) ({len(scores)} frames with a face)")
                frame_lines.extend(f"  frame {i:6d}  {s:.4f}" for i, s in scores.items())
    out = [format_score_table(results), *frame_lines]
    sys.stdout.write("\n".join(out) + "\n")  # the command's output (logging goes to stderr)
    return 0 if any(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
