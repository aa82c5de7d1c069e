"""The inputs of training: the face-crop manifest (``crops.csv`` from ``python -m face_crop``) and split files.

Columns come from :mod:`dfdetect.core.schemas` (:data:`CROPS_REQUIRED`, :data:`SPLIT_COLUMNS`), the module the writer
uses too, so the two cannot disagree.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "crops.csv").write_text(
    ...     "video,label,frame,path,x1,y1,x2,y2,prob,landmarks\\n"
    ...     "a.mp4,1,4,a/4.png,10,20,50,70,0.99,\\n"
    ...     "a.mp4,1,2,a/2.png,11,21,51,71,0.98,\\n")
    >>> video = read_crops_manifest(root / "crops.csv", check_files=False)["a.mp4"]
    >>> video.label, video.frames, video.boxes.shape
    (1, [2, 4], (2, 4))
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dfdetect.core.io import InputError, read_csv
from dfdetect.core.schemas import CROPS_REQUIRED, IMAGE_SPLIT_COLUMNS, SETTINGS_FILE, SPLIT_COLUMNS, SPLITS
from face_crop.images import SOURCE_IMAGES

log = logging.getLogger(__name__)

_BOX = ("x1", "y1", "x2", "y2")


@dataclass
class VideoCrops:
    """The face crops of one video, in frame order.

    Attributes:
        video: video file name (the manifest's ``video`` column).
        label: 0 real, 1 fake, ``None`` when unknown (such videos are not used for training or validation).
        frames: frame indices, increasing.
        paths: absolute crop image paths, one per frame.
        boxes: (N, 4) float32 face boxes ``x1, y1, x2, y2`` in full-frame pixels.
        landmarks: (N, 5, 2) float32 landmarks in full-frame pixels (NaN where the manifest had none).
        width: full-frame width in pixels when the manifest records it, else ``None``.
        height: full-frame height in pixels when the manifest records it, else ``None``.
        regions: (N, 4) float32 squares cut from the frames (the manifest's ``region``; NaN where it has none: the
            region is then recomputed from the box and margin), or ``None`` when no row has one.
    """

    video: str
    label: int | None
    frames: list[int]
    paths: list[Path]
    boxes: np.ndarray
    landmarks: np.ndarray
    width: int | None = None
    height: int | None = None
    regions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frames)


def _header(path: Path) -> list[str]:
    """The column names of a CSV file (empty for an empty file)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def _parse_float(value: str, where: str, name: str) -> float:
    """``float(value)``, or an :class:`InputError` naming the file, line and column."""
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{where}: {name} must be a number, got {value!r}") from None


def read_crops_manifest(path: str | Path, check_files: bool = True) -> dict[str, VideoCrops]:
    """Read a face-crop manifest (``crops.csv`` written by ``python -m face_crop``) grouped by video.

    Crop paths are relative to the manifest's folder. Rows whose crop file is missing are dropped with a warning
    (``check_files``); a video left with no crops is dropped too.

    Args:
        path: the ``crops.csv`` file (columns :data:`~dfdetect.core.schemas.CROPS_REQUIRED`, optionally ``width``
            and ``height``).
        check_files: drop rows whose image file does not exist.

    Returns:
        ``{video: VideoCrops}`` sorted by video name, crops sorted by frame index.

    Raises:
        InputError: missing file or columns, a bad number or label, a frame listed twice for one video, no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"crops manifest not found: {path}")
    rows = read_csv(path)
    header = _header(path)
    missing = [c for c in CROPS_REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(CROPS_REQUIRED)})")
    has_size = "width" in header and "height" in header
    has_region = "region" in header
    root = path.parent
    grouped: dict[str, list[tuple[int, Path, list[float], np.ndarray, str, tuple[int, int] | None, np.ndarray]]] = {}
    labels: dict[str, int | None] = {}
    for lineno, row in enumerate(rows, start=2):
        where = f"{path}:{lineno}"
        video = (row["video"] or "").strip()
        if not video:
            raise InputError(f"{where}: empty video name")
        label_text = (row["label"] or "").strip()
        if label_text not in ("", "0", "1"):
            raise InputError(f"{where}: label must be 0, 1 or empty, got {label_text!r}")
        label = int(label_text) if label_text else None
        if labels.setdefault(video, label) != label:
            raise InputError(f"{where}: video {video!r} has two different labels")
        frame_text = (row["frame"] or "").strip()
        if not frame_text.isdigit():
            raise InputError(f"{where}: frame must be a non-negative integer, got {frame_text!r}")
        box = [_parse_float(row[k], where, k) for k in _BOX]
        lm_text = (row["landmarks"] or "").split()
        if lm_text and len(lm_text) != 10:
            raise InputError(f"{where}: landmarks must be 10 numbers, got {len(lm_text)}")
        lm = (
            np.array([_parse_float(v, where, "landmarks") for v in lm_text], np.float32).reshape(5, 2)
            if lm_text
            else np.full((5, 2), np.nan, np.float32)
        )  # (5, 2)
        size = None
        if has_size and row["width"] and row["height"]:
            size = (int(_parse_float(row["width"], where, "width")), int(_parse_float(row["height"], where, "height")))
        region_text = (row.get("region") or "").split() if has_region else []
        if region_text and len(region_text) != 4:
            raise InputError(f"{where}: region must be 4 numbers x1 y1 x2 y2, got {len(region_text)}")
        region = np.array([_parse_float(v, where, "region") for v in region_text] or [np.nan] * 4, np.float32)
        if region_text and not (region[2] > region[0] and region[3] > region[1]):
            raise InputError(f"{where}: region must have x2 > x1 and y2 > y1, got {' '.join(region_text)}")
        grouped.setdefault(video, []).append((int(frame_text), root / row["path"], box, lm, where, size, region))
    if not grouped:
        raise InputError(f"{path}: no crops listed")

    videos: dict[str, VideoCrops] = {}
    for video in sorted(grouped):
        items = sorted(grouped[video], key=lambda r: r[0])
        frames = [r[0] for r in items]
        dup = next((items[i][4] for i in range(1, len(items)) if frames[i] == frames[i - 1]), None)
        if dup is not None:
            raise InputError(f"{dup}: frame listed twice for video {video!r}")
        if check_files:
            kept = [r for r in items if r[1].is_file()]
            if len(kept) < len(items):
                log.warning("%s: %d of %d crop files missing, skipped", video, len(items) - len(kept), len(items))
            items = kept
            if not items:
                log.warning("%s: no crop file found, video skipped", video)
                continue
        size = items[0][5]
        regions = np.stack([r[6] for r in items])  # (N, 4), NaN rows without a region
        videos[video] = VideoCrops(
            video=video,
            label=labels[video],
            frames=[r[0] for r in items],
            paths=[r[1] for r in items],
            boxes=np.array([r[2] for r in items], np.float32).reshape(-1, 4),  # (N, 4)
            landmarks=np.stack([r[3] for r in items]).astype(np.float32),  # (N, 5, 2)
            width=size[0] if size else None,
            height=size[1] if size else None,
            regions=regions if np.isfinite(regions).any() else None,
        )
    return videos


def crops_source(manifest: str | Path) -> str:
    """What a crops manifest was made from: ``"images"`` (``settings.json`` beside it says so), else ``"videos"``.

    Example:
        >>> crops_source("no/such/crops.csv")
        'videos'
    """
    settings = Path(manifest).parent / SETTINGS_FILE
    try:
        return str(json.loads(settings.read_text()).get("source") or "videos")
    except (OSError, ValueError, AttributeError):
        return "videos"


def from_images(manifest: str | Path) -> bool:
    """The manifest's crops were made from single images (:mod:`face_crop.images`): they train a frame model only."""
    return crops_source(manifest) == SOURCE_IMAGES


def read_split(path: str | Path) -> dict[str, str]:
    """Read a split file ``video_name,split`` or ``img_name,split`` (split in :data:`~dfdetect.core.schemas.SPLITS`).

    Blank lines are skipped.

    Args:
        path: the split CSV (columns :data:`~dfdetect.core.schemas.SPLIT_COLUMNS` or
            :data:`~dfdetect.core.schemas.IMAGE_SPLIT_COLUMNS`).

    Returns:
        ``{video_name: split}``.

    Raises:
        InputError: missing file, wrong header, unknown split, duplicated name.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "split.csv"
        >>> _ = path.write_text("video_name,split\\nreal_000.mp4,train\\nfake_000.mp4,test\\n")
        >>> read_split(path)
        {'real_000.mp4': 'train', 'fake_000.mp4': 'test'}
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"split file not found: {path}")
    header = tuple(h.strip() for h in _header(path))
    if header not in (SPLIT_COLUMNS, IMAGE_SPLIT_COLUMNS):
        raise InputError(f"{path}: header must be {','.join(SPLIT_COLUMNS)!r} (or "
                         f"{','.join(IMAGE_SPLIT_COLUMNS)!r} for images), got {','.join(header)!r}")
    name_col, split_col = header
    split: dict[str, str] = {}
    for lineno, row in enumerate(read_csv(path), start=2):
        name, part = (row.get(name_col) or "").strip(), (row.get(split_col) or "").strip()
        if not name and not part:
            continue
        if not name:
            raise InputError(f"{path}:{lineno}: empty {name_col}")
        if part not in SPLITS:
            raise InputError(f"{path}:{lineno}: split must be one of {'|'.join(SPLITS)}, got {part!r}")
        if name in split:
            raise InputError(f"{path}:{lineno}: duplicate {name_col} {name!r}")
        split[name] = part
    return split
