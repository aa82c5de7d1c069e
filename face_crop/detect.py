"""MTCNN face detection for one video at a time, on downscaled copies.

The detector settings are :class:`~dfdetect.core.config.DetectorConfig` (part of the crop contract,
:class:`~dfdetect.core.config.CropConfig`): ``python -m face_crop`` records the ones it used, training carries them
into the checkpoint, and scoring builds its :class:`FaceDetector` from them (:meth:`FaceDetector.from_config`), so
training and test crops come from the same detector (the DFDC winner's train/test mismatch came from two copies of
these numbers).

Speed: all frames of a video go through MTCNN in one batched call (a video's frames share one size) on copies whose
longer side is at most :data:`MAX_SIDE` (never upscaled); boxes and landmarks are mapped back to full resolution and
the crops are cut from the full-resolution frames (see :mod:`face_crop.crop`); MTCNN's area resampling (its image
pyramid, its candidate boxes) is taken from integral images in one vectorised step (:mod:`face_crop.mtcnn`:
facenet-pytorch's results bit for bit, about 35 % faster). Which face is whose in each frame is
:mod:`face_crop.track`'s job: :func:`detect_tracks` (every face track of each group of frames, the full MTCNN on key
frames, O-Net between them) = :meth:`FaceDetector.detect_all` + :func:`face_crop.track.face_tracks`;
:meth:`FaceDetector.detect` keeps the main face.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from dfdetect.core.config import DetectorConfig
from dfdetect.core.extras import NODEPS_HINT
from face_crop.mtcnn import mtcnn_detect
from face_crop.track import box_iou, face_tracks, relative_box

log = logging.getLogger(__name__)

# --- The detector's defaults: declared once, in DetectorConfig (dfdetect.core.config); named here for readers. -----
_DEFAULTS = DetectorConfig()
MAX_SIDE = _DEFAULTS.max_side
MIN_FACE_SIZE = _DEFAULTS.min_face_size
THRESHOLDS = tuple(_DEFAULTS.thresholds)
FACTOR = _DEFAULTS.factor
BATCH_SIZE = _DEFAULTS.batch_size
RETRY_MAX_SIDE = _DEFAULTS.retry_max_side
RETRY_PROBE = _DEFAULTS.retry_probe
RETRY_KEEP = _DEFAULTS.retry_keep
KEY_STEP = _DEFAULTS.key_step
SAME_FACE_IOU = 0.5
"""Two faces O-Net refined in one frame overlapping this much are one face (two tracks that met): the second is
dropped."""
REFINE_IOU = 0.3
"""A box O-Net refined must overlap the interpolated one by at least this IoU, or the frame is detected in full (a
property of the following step, as :data:`ONET_SIZE`; not a setting)."""
ONET_SIZE = 48
"""O-Net's input side in pixels."""

@dataclass
class Face:
    """One detected face, in full-frame pixels.

    Attributes:
        box: float32 (4,) ``x1, y1, x2, y2`` (may extend slightly past the frame when the face is cut by the border).
        prob: MTCNN O-Net confidence in [0, 1].
        landmarks: float32 (5, 2) ``x, y`` of the eyes, the nose tip and the mouth corners (MTCNN order: left eye,
            right eye, nose, left mouth corner, right mouth corner, as seen in the image).
        frame_size: ``(width, height)`` of its frame (None when unknown).
        small: True when found only by the full-size retry of a frame whose downscaled copy had no face.
    """

    box: np.ndarray
    prob: float
    landmarks: np.ndarray
    frame_size: tuple[int, int] | None = None
    small: bool = False

    @property
    def area(self) -> float:
        """Box area in full-frame pixels."""
        return float(max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0))


def face_side(face: Face) -> float:
    """A face's size: the longer side of its box, in full-frame pixels (compared with ``data.min_face_size``).

    Example:
        >>> face_side(Face(np.array([10, 20, 40, 60], np.float32), 0.99, np.zeros((5, 2), np.float32)))
        40.0
    """
    x1, y1, x2, y2 = (float(v) for v in face.box)
    return max(x2 - x1, y2 - y1, 0.0)


@dataclass(frozen=True)
class RetryStats:
    """What the small-face retry of the last :meth:`FaceDetector.detect_all` call did.

    Attributes:
        retried: frames searched again at the larger size (their downscaled copy had no face).
        found: of those, frames where a (small) face was found.
        skipped: faceless frames not retried because the first :data:`RETRY_PROBE` retried frames found nothing.
    """

    retried: int = 0
    found: int = 0
    skipped: int = 0


def detector_settings(
    max_side: int = MAX_SIDE,
    min_face_size: int = MIN_FACE_SIZE,
    thresholds: Sequence[float] = THRESHOLDS,
    factor: float = FACTOR,
    retry_max_side: int = RETRY_MAX_SIDE,
    key_step: int = KEY_STEP,
    batch_size: int = BATCH_SIZE,
    retry_probe: int = RETRY_PROBE,
    retry_keep: float = RETRY_KEEP,
) -> dict[str, object]:
    """The plain-type record of a detector's settings (:meth:`FaceDetector.settings`), without building one: every
    field of :class:`~dfdetect.core.config.DetectorConfig`, so ``DetectorConfig(**settings)`` rebuilds them.

    Example:
        >>> detector_settings()["key_step"] == KEY_STEP
        True
        >>> DetectorConfig(**detector_settings(max_side=640)).max_side
        640
    """
    return {"max_side": int(max_side), "min_face_size": int(min_face_size),
            "thresholds": [float(t) for t in thresholds], "factor": float(factor),
            "retry_max_side": int(retry_max_side), "key_step": int(key_step), "batch_size": int(batch_size),
            "retry_probe": int(retry_probe), "retry_keep": float(retry_keep)}


def detection_scale(width: int, height: int, max_side: int = MAX_SIDE) -> float:
    """Downscale factor so the longer side is at most ``max_side``; 1.0 when already small (never upscale).

    Example:
        >>> detection_scale(1920, 1080), detection_scale(176, 144)
        (0.25, 1.0)
    """
    return min(1.0, max_side / max(width, height))


class FaceDetector:
    """facenet-pytorch MTCNN on downscaled copies of one video's frames; construct once per process.

    Args:
        device: ``"cpu"`` or ``"cuda"`` (a torch device string).
        max_side: longer side of the copy MTCNN sees (never upscaled).
        min_face_size: smallest face searched for, in pixels of that copy.
        thresholds: MTCNN's three stage thresholds (the last is the minimum confidence).
        batch_size: frames per batched MTCNN call.
        factor: MTCNN pyramid scale step.
        retry_max_side: longer side of the copy a frame is searched again on when its downscaled copy shows no face
            (:data:`RETRY_MAX_SIDE`; 0: no retry). Only faceless frames of downscaled videos are retried, so the
            usual video costs nothing more; :attr:`last_retry` tells what the retry did (faces it found have
            ``small`` set: the caller can say "face too small").
        key_step: :meth:`detect` runs the full MTCNN on every ``key_step``-th frame of a track and follows the face
            between them with O-Net (:data:`KEY_STEP`; 1: every frame in full).
        retry_probe, retry_keep: see :class:`~dfdetect.core.config.DetectorConfig`.

    Raises:
        ValueError: ``max_side``, ``min_face_size``, ``batch_size`` or ``key_step`` below 1.

    Example:
        >>> cap = cv2.VideoCapture("data/samples/single_face.mp4")
        >>> frames = [cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB) for _ in range(2)]  # (360, 640, 3) each
        >>> detector = FaceDetector()
        >>> [len(candidates) for candidates in detector.detect_all(frames + [None])]
        [1, 1, 0]
        >>> face = detector.detect(frames)[0]
        >>> face.box.shape, face.landmarks.shape, face.prob > 0.9, bool(200 < face.box[0] < face.box[2] < 400)
        ((4,), (5, 2), True, True)
        >>> detector.settings() == detector_settings() == dataclasses.asdict(DetectorConfig())
        True
    """

    def __init__(
        self,
        device: str = "cpu",
        max_side: int = MAX_SIDE,
        min_face_size: int = MIN_FACE_SIZE,
        thresholds: Sequence[float] = THRESHOLDS,
        batch_size: int = BATCH_SIZE,
        factor: float = FACTOR,
        retry_max_side: int = RETRY_MAX_SIDE,
        key_step: int = KEY_STEP,
        retry_probe: int = RETRY_PROBE,
        retry_keep: float = RETRY_KEEP,
    ) -> None:
        import torch

        try:
            from facenet_pytorch import MTCNN  # heavy imports, only when a detector is built
        except ModuleNotFoundError as e:  # pip installs it only with --no-deps (dfdetect.core.extras)
            raise ModuleNotFoundError(f"face detection needs facenet-pytorch: {NODEPS_HINT}", name=e.name) from None

        if max_side < 1 or min_face_size < 1 or batch_size < 1 or retry_max_side < 0 or key_step < 1:
            raise ValueError("max_side, min_face_size, batch_size and key_step must be positive, retry_max_side not "
                             "negative")
        self.device = device
        self.max_side = int(max_side)
        self.min_face_size = int(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.batch_size = int(batch_size)
        self.factor = float(factor)
        self.retry_max_side = int(retry_max_side)
        self.key_step = int(key_step)
        self.retry_probe, self.retry_keep = int(retry_probe), float(retry_keep)
        self.last_retry = RetryStats()
        """What the small-face retry did in the last :meth:`detect_all` call."""
        # keep_all: we choose among all candidates ourselves; post_process off: we only use boxes and landmarks.
        self.mtcnn = MTCNN(
            keep_all=True,
            post_process=False,
            min_face_size=self.min_face_size,
            thresholds=list(self.thresholds),
            factor=self.factor,
            device=device,
        )
        # Channels-last weights make the convolutions emit channels-last activations, where CPU max-pooling is ~3x
        # faster than in channels-first: detection ~30 % faster with the same boxes (to 1e-3 px).
        for net in (self.mtcnn.pnet, self.mtcnn.rnet, self.mtcnn.onet):
            net.to(memory_format=torch.channels_last)

    @classmethod
    def from_config(cls, cfg: DetectorConfig, device: str = "cpu") -> FaceDetector:
        """The detector of a :class:`~dfdetect.core.config.DetectorConfig` (a checkpoint's ``data.detector``, or the
        face_crop CLI's), on ``device``."""
        return cls(device=device, **dataclasses.asdict(cfg))

    def settings(self) -> dict[str, object]:
        """Plain-type settings, every field of :class:`~dfdetect.core.config.DetectorConfig` (recorded by the CLI in
        ``settings.json`` and its markers: training adopts them, a resumed run with other settings redoes the work)."""
        return detector_settings(self.max_side, self.min_face_size, self.thresholds, self.factor, self.retry_max_side,
                                 self.key_step, self.batch_size, self.retry_probe, self.retry_keep)

    def detect_all(self, frames: Sequence[np.ndarray | None]) -> list[list[Face]]:
        """All faces in each frame, sorted by decreasing ``area * prob``.

        Each frame is searched on a copy whose longer side is at most ``max_side``. A frame of a downscaled video
        where that finds nothing is searched again on a larger copy (``retry_max_side``) for faces too small for the
        first one: first :data:`RETRY_PROBE` such frames, the rest only if those found a face. :attr:`last_retry`
        counts what the retry did; the faces it found have ``small`` set.

        Args:
            frames: RGB uint8 frames (H, W, 3) of one video; ``None`` entries (unreadable frames) give ``[]``.

        Returns:
            One list of :class:`Face` per frame (full-frame pixels).
        """
        out: list[list[Face]] = [[] for _ in frames]
        retried = found = skipped = 0
        # Batched MTCNN needs equal sizes: group by shape (one group for a normal video).
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, f in enumerate(frames):
            if f is not None:
                groups.setdefault(tuple(f.shape), []).append(i)
        for shape, idxs in groups.items():
            h, w = shape[:2]
            scale = detection_scale(w, h, self.max_side)
            if not self._search(frames, idxs, w, h, scale, self.batch_size, out):
                continue
            faceless = [i for i in idxs if not out[i]]
            retry_scale = detection_scale(w, h, self.retry_max_side) if self.retry_max_side else 0.0
            if not faceless or retry_scale <= scale:
                continue
            # Faces under ~min_face_size / scale px were invisible on the copy: look again, larger (a few first).
            keep_below = self.retry_keep * self.min_face_size / scale
            probe = [faceless[int(k)] for k in np.unique(np.linspace(0, len(faceless) - 1, self.retry_probe).round())]
            rest = [i for i in faceless if i not in set(probe)]
            batch = max(1, self.batch_size // 8)  # larger copies: smaller batches
            for todo in (probe, rest):
                if todo is rest and not any(out[i] for i in probe):
                    skipped += len(rest)
                    break
                self._search(frames, todo, w, h, retry_scale, batch, out, keep_below=keep_below)
                retried += len(todo)
                found += sum(bool(out[i]) for i in todo)
            log.debug("frames of %dx%d: %d faceless on the %.0f%% copy, retried %d at %.0f%%, face in %d", w, h,
                      len(faceless), 100 * scale, retried, 100 * retry_scale, found)
        self.last_retry = RetryStats(retried=retried, found=found, skipped=skipped)
        return out

    def _search(self, frames: Sequence[np.ndarray | None], idxs: Sequence[int], w: int, h: int, scale: float,
                batch_size: int, out: list[list[Face]], keep_below: float | None = None) -> bool:
        """MTCNN on ``frames[idxs]`` (all ``w`` x ``h``) scaled by ``scale``; fills ``out[i]``. False: too small.

        ``keep_below``: a retry; keep only faces whose box side is under this (full-frame pixels), marked ``small``.
        """
        dw, dh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        if min(dw, dh) < self.min_face_size:  # MTCNN's image pyramid would be empty (and it raises)
            log.warning("frames of %dx%d are smaller than the minimum face size: no face searched", w, h)
            return False
        # Map back to full resolution (continuous coordinates: multiply by the exact per-axis ratio).
        sxy = np.array([w / dw, h / dh], dtype=np.float32)
        for start in range(0, len(idxs), batch_size):
            chunk = idxs[start : start + batch_size]
            small = np.stack([self._downscale(frames[i], dw, dh) for i in chunk])  # (B, dh, dw, 3) uint8
            boxes, probs, points = mtcnn_detect(self.mtcnn, small)  # MTCNN.detect's faces, faster (face_crop.mtcnn)
            for i, b, p, lm in zip(chunk, boxes, probs, points):
                if b is None:
                    continue
                b = np.asarray(b, dtype=np.float32).reshape(-1, 4)  # object arrays under numpy 2
                p = np.asarray(p, dtype=np.float32).reshape(-1)
                lm = np.asarray(lm, dtype=np.float32).reshape(-1, 5, 2)
                faces = [
                    Face(box=(b[k].reshape(2, 2) * sxy).reshape(4), prob=float(p[k]), landmarks=lm[k] * sxy,
                         frame_size=(w, h), small=keep_below is not None)
                    for k in range(len(b))
                ]
                if keep_below is not None:
                    faces = [f for f in faces if np.sqrt(f.area) < keep_below]
                out[i] = sorted(faces, key=lambda f: f.area * f.prob, reverse=True)
        return True

    def detect(
        self, frames: Sequence[np.ndarray | None], tracks: Sequence[Sequence[int]] | None = None
    ) -> list[Face | None]:
        """The main face in each frame of one video, tracked consistently: the first track of each group of
        :func:`detect_tracks` (full MTCNN on the key frames, O-Net following the faces between them).

        Args:
            frames: RGB uint8 frames (H, W, 3) of ONE video, in time order; ``None`` entries give ``None``.
            tracks: groups of positions in ``frames`` tracked separately (e.g. evaluation windows); default one
                group of all frames. A position in no group gets ``None`` (in several: the last group's face).

        Returns:
            One :class:`Face` or ``None`` per frame.
        """
        groups = [list(g) for g in (tracks if tracks is not None else [range(len(frames))])]
        faces: list[Face | None] = [None] * len(frames)
        for group, found in zip(groups, detect_tracks(self, frames, groups)):
            for j, p in enumerate(group):
                faces[p] = found[0][j] if found else None
        return faces

    def refine(self, frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[Face | None]:
        """O-Net, MTCNN's last stage, on a predicted face box in each frame: the face there, or ``None``.

        Each box is made square around its centre (as MTCNN feeds O-Net), cut from the full-resolution frame (zero
        padding past the border), resized to 48x48 and scored in one batch; the box regression and the five
        landmarks are mapped back to frame pixels. A face below O-Net's threshold (``thresholds[2]``) is ``None``.

        Args:
            frames: RGB uint8 frames (H, W, 3).
            boxes: one predicted ``x1, y1, x2, y2`` box (full-frame pixels) per frame.

        Returns:
            One :class:`Face` or ``None`` per frame.
        """
        import torch  # heavy import, only where a detector runs (as in __init__)

        if not boxes:
            return []
        crops, squares = [], []
        for frame, box in zip(frames, boxes):
            x1, y1, x2, y2 = (float(v) for v in box)
            side = max(x2 - x1, y2 - y1, 1.0)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            sq = np.array([np.floor(cx - side / 2), np.floor(cy - side / 2)], np.int64)
            n = int(np.ceil(side))
            squares.append((int(sq[0]), int(sq[1]), n))
            crops.append(_cut_square(frame, int(sq[0]), int(sq[1]), n))  # (48, 48, 3) uint8
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()  # (N, 3, 48, 48)
        x = ((x - 127.5) * 0.0078125).contiguous(memory_format=torch.channels_last).to(self.device)
        with torch.inference_mode():
            reg, points, probs = self.mtcnn.onet(x)  # (N, 4) box offsets, (N, 10) landmarks, (N, 2) softmax
        reg, points, probs = reg.cpu().numpy(), points.cpu().numpy(), probs[:, 1].cpu().numpy()
        out: list[Face | None] = []
        for frame, (sx, sy, n), r, pts, prob in zip(frames, squares, reg, points, probs):
            if prob < self.thresholds[2]:
                out.append(None)
                continue
            base = np.array([sx, sy, sx + n, sy + n], np.float32)
            box = base + r.astype(np.float32) * n  # MTCNN's bbreg: offsets in units of the box side
            lms = np.stack([sx + pts[:5] * n, sy + pts[5:] * n], axis=1).astype(np.float32)  # (5, 2)
            h, w = frame.shape[:2]
            out.append(Face(box=box, prob=float(prob), landmarks=lms, frame_size=(w, h)))
        return out

    @staticmethod
    def _downscale(frame: np.ndarray, dw: int, dh: int) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame.shape}")
        if (frame.shape[1], frame.shape[0]) == (dw, dh):
            return frame
        return cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_AREA)


def _cut_square(frame: np.ndarray, x: int, y: int, n: int) -> np.ndarray:
    """The ``n`` x ``n`` region at ``(x, y)`` of ``frame`` (zeros past the border), resized to O-Net's 48x48.

    A large region is first sampled every ``s``-th pixel down to 2-4x O-Net's side (a view, nearly free), then
    area-averaged: area resampling of a whole 500 px face straight to 48 px costs ~2.5 ms, this ~0.1 ms, and O-Net
    sees the same face.
    """
    h, w = frame.shape[:2]
    s = max(1, n // (2 * ONET_SIZE))
    m = -(-n // s)  # ceil(n / s) samples per side
    xs, ys = x + s * np.arange(m), y + s * np.arange(m)
    vx, vy = (xs >= 0) & (xs < w), (ys >= 0) & (ys < h)
    region = np.zeros((m, m, 3), np.uint8)
    if vx.any() and vy.any():
        jx, jy = np.flatnonzero(vx), np.flatnonzero(vy)  # the samples inside the frame: contiguous runs
        region[jy[0]: jy[-1] + 1, jx[0]: jx[-1] + 1] = frame[ys[jy[0]]: ys[jy[-1]] + 1: s, xs[jx[0]]: xs[jx[-1]] + 1: s]
    return cv2.resize(region, (ONET_SIZE, ONET_SIZE), interpolation=cv2.INTER_AREA)


def detect_tracks(detector: FaceDetector, frames: Sequence[np.ndarray | None],
                  groups: Sequence[Sequence[int]]) -> list[list[list[Face | None]]]:
    """Every face track of each group of frames of one video (:func:`face_crop.track.face_tracks`), the main first.

    The full MTCNN (``detector.detect_all``) runs on the key frames only: every ``detector.key_step``-th position of
    each group, and its last, in one batched call. Between two key frames where a track has a face, each frame gets
    that track's box interpolated (in coordinates relative to the frame) and refined by O-Net
    (:meth:`FaceDetector.refine`); a frame where the MAIN track cannot be followed so (no face at a key frame on
    either side, or O-Net refuses the box) is detected in full; another track O-Net refuses just misses that frame.
    The tracks are then chosen over all frames of each group.

    A module function rather than a method, so that anything with ``detect_all``, ``refine``, ``key_step`` and
    ``last_retry`` (a test's stand-in) runs the real search; ``detector.last_retry`` is set to the retries of all its
    full calls.

    Args:
        detector: a :class:`FaceDetector` (or a stand-in).
        frames: RGB uint8 frames (H, W, 3) of ONE video, in time order; ``None`` entries never have a face.
        groups: groups of positions in ``frames``, each tracked on its own (e.g. the shots of evaluation windows).

    Returns:
        Per group, its tracks (main first; none when no face), each one :class:`Face` or ``None`` per position of the
        group.
    """
    groups = [list(g) for g in groups]
    step = int(detector.key_step)
    keys = {p for g in groups for p in (*g[::step], *g[-1:])}
    detections: list[list[Face]] = [[] for _ in frames]
    order = sorted(keys)
    for p, candidates in zip(order, detector.detect_all([frames[p] for p in order])):  # one batched call
        detections[p] = candidates
    stats = detector.last_retry
    predicted: dict[int, list[np.ndarray]] = {}  # position -> interpolated boxes, the main track's first
    main_at: set[int] = set()  # positions where the main track's box was predicted
    full: set[int] = set()  # positions to detect in full
    for g in groups:
        at_keys = [j for j, p in enumerate(g) if p in keys]
        key_tracks = face_tracks([detections[g[j]] for j in at_keys]) or [[None] * len(at_keys)]
        for rank, track in enumerate(key_tracks):
            for (ka, ja), (kb, jb) in zip(enumerate(at_keys), list(enumerate(at_keys))[1:]):
                fa, fb = track[ka], track[kb]
                for j in range(ja + 1, jb):
                    p = g[j]
                    if frames[p] is None:
                        continue
                    if fa is None or fb is None:
                        if rank == 0:
                            full.add(p)
                        continue
                    t = (j - ja) / (jb - ja)
                    h, w = frames[p].shape[:2]
                    rel = (1 - t) * relative_box(fa) + t * relative_box(fb)  # (4,) in frame units
                    box = rel * np.array([w, h, w, h], np.float32) if fa.frame_size else rel
                    if rank == 0:
                        main_at.add(p)
                        predicted.setdefault(p, []).insert(0, box)
                    else:
                        predicted.setdefault(p, []).append(box)
    jobs = [(p, box) for p in sorted(predicted) for box in predicted[p]]
    refined = detector.refine([frames[p] for p, _ in jobs], [box for _, box in jobs]) if jobs else []
    followed: dict[int, list[Face]] = {}
    for k, ((p, box), face) in enumerate(zip(jobs, refined)):
        ok = face is not None and box_iou(face.box, box) >= REFINE_IOU
        if p in main_at and (k == 0 or jobs[k - 1][0] != p) and not ok:
            full.add(p)  # the main face lost: this frame in full, every face
        elif ok and all(box_iou(face.box, f.box) < SAME_FACE_IOU for f in followed.get(p, [])):
            followed.setdefault(p, []).append(face)
    for p, faces in followed.items():
        if p not in full:
            detections[p] = faces
    rest = sorted(full)
    if rest:
        for p, candidates in zip(rest, detector.detect_all([frames[p] for p in rest])):
            detections[p] = candidates
        more = detector.last_retry
        stats = RetryStats(stats.retried + more.retried, stats.found + more.found, stats.skipped + more.skipped)
    detector.last_retry = stats
    log.debug("detect: %d key frames, %d followed by O-Net, %d detected in full", len(order),
              len(set(followed) - full), len(rest))
    return [face_tracks([detections[p] for p in g]) for g in groups]
