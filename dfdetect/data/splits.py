"""Train/validation splits BY VIDEO (never by frame): a separate validation manifest, a split file, or a hash split.

Example:
    >>> import numpy as np
    >>> videos = {n: VideoCrops(n, int(n.startswith("f")), [0], [Path(n)], np.zeros((1, 4)), np.zeros((1, 5, 2)))
    ...           for n in ("f1.mp4", "f2.mp4", "r1.mp4", "r2.mp4", "r3.mp4")}
    >>> train, val = split_videos(videos, seed=0)
    >>> sorted(train + val) == sorted(videos), set(train) & set(val), len(val)
    (True, set(), 2)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from dfdetect.core.io import InputError
from dfdetect.core.schemas import SPLITS
from dfdetect.core.seeding import hash_unit
from dfdetect.data.manifests import VideoCrops, read_split
from dfdetect.data.shards import read_training_crops

log = logging.getLogger(__name__)

TRAIN, VAL, TEST = SPLITS


@dataclass
class DataSplit:
    """Labelled training and validation videos, and what was left out and why (recorded in ``run.json``).

    Attributes:
        train: the training videos, sorted by name.
        val: the validation videos, sorted by name (may be empty).
        source: where the split came from, in words (a file, a manifest, or the hash split and its seed).
        skipped: ``{video: reason}`` for videos in neither list (no label, test split, not in the split file).
    """

    train: list[VideoCrops]
    val: list[VideoCrops]
    source: str
    skipped: dict[str, str] = field(default_factory=dict)


def split_videos(
    videos: dict[str, VideoCrops], seed: int = 0, val_fraction: float = 0.2
) -> tuple[list[str], list[str]]:
    """Deterministic train/val split BY VIDEO, stratified by label.

    Within each label, videos are ordered by :func:`dfdetect.core.seeding.hash_unit` of ``(seed, name)`` and the first
    ``round(val_fraction * n)`` go to validation (at least one, and not all, when the label has two or more videos).
    Two videos of the same person may still land on both sides: a person-level split needs a split file (``--split``).

    Args:
        videos: ``{name: VideoCrops}`` (unlabelled videos form their own stratum).
        seed: decides the order within each label.
        val_fraction: share of each label that goes to validation.

    Returns:
        The training and the validation video names, each sorted.
    """
    train: list[str] = []
    val: list[str] = []
    for label in sorted({v.label for v in videos.values()}, key=lambda x: -1 if x is None else x):
        names = sorted((n for n, v in videos.items() if v.label == label), key=lambda n: (hash_unit(seed, n), n))
        k = int(round(val_fraction * len(names)))
        if len(names) >= 2:
            k = min(max(k, 1), len(names) - 1)
        val.extend(names[:k])
        train.extend(names[k:])
    return sorted(train), sorted(val)


def prepare_data(
    data: str | Path, val: str | Path | None = None, split: str | Path | None = None, seed: int = 0
) -> DataSplit:
    """Read the manifests and split BY VIDEO: ``val`` manifest, ``split`` file, or :func:`split_videos` of ``data``.

    Unlabelled videos are skipped (recorded with the reason); a video in both train and val is an error.

    Args:
        data: the training crops manifest (``crops.csv``).
        val: a separate validation crops manifest.
        split: a split file ``video_name,split`` applied to ``data`` (its ``test`` videos are skipped).
        seed: seed of the hash split when neither ``val`` nor ``split`` is given.

    Returns:
        The labelled training and validation videos and the skipped ones.

    Raises:
        InputError: malformed manifests or split file, ``val`` together with ``split``, overlapping videos.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / "crops.csv").write_text("video,label,frame,path,x1,y1,x2,y2,prob,landmarks\\n" + "".join(
        ...     f"{v},{v[0] == 'f':d},0,{v}.png,0,0,9,9,1,\\n" for v in ("f1.mp4", "r1.mp4", "r2.mp4", "u.mp4")))
        >>> for v in ("f1", "r1", "r2", "u"):
        ...     _ = (root / f"{v}.mp4.png").write_bytes(b"")
        >>> _ = (root / "split.csv").write_text("video_name,split\\nf1.mp4,train\\nr1.mp4,val\\nr2.mp4,test\\n")
        >>> ds = prepare_data(root / "crops.csv", split=root / "split.csv")
        >>> [v.video for v in ds.train], [v.video for v in ds.val], ds.skipped
        (['f1.mp4'], ['r1.mp4'], {'r2.mp4': 'test split', 'u.mp4': 'not in the split file'})
    """
    if val is not None and split is not None:
        raise InputError("give either --val (a separate crops manifest) or --split (a split file), not both")
    videos = read_training_crops(data)
    skipped: dict[str, str] = {}
    if val is not None:
        val_videos = read_training_crops(val)
        both = sorted(set(videos) & set(val_videos))
        if both:
            raise InputError(f"{len(both)} video(s) in both --data and --val, e.g. {both[0]!r}: split by video")
        train_names, val_names, source = sorted(videos), sorted(val_videos), f"validation manifest {val}"
        pool = {**videos, **val_videos}
    elif split is not None:
        parts = read_split(split)
        train_names = sorted(n for n in videos if parts.get(n) == TRAIN)
        val_names = sorted(n for n in videos if parts.get(n) == VAL)
        for n in videos:
            if n not in parts:
                skipped[n] = "not in the split file"
            elif parts[n] == TEST:
                skipped[n] = "test split"
        source, pool = f"split file {split}", videos
    else:
        train_names, val_names = split_videos(videos, seed=seed)
        source, pool = f"80/20 hash split by video name (seed {seed})", videos
        log.warning(
            "no --split/--val: hash split by video name; clips of one person can land in train and val "
            "(give a person-level split file with --split for honest scores)"
        )
    for n in (*train_names, *val_names):
        if pool[n].label is None:
            skipped[n] = "no label"
    train = [pool[n] for n in train_names if n not in skipped]
    val_list = [pool[n] for n in val_names if n not in skipped]
    if skipped:
        log.warning("%d video(s) not used: %s", len(skipped), ", ".join(f"{k} ({v})" for k, v in skipped.items()))
    return DataSplit(train=train, val=val_list, source=source, skipped=skipped)
