"""Face crops for a whole frame_extraction output folder: detect, track, crop, write, resume.

Layout read (frame_extraction's output, ``FRAMES``): ``FRAMES/frames.csv`` with columns
``video,label,frame,path,width,height`` (``path`` relative to ``FRAMES``); ``FRAMES/videos.csv`` is optional and only
used to record videos that have no frames at all.

Layout written (``CROPS``):

- ``CROPS/<video_name>/<frame:06d>.png``: size x size RGB face crops, cut from the full-resolution frames.
- ``CROPS/crops.csv``: ``video,label,frame,path,x1,y1,x2,y2,prob,landmarks`` (``path`` relative to ``CROPS``; box and
  landmarks in full-frame pixels; landmarks = 10 space-separated floats ``x y x y ...``), then ``width,height``: the
  full frame's size, which :func:`face_crop.crop.points_to_crop` needs to reproduce a crop clamped at the right or
  bottom border. Only videos with at least ``min_faces`` crops are listed.
- ``CROPS/rejects.csv``: ``video,label,faces,reason`` for every dropped video (e.g. ``"3 faces < min 10"``,
  ``"no frames"``).
- ``CROPS/.state/<video_name>.json``: a video's finished marker (its manifest rows, counts and the settings used),
  written atomically AFTER its crops. A resumed run skips a video whose marker matches the current settings and frame
  list, and redoes it otherwise. Both manifests are rebuilt from the markers at the end of every run.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

from dfdetect.core.io import InputError, load_image, read_csv, save_image, write_bytes_atomic, write_csv
from face_crop.crop import crop_face
from face_crop.detect import Face, FaceDetector, select_main_track

log = logging.getLogger(__name__)

FRAMES_COLUMNS = ("video", "label", "frame", "path", "width", "height")
CROPS_COLUMNS = ("video", "label", "frame", "path", "x1", "y1", "x2", "y2", "prob", "landmarks", "width", "height")
REJECTS_COLUMNS = ("video", "label", "faces", "reason")
STATE_DIR = ".state"
MARKER_VERSION = 2

T = TypeVar("T")
R = TypeVar("R")


def crop_faces(
    frames: Sequence[np.ndarray | None],
    detector: FaceDetector,
    margin: float = 0.3,
    size: int = 224,
    tracks: Sequence[Sequence[int]] | None = None,
) -> list[tuple[np.ndarray | None, Face | None]]:
    """Detect the main face of one video in each frame and cut its crop from the full-resolution frame.

    The single entry point shared by the preprocessing CLI and evaluation, so both crop the same way.

    Args:
        frames: RGB uint8 frames (H, W, 3) of ONE video in time order; ``None`` for an unreadable frame.
        detector: a :class:`~face_crop.detect.FaceDetector` (built once per process).
        margin: fraction of the box width/height added on each side.
        size: crop side in pixels.
        tracks: positions in ``frames`` to track separately (e.g. evaluation windows far apart in a video, each
            tracked like one preprocessing sample); default one track over all frames. Detection is one batched call
            either way.

    Returns:
        One ``(crop (size, size, 3) uint8 | None, Face | None)`` per frame; both ``None`` where no face was found.

    Example:
        >>> detector = FaceDetector()  # doctest: +SKIP
        >>> pairs = crop_faces(sampled.frames, detector, margin=0.3, size=224)  # doctest: +SKIP
        >>> crops = [c for c, _ in pairs if c is not None]  # doctest: +SKIP
    """
    detections = detector.detect_all(frames)  # one batched MTCNN call for every frame
    faces: list[Face | None] = [None] * len(frames)
    for group in tracks if tracks is not None else [range(len(frames))]:
        for pos, face in zip(group, select_main_track([detections[p] for p in group])):
            faces[pos] = face
    return [
        (crop_face(frame, face.box, margin, size) if face is not None else None, face)
        for frame, face in zip(frames, faces)
    ]


@dataclass
class VideoFrames:
    """One video's entries in ``frames.csv``, sorted by frame index."""

    video: str
    label: str
    frames: list[int] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def _check_name(name: str, where: str) -> str:
    # Video names become folder names under CROPS: refuse anything that could escape it.
    if not name or name in (".", "..", STATE_DIR, "crops.csv", "rejects.csv") or "/" in name or "\\" in name:
        raise InputError(f"{where}: invalid video name {name!r}")
    return name


def read_frames_manifest(frames_dir: str | Path) -> dict[str, VideoFrames]:
    """Read ``FRAMES/frames.csv`` and group it by video (first-appearance order, frames sorted).

    Raises:
        InputError: missing file, missing columns, an unusable row (empty/unsafe video name, non-integer frame,
            empty path, a frame listed twice).

    Example:
        >>> videos = read_frames_manifest("out/frames")  # doctest: +SKIP
        >>> videos["single_face.mp4"].frames[:3]  # doctest: +SKIP
        [10, 12, 14]
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
    """Everything that changes a video's crops; recorded in its marker so a resumed run can trust it."""

    margin: float = 0.3
    size: int = 224
    min_faces: int = 10
    detector: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"margin": self.margin, "size": self.size, "min_faces": self.min_faces, "detector": self.detector}


def _marker_path(crops_dir: Path, video: str) -> Path:
    return crops_dir / STATE_DIR / f"{video}.json"


def _load_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == MARKER_VERSION else None


def process_video(
    vf: VideoFrames, crops_dir: Path, detector: FaceDetector, settings: CropSettings, workers: int = 1
) -> dict[str, Any]:
    """Detect, crop and write one video's faces, then its marker (atomically, last). Returns the marker.

    The marker holds ``status`` (``"ok"`` or ``"rejected"``), ``faces``, ``reason``, the manifest ``rows`` (empty when
    rejected), the settings and the frame list.
    """
    t0 = time.perf_counter()
    frames = _map(_load_or_none, vf.paths, workers)  # (H, W, 3) uint8 or None each
    pairs = crop_faces(frames, detector, settings.margin, settings.size)  # the same crops eval makes
    n_faces = sum(face is not None for _, face in pairs)
    marker: dict[str, Any] = {
        "version": MARKER_VERSION, "video": vf.video, "label": vf.label, "frames": vf.frames,
        "settings": settings.as_dict(), "faces": n_faces, "rows": [],
    }
    readable = sum(f is not None for f in frames)
    if readable == 0:
        marker.update(status="rejected", reason="no readable frames")
    elif n_faces < settings.min_faces:
        marker.update(status="rejected", reason=f"{n_faces} faces < min {settings.min_faces}")
    else:
        jobs = [(i, crop, face, frame.shape) for i, (crop, face), frame in zip(vf.frames, pairs, frames)
                if face is not None]

        def write_one(job: tuple[int, np.ndarray, Face, tuple[int, ...]]) -> dict[str, Any]:
            index, crop, face, shape = job
            rel = f"{vf.video}/{index:06d}.png"
            save_image(crops_dir / rel, crop)
            x1, y1, x2, y2 = (float(v) for v in face.box)
            return {"video": vf.video, "label": vf.label, "frame": index, "path": rel,
                    "x1": f"{x1:.2f}", "y1": f"{y1:.2f}", "x2": f"{x2:.2f}", "y2": f"{y2:.2f}",
                    "prob": f"{face.prob:.4f}", "landmarks": _fmt(face.landmarks.reshape(-1)),
                    "width": shape[1], "height": shape[0]}

        marker["rows"] = _map(write_one, jobs, workers)
        marker.update(status="ok", reason="")
    marker["seconds"] = round(time.perf_counter() - t0, 4)
    write_bytes_atomic(_marker_path(crops_dir, vf.video), json.dumps(marker).encode())
    return marker


@dataclass
class RunSummary:
    """What a :func:`run_crops` call did."""

    ok: int = 0
    rejected: int = 0
    resumed: int = 0
    crops: int = 0
    frames_processed: int = 0
    seconds: float = 0.0


def rebuild_manifests(crops_dir: Path, videos: dict[str, VideoFrames], extra_rejects: Sequence[dict] = ()) -> None:
    """Write ``crops.csv`` and ``rejects.csv`` from the finished markers of the videos in ``videos`` (atomically)."""
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = list(extra_rejects)
    for name, vf in videos.items():
        marker = _load_marker(_marker_path(crops_dir, name))
        if marker is None:
            continue
        if marker["status"] == "ok":
            # The label comes from today's frames.csv, not the marker: a corrected labels file must reach crops.csv.
            rows.extend({**r, "label": vf.label} for r in marker["rows"])
        else:
            rejects.append({"video": name, "label": vf.label, "faces": marker["faces"], "reason": marker["reason"]})
    write_csv(crops_dir / "crops.csv", rows, CROPS_COLUMNS)
    write_csv(crops_dir / "rejects.csv", rejects, REJECTS_COLUMNS)


def run_crops(
    frames_dir: str | Path,
    crops_dir: str | Path,
    detector: FaceDetector,
    margin: float = 0.3,
    size: int = 224,
    min_faces: int = 10,
    workers: int = 1,
) -> RunSummary:
    """Crop the main face of every video in a frame_extraction folder; resumable; manifests rebuilt at the end.

    Args:
        frames_dir: frame_extraction output folder (holds ``frames.csv``).
        crops_dir: output folder (created).
        detector: the process's :class:`~face_crop.detect.FaceDetector`.
        margin: crop margin (fraction of the box width/height per side).
        size: crop side in pixels.
        min_faces: a video with fewer crops is rejected (recorded in ``rejects.csv``).
        workers: threads for reading frames and writing crops.

    Raises:
        InputError: missing or malformed ``frames.csv``.

    Example:
        >>> summary = run_crops("out/frames", "out/crops", FaceDetector(), min_faces=10)  # doctest: +SKIP
        >>> summary.ok, summary.rejected  # doctest: +SKIP
        (2, 1)
    """
    frames_dir, crops_dir = Path(frames_dir), Path(crops_dir)
    if crops_dir.resolve() == frames_dir.resolve():
        raise InputError(f"CROPS must be another folder than FRAMES ({crops_dir}): crops would overwrite the frames")
    if margin < 0 or size < 1 or min_faces < 0:
        raise InputError(f"need margin >= 0, size >= 1, min_faces >= 0; got {margin}, {size}, {min_faces}")
    videos = read_frames_manifest(frames_dir)
    no_frames = _videos_without_frames(frames_dir, videos)
    settings = CropSettings(margin=float(margin), size=int(size), min_faces=int(min_faces),
                            detector=detector.settings())
    expected = json.loads(json.dumps(settings.as_dict()))  # as a marker stores it (tuples -> lists)
    summary = RunSummary()
    t0 = time.perf_counter()
    for name, vf in tqdm(videos.items(), desc="face crops", unit="video"):
        marker = _load_marker(_marker_path(crops_dir, name))
        if marker is not None and marker.get("settings") == expected and marker.get("frames") == vf.frames:
            summary.resumed += 1
            log.debug("%s: finished in an earlier run, skipped", name)
        else:
            if marker is not None:
                log.info("%s: settings or frames changed since the last run, redoing it", name)
            try:
                marker = process_video(vf, crops_dir, detector, settings, workers)
            except Exception as e:  # noqa: BLE001 - one bad video must not stop the batch; it is recorded instead
                log.warning("%s: failed (%s: %s), recorded in rejects.csv", name, type(e).__name__, e)
                # Settings None: a later run tries this video again.
                marker = {"video": name, "status": "error", "faces": 0, "reason": f"error: {type(e).__name__}: {e}",
                          "rows": [], "seconds": 0.0, "settings": None, "frames": vf.frames}
                write_bytes_atomic(_marker_path(crops_dir, name), json.dumps(marker).encode())
            summary.frames_processed += len(vf.frames)
            log.debug("%s: %s, %d/%d faces, %.3f s", name, marker["status"], marker["faces"], len(vf.frames),
                      marker["seconds"])
        if marker["status"] == "ok":
            summary.ok += 1
            summary.crops += len(marker["rows"])
        else:
            summary.rejected += 1
            log.info("%s: rejected (%s)", name, marker["reason"])
    summary.rejected += len(no_frames)
    summary.seconds = time.perf_counter() - t0
    rebuild_manifests(crops_dir, videos, no_frames)
    # What train.py records in the checkpoint, so that inference crops (and samples) as this data was made.
    frames_settings = frames_dir / "settings.json"
    sampling = json.loads(frames_settings.read_text()) if frames_settings.is_file() else None
    settings_out = {**expected, "frames": sampling}
    write_bytes_atomic(crops_dir / "settings.json", json.dumps(settings_out, indent=1).encode())
    return summary
