"""The scoring API: ``Detector.load(weights).score(path) -> P(fake)`` for a video or a face image.

The image track's test API is that one line: ``score = Detector.load("best.pt").score``, then ``score(img_path)``
returns P(fake) (``from dfdetect import Detector`` imports nothing heavy until it is used, and has no side effect).

THE one implementation of "input -> score", used by ``Detector.score`` and by ``eval.py``
(:mod:`dfdetect.inference.evaluate` calls :meth:`Detector.predict`), so both give the same number for the same video.
The checkpoint's ``model.kind`` decides what a clip is: ``video``, T consecutive crops through the clip model;
``frame``, every crop on its own through the frame model (an image is one crop; a video's score is then the mean of
its per-frame scores). One input, top to bottom:

1. :func:`dfdetect.inference.prepare.prepare_input`: decode the sampled frames, detect and crop the faces (see that
   module for sampling, faces and the windows used).
2. Clips: a video model takes, in each window, one clip of ``T = cfg.data.frames`` consecutive crops per clip
   window (:func:`dfdetect.clips.windows.clip_windows`, the validation windows of training; a window with fewer
   than T faces repeats its last crop); a frame model takes every crop of every window as a clip of its own.
3. TTA (``tta = N`` views per clip, probabilities averaged): for a video model
   (:func:`dfdetect.inference.aggregate.tta_views`) view ``v`` is horizontally flipped when ``v`` is odd and taken
   ``shift`` crops later/earlier in the window for ``v >= 2``: more clips from the frames already decoded; for a
   frame model (:func:`dfdetect.inference.aggregate.image_tta_views`) the first N of
   :data:`dfdetect.clips.transforms.TTA_VIEWS`: as is, flipped, rotated +/-10 degrees, grayscale, centre crop.
4. Model: clips of several inputs go through the model together (``batch_size`` views per forward), under
   ``torch.inference_mode`` with the model in eval mode; :func:`dfdetect.clips.transforms.to_tensor_clip` is the
   transform. A model with a fitted landmark stream (``model.landmarks``, :class:`models.landmarks.LandmarkHead`)
   also finds each crop's 468 landmarks (:mod:`face_crop.mesh`, once per crop) and fuses the network's logit of
   each clip of at least 3 frames with the landmark logit of the crops of its window around it (``model.
   landmark_frames``, :func:`dfdetect.clips.windows.stream_window`; :meth:`~models.landmarks.LandmarkHead.fuse`),
   inside the ``model`` timing.
5. Video score (:func:`dfdetect.inference.aggregate.video_score`): by default the mean of the top 3 window scores
   (``topk``: a short fake stretch in a long real video is not drowned; a video of at most 3 windows, the mean of
   its windows), or the mean of the clip scores, or the DFDC winner's confident strategy. Every
   person of a video (:attr:`dfdetect.inference.prepare.PreparedVideo.persons`) is scored so from its own clips; the
   video's score is the highest person's (:func:`dfdetect.inference.aggregate.persons_score`), each person's in
   :attr:`VideoScore.persons`.
6. Where: each window's score (the mean of its clips) with its start and end in seconds, how much of the video the
   windows span (``covered_s`` of ``duration_s``), and the windows at or above ``threshold`` merged into
   ``fake_segments`` (:func:`dfdetect.inference.aggregate.fake_segments`).

An input that cannot be scored (unreadable, no face, too few faces) gets :data:`NEUTRAL_SCORE` (0.5) and a status
and reason (:class:`VideoScore`), logged as a warning: never silently.

Example (an untrained model, so only the plumbing is shown):
    >>> import tempfile
    >>> from dfdetect.core.checkpoint import save_checkpoint
    >>> from dfdetect.core.config import Config, DataConfig, ModelConfig
    >>> from models.build import build_model
    >>> cfg = Config(model=ModelConfig(backbone="efficientnet-lite0", pretrained=False, temporal="mean"),
    ...              data=DataConfig(size=64, frames=4))
    >>> weights = Path(tempfile.mkdtemp()) / "untrained.pt"
    >>> save_checkpoint(weights, build_model(cfg.model), cfg)
    >>> det = Detector.load(weights, tta=2)
    >>> face, cartoon = det.predict(["data/samples/single_face.mp4", "data/samples/no_face.mp4"])
    >>> face.status, face.sampled, face.faces, len(face.clip_scores), face.score == face.clip_scores[0]
    (<ScoreStatus.OK: 'ok'>, 15, 15, 1, True)
    >>> cartoon.status, cartoon.score, cartoon.reason
    (<ScoreStatus.NO_FACE: 'no_face'>, 0.5, 'no face in 42 sampled frames')
    >>> det.score("data/samples/single_face.mp4") == face.score
    True
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dfdetect.clips.audio import clip_audio
from dfdetect.clips.landmarks import clip_features
from dfdetect.clips.transforms import to_tensor_clip, view_transform
from dfdetect.clips.windows import clip_windows, stream_window
from dfdetect.core.config import Config, ScoreConfig
from dfdetect.core.io import InputError
from dfdetect.core.runtime import resolve_device, timed
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference.aggregate import (
    AGGREGATIONS,
    fake_segments,
    image_tta_views,
    persons_score,
    tta_views,
    video_score,
)
from dfdetect.inference.export import OnnxClassifier, load_onnx
from dfdetect.inference.prepare import Coverage, PreparedVideo, prepare_input, with_sound
from face_crop.detect import FaceDetector
from face_crop.mesh import LandmarkModelError, load_landmarker
from models.build import load_model, to_device
from models.landmarks import MIN_FRAMES

log = logging.getLogger(__name__)

NEUTRAL_SCORE = 0.5
"""The score of an input that cannot be scored (the DFDC convention: log loss ln 2 whatever the label)."""
API_SCORE = ScoreConfig(device="cpu")
"""The Python API's scoring settings: :class:`~dfdetect.core.config.ScoreConfig`'s defaults, on the CPU unless told."""
NO_FRAME_SCORES_AUDIO = "an audio model scores windows of sound, not frames: its clip scores are per window"
"""Why :meth:`Detector.frame_scores` is empty for an audio model (the server's ``frame_scores_reason``)."""
TIMING_STAGES = ("probe", "decode", "detect", "crop", "transform", "model")
"""The keys of :meth:`Detector.predict`'s ``timings``, in pipeline order (probe/decode/detect/crop come from
:func:`dfdetect.inference.prepare.prepare_video`)."""


@dataclass
class PersonScore:
    """One person of a video, scored on its own (:attr:`VideoScore.persons`).

    Attributes:
        person: its number (0: the main person, :attr:`dfdetect.inference.prepare.PreparedVideo.person`).
        score: P(fake) of its clips (``aggregate``, as a video's).
        faces: sampled frames with its face.
        windows: windows of it scored (one face track in one shot each).
        start_s, end_s: from its first window's start to its last's end, seconds (0 when the times are unknown).
        box: its mean face box ``x1, y1, x2, y2``, full-frame pixels (None when unknown: an image, crops).
    """

    person: int
    score: float
    faces: int
    windows: int
    start_s: float = 0.0
    end_s: float = 0.0
    box: tuple[float, float, float, float] | None = None


@dataclass
class VideoScore:
    """The result for one input.

    A video with several people: every person is scored on its own (``persons``), the video's ``score`` is the
    highest person's (:func:`dfdetect.inference.aggregate.persons_score`: a video with one fake person is fake), and
    the clip, window and segment fields are that person's (``person``).

    Attributes:
        name: the file name (``video_name`` in predictions.csv).
        score: P(fake); :data:`NEUTRAL_SCORE` when ``status`` is not ``ok``.
        status: a :class:`~dfdetect.core.schemas.ScoreStatus`.
        reason: why it could not be scored ("" when ok).
        faces: sampled frames with a face.
        sampled: frames decoded.
        clip_scores: per-clip P(fake) after TTA (per-frame scores for :meth:`Detector.frame_scores`).
        clip_frames: the frame indices of each clip (its first view).
        window_scores: per sampling window (time order), the mean P(fake) of its clips.
        window_times: per window, ``(start_s, end_s)`` in seconds (empty when the times are unknown: crops read from
            a manifest, an image).
        duration_s: the video's duration in seconds (0 when unknown).
        covered_s: seconds of it the scored windows span (overlaps counted once).
        fake_segments: ``(start_s, end_s, peak score)`` of the runs of windows at or above the threshold.
        person: the person whose clips, windows and segments these are (the highest score).
        persons: every person scored, in person order (empty when not scored).
    """

    name: str
    score: float = NEUTRAL_SCORE
    status: ScoreStatus = ScoreStatus.OK
    reason: str = ""
    faces: int = 0
    sampled: int = 0
    clip_scores: list[float] = field(default_factory=list)
    clip_frames: list[list[int]] = field(default_factory=list)
    window_scores: list[float] = field(default_factory=list)
    window_times: list[tuple[float, float]] = field(default_factory=list)
    duration_s: float = 0.0
    covered_s: float = 0.0
    fake_segments: list[tuple[float, float, float]] = field(default_factory=list)
    person: int = 0
    persons: list[PersonScore] = field(default_factory=list)

    @property
    def windows(self) -> int:
        """Windows scored."""
        return len(self.window_scores)


@dataclass
class _Pending:
    """An input waiting for its clips to go through the model."""

    prepared: PreparedVideo
    clips: list[list[tuple[list[int], str]]]  # per clip: its TTA views as (frame indices, view of TTA_VIEWS)
    owners: list[tuple[int, int]] = field(default_factory=list)  # per clip: (person, its window in that person's)
    probs: dict[tuple[int, int], float] = field(default_factory=dict)  # (clip, view) -> P(fake)
    result: VideoScore | None = None
    meshes: dict[tuple[int, int], np.ndarray | None] = field(default_factory=dict)  # (person, frame) -> (468, 2)

    @property
    def n_views(self) -> int:
        return sum(len(views) for views in self.clips)


class Detector:
    """Scores videos and face images with a trained checkpoint (see the module docstring for the pipeline).

    Args:
        model: a :class:`models.Classifier` of ``cfg.model.kind`` (put in eval mode here), or an
            :class:`~dfdetect.inference.export.OnnxClassifier`.
        cfg: the checkpoint's config (``cfg.data`` gives sampling, the crop contract, T; ``cfg.model.kind`` what a
            clip is).
        score: the scoring settings (:class:`~dfdetect.core.config.ScoreConfig`: ``device`` for the model and the
            face detector; ``clips``, forced, default by duration: one window every ``window_every`` seconds, at
            least ``cfg.train.val_clips``, at most ``max_windows``; ``tta``: 1 = none, 2 = + horizontal flip, more
            = + shifted windows for a video model, for a frame model + rotated +/-10 degrees, grayscale, centre crop,
            :data:`dfdetect.clips.transforms.TTA_VIEWS`; ``aggregate``; ``batch_size``: TTA views count as clips,
            clips of several inputs share a batch; ``threshold`` for ``fake_segments``); default :data:`API_SCORE`.
        face_detector: a :class:`face_crop.detect.FaceDetector` (built on first use otherwise).
        **settings: single :class:`~dfdetect.core.config.ScoreConfig` fields overriding ``score`` (``tta=2``).

    Raises:
        InputError: ``clips``, ``tta``, ``batch_size``, ``max_windows`` or ``top_k`` below 1, ``window_every`` not
            positive, or an unknown ``aggregate``.
    """

    def __init__(
        self,
        model: torch.nn.Module | OnnxClassifier,
        cfg: Config,
        score: ScoreConfig | None = None,
        face_detector: FaceDetector | None = None,
        **settings: object,
    ) -> None:
        score = dataclasses.replace(score or API_SCORE, **settings)
        device = str(resolve_device(score.device))
        clips, tta, aggregate, batch_size = score.clips, score.tta, score.aggregate, score.batch_for(device)
        # None: coverage by duration, at least the checkpoint's val_clips windows (``self.clips``)
        self.coverage = (Coverage(float(score.window_every), int(cfg.train.val_clips), int(score.max_windows))
                         if clips is None else None)
        clips = cfg.train.val_clips if clips is None else clips
        if clips < 1 or tta < 1 or batch_size < 1:
            raise InputError(f"clips, tta and batch_size must be >= 1, got {clips}, {tta}, {batch_size}")
        if score.max_windows < 1 or score.top_k < 1 or not score.window_every > 0:
            raise InputError(f"max_windows and top_k must be >= 1 and window_every > 0, got {score.max_windows}, "
                             f"{score.top_k}, {score.window_every}")
        if aggregate not in AGGREGATIONS:
            raise InputError(f"aggregate must be one of {', '.join(AGGREGATIONS)}, got {aggregate!r}")
        self.score_config = score
        self.device = device
        self.model = to_device(model, self.device).eval()  # the layout training used on the CPU (fp32 on CUDA)
        self.cfg = cfg
        self.clips, self.tta, self.aggregate, self.batch_size = int(clips), int(tta), aggregate, int(batch_size)
        self.mean, self.std = tuple(model.mean), tuple(model.std)
        self.kind = str(getattr(model, "kind", cfg.model.kind))
        self.modalities = str(getattr(model, "modalities", "video"))
        self._face_detector = face_detector
        self._warned_image = False
        head = getattr(model, "landmark_head", None)
        self.landmark_head = head if head is not None and bool(head.fitted) else None  # a fitted stream only
        self._landmarker = None
        if self.landmark_head is not None:
            try:
                self._landmarker = load_landmarker()
            except LandmarkModelError as e:
                raise InputError(f"this model's landmark stream needs the face mesh: {e}") from None

    @classmethod
    def load(cls, weights: str | Path, score: ScoreConfig | None = None, **settings: object) -> Detector:
        """Rebuild the model from a checkpoint alone (:func:`models.build.load_model`: strict, weights_only), or open
        an ONNX file written by ``python -m dfdetect export`` (:func:`~dfdetect.inference.export.load_onnx`: run by
        onnxruntime on the CPU, its clip length T fixed at export, its config read from the file).

        Args:
            weights: a checkpoint written by ``train.py``, or a ``.onnx`` export of one.
            score, settings: as in :class:`Detector` (``device``: ``auto`` (CUDA when available), ``cpu`` or
                ``cuda``; default :data:`API_SCORE`, the CPU).

        Raises:
            dfdetect.core.checkpoint.CheckpointError: missing/unreadable file, or weights that do not match the model
                (names the missing/unexpected keys).
            InputError: CUDA asked for but not available, or a bad setting.
        """
        score = dataclasses.replace(score or API_SCORE, **settings)
        if Path(weights).suffix.lower() == ".onnx":
            onnx_model, cfg = load_onnx(weights)
            return cls(onnx_model, cfg, dataclasses.replace(score, device="cpu"))  # type: ignore[arg-type]
        score = dataclasses.replace(score, device=str(resolve_device(score.device)))
        model, cfg = load_model(weights, device=score.device)
        return cls(model, cfg, score)

    @property
    def face_detector(self) -> FaceDetector:
        """The MTCNN face detector the training crops were found with: the checkpoint's ``data.detector``
        (:class:`~dfdetect.core.config.DetectorConfig`, written by ``python -m face_crop``, adopted by training)."""
        if self._face_detector is None:
            self._face_detector = FaceDetector.from_config(self.cfg.data.detector, device=self.device)
        return self._face_detector

    def prepare(self, item: str | Path | PreparedVideo, timings: dict[str, float] | None = None) -> PreparedVideo:
        """A video or image path as face crops (:func:`~dfdetect.inference.prepare.prepare_input`, never raises for a
        bad input); a :class:`PreparedVideo` is returned as it is (no face detector needed).

        Args:
            item: video or image path, or an input already prepared.
            timings: optional dict of seconds per stage (see :meth:`predict`).
        """
        if isinstance(item, PreparedVideo):
            return with_sound(item, self.cfg.data) if self.modalities == "av" else item
        clips = None if self.coverage is not None else self.clips
        faces = None if self.modalities == "audio" else self.face_detector  # an audio model looks for no face
        return prepare_input(item, self.cfg.data, clips, faces, timings, self.coverage, self.modalities)

    # ---------------------------------------------------------------- model

    def _plan(self, prep: PreparedVideo) -> list[list[tuple[list[int], str]]]:
        """Per clip, its TTA views as (frame indices, view name of :data:`dfdetect.clips.transforms.TTA_VIEWS`)."""
        return self._plan_windows(prep)[0]

    def _plan_windows(self, prep: PreparedVideo) -> tuple[list[list[tuple[list[int], str]]], list[int]]:
        """:meth:`_plan`, and per clip the window it belongs to (index into ``prep.windows``)."""
        fixed = getattr(self.model, "input_shape", None)  # (T, 3, S, S) of an exported model: T fixed at export
        if fixed is not None and self.kind == "video" and prep.clip_len != fixed[0]:
            raise InputError(f"the exported model takes clips of T = {fixed[0]} frames (fixed at export); this input "
                             f"gives clips of {prep.clip_len} (an image, or per-frame scores): use the checkpoint")
        if self.modalities == "audio":  # one clip per window: its frames' audio window
            return [[(list(window), "none")] for window in prep.windows], list(range(len(prep.windows)))
        if self.kind == "frame":  # every crop is a clip of its own; a video's score is the mean over its frames
            views = image_tta_views(self.tta)
            owner: dict[int, int] = {}  # frame -> its first window
            for w, window in enumerate(prep.windows):
                for i in window:
                    owner.setdefault(i, w)
            return [[([i], v) for v in views] for i in owner], list(owner.values())
        if prep.clip_len == 1 and not self._warned_image:
            log.warning("%s: a video model scores an image as a one-frame clip, which it was not trained for; train a "
                        "frame model for images (model.kind frame)", prep.name)
            self._warned_image = True
        clips, owners = [], []
        for w, window in enumerate(prep.windows):
            for cw in clip_windows(len(window), prep.clip_len, prep.clips_per_window):
                views = tta_views(cw, len(window), self.tta)
                clips.append([([window[i] for i in idx], "hflip" if flip else "none") for idx, flip in views])
                owners.append(w)
        return clips, owners

    def _plan_persons(self, prep: PreparedVideo) -> tuple[list[list[tuple[list[int], str]]], list[tuple[int, int]]]:
        """:meth:`_plan_windows` of every person of ``prep`` (:attr:`PreparedVideo.persons`), and per clip its
        ``(person, window)``."""
        clips: list[list[tuple[list[int], str]]] = []
        owners: list[tuple[int, int]] = []
        for k, person in enumerate(prep.persons):
            person_clips, windows = self._plan_windows(person)
            clips += person_clips
            owners += [(k, w) for w in windows]
        return clips, owners

    def clip_tensor(self, prep: PreparedVideo, frames: Sequence[int], view: str = "none") -> torch.Tensor:
        """THE model input of one clip view: the crops of ``frames`` in ``view``
        (:data:`dfdetect.clips.transforms.TTA_VIEWS`) through :func:`dfdetect.clips.transforms.to_tensor_clip` ->
        float32 ``(T, C, H, W)``, normalised for the model.

        Used by scoring and by the heat maps (:mod:`dfdetect.inference.explain`), so both see the same tensor.
        """
        crops = np.stack([view_transform(prep.crops[i], view) for i in frames])  # (T, H, W, 3) uint8
        return to_tensor_clip(crops, self.mean, self.std)  # (T, C, H, W)

    def clip_mel(self, prep: PreparedVideo, frames: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """THE audio input of one clip: the log-mel of the audio window of ``frames``
        (:func:`dfdetect.clips.audio.clip_audio`) -> float32 ``(M, L)`` dB and ``has_audio`` (0-d bool; False, and a
        silent window's log-mel, without a track).

        Used by scoring and by the spectrogram heat maps (:mod:`dfdetect.inference.explain`), so both see the same
        tensor.
        """
        return clip_audio(prep.audio, frames, self.cfg.data)

    def clips_of(self, prep: PreparedVideo) -> list[list[int]]:
        """The frame indices of each clip the model scores for ``prep`` (its first TTA view, as ``clip_frames``).

        Raises:
            InputError: an exported model whose fixed T does not fit this input.
        """
        return [views[0][0] for views in self._plan(prep)]

    def _forward(self, pending: Sequence[_Pending], timings: dict[str, float] | None) -> None:
        """Run every view of the pending inputs through the model, ``batch_size`` views per forward."""
        jobs = [(p, c, v) for p in pending for c, views in enumerate(p.clips) for v in range(len(views))]
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start : start + self.batch_size]
            # Group by clip length: images (T = 1) and videos (T = cfg.data.frames) never share a tensor.
            by_len: dict[int, list[tuple[_Pending, int, int]]] = {}
            for job in chunk:
                by_len.setdefault(len(job[0].clips[job[1]][job[2]][0]), []).append(job)
            for group in by_len.values():
                with timed(timings, "transform"):
                    inputs = self._inputs(group)  # (clip,), (mel,) or (clip, mel, has_audio)
                with timed(timings, "model"), torch.inference_mode():
                    logits = self.model(*inputs).cpu()  # (B,) raw
                    if self.landmark_head is not None and inputs[0].ndim == 5 and inputs[0].shape[1] >= MIN_FRAMES:
                        features = np.stack([self._landmark_features(p, c, v) for p, c, v in group])  # (B, F)
                        logits = self.landmark_head.fuse(logits, torch.from_numpy(features))
                    probs = self.model.probability(logits).numpy()  # (B,) calibrated P(fake)
                for (p, c, v), prob in zip(group, probs.tolist()):
                    p.probs[(c, v)] = prob

    def _landmark_features(self, p: _Pending, c: int, v: int) -> np.ndarray:
        """The landmark-stream input of view ``v`` of clip ``c``: :func:`dfdetect.clips.landmarks.clip_features` of
        the crops of its window around it (:func:`dfdetect.clips.windows.stream_window`, ``model.landmark_frames``)
        as they are, unflipped (a mirrored face moves alike); each crop's mesh found once per input."""
        k, w = p.owners[c]
        person = p.prepared.persons[k]
        window = person.windows[w]
        frames = p.clips[c][v][0]
        at = {f: j for j, f in enumerate(window)}  # frame -> its place in the window
        if all(f in at for f in frames):
            frames = [window[j] for j in stream_window([at[f] for f in frames], len(window),
                                                       self.cfg.model.landmark_frames)]
        for i in frames:
            if (k, i) not in p.meshes:
                p.meshes[(k, i)] = self._landmarker.on_crop(person.crops[i])  # type: ignore[union-attr]
        return clip_features([p.meshes[(k, i)] for i in frames])

    def _inputs(self, group: Sequence[tuple[_Pending, int, int]]) -> tuple[torch.Tensor, ...]:
        """The model's inputs for views ``(pending, clip, view)``: clips (B, T, C, H, W) and/or log-mels (B, M, L)
        with ``has_audio`` (B,), by :attr:`modalities` (as :func:`dfdetect.training.step.model_inputs`)."""
        out: list[torch.Tensor] = []
        if self.modalities != "audio":
            tensors = [self.clip_tensor(p.prepared.persons[p.owners[c][0]], *p.clips[c][v])  # (T, C, H, W) each
                       for p, c, v in group]
            out.append(torch.stack(tensors).to(self.device))  # (B, T, C, H, W)
        if self.modalities != "video":
            mels, has = zip(*(self.clip_mel(p.prepared, p.clips[c][v][0]) for p, c, v in group))  # (M, L), ()
            out.append(torch.stack(mels).to(self.device))  # (B, M, L)
            if self.modalities == "av":
                out.append(torch.stack(has).to(self.device))  # (B,)
        return tuple(out)

    def _finish(self, p: _Pending) -> VideoScore:
        """The result of an input whose views have all been scored: TTA mean per clip, each person's score from its
        clips, the video's the highest person's."""
        prep = p.prepared
        clip_scores = [float(np.mean([p.probs[(c, v)] for v in range(len(views))])) for c, views in enumerate(p.clips)]
        results = [self._person_result(person, [(c, w) for c, (k, w) in enumerate(p.owners) if k == n], p, clip_scores)
                   for n, person in enumerate(prep.persons)]
        scored = [n for n, r in enumerate(results) if r is not None]
        top = max(scored, key=lambda n: results[n].score)  # the first person on a tie (the main one)
        result = results[top]
        result.score = persons_score([results[n].score for n in scored])
        result.person, result.faces, result.sampled = top, prep.faces, prep.sampled
        result.persons = [PersonScore(
            person=n, score=results[n].score, faces=len(prep.persons[n].crops), windows=results[n].windows,
            start_s=min((a for a, _ in results[n].window_times), default=0.0),
            end_s=max((b for _, b in results[n].window_times), default=0.0), box=prep.persons[n].box)
            for n in scored]
        return result

    def _person_result(self, person: PreparedVideo, clips: list[tuple[int, int]], p: _Pending,
                       clip_scores: list[float]) -> VideoScore | None:
        """One person's result from its clips ``(clip, window)`` (None without any clip)."""
        if not clips:
            return None
        scores = [clip_scores[c] for c, _ in clips]
        per_window: dict[int, list[float]] = {}
        for (_, w), s in zip(clips, scores):
            per_window.setdefault(w, []).append(s)
        window_scores = [float(np.mean(per_window[w])) for w in sorted(per_window)]
        known = len(person.window_times) == len(person.windows)
        window_times = [person.window_times[w] for w in sorted(per_window)] if known else []
        return VideoScore(
            name=person.name,
            score=video_score(scores, window_scores, self.aggregate, self.score_config.top_k),
            status=ScoreStatus.OK,
            reason=person.reason,
            faces=person.faces,
            sampled=person.sampled,
            clip_scores=scores,
            clip_frames=[p.clips[c][0][0] for c, _ in clips],
            window_scores=window_scores,
            window_times=window_times,
            duration_s=person.duration_s,
            covered_s=person.covered_s if known else 0.0,
            fake_segments=fake_segments(window_times, window_scores, self.score_config.threshold),
        )

    def _flush(self, queue: deque[_Pending], timings: dict[str, float] | None) -> None:
        todo = [p for p in queue if p.result is None]
        if not todo:
            return
        self._forward(todo, timings)
        for p in todo:
            p.result = self._finish(p)

    def predict(
        self,
        inputs: Iterable[str | Path | PreparedVideo],
        progress: bool = False,
        timings: dict[str, float] | None = None,
        total: int | None = None,
    ) -> Iterator[VideoScore]:
        """Score inputs (video or image paths, or :class:`PreparedVideo`), yielding results in input order.

        Clips of consecutive inputs are batched together. An input that fails for an unexpected reason gets status
        ``error`` (logged with its traceback at debug level) and the rest goes on.

        Args:
            inputs: paths or prepared inputs.
            progress: show a progress bar over inputs.
            timings: optional dict accumulating seconds per stage (:data:`TIMING_STAGES`) over the whole call.
            total: number of inputs, for the progress bar when ``inputs`` has no ``len``.

        Yields:
            One :class:`VideoScore` per input, in input order.
        """
        if total is None and hasattr(inputs, "__len__"):
            total = len(inputs)  # type: ignore[arg-type]
        queue: deque[_Pending] = deque()
        queued_views = 0
        with tqdm(total=total, disable=not progress, unit="video", desc="scoring") as bar:
            for item in inputs:
                prep = self.prepare(item, timings)
                pending = _Pending(prep, [])
                if prep.status == ScoreStatus.OK:
                    try:
                        pending.clips, pending.owners = self._plan_persons(prep)
                    except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
                        log.debug("planning clips for %s failed", prep.name, exc_info=True)
                        prep.failed(ScoreStatus.ERROR, f"{type(e).__name__}: {e}")
                if prep.status != ScoreStatus.OK:
                    log.warning("%s: not scored (%s): %s; score %.1f", prep.name, prep.status, prep.reason,
                                NEUTRAL_SCORE)
                    pending.result = VideoScore(prep.name, NEUTRAL_SCORE, prep.status, prep.reason, prep.faces,
                                                prep.sampled, duration_s=prep.duration_s)
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

    # ---------------------------------------------------------------- convenience API

    def score(self, path: str | Path) -> float:
        """P(fake) of one video or face image (:data:`NEUTRAL_SCORE` when it cannot be scored, with a warning)."""
        (result,) = self.predict([path])
        return result.score

    def score_many(self, paths: Sequence[str | Path], progress: bool = False) -> list[float]:
        """P(fake) of each path, in order (batched; see :meth:`predict` for statuses)."""
        return [r.score for r in self.predict(list(paths), progress=progress)]

    def frame_scores(self, video: str | Path | PreparedVideo) -> dict[int, float]:
        """Per-frame P(fake) of a video: each face crop of the sampled frames scored as a one-frame clip.

        Args:
            video: a video path, or its :meth:`prepare` result (reused as is: nothing is decoded again), whose main
                person is scored; one of its :attr:`~dfdetect.inference.prepare.PreparedVideo.persons` for another.

        Returns:
            ``{frame index: score}`` for the sampled frames where a face was found (empty if none, and for an audio
            model: it sees no frame, it hears windows of sound, and its clip scores are per window).
        """
        if self.modalities == "audio":
            log.info("no frame scores: %s", NO_FRAME_SCORES_AUDIO)
            return {}
        prep = self.prepare(video)
        if prep.status != ScoreStatus.OK:
            log.warning("%s: no frame scores (%s): %s", prep.name, prep.status, prep.reason)
            return {}
        frames = sorted(prep.crops)
        # One single-frame window per frame: TTA can flip a frame but never shift it onto its neighbour.
        per_frame = dataclasses.replace(prep, windows=[[f] for f in frames], clip_len=1, clips_per_window=1, others=[])
        (result,) = self.predict([per_frame])
        return {clip[0]: s for clip, s in zip(result.clip_frames, result.clip_scores)}
