"""Face crops for a whole frame_extraction output folder: detect, track, crop, write, resume.

Per video, the main face of its frames (:func:`crop_tracks`, THE frames-to-crops step scoring runs too); when its
frames hold a scene cut, the main face of the shot with the most faces only (:func:`main_shot`), so that a training
clip never crosses a cut.

Layout read (frame_extraction's output, ``FRAMES``): ``FRAMES/frames.csv`` with columns
``video,label,frame,path,width,height`` (``path`` relative to ``FRAMES``); ``FRAMES/videos.csv`` is optional and only
used to record videos that have no frames at all.

Layout written (``CROPS``):

- ``CROPS/<video_name>/<frame:06d>.png``: size x size RGB face crops, cut from the full-resolution frames.
- ``CROPS/crops.csv``: ``video,label,frame,path,x1,y1,x2,y2,prob,landmarks`` (``path`` relative to ``CROPS``; box and
  landmarks in full-frame pixels; landmarks = 10 space-separated floats ``x y x y ...``), then ``width,height``: the
  full frame's size, which :func:`face_crop.crop.points_to_crop` needs to reproduce a crop clamped at the right or
  bottom border, and ``region``: the square cut from the frame. Only videos with at least ``min_faces`` crops are
  listed.
- ``CROPS/rejects.csv``: ``video,label,faces,reason`` for every dropped video (e.g. ``"3 faces < min 10"``,
  ``"no frames"``).
- ``CROPS/.state/<video_name>.json``: a video's resume marker (:mod:`dfdetect.core.resume`; settings = the crop
  settings and the frame list, payload = its status, face count, reason and manifest rows), written AFTER its crops.
  A resumed run skips a video whose marker matches the current settings and frame list, and redoes it otherwise. A
  video whose processing raised gets a marker with settings that match nothing (``None``): it is listed in
  ``rejects.csv`` with its ``error: ...`` reason and tried again by the next run. Both manifests are rebuilt at the
  end of every run from what the markers of that run's videos hold.
- ``CROPS/settings.json``: the crop settings, the whole :class:`~dfdetect.core.config.CropConfig` (margin, size,
  min_faces, min_face_size, and every detector setting under ``detector``), and, under ``frames``,
  frame_extraction's ``settings.json``: training adopts them whole and stores them in the checkpoint.

A rejected video's crops are NOT written (the face count is known before any crop is written), and nothing is ever
deleted: crops left by an earlier run with other settings stay on disk but are not listed; ``crops.csv`` is the
source of truth. The source frames are only read.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError, load_image, read_csv, save_image, write_json
from dfdetect.core.runtime import timed
from dfdetect.core.schemas import CROPS_COLUMNS, FRAMES_COLUMNS, REJECTS_COLUMNS, SETTINGS_FILE, STATE_DIR, CropStatus
from dfdetect.core.shards import Shard
from dfdetect.core.stage import ItemMarkers, Manifest, merge_manifests, shard_part, split_done, write_manifests
from face_crop.crop import crop_face, expand_box
from face_crop.detect import Face, FaceDetector, detect_tracks, face_side
from face_crop.shots import split_at_cuts
from face_crop.track import smooth_boxes

log = logging.getLogger(__name__)

CROPS_FILE = "crops.csv"
REJECTS_FILE = "rejects.csv"
_DATA = DataConfig()  # THE defaults: margin, size, min_faces
_RESERVED_NAMES = (".", "..", STATE_DIR, CROPS_FILE, REJECTS_FILE, SETTINGS_FILE)  # not usable as a video folder



def crops_order(row: dict[str, Any]) -> tuple[str, int]:
    """The order of ``crops.csv``: by video name, then frame index (also how shards are merged)."""
    return row["video"], int(row["frame"])


def rejects_order(row: dict[str, Any]) -> str:
    """The order of ``rejects.csv``: by video name (also how shards are merged)."""
    return row["video"]


CROPS_MANIFEST = Manifest(CROPS_FILE, CROPS_COLUMNS, crops_order)
REJECTS_MANIFEST = Manifest(REJECTS_FILE, REJECTS_COLUMNS, rejects_order)


T = TypeVar("T")
R = TypeVar("R")


@dataclass
class FaceTrack:
    """One face followed through one shot of one group of frames, cropped (:func:`crop_tracks`).

    Attributes:
        group: index of its group (e.g. its evaluation window) in the ``groups`` given.
        positions: the positions (in the frames given) of its shot of that group, in time order: the group itself when
            no cut split it.
        faces: per position, its :class:`~face_crop.detect.Face` or ``None``.
        crops: per position, the (size, size, 3) uint8 crop, or ``None`` (no face, or a face too small to judge).
        rank: 0 for the main face of its shot, then 1, 2... by weight (:func:`face_crop.track.face_tracks`).
    """

    group: int
    positions: list[int]
    faces: list[Face | None]
    crops: list[np.ndarray | None]
    rank: int


def crop_tracks(
    frames: Sequence[np.ndarray | None],
    detector: FaceDetector,
    margin: float,
    size: int,
    groups: Sequence[Sequence[int]] | None = None,
    min_face_size: int = 0,
    timings: dict[str, float] | None = None,
    box_smoothing: float = 0.0,
) -> list[FaceTrack]:
    """THE frames-to-crops step, used by preprocessing (:func:`process_video`) and by scoring
    (:func:`dfdetect.inference.prepare.prepare_video`) alike: split the frames into shots, follow every face through
    each shot, drop a face too small to judge, and cut the crops from the full-resolution frames.

    :func:`face_crop.shots.split_at_cuts` (each group cut where the picture jumps to another shot, so that no track
    crosses a scene cut), :func:`face_crop.detect.detect_tracks` on the pieces (full MTCNN on the key frames in one
    batched call, O-Net following each face between them, the tracks of each piece chosen by
    :func:`face_crop.track.face_tracks`), each track's boxes steadied over time (:func:`face_crop.track.smooth_boxes`,
    ``box_smoothing``), the min-face-size rule (:func:`~face_crop.detect.face_side` below ``min_face_size``: no crop),
    then :func:`face_crop.crop.crop_face`.

    Args:
        frames: RGB uint8 frames (H, W, 3) of ONE video in time order; ``None`` for an unreadable frame.
        detector: a :class:`~face_crop.detect.FaceDetector` (built once per process).
        margin: fraction of the box width/height added on each side (``DataConfig().margin`` in the CLI).
        size: crop side in pixels (``DataConfig().size`` in the CLI).
        groups: positions in ``frames`` to track separately (e.g. evaluation windows far apart in a video, each
            tracked like one preprocessing sample); default one group of all frames.
        min_face_size: a face whose longer box side (full-frame pixels) is below this gets no crop
            (``CropConfig.min_face_size``; 0: every face).
        timings: optional dict; seconds are added under ``detect`` (the cuts included) and ``crop``.
        box_smoothing: Gaussian sigma, in positions, of each track's boxes over time (``CropConfig.box_smoothing``;
            0: each frame's own box).

    Returns:
        Every track of every shot of every group, in group order, then shot order, then rank.
    """
    groups = [list(g) for g in (groups if groups is not None else [range(len(frames))])]
    with timed(timings, "detect"):
        pieces = split_at_cuts(frames, groups)  # (group, positions of one shot)
        found = detect_tracks(detector, frames, [positions for _, positions in pieces])
    out: list[FaceTrack] = []
    with timed(timings, "crop"):
        for (g, positions), tracks in zip(pieces, found):
            for rank, faces in enumerate(tracks):
                faces = smooth_boxes(faces, box_smoothing)
                crops = [crop_face(frames[p], f.box, margin, size) if f is not None and face_side(f) >= min_face_size
                         else None for p, f in zip(positions, faces)]
                out.append(FaceTrack(g, positions, faces, crops, rank))
    return out


def crop_faces(
    frames: Sequence[np.ndarray | None],
    detector: FaceDetector,
    margin: float,
    size: int,
    tracks: Sequence[Sequence[int]] | None = None,
    min_face_size: int = 0,
    timings: dict[str, float] | None = None,
) -> list[tuple[np.ndarray | None, Face | None]]:
    """The main face of each frame, cropped: the first track of each shot of :func:`crop_tracks` (THE
    frames-to-crops step), frame by frame.

    Args:
        frames, detector, margin, size, min_face_size, timings: as in :func:`crop_tracks`.
        tracks: positions in ``frames`` to track separately (``groups`` of :func:`crop_tracks`); default one group
            over all frames. A position in no group gets ``(None, None)`` (in several: the last group's).

    Returns:
        One ``(crop (size, size, 3) uint8 | None, Face | None)`` per frame; both ``None`` where no face was found, the
        crop alone ``None`` where the face is too small.

    Example:
        >>> import cv2
        >>> cap = cv2.VideoCapture("data/samples/single_face.mp4")
        >>> frames = [cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB) for _ in range(2)]  # (360, 640, 3) each
        >>> pairs = crop_faces(frames + [None], FaceDetector(), margin=0.3, size=64)
        >>> [None if crop is None else crop.shape for crop, _ in pairs]
        [(64, 64, 3), (64, 64, 3), None]
    """
    groups = [list(g) for g in (tracks if tracks is not None else [range(len(frames))])]
    pairs: list[tuple[np.ndarray | None, Face | None]] = [(None, None)] * len(frames)
    cropped = crop_tracks(frames, detector, margin, size, groups, min_face_size, timings)
    for g, group in enumerate(groups):  # group order: a position in several groups keeps the last group's face
        for p in group:
            pairs[p] = (None, None)
        for t in cropped:
            if t.group == g and t.rank == 0:
                for p, crop, face in zip(t.positions, t.crops, t.faces):
                    pairs[p] = (crop, face)
    return pairs


def main_shot(tracks: Sequence[FaceTrack]) -> FaceTrack | None:
    """The main face of the shot with the most crops (the first such shot on a tie): what preprocessing keeps of a
    video whose frames hold a scene cut, so that a training clip never crosses one.

    Example:
        >>> a = FaceTrack(0, [0, 1], [None, None], [np.zeros(1), None], 0)
        >>> b = FaceTrack(0, [2, 3, 4], [None] * 3, [np.zeros(1)] * 3, 0)
        >>> main_shot([a, b]) is b, main_shot([]) is None
        (True, True)
    """
    main = [t for t in tracks if t.rank == 0]
    return max(main, key=lambda t: sum(c is not None for c in t.crops), default=None)


@dataclass
class VideoFrames:
    """One video's entries in ``frames.csv``, sorted by frame index."""

    video: str
    label: str
    frames: list[int] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def _check_name(name: str, where: str) -> str:
    # Video names become folder names under CROPS: refuse anything that could escape it.
    if not name or name in _RESERVED_NAMES or "/" in name or "\\" in name:
        raise InputError(f"{where}: invalid video name {name!r}")
    return name


def read_frames_manifest(frames_dir: str | Path) -> dict[str, VideoFrames]:
    """Read ``FRAMES/frames.csv`` and group it by video (first-appearance order, frames sorted).

    Args:
        frames_dir: a frame_extraction output folder.

    Returns:
        ``{video name: VideoFrames}``, each path being ``frames_dir / path``.

    Raises:
        InputError: missing file, a header without every column of
            :data:`~dfdetect.core.schemas.FRAMES_COLUMNS`, an unusable row (empty/unsafe video name, non-integer
            frame, empty path, a frame listed twice).

    Example:
        >>> import tempfile
        >>> from dfdetect.core.io import write_csv
        >>> frames_dir = Path(tempfile.mkdtemp())
        >>> rows = [{"video": "a.mp4", "label": "1", "frame": f, "path": f"a.mp4/{f:06d}.png", "width": 64,
        ...          "height": 48} for f in (14, 10, 12)]
        >>> write_csv(frames_dir / "frames.csv", rows, FRAMES_COLUMNS)
        >>> videos = read_frames_manifest(frames_dir)
        >>> videos["a.mp4"].frames, videos["a.mp4"].label, videos["a.mp4"].paths[0].name
        ([10, 12, 14], '1', '000010.png')
    """
    frames_dir = Path(frames_dir)
    path = frames_dir / "frames.csv"
    if not path.is_file():
        raise InputError(f"frames manifest not found: {path} (expected a frame_extraction output folder)")
    rows = read_csv(path)
    with open(path, newline="") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    missing = [c for c in FRAMES_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: header must have {','.join(FRAMES_COLUMNS)}; missing {','.join(missing)}")
    videos: dict[str, VideoFrames] = {}
    for lineno, row in enumerate(rows, start=2):
        where = f"{path}:{lineno}"
        name = _check_name((row.get("video") or "").strip(), where)
        try:
            frame = int(row["frame"])
        except (TypeError, ValueError):
            raise InputError(f"{where}: frame must be an integer, got {row.get('frame')!r}") from None
        rel = (row.get("path") or "").strip()
        if frame < 0 or not rel:
            raise InputError(f"{where}: negative frame or empty path")
        vf = videos.setdefault(name, VideoFrames(name, (row.get("label") or "").strip()))
        if frame in vf.frames:
            raise InputError(f"{where}: frame {frame} of {name} listed twice")
        vf.frames.append(frame)
        vf.paths.append(frames_dir / rel)
    for vf in videos.values():
        order = np.argsort(vf.frames, kind="stable")
        vf.frames = [vf.frames[i] for i in order]
        vf.paths = [vf.paths[i] for i in order]
    return videos


def _videos_without_frames(frames_dir: Path, videos: dict[str, VideoFrames]) -> list[dict[str, str]]:
    """Videos listed in the optional ``videos.csv`` but absent from ``frames.csv`` (skipped, excluded, failed)."""
    path = frames_dir / "videos.csv"
    if not path.is_file():
        return []
    out = []
    for row in read_csv(path):
        name = (row.get("video") or "").strip()
        if name and name not in videos:
            status = (row.get("status") or "").strip()
            why = (row.get("reason") or "").strip()
            detail = ": ".join(s for s in (status, why) if s)
            out.append({"video": name, "label": (row.get("label") or "").strip(), "faces": 0,
                        "reason": f"no frames ({detail})" if detail else "no frames"})
    return out


def _map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``map`` on a thread pool (cv2 image coding releases the GIL), or in-line for ``workers <= 1``."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _load_or_none(path: Path) -> np.ndarray | None:
    try:
        return load_image(path)
    except OSError as e:  # FileNotFoundError included: the frame counts as "no face", the batch goes on
        log.warning("unreadable frame, counted as no face: %s (%s)", path, e)
        return None


def _fmt(values: Iterable[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


@dataclass
class CropSettings:
    """Everything that changes a video's crops; with the video's frame list, the settings of its resume marker.

    Attributes:
        margin: crop margin, a fraction of the box width/height per side.
        size: crop side in pixels.
        min_faces: a video with fewer crops is rejected.
        min_face_size: a face smaller than this (full-frame pixels) is too small to judge: no crop.
        box_smoothing: Gaussian sigma (sampled frames) of the crop box along each face track.
        detector: :meth:`FaceDetector.settings` of the detector used.

    With the frame sampling beside it, :meth:`as_dict` is the whole :class:`~dfdetect.core.config.CropConfig` that
    ``settings.json`` records and training adopts.
    """

    margin: float = _DATA.margin
    size: int = _DATA.size
    min_faces: int = _DATA.min_faces
    min_face_size: int = _DATA.min_face_size
    box_smoothing: float = _DATA.box_smoothing
    detector: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain types, as written to ``settings.json`` and the markers."""
        return asdict(self)


def _markers(crops_dir: Path) -> ItemMarkers:
    return ItemMarkers(crops_dir, STATE_DIR + "/{name}.json")


def _marker_settings(settings: CropSettings, vf: VideoFrames) -> dict[str, Any]:
    """What a video's marker must have been written with to be trusted: the crop settings and its frame list."""
    return {**settings.as_dict(), "frames": vf.frames}


def load_done(crops_dir: Path, vf: VideoFrames, settings: CropSettings) -> dict[str, Any] | None:
    """The marker payload of a video finished (cropped or rejected) with these settings and frames, else None.

    A marker from other settings or frames, an error marker (its settings are None), a damaged one, or none: None,
    and the video is done again.
    """
    done = _markers(crops_dir).read(vf.video, _marker_settings(settings, vf))
    if done is None or done.get("status") not in (CropStatus.OK, CropStatus.REJECTED):
        return None
    return done if isinstance(done.get("rows"), list) and isinstance(done.get("faces"), int) else None


def process_video(
    vf: VideoFrames, crops_dir: Path, detector: FaceDetector, settings: CropSettings, workers: int = 1
) -> dict[str, Any]:
    """Detect, crop and write one video's faces, then its marker (last). Returns the marker's payload.

    Args:
        vf: the video's frames.
        crops_dir: output folder; crops go to ``crops_dir/<video>/<frame:06d>.png``.
        detector: the process's detector.
        settings: crop settings.
        workers: threads reading frames and writing crops.

    Returns:
        ``{"video", "label", "status", "faces", "reason", "rows", "seconds"}``: ``status`` ``ok`` or ``rejected``
        (:class:`~dfdetect.core.schemas.CropStatus`), ``rows`` the ``crops.csv`` rows (empty when rejected).
    """
    t0 = time.perf_counter()
    frames = _map(_load_or_none, vf.paths, workers)  # (H, W, 3) uint8 or None each
    # the same crops eval makes; of a video whose frames hold a scene cut, the main face of its longest shot only
    tracks = crop_tracks(frames, detector, settings.margin, settings.size, min_face_size=settings.min_face_size,
                         box_smoothing=settings.box_smoothing)
    pairs: list[tuple[np.ndarray | None, Face | None]] = [(None, None)] * len(frames)
    if (main := main_shot(tracks)) is not None:
        for p, crop, face in zip(main.positions, main.crops, main.faces):
            pairs[p] = (crop, face)
        if len(main.positions) < len(frames):
            log.info("%s: a scene cut in its frames: kept the shot of frames %d-%d", vf.video,
                     vf.frames[main.positions[0]], vf.frames[main.positions[-1]])
    n_faces = sum(crop is not None for crop, _ in pairs)
    done: dict[str, Any] = {"video": vf.video, "label": vf.label, "faces": n_faces, "rows": []}
    readable = sum(f is not None for f in frames)
    if readable == 0:
        done.update(status=CropStatus.REJECTED, reason="no readable frames")
    elif n_faces < settings.min_faces:
        done.update(status=CropStatus.REJECTED, reason=f"{n_faces} faces < min {settings.min_faces}")
    else:
        jobs = [(i, crop, face, frame.shape) for i, (crop, face), frame in zip(vf.frames, pairs, frames)
                if crop is not None]

        def write_one(job: tuple[int, np.ndarray, Face, tuple[int, ...]]) -> dict[str, Any]:
            index, crop, face, shape = job
            rel = f"{vf.video}/{index:06d}.png"
            save_image(crops_dir / rel, crop)
            x1, y1, x2, y2 = (float(v) for v in face.box)
            region = expand_box(face.box, settings.margin, shape[1], shape[0])  # the square crop_face cut
            return {"video": vf.video, "label": vf.label, "frame": index, "path": rel,
                    "x1": f"{x1:.2f}", "y1": f"{y1:.2f}", "x2": f"{x2:.2f}", "y2": f"{y2:.2f}",
                    "prob": f"{face.prob:.4f}", "landmarks": _fmt(face.landmarks.reshape(-1)),
                    "width": shape[1], "height": shape[0], "region": " ".join(str(v) for v in region)}

        done["rows"] = _map(write_one, jobs, workers)
        done.update(status=CropStatus.OK, reason="")
    done["seconds"] = round(time.perf_counter() - t0, 4)
    _markers(crops_dir).write(vf.video, _marker_settings(settings, vf), done)
    return done


def _record_error(crops_dir: Path, vf: VideoFrames, e: Exception) -> dict[str, Any]:
    """The payload of a video whose processing raised, written with settings that match no run (retried next time)."""
    done = {"video": vf.video, "label": vf.label, "status": CropStatus.ERROR, "faces": 0,
            "reason": f"error: {type(e).__name__}: {e}", "rows": [], "seconds": 0.0}
    try:
        _markers(crops_dir).write(vf.video, None, done)
    except OSError as write_error:  # e.g. the disk is full: the error is still listed in this run's rejects.csv
        log.warning("%s: could not record the failure (%s)", vf.video, write_error)
    return done


@dataclass
class RunSummary:
    """What a :func:`run_crops` call did (``rejected`` includes failed videos and videos without frames)."""

    ok: int = 0
    rejected: int = 0
    resumed: int = 0
    crops: int = 0
    frames_processed: int = 0
    seconds: float = 0.0


def rebuild_manifests(crops_dir: Path, videos: dict[str, VideoFrames], done: dict[str, dict[str, Any]],
                      extra_rejects: Sequence[dict] = (), shard: Shard | None = None) -> None:
    """Write ``crops.csv`` and ``rejects.csv`` (atomically) from this run's video payloads, sorted by
    :func:`crops_order` and :func:`rejects_order` (``crops.shard-K-of-N.csv``... for a ``shard``).

    Args:
        crops_dir: output folder.
        videos: the videos of the run (``frames.csv``), in manifest order; their labels are the ones written.
        done: ``{video: marker payload}`` of the run (ok, rejected or error); a video without one is not listed.
        extra_rejects: ``rejects.csv`` rows of videos that have no frames.
        shard: the shard this run did (None: all).
    """
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = list(extra_rejects)
    for name, vf in videos.items():
        payload = done.get(name)
        if payload is None:
            continue
        if payload["status"] == CropStatus.OK:
            # The label comes from today's frames.csv, not the marker: a corrected labels file must reach crops.csv.
            rows.extend({**r, "label": vf.label} for r in payload["rows"])
        else:
            rejects.append({"video": name, "label": vf.label, "faces": payload["faces"], "reason": payload["reason"]})
    write_manifests(crops_dir, shard, [(CROPS_MANIFEST, rows), (REJECTS_MANIFEST, rejects)])


def merge_crops(crops_dir: str | Path) -> tuple[int, int]:
    """Join the ``--shard K/N`` manifests of ``crops_dir`` into ``crops.csv`` and ``rejects.csv``, as one run writes.

    Returns:
        The number of rows of ``crops.csv`` and ``rejects.csv``.

    Raises:
        InputError: no shard manifests, or a shard missing.
    """
    crops_dir = Path(crops_dir)
    crops, rejects = merge_manifests(crops_dir, (CROPS_MANIFEST, REJECTS_MANIFEST))
    log.info("merged %d crops, %d rejected videos into %s", len(crops), len(rejects), crops_dir / CROPS_FILE)
    return len(crops), len(rejects)


def run_crops(
    frames_dir: str | Path,
    crops_dir: str | Path,
    detector: FaceDetector,
    margin: float = _DATA.margin,
    size: int = _DATA.size,
    min_faces: int = _DATA.min_faces,
    workers: int = 1,
    shard: Shard | None = None,
    min_face_size: int = _DATA.min_face_size,
    box_smoothing: float = _DATA.box_smoothing,
) -> RunSummary:
    """Crop the main face of every video in a frame_extraction folder; resumable; manifests rebuilt at the end.

    With ``shard`` only that shard's videos (by a hash of the name, :mod:`dfdetect.core.shards`) are cropped, into
    the same layout, and the manifests are ``crops.shard-K-of-N.csv`` and ``rejects.shard-K-of-N.csv``;
    :func:`merge_crops` joins the N shards into what one run writes.

    Args:
        frames_dir: frame_extraction output folder (holds ``frames.csv``).
        crops_dir: output folder (created).
        detector: the process's :class:`~face_crop.detect.FaceDetector`.
        margin: crop margin (fraction of the box width/height per side).
        size: crop side in pixels.
        min_faces: a video with fewer crops is rejected (recorded in ``rejects.csv``).
        workers: threads for reading frames and writing crops.
        shard: crop only this shard's videos (None: all).
        min_face_size: a face smaller than this (full-frame pixels) is too small to judge: no crop.
        box_smoothing: Gaussian sigma (sampled frames) of the crop box along each face track (0: per-frame boxes).

    Returns:
        The counts of the run.

    Raises:
        InputError: missing or malformed ``frames.csv``, bad settings, ``crops_dir`` the same as ``frames_dir``.
    """
    frames_dir, crops_dir = Path(frames_dir), Path(crops_dir)
    if crops_dir.resolve() == frames_dir.resolve():
        raise InputError(f"CROPS must be another folder than FRAMES ({crops_dir}): crops would overwrite the frames")
    if margin < 0 or size < 1 or min_faces < 0 or box_smoothing < 0:
        raise InputError(f"need margin >= 0, size >= 1, min_faces >= 0, box_smoothing >= 0; got {margin}, {size}, "
                         f"{min_faces}, {box_smoothing}")
    videos = read_frames_manifest(frames_dir)
    no_frames = _videos_without_frames(frames_dir, videos)
    videos = dict(shard_part(videos.items(), shard, lambda item: item[0], "videos"))
    no_frames = shard_part(no_frames, shard, lambda r: r["video"])
    settings = CropSettings(margin=float(margin), size=int(size), min_faces=int(min_faces),
                            min_face_size=int(min_face_size), box_smoothing=float(box_smoothing),
                            detector=detector.settings())
    t0 = time.perf_counter()
    finished, todo = split_done(videos.items(), lambda item: load_done(crops_dir, item[1], settings), "videos")
    summary = RunSummary(resumed=len(finished))
    done: dict[str, dict[str, Any]] = {name: payload for (name, _), payload in finished}
    markers = _markers(crops_dir)
    for name, vf in tqdm(todo, desc="face crops", unit="video"):
        if markers.exists(name):
            log.info("%s: settings or frames changed since the last run, or it failed: redoing it", name)
        try:
            payload = process_video(vf, crops_dir, detector, settings, workers)
        except Exception as e:  # noqa: BLE001 - one bad video must not stop the batch; it is recorded instead
            log.warning("%s: failed (%s: %s), recorded in rejects.csv", name, type(e).__name__, e)
            payload = _record_error(crops_dir, vf, e)
        summary.frames_processed += len(vf.frames)
        log.debug("%s: %s, %d/%d faces, %.3f s", name, payload["status"], payload["faces"], len(vf.frames),
                  payload["seconds"])
        done[name] = payload
    for name in videos:  # the counts, in manifest order
        payload = done[name]
        if payload["status"] == CropStatus.OK:
            summary.ok += 1
            summary.crops += len(payload["rows"])
        else:
            summary.rejected += 1
            log.info("%s: rejected (%s)", name, payload["reason"])
    summary.rejected += len(no_frames)
    summary.seconds = time.perf_counter() - t0
    rebuild_manifests(crops_dir, videos, done, no_frames, shard)
    # What train.py records in the checkpoint, so that inference crops (and samples) as this data was made.
    frames_settings = frames_dir / SETTINGS_FILE
    sampling = json.loads(frames_settings.read_text()) if frames_settings.is_file() else None
    write_json(crops_dir / SETTINGS_FILE, {**settings.as_dict(), "frames": sampling}, indent=1)
    return summary
